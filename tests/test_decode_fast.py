"""The fast decode path against the path it replaced, on real and synthetic bytes.

``decode_and_place`` unpacks each segment into an array of its own and
writes an uninitialized block once. The reference here decodes the old way
(libmseed unpacks while reading) and places onto a block filled with NaN
beforehand. Both must give the same block, bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from intake_earthscope.codes import SeedId, record_selection
from intake_earthscope.decode import _Scratch, decode_and_place, decode_segments
from intake_earthscope.place import (
    Edge,
    Grid,
    PlacedBlock,
    Segment,
    SegmentTable,
    assemble_edges,
    merge_edge,
    place_row,
)
from intake_earthscope.timeutil import parse_time

import mseedgen

TOLERANCE = 1e-4
NS_PER_DAY = 86_400 * 1_000_000_000

BLOCK_FIELDS = (
    "overlaps",
    "conflicts",
    "first_offset",
    "max_shift",
    "rate_mismatch",
    "found",
    "written",
    "versions",
    "dropped",
)


def _two_versions() -> bytes:
    values = np.arange(3_000, dtype=np.int32)
    first = mseedgen.segment_bytes(
        "XX.STA.00.HHZ", "2006-01-01T01:00:00Z", values, 100.0, pubversion=1
    )
    second = mseedgen.segment_bytes(
        "XX.STA.00.HHZ", "2006-01-01T01:00:10Z", values + 7, 100.0, pubversion=2
    )
    return first + second


SYNTHETIC = {
    "gaps": lambda: mseedgen.gap().data,
    "many_gaps": lambda: mseedgen.many_gaps(segment_count=300).data,
    "overlap": lambda: mseedgen.overlap(identical=False).data,
    "two_versions": _two_versions,
    "rate_jitter": lambda: mseedgen.rate_jitter().data,
    "off_grid": lambda: mseedgen.off_grid().data,
    "midnight": lambda: mseedgen.midnight_crossing().data,
    "drift": lambda: mseedgen.drifting_rate_day(seconds=600.0).data,
    "channels": lambda: mseedgen.station_day(seconds=120.0).data,
}


def _flat(decoded: list[tuple[SeedId, SegmentTable]]) -> list[tuple[SeedId, Segment]]:
    """One (trace, segment) pair per segment of the decoded tables."""
    return [(seed_id, seg) for seed_id, table in decoded for seg in table.segments()]


def _seed_ids(data: bytes) -> list[SeedId]:
    with decode_segments(data, "*", own_buffers=False) as decoded:
        return sorted({seed_id for seed_id, _ in decoded}, key=str)


def _day_grid(data: bytes, seed_id: SeedId) -> Grid:
    """The grid of the day the channel's first sample falls in."""
    with decode_segments(data, record_selection([seed_id]), own_buffers=False) as dec:
        first = min(int(segment.record_starts[0]) for _, segment in _flat(dec))
        rate = float(dec[0][1].rates[0])
    start = first - first % NS_PER_DAY
    step = 1e9 / rate
    return Grid(start, step, int(np.ceil(NS_PER_DAY / step)))


def _reference(
    data: bytes, traces: list[SeedId], grid: Grid, lo: int, hi: int
) -> PlacedBlock:
    """Decode the old way and place onto a block filled with NaN beforehand."""
    block = PlacedBlock.empty(len(traces), lo, hi)
    block.reach = grid.samples_per_day
    rows = {seed_id: row for row, seed_id in enumerate(traces)}
    edges: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    selection = record_selection(traces)
    with decode_segments(data, selection, own_buffers=False) as decoded:
        by_row: dict[int, list[Segment]] = {}
        for seed_id, segment in _flat(decoded):
            by_row.setdefault(rows[seed_id], []).append(segment)
        for row, segments in by_row.items():
            place_row(block, row, segments, grid, TOLERANCE, edges)
    assemble_edges(block, edges)
    return block


