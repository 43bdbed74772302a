"""Decode the records of a batch of windows once per object, then place them.

A batch of windows reads each of its objects once. Decoding each window's
records on its own would repeat libmseed's set-up and the walk over every
trace's segments for each window, and for windows of a few minutes that
costs more than their samples do. Here the records that all windows of the
batch need from one object are decoded together, and each window then takes
the segments that overlap it. Where a window's trace is one run of one
segment, as it mostly is, the runs of all windows are found and anchored in
one pass (:func:`plan_windows`), and each window copies its run in one step.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np

from intake_earthscope.codes import SeedId, record_selection
from intake_earthscope.decode import decode_segments
from intake_earthscope.place import (
    EdgeList,
    Grid,
    PlacedBlock,
    Run,
    Segment,
    SegmentTable,
    assemble_edges,
    merge_edge,
    place_run,
    place_tables,
    plan_runs,
)
from intake_earthscope.timeutil import NS_PER_DAY

__all__ = [
    "ObjectSamples",
    "TraceSegments",
    "day_bounds",
    "decode_object",
    "place_by_day",
    "place_window",
    "plan_windows",
]


@dataclass
class TraceSegments:
    """One trace's segments of one publication version, with their time spans.

    ``starts`` contains the time of each segment's first sample and ``ends``
    the time of its last, and ``record_ends`` the time of each record's
    last sample, in nanoseconds.
    """

    table: SegmentTable
    starts: np.ndarray
    ends: np.ndarray
    record_ends: np.ndarray
    # Windows planned by plan_windows, each with its one run, or None where
    # no segment overlaps it. A window left out is placed from overlapping().
    planned: dict[int, Run | None] = field(default_factory=dict)

    @classmethod
    def of(cls, table: SegmentTable) -> TraceSegments:
        """Compute the time spans of a table's segments and records."""
        bounds = table.record_bounds
        periods = np.divide(
            1e9, table.rates, out=np.zeros(len(table)), where=table.rates > 0
        )
        lasts = np.maximum(table.record_counts - 1, 0)
        record_ends = table.record_starts + np.rint(
            lasts * np.repeat(periods, np.diff(bounds))
        ).astype(np.int64)
        return cls(
            table,
            table.record_starts[bounds[:-1]],
            record_ends[bounds[1:] - 1],
            record_ends,
        )

    def plan(
        self, numbers: Sequence[int], grids: Sequence[Grid], spans: np.ndarray
    ) -> None:
        """Find the run that each window ``numbers[i]`` takes, all windows at once.

        ``spans`` has one row ``[start_ns, end_ns]`` per window. A window gets
        a run where one segment overlaps it and the records of that segment
        in it line up on its grid: the records that :meth:`overlapping`
        keeps, placed as :func:`place_segment` would place them. Nothing is
        planned unless the records are in time order, so that binary searches
        find the records in each span.
        """
        table = self.table
        if not numbers or not self._in_time_order():
            return
        if not len(table):
            self.planned.update(dict.fromkeys(numbers))
            return
        starts, ends = spans[:, 0], spans[:, 1]
        # Segments and records with a sample in each span, as in overlapping().
        hits = np.searchsorted(self.starts, ends, side="right") - np.searchsorted(
            self.ends, starts, side="left"
        )
        segments = np.searchsorted(self.ends, starts, side="left")
        firsts = np.searchsorted(self.record_ends, starts, side="left")
        stops = np.searchsorted(table.record_starts, ends, side="right")

        bounds = table.record_bounds
        inside = np.minimum(segments, len(table) - 1)
        eligible = (hits == 1) & (firsts < stops) & (table.rates[inside] > 0)
        eligible &= (bounds[inside] <= firsts) & (stops <= bounds[inside + 1])
        chosen = np.flatnonzero(eligible)
        runs = plan_runs(
            table,
            segments[chosen],
            firsts[chosen],
            stops[chosen],
            [grids[i] for i in chosen.tolist()],
        )
        for position, count in enumerate(hits.tolist()):
            if count <= 0:
                self.planned[numbers[position]] = None
        for position, run in zip(chosen.tolist(), runs, strict=True):
            if run is not None:
                self.planned[numbers[position]] = run

    def _in_time_order(self) -> bool:
        """Return whether the records' starts and ends both never decrease."""
        return bool(
            (np.diff(self.table.record_starts) >= 0).all()
            and (np.diff(self.record_ends) >= 0).all()
        )

    def overlapping(self, start_ns: int, end_ns: int) -> SegmentTable | None:
        """Return the records that overlap ``[start_ns, end_ns]``, or None.

        A segment may contain the records of several windows. Only the records
        that overlap this window are kept, as a decode of this window's own
        records would give them, so that its time offset and largest shift
        do not depend on the other windows of the batch.
        """
        hits = np.flatnonzero((self.starts <= end_ns) & (self.ends >= start_ns))
        if not hits.size:
            return None
        table = self.table
        bounds = table.record_bounds
        inside = (table.record_starts <= end_ns) & (self.record_ends >= start_ns)
        first, stop = int(hits[0]), int(hits[-1]) + 1
        whole = inside[bounds[first] : bounds[stop]].all()
        if whole and stop - first == hits.size:
            return table.subset(first, stop)

        # Otherwise each hit is cut down to its records in the window. The hits
        # need not follow one another, because segments that overlap in time
        # are not sorted by their ends.
        trimmed = []
        for index in hits.tolist():
            segment = table.subset(index, index + 1).segments()[0]
            part = _records_of(segment, inside[bounds[index] : bounds[index + 1]])
            if part is not None:
                trimmed.append(part)
        return SegmentTable.from_segments(trimmed)


