"""Decode miniSEED bytes with pymseed and hand the samples to placement.

Only the requested channels are decoded: libmseed matches each record's
source identifier against a glob before it unpacks samples. Each segment
keeps the start time and sample count of every record it was joined from,
so that placement (:mod:`intake_earthscope.place`) can anchor each record at
its own time. The records are indexed first and each trace is unpacked just
before it is placed, into memory its thread reuses from read to read.

Before decoding, the record boundaries are walked once (a cheap header
check per record): an object cut inside its last record is ``truncated``,
one with bytes that are not miniSEED between or after its records is
``damaged``. Either way the records that are intact are decoded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
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
    EdgeList,
    Grid,
    PlacedBlock,
    Segment,
    SegmentTable,
    assemble_edges,
    place_tables,
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

# Type that _encoding_dtype gives text and opaque samples, and its cache.
_TEXT: np.dtype = np.dtype("S1")
_ENCODING_DTYPES: dict[int, np.dtype | None] = {}


def decode_and_place(
    data: bytes | bytearray,
    traces: Sequence[SeedId],
    grid: Grid,
    lo: int,
    hi: int,
    rate_tolerance: float,
    patterns: Mapping[str, Sequence[str]] | None = None,
    skip_not_data: bool = False,
    neighbours: bool = True,
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
    neighbours : bool
        Keep the samples outside ``[lo, hi)`` in the block's spill and
        backspill. False leaves them out, for a block that has no
        neighbouring chunks (an event window), which saves their copying.

    Raises
    ------
    DecodeError
        If ``data`` contains no miniSEED record at all.
    """
    rows = {seed_id: row for row, seed_id in enumerate(traces)}
    block = _empty_block(len(traces), lo, hi, grid)
    if not traces or not data:
        block.fill_rest()
        return block

    selection = record_selection(traces, patterns)
    placing = _Placing(rows, grid, rate_tolerance, patterns, neighbours)
    try:
        with _listed_traces(data, selection, skip_not_data) as listed:
            placing.place_listed(block, listed)
    except _UnpackFailed:
        # A damaged payload or joined sample types: decode the other way.
        block = _empty_block(len(traces), lo, hi, grid)
        placing = _Placing(rows, grid, rate_tolerance, patterns, neighbours)
        with decode_segments(data, selection, skip_not_data, own_buffers=False) as got:
            placing.place_decoded(block, got)

    block.fill_rest()
    if placing.edges is not None:
        assemble_edges(block, placing.edges)
    block.unplanned = sorted(set(block.unplanned))
    return block


def _empty_block(n_traces: int, lo: int, hi: int, grid: Grid) -> PlacedBlock:
    block = PlacedBlock.empty(n_traces, lo, hi, filled=False)
    block.reach = grid.samples_per_day
    return block


class _UnpackFailed(Exception):
    """A trace's records could not be unpacked into arrays of our own."""


