"""Dask task functions: fetch one object, decode, place, merge, report.

Every function here is module-level and takes plain, picklable arguments (a
:class:`~intake_earthscope.storage.StorageSpec`, keys, grid indices), so a
graph ships to workers without file objects, clients or credentials.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from intake_earthscope.codes import SeedId
from intake_earthscope.decode import Grid, PlacedBlock, decode_and_place, merge_spill
from intake_earthscope.errors import (
    AccessDeniedError,
    DecodeError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
)
from intake_earthscope.storage import StorageSpec, object_size, read_bytes

__all__ = [
    "STATUSES",
    "ChunkResult",
    "UnitRead",
    "finish_chunk",
    "read_neighbour",
    "read_unit",
]

logger = logging.getLogger(__name__)

STATUSES = (
    "ok",
    "no_data_in_window",
    "no_matching_channel",
    "missing",
    "unreadable",
    "access_denied",
    "rate_mismatch",
)

# Objects one process fetches and decodes at once; each may be 100 MB or more.
MAX_OBJECTS_IN_FLIGHT = int(os.environ.get("INTAKE_EARTHSCOPE_MAX_OBJECTS", "4"))
_object_slots = threading.BoundedSemaphore(MAX_OBJECTS_IN_FLIGHT)

# Records are filed by start time, so the day before holds the first minutes
# of a day in its last records. Only this many bytes of its end are read.
NEIGHBOUR_BYTES: int | None = None
_RECORD_ALIGNMENT = 512


@dataclass
class UnitRead:
    """The decoded block of one object plus what happened to each trace."""

    block: PlacedBlock
    status: list[str]
    key: str | None
    message: str = ""


@dataclass
class ChunkResult:
    """One chunk of the dataset and its per-trace outcome arrays."""

    waveform: np.ndarray
    status: np.ndarray
    valid_fraction: np.ndarray
    gap_count: np.ndarray
    overlap_count: np.ndarray
    conflict_count: np.ndarray
    time_offset: np.ndarray
    max_shift: np.ndarray
    header_rate: np.ndarray

    def field(self, name: str) -> np.ndarray:
        """Return one output array, with a trailing axis for the object."""
        value = getattr(self, name)
        return value if name == "waveform" else value[:, np.newaxis]


def read_unit(
    spec: StorageSpec,
    key: str | None,
    traces: Sequence[SeedId],
    grid: Grid,
    lo: int,
    hi: int,
    rate_tolerance: float,
    errors: str,
    patterns: Mapping[str, Sequence[str]] | None = None,
) -> UnitRead:
    """Fetch and decode one object onto grid indices ``[lo, hi)``.

    Samples past ``hi`` are kept in the block's spill for the next chunk.
    ``key=None`` means a listing already showed that the object is missing.
    ``patterns`` are the request's codes, to report channels that match the
    request but were not planned.
    """
    if key is None:
        return _failed(traces, lo, hi, None, "missing", "not in the archive listing")

    try:
        with _object_slots:
            data = read_bytes(spec, key)
            block = decode_and_place(
                data, traces, grid, lo, hi, rate_tolerance, patterns=patterns
            )
    except ObjectNotFoundError as error:
        return _handle(error, errors, traces, lo, hi, key, "missing")
    except AccessDeniedError as error:
        return _handle(error, errors, traces, lo, hi, key, "access_denied")
    except DecodeError as error:
        return _handle(error, errors, traces, lo, hi, key, "unreadable")

    status = _statuses(block)
    if "no_matching_channel" in status:
        _report_no_channel(traces, status, key, errors)
    if block.unplanned:
        _report_unplanned(block.unplanned, key, errors)
    return UnitRead(block=block, status=status, key=key)


def read_neighbour(
    spec: StorageSpec,
    key: str | None,
    traces: Sequence[SeedId],
    grid: Grid,
    hi: int,
    rate_tolerance: float,
    tail_bytes: int | None = NEIGHBOUR_BYTES,
) -> np.ndarray:
    """Return the samples the previous day's object holds for ``[0, hi)``.

    Only the last ``tail_bytes`` of the object are read (all of it for
    ``None``). A missing neighbour is no error: the result is all NaN.
    """
    empty = np.full((len(traces), hi), np.nan)
    if key is None:
        return empty

    try:
        with _object_slots:
            data = _read_tail(spec, key, tail_bytes)
            block = decode_and_place(
                data, traces, grid, 0, hi, rate_tolerance, skip_not_data=True
            )
    except (ObjectNotFoundError, DecodeError) as error:
        logger.debug("neighbour %s not used: %s", key, error)
        return empty
    return block.data


def finish_chunk(
    unit: UnitRead,
    previous_spill: np.ndarray | UnitRead | None,
    grid: Grid,
) -> ChunkResult:
    """Merge the previous object's spill into a unit's block; compute outcomes."""
    block = unit.block
    spill = _spill_of(previous_spill)
    if spill is not None and spill.size:
        merge_spill(block, spill)

    width = block.hi - block.lo
    data = block.data[:, :width]
    valid = ~np.isnan(data)
    found = valid.any(axis=1)
    status = np.array(
        [_final_status(s, f) for s, f in zip(unit.status, found, strict=True)],
        dtype=object,
    )
    return ChunkResult(
        waveform=data,
        status=status,
        valid_fraction=valid.mean(axis=1) if width else np.zeros(len(status)),
        gap_count=_gap_runs(valid),
        overlap_count=block.overlaps.copy(),
        conflict_count=block.conflicts.copy(),
        time_offset=block.first_offset.copy(),
        max_shift=block.max_shift.copy(),
        header_rate=np.array([_header_rate(rates) for rates in block.header_rates]),
    )


def _spill_of(previous: np.ndarray | UnitRead | None) -> np.ndarray | None:
    if previous is None:
        return None
    if isinstance(previous, UnitRead):
        return previous.block.spill
    return previous


def _final_status(status: str, found: bool) -> str:
    # The neighbour's spill can fill a chunk whose own object lacks a channel.
    if found and status in ("no_matching_channel", "no_data_in_window"):
        return "ok"
    return status


def _gap_runs(valid: np.ndarray) -> np.ndarray:
    """Count runs of missing samples per row (leading, inner and trailing)."""
    if valid.shape[1] == 0:
        return np.zeros(valid.shape[0], dtype=np.int64)
    missing = ~valid
    starts = missing[:, 1:] & ~missing[:, :-1]
    return missing[:, 0].astype(np.int64) + starts.sum(axis=1)


def _header_rate(rates: set[float]) -> float:
    return float(min(rates)) if rates else np.nan


def _statuses(block: PlacedBlock) -> list[str]:
    status = []
    for row in range(block.data.shape[0]):
        if block.rate_mismatch[row] and not block.found[row]:
            status.append("rate_mismatch")
        elif not block.found[row]:
            status.append("no_matching_channel")
        elif block.written[row] == 0:
            status.append("no_data_in_window")
        else:
            status.append("ok")
    return status


def _read_tail(spec: StorageSpec, key: str, tail_bytes: int | None) -> bytes:
    if tail_bytes is None:
        return read_bytes(spec, key)
    size = object_size(spec, key)
    start = max(0, size - tail_bytes)
    start -= start % _RECORD_ALIGNMENT
    return read_bytes(spec, key, start, size)


def _failed(
    traces: Sequence[SeedId],
    lo: int,
    hi: int,
    key: str | None,
    status: str,
    message: str,
) -> UnitRead:
    block = PlacedBlock.empty(len(traces), lo, hi)
    return UnitRead(
        block=block, status=[status] * len(traces), key=key, message=message
    )


def _handle(
    error: Exception,
    errors: str,
    traces: Sequence[SeedId],
    lo: int,
    hi: int,
    key: str,
    status: str,
) -> UnitRead:
    if errors == "raise":
        raise error
    # With errors="ignore" the status variable is the record; keep the log
    # quiet unless the caller turned DEBUG on.
    level = logging.INFO if errors == "warn" else logging.DEBUG
    logger.log(level, "%s: %s", status, error)
    if errors == "warn":
        warnings.warn(
            f"{error}; its traces are NaN with status {status!r}",
            ReadOutcomeWarning,
            stacklevel=2,
        )
    return _failed(traces, lo, hi, key, status, str(error))


def _report_no_channel(
    traces: Sequence[SeedId], status: list[str], key: str, errors: str
) -> None:
    absent = [
        str(trace)
        for trace, outcome in zip(traces, status, strict=True)
        if outcome == "no_matching_channel"
    ]
    message = f"{key} holds no records of {', '.join(absent)}"
    logger.info("no matching channel: %s", message)
    if errors == "warn":
        warnings.warn(
            f"no matching channel: {message}", ReadOutcomeWarning, stacklevel=2
        )


def _report_unplanned(unplanned: list[str], key: str, errors: str) -> None:
    # The trace list comes from the first object of each station, so a
    # channel that starts later in the request has no row in the dataset.
    message = (
        f"{key} holds {', '.join(unplanned)}, which match the request but are "
        "not in the dataset because the first object of the station lacked "
        "them; request them by exact code or pass inventory="
    )
    level = logging.DEBUG if errors == "ignore" else logging.INFO
    logger.log(level, "unplanned channels: %s", message)
    if errors != "ignore":
        warnings.warn(message, ReadOutcomeWarning, stacklevel=2)