def _records_of(segment: Segment, inside: np.ndarray) -> Segment | None:
    """Cut a segment down to its records flagged in ``inside``, which follow
    one another (a segment's records are in time order)."""
    if inside.all():
        return segment
    rows = np.flatnonzero(inside)
    if not rows.size:
        return None
    first, stop = int(rows[0]), int(rows[-1]) + 1
    counts = segment.record_counts
    skip = int(counts[:first].sum())
    size = int(counts[first:stop].sum())
    return Segment(
        rate=segment.rate,
        pubversion=segment.pubversion,
        samples=segment.samples[skip : skip + size],
        record_starts=segment.record_starts[first:stop],
        record_counts=counts[first:stop],
    )


# The segments of each row of the batch's traces, one entry per publication
# version, highest first.
ObjectSamples = dict[int, list[TraceSegments]]


def decode_object(
    data: bytes, traces: Sequence[SeedId], stack: ExitStack
) -> ObjectSamples:
    """Decode the records of ``traces`` in ``data`` once.

    The samples may be views into libmseed's memory or into the thread's
    scratch memory, so they stay valid until ``stack`` closes, and contexts
    the thread enters on ``stack`` after this call must not outlive it.

    Raises
    ------
    DecodeError
        If libmseed rejects the records.
    """
    samples: ObjectSamples = {}
    if not data or not traces:
        return samples

    rows = {seed_id: row for row, seed_id in enumerate(traces)}
    selection = record_selection(traces)
    decoded = stack.enter_context(decode_segments(data, selection, reuse_memory=True))
    for seed_id, table in decoded:
        row = rows.get(seed_id)
        if row is not None:
            samples.setdefault(row, []).append(TraceSegments.of(table))
    return samples


def plan_windows(
    samples: ObjectSamples,
    numbers: Sequence[int],
    grids: Sequence[Grid],
    spans: Sequence[tuple[int, int]],
) -> None:
    """Plan the runs of the windows ``numbers`` in each trace of ``samples``.

    ``grids`` and ``spans`` are those of every window of the batch, by
    number. :func:`place_window` then places a planned window's trace with
    a slice copy, instead of cutting and anchoring its records again.
    """
    if not numbers:
        return
    window_grids = [grids[number] for number in numbers]
    window_spans = np.array([spans[number] for number in numbers], dtype=np.int64)
    for versions in samples.values():
        for segments in versions:
            segments.plan(numbers, window_grids, window_spans)


