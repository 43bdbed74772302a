"""Tests of aligning a lazy time grid with an empty selection of it.

An empty selection, such as ``ds.isel(time=slice(10, 5))`` or a ``sel``
window between two labels, keeps a TimeGridIndex of size 0 whose start is
where the selection began. It has no labels, so aligning with it must give
what pandas gives: the other grid's labels for an outer join, none for an
inner one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from intake_earthscope.timegrid import TimeGridIndex, time_coords

START_NS = pd.Timestamp("2024-01-01").value
STEP_NS = 1e9


def lazy_dataset(size: int = 60) -> xr.Dataset:
    coords = time_coords(START_NS, STEP_NS, size)
    return xr.Dataset({"x": ("time", np.arange(size, dtype=float))}, coords=coords)


def merged_labels(ds: xr.Dataset, first: slice, second: slice, how: str) -> list:
    """Merge two positional selections and return the time labels."""
    left = ds.isel(time=first)
    right = ds.isel(time=second).rename(x="y")
    return xr.merge([left, right], join=how).time.values.tolist()


@pytest.mark.parametrize("how", ["outer", "inner", "left", "right"])
@pytest.mark.parametrize(
    ("first", "second"),
    [
        (slice(10, 5), slice(30, 40)),
        (slice(30, 40), slice(10, 5)),
        (slice(10, 10), slice(12, 14)),
        (slice(10, 5), slice(30, 20)),
    ],
)
def test_empty_selection_aligns_as_pandas(
    first: slice, second: slice, how: str
) -> None:
    lazy = lazy_dataset()
    eager = lazy.assign_coords(time=lazy.time.values)

    expected = merged_labels(eager, first, second, how)

    assert merged_labels(lazy, first, second, how) == expected


def test_outer_with_empty_keeps_lazy_grid() -> None:
    ds = lazy_dataset()
    merged = xr.merge(
        [ds.isel(time=slice(30, 40)), ds.isel(time=slice(10, 5)).rename(x="y")],
        join="outer",
    )

    assert isinstance(merged.xindexes["time"], TimeGridIndex)
    assert merged.sizes["time"] == 10
    assert merged.x.values.tolist() == list(range(30, 40))


def test_empty_grid_of_other_step_aligns() -> None:
    ds = lazy_dataset()
    sparse = ds.isel(time=slice(7, 7, 2)).rename(x="y")

    merged = xr.merge([ds.isel(time=slice(0, 5)), sparse], join="outer")

    assert merged.time.values.tolist() == ds.time.values[:5].tolist()


def test_empty_selections_align_exactly() -> None:
    ds = lazy_dataset()

    first, second = xr.align(
        ds.isel(time=slice(4, 4)), ds.isel(time=slice(7, 7)), join="exact"
    )

    assert first.sizes["time"] == 0
    assert second.sizes["time"] == 0
