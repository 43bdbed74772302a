"""Find and fetch the records of short time windows with ranged reads.

Records of one channel sit in time order within an object, while the
records of different channels may interleave in any way and differ in
length. For each window and channel the reader keeps a bracket of byte
offsets that must contain every record of the channel in the window. The
bracket starts after the last known record of the channel that ends before
the window, and stops at the first known record of the channel that starts
after it. Known records come from the object's record index
(:mod:`intake_earthscope.recordindex`) and from every range read so far.

While part of a bracket is unknown, the reader reads more of it. A small
unknown stretch is read whole. A large one is read, with some slack, around
the offset that a linear time-to-offset guess (an interpolation search)
points at. Reads of all windows of one object are merged where they lie
closer than :data:`COALESCE_BYTES` and run concurrently. With a complete
index, only the records that overlap the windows are read.

Where the layout defeats the search (records of a channel out of time
order, headers that cannot be parsed, no progress), the object is read
whole, indexed and the outcome's ``read_mode`` is ``whole_object``.
"""

from __future__ import annotations

import bisect
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
from pymseed.clib import clibmseed, ffi

from intake_earthscope.codes import SeedId
from intake_earthscope.decode import check_structure, decode_and_place, intact_records
from intake_earthscope.errors import (
    AccessDeniedError,
    AuthenticationError,
    CredentialsError,
    DecodeError,
    ObjectNotFoundError,
    StorageUnavailableError,
)
from intake_earthscope.outcomes import UnitRead, handle_failure, unit_status
from intake_earthscope.place import Grid
from intake_earthscope.recordindex import (
    ObjectIndex,
    RecordTable,
    drop_index,
    load_index,
    parse_records,
    store_index,
)
from intake_earthscope.settings import int_setting
from intake_earthscope.storage import StorageSpec, object_size, read_bytes
from intake_earthscope.tasks import ChunkResult, _decodable_records, finish_chunk
from intake_earthscope.timeutil import NS_PER_DAY, format_ns

__all__ = [
    "COALESCE_BYTES",
    "OUTCOME_FIELDS",
    "SPILL_NS",
    "BatchObject",
    "ObjectWindows",
    "RangedObject",
    "WindowBatch",
    "index_object",
    "object_version",
    "read_window_batch",
]

logger = logging.getLogger(__name__)

# Ranges closer than this are read as one: on object stores a request costs
# about as much as reading a few hundred KiB (an estimate, not measured on
# EarthScope's buckets).
COALESCE_BYTES = int_setting("INTAKE_EARTHSCOPE_COALESCE_BYTES", 64 * 1024, 0)

# Unknown stretches up to this size are read whole instead of guessed into.
SMALL_GAP_BYTES = 32 * 1024

# Minimum slack read on each side of a guessed range.
GUESS_SLACK_BYTES = 16 * 1024

# Rounds of reads before the search gives up and reads the object whole.
MAX_ROUNDS = 24

READ_THREADS = 8

# Outcome variables of a window and trace, as in the waveform dataset.
OUTCOME_FIELDS = (
    "status",
    "valid_fraction",
    "gap_count",
    "overlap_count",
    "conflict_count",
    "time_offset",
    "max_shift",
    "header_rate",
    "tier",
)

# Records are filed under the day they start, so the last record of the day
# before may cross into a window that starts after midnight. Windows that
# start less than this after midnight also search the previous day's object.
# NOTE: one hour covers 4096-byte records of 1 Hz channels; a record that
# starts earlier and still reaches past midnight would be missed.
SPILL_NS = 3600 * 1_000_000_000


class LayoutError(Exception):
    """The object's layout defeats the ranged search (internal signal)."""


