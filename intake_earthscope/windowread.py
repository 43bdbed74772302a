"""Read batches of event windows from the objects their records sit in.

Each dask task of :func:`intake_earthscope.windows.open_windows` reads one
batch of windows of one group of traces. It finds each object's records of
the windows with ranged reads (:mod:`intake_earthscope.rangedread`) and
decodes them once per object. Then it places every window's samples on its
grid and computes the outcome of each window and trace. Objects of the day before
are read for records that cross midnight into a window. Failed objects are
reported under the request's ``errors=`` policy once all windows are placed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import NoReturn

import numpy as np

from intake_earthscope.codes import SeedId
from intake_earthscope.decode import decode_and_place
from intake_earthscope.errors import (
    AccessDeniedError,
    AuthenticationError,
    BucketNotFoundError,
    CredentialsError,
    DecodeError,
    ObjectNotFoundError,
    StorageUnavailableError,
)
from intake_earthscope.outcomes import (
    FAILURE_ORDER,
    UnitRead,
    apply_policy,
    joint_failure,
    previous_day_error,
    report_rate_mismatch,
    task_hint,
    unit_status,
    warn_read_outcome,
)
from intake_earthscope.place import Grid, PlacedBlock
from intake_earthscope.rangedread import ObjectWindows, RangedObject, WindowRecords
from intake_earthscope.storage import (
    StorageSpec,
    unexpected_failure,
)
from intake_earthscope.tasks import ChunkResult, _decodable_records, finish_chunk
from intake_earthscope.timeutil import NS_PER_DAY, format_ns
from intake_earthscope.windowdecode import (
    ObjectSamples,
    day_bounds,
    decode_object,
    place_by_day,
    place_window,
    plan_windows,
)

__all__ = [
    "OUTCOME_FIELDS",
    "SPILL_NS",
    "spill_reach_ns",
    "BatchObject",
    "WindowBatch",
    "read_window_batch",
]

logger = logging.getLogger(__name__)

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
# start less than spill_reach_ns() after midnight also search the previous
# day's object: at least this long, longer for slow channels.
SPILL_NS = 3600 * 1_000_000_000

# Steim-2 packs at most 7 samples into a 32-bit word, so a 4096-byte record
# (63 frames of 64 bytes after its header) contains at most 6,601 samples. Twice
# that covers records of up to 8192 bytes.
# NOTE: a window after midnight misses a record longer than 8192 bytes that
# starts earlier than this reach before midnight.
MAX_RECORD_SAMPLES = 2 * 6_601


def spill_reach_ns(step_ns: float) -> int:
    """Return how long after midnight a record of the day before may still run,
    for channels sampled every ``step_ns`` nanoseconds."""
    return max(SPILL_NS, int(np.ceil(MAX_RECORD_SAMPLES * step_ns)))


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
    found: WindowRecords | None
    read_mode: str
    state: str
    seen: set[str]
    tier: str
    failure: str = ""
    url: str = ""
    error: Exception | None = None


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
    it starts within :func:`spill_reach_ns` after midnight. When an object that the
    window overlaps fails, the window's traces get the status of the failure
    that explains the missing samples best (see :func:`_window_failures`).
    Samples from the window's other objects are kept. A failed object of
    the day before, read only for records that cross midnight into a window
    whose own objects were read, leaves the window's status as it is, but
    is reported all the same. Once all windows are placed, the ``errors``
    policy applies to every failed object that a window reports:
    ``"raise"`` raises one error that names each of them, ``"warn"`` warns
    once per object.
    """
    sources = [trace.sourceid for trace in traces]
    spans = [_window_span(grid) for grid in grids]
    days = [item.day_ns for item in objects]
    users = [_users(item, grids) for item in objects]

    reads = []
    for item, windows in zip(objects, users, strict=True):
        reads.append(_read_object(item, windows, spans, sources, traces))

    width = grids[0].size if grids else 0
    waveform = np.empty((len(grids), len(traces), width))
    outcomes: dict[str, list[np.ndarray]] = {}
    reported: set[int] = set()
    spill_only: set[int] = set()
    left_out: list[set[float]] = [set() for _ in traces]

    def holds_left_out(position: int, row: int) -> bool:
        # Whether the object has a segment of the trace at a left-out rate in
        # a window that reads it. One decoded window by window is not known
        # here, so it counts.
        decoded = samples[position]
        if reads[position].error is not None:
            return False
        if decoded is None:
            return bool(users[position])
        for number in users[position]:
            start, end = spans[number]
            for segments in decoded.get(row, ()):
                hits = (segments.starts <= end) & (segments.ends >= start)
                if left_out[row] & set(segments.table.rates[hits].tolist()):
                    return True
        return False

    with ExitStack() as stack:
        samples = [_decode_read(read, traces, stack) for read in reads]
        for decoded, windows in zip(samples, users, strict=True):
            if decoded:
                plan_windows(decoded, list(windows), grids, spans)
        for number, grid in enumerate(grids):
            window = _Window(number, grid, spans[number], waveform[number], left_out)
            result, read_mode, failed, spill_failed = _finish_window(
                window, users, reads, samples, traces, rate_tolerance, days
            )
            reported.update(failed)
            spill_only.update(spill_failed)
            for name in OUTCOME_FIELDS:
                outcomes.setdefault(name, []).append(getattr(result, name))
            outcomes.setdefault("read_mode", []).append(read_mode)
        # Each trace's message names the objects that contain its left-out
        # records.
        holders = [
            [read.url for i, read in enumerate(reads) if holds_left_out(i, row)]
            if rates
            else []
            for row, rates in enumerate(left_out)
        ]

    # An object that sets the status of some window is reported as that
    # window's failure, without the previous-day context.
    spill_only -= reported
    for position in spill_only:
        reads[position] = _spill_failure(reads[position], objects[position])
    _report_failures(reads, reported, spill_only, errors)
    for trace, rates, urls in zip(traces, left_out, holders, strict=True):
        if rates:
            report_rate_mismatch([trace], [rates], ", ".join(urls), grids[0], errors)
    return WindowBatch(waveform, {k: np.stack(v) for k, v in outcomes.items()})


