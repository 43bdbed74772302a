"""Place decoded samples on a regular time grid.

Placement rules, stated once here and in docs/internals.md:

* Every record is anchored at its own start time: its samples go to the
  nearest grid indices, so no sample moves by more than half a sample
  interval from the time its record gives it. Consecutive records whose
  anchors line up are written as one run; records that libmseed joined
  across a small time tear are placed one by one.
* Where two samples land on one grid index, identical values collapse and
  count as an overlap; differing values count as a conflict too. The sample
  of the higher publication version wins, else the one placed first
  (records in time order, a chunk's own object before its neighbours').
* A NaN sample value (float records can hold one) is a missing sample, as
  in the output: it does not count as data, overlaps nothing, and a sample
  of another record that lands on its index takes its place.
* Samples of a segment whose rate does not agree with the grid rate are not
  placed; the trace reports ``rate_mismatch``.
* Samples before the block go to the previous chunk and samples after it to
  the next one, up to one day away. Samples further away (clock glitches)
  are counted and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

__all__ = [
    "Edge",
    "Grid",
    "PlacedBlock",
    "Run",
    "Segment",
    "SegmentTable",
    "merge_edge",
    "plan_runs",
    "place_row",
    "place_run",
    "place_segment",
    "place_table",
]

logger = logging.getLogger(__name__)

_NS_PER_DAY = 86_400_000_000_000

# Samples outside a block, for its neighbours: (row, version, indices, values,
# offset, shift), where offset is the time offset of the sample at indices[0]
# and shift the largest placement shift of the samples, in samples.
EdgeList = list[tuple[int, int, np.ndarray, np.ndarray, float, float]]

# A number or an array of numbers, for arithmetic on either.
_Number = TypeVar("_Number", float, np.ndarray)

# Columns checked at a time when looking for a block's first sample.
_SCAN_COLUMNS = 4096


@dataclass(frozen=True)
class Grid:
    """A regular time grid: ``start_ns + k * step_ns``, ``k`` in ``[0, size)``."""

    start_ns: int
    step_ns: float
    size: int

    def position(self, time_ns: int | np.ndarray) -> float | np.ndarray:
        """Return the fractional grid position of ``time_ns``."""
        return (time_ns - self.start_ns) / self.step_ns

    def offset(self, index: int, time_ns: int) -> float:
        """Return the time of grid index ``index`` minus ``time_ns``, in seconds.

        The difference is taken in nanoseconds before the division, so it is
        exact where the step is a whole number of nanoseconds.
        """
        return (self.start_ns - time_ns + index * self.step_ns) / 1e9

    def first_index_at_or_after(self, time_ns: int) -> int:
        """Return the first grid index whose time is at or after ``time_ns``."""
        index = int(np.ceil(self.position(time_ns) - 1e-9))
        return min(max(index, 0), self.size)

    @property
    def samples_per_day(self) -> int:
        """Number of grid samples in one day (at least one)."""
        return max(1, int(np.ceil(_NS_PER_DAY / self.step_ns)))


@dataclass(slots=True)
class Segment:
    """Samples of one channel that libmseed joined, with their records' anchors.

    Not frozen: a day of thousands of gaps makes thousands of segments, and
    a frozen dataclass takes three times as long to create.
    """

    rate: float
    pubversion: int
    samples: np.ndarray
    record_starts: np.ndarray
    record_counts: np.ndarray


@dataclass(slots=True)
class SegmentTable:
    """The segments of one channel and publication version, in time order.

    One column per attribute instead of one :class:`Segment` per segment:
    a day of thousands of gaps is thousands of segments, and building an
    object for each costs more than placing its samples. Segment ``i`` has
    the samples ``pieces[i]`` (views into one buffer when the decoder
    unpacked them together), the rate ``rates[i]`` and the records
    ``record_bounds[i]`` to ``record_bounds[i + 1]`` of ``record_starts``
    and ``record_counts``.
    """

    pubversion: int
    pieces: list[np.ndarray]
    rates: np.ndarray
    record_starts: np.ndarray
    record_counts: np.ndarray
    record_bounds: np.ndarray

    def __len__(self) -> int:
        return len(self.pieces)

    @classmethod
    def from_segments(cls, segments: list[Segment]) -> SegmentTable:
        """Build a table from segments of one publication version, in time order.

        Raises
        ------
        ValueError
            If the segments carry more than one publication version.
        """
        versions = {segment.pubversion for segment in segments}
        if len(versions) > 1:
            raise ValueError(
                f"segments of publication versions {sorted(versions)} in one table: "
                "build one table per version"
            )
        sizes = [segment.record_starts.size for segment in segments]
        return cls(
            pubversion=versions.pop() if versions else 0,
            pieces=[segment.samples for segment in segments],
            rates=np.array([segment.rate for segment in segments], dtype=np.float64),
            record_starts=_joined([s.record_starts for s in segments]),
            record_counts=_joined([s.record_counts for s in segments]),
            record_bounds=np.concatenate(([0], np.cumsum(sizes, dtype=np.int64))),
        )

    def subset(self, first: int, stop: int) -> SegmentTable:
        """Return segments ``first`` to ``stop - 1``, sharing this table's arrays."""
        low, high = int(self.record_bounds[first]), int(self.record_bounds[stop])
        return SegmentTable(
            pubversion=self.pubversion,
            pieces=self.pieces[first:stop],
            rates=self.rates[first:stop],
            record_starts=self.record_starts[low:high],
            record_counts=self.record_counts[low:high],
            record_bounds=self.record_bounds[first : stop + 1] - low,
        )

    def segments(self) -> list[Segment]:
        """Return one :class:`Segment` per segment, sharing this table's arrays."""
        bounds = self.record_bounds.tolist()
        return [
            Segment(
                rate=rate,
                pubversion=self.pubversion,
                samples=samples,
                record_starts=self.record_starts[bounds[i] : bounds[i + 1]],
                record_counts=self.record_counts[bounds[i] : bounds[i + 1]],
            )
            for i, (rate, samples) in enumerate(
                zip(self.rates.tolist(), self.pieces, strict=True)
            )
        ]


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    if not arrays:
        return np.empty(0, dtype=np.int64)
    return np.concatenate(arrays).astype(np.int64, copy=False)