class _Scratch(threading.local):
    """Memory one thread reuses for the samples it unpacks before placing.

    The integers libmseed unpacks are copied into the float64 block at once,
    so they need not outlive one trace's placement. The kernel has to map
    and zero new memory on first use, and reusing it cut the decoding of a
    100 Hz day by 10 to 30% on the benchmark machine. Up to ``LIMIT`` bytes
    stay with each thread between reads, and a larger trace gets memory of
    its own.
    """

    LIMIT = 64 * 2**20

    def __init__(self) -> None:
        self.buffer = np.empty(0, dtype=np.uint8)
        self.used = 0
        self.peak = 0

    def take(self, count: int, dtype: np.dtype) -> np.ndarray:
        """Return room for ``count`` samples, valid until the :meth:`borrowed`
        block it was taken in ends.

        Room past the end of the buffer is new memory, and the buffer grows
        to the room taken once no block uses it.
        """
        start = -(-self.used // 64) * 64
        self.used = start + count * dtype.itemsize
        self.peak = max(self.peak, self.used)
        if self.used > self.buffer.size:
            return np.empty(count, dtype=dtype)
        return self.buffer[start : self.used].view(dtype)

    @contextmanager
    def borrowed(self) -> Iterator[_Scratch]:
        """Hand back, at the end of the block, the room taken inside it.

        Blocks nest: an inner block frees only what it took itself.
        """
        mark = self.used
        try:
            yield self
        finally:
            self.used = mark
            if not mark:
                # The buffer only grows, so one of LIMIT bytes stays after
                # larger traces.
                size = min(self.peak, self.LIMIT)
                if size > self.buffer.size:
                    self.buffer = np.empty(size, dtype=np.uint8)
                self.peak = 0


_scratch = _Scratch()


class _Placing:
    """Placement of decoded traces on the rows of a block, for one request."""

    def __init__(
        self,
        rows: dict[SeedId, int],
        grid: Grid,
        rate_tolerance: float,
        patterns: Mapping[str, Sequence[str]] | None,
        neighbours: bool,
    ) -> None:
        self.rows = rows
        self.grid = grid
        self.rate_tolerance = rate_tolerance
        self.patterns = patterns
        self.edges: EdgeList | None = [] if neighbours else None

    def place_listed(
        self, block: PlacedBlock, listed: list[tuple[SeedId, int, Any]]
    ) -> None:
        """Unpack and place one row at a time, reusing the thread's scratch.

        Raises
        ------
        _UnpackFailed
            If a trace cannot be unpacked this way.
        """
        by_row: dict[int, list[tuple[int, Any]]] = {}
        for seed_id, pubversion, trace_id in listed:
            row = self.rows.get(seed_id)
            if row is None:
                self._note(block, seed_id, _listed_rates(trace_id))
                continue
            by_row.setdefault(row, []).append((pubversion, trace_id))

        for row, versions in by_row.items():
            with _scratch.borrowed() as scratch:
                tables = []
                for pubversion, trace_id in versions:
                    table = _trace_table(trace_id, pubversion, True, scratch)
                    if table is None:
                        raise _UnpackFailed
                    if len(table):
                        tables.append(table)
                if tables:
                    self._place(block, row, tables)

    def place_decoded(
        self, block: PlacedBlock, decoded: list[tuple[SeedId, SegmentTable]]
    ) -> None:
        """Place tables unpacked by :func:`decode_segments`."""
        by_row: dict[int, list[SegmentTable]] = {}
        for seed_id, table in decoded:
            row = self.rows.get(seed_id)
            if row is None:
                self._note(block, seed_id, set(table.rates.tolist()))
                continue
            by_row.setdefault(row, []).append(table)
        for row, tables in by_row.items():
            self._place(block, row, tables)

    def _place(self, block: PlacedBlock, row: int, tables: list[SegmentTable]) -> None:
        place_tables(block, row, tables, self.grid, self.rate_tolerance, self.edges)

    def _note(self, block: PlacedBlock, seed_id: SeedId, rates: set[float]) -> None:
        # A channel at another rate was left out on purpose by the plan.
        grid, tolerance, patterns = self.grid, self.rate_tolerance, self.patterns
        if not patterns or not any(rate_fits(r, grid, tolerance) for r in rates):
            return
        kinds = patterns.items()
        if all(matches(getattr(seed_id, kind), codes) for kind, codes in kinds):
            block.unplanned.append(str(seed_id))


@contextmanager
def _listed_traces(
    data: bytes | bytearray, selection: str, skip_not_data: bool
) -> Iterator[list[tuple[SeedId, int, Any]]]:
    """Index the selected records without unpacking them.

    Yields ``(trace, publication version, libmseed trace)`` in placement
    order, higher versions first. The libmseed traces are valid inside the
    ``with`` block only.
    """
    with _read(data, selection, skip_not_data, unpack=False) as traces:
        yield _in_placement_order(traces)


def _listed_rates(trace_id: Any) -> set[float]:
    """Return the sample rates of a trace's numeric segments, from its listing."""
    listing = _list_segments(trace_id, unpack=True)
    if listing is None:
        raise _UnpackFailed
    return set(listing[3])


def intact_records(data: bytes | bytearray) -> bytes:
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


def check_structure(data: bytes | bytearray) -> tuple[str, int]:
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
    data: bytes | bytearray,
    selection: str,
    skip_not_data: bool = False,
    own_buffers: bool = True,
    reuse_memory: bool = False,
) -> Iterator[list[tuple[SeedId, SegmentTable]]]:
    """Decode the selected records into one (trace, table) per trace and
    publication version, higher versions first.

    With ``own_buffers``, libmseed only indexes the records, then unpacks
    the segments of each trace into one NumPy array of the right size:
    this skips libmseed's growing of one buffer per segment, record by
    record, which costs more than decoding. With ``reuse_memory`` too,
    those arrays are taken from the thread's scratch memory, which the
    kernel need not map and zero again. The samples must then not be used
    after the ``with`` block, and a thread must leave such blocks in the
    reverse order of entering them. A segment it cannot unpack that way (records
    of different sample types joined into one segment, a damaged payload)
    makes the whole object decode the other way: libmseed unpacks while
    reading, and the segments' samples are views into its memory, valid
    inside the ``with`` block only.

    Raises
    ------
    DecodeError
        If the bytes cannot be read as miniSEED.
    """
    if own_buffers:
        borrowed = _scratch.borrowed() if reuse_memory else nullcontext(None)
        with borrowed as scratch:
            with _read(data, selection, skip_not_data, unpack=False) as traces:
                decoded = _decoded(traces, unpack=True, scratch=scratch)
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


