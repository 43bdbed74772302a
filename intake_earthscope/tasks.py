"""Dask task functions: fetch one object, decode, place, merge, report.

Every function here is module-level and takes plain, picklable arguments (a
:class:`~intake_earthscope.storage.StorageSpec`, keys, grid indices), so a
graph ships to workers without file objects, clients or credentials.

A chunk is finished from three reads. Its own object gives most samples.
The previous object gives its spill, the records that run past midnight.
The next object gives its backspill, a first sample that rounds onto the
last grid index of the day.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pymseed
from pymseed.clib import clibmseed, ffi

from intake_earthscope.codes import SeedId, record_selection
from intake_earthscope.collection import TIER_DTYPE
from intake_earthscope.decode import (
    check_structure,
    decode_and_place,
    decode_segments,
    intact_records,
)
from intake_earthscope.errors import (
    AccessDeniedError,
    AuthenticationError,
    BucketNotFoundError,
    CredentialsError,
    DecodeError,
    ObjectNotFoundError,
    StorageUnavailableError,
    WebServiceError,
)
from intake_earthscope.outcomes import (
    PendingFailure,
    UnitRead,
    chunk_status,
    failed_unit,
    handle_failure,
    mark_left_out,
    previous_day_error,
    previous_day_source,
    report_day_failure,
    report_neighbour_failure,
    report_no_channel,
    report_rate_mismatch,
    report_unplanned,
    settle_missing,
    settle_missing_and_previous,
    unit_status,
)
from intake_earthscope.place import Edge, Grid, PlacedBlock, merge_edge, rate_fits
from intake_earthscope.recordindex import RecordTable, parse_records
from intake_earthscope.settings import int_setting
from intake_earthscope.storage import (
    StorageSpec,
    object_size,
    read_bytes,
    unexpected_failure,
)
from intake_earthscope.timeutil import format_ns

__all__ = [
    "ChunkResult",
    "LeftOutRecords",
    "NeighbourRead",
    "UnitRead",
    "finish_chunk",
    "read_neighbour",
    "read_unit",
]

logger = logging.getLogger(__name__)

# Objects one process fetches and decodes at once, since each may be 100 MB
# or more. One semaphore per setting value, made when a read first needs it.
DEFAULT_MAX_OBJECTS = 4
_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}

# Records are filed by start time, so the last records of the day before
# contain the first minutes of a day. None reads all of that object; a number reads
# only that many bytes of its end (enough when records are sorted by start time
# and the records of one channel do not overlap).
NEIGHBOUR_BYTES: int | None = None


def object_slots() -> threading.BoundedSemaphore:
    """Return the semaphore that bounds the objects this process reads at once.

    Its size comes from ``INTAKE_EARTHSCOPE_MAX_OBJECTS``, read on each call,
    so an invalid value fails the read that meets it, naming the variable.
    """
    size = int_setting("INTAKE_EARTHSCOPE_MAX_OBJECTS", DEFAULT_MAX_OBJECTS, 1)
    with _slots_lock:
        if size not in _slots:
            _slots[size] = threading.BoundedSemaphore(size)
        return _slots[size]


@dataclass
class LeftOutRecords:
    """Records of the previous day's object that cross midnight into the
    first chunk at a rate that does not fit the grid.

    ``source`` names the object, its tier and the day it was read for, and
    ``rates`` contains the rates left out of each row of ``traces``.
    """

    source: str
    traces: tuple[SeedId, ...]
    rates: list[set[float]]


@dataclass
class NeighbourRead:
    """The samples of the previous day's object for the first chunk.

    ``error`` is the failure that left them out, with its ``status``. The
    chunk task applies the request's ``errors=`` policy to it, and to the
    report of the records in ``left_out``, because the neighbour task does
    not receive the policy.
    """

    edge: Edge
    error: Exception | None = None
    status: str = "ok"
    left_out: LeftOutRecords | None = None


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
    tier: np.ndarray

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
    fallback: StorageSpec | None = None,
) -> UnitRead:
    """Fetch and decode one object onto grid indices ``[lo, hi)``.

    ``key=None`` means a listing already showed that the object is missing.
    ``patterns`` are the request's codes, to report channels that match the
    request but were not planned. ``fallback`` is a web-service tier asked
    for the chunk when the storage denies the object.
    """
    if key is None:
        error = ObjectNotFoundError(_unlisted_message(spec, traces, grid, lo))
        return _missing(error, errors, traces, lo, hi, None, spec)

    served_by = spec
    try:
        with object_slots():
            data, served_by = _fetch_with_fallback(
                spec, fallback, key, traces, grid, lo, hi
            )
            block, state, data = _decode(
                data, traces, grid, lo, hi, rate_tolerance, patterns
            )
    except ObjectNotFoundError as error:
        return _missing(error, errors, traces, lo, hi, key, served_by)
    except AuthenticationError:
        # Without a usable token no chunk can be read: no policy hides that.
        raise
    except _READ_FAILURES as error:
        failure, outcome = _read_failure(error, served_by, key)
        return _failure(failure, errors, traces, lo, hi, key, outcome, served_by)

    spill_left_out: list[set[float]] = []
    if served_by.protocol == "fdsn":
        # Each chunk's query returns the records that cross into it.
        block.spill = Edge.empty(len(traces), hi)
        block.backspill = Edge.empty(len(traces), lo)
    else:
        reach = (hi, hi + grid.samples_per_day)
        spill_left_out = _reaching_left_out(
            block, data, traces, grid, rate_tolerance, reach
        )

    status = unit_status(block, state)
    if "no_matching_channel" in status:
        report_no_channel(traces, status, key, errors)
    if block.unplanned:
        report_unplanned(block.unplanned, key, errors)
    if "rate_mismatch" in status:
        report_rate_mismatch(traces, block.mismatched_rates, key, grid, errors)
    if state != "ok":
        logger.info("%s is %s; its intact records were read", key, state)
    return UnitRead(
        block=block,
        status=status,
        key=key,
        tier=served_by.outcome_tier,
        errors=errors,
        from_service=served_by.protocol == "fdsn",
        spill_left_out=spill_left_out,
    )


def read_neighbour(
    spec: StorageSpec,
    key: str | None,
    traces: Sequence[SeedId],
    grid: Grid,
    hi: int,
    rate_tolerance: float,
    tail_bytes: int | None = NEIGHBOUR_BYTES,
) -> NeighbourRead:
    """Read the samples the previous day's object contains for ``[0, hi)``.

    The object's records are placed on a block that ends at grid index 0,
    so that their samples from index 0 on form the block's spill. That
    spill carries their time offset and largest shift, as the spill of a
    chunk does.

    With ``tail_bytes`` only the end of the object is read first, and all of
    it when that end lacks a trace. A missing neighbour is no error, since
    the first day of an archive has none. Any other failure is returned
    with empty samples, for :func:`finish_chunk` to report. So are the
    records that reach ``[0, hi)`` at a rate that does not fit the grid.
    """
    empty = Edge.empty(len(traces), 0)
    if key is None or spec.protocol == "fdsn" or tail_bytes == 0:
        # A web-service query of the first day already returns the records
        # that start the day before and cross midnight.
        return NeighbourRead(empty)

    try:
        with object_slots():
            block, data = _neighbour_block(
                spec, key, traces, grid, rate_tolerance, tail_bytes
            )
    except ObjectNotFoundError as error:
        logger.debug("neighbour %s not used: %s", key, error)
        return NeighbourRead(empty)
    except AuthenticationError:
        # Without a usable token no object can be read, so read_unit raises
        # this too.
        raise
    except _READ_FAILURES as error:
        failure, status = _read_failure(error, spec, key)
        logger.debug("neighbour %s not used: %s", key, failure)
        hint = "; neighbour_bytes=0 skips that read"
        reported = previous_day_error(failure, key, spec.origin, grid.start_ns, hint)
        return NeighbourRead(empty, reported, status)

    edge = _first_columns(block.spill, hi)
    rates = _reaching_left_out(block, data, traces, grid, rate_tolerance, (0, hi))
    if not any(rates):
        return NeighbourRead(edge)
    source = previous_day_source(key, spec.origin, grid.start_ns)
    return NeighbourRead(edge, left_out=LeftOutRecords(source, tuple(traces), rates))


def finish_chunk(
    unit: UnitRead,
    previous: NeighbourRead | Edge | UnitRead | None,
    following: UnitRead | None,
    grid: Grid,
) -> ChunkResult:
    """Merge the neighbours' edge samples into a unit's block; compute outcomes.

    A failed read of the previous day's object (a :class:`NeighbourRead`
    with an error) is reported under the unit's ``errors=`` policy. Where
    the unit's own object is missing too and traces lack samples, the two
    failures are reported together, as :func:`settle_missing_and_previous`
    describes. Where it failed in another way under ``errors="raise"`` or
    ``"warn"``, one error or warning names both objects (see
    :func:`report_day_failure`).

    Records of the previous object may cross midnight into the chunk at a
    rate that does not fit the grid. Their traces get the status
    ``rate_mismatch``, as for such records of the unit's own object, unless
    the status is a failure (see :func:`mark_left_out`). Those records of a
    :class:`NeighbourRead` are reported here under the ``errors=`` policy.
    """
    block = unit.block
    neighbour = None
    left_out: list[set[float]] = []
    if isinstance(previous, NeighbourRead):
        neighbour = previous
        merge_edge(block, previous.edge)
        left_out = _report_left_out(previous.left_out, unit, grid)
    elif isinstance(previous, UnitRead):
        merge_edge(block, previous.block.spill)
        left_out = previous.spill_left_out
    elif previous is not None:
        merge_edge(block, previous)
    if following is not None:
        merge_edge(block, following.block.backspill)
    if left_out:
        # header_rate shows a left-out rate where no record was placed.
        for skipped, rates in zip(block.mismatched_rates, left_out, strict=True):
            skipped |= rates

    width = block.hi - block.lo
    data = block.data[:, :width]
    # The block counts what it wrote, so only the gap count needs a pass
    # over the samples.
    status = chunk_status(unit.status, block.written > 0)
    complete = block.written >= width
    status = _settle_failures(status, complete, unit, neighbour, grid)
    status = mark_left_out(status, left_out)
    valid_fraction = block.written / width if width else np.zeros(len(status))
    return ChunkResult(
        waveform=data,
        status=status,
        valid_fraction=valid_fraction,
        gap_count=_gap_runs(data, complete),
        overlap_count=block.overlaps.copy(),
        conflict_count=block.conflicts.copy(),
        time_offset=block.first_offset.copy(),
        # No shift is measured where no sample was placed, as no time offset.
        max_shift=np.where(block.written > 0, block.max_shift, np.nan),
        header_rate=np.array(
            [
                _header_rate(placed or skipped)
                for placed, skipped in zip(
                    block.header_rates, block.mismatched_rates, strict=True
                )
            ]
        ),
        tier=np.array([unit.tier] * len(status), dtype=TIER_DTYPE),
    )


def _decode(
    data: bytes | bytearray,
    traces: Sequence[SeedId],
    grid: Grid,
    lo: int,
    hi: int,
    rate_tolerance: float,
    patterns: Mapping[str, Sequence[str]] | None,
) -> tuple[PlacedBlock, str, bytes | bytearray]:
    """Decode an object onto ``[lo, hi)`` and return the block, the object's
    state and the records that were decoded."""
    if not data:
        raise DecodeError("empty object (0 bytes)")

    state, offset = check_structure(data)
    if state == "not_miniseed":
        raise DecodeError(f"invalid miniSEED: no record starts at byte {offset}")
    if state == "damaged":
        data = intact_records(data)
    try:
        block = decode_and_place(
            data, traces, grid, lo, hi, rate_tolerance, patterns=patterns
        )
    except DecodeError as error:
        # libmseed rejects the whole buffer for one bad record (a failed
        # miniSEED 3 CRC, for one), so decode the records that pass alone.
        data, dropped = _decodable_records(data)
        if not dropped or not data:
            raise
        logger.debug("dropped %d undecodable records: %s", dropped, error)
        block = decode_and_place(
            data, traces, grid, lo, hi, rate_tolerance, patterns=patterns
        )
        state = "damaged" if state == "ok" else state
    return block, state, data


def _decodable_records(data: bytes | bytearray) -> tuple[bytes, int]:
    """Return the records that decode on their own, and the count of others.

    Stops at the first bytes that do not start a record with a known length
    (a miniSEED 2 record without blockette 1000), and counts them as one.
    """
    buffer = ffi.from_buffer(data)
    version = ffi.new("uint8_t *")
    decodable: list[bytes | bytearray] = []
    dropped, offset, size = 0, 0, len(data)
    while offset < size:
        length = clibmseed.ms3_detect(buffer + offset, size - offset, version)
        if length <= 0 or offset + length > size:
            dropped += 1
            break
        record = data[offset : offset + length]
        try:
            with decode_segments(record, "*"):
                decodable.append(record)
        except DecodeError:
            dropped += 1
        offset += length
    return b"".join(decodable), dropped


def _neighbour_block(
    spec: StorageSpec,
    key: str,
    traces: Sequence[SeedId],
    grid: Grid,
    rate_tolerance: float,
    tail_bytes: int | None,
) -> tuple[PlacedBlock, bytes | bytearray]:
    """Place the records of the previous day's object on a block that ends at
    grid index 0, so that its spill contains their samples from index 0 on.

    Returns the block and the records it was decoded from, or the whole
    object where they are a part of it.
    """
    if tail_bytes is not None:
        size = object_size(spec, key)
        if size > tail_bytes:
            data = _whole_records(read_bytes(spec, key, size - tail_bytes, size))
            block = _tail_block(data, traces, grid, rate_tolerance)
            if block is not None:
                return block, data
            logger.debug("end of %s lacks a trace; reading all of it", key)
    data = read_bytes(spec, key)
    block = _crossing_block(data, traces, grid, rate_tolerance)
    if block is not None:
        return block, data

    # The same checks as for a day's own object, so that the intact records
    # of a truncated or damaged neighbour are used and not reported as failed.
    lo, hi = _day_before(grid)
    block, state, data = _decode(data, traces, grid, lo, hi, rate_tolerance, None)
    if state != "ok":
        logger.info("neighbour %s is %s; its intact records were read", key, state)
    return block, data


def _crossing_block(
    data: bytes | bytearray, traces: Sequence[SeedId], grid: Grid, rate_tolerance: float
) -> PlacedBlock | None:
    """Decode only the records of ``data`` that reach grid index 0.

    Only they can place samples in the chunk, so the rest of the previous
    day is neither decoded nor given a block. The block covers the one
    index before the grid start.

    Returns None, so that the whole day is decoded instead, in three cases.
    The record headers may not run from the first byte to the last without
    a break (a damaged or truncated object, or miniSEED 2 without Blockette
    1000). libmseed may reject the records. Or the records alone may be
    placed otherwise than within the whole day (see :func:`_placed_alike`).
    """
    table = parse_records(data, synced=True)
    if not len(table) or int(table.offsets[-1] + table.lengths[-1]) != len(data):
        return None
    if int(table.lengths.sum()) != len(data):
        return None

    threshold = _reaching_threshold(grid)
    reaching = np.flatnonzero(table.ends >= threshold)
    if not reaching.size:
        return PlacedBlock.empty(len(traces), -1, 0)
    records = b"".join(
        data[int(table.offsets[row]) : int(table.offsets[row] + table.lengths[row])]
        for row in reaching.tolist()
    )
    headers = table.take(reaching)
    if not _placed_alike(data, records, headers, traces, grid, threshold):
        return None
    try:
        return decode_and_place(records, traces, grid, -1, 0, rate_tolerance)
    except DecodeError:
        return None


def _placed_alike(
    data: bytes | bytearray,
    records: bytes,
    headers: RecordTable,
    traces: Sequence[SeedId],
    grid: Grid,
    threshold: int,
) -> bool:
    """Return whether the records of ``data`` in ``headers``, joined as
    ``records``, place their samples as the whole of ``data`` places them.

    ``headers`` lists the records that end at or after ``threshold``.

    Placement runs per libmseed segment. It times every sample at the
    segment's rate, the rate of its first record, and it anchors a run of
    records at the segment's first record. Where two segments overlap, the
    one that starts first wins. So the last records of a segment, decoded
    alone, are placed alike only under two conditions. Each segment that
    reaches the threshold must end in the same records either way, with
    the same rate and in the same order. And no record may start halfway
    between two grid indices, because rounding half to even may then
    anchor it on either side.
    """
    if _on_half_steps(headers.starts, grid):
        logger.debug("records start halfway between grid indices")
        return False

    selection = record_selection(traces)
    whole = _reaching_segments(data, selection, threshold)
    positions = np.cumsum(headers.lengths) - headers.lengths
    alone = _reaching_segments(
        records, selection, threshold, positions, headers.offsets
    )
    if whole is None or whole != alone:
        logger.debug("records that reach the chunk form other segments alone")
        return False
    return True


def _reaching_left_out(
    block: PlacedBlock,
    data: bytes | bytearray,
    traces: Sequence[SeedId],
    grid: Grid,
    rate_tolerance: float,
    reach: tuple[int, int],
) -> list[set[float]]:
    """Return, per trace, the rates of the segments of ``data`` that ``block``
    left out because their rate does not fit the grid, and that reach grid
    indices ``reach = (start, stop)``.

    A segment reaches them where its first and last sample, rounded to the
    nearest grid index as placement rounds, span one of them. ``block`` was
    decoded from ``data``. It may cover more than ``reach`` does, so its
    ``mismatched_rates`` alone do not tell which records reach it.
    """
    left_out: list[set[float]] = [set() for _ in traces]
    if not block.rate_mismatch.any():
        return left_out

    spans = _segment_spans(data, traces)
    if spans is None:
        # NOTE: this reports every rate the block left out, also that of
        # records that do not reach the indices.
        logger.debug("libmseed rejected the record headers: reporting every rate")
        return [set(rates) for rates in block.mismatched_rates]
    start, stop = reach
    for row, rate, first_ns, last_ns in spans:
        if rate_fits(rate, grid, rate_tolerance):
            continue
        first, last = grid.position(first_ns), grid.position(last_ns)
        if last >= start - 0.5 and first < stop - 0.5:
            left_out[row].add(rate)
    return left_out


def _segment_spans(
    data: bytes | bytearray, traces: Sequence[SeedId]
) -> list[tuple[int, float, int, int]] | None:
    """List the segments of ``traces`` in ``data`` from their record headers,
    as (row, rate, time of the first sample, time of the last sample).

    Returns None where libmseed rejects the records.
    """
    rows = {trace.sourceid: row for row, trace in enumerate(traces)}
    try:
        listed = pymseed.MS3TraceList.from_buffer(
            data, unpack_data=False, sourceid=record_selection(traces)
        )
    except pymseed.MiniSEEDError:
        return None

    spans = []
    with listed:
        for trace in listed:
            row = rows.get(trace.sourceid)
            if row is None:
                continue
            for segment in trace:
                times = (segment.starttime, segment.endtime)
                spans.append((row, segment.samprate, *times))
    return spans


def _reaching_threshold(grid: Grid) -> int:
    """Return the time at or after which a record's last sample may land on
    grid index 0 or later, in nanoseconds."""
    # A sample up to half a step before the grid start lands on index 0, so
    # records that end a whole step before it are kept as well.
    return grid.start_ns - int(np.ceil(grid.step_ns))


def _reaching_starts(data: bytes | bytearray, grid: Grid) -> np.ndarray:
    """Return the start times of the records of ``data`` that reach grid index 0."""
    table = parse_records(data, synced=True)
    return table.starts[table.ends >= _reaching_threshold(grid)]


def _on_half_steps(starts: np.ndarray, grid: Grid) -> bool:
    """Return whether a time of ``starts`` lies halfway between grid indices,
    within a millionth of a step."""
    positions = (starts - grid.start_ns) / grid.step_ns
    return bool((np.abs(positions - np.floor(positions) - 0.5) < 1e-6).any())


# One libmseed segment: (source identifier, publication version, byte
# offset of its last record, sampling rate).
_SegmentEnd = tuple[str, int, int, float]


def _reaching_segments(
    data: bytes | bytearray,
    selection: str,
    threshold: int,
    positions: np.ndarray | None = None,
    offsets: np.ndarray | None = None,
) -> list[_SegmentEnd] | None:
    """List the segments of ``data`` whose last sample is at or after
    ``threshold``, by trace and in the order placement takes them.

    Records at byte ``positions[i]`` of ``data`` are named by
    ``offsets[i]`` (their offsets in the object they were cut from).
    Returns None where libmseed rejects the records.
    """
    try:
        listed = pymseed.MS3TraceList.from_buffer(
            data,
            unpack_data=False,
            record_list=True,
            sourceid=selection,
            split_version=True,
        )
    except pymseed.MiniSEEDError:
        return None

    origin = ffi.cast("const char *", ffi.from_buffer(data))
    rename = None
    if positions is not None and offsets is not None:
        rename = dict(zip(positions.tolist(), offsets.tolist(), strict=True))
    ends: list[_SegmentEnd] = []
    with listed:
        for trace in listed:
            segments = _segment_ends(trace._id, origin, threshold)
            if segments is None:
                return None
            for offset, rate in segments:
                name = rename.get(offset, -1) if rename is not None else offset
                ends.append((trace.sourceid, trace.pubversion, name, rate))
    return sorted(ends, key=lambda end: (end[0], -end[1]))


def _segment_ends(
    trace_id: Any, origin: Any, threshold: int
) -> list[tuple[int, float]] | None:
    """Return the last record's offset and the rate of each segment of a
    libmseed trace that ends at or after ``threshold``, ordered by start
    time as placement orders them. None means a segment lacks its records.
    """
    found = []
    segment = trace_id.first
    while segment != ffi.NULL:
        records = segment.recordlist
        if records == ffi.NULL or records.last == ffi.NULL:
            return None
        if segment.endtime >= threshold:
            offset = int(records.last.bufferptr - origin)
            found.append((int(segment.starttime), offset, float(segment.samprate)))
        segment = segment.next
    found.sort(key=lambda item: item[0])
    return [(offset, rate) for _, offset, rate in found]


# Failures of a read that the errors= policy may pass over, with a status.
_READ_FAILURES = (
    AccessDeniedError,
    CredentialsError,
    StorageUnavailableError,
    WebServiceError,
    OSError,
    DecodeError,
)


def _read_failure(
    error: OSError | DecodeError, spec: StorageSpec, key: str
) -> tuple[Exception, str]:
    """Return the error to report for a failed read of ``key``, and its status."""
    if isinstance(error, BucketNotFoundError):
        # Its objects do not exist, and no retry or network fix reads them.
        return error, "missing"
    if isinstance(error, AccessDeniedError | CredentialsError):
        return error, "access_denied"
    if isinstance(error, StorageUnavailableError | WebServiceError):
        return error, "unreachable"
    if isinstance(error, DecodeError):
        # Decode errors do not name the object, unlike the storage's errors.
        return DecodeError(f"{error} in {spec.url(key)}"), "unreadable"
    # Any other error of the storage, such as a 400 response, is a read error
    # too, and it is not retried.
    return unexpected_failure(spec, key, error), "unreachable"


def _whole_records(data: bytes | bytearray) -> bytes | bytearray:
    """Return the records of ``data`` that it contains whole.

    A read of an object's end starts inside a record unless the byte count
    is a multiple of the record length, and libmseed rejects a buffer that
    starts with part of a record.

    Returns ``b""`` unless the records run to the end of ``data`` without a
    break. A damaged header or a record cut by a truncation stops the walk,
    and the records after it may be the ones that cross midnight.
    """
    table = parse_records(data)
    if not len(table):
        return b""

    first = int(table.offsets[0])
    end = int(table.offsets[-1] + table.lengths[-1])
    if end != len(data):
        return b""
    return data[first:end]


def _day_before(grid: Grid) -> tuple[int, int]:
    """Return the grid indices of the day before index 0, as ``(lo, hi)``."""
    return -grid.samples_per_day, 0


def _first_columns(edge: Edge, stop: int) -> Edge:
    """Return the columns of ``edge`` before grid index ``stop``."""
    width = max(stop - edge.start, 0)
    if edge.data.shape[1] <= width:
        return edge
    return replace(edge, data=edge.data[:, :width])


def _tail_block(
    data: bytes | bytearray,
    traces: Sequence[SeedId],
    grid: Grid,
    rate_tolerance: float,
) -> PlacedBlock | None:
    """Decode the records of an object's end, or return None when they may
    leave out samples after grid index 0 that the whole object contains.

    Each trace needs a sample before the grid start in the tail, because a
    record of the trace that crosses midnight can lie before the tail when
    the object runs on past midnight. A damaged record is left to the read
    of the whole object, which decodes the records around it, and so are
    records that start halfway between grid indices, which the whole day's
    segment may anchor on the other side.

    NOTE: records sorted by start time that overlap can defeat this check.
    An earlier record before the tail may run past midnight beyond a later
    record that the tail has, and its samples after the later one's end are
    then left out. Nothing in the tail shows that record. Nor does the tail
    show the rate of a segment that starts before it, at which the whole
    day's decode times the tail's records.
    """
    if not data:
        return None
    if _on_half_steps(_reaching_starts(data, grid), grid):
        return None
    try:
        block = decode_and_place(
            data, traces, grid, -1, 0, rate_tolerance, skip_not_data=True
        )
    except DecodeError:
        return None

    # The block covers the index before the grid start, and its backspill
    # the day before that.
    before = block.backspill.data
    earlier = ~np.isnan(before).all(axis=1) if before.shape[1] else False
    if not (block.found & ((block.written > 0) | earlier)).all():
        return None
    return block


def _settle_failures(
    status: np.ndarray,
    complete: np.ndarray,
    unit: UnitRead,
    neighbour: NeighbourRead | None,
    grid: Grid,
) -> np.ndarray:
    """Apply the ``errors=`` policy to the unit's missing object and to a
    failed read of the previous day's object; return the settled statuses."""
    previous = _previous_failure(neighbour, unit)
    own = unit.pending
    if own is not None and own.status != "missing":
        # Only errors="raise" and "warn" leave a failure other than a missing
        # object to this task.
        report_day_failure(own, previous, _day_of(grid, unit.block.lo))
        return status
    if previous is None:
        return settle_missing(status, complete, own)
    if own is None:
        # A failed unit's message is its object's error.
        own_failed = bool(unit.message)
        report_neighbour_failure(
            previous.error, previous.errors, previous.status, own_failed
        )
        return status

    day = _day_of(grid, unit.block.lo)
    return settle_missing_and_previous(status, complete, own, previous, day)


