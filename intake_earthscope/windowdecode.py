"""Decode the records of a batch of windows once per object, then place them.

A batch of windows reads each of its objects once. Decoding each window's
records on its own would repeat libmseed's set-up and the walk over every
trace's segments for each window, and for windows of a few minutes that
costs more than their samples do. Here the records that all windows of the
batch need from one object are decoded together, and each window then takes
the segments that overlap it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from intake_earthscope.codes import SeedId, record_selection
from intake_earthscope.decode import decode_segments
from intake_earthscope.place import (
    Grid,
    PlacedBlock,
    Segment,
    SegmentTable,
    place_tables,
)

__all__ = ["ObjectSamples", "TraceSegments", "decode_object", "place_window"]


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


def place_window(
    block: PlacedBlock,
    objects: Sequence[ObjectSamples],
    grid: Grid,
    span: tuple[int, int],
    rate_tolerance: float,
) -> None:
    """Place the segments of ``objects`` that overlap ``span`` into ``block``.

    The objects are taken in the order given, and within a trace higher
    publication versions first, as one decode of their joined records
    would place them. Samples outside the block are left out.
    """
    # NOTE: where the previous day's records and the day's own object carry
    # different values for the same times, the object given first wins here,
    # while a whole-day read keeps the values of the day's own object.
    start, end = span
    for row in range(block.data.shape[0]):
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
