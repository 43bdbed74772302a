"""max_shift of days that take samples from a neighbouring day's object.

Records are filed by their start time, so the first seconds of a day can sit
in the last record of the previous day's object. A record of the next day's
object that starts just before midnight can put its first sample on the
last index of the day. max_shift counts the shift of those samples too, as
time_offset counts their offset.

Every record here is off the 1 s grid by a known fraction of a sample: a
record starting at hh:mm:ss.4 is shifted 0.4 samples onto the grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from test_edge_offsets import BHN, BHZ, EXACT
from test_edge_offsets import key as object_key
from test_edge_offsets import ramp as counts

from intake_earthscope import open_waveforms, open_windows

from conftest import collection_spec, mirror
from mseedgen import interleave, join, segment_bytes


def read_days(root: Path, start: str, end: str, **options: object) -> xr.Dataset:
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="",
        channel="BHZ,BHN",
        sampling_rate=1.0,
        start=start,
        end=end,
        errors="ignore",
        root=str(root),
        **options,
    ).load()


def read_window(root: Path, reference: str, before: float, after: float) -> xr.Dataset:
    return open_windows(
        collection_spec("sage"),
        [reference],
        before,
        after,
        network="XX",
        station="STA",
        location="",
        channel="BHZ,BHN",
        sampling_rate=1.0,
        root=str(root),
    ).load()


def day_shift(dataset: xr.Dataset, trace: str, day: str) -> float:
    selected = dataset.max_shift.sel(trace=trace, day=np.datetime64(day, "ns"))
    return float(selected)


def window_shift(dataset: xr.Dataset, trace: str) -> float:
    return float(dataset.max_shift.sel(trace=trace).squeeze())


@pytest.mark.parametrize("neighbour_bytes", [None, 2_048])
def test_previous_object_shift_counted(
    tmp_path: Path, neighbour_bytes: int | None
) -> None:
    """The request starts on 2006-01-02, so BHZ's first ten samples come from
    the read of the previous day's object (all of it, or its last 2,048
    bytes), shifted 0.4 samples. BHN's records of that object end before
    midnight. The day's own records of both traces are shifted 0.1."""
    root = mirror(
        tmp_path,
        {
            object_key(1): interleave(
                segment_bytes(BHZ, "2006-01-01T22:59:50.4Z", counts(3_620), 1.0),
                segment_bytes(BHN, "2006-01-01T22:59:00.2Z", counts(3_600), 1.0),
            ),
            object_key(2): join(
                segment_bytes(BHZ, "2006-01-02T00:00:10.1Z", counts(590, 3_620), 1.0),
                segment_bytes(BHN, "2006-01-02T00:00:00.1Z", counts(600), 1.0),
            ),
        },
    )

    dataset = read_days(
        root, "2006-01-02", "2006-01-03", neighbour_bytes=neighbour_bytes
    )

    bhz = dataset.waveform.sel(trace=BHZ).values
    np.testing.assert_array_equal(bhz[:10], np.arange(3_610, 3_620))
    assert day_shift(dataset, BHZ, "2006-01-02") == pytest.approx(0.4, abs=EXACT)
    assert day_shift(dataset, BHN, "2006-01-02") == pytest.approx(0.1, abs=EXACT)


def test_neighbouring_chunks_shift_counted(tmp_path: Path) -> None:
    """In a request of three days, day 2 takes BHZ samples that day 1's
    object placed past midnight (shifted 0.4) and a BHN sample that day 3's
    object placed on its last index (shifted 0.3). Day 2's own records of
    both traces are shifted 0.1."""
    root = mirror(
        tmp_path,
        {
            object_key(1): join(
                segment_bytes(BHZ, "2006-01-01T23:59:50.4Z", counts(20), 1.0),
                segment_bytes(BHN, "2006-01-01T12:00:00Z", counts(600), 1.0),
            ),
            object_key(2): join(
                segment_bytes(BHZ, "2006-01-02T00:00:10.1Z", counts(590, 20), 1.0),
                segment_bytes(BHN, "2006-01-02T12:00:00.1Z", counts(600), 1.0),
            ),
            object_key(3): segment_bytes(
                BHN, "2006-01-02T23:59:58.7Z", counts(30), 1.0
            ),
        },
    )

    dataset = read_days(root, "2006-01-01", "2006-01-04")

    bhn = dataset.waveform.sel(trace=BHN).values
    assert bhn[2 * 86_400 - 1] == 0
    assert day_shift(dataset, BHZ, "2006-01-02") == pytest.approx(0.4, abs=EXACT)
    assert day_shift(dataset, BHN, "2006-01-02") == pytest.approx(0.3, abs=EXACT)
    assert day_shift(dataset, BHN, "2006-01-01") == 0.0