def _report_left_out(
    left_out: LeftOutRecords | None, unit: UnitRead, grid: Grid
) -> list[set[float]]:
    """Report the previous object's records in ``left_out`` under the unit's
    ``errors=`` policy; return their rates per trace.

    A web service's response for the unit contains those records, and the
    unit's read reported them already, so they are not reported again.
    """
    if left_out is None or unit.from_service:
        return []
    source, errors = left_out.source, unit.errors
    report_rate_mismatch(left_out.traces, left_out.rates, source, grid, errors)
    return left_out.rates


def _previous_failure(
    neighbour: NeighbourRead | None, unit: UnitRead
) -> PendingFailure | None:
    """Return the failed read of the previous day's object, unless the unit
    came from a web service whose query already returned its records."""
    if neighbour is None or neighbour.error is None:
        return None
    if unit.from_service:
        logger.debug(
            "%s returned the records of the day before: %s", unit.tier, neighbour.error
        )
        return None
    return PendingFailure(neighbour.error, unit.errors, neighbour.status)


def _day_of(grid: Grid, lo: int) -> str:
    """Return the UTC date of grid index ``lo`` as ``YYYY-MM-DD``."""
    return format_ns(grid.start_ns + int(np.ceil(lo * grid.step_ns)))[:10]


def _fetch_with_fallback(
    spec: StorageSpec,
    fallback: StorageSpec | None,
    key: str,
    traces: Sequence[SeedId],
    grid: Grid,
    lo: int,
    hi: int,
) -> tuple[bytes | bytearray, StorageSpec]:
    """Fetch from the storage, or from the fallback service when access is denied."""
    try:
        return _fetch(spec, key, traces, grid, lo, hi), spec
    except AccessDeniedError as error:
        if fallback is None:
            raise
        logger.info("%s; asking %s instead", error, fallback.tier)
        return _fetch(fallback, key, traces, grid, lo, hi), fallback


