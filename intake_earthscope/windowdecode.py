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
    Grid,
    PlacedBlock,
    Run,
    Segment,
    SegmentTable,
    place_run,
    place_tables,
    plan_runs,
)

__all__ = [
    "ObjectSamples",
    "TraceSegments",
    "decode_object",
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

    The samples may be views into libmseed's memory, so they stay valid
    until ``stack`` closes.

    Raises
    ------
    DecodeError
        If libmseed rejects the records.
    """
    samples: ObjectSamples = {}
    if not data or not traces:
        return samples

    rows = {seed_id: row for row, seed_id in enumerate(traces)}
    decoded = stack.enter_context(decode_segments(data, record_selection(traces)))
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
) -> None:
    """Place the segments of ``objects`` that overlap ``span`` into ``block``.

    The objects are taken in the order given, and within a trace higher
    publication versions first, as one decode of their joined records
    would place them. Samples outside the block are left out. ``number``
    names the window in the plans of :func:`plan_windows`, if any.
    """
    # NOTE: where the previous day's records and the day's own object carry
    # different values for the same times, the object given first wins here,
    # while a whole-day read keeps the values of the day's own object.
    start, end = span
    for row in range(block.data.shape[0]):
        if number is not None and _place_planned(
            block, row, objects, number, grid, rate_tolerance
        ):
            continue
        tables = []
        for samples in objects:
            for segments in samples.get(row, ()):
                table = segments.overlapping(start, end)
                if table is not None:
                    tables.append(table)

        # A stable sort keeps the objects' order within a version.
        tables.sort(key=lambda table: -table.pubversion)
        if tables:
            place_tables(block, row, tables, grid, rate_tolerance, None)
    block.fill_rest()


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
