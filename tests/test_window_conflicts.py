"""Event windows where two station-days carry different samples for one time.

The last record of a day may run past midnight while the next day's object
starts at midnight with other values. A whole-day read keeps the values of
the object filed under the sample's own day, unless the other object's
records have a higher publication version, and a window must give the same
samples. Its outcomes must be those of a day read of the window's time
range, summed over the days it touches.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import intake_earthscope.windowdecode as windowdecode
import intake_earthscope.windowread as windowread
from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.recordindex import forget_indexes, parse_records

import mseedgen
from conftest import collection_spec, mirror

RATE = 40.0
CODES = {"network": "XX", "station": "STA", "location": "00", "channel": "BHZ"}
SEED_ID = "XX.STA.00.BHZ"
MIDNIGHT = "2024-01-02T00:00:00Z"
BEFORE, AFTER = 4.0, 6.0


def key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


@pytest.fixture(autouse=True)
def _index_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    forget_indexes()
    yield
    forget_indexes()


def second_day(pubversion: int = 1) -> bytes:
    """Ten minutes from 00:00 with negative values, unlike any of day 1."""
    values = -np.arange(1, 600 * RATE + 1, dtype=np.int32)
    return mseedgen.segment_bytes(
        SEED_ID, MIDNIGHT, values, RATE, pubversion=pubversion
    )


def first_day_to(end: str, pubversion: int = 1) -> bytes:
    """Day 1 from 23:50 with positive values, up to and without ``end``."""
    start = mseedgen.nstime("2024-01-01T23:50:00Z")
    count = round((mseedgen.nstime(end) - start) * RATE / 1e9)
    values = np.arange(1, count + 1, dtype=np.int32)
    return mseedgen.segment_bytes(SEED_ID, start, values, RATE, pubversion=pubversion)


@pytest.fixture
def conflicting_days(tmp_path: Path) -> Path:
    """Day 1 ends with a record that runs to 00:00:05, and day 2 starts at
    00:00 with negative values, so 5 s of samples conflict."""
    first = mseedgen.midnight_crossing(rate=RATE, day="2024-01-01T00:00:00Z")
    return mirror(tmp_path / "mirror", {key(1): first.data, key(2): second_day()})


def versioned_days(tmp_path: Path, first: int, second: int) -> Path:
    """Day 1 runs to 00:00:05 at publication version ``first``, and day 2
    starts at 00:00 at version ``second``."""
    objects = {
        key(1): first_day_to("2024-01-02T00:00:05Z", first),
        key(2): second_day(second),
    }
    return mirror(tmp_path / f"mirror{first}{second}", objects)


def whole(root: Path, start: str = "2024-01-01") -> xr.Dataset:
    """Read days 1 and 2 whole, on a grid that starts at ``start``."""
    return open_waveforms(
        collection_spec("sage"),
        start=start,
        end="2024-01-03",
        root=str(root),
        **CODES,
    ).load()


def window(root: Path, reference: str) -> xr.Dataset:
    return open_windows(
        collection_spec("sage"),
        [reference],
        before=BEFORE,
        after=AFTER,
        root=str(root),
        **CODES,
    ).load()


def cut(dataset: xr.Dataset, reference: str, width: int) -> np.ndarray:
    """Return the samples of a whole read from the window's first index on."""
    first_time = np.datetime64(reference) - np.timedelta64(int(BEFORE * 1e3), "ms")
    first = int(np.searchsorted(dataset.time.values, first_time))
    assert dataset.time.values[first] == first_time
    return dataset.waveform.values[0, first : first + width]


def range_read(root: Path, reference: str) -> xr.Dataset:
    """Read the window's time range with a day read, one chunk per day."""
    start = np.datetime64(reference) - np.timedelta64(int(BEFORE * 1e3), "ms")
    end = np.datetime64(reference) + np.timedelta64(int(AFTER * 1e3), "ms")
    return open_waveforms(
        collection_spec("sage"),
        start=str(start),
        end=str(end),
        root=str(root),
        **CODES,
    ).load()


def assert_outcomes_of_days(got: xr.Dataset, days: xr.Dataset) -> None:
    """Check a window's outcomes against a day read of its range."""
    width = got.sizes["lag"]
    assert days.sizes["time"] == width
    first_day = int(np.argmax(days.valid_fraction.values[0] > 0))
    outcome = {name: got[name].values[0, 0] for name in got.data_vars}

    assert outcome["overlap_count"] == days.overlap_count.values[0].sum()
    assert outcome["conflict_count"] == days.conflict_count.values[0].sum()
    assert outcome["valid_fraction"] == np.isfinite(days.waveform.values).sum() / width
    assert outcome["time_offset"] == days.time_offset.values[0, first_day]
    assert outcome["max_shift"] == days.max_shift.values[0].max()
    assert set(days.status.values[0]) == {outcome["status"]}