@dataclass
class _Window:
    number: int
    grid: Grid
    span: tuple[int, int]
    out: np.ndarray
    # The rates of records left out of each trace's row, over all windows.
    left_out: list[set[float]]


def _decode_read(
    read: _ObjectRead, traces: Sequence[SeedId], stack: ExitStack
) -> ObjectSamples | None:
    """Decode the records an object gave for all its windows at once.

    None means libmseed rejected them together, so that each window decodes
    its own records and only the windows with a bad record lose it.
    """
    if read.found is None:
        return {}
    try:
        return decode_object(read.found.union, traces, stack)
    except DecodeError as error:
        logger.debug("decoding the windows of %s one by one: %s", read.url, error)
        return None


def _window_span(grid: Grid) -> tuple[int, int]:
    """Return the times a window's samples may come from, one sample of margin."""
    step = int(np.ceil(grid.step_ns))
    last = grid.start_ns + int(np.ceil((grid.size - 1) * grid.step_ns))
    return grid.start_ns - step, last + step


def _users(item: BatchObject, grids: Sequence[Grid]) -> dict[int, bool]:
    """Map each window that reads ``item`` to whether it overlaps the object's day."""
    # NOTE: the object of the day after is read only where the window's span,
    # one step wider than the window, reaches midnight. A day read also takes
    # the samples of that object's records that start earlier before midnight
    # (filed a day late), so a window ending before midnight can miss them.
    day_end = item.day_ns + NS_PER_DAY
    used = {}
    for number, grid in enumerate(grids):
        start, end = _window_span(grid)
        first = grid.start_ns
        last = first + int(np.ceil((grid.size - 1) * grid.step_ns))
        if item.day_ns <= end and start < day_end + spill_reach_ns(grid.step_ns):
            used[number] = item.day_ns <= last and first < day_end
    return used


def _read_object(
    item: BatchObject,
    windows: dict[int, bool],
    spans: list[tuple[int, int]],
    sources: list[str],
    traces: Sequence[SeedId],
) -> _ObjectRead:
    tier = item.spec.outcome_tier
    if not windows:
        return _ObjectRead(None, "", "ok", set(), tier)
    try:
        return _read_ranges(item, windows, spans, sources, traces)
    except AuthenticationError:
        raise
    except (
        ObjectNotFoundError,
        AccessDeniedError,
        CredentialsError,
        StorageUnavailableError,
        DecodeError,
    ) as error:
        return _failed_read(error, item)
    except OSError as error:
        # Any other storage error, such as a 400 response, is a read failure
        # too, and it is not retried.
        failure = unexpected_failure(item.spec, item.key or "", error)
        return _failed_read(failure, item)