def test_edge_under_own_samples_not_counted(tmp_path: Path) -> None:
    """Day 2's own BHZ records cover its first ten seconds too, so the
    previous day's samples there overlap them and the day keeps its own."""
    root = mirror(
        tmp_path,
        {
            object_key(1): segment_bytes(
                BHZ, "2006-01-01T23:59:50.4Z", counts(20), 1.0
            ),
            object_key(2): segment_bytes(
                BHZ, "2006-01-02T00:00:00.1Z", counts(600, 10), 1.0
            ),
        },
    )

    dataset = read_days(root, "2006-01-02", "2006-01-03")

    overlaps = dataset.overlap_count.sel(trace=BHZ, day=np.datetime64("2006-01-02"))
    assert int(overlaps) == 10
    assert day_shift(dataset, BHZ, "2006-01-02") == pytest.approx(0.1, abs=EXACT)


def test_edge_of_higher_version_counted(tmp_path: Path) -> None:
    """The previous day's record has a higher publication version than the
    day's own records, so its samples replace theirs on the first ten
    indices, and its shift counts."""
    root = mirror(
        tmp_path,
        {
            object_key(1): segment_bytes(
                BHZ, "2006-01-01T23:59:50.4Z", counts(20, 1000), 1.0, pubversion=2
            ),
            object_key(2): segment_bytes(
                BHZ, "2006-01-02T00:00:00.1Z", counts(600), 1.0, pubversion=1
            ),
        },
    )

    dataset = read_days(root, "2006-01-02", "2006-01-03")

    bhz = dataset.waveform.sel(trace=BHZ).values
    np.testing.assert_array_equal(bhz[:10], np.arange(1010, 1020))
    assert day_shift(dataset, BHZ, "2006-01-02") == pytest.approx(0.4, abs=EXACT)


def crossing_objects(tmp_path: Path) -> Path:
    """BHZ's largest shift (0.4) is in day 1's object, in a record that runs
    past midnight, and BHN's (0.3) in day 2's object."""
    return mirror(
        tmp_path,
        {
            object_key(1): join(
                segment_bytes(BHZ, "2006-01-01T23:59:40.4Z", counts(30), 1.0),
                segment_bytes(BHN, "2006-01-01T23:59:40.1Z", counts(20), 1.0),
            ),
            object_key(2): join(
                segment_bytes(BHZ, "2006-01-02T00:00:10.1Z", counts(60, 30), 1.0),
                segment_bytes(BHN, "2006-01-02T00:00:00.3Z", counts(60, 20), 1.0),
            ),
        },
    )


def test_window_across_midnight_counts_both(tmp_path: Path) -> None:
    """A window from 23:59:45 to 00:00:15 places the records of both days'
    objects itself, so its max_shift counts both."""
    root = crossing_objects(tmp_path)

    dataset = read_window(root, "2006-01-02T00:00:00", 15.0, 15.0)

    bhz = dataset.waveform.sel(trace=BHZ).squeeze().values
    np.testing.assert_array_equal(bhz[:25], np.arange(5, 30))
    assert window_shift(dataset, BHZ) == pytest.approx(0.4, abs=EXACT)
    assert window_shift(dataset, BHN) == pytest.approx(0.3, abs=EXACT)


def test_window_after_midnight_matches_day(tmp_path: Path) -> None:
    """A window from 00:00:00 to 00:00:20 takes BHZ's first ten samples from
    the previous day's object, as the read of day 2 does, and both report
    that record's shift."""
    root = crossing_objects(tmp_path)

    window = read_window(root, "2006-01-02T00:00:00", 0.0, 20.0)
    whole = read_days(root, "2006-01-02", "2006-01-03")

    bhz = window.waveform.sel(trace=BHZ).squeeze().values
    np.testing.assert_array_equal(bhz[:10], np.arange(20, 30))
    assert window_shift(window, BHZ) == pytest.approx(0.4, abs=EXACT)
    assert day_shift(whole, BHZ, "2006-01-02") == pytest.approx(0.4, abs=EXACT)