@dataclass(frozen=True)
class ObjectWindows:
    """Times one object must supply: per window ``[start_ns, end_ns]`` inclusive."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]


class RangedObject:
    """The records of one object that a batch of windows reads.

    Parameters
    ----------
    spec : StorageSpec
        Where the object lives.
    key : str
        Object key.
    day_ns : int
        Start of the UTC day of the object (the first guess of where a
        time sits in it).
    sources : sequence of str
        FDSN source identifiers of the wanted channels.
    """

    def __init__(
        self, spec: StorageSpec, key: str, day_ns: int, sources: Sequence[str]
    ) -> None:
        self.spec = spec
        self.key = key
        self.url = spec.url(key)
        self.day_ns = day_ns
        self.sources = tuple(sources)
        self.read_mode = "ranged"
        self.state = "ok"
        self.bytes_read = 0
        self._chunks: list[tuple[int, bytes]] = []
        self._whole: bytes | None = None
        self._masks: tuple[RecordTable, dict[str, np.ndarray]] | None = None

        size = object_size(spec, key)
        self.version = object_version(spec, key)
        self.index = load_index(self.url, size, self.version) or ObjectIndex(
            size, RecordTable.empty()
        )

    def records_for(self, windows: ObjectWindows) -> list[bytes]:
        """Return, per window, the bytes of the wanted records that overlap it.

        Raises
        ------
        ObjectNotFoundError, AccessDeniedError, StorageUnavailableError
            From the reads.
        DecodeError
            If the object is not miniSEED.
        """
        try:
            rows = self._search(windows)
        except LayoutError as reason:
            logger.info("reading %s whole: %s", self.url, reason)
            self.read_whole()
            rows = self._search(windows)
        unseen = sorted(set(self.sources) - self.seen_sources())
        if unseen and not self.index.complete:
            # The channel may sit in a block the bracket never reached; only
            # the whole object may tell that it is not there.
            logger.info("reading %s whole: %s not seen", self.url, ", ".join(unseen))
            self.read_whole()
            rows = self._search(windows)
        try:
            return [self._bytes_of(selected) for selected in rows]
        except LayoutError as reason:
            logger.info("reading %s whole: %s", self.url, reason)
            self.read_whole()
            return [self._bytes_of(selected) for selected in self._search(windows)]

    def seen_sources(self) -> set[str]:
        """Return the source identifiers of every record known in the object."""
        return set(self.index.records.sources.tolist())

    def _search(self, windows: ObjectWindows) -> list[np.ndarray]:
        if not self.index.size and self._whole is None:
            # A whole read shows whether the object is empty or the size wrong.
            raise LayoutError("the storage reports 0 bytes")
        if not len(self.index.records) and self.index.size:
            # The first records tell the channels' record spans, which the
            # guesses of every window then allow for.
            self._fetch([(0, min(self.index.size, SMALL_GAP_BYTES))])
        for _ in range(MAX_ROUNDS):
            ranges = []
            for start, end in zip(windows.starts, windows.ends, strict=True):
                ranges += self._needed_ranges(start, end)
            if not ranges:
                return [
                    self._overlapping(start, end)
                    for start, end in zip(windows.starts, windows.ends, strict=True)
                ]
            unread = [span for span in ranges if not self._has_span(*span)]
            if not unread:
                raise LayoutError("bytes in the search range are not miniSEED records")
            self._fetch(_coalesce(unread))
        raise LayoutError(f"no bracket after {MAX_ROUNDS} rounds of reads")

    def _needed_ranges(self, start: int, end: int) -> list[tuple[int, int]]:
        """List the byte ranges to read before the window's records are known."""
        table = self.index.records
        rows = self._overlapping(start, end)
        missing = [
            (offset, offset + length)
            for offset, length in zip(
                table.offsets[rows].tolist(), table.lengths[rows].tolist(), strict=True
            )
            if not self._has_bytes(offset, length)
        ]
        if self.index.complete:
            return missing

        ranges = missing
        for source in self.sources:
            mask = self._anchor_mask(source)
            low, high = _bracket(table, mask, start, end, self.index.size)
            for gap_start, gap_end in _uncovered(table, low, high):
                if gap_end - gap_start <= SMALL_GAP_BYTES:
                    ranges.append((gap_start, gap_end))
                else:
                    ranges.append(self._guess(gap_start, gap_end, start, end, mask))
        return ranges

    def _anchor_mask(self, source: str) -> np.ndarray:
        """Select the records whose times bound the channel's records.

        A channel not seen yet is bracketed by the other wanted channels, or
        by every record when none of them was seen: this assumes that the
        object's records are sorted by time across channels.
        """
        masks = self._source_masks()
        if masks[source].any():
            return masks[source]
        # In an object whose channels follow one another in blocks, an
        # unseen channel's block may lie outside this bracket: records_for
        # then reads the object whole.
        wanted = masks[""]
        return wanted if wanted.any() else np.ones(wanted.size, dtype=bool)

    def _source_masks(self) -> dict[str, np.ndarray]:
        """Return the rows of each wanted source, and of all of them under ``""``."""
        table = self.index.records
        if self._masks is None or self._masks[0] is not table:
            masks = {source: table.sources == source for source in self.sources}
            masks[""] = np.logical_or.reduce(
                [np.zeros(len(table), dtype=bool), *masks.values()]
            )
            self._masks = (table, masks)
        return self._masks[1]

    def _guess(
        self, gap_start: int, gap_end: int, start: int, end: int, mask: np.ndarray
    ) -> tuple[int, int]:
        """Return the range of an unknown stretch that likely contains the window."""
        table = self.index.records
        before = mask & (table.offsets < gap_start)
        after = mask & (table.offsets >= gap_end)
        # Anchors (offset, time): the known records next to the stretch, or
        # else the ends of the object and of its day.
        low_anchor = (0, self.day_ns)
        if before.any():
            low_anchor = (gap_start, int(table.ends[before].max()))
        high_anchor = (gap_end, int(table.starts[after].min()) if after.any() else 0)
        if not after.any():
            high_anchor = (self.index.size, self.day_ns + NS_PER_DAY)

        if high_anchor[1] <= low_anchor[1]:
            middle = gap_start + (gap_end - gap_start) // 2
            return middle, min(gap_end, middle + SMALL_GAP_BYTES)

        # Records sit by start time, so the record of the channel that ends
        # before the window starts up to two record spans earlier.
        spans = (table.ends - table.starts)[mask]
        record_span = int(spans.max()) if spans.size else 0
        per_ns = (high_anchor[0] - low_anchor[0]) / (high_anchor[1] - low_anchor[1])
        first = low_anchor[0] + (start - 2 * record_span - low_anchor[1]) * per_ns
        last = low_anchor[0] + (end + record_span - low_anchor[1]) * per_ns
        slack = max(GUESS_SLACK_BYTES, (last - first) / 4)
        low = int(min(max(first - slack, gap_start), gap_end - SMALL_GAP_BYTES))
        high = int(max(min(last + slack, gap_end), low + SMALL_GAP_BYTES))
        return max(low, gap_start), min(high, gap_end)

    def _overlapping(self, start: int, end: int) -> np.ndarray:
        """Rows of wanted records with samples in ``[start, end]``, by offset."""
        table = self.index.records
        wanted = self._source_masks()[""]
        rows = wanted & (table.starts <= end) & (table.ends >= start)
        return np.flatnonzero(rows)

    def _fetch(self, ranges: list[tuple[int, int]]) -> None:
        boundaries = self._boundaries()

        def read(span: tuple[int, int]) -> tuple[int, bytes]:
            return span[0], read_bytes(self.spec, self.key, span[0], span[1])

        with ThreadPoolExecutor(max_workers=min(READ_THREADS, len(ranges))) as pool:
            results = list(pool.map(read, ranges))

        known = len(self.index.records)
        found = RecordTable.empty()
        for start, data in results:
            self.bytes_read += len(data)
            bisect.insort(self._chunks, (start, data), key=lambda chunk: chunk[0])
            table = parse_records(data, base=start, synced=start in boundaries)
            found = found.merged(table)
        self._check_known(found)
        self.index = self.index.with_records(found)
        # Checked on every read, the first one too: an object of one
        # channel in reverse order needs no further read to look complete.
        self._check_order()
        logger.debug(
            "read %d ranges of %s; %d records known",
            len(ranges),
            self.url,
            len(self.index.records),
        )
        if len(self.index.records) > known:
            store_index(self.url, self.index, self.version)

    def _check_known(self, found: RecordTable) -> None:
        """Raise LayoutError, dropping the index, if ``found`` contradicts it.

        A cached index of an object rewritten with the same size (and no
        version tag) lists records that the object no longer has.
        """
        known = self.index.records
        offsets, mine, theirs = np.intersect1d(
            known.offsets, found.offsets, assume_unique=True, return_indices=True
        )
        same = (
            (known.sources[mine] == found.sources[theirs])
            & (known.starts[mine] == found.starts[theirs])
            & (known.lengths[mine] == found.lengths[theirs])
        )
        if not same.all():
            offset = int(offsets[~same][0])
            self._drop_stale(f"the indexed record at byte {offset} differs")

    def _drop_stale(self, reason: str) -> NoReturn:
        drop_index(self.url, self.index.size, self.version)
        self.index = ObjectIndex(self.index.size, RecordTable.empty())
        self._masks = None
        raise LayoutError(f"stale record index: {reason}")

    def _boundaries(self) -> set[int]:
        table = self.index.records
        return {0, *table.offsets.tolist(), *(table.offsets + table.lengths).tolist()}

    def _has_span(self, start: int, end: int) -> bool:
        return self._has_bytes(start, end - start)

    def _check_order(self) -> None:
        table = self.index.records
        for source in self.sources:
            starts = table.starts[self._source_masks()[source]]
            if (np.diff(starts) < 0).any():
                raise LayoutError(f"records of {source} are not in time order")

    def _has_bytes(self, offset: int, length: int) -> bool:
        if self._whole is not None:
            return True
        position = bisect.bisect_right(self._chunks, offset, key=lambda c: c[0]) - 1
        if position < 0:
            return False
        start, data = self._chunks[position]
        return offset + length <= start + len(data)

    def _bytes_of(self, rows: np.ndarray) -> bytes:
        table = self.index.records
        parts = []
        for offset, length in zip(
            table.offsets[rows].tolist(), table.lengths[rows].tolist(), strict=True
        ):
            parts.append(self._record_bytes(offset, length))
        return b"".join(parts)

    def _record_bytes(self, offset: int, length: int) -> bytes:
        if self._whole is not None:
            return self._whole[offset : offset + length]
        position = bisect.bisect_right(self._chunks, offset, key=lambda c: c[0]) - 1
        start, data = self._chunks[position]
        record = data[offset - start : offset - start + length]
        if not _is_record(record):
            # A cached index of an object rewritten with the same size.
            self._drop_stale(f"no record of {length} bytes at byte {offset}")
        return record

    def read_whole(self) -> None:
        """Read the object whole and index all of its records.

        Raises
        ------
        DecodeError
            If the object is not miniSEED or its records have no length.
        """
        data = read_bytes(self.spec, self.key)
        self.bytes_read += len(data)
        self.read_mode = "whole_object"
        if not data:
            raise DecodeError(f"empty object (0 bytes) at {self.url}")

        state, offset = check_structure(data)
        if state == "not_miniseed":
            raise DecodeError(f"invalid miniSEED in {self.url}: no record at {offset}")
        if state == "damaged":
            data = intact_records(data)
        self.state = state

        table = parse_records(data, synced=True)
        if int(table.lengths.sum()) != len(data) and state == "ok":
            raise DecodeError(
                f"record headers of {self.url} cannot be indexed (a miniSEED 2 "
                "record without Blockette 1000?); read it with open_waveforms"
            )
        self._whole = data
        self._chunks = []
        self.index = ObjectIndex(len(data), table, complete=True)
        if state == "ok":
            # Offsets of a damaged object's intact records are not the
            # object's offsets, so only an intact object's index is kept.
            store_index(self.url, self.index, self.version)


