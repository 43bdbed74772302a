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
closer than :func:`coalesce_bytes` and run concurrently (local files are
read in turn). Bytes that an earlier read of the object fetched, a probe's
for one, are fetched again only inside a merged read, where a split would
cost more than they do (see :func:`_plan_reads`). So one record may be
joined from the bytes of two reads. If the object was rewritten between
them, the record could have the header of one version and the samples of
the other, so a HEAD request checks the object's size and version tag
before such records are returned. Only the requested
ranges of a merged read are parsed, with the records between those less
than ``PARSE_GAP_BYTES`` apart, and the other bytes between them later if
a search needs them. With a complete
index, only the records that overlap the windows are read. The searches of
all windows of a round are binary searches in arrays built once per round.

Where the layout defeats the search (records of a channel out of time
order, headers that cannot be parsed, no progress), the object is read
whole, indexed and the outcome's ``read_mode`` is ``whole_object``.
"""

from __future__ import annotations

import bisect
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
from pymseed.clib import clibmseed, ffi

from intake_earthscope.decode import check_structure, intact_records
from intake_earthscope.errors import (
    DecodeError,
    ObjectChangedError,
)
from intake_earthscope.recordindex import (
    ByteRuns,
    ObjectIndex,
    RecordLookup,
    RecordTable,
    drop_index,
    load_index,
    parse_records,
    store_index,
)
from intake_earthscope.settings import int_setting
from intake_earthscope.storage import (
    StorageSpec,
    object_stat,
    read_bytes,
    read_first_bytes,
    read_local_ranges,
)
from intake_earthscope.timeutil import NS_PER_DAY

__all__ = [
    "DEFAULT_COALESCE_BYTES",
    "LOCAL_COALESCE_BYTES",
    "LayoutError",
    "ObjectWindows",
    "RangedObject",
    "WindowRecords",
    "coalesce_bytes",
    "index_object",
]

logger = logging.getLogger(__name__)

# Ranges closer than this are read as one request from an object store. A
# request waits tens of milliseconds for its first byte, in which a
# connection moves a MiB or more (an estimate, not measured on EarthScope's
# buckets). A local range costs a seek, so local reads merge less.
DEFAULT_COALESCE_BYTES = 1024 * 1024
LOCAL_COALESCE_BYTES = 64 * 1024


def coalesce_bytes(protocol: str = "s3") -> int:
    """Return the gap under which two ranges are read as one request.

    ``INTAKE_EARTHSCOPE_COALESCE_BYTES`` sets it for every storage, read on
    each call, so an invalid value fails the read that meets it, naming the
    variable. Without it, local files (``protocol="file"``) use
    ``LOCAL_COALESCE_BYTES`` and other storages ``DEFAULT_COALESCE_BYTES``.
    """
    default = LOCAL_COALESCE_BYTES if protocol == "file" else DEFAULT_COALESCE_BYTES
    return int_setting("INTAKE_EARTHSCOPE_COALESCE_BYTES", default, 0)


# Requested ranges of one chunk closer than this are parsed in one call.
PARSE_GAP_BYTES = 16 * 1024

# No miniSEED record is shorter than the fixed header of miniSEED 3.
MIN_HEADER_BYTES = 40

# Unknown stretches up to this size are read whole instead of guessed into.
SMALL_GAP_BYTES = 32 * 1024

# Minimum slack read on each side of a guessed range.
GUESS_SLACK_BYTES = 16 * 1024

# Rounds of reads before the search gives up and reads the object whole.
MAX_ROUNDS = 24

# Rounds of probe reads, and reads per round, that look for a requested
# channel that no search read found (see RangedObject._probe).
MAX_PROBE_ROUNDS = 6
PROBES_PER_ROUND = 4

READ_THREADS = 8

# Pools of range readers by process id. A forked child gets a pool of its
# own, because its parent's threads do not exist in it.
_READERS: dict[int, ThreadPoolExecutor] = {}


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
        self._chunks: list[tuple[int, bytes | bytearray]] = []
        self._chunk_starts = np.zeros(0, dtype=np.int64)
        self._chunk_ends = np.zeros(0, dtype=np.int64)
        # Offsets inside held chunks where the bytes of two reads meet.
        self._seams = np.zeros(0, dtype=np.int64)
        self._whole: bytes | bytearray | None = None
        self._layout: _Layout | None = None
        # Offsets of the records parsed from bytes this reader fetched. Only
        # the other records, which come from a cached index, need a check.
        self._parsed = np.zeros(0, dtype=np.int64)
        # Byte spans parsed so far, sorted by start.
        self._parsed_spans: list[tuple[int, int]] = []
        # Whether the object stores its channels in blocks, as a probe or a
        # guess that missed its stretch showed.
        self._in_blocks = False
        # Whether a GET found the object changed since the first read.
        self._changed = False

        # The first records tell the channels' record spans, which the
        # guesses of a search allow for. Where one GET can bring them with
        # the object's size and version, it replaces the HEAD request.
        first = read_first_bytes(spec, key, SMALL_GAP_BYTES)
        data, size, self.version, self._match = first or (b"", 0, "", "")
        self.bytes_read += len(data)
        if not self.version:
            # Without that GET, or after a reply without an ETag, a HEAD gives
            # the size and tag: the check of records joined from two reads
            # compares a HEAD's tag. Bytes of another size are not kept.
            fetched_size = size
            size, self.version = object_stat(spec, key)
            if size != fetched_size:
                data = b""
        self.index = load_index(self.url, size, self.version) or ObjectIndex(
            size, RecordTable.empty()
        )
        self._stored = self.index
        if data:
            self._keep_chunks([(0, data)])

    def records_for(self, windows: ObjectWindows) -> WindowRecords:
        """Find the wanted records that overlap each window and read them.

        Raises
        ------
        ObjectNotFoundError, AccessDeniedError, StorageUnavailableError
            From the reads.
        DecodeError
            If the object is not miniSEED.
        """
        try:
            return self._records_for(windows)
        finally:
            self._keep_index()

    def _records_for(self, windows: ObjectWindows) -> WindowRecords:
        try:
            rows = self._search(windows)
            if self._unseen() and not self.index.complete and self._probe():
                # The anchors of the search now include every wanted source.
                rows = self._search(windows)
        except LayoutError as reason:
            logger.info("reading %s whole: %s", self.url, reason)
            self.read_whole()
            rows = self._search(windows)
        unseen = self._unseen()
        if unseen and not self.index.complete:
            # The channel may sit in a block the bracket never reached; only
            # the whole object may tell that it is not there.
            logger.info(
                "reading %s whole: no record of %s in the ranges read (its "
                "records may sit in a block of their own)",
                self.url,
                ", ".join(unseen),
            )
            self.read_whole()
            rows = self._search(windows)
        try:
            return self._found(rows)
        except LayoutError as reason:
            logger.info("reading %s whole: %s", self.url, reason)
            self.read_whole()
            return self._found(self._search(windows))

    def _found(self, rows: list[np.ndarray]) -> WindowRecords:
        """Join the records of all windows, each once and in object order."""
        if not rows:
            return WindowRecords(rows, b"", self)
        # The index is sorted by offset, so ascending rows are in object order.
        union = np.unique(np.concatenate(rows))
        self._check_joined(union)
        return WindowRecords(rows, self.bytes_of(union), self)

    def _check_joined(self, rows: np.ndarray) -> None:
        """Raise LayoutError if the object changed since its size was read and
        a record of ``rows`` was joined from the bytes of two reads.

        Such a record crosses a seam. Were the object rewritten between the
        two reads, the record could join the bytes of two versions, which
        decode to wrong samples or fail to decode. A rewrite that keeps the
        size and the version tag (a storage without one) goes unnoticed.
        """
        if self._whole is not None or not self._seams.size:
            return
        table = self.index.records
        offsets = table.offsets[rows]
        ends = offsets + table.lengths[rows]
        before = np.searchsorted(self._seams, offsets, side="right")
        crossed = before < np.searchsorted(self._seams, ends, side="left")
        if not crossed.any():
            return

        size, version = object_stat(self.spec, self.key)
        if size == self.index.size and version == self.version:
            return
        # The index of the object read whole is cached under its new tag.
        self.version = version
        raise LayoutError(
            f"the object changed while it was read (from {self.index.size} to "
            f"{size} bytes, version tag {version!r})"
        )

    def _unseen(self) -> list[str]:
        """Return the wanted sources that no known record carries, sorted."""
        return sorted(set(self.sources) - self.seen_sources())

    def _probe(self) -> bool:
        """Look for the records of unseen sources in the unknown stretches.

        An object may store each channel in a block of its own, which the
        brackets of the other channels never reach. Each round reads a few
        small ranges in the unknown stretches (see ``_probe_ranges``). Returns
        True once a record of every wanted source is known, and False when no
        stretch is larger than a read or the rounds are spent.
        """
        # A round reads at most PROBES_PER_ROUND ranges of SMALL_GAP_BYTES,
        # each alone, so probing an object costs at most 6 * 4 * 32 KiB
        # = 768 KiB before the whole read it may spare.
        self._in_blocks = True
        for _ in range(MAX_PROBE_ROUNDS):
            if not self._unseen():
                return True
            ranges = self._probe_ranges()
            if not ranges:
                return False
            spans = np.array(ranges, dtype=np.int64)
            held = self._held(spans[:, 0], spans[:, 1])
            if not held.all():
                self._fetch([ranges[i] for i in np.flatnonzero(~held)], merge=0)
            if held.any():
                self._parse([ranges[i] for i in np.flatnonzero(held)])
        return not self._unseen()

    def _probe_ranges(self) -> list[tuple[int, int]]:
        """Return the ranges that the next round of probes reads.

        A block that no search read reached starts where another block ends,
        so stretches whose two ends show different sources, or reach an end of
        the object, are probed first. A stretch with records of one source on
        both ends is probed only when no other stretch is left, because it
        most likely lies inside that source's block. The probes of a round go
        to the stretches whose pieces between probes stay largest.
        """
        layout = self._search_layout()
        gaps = [
            gap
            for gap in layout.runs.gaps(0, self.index.size)
            if gap[1] - gap[0] > SMALL_GAP_BYTES
        ]
        inside = [layout.joins_one_source(gap) for gap in gaps]
        edges = [gap for gap, same in zip(gaps, inside, strict=True) if not same]
        candidates = edges or gaps
        probes = []
        for gap, count in _share_probes(candidates, PROBES_PER_ROUND):
            probes += self._gap_probes(gap, count)
        if not probes:
            return []
        spans = np.array(probes, dtype=np.int64)
        fresh = ~self._was_parsed(spans[:, 0], spans[:, 1])
        return [probes[i] for i in np.flatnonzero(fresh)]

    def _gap_probes(self, gap: tuple[int, int], count: int) -> list[tuple[int, int]]:
        """Place ``count`` probes in ``gap``: at the end of the object that the
        stretch reaches, if any, and evenly spaced over the rest."""
        start, end = gap
        probes = []
        if end == self.index.size:
            end -= SMALL_GAP_BYTES
            probes.append((end, self.index.size))
        elif start == 0:
            start += SMALL_GAP_BYTES
            probes.append((0, start))
        spaced = count - len(probes)
        for number in range(1, spaced + 1):
            low = start + (end - start) * number // (spaced + 1) - SMALL_GAP_BYTES // 2
            low = min(max(low, start), end - SMALL_GAP_BYTES)
            if low >= start:
                probes.append((low, low + SMALL_GAP_BYTES))
        return probes

    def seen_sources(self) -> set[str]:
        """Return the wanted source identifiers that known records carry."""
        return {
            source
            for source, records in self._search_layout().sources.items()
            if len(records)
        }

    def _search(self, windows: ObjectWindows) -> list[np.ndarray]:
        if not self.index.size and self._whole is None:
            # A whole read shows whether the object is empty or the size wrong.
            raise LayoutError("the storage reports 0 bytes")
        if not len(self.index.records) and self.index.size:
            # Parse the first records (read here unless fetched already).
            self._fetch([(0, min(self.index.size, SMALL_GAP_BYTES))])
        starts = np.array(windows.starts, dtype=np.int64)
        ends = np.array(windows.ends, dtype=np.int64)
        for _ in range(MAX_ROUNDS):
            layout = self._search_layout()
            rows = layout.overlapping(starts, ends)
            ranges = self._unheld(np.concatenate(rows))
            if not self.index.complete:
                ranges += self._unknown(layout, starts, ends)
            if not ranges:
                return rows
            spans = np.array(ranges, dtype=np.int64)
            held = self._held(spans[:, 0], spans[:, 1])
            unparsed = held & ~self._was_parsed(spans[:, 0], spans[:, 1])
            if held.all() and not unparsed.any():
                raise LayoutError("bytes in the search range are not miniSEED records")
            if not held.all():
                self._fetch([ranges[i] for i in np.flatnonzero(~held)])
            if unparsed.any():
                self._parse([ranges[i] for i in np.flatnonzero(unparsed)])
        raise LayoutError(f"no bracket after {MAX_ROUNDS} rounds of reads")

    def _unheld(self, rows: np.ndarray) -> list[tuple[int, int]]:
        """List the byte ranges of the records in ``rows`` not read yet."""
        table = self.index.records
        rows = np.unique(rows)
        starts = table.offsets[rows]
        ends = starts + table.lengths[rows]
        missing = ~self._held(starts, ends)
        return list(zip(starts[missing].tolist(), ends[missing].tolist(), strict=True))

    def _unknown(
        self, layout: _Layout, starts: np.ndarray, ends: np.ndarray
    ) -> list[tuple[int, int]]:
        """List the reads that narrow the brackets with unknown stretches."""
        ranges = []
        for source in self.sources:
            anchors = layout.anchors(source)
            own = layout.sources[source]
            lows, highs = anchors.bracket(starts, ends, self.index.size)
            for number in np.flatnonzero(~layout.runs.covered(lows, highs)):
                start, end = int(starts[number]), int(ends[number])
                for gap in layout.runs.gaps(int(lows[number]), int(highs[number])):
                    if gap[1] - gap[0] <= SMALL_GAP_BYTES:
                        ranges.append(gap)
                    elif self._in_blocks and self._joins_in_time(gap, own):
                        # Other blocks sit between two blocks of the channel.
                        # A record of it among them repeats samples of the two
                        # but may be of a higher publication version, which
                        # wins, so the stretch is read at once.
                        ranges.append(gap)
                    else:
                        ranges.append(self._guess(gap, start, end, anchors))
        return ranges

    def _search_layout(self) -> _Layout:
        """Return the search arrays of the current index, built once per index."""
        table = self.index.records
        if self._layout is None or self._layout.table is not table:
            self._layout = _Layout(table, self.sources)
        return self._layout

    def _guess(
        self, gap: tuple[int, int], start: int, end: int, anchors: RecordLookup
    ) -> tuple[int, int]:
        """Return the range of an unknown stretch that likely contains the window."""
        gap_start, gap_end = gap
        # Anchors (offset, time): the known records next to the stretch, or
        # else the ends of the object and of its day.
        low_anchor = (0, self.day_ns)
        before = anchors.latest_end_before(gap_start)
        if before is not None:
            low_anchor = (gap_start, before)
        after = anchors.earliest_start_from(gap_end)
        high_anchor = (gap_end, after) if after is not None else (0, 0)
        if after is None:
            high_anchor = (self.index.size, self.day_ns + NS_PER_DAY)

        if self._in_blocks and len(anchors):
            tail = self._tail_probe(gap, anchors)
            if tail is not None:
                return tail
            # The channel's block need not start at the object's first byte
            # nor end at its last: its own bytes per nanosecond place the
            # day's ends from the nearest known record instead. A known
            # record that does not touch the stretch may lie in another
            # block, so the record that touches the other end places it.
            density = _density(anchors)
            touch_low, touch_high = _touching(anchors, gap)
            if after is not None and (before is None or touch_high and not touch_low):
                offset = gap_end - (after - self.day_ns) * density
                low_anchor = (max(0, int(offset)), self.day_ns)
            if before is not None and (after is None or touch_low and not touch_high):
                offset = gap_start + (self.day_ns + NS_PER_DAY - before) * density
                high_anchor = (
                    min(self.index.size, int(offset)),
                    self.day_ns + NS_PER_DAY,
                )

        middle = gap_start + (gap_end - gap_start) // 2
        if high_anchor[1] <= low_anchor[1] or high_anchor[0] <= low_anchor[0]:
            return middle, min(gap_end, middle + SMALL_GAP_BYTES)

        # Records sit by start time, so the record of the channel that ends
        # before the window starts up to two record spans earlier.
        record_span = anchors.span
        per_ns = (high_anchor[0] - low_anchor[0]) / (high_anchor[1] - low_anchor[1])
        first = low_anchor[0] + (start - 2 * record_span - low_anchor[1]) * per_ns
        last = low_anchor[0] + (end + record_span - low_anchor[1]) * per_ns
        slack = max(GUESS_SLACK_BYTES, (last - first) / 4)
        if (
            self._in_blocks
            and before is not None
            and after is None
            and last + slack >= high_anchor[0]
            and high_anchor[0] + slack < gap_end
        ):
            # The window reaches the end of the channel's block, and other
            # bytes follow it. Only all of them show that no later record of
            # the channel exists, so the stretch is read at once. Guesses
            # would step through it one small read per round and give up.
            return gap_start, gap_end
        if (
            last + slack < gap_start
            or first - slack > gap_end
            or _beside(anchors, gap, first, last)
        ):
            # The guess misses the stretch, so the channel does not spread
            # over the object as the anchors assume: its records sit in a
            # block. Halve the stretch, and place later guesses by density.
            logger.debug("%s stores its channels in blocks", self.url)
            self._in_blocks = True
            return middle, min(gap_end, middle + SMALL_GAP_BYTES)
        low = int(min(max(first - slack, gap_start), gap_end - SMALL_GAP_BYTES))
        high = int(max(min(last + slack, gap_end), low + SMALL_GAP_BYTES))
        return max(low, gap_start), min(high, gap_end)

    def _tail_probe(
        self, gap: tuple[int, int], anchors: RecordLookup
    ) -> tuple[int, int] | None:
        """Return the object's last bytes when a later block of the channel
        may sit anywhere in ``gap``, which runs to the object's end.

        That is so when the channel's known records end before the stretch
        and none touches its start: its block ended there. Blocks often end
        objects, so the tail is read before the guesses step through the
        stretch. Returns None when the tail is read already.
        """
        start, end = gap
        if end != self.index.size or end - start <= 2 * SMALL_GAP_BYTES:
            return None
        if anchors.latest_end_before(start) is None or _touching(anchors, gap)[0]:
            return None
        tail = np.array([end - SMALL_GAP_BYTES]), np.array([end])
        if self._was_parsed(*tail)[0]:
            return None
        return end - SMALL_GAP_BYTES, end

    def _joins_in_time(self, gap: tuple[int, int], anchors: RecordLookup) -> bool:
        """Return whether the channel's records on both sides of ``gap`` run
        on in time, one sample interval apart.

        Records of the channel sit in time order (``_check_order``), so a
        record of it inside the stretch would repeat samples of the two.
        """
        before = anchors.latest_end_before(gap[0])
        after = anchors.earliest_start_from(gap[1])
        step = _sample_step(anchors)
        if before is None or after is None or step is None:
            return False
        return 0 < after - before <= 1.5 * step

    def _fetch(self, ranges: list[tuple[int, int]], merge: int | None = None) -> None:
        """Read the bytes of ``ranges`` not held yet, then parse the ranges.

        Pieces closer than ``merge`` bytes are read as one request, by default
        those closer than :func:`coalesce_bytes` (see :func:`_plan_reads`).
        """

        def read(span: tuple[int, int]) -> tuple[int, bytes | bytearray]:
            data = read_bytes(self.spec, self.key, span[0], span[1], self._match)
            return span[0], data

        if merge is None:
            merge = coalesce_bytes(self.spec.protocol)
        held = [(start, start + len(data)) for start, data in self._chunks]
        reads = _plan_reads(ranges, held, merge)
        results: list[tuple[int, bytes | bytearray]]
        if not reads:
            results = []
        elif self.spec.protocol == "file":
            # A local range costs one seek, so threads would only add hand-offs.
            parts = read_local_ranges(self.spec, self.key, reads)
            results = [(span[0], part) for span, part in zip(reads, parts, strict=True)]
        else:
            results = self._read_ranges(read, reads)

        self.bytes_read += sum(len(data) for _, data in results)
        self._check_lengths(reads, results)
        self._check_overlaps(results)
        self._keep_chunks(results)
        logger.debug("read %d ranges of %s", len(reads), self.url)
        self._parse(ranges)

    def _read_ranges(
        self,
        read: Callable[[tuple[int, int]], tuple[int, bytes | bytearray]],
        reads: list[tuple[int, int]],
    ) -> list[tuple[int, bytes | bytearray]]:
        """Send the GETs of ``reads``, side by side where there are several.

        A GET that finds the object changed since the first read makes the
        search read the whole object, one version, instead. Its index is then
        not cached, because the version tag is that of the first read.
        """
        try:
            if len(reads) == 1:
                return [read(reads[0])]
            return list(_range_readers().map(read, reads))
        except ObjectChangedError as changed:
            self._changed = True
            raise LayoutError(str(changed)) from changed

    def _check_lengths(
        self,
        reads: list[tuple[int, int]],
        results: list[tuple[int, bytes | bytearray]],
    ) -> None:
        """Raise LayoutError if a read returned fewer bytes than it requested.

        Reads end within the size that the storage reported, so a short read
        means that the object was cut or rewritten since. Searching on would
        request the missing bytes again in every round, until the rounds are
        spent.
        """
        for (start, end), (_, data) in zip(reads, results, strict=True):
            if len(data) < end - start:
                raise LayoutError(
                    f"the read of bytes {start}-{end} returned {len(data)} bytes, "
                    f"so the object is shorter than its {self.index.size} bytes"
                )

    def _check_overlaps(self, results: list[tuple[int, bytes | bytearray]]) -> None:
        """Raise LayoutError if a read returned held bytes that differ from
        those read before.

        A merged read fetches the held bytes between its pieces again. Where
        they differ, the object was rewritten between the two reads, and the
        records indexed from the held bytes do not describe the new ones.
        """
        for start, data in results:
            end = start + len(data)
            # The first held chunk that ends after ``start``.
            first = int(np.searchsorted(self._chunk_ends, start, side="right"))
            for base, held in self._chunks[first:]:
                if base >= end:
                    break
                low, high = max(base, start), min(base + len(held), end)
                before = memoryview(held)[low - base : high - base]
                if before != memoryview(data)[low - start : high - start]:
                    raise LayoutError(
                        f"the object changed while it was read: bytes {low}-{high} "
                        "differ between two reads"
                    )

    def _keep_chunks(self, results: list[tuple[int, bytes | bytearray]]) -> None:
        """Add fetched chunks to the held ones, joining chunks that touch or
        overlap, so that each stretch of held bytes is one chunk.

        A record that runs from a probe into the bytes fetched next to it can
        then be parsed and sliced from one chunk. The offsets where the bytes
        of two reads meet are kept as seams (see :meth:`_check_joined`).
        """
        held = [(start, data, True) for start, data in self._chunks]
        fresh = [(start, data, False) for start, data in results]
        chunks = sorted([*held, *fresh], key=lambda chunk: chunk[0])
        # Runs of chunks that touch or overlap, as (start, parts, end). Each
        # run is joined once at the end: joining chunk by chunk would copy
        # the run so far at every step, which is quadratic in its chunks.
        runs: list[tuple[int, list[bytes | bytearray | memoryview], int]] = []
        seams: list[int] = []
        for start, data, was_held in chunks:
            end = start + len(data)
            if not data:
                continue
            if not runs or start > runs[-1][2]:
                runs.append((start, [data], end))
                kept = start
            elif end > runs[-1][2]:
                base, parts, kept = runs[-1]
                parts.append(memoryview(data)[kept - start :])
                runs[-1] = (base, parts, end)
                seams.append(kept)
            else:
                continue
            if was_held:
                # A held chunk's seams stay where its bytes are kept.
                inside = (self._seams > kept) & (self._seams < end)
                seams += self._seams[inside].tolist()
        joined = [(base, _joined(parts)) for base, parts, _ in runs]
        self._chunks = joined
        self._seams = np.array(sorted(seams), dtype=np.int64)
        self._chunk_starts = np.array([start for start, _ in joined], dtype=np.int64)
        self._chunk_ends = np.array(
            [start + len(data) for start, data in joined], dtype=np.int64
        )

    def _parse(self, ranges: list[tuple[int, int]]) -> None:
        """Index the records of ``ranges`` from the chunks read so far."""
        spans = np.array(ranges, dtype=np.int64).reshape(-1, 2)
        # The chunk that reaches furthest past each range's first byte.
        chunks = self._holding(spans[:, 0], spans[:, 0] + 1)
        # A short read raises in _fetch, so each range lies in one chunk. Only
        # the part of a range inside the chunk of its start is parsed.
        ends = np.minimum(spans[:, 1], self._chunk_ends[np.maximum(chunks, 0)])
        readable = (chunks >= 0) & (spans[:, 0] < ends)
        # Ranges merge within their chunk only, so that each merged range is
        # inside one chunk too. Ranges a few records apart are parsed as one,
        # because each call costs about as much as a dozen records (measured).
        pieces = _coalesce_in_chunks(
            spans[readable, 0], ends[readable], chunks[readable], PARSE_GAP_BYTES
        )

        table = self.index.records
        starts = np.array([start for start, _, _ in pieces], dtype=np.int64)
        synced = (
            (starts == 0)
            | _contains(table.offsets, starts)
            | _contains(table.offsets + table.lengths, starts)
        )
        tables = []
        for (start, end, chunk), at_record in zip(pieces, synced.tolist(), strict=True):
            tables += self._parse_span(chunk, start, end, at_record)
            bisect.insort(self._parsed_spans, (start, end))

        found = RecordTable.empty().merged(*tables)
        self._parsed = np.union1d(self._parsed, found.offsets)
        self._check_known(found)
        self.index = self.index.with_records(found)
        # Checked on every read, the first one too: an object of one
        # channel in reverse order needs no further read to look complete.
        self._check_order()
        logger.debug(
            "parsed %d ranges of %s; %d records known",
            len(ranges),
            self.url,
            len(self.index.records),
        )

    def _parse_span(
        self, chunk: int, start: int, end: int, at_record: bool
    ) -> list[RecordTable]:
        """Parse the records of ``[start, end)`` in one chunk; return the tables.

        ``at_record`` is true when a record starts at ``start``. A parse stops
        at bytes that are not records, such as a damaged record between two
        requested ranges, so it goes on past them from the next record header
        found, as a parse of each range alone would.
        """
        base, data = self._chunks[chunk]
        # A slice of a memoryview shares the chunk's bytes instead of copying.
        view = memoryview(data)
        tables = []
        position = start
        while position < end:
            found = parse_records(
                view[position - base : end - base], base=position, synced=at_record
            )
            if len(found):
                tables.append(found)
                position = int(found.offsets[-1] + found.lengths[-1])
            elif not at_record:
                break
            if position >= end or _cut_record(data, position - base, end - base):
                break
            # The bytes at ``position`` are not a record: parse on from the
            # next record header.
            at_record = False
        return tables

    def _was_parsed(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Return, per byte range, whether one span parsed so far contains it."""
        spans = np.array(self._parsed_spans, dtype=np.int64).reshape(-1, 2)
        return _containing(spans[:, 0], spans[:, 1], starts, ends) >= 0

    def _keep_index(self) -> None:
        """Cache the index once per batch, if reads added records to it."""
        if self._whole is None and len(self.index.records) > len(self._stored.records):
            store_index(self.url, self.index, self.version)
            self._stored = self.index

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
        self._stored = self.index
        raise LayoutError(f"stale record index: {reason}")

    def _check_order(self) -> None:
        layout = self._search_layout()
        for source in self.sources:
            if not layout.sources[source].in_time_order:
                raise LayoutError(f"records of {source} are not in time order")

    def _held(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Return, per byte range, whether one chunk read so far contains it."""
        if self._whole is not None:
            return np.ones(starts.size, dtype=bool)
        return self._holding(starts, ends) >= 0

    def _holding(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Return, per byte range, a chunk read so far that contains it, or -1."""
        return _containing(self._chunk_starts, self._chunk_ends, starts, ends)

    def bytes_of(self, rows: np.ndarray) -> bytes:
        """Join the records of ``rows``, slicing runs of adjacent records at once."""
        if not rows.size:
            return b""
        table = self.index.records
        offsets = table.offsets[rows]
        ends = offsets + table.lengths[rows]
        if self._whole is not None:
            chunks, bases = [self._whole], np.zeros(1, dtype=np.int64)
            chunk = np.zeros(rows.size, dtype=np.int64)
        else:
            self._check_records(offsets, ends)
            chunks, bases = [data for _, data in self._chunks], self._chunk_starts
            chunk = self._holding(offsets, ends)
        # A run ends where the next record lies further on or in another chunk.
        breaks = np.flatnonzero((chunk[1:] != chunk[:-1]) | (offsets[1:] != ends[:-1]))
        heads = [0, *(breaks + 1).tolist()]
        tails = [*breaks.tolist(), rows.size - 1]
        # Slices of memoryviews share the chunks' bytes, so each record is
        # copied once, by the join.
        views = [memoryview(data) for data in chunks]
        parts = []
        for head, tail in zip(heads, tails, strict=True):
            number = int(chunk[head])
            base = int(bases[number])
            parts.append(
                views[number][int(offsets[head]) - base : int(ends[tail]) - base]
            )
        return b"".join(parts)

    def _check_records(self, offsets: np.ndarray, ends: np.ndarray) -> None:
        """Check that a record starts at each offset the reader did not parse."""
        unchecked = ~_contains(self._parsed, offsets)
        offsets, ends = offsets[unchecked], ends[unchecked]
        chunks = self._holding(offsets, ends)
        for offset, end, chunk in zip(
            offsets.tolist(), ends.tolist(), chunks.tolist(), strict=True
        ):
            start, data = self._chunks[chunk]
            if not _is_record(data[offset - start : end - start]):
                # A cached index of an object rewritten with the same size.
                self._drop_stale(f"no record of {end - offset} bytes at byte {offset}")

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
        if state == "ok" and not self._changed:
            # Offsets of a damaged object's intact records are not the
            # object's offsets, so only an intact object's index is kept.
            store_index(self.url, self.index, self.version)


class _Layout:
    """Search arrays of one record table, per wanted source and for covered bytes.

    Raises LayoutError when records overlap in bytes, which no parse of a
    sound object gives.
    """

    def __init__(self, table: RecordTable, sources: Sequence[str]) -> None:
        self.table = table
        self.runs = ByteRuns(table)
        overlap = self.runs.overlap()
        if overlap is not None:
            raise LayoutError(f"the record at byte {overlap} overlaps the one before")
        wanted = np.zeros(len(table), dtype=bool)
        self.sources = {}
        for source in sources:
            mask = table.sources == source
            wanted |= mask
            self.sources[source] = RecordLookup(table, np.flatnonzero(mask))
        self._wanted = RecordLookup(table, np.flatnonzero(wanted))
        self._every: RecordLookup | None = None

    def anchors(self, source: str) -> RecordLookup:
        """Return the records whose times bound the channel's records.

        A channel not seen yet is bracketed by the other wanted channels, or
        by every record when none of them was seen: this assumes that the
        object's records are sorted by time across channels.
        """
        if len(self.sources[source]):
            return self.sources[source]
        # In an object whose channels follow one another in blocks, an
        # unseen channel's block may lie outside this bracket, so
        # records_for probes for it and otherwise reads the object whole.
        if len(self._wanted):
            return self._wanted
        if self._every is None:
            self._every = RecordLookup(self.table, np.arange(len(self.table)))
        return self._every

    def edge_sources(self, gap: tuple[int, int]) -> tuple[str | None, str | None]:
        """Return the sources of the records that end where ``gap`` starts and
        start where it ends, None where no known record touches it."""
        table = self.table
        before = int(np.searchsorted(table.offsets, gap[0])) - 1
        after = int(np.searchsorted(table.offsets, gap[1]))
        low = None
        if before >= 0 and table.offsets[before] + table.lengths[before] == gap[0]:
            low = str(table.sources[before])
        high = None
        if after < len(table) and table.offsets[after] == gap[1]:
            high = str(table.sources[after])
        return low, high

    def joins_one_source(self, gap: tuple[int, int]) -> bool:
        """Return whether records of one source touch both ends of ``gap``."""
        low, high = self.edge_sources(gap)
        return low is not None and low == high

    def overlapping(self, starts: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
        """Return, per window, the rows of wanted records with samples in it."""
        pairs = [records.overlapping(starts, ends) for records in self.sources.values()]
        windows = np.concatenate([np.zeros(0, dtype=np.int64), *(w for w, _ in pairs)])
        rows = np.concatenate([np.zeros(0, dtype=np.int64), *(r for _, r in pairs)])
        order = np.lexsort((rows, windows))
        bounds = np.searchsorted(windows[order], np.arange(1, starts.size))
        return np.split(rows[order], bounds)


def _range_readers() -> ThreadPoolExecutor:
    """Return the pool of range readers of this process."""
    pid = os.getpid()
    pool = _READERS.get(pid)
    if pool is None:
        pool = _READERS.setdefault(
            pid,
            ThreadPoolExecutor(READ_THREADS, thread_name_prefix="earthscope-ranges"),
        )
    return pool


def index_object(spec: StorageSpec, key: str) -> ObjectIndex:
    """Read an object whole and cache its complete record index.

    Later windows of the object then read only the records they need.
    """
    reader = RangedObject(spec, key, 0, ())
    reader.read_whole()
    return reader.index


def _share_probes(
    gaps: list[tuple[int, int]], total: int
) -> list[tuple[tuple[int, int], int]]:
    """Share ``total`` probes among ``gaps``, each to the gap whose pieces
    between probes are largest, while those pieces are larger than a probe."""
    counts = [0] * len(gaps)
    for _ in range(total):
        pieces = [
            (end - start) / (count + 1)
            for (start, end), count in zip(gaps, counts, strict=True)
        ]
        if not pieces or max(pieces) <= SMALL_GAP_BYTES:
            break
        counts[int(np.argmax(pieces))] += 1
    return [(gap, count) for gap, count in zip(gaps, counts, strict=True) if count]


def _touching(records: RecordLookup, gap: tuple[int, int]) -> tuple[bool, bool]:
    """Return whether one of ``records`` ends where ``gap`` starts, and whether
    one starts where it ends."""
    low = _contains(records.byte_ends, np.array([gap[0]]))[0]
    high = _contains(records.offsets, np.array([gap[1]]))[0]
    return bool(low), bool(high)


def _beside(
    records: RecordLookup, gap: tuple[int, int], first: float, last: float
) -> bool:
    """Return whether the guess ``[first, last]`` lies wholly outside ``gap``
    on a side where a record of another source touches the gap.

    Such a guess, cut to the gap, would read the other source's records
    one small range per round.
    """
    below = last < gap[0] and gap[0] > 0
    above = first > gap[1]
    if not below and not above:
        # Most guesses overlap their stretch, and need no search for records.
        return False
    touch_low, touch_high = _touching(records, gap)
    return (below and not touch_low) or (above and not touch_high)


def _sample_step(records: RecordLookup) -> int | None:
    """Estimate the sample interval, in ns, of one channel's ``records``.

    Of two records that follow each other in the object, the second starts
    one sample interval after the first ends where the data run on without
    a gap. The median over such pairs ignores the few pairs with a gap.
    """
    follows = records.offsets[1:] == records.byte_ends[:-1]
    steps = (records.starts[1:] - records.ends[:-1])[follows]
    steps = steps[steps > 0]
    return int(np.median(steps)) if steps.size else None


def _density(records: RecordLookup) -> float:
    """Return the bytes per nanosecond of ``records``, which are not empty."""
    spans = int((records.ends - records.starts).sum())
    return float((records.byte_ends - records.offsets).sum()) / max(spans, 1)


def _contains(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return whether each of ``values`` is in the ascending ``sorted_values``."""
    if not sorted_values.size:
        return np.zeros(values.size, dtype=bool)
    position = np.searchsorted(sorted_values, values)
    return sorted_values[np.minimum(position, sorted_values.size - 1)] == values


def _is_record(data: bytes) -> bool:
    version = ffi.new("uint8_t *")
    return clibmseed.ms3_detect(ffi.from_buffer(data), len(data), version) == len(data)


def _cut_record(data: bytes | bytearray, offset: int, end: int) -> bool:
    """Return whether the bytes from ``offset`` to ``end`` are the start of a
    record that reaches past ``end``, or too few to hold a record header."""
    if end - offset < MIN_HEADER_BYTES:
        return True
    version = ffi.new("uint8_t *")
    length = clibmseed.ms3_detect(ffi.from_buffer(data) + offset, end - offset, version)
    return length > end - offset


def _containing(
    span_starts: np.ndarray, span_ends: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Return, per range ``[starts, ends)``, a span that contains it, or -1.

    The spans are sorted by start and may overlap, so one that starts later
    may end sooner. Of the spans that start at or before a range, the one
    that reaches furthest contains the range if any of them does.
    """
    if not span_starts.size:
        return np.full(starts.size, -1, dtype=np.int64)
    reach = np.maximum.accumulate(span_ends)
    numbers = np.arange(span_ends.size)
    furthest = np.maximum.accumulate(np.where(span_ends == reach, numbers, 0))
    before = np.searchsorted(span_starts, starts, side="right") - 1
    known = np.maximum(before, 0)
    return np.where((before >= 0) & (ends <= reach[known]), furthest[known], -1)


def _plan_reads(
    ranges: list[tuple[int, int]], held: list[tuple[int, int]], merge: int
) -> list[tuple[int, int]]:
    """Return the requests that fetch the bytes of ``ranges`` outside ``held``.

    ``held`` are the sorted, disjoint spans of bytes read before. The pieces
    of ``ranges`` outside them are merged where they lie at most ``merge``
    bytes apart, by :func:`_coalesce`. So a range that is held whole takes no
    request, and a held stretch at either end of a merged read is left out of
    it. A held stretch between two pieces is fetched again, inside the merged
    read, unless the gap between the pieces (its held and its unrequested
    bytes together) is longer than ``merge``. A split at the held stretch
    alone would cost the same extra request as a split of the whole gap, and
    save fewer bytes, so ``merge``, the estimate of the bytes that one
    request costs, decides both splits.
    """
    pieces = _subtract(_coalesce(ranges, 0), held)
    return _coalesce(pieces, merge)


def _subtract(
    spans: list[tuple[int, int]], held: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Return the parts of ``spans`` outside ``held``; both sorted and disjoint."""
    pieces = []
    for start, end in spans:
        # The first held span that ends after ``start``.
        first = bisect.bisect_right(held, start, key=lambda span: span[1])
        for low, high in held[first:]:
            if low >= end:
                break
            if low > start:
                pieces.append((start, low))
            start = max(start, high)
        if start < end:
            pieces.append((start, end))
    return pieces


def _joined(parts: list[bytes | bytearray | memoryview]) -> bytes | bytearray:
    """Join the parts of a run of chunks into one.

    A run of one chunk is that chunk: a join would copy its bytes, and each
    held chunk passes through :meth:`RangedObject._keep_chunks` again at every
    later read of the object.
    """
    first = parts[0]
    if len(parts) == 1 and not isinstance(first, memoryview):
        return first
    return b"".join(parts)


def _coalesce_in_chunks(
    starts: np.ndarray, ends: np.ndarray, chunks: np.ndarray, gap: int
) -> list[tuple[int, int, int]]:
    """Merge the ranges ``[starts, ends)`` of each chunk as :func:`_coalesce`
    does; return ``(start, end, chunk)`` by chunk, then by start.

    The chunks are numbered in the order of their bytes and do not overlap,
    so one running maximum of the ends serves all chunks.
    """
    if not starts.size:
        return []
    order = np.lexsort((ends, starts, chunks))
    starts, ends, chunks = starts[order], ends[order], chunks[order]
    reach = np.maximum.accumulate(ends)
    apart = (starts[1:] - reach[:-1] > gap) | (chunks[1:] != chunks[:-1])
    heads = np.flatnonzero(apart) + 1
    firsts = np.concatenate(([0], heads))
    lasts = np.concatenate((heads - 1, [starts.size - 1]))
    return list(
        zip(
            starts[firsts].tolist(),
            reach[lasts].tolist(),
            chunks[firsts].tolist(),
            strict=True,
        )
    )


def _coalesce(ranges: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Merge ranges that overlap or lie within ``gap`` bytes of each other."""
    if not ranges:
        return []
    spans = np.array(ranges, dtype=np.int64).reshape(-1, 2)
    spans = spans[np.lexsort((spans[:, 1], spans[:, 0]))]
    # A range joins the one before unless it starts more than ``gap`` past
    # the furthest end so far.
    reach = np.maximum.accumulate(spans[:, 1])
    heads = np.flatnonzero(spans[1:, 0] - reach[:-1] > gap) + 1
    firsts = np.concatenate(([0], heads))
    lasts = np.concatenate((heads - 1, [len(spans) - 1]))
    return list(zip(spans[firsts, 0].tolist(), reach[lasts].tolist(), strict=True))


@dataclass
class WindowRecords:
    """The records of an object that a batch of windows needs.

    ``rows`` contains each window's rows of the reader's record index, and
    ``union`` the bytes of all of them, each record once, in object order.
    """

    rows: list[np.ndarray]
    union: bytes
    reader: RangedObject

    def window_bytes(self, position: int) -> bytes:
        """Return the records of the window at ``position`` alone."""
        return self.reader.bytes_of(self.rows[position])
