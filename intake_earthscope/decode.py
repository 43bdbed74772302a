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

# NumPy types of libmseed's integer and floating-point samples ("t" is text).
_SAMPLE_DTYPES: dict[bytes, np.dtype] = {
    b"i": np.dtype(np.int32),
    b"f": np.dtype(np.float32),
    b"d": np.dtype(np.float64),
}

# Marker returned by _unpacked for a segment libmseed cannot unpack as one array.
_UNPACK_FAILED = np.empty(0)

# Type that _encoding_dtype gives text and opaque samples, and its cache.
_TEXT: np.dtype = np.dtype("S1")
_ENCODING_DTYPES: dict[int, np.dtype | None] = {}


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
    block = PlacedBlock.empty(len(traces), lo, hi, filled=False)
    block.reach = grid.samples_per_day
    if not traces or not data:
        block.fill_rest()
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

    block.fill_rest()
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
    data: bytes, selection: str, skip_not_data: bool = False, own_buffers: bool = True
) -> Iterator[list[tuple[SeedId, Segment]]]:
    """Decode the selected records into (trace, segment), higher versions first.

    With ``own_buffers``, libmseed only indexes the records, then unpacks
    each segment into a NumPy array of its own size: this skips libmseed's
    growing of one buffer per segment, record by record, which costs more
    than decoding. A segment it cannot unpack that way (records of
    different sample types joined into one segment, a damaged payload)
    makes the whole object decode the other way: libmseed unpacks while
    reading, and the segments' samples are views into its memory, valid
    inside the ``with`` block only.

    Raises
    ------
    DecodeError
        If the bytes cannot be read as miniSEED.
    """
    if own_buffers:
        with _read(data, selection, skip_not_data, unpack=False) as traces:
            decoded = _decoded(traces, unpack=True)
        if decoded is not None:
            yield decoded
            return

    try:
        traces = _read(data, selection, skip_not_data, unpack=True)
    except DecodeError:
        # libmseed joins the records of a channel into one segment before it
        # looks at their sample types, so a channel that changes encoding
        # (Steim2, then float64) fails as a whole. Each sample type's
        # records decode on their own.
        parts = _split_by_sample_type(data) if not skip_not_data else None
        if parts is None:
            raise
        yield _decode_parts(parts, selection)
        return
    with traces:
        decoded = _decoded(traces, unpack=False)
        yield decoded or []


# Sample type of each miniSEED data encoding: text, integers, floats, doubles.
_ENCODING_TYPES = {0: "t", 1: "i", 3: "i", 4: "f", 5: "d", 10: "i", 11: "i"}


def _split_by_sample_type(data: bytes) -> list[bytes] | None:
    """Return the records of ``data`` grouped by sample type, or None.

    None means the bytes are not whole records back to back, or hold one
    sample type only, so splitting cannot help.
    """
    groups: dict[str, list[bytes]] = {}
    offset = 0
    try:
        for record in pymseed.MS3Record.from_buffer(data):
            kind = _ENCODING_TYPES.get(record.encoding, "i")
            groups.setdefault(kind, []).append(data[offset : offset + record.reclen])
            offset += record.reclen
    except pymseed.MiniSEEDError:
        return None
    if offset != len(data) or len(groups) < 2:
        return None
    return [b"".join(records) for records in groups.values()]


def _decode_parts(parts: list[bytes], selection: str) -> list[tuple[SeedId, Segment]]:
    """Decode each part into segments of their own arrays, in placement order."""
    decoded: list[tuple[SeedId, Segment]] = []
    for part in parts:
        with _read(part, selection, False, unpack=False) as traces:
            segments = _decoded(traces, unpack=True)
        if segments is None:
            raise DecodeError(
                "invalid miniSEED: records of one sample type could not be unpacked"
            )
        decoded.extend(segments)
    decoded.sort(key=_placement_order)
    return decoded


def _placement_order(item: tuple[SeedId, Segment]) -> tuple[str, int, int]:
    seed_id, segment = item
    return str(seed_id), -segment.pubversion, int(segment.record_starts[0])


def _read(
    data: bytes, selection: str, skip_not_data: bool, unpack: bool
) -> pymseed.MS3TraceList:
    try:
        return pymseed.MS3TraceList.from_buffer(
            data,
            unpack_data=unpack,
            record_list=True,
            sourceid=selection,
            split_version=True,
            skip_not_data=skip_not_data,
        )
    except pymseed.MiniSEEDError as error:
        raise DecodeError(f"invalid miniSEED: {error}") from error


def _decoded(
    traces: pymseed.MS3TraceList, unpack: bool
) -> list[tuple[SeedId, Segment]] | None:
    """Return the (trace, segment) pairs in placement order, or None if a
    segment could not be unpacked.

    Higher publication versions come first, so they win conflicts, and each
    version's segments in time order.
    """
    by_trace: list[tuple[str, int, SeedId, list[Segment]]] = []
    for trace in traces:
        seed_id = _seed_id(trace.sourceid)
        if seed_id is None:
            continue
        segments = _trace_segments(trace._id, trace.pubversion, unpack)
        if segments is None:
            return None
        by_trace.append((str(seed_id), -trace.pubversion, seed_id, segments))

    by_trace.sort(key=lambda item: item[:2])
    return [
        (seed_id, segment)
        for _, _, seed_id, segments in by_trace
        for segment in segments
    ]