@dataclass(frozen=True, slots=True)
class _Timeline:
    """The record start times of one segment, which give each sample's time."""

    record_starts: np.ndarray
    record_counts: np.ndarray
    rate: float
    grid: Grid

    @classmethod
    def of(cls, segment: Segment, grid: Grid) -> _Timeline:
        return cls(segment.record_starts, segment.record_counts, segment.rate, grid)

    def offset(self, sample: int, index: int) -> float:
        """Return the time offset of sample number ``sample`` placed at ``index``.

        The offset is grid time minus recorded time, in seconds. A sample's
        recorded time is its record's start plus its place in the record
        at the header rate.

        The difference is taken in nanoseconds before any division. When the
        sample interval is a whole number of nanoseconds it is exact, so two
        grids of one phase that start at different times (a day and an event
        window) give the same offset for the same sample.
        """
        if sample == 0:
            # A segment's first sample is the common case, and it needs no
            # search for its record.
            return self.grid.offset(index, int(self.record_starts[0]))
        samples = np.array([sample], dtype=np.int64)
        indices = np.array([index], dtype=np.int64)
        return float(self._grid_minus_recorded_ns(samples, indices)[0]) / 1e9

    def largest_shift(self, samples: np.ndarray, indices: np.ndarray) -> float:
        """Return the largest distance, in samples, between the samples
        numbered ``samples`` placed at ``indices`` and their recorded times."""
        distances = self._grid_minus_recorded_ns(samples, indices)
        return float(np.abs(distances).max()) / self.grid.step_ns

    def largest_run_shift(self, first: int, last: int, first_index: int) -> float:
        """Return the largest shift, in samples, of samples ``first`` to
        ``last`` of a run whose sample 0 is placed at ``first_index``.

        Within a record the shift changes linearly from sample to sample, so
        only each record's first and last sample in the range are checked.
        """
        ends = np.cumsum(self.record_counts)
        starts = ends - self.record_counts
        bounds = np.concatenate(([first, last], starts, ends - 1))
        samples = bounds[(bounds >= first) & (bounds <= last)]
        return self.largest_shift(samples, first_index + samples)

    def _grid_minus_recorded_ns(
        self, samples: np.ndarray, indices: np.ndarray
    ) -> np.ndarray:
        """Return grid time minus recorded time of each sample, in nanoseconds."""
        ends = np.cumsum(self.record_counts)
        records = np.searchsorted(ends, samples, side="right")
        within = samples - (ends[records] - self.record_counts[records])
        return _grid_minus_recorded_ns(
            self.grid.start_ns,
            self.grid.step_ns,
            self.record_starts[records],
            within,
            indices,
            1e9 / self.rate,
        )


def _grid_minus_recorded_ns(
    grid_start_ns: int | np.ndarray,
    step_ns: float | np.ndarray,
    record_starts: np.ndarray,
    within: np.ndarray,
    indices: np.ndarray,
    period_ns: float | np.ndarray,
) -> np.ndarray:
    """Return grid time minus recorded time, in nanoseconds, of the samples
    numbered ``within`` in records that start at ``record_starts``, placed at
    grid ``indices``.

    The grid's start and step and the sample period may be arrays, one value
    per sample. The order of the operations is fixed, so that every caller
    gets the same floating-point result for the same sample.
    """
    record_to_grid = grid_start_ns - record_starts
    grid_times = indices * step_ns
    return record_to_grid + grid_times - within * period_ns


@dataclass
class Edge:
    """Samples that belong to a neighbouring chunk: a start index and values.

    ``versions`` contains the highest publication version per row, and
    ``rates`` the header sampling rates of the records each row came from.
    ``offsets`` contains the time offset of each row's earliest sample
    (grid time minus recorded time, seconds), NaN for a row without one.
    ``shifts`` contains the largest placement shift of each row's samples,
    in samples, 0 for a row without one.
    """

    start: int
    data: np.ndarray
    versions: np.ndarray
    rates: list[set[float]] | None = None
    offsets: np.ndarray | None = None
    shifts: np.ndarray | None = None

    @classmethod
    def empty(cls, n_traces: int, start: int) -> Edge:
        """Create an edge with no samples."""
        return cls(
            start, np.full((n_traces, 0), np.nan), np.zeros(n_traces, dtype=np.int64)
        )