def object_version(spec: StorageSpec, key: str) -> str:
    """Return the version tag of a local object (its modification time in ns).

    Other storages return ``""``: their tag (an S3 ETag) would cost a second
    request per object, and each record read from a cached index is checked.
    """
    # NOTE: the ETag of S3 objects is not part of the cache key yet; it needs
    # object_size to return the HEAD response it already has.
    if spec.protocol != "file":
        return ""
    try:
        return str(os.stat(spec.path(key)).st_mtime_ns)
    except OSError:
        return ""


def index_object(spec: StorageSpec, key: str) -> ObjectIndex:
    """Read an object whole and cache its complete record index.

    Later windows of the object then read only the records they need.
    """
    reader = RangedObject(spec, key, 0, ())
    reader.read_whole()
    return reader.index


def _is_record(data: bytes) -> bool:
    version = ffi.new("uint8_t *")
    return clibmseed.ms3_detect(ffi.from_buffer(data), len(data), version) == len(data)


def _bracket(
    table: RecordTable, mask: np.ndarray, start: int, end: int, size: int
) -> tuple[int, int]:
    """Return the byte span that must hold every ``mask`` record in the window."""
    ended = mask & (table.ends < start)
    later = mask & (table.starts > end)
    low = int((table.offsets + table.lengths)[ended].max()) if ended.any() else 0
    high = int(table.offsets[later].min()) if later.any() else size
    return low, max(low, high)


