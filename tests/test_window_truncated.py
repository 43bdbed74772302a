"""Window statuses of an object cut short, against a day read of the same object."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_windows import CODES, _index_cache, cut, key, station_day, whole_days, windows

from intake_earthscope import open_waveforms

from conftest import collection_spec, mirror

__all__ = ["_index_cache"]

INTACT = "2024-01-01T06:00:00"
LOST = "2024-01-01T23:00:00"


def truncated_day(tmp_path: Path) -> Path:
    """Day 1 cut in the middle of a record, three quarters of the way in."""
    data = station_day(1)
    return mirror(tmp_path / "mirror", {key(1): data[: len(data) * 3 // 4 + 100]})


def test_window_in_lost_part_is_truncated(tmp_path: Path) -> None:
    root = truncated_day(tmp_path)

    day = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01",
        end="2024-01-02",
        root=str(root),
        **CODES,
    )
    dataset = windows(root, [INTACT, LOST], 10.0, 10.0)

    assert (day.status.values == "truncated").all()
    assert (dataset.status.values == "truncated").all()
    assert np.isnan(dataset.waveform.values[1]).all()


def test_window_in_intact_part_keeps_samples(tmp_path: Path) -> None:
    root = truncated_day(tmp_path)

    day = whole_days(root, end="2024-01-02")
    dataset = windows(root, [INTACT], 10.0, 10.0)

    expected = cut(day, INTACT, 10.0, dataset.sizes["lag"])
    np.testing.assert_array_equal(dataset.waveform.values[0], expected)
    assert not np.isnan(expected).any()


def test_window_past_short_day_no_data(tmp_path: Path) -> None:
    root = mirror(tmp_path / "mirror", {key(1): station_day(1, seconds=43_200.0)})

    dataset = windows(root, [LOST], 10.0, 10.0)

    assert (dataset.status.values == "no_data_in_window").all()