@dataclass
class PlacedBlock:
    """Samples of some traces over grid indices ``[lo, hi)`` and what happened.

    ``data`` has one row per trace, NaN where no sample landed. ``spill``
    contains samples at or after ``hi``, for the next chunk, and
    ``backspill`` samples before ``lo``, for the previous one. ``written_end`` is the
    column after the last one written, so that writes in time order skip
    the check for overlaps. ``versions`` is the highest publication version
    written per row. ``first_offset`` is the time offset (grid time minus
    recorded time, seconds) of each row's earliest sample in ``[lo, hi)``,
    NaN for a row without one. ``max_shift`` is the largest distance, in
    samples, between a placed sample and its recorded time, over every
    sample of the segments placed (also those outside ``[lo, hi)``) and
    the edge samples merged into the block.

    A block made with ``filled=False`` leaves ``data`` uninitialized, so that
    a day is written once instead of twice: columns ``[0, filled_end)`` of a
    row hold a sample or NaN, the rest is undefined until :meth:`fill_rest`.
    """

    lo: int
    hi: int
    data: np.ndarray
    overlaps: np.ndarray
    conflicts: np.ndarray
    first_offset: np.ndarray
    max_shift: np.ndarray
    rate_mismatch: np.ndarray
    found: np.ndarray
    written: np.ndarray
    written_end: np.ndarray
    versions: np.ndarray
    dropped: np.ndarray
    filled_end: np.ndarray
    reach: int = 0
    spill: Edge = field(default_factory=lambda: Edge.empty(0, 0))
    backspill: Edge = field(default_factory=lambda: Edge.empty(0, 0))
    header_rates: list[set[float]] = field(default_factory=list)
    mismatched_rates: list[set[float]] = field(default_factory=list)
    unplanned: list[str] = field(default_factory=list)

    @classmethod
    def empty(
        cls,
        n_traces: int,
        lo: int,
        hi: int,
        filled: bool = True,
        out: np.ndarray | None = None,
    ) -> PlacedBlock:
        """Create a block with no samples, NaN-filled unless ``filled`` is False.

        ``out``, a float64 array of shape ``(n_traces, hi - lo)``, becomes the
        block's ``data``, so that a block can be written in place into a
        larger array.
        """
        shape = (n_traces, hi - lo)
        if out is None:
            data = np.full(shape, np.nan) if filled else np.empty(shape)
        else:
            data = out
            if filled:
                data.fill(np.nan)
        return cls(
            lo=lo,
            hi=hi,
            data=data,
            overlaps=np.zeros(n_traces, dtype=np.int64),
            conflicts=np.zeros(n_traces, dtype=np.int64),
            first_offset=np.full(n_traces, np.nan),
            max_shift=np.zeros(n_traces),
            rate_mismatch=np.zeros(n_traces, dtype=bool),
            found=np.zeros(n_traces, dtype=bool),
            written=np.zeros(n_traces, dtype=np.int64),
            written_end=np.zeros(n_traces, dtype=np.int64),
            versions=np.zeros(n_traces, dtype=np.int64),
            dropped=np.zeros(n_traces, dtype=np.int64),
            filled_end=np.full(n_traces, hi - lo if filled else 0, dtype=np.int64),
            spill=Edge.empty(n_traces, hi),
            backspill=Edge.empty(n_traces, lo),
            header_rates=[set() for _ in range(n_traces)],
            mismatched_rates=[set() for _ in range(n_traces)],
        )

    def fill_rest(self, row: int | None = None) -> None:
        """Write NaN into the columns of ``row`` (all rows if None) not yet filled."""
        width = self.hi - self.lo
        rows = range(self.data.shape[0]) if row is None else (row,)
        for index in rows:
            _fill_to(self, index, width)


def _fill_to(block: PlacedBlock, row: int, stop: int) -> None:
    """Write NaN into the unfilled columns of ``row`` before ``stop``."""
    filled = int(block.filled_end[row])
    if filled < stop:
        block.data[row, filled:stop] = np.nan
        block.filled_end[row] = stop


def place_segment(
    block: PlacedBlock,
    row: int,
    segment: Segment,
    grid: Grid,
    rate_tolerance: float,
    edges: EdgeList | None,
) -> tuple[int, float] | None:
    """Write a segment's samples into ``block`` and collect edge samples in ``edges``.

    ``edges`` receives ``(row, version, indices, values, offset)`` of samples
    outside ``[lo, hi)`` within a day of the block. With ``edges`` None,
    samples outside the block are left out and not counted, for a block
    with no neighbouring chunks.

    Returns the grid index and time offset of the segment's earliest sample
    in ``[lo, hi)``, or None when no sample lands there or the segment's
    rate does not fit the grid.
    """
    if not rate_fits(segment.rate, grid, rate_tolerance):
        block.rate_mismatch[row] = True
        block.mismatched_rates[row].add(segment.rate)
        logger.debug(
            "skipping a %s Hz segment on a %s ns grid", segment.rate, grid.step_ns
        )
        return None
    block.header_rates[row].add(segment.rate)

    indices, first, largest_shift = _anchored_indices(segment, grid)
    block.found[row] = True
    block.max_shift[row] = max(block.max_shift[row], largest_shift)
    timeline = _Timeline.of(segment, grid)
    if indices is None:
        size = segment.samples.size
        earliest = _run_start_inside(block, first, size, timeline)
        _write_run(block, row, first, segment, edges, timeline)
    else:
        earliest = _indices_start_inside(block, indices, timeline)
        _write_indices(block, row, indices, segment, edges, timeline)

    if earliest is not None and np.isnan(block.first_offset[row]):
        block.first_offset[row] = earliest[1]
    return earliest


def _run_start_inside(
    block: PlacedBlock, first: int, size: int, timeline: _Timeline
) -> tuple[int, float] | None:
    """Return the index and offset of a run's earliest sample in ``[lo, hi)``.

    The run's first sample is placed at ``first``.
    """
    index = max(first, block.lo)
    if index >= min(first + size, block.hi):
        return None
    return index, timeline.offset(index - first, index)