@pytest.mark.parametrize(
    "reference",
    [
        "2024-01-02T00:00:02",  # after midnight, inside the conflicting seconds
        "2024-01-01T23:59:58",  # crosses midnight
    ],
)
def test_window_keeps_own_day_values(conflicting_days: Path, reference: str) -> None:
    whole_read = whole(conflicting_days)

    dataset = window(conflicting_days, reference)

    expected = cut(whole_read, reference, dataset.sizes["lag"])
    got = dataset.waveform.values[0, 0]
    assert int(dataset.conflict_count.values[0, 0]) > 0
    assert (expected[np.isfinite(expected)] < 0).any()
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "reference",
    [
        "2024-01-01T23:59:58",  # crosses midnight, 4 conflicting seconds
        "2024-01-02T00:00:01",  # from 23:59:57: every conflicting second
        "2024-01-01T23:59:55",  # ends at 00:00:01
        "2024-01-02T00:00:06",  # from 00:00:02: the previous day's spill
    ],
)
def test_spill_conflict_outcomes_match_days(
    conflicting_days: Path, reference: str
) -> None:
    dataset = window(conflicting_days, reference)
    days = range_read(conflicting_days, reference)

    np.testing.assert_array_equal(dataset.waveform.values[0, 0], days.waveform[0])
    assert_outcomes_of_days(dataset, days)


def test_window_after_midnight_counts_spill(conflicting_days: Path) -> None:
    # From 00:00:01 the previous day's last record overlaps 4 s, 160 samples.
    dataset = window(conflicting_days, "2024-01-02T00:00:05")

    assert int(dataset.overlap_count.values[0, 0]) == 4 * RATE
    assert int(dataset.conflict_count.values[0, 0]) == 4 * RATE
    assert float(dataset.valid_fraction.values[0, 0]) == 1.0
    assert str(dataset.status.values[0, 0]) == "ok"
    assert (dataset.waveform.values[0, 0] < 0).all()


@pytest.mark.parametrize(
    ("first", "second", "sign"),
    [
        (1, 2, -1),  # day 2 higher: its samples win on both sides
        (2, 1, 1),  # day 1 higher: its spill wins after midnight
        (1, 1, -1),  # equal: each day's own object wins
    ],
)
@pytest.mark.parametrize("reference", ["2024-01-02T00:00:02", "2024-01-01T23:59:58"])
def test_publication_versions_decide_conflicts(
    tmp_path: Path, first: int, second: int, sign: int, reference: str
) -> None:
    root = versioned_days(tmp_path, first, second)
    whole_read = whole(root)

    dataset = window(root, reference)

    got = dataset.waveform.values[0, 0]
    expected = cut(whole_read, reference, dataset.sizes["lag"])
    np.testing.assert_array_equal(got, expected)
    after_midnight = dataset.lag.values + np.datetime64(reference) >= np.datetime64(
        "2024-01-02T00:00:00"
    )
    # The first 5 s after midnight conflict, and the winner's sign shows.
    conflicting = after_midnight & (
        dataset.lag.values + np.datetime64(reference)
        < np.datetime64("2024-01-02T00:00:05")
    )
    assert (np.sign(got[conflicting]) == sign).all()
    assert_outcomes_of_days(dataset, range_read(root, reference))


# On a grid 15 ms after whole 25 ms steps, the index before midnight is at
# 23:59:59.990, so the first sample of day 2 (00:00:00.000) rounds onto the
# last index of day 1, as backspill.
OFF_GRID_DAY = "2024-01-01T00:00:00.015"


@pytest.fixture
def backspill_days(tmp_path: Path) -> Path:
    """Day 1 ends at 23:59:59.975 and day 2 starts at 00:00."""
    objects = {key(1): first_day_to(MIDNIGHT), key(2): second_day()}
    return mirror(tmp_path / "mirror", objects)


def test_backspill_fills_last_index_of_day(backspill_days: Path) -> None:
    # The window's last index is 23:59:59.990, the last one of day 1.
    reference = "2024-01-01T23:59:54.015"
    whole_read = whole(backspill_days, OFF_GRID_DAY)

    dataset = window(backspill_days, reference)

    got = dataset.waveform.values[0, 0]
    np.testing.assert_array_equal(got, cut(whole_read, reference, got.size))
    assert got[-1] == -1.0
    assert float(dataset.valid_fraction.values[0, 0]) == 1.0
    assert float(dataset.max_shift.values[0, 0]) == pytest.approx(0.4)