def place_window(
    block: PlacedBlock,
    objects: Sequence[ObjectSamples],
    grid: Grid,
    span: tuple[int, int],
    rate_tolerance: float,
    number: int | None = None,
    days: Sequence[int] | None = None,
) -> None:
    """Place the segments of ``objects`` that overlap ``span`` into ``block``.

    ``days`` contains the UTC day of each object, in nanoseconds. A trace
    that only one object has samples of takes them in one pass, higher
    publication versions first. A trace that several objects have samples
    of is placed as a day read places it (see :func:`place_by_day`), so
    that where two objects carry a sample for one time, the object of the
    sample's own day wins. Without ``days`` the objects are taken in the
    order given. Samples outside the block are left out. ``number`` names
    the window in the plans of :func:`plan_windows`, if any.
    """
    start, end = span
    for row in range(block.data.shape[0]):
        if number is not None and _place_planned(
            block, row, objects, number, grid, rate_tolerance
        ):
            continue
        found = [_overlapping_tables(samples, row, start, end) for samples in objects]
        holders = [position for position, tables in enumerate(found) if tables]
        if days is not None and len(holders) > 1:
            by_day = {days[position]: found[position] for position in holders}
            _place_row_by_day(block, row, by_day, grid, rate_tolerance)
            continue

        tables = [table for tables in found for table in tables]
        # A stable sort keeps the objects' order within a version.
        tables.sort(key=lambda table: -table.pubversion)
        if tables:
            place_tables(block, row, tables, grid, rate_tolerance, None)
    block.fill_rest()


def _overlapping_tables(
    samples: ObjectSamples, row: int, start: int, end: int
) -> list[SegmentTable]:
    """Return the tables of one object's records of ``row`` that overlap
    ``[start, end]``, one per publication version, in decode order."""
    tables = []
    for segments in samples.get(row, ()):
        table = segments.overlapping(start, end)
        if table is not None:
            tables.append(table)
    return tables


def _place_row_by_day(
    block: PlacedBlock,
    row: int,
    by_day: dict[int, list[SegmentTable]],
    grid: Grid,
    rate_tolerance: float,
) -> None:
    """Place one row of ``block`` from the tables of several objects, by day."""
    rows = slice(row, row + 1)
    placed = {}
    for day, tables in by_day.items():
        lo, hi = day_bounds(grid, day)
        day_block = PlacedBlock.empty(
            1, lo, hi, filled=False, out=block.data[rows, lo:hi]
        )
        day_block.reach = grid.samples_per_day
        edges: EdgeList = []
        tables.sort(key=lambda table: -table.pubversion)
        place_tables(day_block, 0, tables, grid, rate_tolerance, edges)
        day_block.fill_rest()
        assemble_edges(day_block, edges)
        placed[day] = day_block
    place_by_day(block, rows, placed, grid)


def day_bounds(grid: Grid, day_ns: int) -> tuple[int, int]:
    """Return the grid indices ``(lo, hi)`` of the UTC day that starts at
    ``day_ns``, cut to the grid.

    A day read splits its grid into chunks at the same indices. A day that
    ends before the grid gives ``(0, 0)``, and one that starts after it
    ``(size, size)``.
    """
    lo = grid.first_index_at_or_after(day_ns)
    return lo, grid.first_index_at_or_after(day_ns + NS_PER_DAY)


