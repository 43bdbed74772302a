"""Decode miniSEED bytes with pymseed and place the samples on a regular grid.

Placement rules, stated once here and in the user guide:

* libmseed joins the records of one channel into segments when each record
  starts within half a sample of where the previous one ended and the rates
  agree to within a relative 1e-4. A segment's samples are mapped linearly
  between its first and last sample times, and each goes to the nearest grid
  index, so no sample moves by more than half a sample interval from that
  timeline. The shift applied to the first sample is reported.
* Where two samples land on one grid index, identical values collapse and
  count as an overlap; differing values count as a conflict too, and the
  sample of the higher publication version wins, or else the one placed
  first (segments in time order, the object's own records before the
  neighbouring day's).
* Samples of a segment whose rate does not agree with the grid rate are not
  placed; the trace reports ``rate_mismatch``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pymseed

from intake_earthscope.codes import (
    SeedId,
    matches,
    record_selection,
    seed_id_from_sourceid,
)
from intake_earthscope.errors import DecodeError

__all__ = ["Grid", "PlacedBlock", "decode_and_place", "merge_spill"]

# pymseed sample types of integer and floating-point samples ("t" is text).
_NUMERIC_SAMPLE_TYPES = ("i", "f", "d")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Grid:
    """A regular time grid: ``start_ns + k * step_ns``, ``k`` in ``[0, size)``."""

    start_ns: int
    step_ns: float
    size: int

    def position(self, time_ns: int) -> float:
        """Return the fractional grid position of ``time_ns``."""
        return (time_ns - self.start_ns) / self.step_ns

    def first_index_at_or_after(self, time_ns: int) -> int:
        """Return the first grid index whose time is at or after ``time_ns``."""
        index = int(np.ceil(self.position(time_ns) - 1e-9))
        return min(max(index, 0), self.size)


@dataclass
class PlacedBlock:
    """Samples of some traces over grid indices ``[lo, lo + width)``.

    ``data`` has one row per trace, NaN where no sample landed. ``spill``
    holds samples past ``hi`` (the end of the block the caller owns), which
    belong to the next block. Per-trace counters follow the module rules;
    ``written`` counts the samples placed in the block and ``written_end``
    is the column after the last one written, so that writes in time order
    skip the check for overlaps.
    """

    lo: int
    hi: int
    data: np.ndarray
    spill: np.ndarray
    overlaps: np.ndarray
    conflicts: np.ndarray
    first_offset: np.ndarray
    max_shift: np.ndarray
    rate_mismatch: np.ndarray
    found: np.ndarray
    written: np.ndarray
    written_end: np.ndarray
    header_rates: list[set[float]] = field(default_factory=list)
    unplanned: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, n_traces: int, lo: int, hi: int) -> PlacedBlock:
        """Create a block with no samples."""
        return cls(
            lo=lo,
            hi=hi,
            data=np.full((n_traces, hi - lo), np.nan),
            spill=np.full((n_traces, 0), np.nan),
            overlaps=np.zeros(n_traces, dtype=np.int64),
            conflicts=np.zeros(n_traces, dtype=np.int64),
            first_offset=np.full(n_traces, np.nan),
            max_shift=np.zeros(n_traces),
            rate_mismatch=np.zeros(n_traces, dtype=bool),
            found=np.zeros(n_traces, dtype=bool),
            written=np.zeros(n_traces, dtype=np.int64),
            written_end=np.zeros(n_traces, dtype=np.int64),
            header_rates=[set() for _ in range(n_traces)],
        )


def decode_and_place(
    data: bytes,
    traces: Sequence[SeedId],
    grid: Grid,
    lo: int,
    hi: int,
    rate_tolerance: float,
    patterns: Mapping[str, Sequence[str]] | None = None,
    skip_not_data: bool = False,
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
        Grid indices the block covers. Samples at or past ``hi`` go to the
        spill; samples before ``lo`` are dropped.
    rate_tolerance : float
        Relative tolerance under which a segment rate equals the grid rate.
    patterns : mapping, optional
        The request's code patterns per kind. A decoded channel that matches
        them but is not in ``traces`` (it appeared after the plan was made)
        is listed in ``unplanned`` instead of being ignored.
    skip_not_data : bool
        Skip bytes until a record starts, for a range cut out of an object.

    Raises
    ------
    DecodeError
        If ``data`` is not miniSEED.
    """
    rows = {str(seed_id): row for row, seed_id in enumerate(traces)}
    block = PlacedBlock.empty(len(traces), lo, hi)
    if not traces or not data:
        return block

    segments = _decode_segments(data, record_selection(traces, patterns), skip_not_data)
    spill_parts: list[tuple[int, np.ndarray, np.ndarray]] = []

    for seed_id, _, segment in segments:
        row = rows.get(str(seed_id))
        if row is None:
            # A channel at another rate was left out on purpose by the plan.
            on_grid = _rate_fits(segment.rate, grid, rate_tolerance)
            if on_grid and patterns and _matches_request(seed_id, patterns):
                block.unplanned.append(str(seed_id))
            continue
        spill_parts.extend(_place_segment(block, row, segment, grid, rate_tolerance))

    block.spill = _assemble_spill(len(traces), spill_parts, hi)
    block.unplanned = sorted(set(block.unplanned))
    return block


