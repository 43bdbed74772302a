"""The ``day`` of availability tables joined with the ``day`` of datasets.

Both are naive ``datetime64[ns]`` UTC midnights, so pandas and xarray join
them without conversion. The mirror has the SCEDC layout, one object per
channel and day, with CI.WBM..LHZ on 2022-01-01 and 2022-01-03 and no
object for 2022-01-02.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from intake_earthscope import open_waveforms
from intake_earthscope.availability import availability, plot_availability

from conftest import collection_spec, mirror
from mseedgen import segment_bytes

matplotlib.use("Agg")

CODES = {"network": "CI", "station": "WBM", "location": "", "channel": "LHZ"}
REQUEST = {**CODES, "start": "2022-01-01", "end": "2022-01-04"}
DAYS = np.array(["2022-01-01", "2022-01-02", "2022-01-03"], dtype="datetime64[ns]")


def channel_day(doy: int) -> tuple[str, bytes]:
    day = str(DAYS[0] + np.timedelta64(doy - 1, "D"))[:10]
    samples = np.arange(600, dtype=np.int32)
    data = segment_bytes("CI.WBM..LHZ", f"{day}T00:00:00Z", samples, 1.0)
    name = f"CIWBM__LHZ___2022{doy:03d}.ms"
    return f"continuous_waveforms/2022/2022_{doy:03d}/{name}", data


@pytest.fixture
def root(tmp_path: Path) -> str:
    return str(mirror(tmp_path / "mirror", dict(map(channel_day, (1, 3)))))


def open_pair(root: str) -> tuple[pd.DataFrame, xr.Dataset]:
    table = availability(collection_spec("scedc"), **REQUEST, root=root)
    dataset = open_waveforms(
        collection_spec("scedc"), **REQUEST, root=root, errors="ignore"
    )
    return table, dataset


def test_day_column_naive_utc(root: str) -> None:
    table, dataset = open_pair(root)

    assert table["day"].dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(table["day"].to_numpy(), DAYS)
    assert table["day"].dtype == dataset["day"].dtype


def test_dataset_sel_by_table_day(root: str) -> None:
    table, dataset = open_pair(root)

    missing = table.loc[~table["exists"], "day"]
    picked = dataset.sel(day=missing.to_numpy())

    assert picked.sizes["day"] == 1
    assert picked["day"].values[0] == DAYS[1]
    assert dataset.sel(day=table["day"].iloc[0])["day"].values == DAYS[0]


def test_table_to_xarray_aligns_exactly(root: str) -> None:
    table, dataset = open_pair(root)
    table["trace"] = (
        table["network"]
        + "."
        + table["station"]
        + "."
        + table["location"]
        + "."
        + table["channel"]
    )

    exists = table.set_index(["trace", "day"])["exists"].to_xarray()
    aligned, _ = xr.align(dataset, exists, join="exact")
    merged = xr.merge([dataset.load(), exists], compat="no_conflicts", join="exact")

    assert aligned.sizes == dataset.sizes
    assert merged["exists"].dims == ("trace", "day")
    np.testing.assert_array_equal(merged["exists"].values, [[True, False, True]])
    np.testing.assert_array_equal(
        merged["status"].values == "missing", ~merged["exists"].values
    )


def test_empty_table_day_dtype(tmp_path: Path) -> None:
    root = mirror(tmp_path / "mirror", dict([channel_day(1)]))

    # A wildcard that matches no station gives no rows.
    request = {**REQUEST, "station": "NO*"}
    table = availability(collection_spec("scedc"), **request, root=str(root))

    assert len(table) == 0
    assert table["day"].dtype == np.dtype("datetime64[ns]")


def test_plot_naive_days(root: str) -> None:
    table, _ = open_pair(root)

    figure = plot_availability(table)

    bars = figure.axes[0].collections
    assert len(bars) == 2