def block_differences(ours: PlacedBlock, theirs: PlacedBlock) -> list[str]:
    """Name the parts of two blocks that are not bit-identical."""
    differ = [
        name
        for name in BLOCK_FIELDS
        if not np.array_equal(getattr(ours, name), getattr(theirs, name), True)
    ]
    if not np.array_equal(ours.data, theirs.data, equal_nan=True):
        differ.append("data")
    for name in ("spill", "backspill"):
        mine, other = getattr(ours, name), getattr(theirs, name)
        same = mine.start == other.start and np.array_equal(
            mine.data, other.data, equal_nan=True
        )
        if not same or not np.array_equal(mine.versions, other.versions):
            differ.append(name)
    for name in ("header_rates", "mismatched_rates"):
        if getattr(ours, name) != getattr(theirs, name):
            differ.append(name)
    return differ


def _segments(data: bytes, own_buffers: bool) -> list[tuple[str, Segment]]:
    with decode_segments(data, "*", own_buffers=own_buffers) as decoded:
        return [
            (
                str(seed_id),
                Segment(
                    segment.rate,
                    segment.pubversion,
                    segment.samples.copy(),
                    segment.record_starts.copy(),
                    segment.record_counts.copy(),
                ),
            )
            for seed_id, segment in _flat(decoded)
        ]


def _same_segments(left: list, right: list) -> bool:
    if len(left) != len(right):
        return False
    for (left_id, one), (right_id, other) in zip(left, right, strict=True):
        same = (
            left_id == right_id
            and one.rate == other.rate
            and one.pubversion == other.pubversion
            and one.samples.dtype == other.samples.dtype
            and np.array_equal(one.samples, other.samples)
            and np.array_equal(one.record_starts, other.record_starts)
            and np.array_equal(one.record_counts, other.record_counts)
        )
        if not same:
            return False
    return True


def _real_files(shared_data: Path) -> list[Path]:
    return sorted(path for path in (shared_data / "miniseed").iterdir())


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_segments_synthetic(name: str) -> None:
    data = SYNTHETIC[name]()
    assert _same_segments(_segments(data, True), _segments(data, False))


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_block_synthetic(name: str) -> None:
    data = SYNTHETIC[name]()
    traces = _seed_ids(data)
    grid = _day_grid(data, traces[0])
    ours = decode_and_place(data, traces, grid, 0, grid.size, TOLERANCE)
    assert block_differences(ours, _reference(data, traces, grid, 0, grid.size)) == []


@pytest.mark.parametrize("name", ["midnight", "gaps", "two_versions"])
def test_block_inner_window(name: str) -> None:
    """Blocks that start and end inside the data fill spill and backspill."""
    data = SYNTHETIC[name]()
    traces = _seed_ids(data)
    grid = _day_grid(data, traces[0])
    with decode_segments(data, "*", own_buffers=False) as decoded:
        first = int(decoded[0][1].record_starts[0])
    lo = int(round(grid.position(first))) + 500
    hi = lo + 600
    ours = decode_and_place(data, traces, grid, lo, hi, TOLERANCE)
    assert block_differences(ours, _reference(data, traces, grid, lo, hi)) == []


def test_segments_real(shared_data: Path) -> None:
    files = _real_files(shared_data)
    differing = [
        path.name
        for path in files
        if not _same_segments(
            _segments(path.read_bytes(), True), _segments(path.read_bytes(), False)
        )
    ]
    assert differing == []


def test_block_real(shared_data: Path) -> None:
    differing = []
    for path in _real_files(shared_data):
        data = path.read_bytes()
        traces = _seed_ids(data)
        grid = _day_grid(data, traces[0])
        ours = decode_and_place(data, traces, grid, 0, grid.size, TOLERANCE)
        if block_differences(ours, _reference(data, traces, grid, 0, grid.size)):
            differing.append(path.name)
    assert differing == []


def test_own_buffers_own_samples() -> None:
    """Samples outlive libmseed's memory: they sit in arrays NumPy owns."""
    with decode_segments(mseedgen.gap().data, "*") as decoded:
        owners = [piece.base for _, table in decoded for piece in table.pieces]
    assert all(owner is not None and owner.flags.owndata for owner in owners)


def test_own_buffers_share_one_array() -> None:
    """The segments of a trace are unpacked into one shared array."""
    with decode_segments(mseedgen.gap().data, "*") as decoded:
        pieces = decoded[0][1].pieces
    assert len({id(piece.base) for piece in pieces}) == 1