def _split_by_sample_type(
    data: bytes | bytearray,
) -> list[bytes | bytearray] | None:
    """Return the records of ``data`` grouped by sample type, or None.

    None means the bytes are not whole records back to back, or hold one
    sample type only, so splitting cannot help.
    """
    groups: dict[str, list[bytes | bytearray]] = {}
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


def _decode_parts(
    parts: list[bytes | bytearray], selection: str
) -> list[tuple[SeedId, SegmentTable]]:
    """Decode each part into tables of their own arrays, in placement order.

    The parts of one trace and version are joined into one table in time
    order.
    """
    joined: dict[tuple[SeedId, int], list[Segment]] = {}
    for part in parts:
        with _read(part, selection, False, unpack=False) as traces:
            tables = _decoded(traces, unpack=True)
        if tables is None:
            raise DecodeError(
                "invalid miniSEED: records of one sample type could not be unpacked"
            )
        for seed_id, table in tables:
            key = (seed_id, table.pubversion)
            joined.setdefault(key, []).extend(table.segments())

    ordered = sorted(joined.items(), key=lambda item: (str(item[0][0]), -item[0][1]))
    return [
        (seed_id, SegmentTable.from_segments(sorted(segments, key=_first_start)))
        for (seed_id, _), segments in ordered
    ]


def _first_start(segment: Segment) -> int:
    return int(segment.record_starts[0])


def _read(
    data: bytes | bytearray, selection: str, skip_not_data: bool, unpack: bool
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
    traces: pymseed.MS3TraceList, unpack: bool, scratch: _Scratch | None = None
) -> list[tuple[SeedId, SegmentTable]] | None:
    """Return one (trace, table) pair per trace and version, in placement
    order, or None if a segment could not be unpacked.

    Higher publication versions come first, so they win conflicts. With
    ``scratch``, unpacked samples are taken from it.
    """
    decoded = []
    for seed_id, pubversion, trace_id in _in_placement_order(traces):
        table = _trace_table(trace_id, pubversion, unpack, scratch)
        if table is None:
            return None
        if len(table):
            decoded.append((seed_id, table))
    return decoded


