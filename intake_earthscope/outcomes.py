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
    not placed. In a day read they may be records of the previous day's
    object that cross midnight into the chunk.
``no_data_in_window``
    The object contains the channel, but no sample inside the chunk.
``no_matching_channel``
    The object exists and contains no record of the channel.
``missing``
    The object does not exist (or a web service had no data). Where the
    S3 bucket itself does not exist, its objects are missing too: the
    error or warning is a
    :class:`~intake_earthscope.errors.BucketNotFoundError` that names the
    bucket and the endpoint.
``unreadable``
    The object is not miniSEED.
``access_denied``
    The storage refused the object, or this process had no credentials to
    request it (a :class:`~intake_earthscope.errors.CredentialsError`, for
    example on a worker without the ``storage_options`` keys). In that case
    no request was sent, so the object may also not exist.
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
import os
import sys
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy as np

from intake_earthscope.codes import SeedId
from intake_earthscope.errors import (
    BucketNotFoundError,
    CredentialsError,
    ReadOutcomeWarning,
)
from intake_earthscope.place import PlacedBlock
from intake_earthscope.timeutil import format_ns

__all__ = [
    "FAILURE_ORDER",
    "STATUSES",
    "PendingFailure",
    "UnitRead",
    "add_policy_hint",
    "apply_policy",
    "chunk_status",
    "count_statuses",
    "failed_unit",
    "handle_failure",
    "joint_failure",
    "mark_left_out",
    "previous_day_error",
    "previous_day_source",
    "report_day_failure",
    "report_neighbour_failure",
    "report_no_channel",
    "report_unplanned",
    "settle_missing",
    "settle_missing_and_previous",
    "task_hint",
    "unit_status",
    "warn_read_outcome",
    "without_task_hint",
]

logger = logging.getLogger(__name__)

# How to go on past a failed object, added to errors raised under "raise".
_POLICY_HINT = "pass errors='warn' or errors='ignore' to read the other"

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


# Packages whose frames lie between a user's call and a read of this
# package: the schedulers and containers that run its tasks.
_RUNNER_MODULES = (
    "intake_earthscope",
    "dask",
    "distributed",
    "xarray",
    "numpy",
    "pandas",
    "intake",
    "concurrent.futures",
    "threading",
)

# Start of the line appended to a warning that no user frame can be found
# for, as in a dask worker thread (see task_hint).
_TASK_HINT_START = "\n(raised while dask computed "


def task_hint(subject: str, advice: str) -> str:
    """Return the line that names the ``subject`` a dask task computed and
    where to look for its outcome, for :func:`warn_read_outcome`."""
    return f"{_TASK_HINT_START}{subject}: {advice})"


def without_task_hint(message: str) -> str:
    """Return a warning's message without the line of :func:`task_hint`,
    for a command line, whose user calls no Python function."""
    return message.split(_TASK_HINT_START, 1)[0]


# The line appended to a waveform read's warning from a dask task.
_TASK_HINT = task_hint(
    "the dataset", "outcome_table(dataset) lists the status of each trace"
)


def warn_read_outcome(message: str, task_hint: str = _TASK_HINT) -> None:
    """Warn with a :class:`ReadOutcomeWarning` that points at the user's call.

    The warning points at the first frame outside this package and the
    libraries that run its tasks (dask, xarray, intake and the thread
    machinery), such as the line that opened or loaded the dataset. A dask
    worker thread has no such frame, so there the warning points at the
    caller of this function, and ``task_hint`` is appended to ``message`` to
    name the dataset and the outcome to look at.
    """
    level = _user_stack_level(sys._getframe(1))
    if level is None:
        warnings.warn(message + task_hint, ReadOutcomeWarning, stacklevel=2)
    else:
        warnings.warn(message, ReadOutcomeWarning, stacklevel=level + 1)


def _user_stack_level(frame: FrameType | None) -> int | None:
    """Return the stack level of the first frame, from ``frame`` (level 1) outward,
    that belongs to no runner module, or None where there is none."""
    runners = _runner_paths()
    level = 1
    while frame is not None:
        if not frame.f_code.co_filename.startswith(runners):
            return level
        frame = frame.f_back
        level += 1
    return None