def _rate_fits(rate: float, grid: Grid, rate_tolerance: float) -> bool:
    grid_rate = 1e9 / grid.step_ns
    return abs(rate - grid_rate) <= rate_tolerance * max(rate, grid_rate)


def _matches_request(seed_id: SeedId, patterns: Mapping[str, Sequence[str]]) -> bool:
    return all(
        matches(getattr(seed_id, kind), codes) for kind, codes in patterns.items()
    )


def merge_spill(block: PlacedBlock, spill: np.ndarray) -> None:
    """Overlay the previous block's spill onto the start of ``block`` in place.

    The block's own samples win; the spill only fills missing samples, and
    samples present in both count as overlaps (conflicts where they differ).
    """
    width = min(spill.shape[1], block.data.shape[1])
    if width == 0:
        return

    own = block.data[:, :width]
    incoming = spill[:, :width]
    both = ~np.isnan(own) & ~np.isnan(incoming)
    block.overlaps += both.sum(axis=1)
    block.conflicts += (both & (own != incoming)).sum(axis=1)

    fill = np.isnan(own) & ~np.isnan(incoming)
    own[fill] = incoming[fill]
    block.written += fill.sum(axis=1)
    block.found |= fill.any(axis=1)


@dataclass(frozen=True)
class _Segment:
    start_ns: int
    end_ns: int
    rate: float
    samples: np.ndarray


def _decode_segments(
    data: bytes, selection: str, skip_not_data: bool
) -> list[tuple[SeedId, int, _Segment]]:
    """Decode the selected records into (trace, publication version, segment)."""
    try:
        traces = pymseed.MS3TraceList.from_buffer(
            data,
            unpack_data=True,
            sourceid=selection,
            split_version=True,
            skip_not_data=skip_not_data,
        )
    except pymseed.MiniSEEDError as error:
        raise DecodeError(f"invalid miniSEED: {error}") from error

    decoded = []
    with traces:
        for trace in traces:
            seed_id = seed_id_from_sourceid(trace.sourceid)
            for segment in trace:
                if segment.sampletype not in _NUMERIC_SAMPLE_TYPES:
                    continue
                # Taking the buffer hands it over without a copy.
                samples = segment.take_np_datasamples()
                decoded.append(
                    (
                        seed_id,
                        trace.pubversion,
                        _Segment(
                            segment.starttime,
                            segment.endtime,
                            segment.samprate,
                            samples,
                        ),
                    )
                )

    # Place higher publication versions first, so that they win conflicts.
    decoded.sort(key=lambda item: (str(item[0]), -item[1], item[2].start_ns))
    return decoded


def _grid_positions(segment: _Segment, grid: Grid) -> tuple[float, float]:
    return grid.position(segment.start_ns), grid.position(segment.end_ns)


def _target_indices(segment: _Segment, grid: Grid) -> tuple[np.ndarray | int, float]:
    """Map the segment's samples to grid indices; return (indices, first shift).

    A contiguous run is returned as its first index when the drift over the
    segment stays within half a sample, otherwise an index array that follows
    the segment's own timeline.
    """
    first, last = _grid_positions(segment, grid)
    count = segment.samples.size
    start = int(np.rint(first))
    shift = start - first

    drift = (start + count - 1) - last
    if count == 1 or abs(drift) <= 0.5:
        return start, shift

    steps = np.arange(count, dtype=np.float64) * ((last - first) / (count - 1))
    return np.rint(first + steps).astype(np.int64), shift


