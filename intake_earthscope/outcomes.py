"""Outcome of each trace of each object: statuses, warnings, errors.

Statuses (the ``status`` variable of a dataset):

``ok``
    Samples were read from the object.
``truncated``
    The object ends inside a record; the records before the cut were read.
``damaged``
    Bytes that are not miniSEED sit between or after the records; the intact
    records were read.
``rate_mismatch``
    Some or all records are at a rate that does not fit the grid; those were
    not placed.
``no_data_in_window``
    The object contains the channel, but no sample inside the chunk.
``no_matching_channel``
    The object exists and contains no record of the channel.
``missing``
    The object does not exist (or a web service had no data).
``unreadable``
    The object is not miniSEED.
``access_denied``
    The storage refused the object.
``unreachable``
    The storage or web service could not be reached, failed on every
    attempt of the retry budget (server errors, throttling, resets,
    timeouts, short bodies) or rejected the read with another error (a 400
    response): a read error.

A trace whose status is ``ok`` may still have gaps: ``valid_fraction`` and
``gap_count`` say how much of the chunk holds samples.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from intake_earthscope.codes import SeedId
from intake_earthscope.errors import ReadOutcomeWarning
from intake_earthscope.place import PlacedBlock
from intake_earthscope.timeutil import format_ns

__all__ = [
    "FAILURE_ORDER",
    "STATUSES",
    "PendingFailure",
    "UnitRead",
    "apply_policy",
    "chunk_status",
    "count_statuses",
    "failed_unit",
    "handle_failure",
    "previous_day_error",
    "report_neighbour_failure",
    "report_no_channel",
    "report_unplanned",
    "settle_missing",
    "settle_missing_and_previous",
    "unit_status",
]

logger = logging.getLogger(__name__)

# How to go on past a failed object, added to errors raised under "raise".
_POLICY_HINT = "pass errors='warn' or errors='ignore' to read the other objects"

STATUSES = (
    "ok",
    "truncated",
    "damaged",
    "rate_mismatch",
    "no_data_in_window",
    "no_matching_channel",
    "missing",
    "unreadable",
    "access_denied",
    "unreachable",
)


# Failure statuses, the one that explains missing samples best first. A
# missing object comes last, because the previous day's records may fill its
# part of a chunk or window. The other failures hide samples that exist. Of
# those, a denial and an object that is not miniSEED stay until someone acts,
# so they come before an unreachable storage, which a later read may reach.
FAILURE_ORDER = ("access_denied", "unreadable", "unreachable", "missing")


@dataclass
class UnitRead:
    """The decoded block of one object plus what happened to each trace.

    ``pending`` contains the error of a missing object while the ``errors=``
    policy waits for the neighbouring objects' samples (see
    :func:`settle_missing`). ``errors`` is the request's policy, which the
    chunk task also applies to a failed read of the previous day's object.
    ``from_service`` is true for a unit that a web service served: its query
    returned the records that cross midnight into the chunk, so a failed
    read of the previous day's object loses no sample of it.
    """

    block: PlacedBlock
    status: list[str]
    key: str | None
    message: str = ""
    tier: str = ""
    pending: PendingFailure | None = None
    errors: str = "raise"
    from_service: bool = False


@dataclass(frozen=True)
class PendingFailure:
    """A failed object read whose ``errors=`` policy is applied later."""

    error: Exception
    errors: str
    status: str


def settle_missing(
    statuses: np.ndarray, complete: np.ndarray, pending: PendingFailure | None
) -> np.ndarray:
    """Apply a missing object's policy once the neighbours' samples are placed.

    The records of a neighbouring object may contain every sample of a chunk
    whose own object does not exist, for example the last record of the
    previous day, which runs past midnight. Traces filled in full that way
    lost nothing and become "ok". If any trace still lacks samples, the
    ``errors=`` policy applies to the object's error as for any failed read.
    """
    if pending is None:
        return statuses
    settled = np.where(complete & (statuses == pending.status), "ok", statuses)
    settled = settled.astype(statuses.dtype)
    if not complete.all():
        apply_policy(pending.error, pending.errors, pending.status)
    return settled


def settle_missing_and_previous(
    statuses: np.ndarray,
    complete: np.ndarray,
    missing: PendingFailure,
    previous: PendingFailure,
    day: str,
) -> np.ndarray:
    """Apply the ``errors=`` policy to a day whose own object is missing and
    whose previous-day object failed in another way.

    The previous day's records might have filled part of the missing object,
    so both failures explain the samples that are missing. Traces that other
    objects filled in full become "ok", as in :func:`settle_missing`. The
    others get the status that comes first in :data:`FAILURE_ORDER`. Under
    ``errors="raise"`` one error of that failure's class names both objects
    with their statuses, and ``errors="warn"`` warns once per object. Where
    every trace is complete, only the previous-day failure is reported.
    """
    if complete.all():
        settled = settle_missing(statuses, complete, missing)
        # The day's own object is missing, so none of its samples were kept.
        report_neighbour_failure(
            previous.error, previous.errors, previous.status, own_failed=True
        )
        return settled

    main = min(
        previous, missing, key=lambda failure: FAILURE_ORDER.index(failure.status)
    )
    lost = statuses == missing.status
    settled = np.where(lost & complete, "ok", statuses)
    settled = np.where(lost & ~complete, main.status, settled)
    _report_day_failures([previous, missing], main, day)
    return settled.astype(statuses.dtype)


def _report_day_failures(
    failures: Sequence[PendingFailure], main: PendingFailure, day: str
) -> None:
    """Raise, warn or log the failed objects of ``day``, whose traces have the
    status of ``main``."""
    errors = main.errors
    if errors == "raise":
        lines = [f"the object of {day} and the previous day's object both failed:"]
        lines += [f"- {failure.status}: {failure.error}" for failure in failures]
        error = type(main.error)("\n".join(lines))
        error.__cause__ = main.error
        apply_policy(error, errors, main.status)

    # With errors="ignore" the status variable is the record, as for one
    # failed object.
    level = logging.INFO if errors == "warn" else logging.DEBUG
    for failure in failures:
        logger.log(level, "%s: %s", failure.status, failure.error)
        if errors == "warn":
            warnings.warn(
                f"{failure.error} (status {failure.status!r}); the traces of {day} "
                f"have status {main.status!r} and NaN where no other object had "
                "samples",
                ReadOutcomeWarning,
                stacklevel=3,
            )


def unit_status(block: PlacedBlock, state: str) -> list[str]:
    """Return the status of each trace after decoding an object in ``state``."""
    status = []
    for row in range(block.data.shape[0]):
        if block.rate_mismatch[row]:
            status.append("rate_mismatch")
        elif not block.found[row]:
            status.append("no_matching_channel")
        elif state != "ok":
            status.append(state)
        elif block.written[row] == 0:
            status.append("no_data_in_window")
        else:
            status.append("ok")
    return status


def chunk_status(statuses: Sequence[str], found: np.ndarray) -> np.ndarray:
    """Finish the statuses once the neighbours' samples are merged in."""
    final = []
    for status, present in zip(statuses, found, strict=True):
        # The previous object's records can fill a chunk whose own object
        # lacks the channel or the window.
        if present and status in ("no_matching_channel", "no_data_in_window"):
            status = "ok"
        final.append(status)
    return np.array(final, dtype="<U24")