def _uncovered(table: RecordTable, low: int, high: int) -> list[tuple[int, int]]:
    """List the stretches of ``[low, high)`` that no known record covers."""
    inside = (table.offsets + table.lengths > low) & (table.offsets < high)
    gaps = []
    position = low
    for offset, length in zip(
        table.offsets[inside].tolist(), table.lengths[inside].tolist(), strict=True
    ):
        if offset > position:
            gaps.append((position, offset))
        position = max(position, offset + length)
    if position < high:
        gaps.append((position, high))
    return gaps


def _coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge ranges that overlap or lie within ``COALESCE_BYTES`` of each other."""
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start - merged[-1][1] <= COALESCE_BYTES:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


@dataclass(frozen=True)
class BatchObject:
    """One object a batch of windows reads: where, which key, which day.

    ``key=None`` means a listing showed that the object does not exist.
    """

    spec: StorageSpec
    key: str | None
    day_ns: int


@dataclass
class WindowBatch:
    """Samples and outcomes of a batch of windows for one group of traces.

    ``outcomes`` maps each outcome name to an array of shape (window, trace).
    """

    waveform: np.ndarray
    outcomes: dict[str, np.ndarray]

    def field(self, name: str) -> np.ndarray:
        """Return the samples or one outcome array."""
        return self.waveform if name == "waveform" else self.outcomes[name]


@dataclass
class _ObjectRead:
    records: list[bytes]
    read_mode: str
    state: str
    seen: set[str]
    tier: str
    failure: str = ""
    url: str = ""


def read_window_batch(
    objects: Sequence[BatchObject],
    traces: Sequence[SeedId],
    grids: Sequence[Grid],
    rate_tolerance: float,
    errors: str,
) -> WindowBatch:
    """Read the windows ``grids`` of ``traces`` from ``objects``.

    Each window reads the objects whose records may reach into it: the
    object of every day it overlaps, and the object of the day before when
    it starts within :data:`SPILL_NS` after midnight. When an object that the
    window overlaps fails, its status goes to the window's traces under the
    ``errors`` policy. Samples from the window's other objects are kept.
    """
    sources = [trace.sourceid for trace in traces]
    spans = [_window_span(grid) for grid in grids]
    users = [_users(item, grids) for item in objects]

    reads = []
    for item, windows in zip(objects, users, strict=True):
        reads.append(_read_object(item, windows, spans, sources, traces, errors))

    width = grids[0].size if grids else 0
    waveform = np.empty((len(grids), len(traces), width))
    outcomes: dict[str, list[np.ndarray]] = {}
    for number, grid in enumerate(grids):
        result, read_mode = _finish_window(
            number, grid, users, reads, traces, rate_tolerance
        )
        waveform[number] = result.waveform
        for name in OUTCOME_FIELDS:
            outcomes.setdefault(name, []).append(getattr(result, name))
        outcomes.setdefault("read_mode", []).append(read_mode)
    return WindowBatch(waveform, {k: np.stack(v) for k, v in outcomes.items()})


def _window_span(grid: Grid) -> tuple[int, int]:
    """Return the times a window's samples may come from, one sample of margin."""
    step = int(np.ceil(grid.step_ns))
    last = grid.start_ns + int(np.ceil((grid.size - 1) * grid.step_ns))
    return grid.start_ns - step, last + step


