"""Planned runs of event windows: the same samples and outcomes as placing
each window's segments one by one, bit for bit.

A window batch plans, for all its windows at once, the one run that each
window takes from a trace (``plan_runs``), and places it with one slice
copy (``place_run``). Any other case goes through ``place_segment``. The
tests compare the two paths on hand-built tables and on objects that mix
gaps, tears, clock drift, publication versions and records that cross
midnight.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope import open_windows, place, windowread
from intake_earthscope.place import (
    Grid,
    PlacedBlock,
    Segment,
    SegmentTable,
    place_run,
    place_segment,
    plan_runs,
)
from intake_earthscope.recordindex import forget_indexes

from conftest import collection_spec, mirror
from mseedgen import interleave, join, segment_bytes

RATE = 10.0
DAY = "2006-01-02"


def window_block(grid: Grid, rows: int = 1) -> PlacedBlock:
    """Return an empty block of a window, as the window reader makes it."""
    block = PlacedBlock.empty(rows, 0, grid.size, filled=False)
    block.reach = grid.samples_per_day
    return block


def random_table(rng: np.random.Generator, rate: float) -> SegmentTable:
    """Build segments of a few records each, some records off their run.

    Most records start where the one before ends. Some are shifted by a
    fraction of a sample, small enough or too large to stay on one run.
    """
    period = 1e9 / rate
    segments = []
    start = 0
    for number in range(6):
        counts = rng.integers(1, 40, rng.integers(1, 7))
        offsets = np.cumsum(counts) - counts
        jitter = rng.choice([0.0, 0.0, 0.2, -0.3, 0.8], counts.size) * period
        record_starts = start + np.rint(offsets * period + jitter).astype(np.int64)
        samples = np.arange(counts.sum(), dtype=np.int32) + 1000 * number
        segments.append(
            Segment(rate, 1, samples, record_starts, counts.astype(np.int64))
        )
        start = int(record_starts[-1] + (counts[-1] + rng.integers(5, 50)) * period)
    return SegmentTable.from_segments(segments)


def segment_piece(table: SegmentTable, segment: int, first: int, stop: int) -> Segment:
    """Return records ``first`` to ``stop - 1`` of a table as one segment."""
    counts = table.record_counts
    before = np.cumsum(counts) - counts
    skip = int(before[first] - before[table.record_bounds[segment]])
    size = int(counts[first:stop].sum())
    return Segment(
        rate=float(table.rates[segment]),
        pubversion=table.pubversion,
        samples=table.pieces[segment][skip : skip + size],
        record_starts=table.record_starts[first:stop],
        record_counts=counts[first:stop],
    )


def random_pieces(
    rng: np.random.Generator, table: SegmentTable, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Grid]]:
    """Pick runs of records of one segment each, with a grid around each."""
    bounds = table.record_bounds
    segments, firsts, stops, grids = [], [], [], []
    step = 1e9 / float(table.rates[0])
    for _ in range(count):
        segment = int(rng.integers(0, len(table)))
        low, high = int(bounds[segment]), int(bounds[segment + 1])
        first = int(rng.integers(low, high))
        stop = int(rng.integers(first + 1, high + 1))
        # The grid starts anywhere from before the run to inside it, at any
        # phase of the sample interval.
        shift = int(rng.integers(-30, 30)) + rng.uniform(-0.5, 0.5)
        grid_start = int(table.record_starts[first]) + round(shift * step)
        grid = Grid(grid_start, step, int(rng.integers(1, 80)))
        segments.append(segment)
        firsts.append(first)
        stops.append(stop)
        grids.append(grid)
    return np.array(segments), np.array(firsts), np.array(stops), grids


def assert_same_block(planned: PlacedBlock, placed: PlacedBlock) -> None:
    assert planned.data.tobytes() == placed.data.tobytes()
    assert planned.first_offset.tobytes() == placed.first_offset.tobytes()
    assert planned.max_shift.tobytes() == placed.max_shift.tobytes()
    assert planned.written.tolist() == placed.written.tolist()
    assert planned.written_end.tolist() == placed.written_end.tolist()
    assert planned.filled_end.tolist() == placed.filled_end.tolist()
    assert planned.versions.tolist() == placed.versions.tolist()
    assert planned.found.tolist() == placed.found.tolist()
    assert planned.header_rates == placed.header_rates


@pytest.mark.parametrize("rate", [1.0, 3.0, 40.0, 100.0])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planned_run_equals_segment(rate: float, seed: int) -> None:
    """A run of plan_runs places what place_segment places, bit for bit, and
    plan_runs leaves out exactly the pieces that are not one run."""
    rng = np.random.default_rng(seed)
    table = random_table(rng, rate)
    segments, firsts, stops, grids = random_pieces(rng, table, 60)

    runs = plan_runs(table, segments, firsts, stops, grids)

    assert len(runs) == len(grids)
    planned_count = 0
    for run, segment, first, stop, grid in zip(
        runs, segments, firsts, stops, grids, strict=True
    ):
        piece = segment_piece(table, int(segment), int(first), int(stop))
        placed = window_block(grid)
        earliest = place_segment(placed, 0, piece, grid, 1e-9, None)
        placed.fill_rest()
        if run is None:
            assert place._anchored_indices(piece, grid)[0] is not None
            continue
        planned_count += 1
        planned = window_block(grid)
        assert place_run(planned, 0, run, grid, 1e-9)
        planned.fill_rest()
        assert run.earliest == earliest
        assert_same_block(planned, placed)
    assert planned_count > 0


def test_planned_run_rejects_other_rate() -> None:
    """A run whose rate does not fit the grid is left to place_segment.

    One sample lands on the grid of any rate, so plan_runs makes a run of it.
    """
    table = SegmentTable.from_segments(
        [Segment(RATE, 1, np.arange(1, dtype=np.int32), np.array([0]), np.array([1]))]
    )
    grid = Grid(0, 1e9 / 20.0, 10)
    run = plan_runs(table, np.array([0]), np.array([0]), np.array([1]), [grid])[0]
    assert run is not None
    block = window_block(grid)

    assert not place_run(block, 0, run, grid, 1e-9)
    assert not block.found[0]
    assert block.header_rates == [set()]


def ramp(first: int, count: int) -> np.ndarray:
    return np.arange(first, first + count, dtype=np.int32)


def varied_day() -> bytes:
    """Three channels at 10 Hz with a gap, a tear, clock drift and records of
    a second publication version, their records sorted by time."""
    z1 = segment_bytes("XX.STA..BHZ", DAY + "T00:00:00Z", ramp(0, 72_000), RATE)
    z2 = segment_bytes("XX.STA..BHZ", DAY + "T02:00:30Z", ramp(72_300, 71_700), RATE)
    # A segment that starts 0.3 samples off the grid.
    z3 = segment_bytes(
        "XX.STA..BHZ", DAY + "T04:00:00.03Z", ramp(144_000, 72_000), RATE
    )
    n1 = segment_bytes(
        "XX.STA..BHN",
        DAY + "T00:00:00Z",
        ramp(0, 216_000),
        RATE,
        clock_rate=RATE * (1 + 2e-6),
    )
    n2 = segment_bytes(
        "XX.STA..BHN",
        DAY + "T03:00:00Z",
        ramp(500_000, 6_000),
        RATE,
        pubversion=2,
    )
    e1 = segment_bytes(
        "XX.STA..BHE", DAY + "T00:00:00Z", ramp(0, 216_000), RATE, record_length=4096
    )
    return interleave(z1, z2, z3, n1, n2, e1)


def previous_day() -> bytes:
    """BHZ records of the day before, the last of them running past midnight."""
    return segment_bytes("XX.STA..BHZ", "2006-01-01T23:50:00Z", ramp(9, 6_300), RATE)


WINDOWS = [
    DAY + "T00:00:05",
    DAY + "T01:00:00",
    DAY + "T01:00:10",
    DAY + "T02:00:10",
    DAY + "T03:05:00",
    DAY + "T03:59:50",
    DAY + "T05:00:00",
    DAY + "T05:30:00.05",
    DAY + "T07:00:00",
]


def first_contact(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Give the next read an empty index cache, on disk and in memory."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(folder))
    forget_indexes()


def read_windows(root: Path, times: list[str]) -> xr.Dataset:
    return open_windows(
        collection_spec("sage"),
        times,
        10.0,
        50.0,
        network="XX",
        station="STA",
        location="",
        channel="BHZ,BHN,BHE",
        sampling_rate=RATE,
        errors="ignore",
        root=str(root),
    ).load()


def object_key(day: int) -> str:
    return f"miniseed/XX/2006/{day:03d}/STA.XX.2006.{day:03d}"


@pytest.fixture
def varied_root(tmp_path: Path) -> Path:
    return mirror(
        tmp_path / "archive",
        {object_key(1): previous_day(), object_key(2): varied_day()},
    )


def test_windows_equal_unplanned(
    varied_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every variable of the windows is the same with and without plans."""
    first_contact(monkeypatch, tmp_path / "planned")
    planned = read_windows(varied_root, WINDOWS)
    first_contact(monkeypatch, tmp_path / "unplanned")
    monkeypatch.setattr(windowread, "plan_windows", lambda *args: None)
    unplanned = read_windows(varied_root, WINDOWS)

    assert list(planned.variables) == list(unplanned.variables)
    for name in planned.variables:
        left, right = planned[name].values, unplanned[name].values
        assert left.dtype == right.dtype, name
        if left.dtype.kind == "f":
            assert left.tobytes() == right.tobytes(), name
        else:
            assert np.array_equal(left, right), name