def _runner_paths() -> tuple[str, ...]:
    """Return the folders and files of the runner modules imported so far."""
    paths = []
    for name in _RUNNER_MODULES:
        module = sys.modules.get(name)
        location = getattr(module, "__file__", None)
        if not location:
            continue
        location = os.path.abspath(location)
        if os.path.basename(location) == "__init__.py":
            paths.append(os.path.dirname(location) + os.sep)
        else:
            paths.append(location)
    return tuple(paths)


@dataclass
class UnitRead:
    """The decoded block of one object plus what happened to each trace.

    ``pending`` contains the error of a missing object while the ``errors=``
    policy waits for the neighbouring objects' samples (see
    :func:`settle_missing`). Under ``errors="raise"`` it also contains the
    error of any other failed read, which the chunk task raises together
    with a failure of the previous day's object (see
    :func:`raise_day_failure`). ``errors`` is the request's policy, which the
    chunk task also applies to a failed read of the previous day's object.
    ``from_service`` is true for a unit that a web service served: its query
    returned the records that cross midnight into the chunk, so a failed
    read of the previous day's object loses no sample of it.
    ``spill_left_out`` contains, per trace, the rates of the records that
    run past the block's end but were left out because their rate does not
    fit the grid. The read already reported them as records of its object,
    and the next chunk gives those traces the status ``rate_mismatch``.
    """

    block: PlacedBlock
    status: list[str]
    key: str | None
    message: str = ""
    tier: str = ""
    pending: PendingFailure | None = None
    errors: str = "raise"
    from_service: bool = False
    spill_left_out: list[set[float]] = field(default_factory=list)


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
    with their statuses, and ``errors="warn"`` issues one warning that names
    both. Where every trace is complete, only the previous-day failure is
    reported.
    """
    if complete.all():
        settled = settle_missing(statuses, complete, missing)
        # The day's own object is missing, so none of its samples were kept.
        report_neighbour_failure(
            previous.error, previous.errors, previous.status, own_failed=True
        )
        return settled

    main = _worst([previous, missing])
    lost = statuses == missing.status
    settled = np.where(lost & complete, "ok", statuses)
    settled = np.where(lost & ~complete, main.status, settled)
    _report_day_failures([previous, missing], main.status, day)
    return settled.astype(statuses.dtype)


def report_day_failure(
    own: PendingFailure, previous: PendingFailure | None, day: str
) -> None:
    """Apply the ``errors=`` policy to the failed read of the own object of
    ``day``, which failed in another way than a missing object.

    Where the previous day's object failed too, both failures explain the
    samples that are missing, so they are reported together. Under
    ``errors="raise"`` one error names both objects with their statuses.
    Its class is that of the failure that comes first in
    :data:`FAILURE_ORDER`, as in :func:`settle_missing_and_previous`.
    ``errors="warn"`` issues one warning that names both objects. The
    traces keep the status of the own object.
    """
    if previous is None:
        apply_policy(own.error, own.errors, own.status)
        return
    _report_day_failures([previous, own], own.status, day)


def _worst(failures: Sequence[PendingFailure]) -> PendingFailure:
    """Return the failure whose status comes first in :data:`FAILURE_ORDER`,
    the first one given where two statuses are equal."""
    return min(failures, key=lambda failure: FAILURE_ORDER.index(failure.status))


def _day_failures_error(failures: Sequence[PendingFailure], day: str) -> Exception:
    """Return one error that lists the failed objects of ``day``.

    ``failures`` are the previous day's failure, then the day's own.
    """
    return joint_failure(*_day_failure_parts(failures, day))


def _day_failures_warning(
    failures: Sequence[PendingFailure], status: str, day: str
) -> str:
    """Return one warning text that lists the failed objects of ``day``,
    whose traces have ``status``, as :func:`_day_failures_error` does."""
    lines = _failure_lines(*_day_failure_parts(failures, day))
    lines.append(
        f"the traces of {day} have status {status!r} and NaN where no other "
        "object had samples"
    )
    return "\n".join(lines)


def _day_failure_parts(
    failures: Sequence[PendingFailure], day: str
) -> tuple[str, list[tuple[str, Exception]], str]:
    """Return the heading, the (status, error) pairs and the name of the own
    object that list the failed objects of ``day`` in one message."""
    heading = f"the object of {day} and the previous day's object both failed:"
    pairs = [(item.status, item.error) for item in failures]
    return heading, pairs, f"the object of {day}"


def joint_failure(
    heading: str,
    failures: Sequence[tuple[str, Exception]],
    own: str = "",
) -> Exception:
    """Return one error for several failed object reads.

    Parameters
    ----------
    heading : str
        First line of the message, which states what the objects were read for.
    failures : sequence of (str, Exception)
        The status and error of each failed read.
    own : str, optional
        Name of the object whose error is the last of ``failures``, such as
        "the object of 2025-11-10". It goes before the object's key where
        the error gives one (a :class:`CredentialsError`), and stands alone
        where it does not.

    Returns
    -------
    Exception
        An error of the class of the failure whose status comes first in
        :data:`FAILURE_ORDER` (the first one given where two statuses are
        equal), raised from that failure's error. Its message is ``heading``
        followed by one line per status and reason, in the order of the
        first failure with them, then how to read the other objects, as
        :func:`apply_policy` adds it. Failures with the same status and
        reason share a line, and the line below it names their objects.
    """
    status, main = min(failures, key=lambda item: FAILURE_ORDER.index(item[0]))
    joint = type(main)("\n".join(_failure_lines(heading, failures, own)))
    joint.__cause__ = main
    add_policy_hint(joint, status)
    return joint


def _failure_lines(
    heading: str, failures: Sequence[tuple[str, Exception]], own: str
) -> list[str]:
    """Return ``heading`` and one line per status and reason of ``failures``,
    as :func:`joint_failure` describes."""
    parts = [_message_parts(error) for _, error in failures]
    if own:
        last = parts[-1]
        source = f"{own}, {last.source}" if last.source else own
        parts[-1] = _MessageParts(source, last.reason, last.hint)

    groups: dict[tuple[str, str], list[int]] = {}
    for position, (item_status, _) in enumerate(failures):
        groups.setdefault((item_status, parts[position].reason), []).append(position)

    lines = [heading]
    for (item_status, reason), positions in groups.items():
        error = failures[positions[0]][1]
        if len(positions) == 1:
            lines.append(f"- {item_status}{_unsent_note(error)}: {error}")
            continue
        lines.append(f"- {item_status}: {reason}")
        lines.append(_objects_line([parts[index] for index in positions], error))
    return lines


@dataclass(frozen=True)
class _MessageParts:
    """The message of a failed read: the object it names (``source``), the
    error of the read (``reason``) and a ``hint`` that follows it."""

    source: str
    reason: str
    hint: str = ""


# Attribute of an error from previous_day_error that stores its _MessageParts.
_PARTS = "_earthscope_message_parts"


def _message_parts(error: Exception) -> _MessageParts:
    parts = getattr(error, _PARTS, None)
    if isinstance(parts, _MessageParts):
        return parts
    if isinstance(error, CredentialsError) and error.key:
        return _MessageParts(error.key, error.reason)
    return _MessageParts("", str(error))


def _unsent_note(error: Exception, count: int = 1) -> str:
    """Return a note for the status of a read that sent no request.

    A :class:`CredentialsError` means the process had no credentials to
    send one, and the storage never reported whether the object exists.
    """
    if not isinstance(error, CredentialsError):
        return ""
    if count == 1:
        return " (no request sent, so whether the object exists is not known)"
    return " (no request sent, so whether these objects exist is not known)"


def _objects_line(parts: Sequence[_MessageParts], error: Exception) -> str:
    """Name the objects of a shared reason, on a line below it."""
    named = [_object_name(item) for item in parts if item.source]
    unnamed = len(parts) - len(named)
    if unnamed:
        named.append(f"{unnamed} more whose keys the error does not give")
    note = _unsent_note(error, len(parts))
    return f"  for {len(parts)} objects{note}: " + "; ".join(named)


def _object_name(parts: _MessageParts) -> str:
    hint = parts.hint.removeprefix("; ")
    return f"{parts.source} ({hint})" if hint else parts.source


def _report_day_failures(
    failures: Sequence[PendingFailure], status: str, day: str
) -> None:
    """Raise, warn or log the failed objects of ``day``, whose traces have
    ``status``. A warning names them all and states a shared reason once."""
    errors = failures[-1].errors
    if errors == "raise":
        raise _day_failures_error(failures, day)

    # With errors="ignore" the status variable is the record, as for one
    # failed object.
    level = logging.INFO if errors == "warn" else logging.DEBUG
    for failure in failures:
        logger.log(level, "%s: %s", failure.status, failure.error)
    if errors == "warn":
        warn_read_outcome(_day_failures_warning(failures, status, day))


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
        add_policy_hint(error, status)
        raise error
    # With errors="ignore" the status variable is the record; keep the log
    # quiet unless the caller turned DEBUG on.
    level = logging.INFO if errors == "warn" else logging.DEBUG
    logger.log(level, "%s: %s", status, error)
    if errors == "warn":
        warn_read_outcome(
            f"{error}; its traces have status {status!r} and NaN where no "
            "other object had samples"
        )


def previous_day_source(key: str, origin: str, day_ns: int) -> str:
    """Name the previous day's object ``key`` in a message, with the tier or
    mirror it was read from (``origin``, such as ``tier 'open'``) and the day
    of ``day_ns`` that it was read for."""
    day = format_ns(day_ns)[:10]
    return (
        f"previous-day object {key} of {origin}, read for the records "
        f"that cross midnight into {day}"
    )


def previous_day_error(
    error: Exception, key: str, origin: str, day_ns: int, hint: str = ""
) -> Exception:
    """Return an error of the class of ``error`` whose message states that
    the previous day's object ``key`` was read for the records that cross
    midnight into the day of ``day_ns``, followed by ``hint``."""
    source = previous_day_source(key, origin, day_ns)
    # The source names the object, so a reason without it follows.
    reason = _message_parts(error).reason
    failure = type(error)(f"{source}, failed: {reason}{hint}")
    failure.__cause__ = error
    # joint_failure states a reason that several objects share only once.
    setattr(failure, _PARTS, _MessageParts(source, reason, hint))
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
        add_policy_hint(error, status)
        raise error
    logger.info("%s: %s", status, error)
    if errors == "warn":
        if own_failed:
            outcome = "the day's own object failed too"
        else:
            outcome = "the samples of the day's own object were kept"
        warn_read_outcome(f"{error} (status {status!r}); {outcome}")


def add_policy_hint(error: Exception, status: str, others: str = "objects") -> None:
    """Append the ``errors=`` alternative to the message of ``error``, once.

    ``others`` names what the other policies go on to read ("objects", or
    "stations" for GNSS position files). A missing bucket gets no hint,
    because nothing of its storage can be read under any policy.
    """
    if isinstance(error, BucketNotFoundError):
        return
    if not error.args or not isinstance(error.args[0], str):
        return
    message = error.args[0]
    policy = f"{_POLICY_HINT} {others}"
    if policy in message:
        return
    hint = f"{policy} (status {status!r})"
    if status == "missing" and others == "objects":
        hint += "; `intake-earthscope availability` lists the objects that exist"
    # A message of several lines lists failed objects one per line, so the
    # hint, which covers them all, gets a line of its own.
    separator = "\n" if "\n" in message else "; "
    error.args = (f"{message}{separator}{hint}", *error.args[1:])


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
        warn_read_outcome(f"no matching channel: {message}")


def report_rate_mismatch(
    traces: Sequence[SeedId],
    mismatched_rates: Sequence[set[float]],
    key: str,
    grid: Any,
    errors: str,
) -> None:
    """Report records left out because their rate does not fit the grid.

    ``mismatched_rates`` gives the rates left out of each trace's row, and
    ``key`` names the object that contains them at the start of the message.
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
            warn_read_outcome(message)


def mark_left_out(statuses: np.ndarray, left_out: Sequence[set[float]]) -> np.ndarray:
    """Give the status ``rate_mismatch`` to the traces that have rates in
    ``left_out``, unless their status is a failure of :data:`FAILURE_ORDER`.

    ``left_out`` contains the rates of the records of a neighbouring object
    that reach the chunk but were left out because their rate does not fit
    the grid. As in :func:`unit_status`, that status replaces ``truncated``,
    ``damaged``, ``no_data_in_window`` and ``no_matching_channel``. A
    failure stays, because it explains the samples that are missing.
    """
    marked = statuses.copy()
    for row, rates in enumerate(left_out):
        if rates and marked[row] not in FAILURE_ORDER:
            marked[row] = "rate_mismatch"
    return marked


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
        warn_read_outcome(message)