def _in_placement_order(
    traces: pymseed.MS3TraceList,
) -> list[tuple[SeedId, int, Any]]:
    """List ``(trace, publication version, libmseed trace)`` of the traces with
    FDSN source identifiers, by trace and then higher versions first."""
    listed = []
    for trace in traces:
        seed_id = _seed_id(trace.sourceid)
        if seed_id is not None:
            listed.append((seed_id, trace.pubversion, trace._id))
    listed.sort(key=lambda item: (str(item[0]), -item[1]))
    return listed


def _trace_table(
    trace_id: Any, pubversion: int, unpack: bool, scratch: _Scratch | None = None
) -> SegmentTable | None:
    """Return the numeric segments of one libmseed trace, in time order.

    With ``unpack``, the segments are unpacked here, into one array when
    they share a sample type, and None means one could not be. With
    ``scratch``, that array is taken from it. The C
    structures are read through cffi directly: pymseed's wrapper objects
    cost several microseconds per segment, which a day of thousands of
    gaps would pay thousands of times.
    """
    listing = _list_segments(trace_id, unpack)
    if listing is None:
        return None
    pointers, sizes, dtypes, rates, starts, counts, bounds = listing

    if unpack:
        pieces = _unpack_segments(trace_id, pointers, sizes, dtypes, scratch)
        if pieces is None:
            return None
    else:
        pieces = [
            _samples(segment, dtype)
            for segment, dtype in zip(pointers, dtypes, strict=True)
        ]

    table = SegmentTable(
        pubversion=pubversion,
        pieces=pieces,
        rates=np.array(rates, dtype=np.float64),
        record_starts=np.array(starts, dtype=np.int64),
        record_counts=np.array(counts, dtype=np.int64),
        record_bounds=np.array(bounds, dtype=np.int64),
    )
    return _in_time_order(table)


_Listing = tuple[
    list[Any], list[int], list[np.dtype], list[float], list[int], list[int], list[int]
]


def _list_segments(trace_id: Any, unpack: bool) -> _Listing | None:
    """Walk a trace's numeric segments: pointers, sizes, sample types, rates,
    and the start time and sample count of each record.

    Text segments and segments without samples are left out. None means a
    segment cannot be unpacked into an array of its own (no record list, an
    unknown encoding, or text records joined with numeric ones).
    """
    pointers: list[Any] = []
    sizes: list[int] = []
    dtypes: list[np.dtype] = []
    rates: list[float] = []
    starts: list[int] = []
    counts: list[int] = []
    bounds = [0]
    null = ffi.NULL
    segment = trace_id.first
    while segment != null:
        records = segment.recordlist
        link = records.first if records != null else null
        first = link.msr if link != null else None
        if unpack:
            if first is None:
                return None
            dtype = _encoding_dtype(first.encoding)
            if dtype is None:
                return None
            if dtype is _TEXT and not _all_text(link):
                # A log record at the data rate, joined with the samples after
                # it. Only libmseed's own unpacking separates the two types.
                return None
            size = segment.samplecnt
        else:
            dtype = _SAMPLE_DTYPES.get(segment.sampletype, _TEXT)
            size = max(int(segment.numsamples), 0)

        # A segment without samples (records some dataloggers write between
        # runs, often at 0 Hz) places nothing, so its rate and time are ignored.
        if dtype is not _TEXT and size > 0:
            if first is not None and link.next == null and first.samplecnt == size:
                # One record, the common case of a gappy day.
                starts.append(first.starttime)
                counts.append(size)
            else:
                _record_anchors(segment, size, starts, counts)
            bounds.append(len(starts))
            pointers.append(segment)
            sizes.append(size)
            dtypes.append(dtype)
            rates.append(segment.samprate)
        segment = segment.next
    return pointers, sizes, dtypes, rates, starts, counts, bounds


def _all_text(link: Any) -> bool:
    """Return whether every record from ``link`` on in a record list is text."""
    while link != ffi.NULL:
        if _encoding_dtype(link.msr.encoding) is not _TEXT:
            return False
        link = link.next
    return True


