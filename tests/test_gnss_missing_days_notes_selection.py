"""missing_days_notes on parts of a GNSS positions dataset.

One station selected with isel(station=0) has 0-d variables, and a dataset
cut down to some variables may lack the status. The notes then name the one
station, or are empty, instead of raising. The file is a small PBO ``.pos``
file in a local mirror with the GAGE layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr
from test_gnss_position_missing_days import write_pos

from intake_earthscope.gnss.position_dataset import missing_days_notes, open_positions


@pytest.fixture
def dataset(tmp_path: Path) -> xr.Dataset:
    """Return the positions of one station without a row on 2024-01-03."""
    path = write_pos(tmp_path, "DEMO", [1, 2, 4, 5])
    return open_positions(str(path), start="2024-01-01", end="2024-01-08")


def test_one_station_selected(dataset: xr.Dataset) -> None:
    notes = missing_days_notes(dataset.isel(station=0))

    assert [station for station, _ in notes] == ["DEMO"]
    assert notes[0][1].endswith("day in the window: 2024-01-03")


def test_without_status_empty(dataset: xr.Dataset) -> None:
    assert missing_days_notes(dataset[["north", "message"]]) == []


def test_no_station_empty(dataset: xr.Dataset) -> None:
    assert missing_days_notes(dataset.isel(station=slice(0, 0))) == []