def _indices_start_inside(
    block: PlacedBlock, indices: np.ndarray, timeline: _Timeline
) -> tuple[int, float] | None:
    """Return the index and offset of the earliest sample in ``[lo, hi)``.

    Across a time tear the indices may step back, so the earliest index
    need not be the first sample's. Of samples that share it, the first
    one is the one kept.
    """
    inside = indices[(indices >= block.lo) & (indices < block.hi)]
    if not inside.size:
        return None
    index = int(inside.min())
    sample = int(np.flatnonzero(indices == index)[0])
    return index, timeline.offset(sample, index)


@dataclass(slots=True)
class Run:
    """A segment whose samples land on consecutive grid indices from ``first``.

    ``largest_shift`` is the largest distance, in samples, between a sample's
    grid index and its recorded time. ``earliest`` is the grid index and time
    offset of the segment's earliest sample on the grid, or None when no
    sample lands on it.
    """

    segment: Segment
    first: int
    largest_shift: float
    earliest: tuple[int, float] | None


def plan_runs(
    table: SegmentTable,
    segments: np.ndarray,
    firsts: np.ndarray,
    stops: np.ndarray,
    grids: Sequence[Grid],
) -> list[Run | None]:
    """Compute how pieces of a table's segments land on their grids, all at once.

    Piece ``i`` is made of the records ``firsts[i]`` to ``stops[i] - 1`` of
    the table, all in segment ``segments[i]``, placed on ``grids[i]``. For
    each piece, the result is the :class:`Run` that :func:`place_segment`
    would place for a segment of those records, or None where the records do
    not line up into one run. The arithmetic is that of
    :func:`_anchored_indices` and :class:`_Timeline`, one operation per
    array for all pieces together, so the shifts and offsets are the same
    floating-point numbers.

    Every piece must have at least one record, and its segment a rate above 0.
    """
    if not len(segments):
        return []
    lengths = stops - firsts
    heads = np.cumsum(lengths) - lengths
    owners = np.repeat(np.arange(lengths.size), lengths)
    rows = np.arange(owners.size) - heads[owners] + firsts[owners]
    grid_starts = np.array([grid.start_ns for grid in grids], dtype=np.int64)
    steps = np.array([grid.step_ns for grid in grids], dtype=np.float64)
    periods = 1e9 / table.rates[segments]

    # Shifts of each record's first and last sample from its grid index, as
    # in _anchored_indices.
    since_start = table.record_starts[rows] - grid_starts[owners]
    run_firsts = np.rint(since_start[heads] / steps).astype(np.int64)
    counts = table.record_counts[rows]
    before = np.cumsum(counts) - counts
    offsets = before - before[heads][owners]
    shifts = _anchor_shifts(run_firsts[owners] + offsets, since_start, steps[owners])
    ratios = periods / steps
    end_shifts = shifts + (counts - 1) * (1.0 - ratios[owners])
    largest = np.maximum.reduceat(np.maximum(np.abs(shifts), np.abs(end_shifts)), heads)

    sizes = np.add.reduceat(counts, heads)
    earliest, landed = _runs_earliest(
        table, rows, counts, heads, run_firsts, sizes, grids, periods
    )
    # Samples of each segment before the run's first record.
    table_before = np.cumsum(table.record_counts) - table.record_counts
    skips = table_before[firsts] - table_before[table.record_bounds[segments]]
    return _runs(
        table,
        segments,
        firsts,
        stops,
        (run_firsts, largest, sizes, skips, earliest, landed),
    )