def _place_segment(
    block: PlacedBlock,
    row: int,
    segment: _Segment,
    grid: Grid,
    rate_tolerance: float,
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Write a segment's samples into ``block``; return its spill past ``hi``."""
    block.header_rates[row].add(segment.rate)
    if not _rate_fits(segment.rate, grid, rate_tolerance):
        block.rate_mismatch[row] = True
        logger.debug(
            "skipping segment at %s Hz of a %s ns grid", segment.rate, grid.step_ns
        )
        return []

    target, shift = _target_indices(segment, grid)
    block.found[row] = True
    if np.isnan(block.first_offset[row]):
        block.first_offset[row] = shift * grid.step_ns / 1e9
    block.max_shift[row] = max(block.max_shift[row], _max_shift(segment, grid, target))

    if isinstance(target, np.ndarray):
        return _write_scattered(block, row, target, segment.samples)
    return _write_contiguous(block, row, target, segment.samples)


def _write_contiguous(
    block: PlacedBlock, row: int, first: int, samples: np.ndarray
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Write samples that occupy consecutive grid indices from ``first``."""
    begin = max(first, block.lo)
    end = min(first + samples.size, block.hi)
    if begin < end:
        values = samples[begin - first : end - first]
        start, stop = begin - block.lo, end - block.lo
        if start >= block.written_end[row]:
            # Nothing was written here yet: no overlap to look for.
            block.data[row, start:stop] = values
            block.written[row] += stop - start
        else:
            _fill(block, row, block.data[row, start:stop], values)
        block.written_end[row] = max(block.written_end[row], stop)

    if first + samples.size <= block.hi:
        return []
    skip = max(block.hi - first, 0)
    indices = np.arange(first + skip, first + samples.size, dtype=np.int64)
    return [(row, indices, samples[skip:])]


def _write_scattered(
    block: PlacedBlock, row: int, indices: np.ndarray, samples: np.ndarray
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Write samples whose grid indices follow a drifting timeline."""
    # Samples of one drifting segment may share an index: keep the first one
    # and count the rest as overlaps.
    indices, first = np.unique(indices, return_index=True)
    block.overlaps[row] += samples.size - indices.size
    samples = samples[first]

    inside = (indices >= block.lo) & (indices < block.hi)
    columns = indices[inside] - block.lo
    target = block.data[row, columns]
    _fill(block, row, target, samples[inside])
    block.data[row, columns] = target
    if columns.size:
        block.written_end[row] = max(block.written_end[row], int(columns[-1]) + 1)

    beyond = indices >= block.hi
    if not beyond.any():
        return []
    return [(row, indices[beyond], samples[beyond])]


def _fill(block: PlacedBlock, row: int, target: np.ndarray, values: np.ndarray) -> None:
    """Copy ``values`` into the empty places of ``target``, counting overlaps."""
    occupied = ~np.isnan(target)
    taken = int(occupied.sum())
    block.written[row] += target.size - taken
    if taken:
        block.overlaps[row] += taken
        block.conflicts[row] += int((occupied & (target != values)).sum())
        np.copyto(target, values, where=~occupied, casting="unsafe")
    else:
        target[:] = values


def _max_shift(segment: _Segment, grid: Grid, target: np.ndarray | int) -> float:
    """Largest distance, in samples, between a sample's time and its grid index."""
    first, last = _grid_positions(segment, grid)
    count = segment.samples.size
    if isinstance(target, np.ndarray):
        ideal = first + np.arange(count) * ((last - first) / max(count - 1, 1))
        return float(np.abs(target - ideal).max())
    return float(max(abs(target - first), abs(target + count - 1 - last)))


def _assemble_spill(
    n_traces: int, parts: list[tuple[int, np.ndarray, np.ndarray]], hi: int
) -> np.ndarray:
    if not parts:
        return np.full((n_traces, 0), np.nan)

    width = max(int(indices.max()) - hi + 1 for _, indices, _ in parts)
    spill = np.full((n_traces, width), np.nan)
    for row, indices, values in parts:
        columns = indices - hi
        empty = np.isnan(spill[row, columns])
        spill[row, columns[empty]] = values[empty]
    return spill
