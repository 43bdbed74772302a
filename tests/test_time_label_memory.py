"""Peak memory of materialising the labels of a lazy time grid.

tracemalloc counts NumPy's buffers, so the peak of one call, divided by the
8 bytes per label of the result, is the number of label-sized arrays alive
at once. Two million labels keep the test fast and the blocks of float64
temporaries (of fractional steps) small beside the labels.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from intake_earthscope.timegrid import TimeGridTransform, time_coords

START_NS = pd.Timestamp("2025-11-10").value
SIZE = 2_000_000
MAX_RATIO = 2.0

# 100 Hz has a whole step, 3 Hz and 1024 Hz a fractional one.
STEPS = {"100 Hz": 1e7, "3 Hz": 1e9 / 3, "1024 Hz": 1e9 / 1024}


def peak_ratio(compute: Callable[[], Any]) -> float:
    """Run ``compute`` and return its peak traced memory per 8-byte label."""
    tracemalloc.start()
    try:
        result = compute()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result) == SIZE
    return peak / (8 * SIZE)


def expected_labels(grid: TimeGridTransform, size: int) -> np.ndarray:
    """Compute the grid's labels in whole-array steps, to check the blocked ones."""
    positions = np.arange(size, dtype=np.int64)
    whole, fraction = grid._step_whole_ns, grid._step_fraction_ns
    rounded = np.floor(grid.phase_ns + positions * fraction + 0.5).astype(np.int64)
    return (grid.start_ns + positions * whole + rounded).view("datetime64[ns]")


@pytest.mark.parametrize("step_ns", STEPS.values(), ids=STEPS.keys())
def test_values_peak_ratio(step_ns: float) -> None:
    dataset = xr.Dataset(coords=time_coords(START_NS, step_ns, SIZE))

    assert peak_ratio(lambda: dataset.time.values) <= MAX_RATIO


@pytest.mark.parametrize("step_ns", STEPS.values(), ids=STEPS.keys())
def test_pandas_index_peak_ratio(step_ns: float) -> None:
    dataset = xr.Dataset(coords=time_coords(START_NS, step_ns, SIZE))

    assert peak_ratio(lambda: dataset.indexes["time"]) <= MAX_RATIO


@pytest.mark.parametrize("step_ns", STEPS.values(), ids=STEPS.keys())
def test_forward_positions_peak_ratio(step_ns: float) -> None:
    grid = TimeGridTransform(START_NS, step_ns, SIZE)
    positions = np.arange(SIZE, dtype=np.int64)

    def labels() -> np.ndarray:
        return grid.forward({"time": positions})["time"]

    assert peak_ratio(labels) <= MAX_RATIO


@pytest.mark.parametrize("step_ns", STEPS.values(), ids=STEPS.keys())
def test_blocked_labels_identical(step_ns: float) -> None:
    # A sliced grid has a phase, and 1024 Hz puts labels on exact ties.
    grid = TimeGridTransform(START_NS, step_ns, SIZE).slice(slice(7, None, 3))
    size = grid.size

    labels = xr.Dataset(coords=time_coords(START_NS, step_ns, SIZE)).isel(
        time=slice(7, None, 3)
    )
    expected = expected_labels(grid, size)

    np.testing.assert_array_equal(labels.time.values, expected, strict=True)
    np.testing.assert_array_equal(
        grid.forward({"time": np.arange(size)})["time"], expected, strict=True
    )


def test_forward_keeps_position_shape() -> None:
    grid = TimeGridTransform(START_NS, STEPS["3 Hz"], 10)
    positions = np.array([[0, 1], [9, 12]], dtype=np.int32)

    labels = grid.forward({"time": positions})["time"]

    assert labels.shape == (2, 2)
    assert labels.dtype == np.dtype("datetime64[ns]")
    assert labels[1, 1] == np.datetime64(START_NS + 4_000_000_000, "ns")
    assert positions.dtype == np.int32