def _fetch(
    spec: StorageSpec,
    key: str,
    traces: Sequence[SeedId],
    grid: Grid,
    lo: int,
    hi: int,
) -> bytes | bytearray:
    """Fetch an object, or query a web service for the chunk's time window."""
    if spec.protocol != "fdsn":
        return read_bytes(spec, key)

    from intake_earthscope.fdsn import fdsn_dataselect
    from intake_earthscope.webservices import redacted_url

    start_ns = grid.start_ns + int(np.floor(lo * grid.step_ns))
    end_ns = grid.start_ns + int(np.ceil(hi * grid.step_ns))
    service = spec.web_spec()
    data = fdsn_dataselect(service, traces, start_ns, end_ns)
    if data is None:
        # The message names the channels and the window, because Python's
        # default warning filter shows a repeated text only once.
        codes = ", ".join(str(trace) for trace in traces)
        raise ObjectNotFoundError(
            f"{redacted_url(service.base_url)} has no data for {codes} from "
            f"{format_ns(start_ns)} to {format_ns(end_ns)}"
        )
    return data


def _missing(
    error: ObjectNotFoundError,
    errors: str,
    traces: Sequence[SeedId],
    lo: int,
    hi: int,
    key: str | None,
    spec: StorageSpec,
) -> UnitRead:
    """Return an empty unit for a missing object and leave its policy to
    :func:`finish_chunk`, because the neighbouring objects may contain all
    of its samples."""
    unit = failed_unit(
        traces, lo, hi, key, "missing", str(error), spec.outcome_tier, errors
    )
    unit.pending = PendingFailure(error, errors, "missing")
    return unit