def place_by_day(
    block: PlacedBlock, rows: slice, placed: dict[int, PlacedBlock], grid: Grid
) -> None:
    """Merge objects placed day by day into ``rows`` of ``block``, as a day
    read of the window's time range would merge its chunks.

    ``placed`` maps the UTC day of each object to a block of the rows
    ``rows`` over the grid indices of that day (:func:`day_bounds`), with
    the object's records placed and its spill and backspill collected.
    Each day of the window takes the previous day's spill and then the
    next day's backspill with :func:`merge_edge`, so its own object's
    samples win unless an edge row carries a higher publication version.
    The days' samples are written into ``block.data`` and their outcomes
    combined into ``block``.
    """
    # NOTE: merge_edge compares an edge's version with the highest version
    # the day's block wrote. A day read's block covers the whole day and a
    # window's only the window's records, so where a day's object changes
    # publication version during the day the two can pick different winners.
    days = []
    for day in _window_days(grid):
        lo, hi = day_bounds(grid, day)
        target = block.data[rows, lo:hi]
        own = placed.get(day)
        if own is None:
            own = PlacedBlock.empty(target.shape[0], lo, hi, out=target)
        previous = placed.get(day - NS_PER_DAY)
        if previous is not None:
            merge_edge(own, previous.spill)
        following = placed.get(day + NS_PER_DAY)
        if following is not None:
            merge_edge(own, following.backspill)
        if not np.may_share_memory(own.data, target):
            target[...] = own.data
        days.append(own)
    _combine_days(block, rows, days, list(placed.values()))


def _window_days(grid: Grid) -> list[int]:
    """Return the UTC days that contain at least one index of ``grid``, in order."""
    last_ns = grid.start_ns + int(np.ceil((grid.size - 1) * grid.step_ns))
    first_day = grid.start_ns - grid.start_ns % NS_PER_DAY
    days = range(first_day, last_ns + 1, NS_PER_DAY)
    return [day for day in days if _has_indices(grid, day)]


def _has_indices(grid: Grid, day: int) -> bool:
    lo, hi = day_bounds(grid, day)
    return lo < hi


def _combine_days(
    block: PlacedBlock,
    rows: slice,
    days: list[PlacedBlock],
    objects: list[PlacedBlock],
) -> None:
    """Write the outcomes of the window's days into ``rows`` of ``block``.

    Counts add up over the days, and the time offset is that of the first
    day with a sample. Whether a trace was found, and at which rates its
    records were left out, comes from every object's block, also those of
    days outside the window whose records reach into it.
    """
    block.overlaps[rows] = np.sum([day.overlaps for day in days], axis=0)
    block.conflicts[rows] = np.sum([day.conflicts for day in days], axis=0)
    block.written[rows] = np.sum([day.written for day in days], axis=0)
    block.dropped[rows] = np.sum([day.dropped for day in days], axis=0)
    block.versions[rows] = np.max([day.versions for day in days], axis=0)
    block.max_shift[rows] = np.max([day.max_shift for day in days], axis=0)
    everything = days + objects
    block.found[rows] = np.any([part.found for part in everything], axis=0)
    block.rate_mismatch[rows] = np.any([part.rate_mismatch for part in objects], axis=0)

    written = np.array([day.written for day in days])
    offsets = np.array([day.first_offset for day in days])
    for position, row in enumerate(range(*rows.indices(block.data.shape[0]))):
        with_samples = np.flatnonzero(written[:, position] > 0)
        if with_samples.size:
            block.first_offset[row] = offsets[with_samples[0], position]
        for day in days:
            block.header_rates[row] |= day.header_rates[position]
        for part in objects:
            block.mismatched_rates[row] |= part.mismatched_rates[position]
    block.filled_end[rows] = block.hi - block.lo
    block.written_end[rows] = block.hi - block.lo


def _place_planned(
    block: PlacedBlock,
    row: int,
    objects: Sequence[ObjectSamples],
    number: int,
    grid: Grid,
    rate_tolerance: float,
) -> bool:
    """Place a row from the plans of window ``number``, and return whether it did.

    It places nothing and returns False unless every trace of the row was
    planned and at most one run overlaps the window.
    """
    found = None
    for samples in objects:
        for segments in samples.get(row, ()):
            if number not in segments.planned:
                return False
            run = segments.planned[number]
            if run is None:
                continue
            if found is not None:
                return False
            found = run
    if found is None:
        return True
    return place_run(block, row, found, grid, rate_tolerance)