def _runs_earliest(
    table: SegmentTable,
    rows: np.ndarray,
    counts: np.ndarray,
    heads: np.ndarray,
    run_firsts: np.ndarray,
    sizes: np.ndarray,
    grids: Sequence[Grid],
    periods: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the offset of each run's earliest sample on its grid, and whether
    a sample lands there (:func:`_run_start_inside` for all runs at once)."""
    grid_starts = np.array([grid.start_ns for grid in grids], dtype=np.int64)
    steps = np.array([grid.step_ns for grid in grids], dtype=np.float64)
    grid_sizes = np.array([grid.size for grid in grids], dtype=np.int64)
    indices = np.maximum(run_firsts, 0)
    landed = indices < np.minimum(run_firsts + sizes, grid_sizes)

    # The record of each earliest sample, found in the cumulative sample
    # counts of all runs, whose runs follow one another.
    ends = np.cumsum(counts)
    before = ends - counts
    samples = before[heads] + np.where(landed, indices - run_firsts, 0)
    records = np.searchsorted(ends, samples, side="right")
    within = samples - before[records]
    offsets = _grid_minus_recorded_ns(
        grid_starts,
        steps,
        table.record_starts[rows[records]],
        within,
        indices,
        periods,
    )
    return offsets / 1e9, landed


def _runs(
    table: SegmentTable,
    segments: np.ndarray,
    firsts: np.ndarray,
    stops: np.ndarray,
    columns: tuple[np.ndarray, ...],
) -> list[Run | None]:
    """Build the :class:`Run` of each piece from the columns of plan_runs."""
    runs: list[Run | None] = []
    rates = table.rates.tolist()
    pieces = table.pieces
    rows = zip(
        segments.tolist(),
        firsts.tolist(),
        stops.tolist(),
        *(column.tolist() for column in columns),
        strict=True,
    )
    for segment, first, stop, start, largest, size, skip, offset, landed in rows:
        if largest > 0.5:
            runs.append(None)
            continue
        samples = pieces[segment][skip : skip + size]
        piece = Segment(
            rate=rates[segment],
            pubversion=table.pubversion,
            samples=samples,
            record_starts=table.record_starts[first:stop],
            record_counts=table.record_counts[first:stop],
        )
        earliest = (max(start, 0), offset) if landed else None
        runs.append(Run(piece, start, largest, earliest))
    return runs


def place_run(
    block: PlacedBlock, row: int, run: Run, grid: Grid, rate_tolerance: float
) -> bool:
    """Place a run of :func:`plan_runs` into a row of a window's block.

    The block must cover all of ``grid`` and have no neighbouring chunks,
    and nothing may have been placed in the row yet. The row then ends as
    :func:`place_segment` would leave it. Returns False, changing nothing,
    where the run's rate does not fit the grid or the block is not such a
    block, so that the caller places the segment with :func:`place_segment`.
    """
    segment = run.segment
    if block.lo != 0 or block.hi != grid.size or block.written_end[row] != 0:
        return False
    if not rate_fits(segment.rate, grid, rate_tolerance):
        return False

    block.header_rates[row].add(segment.rate)
    block.found[row] = True
    block.max_shift[row] = max(block.max_shift[row], run.largest_shift)
    _write_run(block, row, run.first, segment, None, _Timeline.of(segment, grid))
    if run.earliest is not None and np.isnan(block.first_offset[row]):
        block.first_offset[row] = run.earliest[1]
    return True


def place_row(
    block: PlacedBlock,
    row: int,
    segments: list[Segment],
    grid: Grid,
    rate_tolerance: float,
    edges: EdgeList | None,
) -> None:
    """Place every segment of one trace, in one vectorized pass when possible.

    Segments of one publication version go through :func:`place_table`.
    Segments of several versions are placed one by one, in the order given.
    """
    if len({segment.pubversion for segment in segments}) == 1:
        table = SegmentTable.from_segments(segments)
        place_table(block, row, table, grid, rate_tolerance, edges)
        return
    _place_versions(block, row, segments, grid, rate_tolerance, edges)


def place_table(
    block: PlacedBlock,
    row: int,
    table: SegmentTable,
    grid: Grid,
    rate_tolerance: float,
    edges: EdgeList | None,
) -> None:
    """Place the segments of one trace and version, in one pass when possible.

    A day with thousands of gaps is thousands of segments; placing them one
    by one costs a Python round trip each. When the segments fit the grid
    rate, each form one run and do not overlap, the checks run once over
    all their records and each segment is one slice copy. Otherwise they
    are placed one by one.
    """
    if len(table) > 1 and _place_batch(block, row, table, grid, rate_tolerance, edges):
        return
    for segment in table.segments():
        place_segment(block, row, segment, grid, rate_tolerance, edges)


def place_tables(
    block: PlacedBlock,
    row: int,
    tables: list[SegmentTable],
    grid: Grid,
    rate_tolerance: float,
    edges: EdgeList | None,
) -> None:
    """Place one trace's tables in the order given (highest publication version
    first, so that it wins conflicts)."""
    if len(tables) == 1:
        place_table(block, row, tables[0], grid, rate_tolerance, edges)
        return
    segments = [segment for table in tables for segment in table.segments()]
    _place_versions(block, row, segments, grid, rate_tolerance, edges)


def _place_versions(
    block: PlacedBlock,
    row: int,
    segments: list[Segment],
    grid: Grid,
    rate_tolerance: float,
    edges: EdgeList | None,
) -> None:
    """Place segments of several publication versions one by one, in the order given.

    The order lets the highest version win conflicts, so the first segment
    placed need not be the earliest. ``first_offset`` is then set from the
    segment with the earliest sample in the block, so that it stays the
    offset of the row's first sample. Of segments that start on one index,
    the one placed first keeps its sample there.
    """
    unset = bool(np.isnan(block.first_offset[row]))
    earliest: tuple[int, float] | None = None
    for segment in segments:
        placed = place_segment(block, row, segment, grid, rate_tolerance, edges)
        if placed is not None and (earliest is None or placed[0] < earliest[0]):
            earliest = placed
    if unset and earliest is not None:
        block.first_offset[row] = earliest[1]


def _place_batch(
    block: PlacedBlock,
    row: int,
    table: SegmentTable,
    grid: Grid,
    rate_tolerance: float,
    edges: EdgeList | None,
) -> bool:
    rates = set(table.rates.tolist())
    if block.written_end[row] != 0:
        return False
    if not all(rate_fits(rate, grid, rate_tolerance) for rate in rates):
        return False

    starts, counts = table.record_starts, table.record_counts
    sizes = np.diff(table.record_bounds)
    since_start = starts - grid.start_ns
    anchors = np.rint(since_start / grid.step_ns)
    ratio = (1e9 / np.repeat(table.rates, sizes)) / grid.step_ns
    shifts = _anchor_shifts(anchors, since_start, grid.step_ns)
    end_shifts = shifts + (counts - 1) * (1.0 - ratio)
    largest = float(max(np.abs(shifts).max(), np.abs(end_shifts).max()))
    if largest > 0.5:
        return False

    # Each segment must be one run: its records' anchors follow each other.
    pieces = table.pieces
    lengths = np.fromiter((piece.size for piece in pieces), np.int64, len(pieces))
    heads = table.record_bounds[:-1]
    within = np.cumsum(counts) - counts - np.repeat(np.cumsum(lengths) - lengths, sizes)
    firsts = anchors[heads].astype(np.int64)
    if not (anchors.astype(np.int64) == np.repeat(firsts, sizes) + within).all():
        return False
    # Segments come in time order and must not overlap one another.
    if (firsts[1:] < firsts[:-1] + lengths[:-1]).any():
        return False

    timelines = _BatchTimelines(table, grid)
    version = table.pubversion
    _write_runs_fresh(block, row, firsts, lengths, pieces, version, edges, timelines)
    block.header_rates[row].update(rates)
    block.found[row] = True
    if np.isnan(block.first_offset[row]):
        block.first_offset[row] = _batch_first_offset(block, firsts, lengths, timelines)
    block.max_shift[row] = max(block.max_shift[row], largest)
    return True


class _BatchTimelines:
    """The timeline of each segment of a table, built when indexed."""

    def __init__(self, table: SegmentTable, grid: Grid) -> None:
        self.table = table
        self.grid = grid

    def __getitem__(self, segment: int) -> _Timeline:
        table = self.table
        low = int(table.record_bounds[segment])
        high = int(table.record_bounds[segment + 1])
        return _Timeline(
            table.record_starts[low:high],
            table.record_counts[low:high],
            float(table.rates[segment]),
            self.grid,
        )


def _batch_first_offset(
    block: PlacedBlock,
    firsts: np.ndarray,
    lengths: np.ndarray,
    timelines: _BatchTimelines,
) -> float:
    """Return the offset of the earliest sample in ``[lo, hi)`` of runs in time
    order, NaN when none lands there."""
    reaching = np.flatnonzero(firsts + lengths > block.lo)
    if not reaching.size:
        return np.nan
    segment = int(reaching[0])
    first = int(firsts[segment])
    index = max(first, block.lo)
    if index >= block.hi:
        return np.nan
    return timelines[segment].offset(index - first, index)


def _write_runs_fresh(
    block: PlacedBlock,
    row: int,
    firsts: np.ndarray,
    lengths: np.ndarray,
    pieces: list[np.ndarray],
    version: int,
    edges: EdgeList | None,
    timelines: _BatchTimelines,
) -> None:
    """Write runs in time order, not overlapping, into a row written nowhere yet.

    The loop does one slice copy per run and one NaN slice per gap where
    the row is not filled yet. The counters are updated once, after it.
    Runs end in increasing order, so each run's end is the filled end.
    """
    begins = np.maximum(firsts, block.lo)
    ends = np.minimum(firsts + lengths, block.hi)
    inside = np.flatnonzero(begins < ends)
    data = block.data[row]
    filled = int(block.filled_end[row])
    absent = 0
    columns = zip(
        inside.tolist(),
        (begins[inside] - firsts[inside]).tolist(),
        (begins[inside] - block.lo).tolist(),
        (ends[inside] - block.lo).tolist(),
        strict=True,
    )
    for index, skip, start, stop in columns:
        if filled < start:
            data[filled:start] = np.nan
        samples = pieces[index]
        if skip or stop - start < samples.size:
            samples = samples[skip : skip + stop - start]
        data[start:stop] = samples
        filled = stop
        if samples.dtype.kind == "f":
            absent += _nan_count(samples)
    if inside.size:
        block.filled_end[row] = filled
        block.written[row] += int((ends[inside] - begins[inside]).sum()) - absent
        block.written_end[row] = int(ends[inside[-1]]) - block.lo
        block.versions[row] = max(int(block.versions[row]), version)

    if edges is None:
        return
    crossing = np.flatnonzero((firsts < block.lo) | (firsts + lengths > block.hi))
    for index in crossing.tolist():
        first = int(firsts[index])
        samples = pieces[index]
        indices = np.arange(first, first + samples.size, dtype=np.int64)
        timeline = timelines[index]
        _collect_edges(block, row, indices, samples, version, edges, timeline)


def rate_fits(rate: float, grid: Grid, rate_tolerance: float) -> bool:
    """Return whether a header rate agrees with the grid rate."""
    grid_rate = 1e9 / grid.step_ns
    return abs(rate - grid_rate) <= rate_tolerance * max(rate, grid_rate)


def merge_edge(block: PlacedBlock, edge: Edge) -> None:
    """Overlay a neighbour's edge samples onto ``block`` in place.

    The block's own samples win unless the edge row carries a higher
    publication version. Samples present in both count as overlaps, and as
    conflicts where they differ. Where the edge's earliest sample of a row
    becomes the row's earliest sample in the block, the block's
    ``first_offset`` takes the edge's offset. Where the block takes any of
    a row's edge samples, its ``max_shift`` counts the edge's shift.
    """
    begin = max(edge.start, block.lo)
    end = min(edge.start + edge.data.shape[1], block.hi)
    if begin >= end:
        return

    block.fill_rest()
    own = block.data[:, begin - block.lo : end - block.lo]
    incoming = edge.data[:, begin - edge.start : end - edge.start]
    both = ~np.isnan(own) & ~np.isnan(incoming)
    block.overlaps += both.sum(axis=1)
    block.conflicts += (both & (own != incoming)).sum(axis=1)

    new = np.isnan(own) & ~np.isnan(incoming)
    takes_over = (edge.versions > block.versions)[:, np.newaxis] & both
    replaced = new | takes_over
    if edge.offsets is not None:
        _take_first_offsets(block, edge, edge.offsets, begin, ~np.isnan(own), replaced)
    if edge.shifts is not None:
        # NOTE: an edge carries one shift per row, so a row that takes some
        # of its edge samples counts the shift of all of them, also of those
        # outside the block or under samples of the block's own.
        taking = replaced.any(axis=1)
        np.maximum(block.max_shift, edge.shifts, out=block.max_shift, where=taking)
    own[replaced] = incoming[replaced]
    block.written += new.sum(axis=1)
    block.found |= new.any(axis=1)
    if edge.rates is not None:
        for row in np.flatnonzero(replaced.any(axis=1)).tolist():
            block.header_rates[row] |= edge.rates[row]


def _take_first_offsets(
    block: PlacedBlock,
    edge: Edge,
    offsets: np.ndarray,
    begin: int,
    present: np.ndarray,
    replaced: np.ndarray,
) -> None:
    """Give rows whose earliest sample comes from ``edge`` the edge's offset.

    ``present`` marks the block's own samples in the merged columns, from
    ``begin`` on, and ``replaced`` the columns the edge's samples take.
    """
    for row in np.flatnonzero(replaced.any(axis=1)).tolist():
        offset = float(offsets[row])
        column = int(np.argmax(replaced[row]))
        edge_first = begin + column - edge.start
        # NOTE: an edge with an earlier sample, outside the block or under a
        # sample of the block's own, gives no offset, because it carries the
        # offset of its earliest sample only.
        if np.isnan(offset) or _any_sample(edge.data[row, :edge_first]):
            continue
        if present[row, :column].any():
            continue
        if not _any_sample(block.data[row, : begin - block.lo]):
            block.first_offset[row] = offset


def _any_sample(values: np.ndarray) -> bool:
    """Return whether ``values`` contains a sample (a value that is not NaN).

    The search runs from the start in blocks, so a row with an early sample
    returns after the first block.
    """
    for start in range(0, values.size, _SCAN_COLUMNS):
        if not np.isnan(values[start : start + _SCAN_COLUMNS]).all():
            return True
    return False


def assemble_edges(block: PlacedBlock, edges: EdgeList) -> None:
    """Build the block's spill and backspill from the collected edge samples."""
    n_traces = block.data.shape[0]
    after = [part for part in edges if part[2][0] >= block.hi]
    before = [part for part in edges if part[2][0] < block.lo]
    block.spill = _edge(n_traces, after, block.hi, block)
    block.backspill = _edge(n_traces, before, None, block)