def _unlisted_message(
    spec: StorageSpec, traces: Sequence[SeedId], grid: Grid, lo: int
) -> str:
    """Name the station and day of an object that the listing lacks."""
    # One text for every day would be shown once under errors="warn", because
    # Python's default warning filter shows a repeated text only once.
    stations = ", ".join(sorted({f"{t.network}.{t.station}" for t in traces}))
    day = _day_of(grid, lo)
    return (
        f"object of {stations} for {day} not in the listing of {spec.describe_origin()}"
    )


def _failure(
    error: Exception,
    errors: str,
    traces: Sequence[SeedId],
    lo: int,
    hi: int,
    key: str,
    status: str,
    served_by: StorageSpec,
) -> UnitRead:
    """Return an empty unit for a failed read and apply its ``errors=`` policy.

    Under ``errors="raise"`` and ``"warn"`` the error is left to
    :func:`finish_chunk`, which also has the read of the previous day's
    object and names both objects where both failed.
    """
    if errors == "ignore":
        return handle_failure(
            error, errors, traces, lo, hi, key, status, served_by.outcome_tier
        )
    message = str(error)
    tier = served_by.outcome_tier
    unit = failed_unit(traces, lo, hi, key, status, message, tier, errors)
    unit.pending = PendingFailure(error, errors, status)
    return unit


def _gap_runs(data: np.ndarray, complete: np.ndarray | None = None) -> np.ndarray:
    """Count runs of missing samples per row (leading, inner and trailing).

    Rows flagged in ``complete`` had a sample written at every index, so
    they have no run and are not scanned.
    """
    runs = np.zeros(data.shape[0], dtype=np.int64)
    if data.shape[1] == 0:
        return runs
    scan = np.arange(data.shape[0])
    if complete is not None:
        scan = scan[~complete]

    # A run starts where a sample is missing and the one before is not.
    for row in scan.tolist():
        missing = np.isnan(data[row])
        if missing.any():
            runs[row] = int(missing[0]) + np.count_nonzero(missing[1:] > missing[:-1])
    return runs


def _header_rate(rates: set[float]) -> float:
    # The first rate in sorted order, so one grid-rate segment is reported
    # even where another segment was skipped for its rate.
    return float(sorted(rates)[0]) if rates else np.nan