def _users(item: BatchObject, grids: Sequence[Grid]) -> dict[int, bool]:
    """Map each window that reads ``item`` to whether it overlaps the object's day."""
    day_end = item.day_ns + NS_PER_DAY
    used = {}
    for number, grid in enumerate(grids):
        start, end = _window_span(grid)
        first = grid.start_ns
        last = first + int(np.ceil((grid.size - 1) * grid.step_ns))
        if item.day_ns <= end and start < day_end + SPILL_NS:
            used[number] = item.day_ns <= last and first < day_end
    return used


def _read_object(
    item: BatchObject,
    windows: dict[int, bool],
    spans: list[tuple[int, int]],
    sources: list[str],
    traces: Sequence[SeedId],
    errors: str,
) -> _ObjectRead:
    tier = item.spec.tier
    if not windows:
        return _ObjectRead([], "", "ok", set(), tier)
    required = any(windows.values())
    try:
        if item.key is None:
            raise ObjectNotFoundError(
                f"object of the day {format_ns(item.day_ns)[:10]} not in the "
                f"listing of {item.spec.describe()}"
            )
        reader = RangedObject(item.spec, item.key, item.day_ns, sources)
        wanted = ObjectWindows(
            starts=tuple(spans[number][0] for number in windows),
            ends=tuple(spans[number][1] for number in windows),
        )
        records = reader.records_for(wanted)
    except AuthenticationError:
        raise
    except (
        ObjectNotFoundError,
        AccessDeniedError,
        CredentialsError,
        StorageUnavailableError,
        DecodeError,
    ) as error:
        status = _failure_status(error)
        if required:
            handle_failure(error, errors, traces, 0, 0, item.key, status, tier)
        else:
            logger.debug("previous-day object not used: %s", error)
        return _ObjectRead([b""] * len(windows), "", "ok", set(), tier, status)

    logger.debug(
        "%s: %d windows from %d bytes (%s)",
        reader.url,
        len(windows),
        reader.bytes_read,
        reader.read_mode,
    )
    return _ObjectRead(
        records,
        reader.read_mode,
        reader.state,
        reader.seen_sources(),
        tier,
        url=reader.url,
    )