def _edge(
    n_traces: int, parts: EdgeList, start: int | None, block: PlacedBlock
) -> Edge:
    if not parts:
        return Edge.empty(n_traces, start if start is not None else block.lo)

    first = start if start is not None else min(int(p[2].min()) for p in parts)
    last = max(int(p[2].max()) for p in parts)
    rates: list[set[float]] = [set() for _ in range(n_traces)]
    offsets = np.full(n_traces, np.nan)
    shifts = np.zeros(n_traces)
    edge = Edge(
        first,
        np.full((n_traces, last - first + 1), np.nan),
        np.zeros(n_traces, dtype=np.int64),
        rates,
        offsets,
        shifts,
    )
    # The part placed first keeps a shared index, so it gives the offset
    # where two parts start on one index.
    earliest = np.full(n_traces, last + 1, dtype=np.int64)
    for row, version, indices, values, offset, shift in parts:
        if indices[0] < earliest[row]:
            earliest[row] = indices[0]
            offsets[row] = offset
        shifts[row] = max(shifts[row], shift)
        rates[row] |= block.header_rates[row]
        columns = indices - first
        current = edge.data[row, columns]
        occupied = ~np.isnan(current)
        both = occupied & ~np.isnan(values)
        block.overlaps[row] += int(both.sum())
        block.conflicts[row] += int((both & (current != values)).sum())
        edge.data[row, columns[~occupied]] = values[~occupied]
        edge.versions[row] = max(edge.versions[row], version)
    return edge