def _read_ranges(
    item: BatchObject,
    windows: dict[int, bool],
    spans: list[tuple[int, int]],
    sources: list[str],
    traces: Sequence[SeedId],
) -> _ObjectRead:
    """Find the records the object's windows need; raise the storage's errors."""
    name = _object_name(item, traces)
    if item.key is None:
        raise ObjectNotFoundError(
            f"{name} not in the listing of {item.spec.describe_origin()}"
        )
    requested = ObjectWindows(
        starts=tuple(spans[number][0] for number in windows),
        ends=tuple(spans[number][1] for number in windows),
    )
    try:
        reader = RangedObject(item.spec, item.key, item.day_ns, sources)
        found = reader.records_for(requested)
    except ObjectNotFoundError as error:
        # The key may come from a listing or from exact codes, so the message
        # does not say which.
        raise ObjectNotFoundError(
            f"{name} not found in {item.spec.origin}: {item.spec.url(item.key)}"
        ) from error
    logger.debug(
        "%s: %d windows from %d bytes (%s)",
        reader.url,
        len(windows),
        reader.bytes_read,
        reader.read_mode,
    )
    return _ObjectRead(
        found,
        reader.read_mode,
        reader.state,
        reader.seen_sources(),
        item.spec.outcome_tier,
        url=reader.url,
    )


def _object_name(item: BatchObject, traces: Sequence[SeedId]) -> str:
    """Name the stations and day of an object, for error messages."""
    stations = ", ".join(sorted({f"{t.network}.{t.station}" for t in traces}))
    return f"object of {stations} for {format_ns(item.day_ns)[:10]}"