def _decodable_parts(
    parts: list[bytes], reads: list[_ObjectRead], error: DecodeError
) -> tuple[list[bytes], set[str]]:
    """Drop the records that do not decode alone; return the parts and the
    URLs of the objects that lost records.

    libmseed rejects a whole buffer for one bad record (a failed miniSEED 3
    CRC, for one). Raises the ``error``, naming the objects, when every
    record decodes alone.
    """
    kept, damaged = [], set()
    for part, read in zip(parts, reads, strict=True):
        decodable, dropped = _decodable_records(part)
        kept.append(decodable)
        if dropped:
            damaged.add(read.url)
            logger.info(
                "%s is damaged; dropped %d records of a window: %s",
                read.url,
                dropped,
                error,
            )
    if not damaged:
        names = ", ".join(read.url for read in reads)
        raise DecodeError(f"{error} in {names}") from error
    return kept, damaged


def _failure_status(error: Exception) -> str:
    if isinstance(error, ObjectNotFoundError):
        return "missing"
    if isinstance(error, AccessDeniedError | CredentialsError):
        return "access_denied"
    if isinstance(error, StorageUnavailableError):
        return "unreachable"
    return "unreadable"


def _finish_window(
    number: int,
    grid: Grid,
    users: list[dict[int, bool]],
    reads: list[_ObjectRead],
    traces: Sequence[SeedId],
    rate_tolerance: float,
) -> tuple[ChunkResult, np.ndarray]:
    parts, modes, failure, state, seen, tier = [], set(), "", "ok", set(), ""
    used = []
    for windows, read in zip(users, reads, strict=True):
        if number not in windows:
            continue
        position = list(windows).index(number)
        if read.failure:
            failure = failure or (read.failure if windows[number] else "")
            continue
        parts.append(read.records[position])
        used.append((read, windows[number]))
        modes.add(read.read_mode)
        seen |= read.seen
        tier = tier or read.tier
        if read.state != "ok" and windows[number]:
            state = read.state

    try:
        block = decode_and_place(
            b"".join(parts), traces, grid, 0, grid.size, rate_tolerance
        )
    except DecodeError as error:
        parts, damaged = _decodable_parts(parts, [read for read, _ in used], error)
        block = decode_and_place(
            b"".join(parts), traces, grid, 0, grid.size, rate_tolerance
        )
        if any(overlaps for read, overlaps in used if read.url in damaged):
            state = "damaged" if state == "ok" else state
    status = unit_status(block, state)
    for row, trace in enumerate(traces):
        if status[row] == "no_matching_channel" and trace.sourceid in seen:
            # The object has the channel, only not in this window.
            status[row] = "no_data_in_window"
        if failure:
            status[row] = failure
    unit = UnitRead(block=block, status=status, key=None, tier=tier)
    result = finish_chunk(unit, None, None, grid)

    mode = "ranged" if modes else ""
    if "whole_object" in modes:
        mode = "whole_object"
    return result, np.array([mode] * len(traces), dtype="<U12")