def _unpack_segments(
    trace_id: Any,
    pointers: list[Any],
    sizes: list[int],
    dtypes: list[np.dtype],
    scratch: _Scratch | None = None,
) -> list[np.ndarray] | None:
    """Unpack each segment's records into one array per segment, or return None.

    Segments of one sample type are unpacked into consecutive parts of one
    array, which saves an allocation per segment. None means libmseed could
    not unpack a segment's records as one type.
    """
    if len(set(dtypes)) > 1:
        pieces = []
        for segment, size, dtype in zip(pointers, sizes, dtypes, strict=True):
            samples = np.empty(size, dtype=dtype)
            if not _unpack_into(trace_id, segment, samples):
                return None
            pieces.append(samples)
        return pieces

    dtype = dtypes[0] if dtypes else np.dtype(np.int32)
    total = sum(sizes)
    if scratch is None:
        buffer = np.empty(total, dtype=dtype)
    else:
        buffer = scratch.take(total, dtype)
    ends = np.cumsum(sizes).tolist()
    base = ffi.cast("char *", ffi.from_buffer(buffer))
    unpack = clibmseed.mstl3_unpack_recordlist
    begin = 0
    pieces = []
    for segment, size, end in zip(pointers, sizes, ends, strict=True):
        if size:
            nbytes = size * dtype.itemsize
            done = unpack(trace_id, segment, base + begin * dtype.itemsize, nbytes, 0)
            if done != size:
                return None
        pieces.append(buffer[begin:end])
        begin = end
    return pieces


def _unpack_into(trace_id: Any, segment: Any, samples: np.ndarray) -> bool:
    """Unpack one segment into ``samples``, returning whether all samples came."""
    if samples.size == 0:
        return True
    unpacked = clibmseed.mstl3_unpack_recordlist(
        trace_id, segment, ffi.from_buffer(samples), samples.nbytes, 0
    )
    return unpacked == samples.size


def _in_time_order(table: SegmentTable) -> SegmentTable:
    """Return the table with its segments sorted by their first record."""
    heads = table.record_starts[table.record_bounds[:-1]]
    if heads.size < 2 or (heads[1:] >= heads[:-1]).all():
        return table
    order = np.argsort(heads, kind="stable").tolist()
    segments = table.segments()
    return SegmentTable.from_segments([segments[i] for i in order])


def _encoding_dtype(encoding: int) -> np.dtype | None:
    """Return the NumPy type of an encoding's samples, ``_TEXT`` for text, or
    None for an encoding libmseed does not know."""
    if not 0 <= encoding <= 255:
        # libmseed gives -1 where a miniSEED 2 record has no Blockette 1000,
        # which names the encoding.
        return None
    if encoding not in _ENCODING_DTYPES:
        size = ffi.new("uint8_t *")
        sampletype = ffi.new("char *")
        known = clibmseed.ms_encoding_sizetype(encoding, size, sampletype) == 0
        dtype = _SAMPLE_DTYPES.get(sampletype[0], _TEXT) if known else None
        _ENCODING_DTYPES[encoding] = dtype
    return _ENCODING_DTYPES[encoding]


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
    left = expected
    add_start, add_count = starts.append, counts.append
    pointer = records.first if expected else ffi.NULL
    # A cffi pointer is false when it is NULL. Each field is read once,
    # because every read through cffi costs as much as a list append.
    while pointer and left:
        record = pointer.msr
        count = record.samplecnt
        add_start(record.starttime)
        add_count(count)
        total += count
        left -= 1
        pointer = pointer.next
    if left or total != size or not expected:
        del starts[mark:], counts[mark:]
        starts.append(segment.starttime)
        counts.append(size)


def _seed_id(sourceid: str) -> SeedId | None:
    try:
        return seed_id_from_sourceid(sourceid)
    except ValueError:
        logger.debug("skipping records with source id %r (not FDSN)", sourceid)
        return None