def _anchored_indices(
    segment: Segment, grid: Grid
) -> tuple[np.ndarray | None, int, float]:
    """Map samples to grid indices from their records' start times.

    Returns ``(indices, first, largest_shift)``. ``indices`` is None when
    the records form one run starting at index ``first``, else it has one
    index per sample. The largest shift is the largest distance between
    grid position and true position, in samples.
    """
    ratio = (1e9 / segment.rate) / grid.step_ns
    if segment.record_starts.size == 1:
        # One record (the common case of a gappy day): plain floats are
        # cheaper than numpy here.
        since_start_ns = int(segment.record_starts[0]) - grid.start_ns
        first = round(since_start_ns / grid.step_ns)
        shift = _anchor_shifts(first, since_start_ns, grid.step_ns)
        last_shift = shift + (segment.samples.size - 1) * (1.0 - ratio)
        if max(abs(shift), abs(last_shift)) <= 0.5:
            return None, first, max(abs(shift), abs(last_shift))

    since_start = segment.record_starts - grid.start_ns
    positions = np.asarray(since_start / grid.step_ns, dtype=np.float64)
    counts = segment.record_counts
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    first = int(np.rint(positions[0]))
    run_shift = _anchor_shifts(first + offsets, since_start, grid.step_ns)
    end_shift = run_shift + (counts - 1) * (1.0 - ratio)
    largest = float(max(np.abs(run_shift).max(), np.abs(end_shift).max()))
    if largest <= 0.5:
        return None, first, largest

    # Records off the run (time tears, drifting clocks): every sample is
    # placed from its own record's start time.
    total = int(counts.sum())
    within = np.arange(total) - np.repeat(offsets, counts)
    true = np.repeat(positions, counts) + within * ratio
    indices = np.rint(true).astype(np.int64)
    shifts = indices - true
    return indices, int(indices[0]), float(np.abs(shifts).max())