def _failed_read(error: Exception, item: BatchObject) -> _ObjectRead:
    """Record an object that could not be read, for the windows to report."""
    # The windows decide whether the failure counts, because the previous
    # day's records may fill a window whose own object is missing.
    status = _failure_status(error)
    url = item.spec.url(item.key) if item.key else ""
    return _ObjectRead(
        None, "", "ok", set(), item.spec.outcome_tier, status, url=url, error=error
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
    if isinstance(error, ObjectNotFoundError | BucketNotFoundError):
        return "missing"
    if isinstance(error, AccessDeniedError | CredentialsError):
        return "access_denied"
    if isinstance(error, StorageUnavailableError):
        return "unreachable"
    return "unreadable"


def _main_failure(failed: Sequence[_ObjectRead]) -> _ObjectRead:
    """Return the first failed read of the highest-ranked status."""
    return min(failed, key=lambda read: FAILURE_ORDER.index(read.failure))


def _window_failures(
    overlapped: list[int],
    previous: list[int],
    reads: list[_ObjectRead],
    complete: np.ndarray,
) -> tuple[list[int], list[int]]:
    """Return the positions of the failed objects that a window reports:
    those that set its status, and those reported without it.

    ``overlapped`` are the failed objects of the days the window overlaps,
    ``previous`` the failed objects read only for records that run past
    midnight into it. Where an object of ``overlapped`` failed, the window
    reports the objects of both lists with its status, because the previous
    day's records might have filled the samples that are missing. It does
    not where only missing objects failed and the other objects filled every
    trace (``complete``). Otherwise the window's own objects were read, so
    its status stays theirs, and only the objects of ``previous`` that exist
    but failed are reported, since the first day of an archive has no
    previous object.
    """
    only_missing = all(reads[i].failure == "missing" for i in overlapped)
    if overlapped and not (complete.all() and only_missing):
        return sorted(overlapped + previous), []
    return [], [i for i in previous if reads[i].failure != "missing"]


def _report_failures(
    reads: list[_ObjectRead], reported: set[int], spill_only: set[int], errors: str
) -> None:
    """Apply the ``errors`` policy to each object that a window reports.

    ``reported`` are the failures that set the status of a window, and
    ``spill_only`` those of the day before that left the status as it was.
    Under ``errors="raise"`` one error names every such object. Its class is
    that of the failure :func:`_main_failure` picks, so only a read in which
    every reported object is missing raises ``ObjectNotFoundError``.
    """
    positions = sorted(reported | spill_only)
    for position, read in enumerate(reads):
        if read.error is not None and position not in positions:
            logger.debug("no window reports this failure: %s", read.error)
    failed = [reads[position] for position in positions]
    if failed and errors == "raise":
        _raise_failures(failed)

    for position in positions:
        read = reads[position]
        if position in spill_only:
            # No status records this failure, so it is logged at INFO even
            # under errors="ignore".
            level = logging.INFO
            effect = "the windows after midnight kept the samples of their own objects"
        else:
            # With errors="ignore" the status variable is the only report, as
            # for days.
            level = logging.INFO if errors == "warn" else logging.DEBUG
            effect = (
                "the windows that need this object have NaN where no other "
                "object had samples"
            )
        logger.log(level, "%s: %s", read.failure, read.error)
        if errors == "warn":
            warn_read_outcome(
                f"{read.error} (status {read.failure!r}); {effect}", _WINDOW_HINT
            )


# Appended to a warning raised in a dask worker thread, where no frame of the
# user's code points at the windows.
_WINDOW_HINT = task_hint(
    "the windows", "outcome_table(windows) lists the status of each window and trace"
)


def _spill_failure(read: _ObjectRead, item: BatchObject) -> _ObjectRead:
    """Return the failed read of a previous-day object with an error of the
    same class whose message states why the object was read."""
    # A failed read has a key: an unlisted object is missing, not failed.
    assert read.error is not None and item.key is not None
    day_ns = item.day_ns + NS_PER_DAY
    error = previous_day_error(read.error, item.key, item.spec.origin, day_ns)
    return replace(read, error=error)


def _raise_failures(failed: list[_ObjectRead]) -> NoReturn:
    """Raise one error whose message names every object of ``failed`` in
    order, with its status; its class is that of :func:`_main_failure`."""
    if len(failed) > 1:
        heading = f"{len(failed)} objects that the windows need failed:"
        raise joint_failure(heading, [_status_and_error(read) for read in failed])
    status, error = _status_and_error(failed[0])
    apply_policy(error, "raise", status)
    # apply_policy raises under "raise", so this line is for type checkers.
    raise error


def _status_and_error(read: _ObjectRead) -> tuple[str, Exception]:
    assert read.error is not None
    return read.failure, read.error


def _finish_window(
    window: _Window,
    users: list[dict[int, bool]],
    reads: list[_ObjectRead],
    samples: list[ObjectSamples | None],
    traces: Sequence[SeedId],
    rate_tolerance: float,
    days: Sequence[int],
) -> tuple[ChunkResult, np.ndarray, list[int], list[int]]:
    """Place one window's samples and return its outcomes, its read mode,
    and the positions of the failed objects it reports with and without
    its status (see :func:`_window_failures`). ``days`` contains the UTC
    day of each object, in nanoseconds."""
    number, grid = window.number, window.grid
    state, seen = "ok", set()
    # Read modes and tiers of the objects the window overlaps, and of those
    # read only for their records that run past midnight, with whether their
    # records reach the window (None: not known before placing).
    modes: set[str] = set()
    tier = ""
    spills: list[tuple[str, str, bool | None]] = []
    overlapped: list[int] = []
    previous: list[int] = []
    used: list[tuple[int, _ObjectRead, ObjectSamples | None, bool]] = []
    used_days: list[int] = []
    for position, (windows, read, decoded) in enumerate(
        zip(users, reads, samples, strict=True)
    ):
        if number not in windows:
            continue
        if read.error is not None:
            (overlapped if windows[number] else previous).append(position)
            continue
        overlaps = windows[number]
        used.append((list(windows).index(number), read, decoded, overlaps))
        used_days.append(days[position])
        if overlaps:
            modes.add(read.read_mode)
            tier = tier or read.tier
        else:
            reaches = _reaches(decoded, grid)
            spills.append((read.read_mode, read.tier, reaches))
        seen |= read.seen
        if read.state != "ok" and overlaps:
            state = read.state

    if all(decoded is not None for _, _, decoded, _ in used):
        # A window has no neighbouring chunks, so the samples of its records
        # outside it are left out rather than collected.
        block = PlacedBlock.empty(
            len(traces), 0, grid.size, filled=False, out=window.out
        )
        block.reach = grid.samples_per_day
        objects = [decoded for _, _, decoded, _ in used if decoded is not None]
        span = window.span
        place_window(block, objects, grid, span, rate_tolerance, number, used_days)
    else:
        block, state = _decode_window(
            used, traces, grid, rate_tolerance, state, used_days
        )
        window.out[...] = block.data

    for rates, skipped in zip(window.left_out, block.mismatched_rates, strict=True):
        rates |= skipped

    status = unit_status(block, state)
    complete = block.written >= grid.size
    failed, spill_failed = _window_failures(overlapped, previous, reads, complete)
    # When every object the window overlaps is missing, traces that other
    # objects filled in full keep their status.
    only_missing = all(reads[i].failure == "missing" for i in overlapped)
    failure = _main_failure([reads[i] for i in failed]).failure if failed else ""
    for row, trace in enumerate(traces):
        if status[row] == "no_matching_channel" and trace.sourceid in seen:
            # The object has the channel, only not in this window, unless the
            # window's records were in the part of a truncated or damaged
            # object that was lost.
            status[row] = state if state != "ok" else "no_data_in_window"
        if failure and not (only_missing and complete[row]):
            status[row] = failure
    # A read of the day before is shown only where its records reach the
    # window, so one that gave the window nothing does not look like its
    # source. Where that is not known, it is shown if the window has samples.
    spilled = bool(np.any(block.written))
    for spill_mode, spill_tier, reaches in spills:
        if reaches or (reaches is None and spilled):
            modes.add(spill_mode)
            tier = tier or spill_tier
    unit = UnitRead(block=block, status=status, key=None, tier=tier)
    result = finish_chunk(unit, None, None, grid)

    mode = "ranged" if modes else ""
    if "whole_object" in modes:
        mode = "whole_object"
    modes_array = np.array([mode] * len(traces), dtype="<U12")
    return result, modes_array, failed, spill_failed


def _reaches(decoded: ObjectSamples | None, grid: Grid) -> bool | None:
    """Return whether an object's decoded records of the requested traces reach
    an index of ``grid``, or None where they were not decoded together.

    A sample lands on the nearest index, so records reach the grid where they
    come within half a step of its first or last index. The window's span,
    one step wider on each side, would count a record whose last sample is
    one step before the first index, which gives the window nothing.
    """
    if decoded is None:
        return None
    half_step = grid.step_ns / 2
    start = grid.start_ns - half_step
    end = grid.start_ns + (grid.size - 1) * grid.step_ns + half_step
    return any(
        bool(np.any((segments.starts <= end) & (segments.ends >= start)))
        for versions in decoded.values()
        for segments in versions
    )


def _decode_window(
    used: list[tuple[int, _ObjectRead, ObjectSamples | None, bool]],
    traces: Sequence[SeedId],
    grid: Grid,
    rate_tolerance: float,
    state: str,
    days: Sequence[int],
) -> tuple[PlacedBlock, str]:
    """Decode one window's own records, dropping those that fail alone.

    ``days`` contains the UTC day of each object of ``used``. Where several
    objects gave records, each is placed on its own day and the days are
    merged as :func:`~intake_earthscope.windowdecode.place_by_day` merges
    them.
    """

    def place(parts: list[bytes]) -> PlacedBlock:
        if sum(1 for part in parts if part) > 1:
            return _place_parts_by_day(parts, days, traces, grid, rate_tolerance)
        data = b"".join(parts)
        size = grid.size
        return decode_and_place(
            data, traces, grid, 0, size, rate_tolerance, neighbours=False
        )

    parts = [
        read.found.window_bytes(position) if read.found is not None else b""
        for position, read, _, _ in used
    ]
    try:
        block = place(parts)
    except DecodeError as error:
        reads = [read for _, read, _, _ in used]
        parts, damaged = _decodable_parts(parts, reads, error)
        block = place(parts)
        if any(overlaps for _, read, _, overlaps in used if read.url in damaged):
            state = "damaged" if state == "ok" else state
    return block, state


def _place_parts_by_day(
    parts: list[bytes],
    days: Sequence[int],
    traces: Sequence[SeedId],
    grid: Grid,
    rate_tolerance: float,
) -> PlacedBlock:
    """Decode each object's records onto the grid indices of its own day, then
    merge the days into one block over the window."""
    placed = {}
    for part, day in zip(parts, days, strict=True):
        if part:
            lo, hi = day_bounds(grid, day)
            placed[day] = decode_and_place(part, traces, grid, lo, hi, rate_tolerance)
    block = PlacedBlock.empty(len(traces), 0, grid.size)
    place_by_day(block, slice(None), placed, grid)
    return block