def _mixed_types() -> bytes:
    """An int32 run followed in time by a float64 run of the same channel."""
    start = mseedgen.nstime("2006-01-01T00:00:00Z")
    integers = mseedgen.segment_bytes(
        "XX.STA.00.HHZ", start, np.arange(500), 100.0, encoding="int32"
    )
    floats = mseedgen.segment_bytes(
        "XX.STA.00.HHZ",
        start + 5 * 1_000_000_000,
        np.arange(500) + 0.5,
        100.0,
        encoding="float64",
    )
    return integers + floats


def test_mixed_types_fall_back() -> None:
    """libmseed joins records of two sample types into one segment and then
    cannot unpack it, so each sample type's records are decoded apart."""
    with decode_segments(_mixed_types(), "*") as decoded:
        kinds = [segment.samples.dtype.kind for _, segment in _flat(decoded)]

    assert kinds == ["i", "f"]


def test_mixed_types_block() -> None:
    data = _mixed_types()
    traces = [SeedId("XX", "STA", "00", "HHZ")]
    grid = Grid(mseedgen.nstime("2006-01-01T00:00:00Z"), 1e7, 8_640_000)

    block = decode_and_place(data, traces, grid, 0, grid.size, TOLERANCE)

    np.testing.assert_array_equal(block.data[0, :500], np.arange(500))
    np.testing.assert_array_equal(block.data[0, 500:1000], np.arange(500) + 0.5)


def test_unpack_failure_restarts_block() -> None:
    """HHE places from reused memory, then HHZ cannot be unpacked that way:
    the whole block is decoded again, so HHE is neither lost nor counted twice."""
    east = mseedgen.segment_bytes(
        "XX.STA.00.HHE", "2006-01-01T00:00:00Z", np.arange(800), 100.0
    )
    data = east + _mixed_types()
    traces = [SeedId("XX", "STA", "00", "HHE"), SeedId("XX", "STA", "00", "HHZ")]
    grid = Grid(mseedgen.nstime("2006-01-01T00:00:00Z"), 1e7, 8_640_000)

    block = decode_and_place(data, traces, grid, 0, grid.size, TOLERANCE)

    np.testing.assert_array_equal(block.data[0, :800], np.arange(800))
    np.testing.assert_array_equal(block.data[1, 500:1000], np.arange(500) + 0.5)
    assert block.written.tolist() == [800, 1000]
    assert block.overlaps.tolist() == [0, 0]


def test_reused_memory_keeps_earlier_block() -> None:
    """The next decode reuses the memory the integers were unpacked into, so
    nothing of the first block, its spill included, may point there."""
    traces = [SeedId("XX", "STA", "00", "HHZ")]
    grid = Grid(mseedgen.nstime("2006-01-01T00:00:00Z"), 1e7, 8_640_000)
    middle = grid.size // 2
    first = mseedgen.segment_bytes(
        "XX.STA.00.HHZ", "2006-01-01T11:59:00Z", np.arange(12_000), 100.0
    )
    second = mseedgen.segment_bytes(
        "XX.STA.00.HHZ", "2006-01-01T11:59:00Z", -np.arange(12_000), 100.0
    )

    block = decode_and_place(first, traces, grid, 0, middle, TOLERANCE)
    data_before, spill_before = block.data.copy(), block.spill.data.copy()
    decode_and_place(second, traces, grid, 0, middle, TOLERANCE)

    assert block.spill.data.shape[1] > 0
    np.testing.assert_array_equal(block.data, data_before)
    np.testing.assert_array_equal(block.spill.data, spill_before)
    assert np.nanmax(block.spill.data) == 11_999


