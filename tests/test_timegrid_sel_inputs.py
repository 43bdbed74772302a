"""Tests of label inputs to the lazy time index that obspy and xarray users pass.

Each result is compared with the same selection on a copy whose time labels
sit in xarray's default PandasIndex, or with the same time as a
``numpy.datetime64``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from obspy import UTCDateTime
from xarray.indexes import PandasIndex

from intake_earthscope.timegrid import TimeGridIndex, time_coords

START_NS = pd.Timestamp("2024-01-01").value
STEP_40HZ = 2.5e7


@pytest.fixture
def lazy() -> xr.Dataset:
    """One minute at 40 Hz on a lazy time index."""
    size = 2400
    coords = time_coords(START_NS, STEP_40HZ, size)
    return xr.Dataset({"x": ("time", np.arange(size))}, coords=coords)


def eager_copy(ds: xr.Dataset) -> xr.Dataset:
    """Return ``ds`` with its time labels in a default PandasIndex."""
    return ds.assign_coords(time=ds.time.values)


def as_datetime64(time: UTCDateTime) -> np.datetime64:
    return np.datetime64(time.ns, "ns")


def test_sel_utcdatetime_label(lazy: xr.Dataset) -> None:
    label = UTCDateTime("2024-01-01T00:00:12.525")

    result = lazy.sel(time=label)

    assert result.x.item() == lazy.sel(time=as_datetime64(label)).x.item()
    assert result.x.item() == 501


def test_sel_utcdatetime_nearest(lazy: xr.Dataset) -> None:
    label = UTCDateTime("2024-01-01T00:00:12.537")

    result = lazy.sel(time=label, method="nearest", tolerance="20ms")

    assert result.x.item() == 501


def test_sel_utcdatetime_slice(lazy: xr.Dataset) -> None:
    first = UTCDateTime("2024-01-01T00:00:10")
    last = UTCDateTime("2024-01-01T00:00:11")

    result = lazy.sel(time=slice(first, last))
    expected = lazy.sel(time=slice(as_datetime64(first), as_datetime64(last)))

    xr.testing.assert_identical(result, expected)
    assert result.sizes["time"] == 41


def test_sel_utcdatetime_list(lazy: xr.Dataset) -> None:
    labels = [UTCDateTime("2024-01-01T00:00:01"), UTCDateTime("2024-01-01T00:00:59")]

    result = lazy.sel(time=labels)

    assert result.x.values.tolist() == [40, 2360]


def test_sel_empty_list_matches_pandas(lazy: xr.Dataset) -> None:
    result = lazy.sel(time=[])
    expected = eager_copy(lazy).sel(time=[])

    xr.testing.assert_identical(result, expected)
    assert result.sizes["time"] == 0


def test_sel_points_drops_time_index(lazy: xr.Dataset) -> None:
    labels = xr.DataArray(lazy.time.values[[4, 8, 15]], dims="points")

    result = lazy.sel(time=labels)
    expected = eager_copy(lazy).sel(time=labels)

    xr.testing.assert_identical(result, expected)
    assert "time" not in result.xindexes
    assert result.time.dims == ("points",)


def test_isel_on_time_keeps_index(lazy: xr.Dataset) -> None:
    result = lazy.isel(time=xr.Variable("time", [3, 9]))

    assert isinstance(result.xindexes["time"], PandasIndex)
    assert result.time.values.tolist() == lazy.time.values[[3, 9]].tolist()


def test_isel_slice_stays_lazy(lazy: xr.Dataset) -> None:
    result = lazy.isel(time=slice(4, None, 3))

    assert isinstance(result.xindexes["time"], TimeGridIndex)