def test_backspill_across_midnight_matches_days(backspill_days: Path) -> None:
    reference = "2024-01-01T23:59:58.015"
    whole_read = whole(backspill_days, OFF_GRID_DAY)

    dataset = window(backspill_days, reference)

    got = dataset.waveform.values[0, 0]
    np.testing.assert_array_equal(got, cut(whole_read, reference, got.size))
    assert_outcomes_of_days(dataset, range_read(backspill_days, reference))


@pytest.mark.parametrize(("first", "second"), [(1, 1), (2, 1), (1, 2)])
def test_backspill_conflict_on_last_index(
    tmp_path: Path, first: int, second: int
) -> None:
    # Day 1 runs past midnight, so its 00:00:00.000 sample and day 2's
    # first sample both round onto 23:59:59.990, the last index of day 1.
    root = versioned_days(tmp_path, first, second)
    reference = "2024-01-01T23:59:58.015"
    whole_read = whole(root, OFF_GRID_DAY)

    dataset = window(root, reference)

    got = dataset.waveform.values[0, 0]
    np.testing.assert_array_equal(got, cut(whole_read, reference, got.size))
    times = np.datetime64(reference) + dataset.lag.values
    last_of_day = int(np.searchsorted(times, np.datetime64("2024-01-02"))) - 1
    assert times[last_of_day] == np.datetime64("2024-01-01T23:59:59.990")
    winner = -1.0 if second > first else 1.0
    assert np.sign(got[last_of_day]) == winner
    assert_outcomes_of_days(dataset, range_read(root, reference))


def test_one_object_with_data_keeps_planned_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Day 1 ends before the window, which still reads it for its spill.
    objects = {key(1): first_day_to("2024-01-01T23:59:00Z"), key(2): second_day()}
    root = mirror(tmp_path / "mirror", objects)
    planned, by_day = [], []
    place_run = windowdecode.place_run
    place_row_by_day = windowdecode._place_row_by_day

    def count_runs(*args, **kwargs):
        planned.append(args[2])
        return place_run(*args, **kwargs)

    def count_days(*args, **kwargs):
        by_day.append(args[1])
        return place_row_by_day(*args, **kwargs)

    monkeypatch.setattr(windowdecode, "place_run", count_runs)
    monkeypatch.setattr(windowdecode, "_place_row_by_day", count_days)

    dataset = window(root, "2024-01-02T00:00:10")

    assert len(planned) == 1
    assert by_day == []
    assert (dataset.waveform.values[0, 0] < 0).all()
    assert int(dataset.overlap_count.values[0, 0]) == 0


def test_records_decoded_per_window_keep_own_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Day 2 is miniSEED 3 whose record with 00:00:08 fails its CRC. The
    # window's records then do not decode together, and the records that
    # decode alone are placed day by day.
    values = -np.arange(1, 600 * RATE + 1, dtype=np.int32)
    second = mseedgen.segment_bytes(
        SEED_ID, MIDNIGHT, values, RATE, encoding="int32", version=3
    )
    table = parse_records(second)
    bad = int(np.searchsorted(table.starts, mseedgen.nstime("2024-01-02T00:00:08Z")))
    damaged = bytearray(second)
    damaged[int(table.offsets[bad - 1] + table.lengths[bad - 1]) - 8] ^= 0xFF
    first = first_day_to("2024-01-02T00:00:05Z")
    root = mirror(tmp_path / "mirror", {key(1): first, key(2): bytes(damaged)})
    by_parts = []
    place_parts = windowread._place_parts_by_day

    def count_parts(*args, **kwargs):
        by_parts.append(args[1])
        return place_parts(*args, **kwargs)

    monkeypatch.setattr(windowread, "_place_parts_by_day", count_parts)
    reference = "2024-01-01T23:59:58"

    dataset = open_windows(
        collection_spec("sage"),
        [reference],
        before=BEFORE,
        after=12.0,
        root=str(root),
        errors="ignore",
        **CODES,
    ).load()
    whole_read = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01",
        end="2024-01-03",
        root=str(root),
        errors="ignore",
        **CODES,
    ).load()

    # Once with every record, which fails, then with those that decode alone.
    assert len(by_parts) == 2
    got = dataset.waveform.values[0, 0]
    np.testing.assert_array_equal(got, cut(whole_read, reference, got.size))
    assert np.isnan(got).any()
    assert int(dataset.conflict_count.values[0, 0]) == 5 * RATE
    assert str(dataset.status.values[0, 0]) == "damaged"
