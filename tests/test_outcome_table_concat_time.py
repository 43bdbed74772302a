"""Tests of outcome_table on two reads joined with ``xr.concat`` along time.

xarray's default ``data_vars="all"`` copies each per-day outcome variable
along ``time``, so the table has no one row per trace and day to show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope.dataset import open_waveforms, outcome_table
from intake_earthscope.errors import InvalidRequestError

import mseedgen
from conftest import collection_spec, mirror


def day_key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def open_day(root: Path, day: int) -> xr.Dataset:
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="00",
        channel="LHZ",
        start=f"2024-01-{day:02d}",
        end=f"2024-01-{day + 1:02d}",
        root=str(root),
    )


@pytest.fixture
def two_days(tmp_path: Path) -> Path:
    """A mirror of the first hour of 2024-01-01 and 2024-01-02 at 1 Hz."""
    objects = {}
    for day in (1, 2):
        start = mseedgen.nstime(f"2024-01-{day:02d}T00:00:00Z")
        values = np.arange(3600, dtype=np.int32)
        objects[day_key(day)] = mseedgen.segment_bytes(
            "XX.STA.00.LHZ", start, values, 1.0
        )
    return mirror(tmp_path, objects)


def test_concat_along_time_names_merge(two_days: Path) -> None:
    joined = xr.concat(
        [open_day(two_days, 1), open_day(two_days, 2)],
        dim="time",
        data_vars="all",
        coords="different",
        compat="equals",
        join="outer",
    )

    with pytest.raises(InvalidRequestError, match=r"xr\.merge") as caught:
        outcome_table(joined)

    assert "'time'" in str(caught.value)


def test_merged_days_give_rows(two_days: Path) -> None:
    merged = xr.merge(
        [open_day(two_days, 1), open_day(two_days, 2)],
        compat="no_conflicts",
        join="outer",
    )

    table = outcome_table(merged)

    assert table["status"].tolist() == ["ok", "ok"]
