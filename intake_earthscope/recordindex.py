"""Record indexes of miniSEED objects: where each record sits and what it holds.

An index row is one record: byte offset, length, source identifier, time of
its first sample and time of its last sample. A *complete* index comes from
reading the whole object. A *partial* index contains the records that ranged
reads have parsed so far; the ranged reader (:mod:`intake_earthscope.rangedread`)
narrows its searches with it.

Indexes are kept in memory per process and on disk, one small ``.npz`` file
per object, under ``$INTAKE_EARTHSCOPE_CACHE_DIR`` or else the platform's
user cache directory (``platformdirs.user_cache_dir("intake-earthscope")``),
in its ``record-index`` folder. A file is written under a temporary name and
renamed into place, so readers never see half a file. The file name hashes
the object's URL, size and version tag (the modification time of a local
file, the ETag of an S3 object): an object rewritten with another size or
tag gets a new index. The window reader also checks each cached record it
reads and drops an index that no longer matches (:func:`drop_index`).

The folder is kept under ``$INTAKE_EARTHSCOPE_INDEX_CACHE_MB`` megabytes
(default 512): a write that may have taken the folder past that lists it, and
the indexes used longest ago are removed until the folder is under nine
tenths of it. The processes that share the folder count the bytes they wrote
since its last listing in one locked file there, so that together they list
it once a tenth of the limit has been written. A process waits at most
``$INTAKE_EARTHSCOPE_INDEX_LOCK_SECONDS`` seconds (default 5) for that lock.
When another process keeps it longer, this process logs a WARNING once and
counts only its own writes. The index itself is still stored and read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
from pymseed.clib import clibmseed, ffi

try:
    import fcntl
except ImportError:  # Windows: each process counts only its own writes.
    fcntl = None  # type: ignore[assignment]

from intake_earthscope.settings import float_setting, int_setting

__all__ = [
    "CACHE_DIR_VARIABLE",
    "CACHE_LIMIT_VARIABLE",
    "LOCK_WAIT_VARIABLE",
    "ByteRuns",
    "ObjectIndex",
    "RecordLookup",
    "RecordTable",
    "cache_directory",
    "drop_index",
    "load_index",
    "parse_records",
    "store_index",
    "trim_cache",
]

logger = logging.getLogger(__name__)

CACHE_DIR_VARIABLE = "INTAKE_EARTHSCOPE_CACHE_DIR"
CACHE_LIMIT_VARIABLE = "INTAKE_EARTHSCOPE_INDEX_CACHE_MB"
DEFAULT_CACHE_LIMIT_MB = 512
LOCK_WAIT_VARIABLE = "INTAKE_EARTHSCOPE_INDEX_LOCK_SECONDS"
# The lock is held only to read and rewrite a 20-byte count, so a wait this
# long means a process that hangs while it holds the lock.
DEFAULT_LOCK_WAIT_S = 5.0
_FORMAT_VERSION = 2

# The quality code and reserved byte of a miniSEED 2 fixed header, which
# follow its 6-character sequence number, or the start of a miniSEED 3 header
# ("MS", version 3). A search for these few bytes ran about five times faster
# on Steim-2 records than a search that tries the sequence number at every
# offset (measured with Python 3.11).
_HEADER_MARK = re.compile(rb"[DRQM][ \x00]|MS\x03")
_SEQUENCE_NUMBER = re.compile(rb"[0-9 \x00]{6}")

_memory: dict[str, ObjectIndex] = {}
_memory_lock = threading.Lock()

# A store lists the cache folder only when the bytes this process wrote there
# since its last listing could have taken the folder past its limit, or when
# the bytes all processes wrote there since the last listing exceed this
# share of the limit. A listing stats every file: 21 ms for 5,000 indexes,
# against about 1 ms for a store (measured on a local disk).
_RESCAN_SHARE = 0.1
_tallies: dict[Path, _Tally] = {}
_tally_lock = threading.Lock()
# The file in the cache folder that counts the bytes all processes wrote
# since the last listing, under an exclusive lock (fcntl.flock).
_SHARED_TALLY = ".written-since-listing"
# Age in seconds after which a temporary file of an index write is taken for
# one left by a process that died, and removed at the next listing.
_STALE_TEMPORARY_S = 3600
# Digits of the count in that file, zero-padded.
_TALLY_WIDTH = 20
_TALLY_MAX = 10**_TALLY_WIDTH - 1
# Folders whose tally lock a wait timed out on. Later stores try the lock
# once without waiting, so a hung holder delays one store per process only.
_locks_timed_out: set[Path] = set()


@dataclass(frozen=True)
class RecordTable:
    """Headers of miniSEED records, one row per record, sorted by offset.

    Attributes
    ----------
    offsets, lengths : numpy.ndarray of int64
        Byte offset of each record in its object, and its length.
    starts, ends : numpy.ndarray of int64
        Times of the record's first and last sample, ns since 1970 UTC.
    sources : numpy.ndarray of str
        FDSN source identifier of each record.
    """

    offsets: np.ndarray
    lengths: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    sources: np.ndarray

    @classmethod
    def empty(cls) -> RecordTable:
        """Create a table without records."""
        integers = np.zeros(0, dtype=np.int64)
        return cls(integers, integers, integers, integers, np.zeros(0, dtype="<U1"))

    def __len__(self) -> int:
        return int(self.offsets.size)

    def take(self, rows: np.ndarray) -> RecordTable:
        """Return the records at ``rows``, in that order."""
        return RecordTable(
            offsets=self.offsets[rows],
            lengths=self.lengths[rows],
            starts=self.starts[rows],
            ends=self.ends[rows],
            sources=self.sources[rows],
        )

    def merged(self, *others: RecordTable) -> RecordTable:
        """Return the records of this table and ``others``, each offset once."""
        tables = (self, *others)
        offsets = np.concatenate([table.offsets for table in tables])
        keep: np.ndarray | slice = slice(None)
        if not (offsets[1:] > offsets[:-1]).all():
            # Tables parsed in the order of their bytes are in order already,
            # and need no sort.
            _, keep = np.unique(offsets, return_index=True)

        def column(name: str) -> np.ndarray:
            return np.concatenate([getattr(table, name) for table in tables])[keep]

        return RecordTable(
            offsets=offsets[keep],
            lengths=column("lengths"),
            starts=column("starts"),
            ends=column("ends"),
            sources=column("sources"),
        )


class RecordLookup:
    """Some rows of a record table, by offset, arranged for binary searches.

    Running extremes of the records' times give "the last record that
    ends before t" and "the first record that starts after t" in
    logarithmic time, whatever the order of the times. The rows' byte
    ranges must not overlap (:meth:`ByteRuns.overlap` checks it).

    Parameters
    ----------
    table : RecordTable
        The table, sorted by offset.
    rows : numpy.ndarray of int
        Rows of ``table`` to search, ascending.
    """

    def __init__(self, table: RecordTable, rows: np.ndarray) -> None:
        self.rows = rows
        self.offsets = table.offsets[rows]
        self.byte_ends = self.offsets + table.lengths[rows]
        self.starts = table.starts[rows]
        self.ends = table.ends[rows]
        self.in_time_order = bool((np.diff(self.starts) >= 0).all())
        spans = self.ends - self.starts
        self.span = int(spans.max()) if spans.size else 0
        # Largest start and end up to each row, and smallest start and end
        # from each row on.
        self._start_reach = np.maximum.accumulate(self.starts)
        self._end_reach = np.maximum.accumulate(self.ends)
        self._start_settle = np.minimum.accumulate(self.starts[::-1])[::-1]
        self._end_settle = np.minimum.accumulate(self.ends[::-1])[::-1]

    def __len__(self) -> int:
        return int(self.rows.size)

    def bracket(
        self, starts: np.ndarray, ends: np.ndarray, size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return, per time span, the byte span that contains every record in it.

        The span runs from the end of the last record that ends before
        ``starts`` (else 0) to the first record that starts after ``ends``
        (else ``size``).
        """
        if not len(self):
            return np.zeros(starts.size, dtype=np.int64), np.full(ends.size, size)
        ended = np.searchsorted(self._end_settle, starts, side="left") - 1
        low = np.where(ended >= 0, self.byte_ends[np.maximum(ended, 0)], 0)
        later = np.searchsorted(self._start_reach, ends, side="right")
        last = len(self) - 1
        high = np.where(later <= last, self.offsets[np.minimum(later, last)], size)
        return low, np.maximum(low, high)

    def overlapping(
        self, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Find the records with samples in each time span ``[start, end]``.

        Returns ``(spans, rows)``: the position of the span and the table row
        of the record, one pair per record in a span, by span then row.
        """
        firsts = np.searchsorted(self._end_reach, starts, side="left")
        stops = np.full(starts.size, len(self))
        if self.in_time_order:
            stops = np.searchsorted(self.starts, ends, side="right")
        counts = np.maximum(stops - firsts, 0)

        # Every candidate position of every span, without a Python loop.
        spans = np.repeat(np.arange(starts.size), counts)
        heads = np.repeat(firsts - (np.cumsum(counts) - counts), counts)
        positions = np.arange(spans.size) + heads
        inside = (self.starts[positions] <= ends[spans]) & (
            self.ends[positions] >= starts[spans]
        )
        return spans[inside], self.rows[positions[inside]]

    def latest_end_before(self, offset: int) -> int | None:
        """Return the latest end time of the records that start before ``offset``."""
        count = int(np.searchsorted(self.offsets, offset, side="left"))
        return int(self._end_reach[count - 1]) if count else None

    def earliest_start_from(self, offset: int) -> int | None:
        """Return the earliest start time of the records at or after ``offset``."""
        first = int(np.searchsorted(self.offsets, offset, side="left"))
        return int(self._start_settle[first]) if first < len(self) else None


class ByteRuns:
    """The stretches of an object that known records cover, merged where they touch.

    Parameters
    ----------
    table : RecordTable
        The known records, sorted by offset.
    """

    def __init__(self, table: RecordTable) -> None:
        self._offsets = table.offsets
        self._byte_ends = table.offsets + table.lengths
        reach = np.maximum.accumulate(self._byte_ends)
        heads = np.flatnonzero(
            np.concatenate(([True], table.offsets[1:] > reach[:-1]))
            if len(table)
            else np.zeros(0, dtype=bool)
        )
        self.starts = table.offsets[heads]
        self.ends = (
            np.maximum.reduceat(self._byte_ends, heads) if heads.size else self.starts
        )

    def overlap(self) -> int | None:
        """Return the offset of the first record that overlaps the one before it."""
        clash = np.flatnonzero(self._offsets[1:] < self._byte_ends[:-1])
        return int(self._offsets[clash[0] + 1]) if clash.size else None

    def covered(self, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
        """Return, per span ``[low, high)``, whether one run covers all of it."""
        if not self.starts.size:
            return lows >= highs
        run = np.minimum(
            np.searchsorted(self.ends, lows, side="right"), self.starts.size - 1
        )
        inside = (self.starts[run] <= lows) & (self.ends[run] >= highs)
        return (lows >= highs) | inside

    def gaps(self, low: int, high: int) -> list[tuple[int, int]]:
        """List the stretches of ``[low, high)`` that no run covers."""
        gaps = []
        position = low
        run = int(np.searchsorted(self.ends, low, side="right"))
        while run < self.starts.size and self.starts[run] < high:
            if self.starts[run] > position:
                gaps.append((position, int(self.starts[run])))
            position = max(position, int(self.ends[run]))
            run += 1
        if position < high:
            gaps.append((position, high))
        return gaps


@dataclass(frozen=True)
class ObjectIndex:
    """The known records of one object.

    ``complete`` is true when every record of the object is in ``records``
    (the index was built from the whole object).
    """

    size: int
    records: RecordTable
    complete: bool = False

    def with_records(self, table: RecordTable) -> ObjectIndex:
        """Return the index with the records of ``table`` added."""
        if not len(table):
            return self
        return ObjectIndex(self.size, self.records.merged(table), self.complete)


def parse_records(
    data: bytes | bytearray | memoryview, base: int = 0, synced: bool = False
) -> RecordTable:
    """Parse the headers of the whole records in ``data``.

    ``data`` is the byte range of an object that starts at offset ``base``,
    as bytes or as a memoryview, which shares the bytes instead of copying
    them. Unless ``synced`` is true (a record starts at the first byte), the bytes
    before the first record header are skipped. Parsing stops at the first
    record cut by the end of ``data`` or at bytes that are not miniSEED. A
    miniSEED 2 record without Blockette 1000 has no length of its own, so
    parsing stops there too.
    """
    start = 0 if synced else _first_record(data)
    if start is None:
        return RecordTable.empty()
    return _walk_headers(data, start, base)


def cache_directory() -> Path:
    """Return the folder of cached record indexes (not created here)."""
    root = os.environ.get(CACHE_DIR_VARIABLE) or platformdirs.user_cache_dir(
        "intake-earthscope"
    )
    return Path(root) / "record-index"


def load_index(url: str, size: int, version: str = "") -> ObjectIndex | None:
    """Return the cached index of the object at ``url`` of ``size`` bytes.

    ``version`` is the object's version tag (modification time or ETag), or
    ``""`` where the storage has none.
    """
    name = _cache_name(url, size, version)
    with _memory_lock:
        cached = _memory.get(name)
    if cached is not None:
        return cached

    path = cache_directory() / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            index = _from_arrays(stored, size)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        # Empty or cut files (a crash mid-write by another tool, a full disk)
        # are misses: the index is rebuilt from the object.
        logger.info("ignoring the unreadable record index %s: %s", path, error)
        return None
    if index is not None:
        _touch(path)
        with _memory_lock:
            _memory.setdefault(name, index)
    return index


def store_index(url: str, index: ObjectIndex, version: str = "") -> None:
    """Keep ``index`` in this process and write it to the cache folder.

    A partial index adds its records to the partial index this process
    holds for the object already, so that readers of one object in
    parallel tasks keep what each of them found. A folder that cannot be
    written is logged and skipped: the index is a shortcut, never needed
    for a correct read.
    """
    # Both settings are read before the index is kept, so that an invalid
    # value fails every store, not only the first of an object.
    limit = int_setting(CACHE_LIMIT_VARIABLE, DEFAULT_CACHE_LIMIT_MB, 1) * 10**6
    _lock_wait_s()
    name = _cache_name(url, index.size, version)
    with _memory_lock:
        current = _memory.get(name)
        if current is not None and current.complete and not index.complete:
            return
        if current is not None and not index.complete:
            index = current.with_records(index.records)
        _memory[name] = index

    folder = cache_directory()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = _write_atomically(folder / f"{name}.npz", index)
    except OSError as error:
        logger.info("record index of %s not cached in %s: %s", url, folder, error)
        return
    if _trim_due(folder, written, limit):
        _trim(folder, limit)


@dataclass
class _Tally:
    """The cache folder's size at this process's last listing, and the bytes
    this process wrote there since."""

    listed: int
    written: int = 0


def _trim_due(folder: Path, written: int, limit_bytes: int) -> bool:
    """Count ``written`` bytes; return whether the folder needs a listing."""
    shared = _add_shared(folder, written)
    share = limit_bytes * _RESCAN_SHARE
    with _tally_lock:
        tally = _tallies.get(folder)
        if tally is None:
            return True
        tally.written += written
        if shared is None:
            # Without the shared count, this process's writes stand in for
            # those of all processes.
            shared = tally.written
        return tally.listed + tally.written > limit_bytes or shared > share


def _add_shared(folder: Path, written: int, reset: bool = False) -> int | None:
    """Add ``written`` to the bytes all processes wrote to ``folder`` since its
    last listing, or start the count again with ``reset``; return the count.

    Returns None where the count cannot be kept: on a system without
    ``fcntl`` (Windows), where the file cannot be locked or written, or
    where another process holds its lock longer than the lock wait.
    """
    if fcntl is None:
        return None
    wait_s = _lock_wait_s()
    try:
        descriptor = os.open(folder / _SHARED_TALLY, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _lock(descriptor, folder, wait_s):
                return None
            return _count_in(descriptor, written, reset)
        finally:
            os.close(descriptor)
    except OSError as error:
        logger.debug("no shared tally of record indexes in %s: %s", folder, error)
        return None


def _lock_wait_s() -> float:
    """Return the longest wait for the tally lock, in seconds.

    Raises
    ------
    ValueError
        If ``INTAKE_EARTHSCOPE_INDEX_LOCK_SECONDS`` is not a number of at
        least 0.
    """
    return float_setting(LOCK_WAIT_VARIABLE, DEFAULT_LOCK_WAIT_S, 0.0)


def _lock(descriptor: int, folder: Path, wait_s: float) -> bool:
    """Take the exclusive lock of the open tally file of ``folder`` within
    ``wait_s`` seconds, and return whether that succeeded.

    A wait that times out logs a WARNING, once per folder until the lock is
    taken again.
    """
    with _tally_lock:
        timed_out_before = folder in _locks_timed_out
    deadline = time.monotonic() + (0.0 if timed_out_before else wait_s)
    pause = 0.001
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                _report_lock_timeout(folder, wait_s, timed_out_before)
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    if timed_out_before:
        with _tally_lock:
            _locks_timed_out.discard(folder)
        logger.info("the tally lock of record indexes in %s is free again", folder)
    return True


def _report_lock_timeout(folder: Path, wait_s: float, timed_out_before: bool) -> None:
    # Threads that waited together all time out, and only the first warns.
    with _tally_lock:
        first = folder not in _locks_timed_out
        _locks_timed_out.add(folder)
    if timed_out_before or not first:
        logger.debug("tally lock of record indexes in %s still held", folder)
        return
    logger.warning(
        "timed out after %g s waiting for the lock of %s, which another process "
        "holds; this process now counts only its own record index writes and "
        "stores and reads indexes as before (set %s to wait longer)",
        wait_s,
        folder / _SHARED_TALLY,
        LOCK_WAIT_VARIABLE,
    )


def _count_in(descriptor: int, written: int, reset: bool) -> int:
    """Add ``written`` to the count in the open tally file, which the caller
    has locked."""
    content = os.pread(descriptor, _TALLY_WIDTH + 1, 0)
    text = content.strip()
    # More digits than the width are no count this module wrote, so start again.
    counted = text.isdigit() and len(text) <= _TALLY_WIDTH and not reset
    count = min(written + (int(text) if counted else 0), _TALLY_MAX)

    # The count is written over the last one at a fixed width, because
    # truncating the file at every store took about 1 ms on ext4 (10 us now).
    os.pwrite(descriptor, b"%0*d" % (_TALLY_WIDTH, count), 0)
    if len(content) > _TALLY_WIDTH:
        os.ftruncate(descriptor, _TALLY_WIDTH)
    return count


def _trim(folder: Path, limit_bytes: int) -> None:
    """Trim ``folder`` to its limit and start new tallies from its size."""
    _add_shared(folder, 0, reset=True)
    try:
        _, total = _trim_listed(folder, limit_bytes)
    except OSError as error:
        logger.info("record indexes in %s not trimmed: %s", folder, error)
        return
    with _tally_lock:
        _tallies[folder] = _Tally(total)


def trim_cache(folder: Path, limit_bytes: int) -> int:
    """Remove the indexes used longest ago while ``folder`` has more than
    ``limit_bytes`` of them, down to nine tenths of it, and return the count.

    The modification time marks the last use, because each load from disk
    renews it.
    Files another process removes first are skipped.
    """
    return _trim_listed(folder, limit_bytes)[0]


def _trim_listed(folder: Path, limit_bytes: int) -> tuple[int, int]:
    """Trim ``folder`` as :func:`trim_cache` does; return the count of files
    removed and the bytes of those left."""
    files = []
    stale_before = time.time_ns() - _STALE_TEMPORARY_S * 10**9
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.name.endswith((".npz", ".tmp")):
                continue
            try:
                stat = entry.stat()
            except OSError:
                continue
            if entry.name.endswith(".npz"):
                files.append((stat.st_mtime_ns, stat.st_size, entry.path))
            elif stat.st_mtime_ns < stale_before:
                _remove_stale_temporary(entry.path)
    total = sum(size for _, size, _ in files)
    if total <= limit_bytes:
        return 0, total

    removed = 0
    for _, size, path in sorted(files):
        if total <= limit_bytes * 0.9:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
        removed += 1
    logger.info(
        "removed %d record indexes from %s to stay under its limit", removed, folder
    )
    return removed, total


def _remove_stale_temporary(path: str) -> None:
    # A process killed between writing an index and renaming it leaves its
    # temporary file behind. One this old is no write in progress.
    try:
        os.unlink(path)
    except OSError as error:
        logger.debug("stale temporary index %s not removed: %s", path, error)


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        # A read-only cache still serves its indexes.
        pass


def drop_index(url: str, size: int, version: str = "") -> None:
    """Drop the index of an object from this process and from the cache folder."""
    name = _cache_name(url, size, version)
    with _memory_lock:
        _memory.pop(name, None)
    path = cache_directory() / f"{name}.npz"
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        logger.info("stale record index %s not removed: %s", path, error)


def forget_indexes() -> None:
    """Drop the indexes this process keeps in memory (the files stay), and
    its tally of the cache folder's size, as a new process starts."""
    with _memory_lock:
        _memory.clear()
    with _tally_lock:
        _tallies.clear()
        _locks_timed_out.clear()


def _cache_name(url: str, size: int, version: str) -> str:
    text = f"{_FORMAT_VERSION}\n{url}\n{size}\n{version}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _write_atomically(path: Path, index: ObjectIndex) -> int:
    """Write ``index`` to ``path`` through a temporary file; return its bytes."""
    table = index.records
    names, codes = _source_codes(table.sources)
    # The archive is built in memory and written in one call, because the zip
    # writer's many small writes and seeks cost more on a file.
    archive = io.BytesIO()
    np.savez(
        archive,
        version=np.array(_FORMAT_VERSION),
        size=np.array(index.size),
        complete=np.array(index.complete),
        offsets=table.offsets,
        lengths=table.lengths,
        starts=table.starts,
        ends=table.ends,
        # Each source as a code into its list of names: a column of
        # full strings would take most of the file.
        names=names,
        codes=codes.astype(np.int32),
    )
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(archive.getbuffer())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return archive.getbuffer().nbytes


# Up to this many distinct sources, _source_codes compares the column with
# each of them instead of sorting it.
_FEW_SOURCES = 16


def _source_codes(sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted distinct ``sources`` and the position of each source
    among them, as ``np.unique(sources, return_inverse=True)`` does.

    An object contains a few channels, and one comparison of the column per
    channel costs less than sorting its strings.
    """
    names: list[str] = []
    codes = np.zeros(sources.size, dtype=np.intp)
    left = np.ones(sources.size, dtype=bool)
    rest = np.flatnonzero(left)
    while rest.size:
        if len(names) == _FEW_SOURCES:
            return np.unique(sources, return_inverse=True)
        name = sources[rest[0]]
        same = sources == name
        codes[same] = len(names)
        names.append(name)
        left &= ~same
        rest = np.flatnonzero(left)

    unsorted = np.array(names, dtype=sources.dtype)
    order = np.argsort(unsorted)
    ranks = np.empty(order.size, dtype=np.intp)
    ranks[order] = np.arange(order.size)
    return unsorted[order], ranks[codes]


def _from_arrays(stored: np.lib.npyio.NpzFile, size: int) -> ObjectIndex | None:
    if int(stored["version"]) != _FORMAT_VERSION or int(stored["size"]) != size:
        return None
    table = RecordTable(
        offsets=stored["offsets"].astype(np.int64),
        lengths=stored["lengths"].astype(np.int64),
        starts=stored["starts"].astype(np.int64),
        ends=stored["ends"].astype(np.int64),
        sources=stored["names"][stored["codes"]],
    )
    return ObjectIndex(size, table, bool(stored["complete"]))


def _first_record(data: bytes | bytearray | memoryview) -> int | None:
    """Return the offset of the first record header whose successor checks out."""
    buffer = ffi.from_buffer(data)
    version = ffi.new("uint8_t *")
    for offset in _header_candidates(data):
        length = clibmseed.ms3_detect(buffer + offset, len(data) - offset, version)
        if length <= 0:
            continue
        following = offset + length
        if following >= len(data):
            # The record reaches the end of the range: nothing to cross-check.
            return offset if following == len(data) else None
        if clibmseed.ms3_detect(buffer + following, len(data) - following, version):
            return offset
    return None


def _header_candidates(data: bytes | bytearray | memoryview) -> Iterator[int]:
    """Yield, in ascending order, each offset where a miniSEED 2 fixed header
    (6-character sequence number, quality code, reserved byte) or a miniSEED 3
    header may start.

    A miniSEED 2 offset is 6 bytes before its mark, so a miniSEED 2 mark
    found just after a miniSEED 3 mark could give an earlier offset. Such an
    offset is rejected, because its 6 bytes include the "M" of the miniSEED 3
    mark, which no sequence number contains.
    """
    for match in _HEADER_MARK.finditer(data):
        mark = match.start()
        if match.end() - mark == 3:
            yield mark
        elif mark >= 6 and _SEQUENCE_NUMBER.fullmatch(data, mark - 6, mark):
            yield mark - 6


def _walk_headers(
    data: bytes | bytearray | memoryview, start: int, base: int
) -> RecordTable:
    """Parse consecutive record headers from ``start``.

    libmseed reads the records into a trace list of record pointers in one
    call, which then gives each record's offset, length and times. A call
    per record would release and take back the GIL twice per record, which
    under threads costs more than the parsing. Should the trace list leave
    out a record, so that the offsets do not follow each other, the headers
    are parsed one by one instead.
    """
    table = _listed_records(data, start)
    if table is None:
        table = _parsed_records(data, start)
    if base and len(table):
        table = dataclasses.replace(table, offsets=table.offsets + base)
    return table


def _listed_records(
    data: bytes | bytearray | memoryview, start: int
) -> RecordTable | None:
    """Read the records from ``start`` into a libmseed trace list and list them.

    Returns None when the records found do not follow one another from
    ``start`` without a gap.
    """
    buffer = ffi.from_buffer(data)
    holder = ffi.new("MS3TraceList **")
    clibmseed.mstl3_readbuffer_selection(
        holder,
        buffer + start,
        len(data) - start,
        1,
        clibmseed.MSF_RECORDLIST,
        ffi.NULL,
        ffi.NULL,
        0,
    )
    try:
        columns = _RecordColumns()
        columns.read(holder[0], ffi.cast("const char *", buffer))
    finally:
        clibmseed.mstl3_free(holder, 1)

    table = columns.table()
    follows = table.offsets[1:] == table.offsets[:-1] + table.lengths[:-1]
    if len(table) and (table.offsets[0] != start or not follows.all()):
        return None
    return table


class _RecordColumns:
    """Offsets, lengths and times of the records of a trace list, by trace."""

    def __init__(self) -> None:
        self.offsets: list[int] = []
        self.lengths: list[int] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.names: list[str] = []
        self.counts: list[int] = []

    def read(self, traces: Any, origin: Any) -> None:
        """Append the records of each trace of ``traces``.

        ``origin`` is a ``const char *`` to the buffer's first byte, so that a
        record's offset is a pointer difference.
        """
        null = ffi.NULL
        if traces == null:
            return
        offsets, lengths = self.offsets, self.lengths
        starts, ends = self.starts, self.ends
        trace = traces.traces.next[0]
        while trace != null:
            self.names.append(ffi.string(trace.sid).decode())
            before = len(offsets)
            segment = trace.first
            while segment != null:
                records = segment.recordlist
                pointer = records.first if records != null else null
                while pointer != null:
                    record = pointer.msr
                    offsets.append(pointer.bufferptr - origin)
                    lengths.append(record.reclen)
                    starts.append(record.starttime)
                    ends.append(pointer.endtime)
                    pointer = pointer.next
                segment = segment.next
            self.counts.append(len(offsets) - before)
            trace = trace.next[0]

    def table(self) -> RecordTable:
        """Return the records as a table sorted by offset."""
        if not self.offsets:
            return RecordTable.empty()
        offsets = np.array(self.offsets, dtype=np.int64)
        order = np.argsort(offsets, kind="stable")
        sources = np.repeat(np.array(self.names, dtype=str), self.counts)
        return RecordTable(
            offsets=offsets[order],
            lengths=np.array(self.lengths, dtype=np.int64)[order],
            starts=np.array(self.starts, dtype=np.int64)[order],
            ends=np.array(self.ends, dtype=np.int64)[order],
            sources=sources[order],
        )


def _parsed_records(data: bytes | bytearray | memoryview, start: int) -> RecordTable:
    """Parse consecutive record headers from ``start``, one cffi call each."""
    buffer = ffi.from_buffer(data)
    pointer = ffi.new("MS3Record **")
    parse, end_time, text = clibmseed.msr3_parse, clibmseed.msr3_endtime, ffi.string
    rows = []
    offset, size = start, len(data)
    try:
        while offset < size:
            # 0 is a whole record; above 0 a record cut by the end of the
            # range; below 0 bytes that are not miniSEED.
            if parse(buffer + offset, size - offset, pointer, 0, 0) != 0:
                break
            record = pointer[0]
            length = record.reclen
            if length <= 0 or offset + length > size:
                break
            rows.append(
                (offset, length, record.starttime, end_time(record), text(record.sid))
            )
            offset += length
    finally:
        clibmseed.msr3_free(pointer)
    return _as_table(rows)


def _as_table(rows: list[tuple[int, int, int, int, bytes]]) -> RecordTable:
    if not rows:
        return RecordTable.empty()
    offsets, lengths, starts, ends, sources = zip(*rows, strict=True)
    names = {sid: sid.decode() for sid in set(sources)}
    return RecordTable(
        offsets=np.array(offsets, dtype=np.int64),
        lengths=np.array(lengths, dtype=np.int64),
        starts=np.array(starts, dtype=np.int64),
        ends=np.array(ends, dtype=np.int64),
        sources=np.array([names[sid] for sid in sources], dtype=str),
    )
