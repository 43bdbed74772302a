"""Decode miniSEED bytes with pymseed and hand the samples to placement.

Only the requested channels are decoded: libmseed matches each record's
source identifier against a glob before it unpacks samples. Each segment
keeps the start time and sample count of every record it was joined from,
so that placement (:mod:`intake_earthscope.place`) can anchor each record at
its own time.

Before decoding, the record boundaries are walked once (a cheap header
check per record): an object cut inside its last record is ``truncated``,
one with bytes that are not miniSEED between or after its records is
``damaged``. Either way the records that are intact are decoded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pymseed
from pymseed.clib import clibmseed, ffi

from intake_earthscope.codes import (
    SeedId,
    matches,
    record_selection,
    seed_id_from_sourceid,
)
from intake_earthscope.errors import DecodeError
from intake_earthscope.place import (
    Grid,
    PlacedBlock,
    Segment,
    assemble_edges,
    place_row,
    rate_fits,
)

__all__ = [
    "Grid",
    "PlacedBlock",
    "check_structure",
    "decode_and_place",
    "intact_records",
]

logger = logging.getLogger(__name__)

# pymseed sample types of integer and floating-point samples ("t" is text).
_NUMERIC_SAMPLE_TYPES = ("i", "f", "d")


def decode_and_place(
    data: bytes,
    traces: Sequence[SeedId],
    grid: Grid,
    lo: int,
    hi: int,
    rate_tolerance: float,
    patterns: Mapping[str, Sequence[str]] | None = None,
    skip_not_data: bool = False,
) -> PlacedBlock:
    """Decode the records of ``traces`` in ``data`` and place them on ``grid``.

    Parameters
    ----------
    data : bytes
        miniSEED 2 or 3 records.
    traces : sequence of SeedId
        Rows of the block, in order. Records of other channels are skipped
        by libmseed without decoding their samples.
    grid : Grid
        The request's time grid.
    lo, hi : int
        Grid indices the block covers. Samples within a day after ``hi`` go
        to the block's spill, within a day before ``lo`` to its backspill.
    rate_tolerance : float
        Relative tolerance under which a segment rate equals the grid rate.
    patterns : mapping, optional
        The request's code patterns per kind. A decoded channel that matches
        them but is not in ``traces`` (it appeared after the plan was made)
        is listed in ``unplanned`` instead of being ignored.
    skip_not_data : bool
        Skip bytes until a record starts, for a range cut out of an object.

    Raises
    ------
    DecodeError
        If ``data`` contains no miniSEED record at all.
    """
    rows = {seed_id: row for row, seed_id in enumerate(traces)}
    block = PlacedBlock.empty(len(traces), lo, hi)
    block.reach = grid.samples_per_day
    if not traces or not data:
        return block

    selection = record_selection(traces, patterns)
    edges: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    with decode_segments(data, selection, skip_not_data) as decoded:
        by_row: dict[int, list[Segment]] = {}
        for seed_id, segment in decoded:
            row = rows.get(seed_id)
            if row is None:
                _note_unplanned(block, seed_id, segment, grid, rate_tolerance, patterns)
                continue
            by_row.setdefault(row, []).append(segment)

        for row, segments in by_row.items():
            place_row(block, row, segments, grid, rate_tolerance, edges)

    assemble_edges(block, edges)
    block.unplanned = sorted(set(block.unplanned))
    return block


def intact_records(data: bytes) -> bytes:
    """Return the records of ``data`` without the bytes between them that are
    not miniSEED (searched byte by byte, so only for damaged objects)."""
    buffer = ffi.from_buffer(data)
    version = ffi.new("uint8_t *")
    kept = []
    offset, size = 0, len(data)
    while offset < size:
        length = clibmseed.ms3_detect(buffer + offset, size - offset, version)
        if length > 0 and offset + length <= size:
            kept.append(data[offset : offset + length])
            offset += length
        else:
            offset += 1
    return b"".join(kept)


def check_structure(data: bytes) -> tuple[str, int]:
    """Walk the record boundaries; return ``(state, offset)``.

    ``state`` is ``"ok"``, ``"truncated"`` (the last record is cut short),
    ``"damaged"`` (bytes that are not miniSEED at ``offset``) or
    ``"not_miniseed"`` (no record at the start).
    """
    buffer = ffi.from_buffer(data)
    version = ffi.new("uint8_t *")
    offset, size = 0, len(data)
    while offset < size:
        length = clibmseed.ms3_detect(buffer + offset, size - offset, version)
        if length > 0:
            if offset + length > size:
                return "truncated", offset
            offset += length
            continue
        if length == 0 and size - offset >= 48:
            # A miniSEED 2 record without Blockette 1000 has no length of its
            # own; libmseed finds it from the next header when decoding.
            return "ok", offset
        return ("damaged" if offset else "not_miniseed"), offset
    return "ok", offset


@contextmanager
def decode_segments(
    data: bytes, selection: str, skip_not_data: bool = False
) -> Iterator[list[tuple[SeedId, Segment]]]:
    """Decode the selected records into (trace, segment), higher versions first.

    The segments' samples are views into libmseed's memory, valid inside the
    ``with`` block only: placing them there saves a copy of every sample.

    Raises
    ------
    DecodeError
        If the bytes cannot be read as miniSEED.
    """
    try:
        traces = pymseed.MS3TraceList.from_buffer(
            data,
            unpack_data=True,
            record_list=True,
            sourceid=selection,
            split_version=True,
            skip_not_data=skip_not_data,
        )
    except pymseed.MiniSEEDError as error:
        raise DecodeError(f"invalid miniSEED: {error}") from error

    decoded = []
    with traces:
        for trace in traces:
            seed_id = _seed_id(trace.sourceid)
            if seed_id is None:
                continue
            for segment in trace:
                if segment.sampletype not in _NUMERIC_SAMPLE_TYPES:
                    continue
                decoded.append((seed_id, _segment(segment, trace.pubversion)))

        # Higher publication versions are placed first, so they win conflicts.
        decoded.sort(key=lambda item: (str(item[0]), -item[1].pubversion, _start(item)))
        yield decoded


def _start(item: tuple[SeedId, Segment]) -> int:
    return int(item[1].record_starts[0])


def _segment(segment: Any, pubversion: int) -> Segment:
    starts, counts = _record_anchors(segment)
    samples = segment.np_datasamples
    return Segment(
        rate=segment.samprate,
        pubversion=pubversion,
        samples=samples,
        record_starts=starts,
        record_counts=counts,
    )


def _record_anchors(segment: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return the start time and sample count of each record of a segment.

    The C record list is walked through cffi (about half a microsecond per
    record); pymseed's Python wrappers cost ten times as much.
    """
    records = segment._seg.recordlist
    count = int(records.recordcnt)
    starts = np.empty(count, dtype=np.int64)
    counts = np.empty(count, dtype=np.int64)
    pointer = records.first
    index = 0
    while pointer != ffi.NULL and index < count:
        record = pointer.msr
        starts[index] = record.starttime
        counts[index] = record.samplecnt
        pointer = pointer.next
        index += 1
    if index != count or counts.sum() != segment.numsamples:
        # Fall back to the segment's own span as one record.
        return np.array([segment.starttime]), np.array([segment.numsamples])
    return starts, counts


def _seed_id(sourceid: str) -> SeedId | None:
    try:
        return seed_id_from_sourceid(sourceid)
    except ValueError:
        logger.debug("skipping records with source id %r (not FDSN)", sourceid)
        return None


def _note_unplanned(
    block: PlacedBlock,
    seed_id: SeedId,
    segment: Segment,
    grid: Grid,
    rate_tolerance: float,
    patterns: Mapping[str, Sequence[str]] | None,
) -> None:
    # A channel at another rate was left out on purpose by the plan.
    if not patterns or not rate_fits(segment.rate, grid, rate_tolerance):
        return
    kinds = patterns.items()
    if all(matches(getattr(seed_id, kind), codes) for kind, codes in kinds):
        block.unplanned.append(str(seed_id))