def test_scratch_separate_until_released() -> None:
    """Two versions of one trace are unpacked side by side before placement."""
    scratch = _Scratch()
    with scratch.borrowed():
        scratch.take(10_000, np.dtype(np.int32))
    with scratch.borrowed():
        first = scratch.take(1_001, np.dtype(np.int32))
        second = scratch.take(500, np.dtype(np.float64))
        first[:] = 1
        second[:] = 2.0
        with scratch.borrowed():
            inner = scratch.take(10, np.dtype(np.int32))
        after_inner = scratch.take(10, np.dtype(np.int32))

    assert not np.shares_memory(first, second)
    assert (first == 1).all()
    assert (second == 2.0).all()
    assert np.shares_memory(inner, scratch.buffer)
    assert np.shares_memory(inner, after_inner)
    assert not np.shares_memory(after_inner, second)
    with scratch.borrowed():
        again = scratch.take(1_001, np.dtype(np.int32))
        huge = scratch.take(_Scratch.LIMIT, np.dtype(np.int32))
    assert np.shares_memory(again, first)
    assert not np.shares_memory(huge, scratch.buffer)


def test_scratch_grows_to_room_taken() -> None:
    """Room past the buffer is new memory until the buffer grows after use."""
    scratch = _Scratch()
    with scratch.borrowed():
        fresh = scratch.take(1_000, np.dtype(np.int32))
    assert not np.shares_memory(fresh, scratch.buffer)
    assert scratch.buffer.size >= 4_000
    with scratch.borrowed():
        reused = scratch.take(1_000, np.dtype(np.int32))
    assert np.shares_memory(reused, scratch.buffer)


def test_unfilled_block_rest_is_nan() -> None:
    block = PlacedBlock.empty(2, 0, 100, filled=False)
    segment = Segment(100.0, 1, np.arange(10, dtype=np.int32), np.array([0]), [10])
    grid = Grid(0, 1e7, 100)
    place_row(block, 1, [segment], grid, TOLERANCE, [])
    block.fill_rest()
    assert np.isnan(block.data[0]).all()
    assert np.isnan(block.data[1, 10:]).all()


def test_unfilled_block_merge_edge() -> None:
    """An edge merged into a block not filled yet lands on NaN, not garbage."""
    block = PlacedBlock.empty(1, 0, 100, filled=False)
    grid = Grid(0, 1e7, 100)
    starts = np.array([20 * 10_000_000])
    segment = Segment(100.0, 1, np.arange(10, dtype=np.int32), starts, np.array([10]))
    place_row(block, 0, [segment], grid, TOLERANCE, [])
    edge = Edge(90, np.full((1, 10), 5.0), np.ones(1, dtype=np.int64))
    merge_edge(block, edge)
    expected = np.full(100, np.nan)
    expected[20:30] = np.arange(10)
    expected[90:] = 5.0
    assert np.array_equal(block.data[0], expected, equal_nan=True)


def test_channel_changing_encoding_decodes_each_part() -> None:
    start = parse_time("2024-01-01", "start")
    hour = 3600 * 10**9
    values = [np.arange(72_000, dtype=np.int32) + 100_000 * part for part in range(3)]
    data = b"".join(
        mseedgen.segment_bytes(
            "XX.STA.00.BHZ", start + part * hour, values[part], 20.0, encoding=encoding
        )
        for part, encoding in enumerate(("steim2", "int32", "float64"))
    )
    grid = Grid(start, 5e7, 3 * 72_000)

    block = decode_and_place(
        data, [SeedId("XX", "STA", "00", "BHZ")], grid, 0, grid.size, 1e-4
    )

    np.testing.assert_array_equal(block.data[0], np.concatenate(values))


@pytest.mark.parametrize("name", ["midnight", "gaps", "many_gaps", "drift"])
def test_no_neighbours_same_block(name: str) -> None:
    """Without neighbours, the samples inside the block stay the same and
    the samples outside it are left out."""
    data = SYNTHETIC[name]()
    traces = _seed_ids(data)
    grid = _day_grid(data, traces[0])
    with decode_segments(data, "*") as decoded:
        first = int(decoded[0][1].record_starts[0])
    lo = int(round(grid.position(first))) + 500
    hi = lo + 600

    with_edges = decode_and_place(data, traces, grid, lo, hi, TOLERANCE)
    without_edges = decode_and_place(
        data, traces, grid, lo, hi, TOLERANCE, neighbours=False
    )

    np.testing.assert_array_equal(without_edges.data, with_edges.data)
    assert without_edges.written.tolist() == with_edges.written.tolist()
    assert np.isfinite(with_edges.spill.data).any()
    assert without_edges.spill.data.size == 0
    assert without_edges.backspill.data.size == 0