def count_statuses(statuses: Iterable[str]) -> dict[str, int]:
    """Count each status, in the order of :data:`STATUSES`, leaving out zeros."""
    counts = Counter(str(status) for status in statuses)
    known = {name: counts.pop(name) for name in STATUSES if name in counts}
    # A status this module does not define still gets counted.
    return known | dict(sorted(counts.items()))


def failed_unit(
    traces: Sequence[SeedId],
    lo: int,
    hi: int,
    key: str | None,
    status: str,
    message: str,
    tier: str = "",
    errors: str = "raise",
) -> UnitRead:
    """Return an empty unit whose traces all carry ``status``."""
    block = PlacedBlock.empty(len(traces), lo, hi)
    statuses = [status] * len(traces)
    return UnitRead(
        block=block,
        status=statuses,
        key=key,
        message=message,
        tier=tier,
        errors=errors,
    )


def handle_failure(
    error: Exception,
    errors: str,
    traces: Sequence[SeedId],
    lo: int,
    hi: int,
    key: str | None,
    status: str,
    tier: str,
) -> UnitRead:
    """Apply the ``errors=`` policy to a failed object read.

    Under ``errors="raise"`` the error is raised again, its message ending
    with how to read the other objects instead.
    """
    apply_policy(error, errors, status)
    return failed_unit(traces, lo, hi, key, status, str(error), tier, errors)