def _trace_segments(
    trace_id: Any, pubversion: int, unpack: bool
) -> list[Segment] | None:
    """Return the numeric segments of one libmseed trace, in time order.

    With ``unpack``, each segment is unpacked here into an array of its
    own, and None means one could not be. The C structures are read through
    cffi directly: pymseed's wrapper objects cost several microseconds per
    segment, which a day of thousands of gaps would pay thousands of times.
    """
    numeric: list[tuple[int, float, np.ndarray, int]] = []
    starts: list[int] = []
    counts: list[int] = []
    segment = trace_id.first
    while segment != ffi.NULL:
        records = segment.recordlist
        first: Any
        if records == ffi.NULL or records.first == ffi.NULL:
            if unpack:
                return None
            first = None
        else:
            first = records.first.msr
        samples = _unpacked(trace_id, segment, first) if unpack else _view(segment)
        if samples is _UNPACK_FAILED:
            return None
        if samples is not None:
            offset = len(starts)
            single = first is not None and records.recordcnt == 1
            if single and first.samplecnt == samples.size:
                # One record, the common case of a gappy day.
                starts.append(first.starttime)
                counts.append(samples.size)
            else:
                _record_anchors(segment, samples.size, starts, counts)
            numeric.append((offset, segment.samprate, samples, len(starts)))
        segment = segment.next

    all_starts = np.array(starts, dtype=np.int64)
    all_counts = np.array(counts, dtype=np.int64)
    numeric.sort(key=lambda item: starts[item[0]])
    return [
        Segment(
            rate=rate,
            pubversion=pubversion,
            samples=samples,
            record_starts=all_starts[offset:bound],
            record_counts=all_counts[offset:bound],
        )
        for offset, rate, samples, bound in numeric
    ]


def _unpacked(trace_id: Any, segment: Any, first: Any) -> np.ndarray | None:
    """Unpack a segment's records into a new array, or return None for text.

    ``first`` is the segment's first record. Returns ``_UNPACK_FAILED`` if
    libmseed cannot unpack the records as one type.
    """
    dtype = _encoding_dtype(first.encoding)
    if dtype is None:
        return _UNPACK_FAILED
    if dtype is _TEXT:
        return None

    samples = np.empty(segment.samplecnt, dtype=dtype)
    if samples.size == 0:
        return samples
    unpacked = clibmseed.mstl3_unpack_recordlist(
        trace_id, segment, ffi.from_buffer(samples), samples.nbytes, 0
    )
    return samples if unpacked == samples.size else _UNPACK_FAILED


def _encoding_dtype(encoding: int) -> np.dtype | None:
    """Return the NumPy type of an encoding's samples, ``_TEXT`` for text, or
    None for an encoding libmseed does not know."""
    if encoding not in _ENCODING_DTYPES:
        size = ffi.new("uint8_t *")
        sampletype = ffi.new("char *")
        known = clibmseed.ms_encoding_sizetype(encoding, size, sampletype) == 0
        dtype = _SAMPLE_DTYPES.get(sampletype[0], _TEXT) if known else None
        _ENCODING_DTYPES[encoding] = dtype
    return _ENCODING_DTYPES[encoding]


def _view(segment: Any) -> np.ndarray | None:
    """Return a view of the samples libmseed unpacked, or None for text."""
    dtype = _SAMPLE_DTYPES.get(segment.sampletype)
    return None if dtype is None else _samples(segment, dtype)


def _samples(segment: Any, dtype: np.dtype) -> np.ndarray:
    """Return a view of a segment's samples in libmseed's memory."""
    size = int(segment.numsamples)
    if size <= 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(ffi.buffer(segment.datasamples, size * dtype.itemsize), dtype)


def _record_anchors(
    segment: Any, size: int, starts: list[int], counts: list[int]
) -> None:
    """Append the start time and sample count of each record of a segment.

    The C record list is walked through cffi (under a microsecond per
    record); pymseed's Python wrappers cost ten times as much. If the list
    does not account for the segment's samples, the segment's own span
    counts as one record.
    """
    records = segment.recordlist
    expected = int(records.recordcnt) if records != ffi.NULL else 0
    mark = len(starts)
    total = 0
    pointer = records.first if expected else ffi.NULL
    while pointer != ffi.NULL and len(starts) - mark < expected:
        record = pointer.msr
        starts.append(record.starttime)
        counts.append(record.samplecnt)
        total += record.samplecnt
        pointer = pointer.next
    if len(starts) - mark != expected or total != size or not expected:
        del starts[mark:], counts[mark:]
        starts.append(segment.starttime)
        counts.append(size)


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