def _anchor_shifts(
    anchors: _Number, since_start_ns: _Number | int, step_ns: float
) -> _Number:
    """Return grid position minus recorded position, in samples, of record
    starts ``since_start_ns`` after the grid start placed at ``anchors``.

    The difference is taken in nanoseconds before the division, as for time
    offsets, so that grids of one phase give the same shift for a record.
    """
    return (anchors * step_ns - since_start_ns) / step_ns


def _write_run(
    block: PlacedBlock,
    row: int,
    first: int,
    segment: Segment,
    edges: EdgeList | None,
    timeline: _Timeline,
) -> None:
    samples = segment.samples
    begin = max(first, block.lo)
    end = min(first + samples.size, block.hi)
    if begin < end:
        values = samples[begin - first : end - first]
        start, stop = begin - block.lo, end - block.lo
        if start >= block.written_end[row]:
            # Nothing was written here yet: no overlap to look for.
            _fill_to(block, row, start)
            block.data[row, start:stop] = values
            block.written[row] += values.size - _nan_count(values)
            block.filled_end[row] = max(int(block.filled_end[row]), stop)
        else:
            _fill_to(block, row, stop)
            _fill(block, row, block.data[row, start:stop], values)
        block.written_end[row] = max(block.written_end[row], stop)
        block.versions[row] = max(block.versions[row], segment.pubversion)

    outside = first < block.lo or first + samples.size > block.hi
    if outside and edges is not None:
        indices = np.arange(first, first + samples.size, dtype=np.int64)
        _collect_edges(
            block, row, indices, samples, segment.pubversion, edges, timeline
        )


def _write_indices(
    block: PlacedBlock,
    row: int,
    indices: np.ndarray,
    segment: Segment,
    edges: EdgeList | None,
    timeline: _Timeline,
) -> None:
    # Samples of one segment may share an index across a tear: keep the
    # first, and count the rest as overlaps (conflicts where they differ).
    unique, first = np.unique(indices, return_index=True)
    samples = segment.samples
    if unique.size < indices.size:
        kept = np.zeros(indices.size, dtype=bool)
        kept[first] = True
        dropped_values = samples[~kept]
        block.overlaps[row] += dropped_values.size
        winners = samples[np.searchsorted(unique, indices[~kept])]
        block.conflicts[row] += int((winners != dropped_values).sum())
    samples = samples[first]

    inside = (unique >= block.lo) & (unique < block.hi)
    columns = unique[inside] - block.lo
    if columns.size:
        _fill_to(block, row, int(columns[-1]) + 1)
        target = block.data[row, columns]
        _fill(block, row, target, samples[inside])
        block.data[row, columns] = target
        block.written_end[row] = max(block.written_end[row], int(columns[-1]) + 1)
        block.versions[row] = max(block.versions[row], segment.pubversion)
    _collect_edges(
        block, row, unique, samples, segment.pubversion, edges, timeline, first
    )


def _collect_edges(
    block: PlacedBlock,
    row: int,
    indices: np.ndarray,
    values: np.ndarray,
    version: int,
    edges: EdgeList | None,
    timeline: _Timeline,
    sample_numbers: np.ndarray | None = None,
) -> None:
    """Keep samples just outside the block for the neighbouring chunks.

    ``indices`` are in ascending order. ``sample_numbers`` contains each
    index's sample number in the segment of ``timeline``, and None means
    that the sample number is the position in ``indices``.
    """
    if edges is None:
        return
    width = block.reach or max(block.hi - block.lo, 1)
    after = (indices >= block.hi) & (indices < block.hi + width)
    before = (indices < block.lo) & (indices >= block.lo - width)
    far = ((indices >= block.hi) | (indices < block.lo)) & ~(after | before)
    block.dropped[row] += int(far.sum())
    for part in (after, before):
        if not part.any():
            continue
        position = int(np.argmax(part))
        index = int(indices[position])
        sample = position if sample_numbers is None else int(sample_numbers[position])
        offset = timeline.offset(sample, index)
        part_indices = indices[part]
        if sample_numbers is None:
            # A run, whose sample number n is at index indices[0] + n.
            last = position + part_indices.size - 1
            shift = timeline.largest_run_shift(position, last, int(indices[0]))
        else:
            # Samples off a run (a time tear), whose indices were already
            # computed one by one.
            shift = timeline.largest_shift(sample_numbers[part], part_indices)
        edges.append((row, version, part_indices, values[part], offset, shift))


def _fill(block: PlacedBlock, row: int, target: np.ndarray, values: np.ndarray) -> None:
    """Copy ``values`` into the empty places of ``target``, counting overlaps.

    NaN values are not samples, so they count neither as written nor as overlaps.
    """
    occupied = ~np.isnan(target)
    arriving = ~np.isnan(values)
    both = occupied & arriving
    overlapping = int(both.sum())
    block.written[row] += int(np.count_nonzero(arriving)) - overlapping
    if occupied.any():
        block.overlaps[row] += overlapping
        block.conflicts[row] += int((both & (target != values)).sum())
        np.copyto(target, values, where=~occupied, casting="unsafe")
    else:
        target[:] = values


def _nan_count(values: np.ndarray) -> int:
    """Count the NaN values of float samples (integers have none)."""
    if values.dtype.kind != "f":
        return 0
    return int(np.count_nonzero(np.isnan(values)))