def apply_policy(error: Exception, errors: str, status: str) -> None:
    """Raise ``error`` under ``errors="raise"``, and otherwise warn or log it."""
    if errors == "raise":
        _add_policy_hint(error, status)
        raise error
    # With errors="ignore" the status variable is the record; keep the log
    # quiet unless the caller turned DEBUG on.
    level = logging.INFO if errors == "warn" else logging.DEBUG
    logger.log(level, "%s: %s", status, error)
    if errors == "warn":
        warnings.warn(
            f"{error}; its traces have status {status!r} and NaN where no "
            "other object had samples",
            ReadOutcomeWarning,
            stacklevel=3,
        )


def previous_day_error(
    error: Exception, key: str, tier: str, day_ns: int, hint: str = ""
) -> Exception:
    """Return an error of the class of ``error`` whose message states that
    the previous day's object ``key`` was read for the records that cross
    midnight into the day of ``day_ns``, followed by ``hint``."""
    day = format_ns(day_ns)[:10]
    message = (
        f"previous-day object {key} of tier {tier!r}, read for the records "
        f"that cross midnight into {day}, failed: {error}{hint}"
    )
    failure = type(error)(message)
    failure.__cause__ = error
    return failure


def report_neighbour_failure(
    error: Exception, errors: str, status: str, own_failed: bool = False
) -> None:
    """Apply the ``errors=`` policy to a failed read of the previous day's object.

    That object is read only for its records that cross midnight into the
    chunk, so the chunk keeps the status and samples of its own object.
    Because no status records this failure, ``errors="ignore"`` logs it at
    INFO instead of DEBUG. ``own_failed`` is true where the day's own object
    failed too, so the warning does not claim its samples were kept.
    """
    if errors == "raise":
        _add_policy_hint(error, status)
        raise error
    logger.info("%s: %s", status, error)
    if errors == "warn":
        if own_failed:
            outcome = "the day's own object failed too"
        else:
            outcome = "the samples of the day's own object were kept"
        warnings.warn(
            f"{error} (status {status!r}); {outcome}",
            ReadOutcomeWarning,
            stacklevel=3,
        )


def _add_policy_hint(error: Exception, status: str) -> None:
    """Append the ``errors=`` alternative to the message of ``error``, once."""
    if not error.args or not isinstance(error.args[0], str):
        return
    message = error.args[0]
    if _POLICY_HINT in message:
        return
    hint = f"{_POLICY_HINT} (status {status!r})"
    if status == "missing":
        hint += "; `intake-earthscope availability` lists the objects that exist"
    error.args = (f"{message}; {hint}", *error.args[1:])


def report_no_channel(
    traces: Sequence[SeedId], status: list[str], key: str, errors: str
) -> None:
    """Log (and under ``errors="warn"`` warn) that channels are absent."""
    absent = [
        str(trace)
        for trace, outcome in zip(traces, status, strict=True)
        if outcome == "no_matching_channel"
    ]
    message = f"{key} contains no records of {', '.join(absent)}"
    logger.info("no matching channel: %s", message)
    if errors == "warn":
        warnings.warn(
            f"no matching channel: {message}", ReadOutcomeWarning, stacklevel=2
        )


def report_rate_mismatch(
    traces: Sequence[SeedId],
    mismatched_rates: Sequence[set[float]],
    key: str,
    grid: Any,
    errors: str,
) -> None:
    """Report records left out because their rate does not fit the grid.

    ``mismatched_rates`` gives the rates left out of each trace's row.
    """
    grid_rate = 1e9 / grid.step_ns
    for trace, skipped in zip(traces, mismatched_rates, strict=True):
        if not skipped:
            continue
        rates = ", ".join(f"{rate:g}" for rate in sorted(skipped))
        message = (
            f"{key}: records of {trace} at {rates} Hz left out of the "
            f"{grid_rate:g} Hz grid; pick their rate with sampling_rate="
        )
        level = logging.DEBUG if errors == "ignore" else logging.INFO
        logger.log(level, "rate mismatch: %s", message)
        if errors != "ignore":
            warnings.warn(message, ReadOutcomeWarning, stacklevel=2)


def report_unplanned(unplanned: list[str], key: str, errors: str) -> None:
    """Report channels that match the request but have no row."""
    # The trace list comes from the first object of each station, so a
    # channel that starts later in the request has no row in the dataset.
    names = ", ".join(unplanned)
    verb = "matches" if len(unplanned) == 1 else "match"
    message = (
        f"{key} contains {names}, which {verb} the request but is not in the "
        "dataset because the first object of the station lacked it; request "
        "it by exact code or pass inventory="
    )
    level = logging.DEBUG if errors == "ignore" else logging.INFO
    logger.log(level, "unplanned channels: %s", message)
    if errors != "ignore":
        warnings.warn(message, ReadOutcomeWarning, stacklevel=2)