def test_windows_cover_cases(
    varied_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The object gives the windows the cases the comparison is about."""
    first_contact(monkeypatch, tmp_path / "cache")
    windows = read_windows(varied_root, WINDOWS)

    status = windows.status.values
    assert (windows.gap_count.values[3] > 0).any()
    assert (windows.max_shift.values > 0.1).any()
    assert status[-1].tolist() == ["no_data_in_window"] * 3
    assert (status[:-1] == "ok").all()


def test_planned_window_places_no_segment(
    varied_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window whose traces are one run each is placed from its plan."""
    calls = []

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return place_segment(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(place, "place_segment", counted)
    first_contact(monkeypatch, tmp_path / "cache")

    windows = read_windows(varied_root, [DAY + "T05:00:00"])

    assert (windows.status.values == "ok").all()
    assert calls == []


def test_window_of_one_record_equals_unplanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records of one sample each, some of them a sample apart, place alike."""
    parts = [
        segment_bytes("XX.STA..BHZ", start, ramp(number, 1), RATE)
        for number, start in enumerate(
            [
                DAY + "T01:00:00Z",
                DAY + "T01:00:00.1Z",
                DAY + "T01:00:00.25Z",
                DAY + "T01:00:00.5Z",
            ]
        )
    ]
    root = mirror(tmp_path / "archive", {object_key(2): join(*parts)})
    times = [DAY + "T01:00:05", DAY + "T01:00:11"]

    first_contact(monkeypatch, tmp_path / "planned")
    planned = read_windows(root, times)
    first_contact(monkeypatch, tmp_path / "unplanned")
    monkeypatch.setattr(windowread, "plan_windows", lambda *args: None)
    unplanned = read_windows(root, times)

    for name in ("waveform", "time_offset", "max_shift", "valid_fraction"):
        assert planned[name].values.tobytes() == unplanned[name].values.tobytes()
