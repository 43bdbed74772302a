"""Tests of the lazy time grid index against real xarray and pandas.

Most selection tests compare a Dataset indexed by TimeGridIndex with the same
Dataset indexed by xarray's default PandasIndex, so the expected result is
whatever pandas does.
"""

from __future__ import annotations

import pickle
import time
import tracemalloc
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from xarray.indexes import PandasIndex

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.timegrid import (
    TimeGridIndex,
    TimeGridTransform,
    time_coords,
)

START_NS = pd.Timestamp("2024-01-01").value

# Steps in ns: 100 Hz, 3 Hz (fractional), 1024 Hz (exact half-ns ties), 1 Hz.
STEP_100HZ = 1e7
STEP_3HZ = 1e9 / 3
STEP_1024HZ = 1e9 / 1024
STEP_1HZ = 1e9


def lazy_dataset(step_ns: float, size: int, start_ns: int = START_NS) -> xr.Dataset:
    coords = time_coords(start_ns, step_ns, size)
    return xr.Dataset({"x": ("time", np.arange(size))}, coords=coords)


def eager_copy(ds: xr.Dataset) -> xr.Dataset:
    """Return ``ds`` with its time labels in a default PandasIndex."""
    return ds.assign_coords(time=ds.time.values)


def selection(ds: xr.Dataset, **kwargs: object) -> tuple[str, object]:
    """Run ``ds.sel`` and return its time labels, or the exception type."""
    try:
        result = ds.sel(**kwargs)
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return ("error", type(error).__name__)
    return ("ok", result.time.values.tolist())


# Construction and labels


def test_labels_match_date_range() -> None:
    ds = lazy_dataset(STEP_100HZ, 500)
    expected = pd.date_range("2024-01-01", periods=500, freq="10ms")

    assert ds.time.dtype == np.dtype("datetime64[ns]")
    assert np.array_equal(ds.time.values, expected.values)


@pytest.mark.parametrize("step_ns", [STEP_3HZ, STEP_1024HZ, 1e9 / 7, 25e6 / 3])
def test_fractional_step_labels_exact(step_ns: float) -> None:
    size = 2_000
    values = lazy_dataset(step_ns, size).time.values.view(np.int64)

    expected = [
        START_NS + int(np.floor(k * Fraction(step_ns) + Fraction(1, 2)))
        for k in range(size)
    ]
    assert values.tolist() == expected


def test_three_hz_first_labels() -> None:
    values = lazy_dataset(STEP_3HZ, 4).time.values.view(np.int64) - START_NS

    assert values.tolist() == [0, 333_333_333, 666_666_667, 1_000_000_000]


def test_index_reports_grid_parameters() -> None:
    index = lazy_dataset(STEP_100HZ, 10).xindexes["time"]

    assert isinstance(index, TimeGridIndex)
    assert index.start_ns == START_NS
    assert index.step_ns == STEP_100HZ
    assert index.size == 10
    assert index.dim == "time"


def test_repr_shows_start_step_size() -> None:
    index = lazy_dataset(STEP_100HZ, 10).xindexes["time"]
    text = repr(index)

    assert "start=2024-01-01T00:00:00.000000000" in text
    assert "step=10 ms" in text
    assert "size=10" in text


def test_dataset_repr_names_index() -> None:
    text = repr(lazy_dataset(STEP_3HZ, 10))

    assert "TimeGridIndex (start=2024-01-01T00:00:00.000000000" in text
    assert "step=333333333.3 ns" in text


@pytest.mark.parametrize("step_ns", [0.5, 0, -1e7, float("nan"), float("inf"), "10"])
def test_invalid_step_raises(step_ns: object) -> None:
    with pytest.raises(InvalidRequestError, match="step_ns"):
        time_coords(START_NS, step_ns, 10)  # type: ignore[arg-type]


@pytest.mark.parametrize("start_ns", [1.5e18, "2024-01-01", True])
def test_invalid_start_raises(start_ns: object) -> None:
    with pytest.raises(InvalidRequestError, match="start_ns"):
        time_coords(start_ns, STEP_100HZ, 10)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [-1, 2.0, None])
def test_invalid_size_raises(size: object) -> None:
    with pytest.raises(InvalidRequestError, match="size"):
        time_coords(START_NS, STEP_100HZ, size)  # type: ignore[arg-type]


def test_grid_past_2262_raises() -> None:
    start_ns = pd.Timestamp("2262-01-01").value

    with pytest.raises(InvalidRequestError, match="2262"):
        time_coords(start_ns, 86_400e9, 400)


def test_invalid_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        time_coords(START_NS, 0.1, 10)


def test_reverse_inverts_forward() -> None:
    transform = TimeGridTransform(START_NS, STEP_3HZ, 100)
    positions = np.array([0, 7, 99])

    labels = transform.forward({"time": positions})["time"]
    back = transform.reverse({"time": labels})["time"]

    assert np.allclose(back, positions, atol=1e-6)


def test_reverse_maps_nat_to_nan() -> None:
    transform = TimeGridTransform(START_NS, STEP_3HZ, 100)
    labels = np.array(["NaT"], dtype="datetime64[ns]")

    assert np.isnan(transform.reverse({"time": labels})["time"][0])


# Positional selection


@pytest.mark.parametrize(
    "positions",
    [
        slice(None),
        slice(5, 50),
        slice(5, 50, 3),
        slice(-10, None),
        slice(None, -7, 4),
        slice(200, 300),
        slice(3, 3),
    ],
    ids=repr,
)
def test_isel_slice_keeps_lazy_index(positions: slice) -> None:
    ds = lazy_dataset(STEP_3HZ, 100)
    result = ds.isel(time=positions)

    assert isinstance(result.xindexes["time"], TimeGridIndex)
    assert np.array_equal(result.time.values, ds.time.values[positions])


def test_isel_nested_slices_match_parent() -> None:
    ds = lazy_dataset(STEP_1024HZ, 5_000)
    result = ds.isel(time=slice(7, None, 3)).isel(time=slice(11, 900, 7))

    expected = ds.time.values[7::3][11:900:7]
    assert np.array_equal(result.time.values, expected)


def test_isel_deep_strided_slice_exact() -> None:
    size = 10**9
    ds = xr.Dataset(coords=time_coords(START_NS, STEP_3HZ, size))
    first, stride = 987_654_321, 9_973

    result = ds.isel(time=slice(first, None, stride)).time.values[:20]

    positions = first + stride * np.arange(20)
    expected = [
        START_NS + int(np.floor(int(k) * Fraction(STEP_3HZ) + Fraction(1, 2)))
        for k in positions
    ]
    assert result.view(np.int64).tolist() == expected


def test_isel_negative_step_gives_pandas_index() -> None:
    ds = lazy_dataset(STEP_3HZ, 20)
    result = ds.isel(time=slice(15, 2, -4))

    assert isinstance(result.xindexes["time"], PandasIndex)
    assert np.array_equal(result.time.values, ds.time.values[15:2:-4])


def test_isel_array_gives_pandas_index() -> None:
    ds = lazy_dataset(STEP_3HZ, 20)
    result = ds.isel(time=[1, 5, -1])

    assert isinstance(result.xindexes["time"], PandasIndex)
    assert np.array_equal(result.time.values, ds.time.values[[1, 5, -1]])


def test_isel_variable_renames_dimension() -> None:
    ds = lazy_dataset(STEP_3HZ, 20)
    result = ds.isel(time=xr.Variable("points", [2, 4]))

    assert result.time.dims == ("points",)
    assert np.array_equal(result.time.values, ds.time.values[[2, 4]])


def test_isel_boolean_mask_selects() -> None:
    ds = lazy_dataset(STEP_3HZ, 20)
    mask = np.arange(20) % 3 == 0

    assert np.array_equal(ds.isel(time=mask).time.values, ds.time.values[mask])


def test_isel_scalar_drops_index() -> None:
    ds = lazy_dataset(STEP_3HZ, 20)
    result = ds.isel(time=4)

    assert "time" not in result.xindexes
    assert result.time.values == ds.time.values[4]


def test_isel_out_of_bounds_raises() -> None:
    ds = lazy_dataset(STEP_3HZ, 20)

    with pytest.raises(IndexError):
        ds.isel(time=[3, 25])


def test_equals_after_different_slices() -> None:
    ds = lazy_dataset(STEP_1024HZ, 1_000)
    twice = ds.isel(time=slice(10, 500)).isel(time=slice(5, None))
    once = ds.isel(time=slice(15, 500))

    assert twice.xindexes["time"].equals(once.xindexes["time"])


def test_equals_rejects_other_step() -> None:
    first = lazy_dataset(STEP_100HZ, 10).xindexes["time"]
    second = lazy_dataset(STEP_3HZ, 10).xindexes["time"]

    assert not first.equals(second)


# Label selection, compared with pandas

SCALAR_LABELS = [
    np.datetime64("2024-01-01T00:00:01.000000000"),
    np.datetime64("2024-01-01T00:00:01.333333333"),
    np.datetime64("2024-01-01T00:00:01.5"),
    np.datetime64("2023-12-31T23:59:59"),
    np.datetime64("2024-01-01T00:01:00"),
    pd.Timestamp("2024-01-01T00:00:02"),
    pd.Timestamp("2024-01-01T00:00:02").to_pydatetime(),
    "2024-01-01T00:00:02",
    "2024-01-01T00:00:02.333333333",
    "2024-01-01T00:00:02.5",
    "2024-01-01T00:00",
    "2024-01-01",
    "2024-01",
    "2024-01-02",
]

METHODS = [
    (None, None),
    ("nearest", None),
    ("pad", None),
    ("ffill", None),
    ("backfill", None),
    ("bfill", None),
    ("nearest", "100ms"),
    ("pad", pd.Timedelta("1s")),
]


@pytest.mark.parametrize("method, tolerance", METHODS, ids=str)
@pytest.mark.parametrize("label", SCALAR_LABELS, ids=repr)
def test_sel_scalar_matches_pandas_index(
    label: object, method: str | None, tolerance: object
) -> None:
    lazy = lazy_dataset(STEP_3HZ, 60)
    eager = eager_copy(lazy)
    options = {"method": method, "tolerance": tolerance}

    expected = selection(eager, time=label, **options)
    assert selection(lazy, time=label, **options) == expected


SLICE_BOUNDS = [
    None,
    "2024-01-01T00:00:01",
    "2024-01-01T00:00:01.333",
    "2024-01-01T00:00",
    "2023",
    "2030",
    np.datetime64("2024-01-01T00:00:05.333333333"),
    np.datetime64("2024-01-01T00:00:05.4"),
    pd.Timestamp("2024-01-01T00:00:10"),
]


@pytest.mark.parametrize("step", [None, 2, -1, -3])
@pytest.mark.parametrize("stop", SLICE_BOUNDS, ids=repr)
@pytest.mark.parametrize("start", SLICE_BOUNDS, ids=repr)
def test_sel_slice_matches_pandas_index(
    start: object, stop: object, step: int | None
) -> None:
    lazy = lazy_dataset(STEP_3HZ, 60)
    label = slice(start, stop, step)

    expected = selection(eager_copy(lazy), time=label)
    assert selection(lazy, time=label) == expected


@pytest.mark.parametrize("step_ns", [STEP_100HZ, STEP_3HZ, STEP_1024HZ, 1.5 * 86_400e9])
def test_sel_random_labels_match_pandas(step_ns: float) -> None:
    lazy = lazy_dataset(step_ns, 300, start_ns=START_NS + 7)
    eager = eager_copy(lazy)
    first, last = lazy.time.values[[0, -1]]

    rng = np.random.default_rng(5)
    span = (last - first).astype(np.int64)
    offsets = rng.integers(-span // 10, span + span // 10, 40)
    labels = first + offsets.astype("timedelta64[ns]")

    mismatches = []
    for label in labels:
        for method, tolerance in METHODS:
            options = {"method": method, "tolerance": tolerance}
            got = selection(lazy, time=label, **options)
            if got != selection(eager, time=label, **options):
                mismatches.append((label, method, tolerance, got))
    assert mismatches == []


@pytest.mark.parametrize("method", [None, "nearest", "pad"])
def test_sel_array_matches_pandas_index(method: str | None) -> None:
    lazy = lazy_dataset(STEP_3HZ, 60)
    labels = lazy.time.values[[3, 3, 40, 0]]

    expected = selection(eager_copy(lazy), time=labels, method=method)
    assert selection(lazy, time=labels, method=method) == expected


def test_sel_list_of_strings_matches() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)
    labels = ["2024-01-01T00:00:05", "2024-01-01 00:00:09"]

    expected = selection(eager_copy(lazy), time=labels)
    assert selection(lazy, time=labels) == expected


def test_sel_dataarray_labels_vectorized() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)
    labels = xr.DataArray(lazy.time.values[[4, 8, 15]], dims="points")

    result = lazy.sel(time=labels)

    assert result.x.dims == ("points",)
    assert result.x.values.tolist() == [4, 8, 15]


def test_sel_zero_dim_dataarray_label() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    result = lazy.sel(time=lazy.time[9])

    assert result.x.item() == 9


def test_sel_slice_inclusive_both_ends() -> None:
    lazy = lazy_dataset(STEP_1HZ, 3 * 3_600)
    label = slice(
        np.datetime64("2024-01-01T01:00:00"), pd.Timestamp("2024-01-01T01:00:10")
    )

    result = lazy.sel(time=label)

    assert result.sizes["time"] == 11
    assert result.time.values[0] == np.datetime64("2024-01-01T01:00:00")
    assert result.time.values[-1] == np.datetime64("2024-01-01T01:00:10")


def test_sel_string_stop_covers_period() -> None:
    lazy = lazy_dataset(STEP_1HZ, 3 * 3_600)

    result = lazy.sel(time=slice("2024-01-01T01:00", "2024-01-01T02:00"))

    # As in pandas, a minute-resolution stop includes that whole minute.
    assert result.sizes["time"] == 3_660
    assert result.time.values[-1] == np.datetime64("2024-01-01T02:00:59")
    assert isinstance(result.xindexes["time"], TimeGridIndex)


def test_sel_slice_bounds_clip() -> None:
    lazy = lazy_dataset(STEP_3HZ, 60)

    result = lazy.sel(time=slice("2023-06-01", "2030-01-01"))

    assert result.sizes["time"] == 60


def test_sel_slice_outside_grid_empty() -> None:
    lazy = lazy_dataset(STEP_3HZ, 60)

    assert lazy.sel(time=slice("2025", None)).sizes["time"] == 0


def test_sel_slice_far_bounds_clip() -> None:
    lazy = lazy_dataset(STEP_3HZ, 60)

    result = lazy.sel(time=slice("1500-01-01", "2500-01-01"))

    assert result.sizes["time"] == 60


def test_sel_slice_step_thins_result() -> None:
    lazy = lazy_dataset(STEP_1HZ, 600)

    result = lazy.sel(time=slice("2024-01-01T00:01", "2024-01-01T00:02", 10))

    assert result.sizes["time"] == 12
    assert np.all(np.diff(result.time.values) == np.timedelta64(10, "s"))


def test_sel_partial_string_selects_hour() -> None:
    lazy = lazy_dataset(STEP_1HZ, 3 * 3_600)

    result = lazy.sel(time="2024-01-01T01")

    assert result.sizes["time"] == 3_600
    assert result.time.values[0] == np.datetime64("2024-01-01T01:00:00")


def test_sel_full_resolution_string_drops_dim() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    result = lazy.sel(time="2024-01-01T00:00:07")

    assert "time" not in result.dims
    assert result.x.item() == 7


def test_sel_exact_missing_label_raises() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    with pytest.raises(KeyError, match="2024-01-01T00:00:07.5"):
        lazy.sel(time=np.datetime64("2024-01-01T00:00:07.5"))


def test_sel_missing_label_names_method() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60).expand_dims(trace=["A.B..C"])
    label = np.datetime64("2024-01-01T00:00:07.5")

    with pytest.raises(KeyError) as raised:
        lazy.sel(time=label)
    nearest = lazy.sel(trace="A.B..C").sel(time=label, method="nearest")

    message = str(raised.value)
    assert "pass method='nearest'" in message
    assert "select the trace in a call of its own" in message
    assert nearest.time.values == np.datetime64("2024-01-01T00:00:08")


def test_sel_label_outside_grid_raises() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    with pytest.raises(KeyError, match="2025"):
        lazy.sel(time="2025")


def test_sel_pad_before_start_raises() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    with pytest.raises(KeyError, match="at or before"):
        lazy.sel(time=np.datetime64("2023-12-31T23:00"), method="pad")


def test_sel_nearest_tie_picks_later() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    result = lazy.sel(time=np.datetime64("2024-01-01T00:00:07.5"), method="nearest")

    assert result.x.item() == 8


def test_sel_tolerance_rejects_far_label() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)
    label = np.datetime64("2024-01-01T00:00:07.4")

    with pytest.raises(KeyError, match="tolerance"):
        lazy.sel(time=label, method="nearest", tolerance="100ms")


def test_sel_tolerance_accepts_near_label() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)
    label = np.datetime64("2024-01-01T00:00:07.05")

    result = lazy.sel(time=label, method="nearest", tolerance="100ms")

    assert result.x.item() == 7


def test_sel_numeric_tolerance_raises() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    with pytest.raises(TypeError, match="tolerance"):
        lazy.sel(time="2024-01-01T00:00:07", method="nearest", tolerance=5)


def test_sel_tolerance_without_method_raises() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    with pytest.raises(InvalidRequestError, match="needs a method"):
        lazy.sel(time="2024-01-01T00:00:07", tolerance="1s")


def test_sel_unknown_method_raises() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    with pytest.raises(InvalidRequestError, match="'near'"):
        lazy.sel(time="2024-01-01T00:00:07", method="near")


def test_sel_method_with_slice_raises() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    with pytest.raises(NotImplementedError):
        lazy.sel(time=slice("2024-01-01T00:00:07", None), method="nearest")


@pytest.mark.parametrize("label", [5, 5.0, np.timedelta64(5, "s")], ids=repr)
def test_sel_numeric_label_raises(label: object) -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    with pytest.raises(TypeError, match="datetime-like"):
        lazy.sel(time=label)


def test_sel_unparseable_string_raises() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)

    with pytest.raises(KeyError, match="not-a-date"):
        lazy.sel(time="not-a-date")


def test_sel_timezone_label_converted_to_utc() -> None:
    lazy = lazy_dataset(STEP_1HZ, 60)
    label = pd.Timestamp("2024-01-01T01:00:09", tz="Europe/Paris")

    assert lazy.sel(time=label).x.item() == 9


def test_sel_on_empty_grid_returns_empty() -> None:
    lazy = lazy_dataset(STEP_1HZ, 0)

    assert lazy.sel(time=slice("2024", None)).sizes["time"] == 0


def test_sel_after_rename_uses_new_name() -> None:
    renamed = lazy_dataset(STEP_1HZ, 60).rename(time="t")

    result = renamed.sel(t=slice("2024-01-01T00:00:10", "2024-01-01T00:00:19"))

    assert isinstance(renamed.xindexes["t"], TimeGridIndex)
    assert result.sizes["t"] == 10


# xarray operations


def test_pickle_roundtrip_keeps_grid() -> None:
    ds = lazy_dataset(STEP_3HZ, 100).isel(time=slice(7, 70, 2))

    restored = pickle.loads(pickle.dumps(ds))

    assert isinstance(restored.xindexes["time"], TimeGridIndex)
    assert restored.xindexes["time"].equals(ds.xindexes["time"])
    assert np.array_equal(restored.time.values, ds.time.values)


def test_dask_chunks_keep_grid() -> None:
    ds = lazy_dataset(STEP_3HZ, 100).chunk(time=10)

    result = ds.isel(time=slice(5, 25))

    assert isinstance(result.xindexes["time"], TimeGridIndex)
    assert result.x.values.tolist() == list(range(5, 25))


def test_indexes_gives_datetime_index() -> None:
    ds = lazy_dataset(STEP_3HZ, 10)
    index = ds.indexes["time"]

    assert isinstance(index, pd.DatetimeIndex)
    assert np.array_equal(index.values, ds.time.values)


def test_concat_contiguous_stays_lazy() -> None:
    ds = lazy_dataset(STEP_3HZ, 100)
    pieces = [ds.isel(time=slice(0, 40)), ds.isel(time=slice(40, None))]

    result = xr.concat(pieces, dim="time")

    assert isinstance(result.xindexes["time"], TimeGridIndex)
    assert result.xindexes["time"].equals(ds.xindexes["time"])


def test_concat_with_gap_gives_pandas_index() -> None:
    ds = lazy_dataset(STEP_3HZ, 100)
    pieces = [ds.isel(time=slice(0, 40)), ds.isel(time=slice(50, None))]

    result = xr.concat(pieces, dim="time")

    assert isinstance(result.xindexes["time"], PandasIndex)
    assert np.array_equal(result.time.values, np.delete(ds.time.values, range(40, 50)))


def test_concat_new_dim_keeps_grid() -> None:
    ds = lazy_dataset(STEP_3HZ, 100)

    result = xr.concat([ds, ds], dim="station")

    assert isinstance(result.xindexes["time"], TimeGridIndex)
    assert result.sizes == {"station": 2, "time": 100}


def test_align_identical_grids_unchanged() -> None:
    first = lazy_dataset(STEP_3HZ, 100)
    second = lazy_dataset(STEP_3HZ, 100)

    aligned, _ = xr.align(first, second, join="exact")

    assert aligned.xindexes["time"].equals(first.xindexes["time"])


def test_merge_overlapping_grids_outer() -> None:
    ds = lazy_dataset(STEP_3HZ, 100)
    early = ds.isel(time=slice(0, 60))
    late = ds.isel(time=slice(30, None)).rename(x="y")

    merged = xr.merge([early, late], join="outer")

    assert isinstance(merged.xindexes["time"], TimeGridIndex)
    assert np.array_equal(merged.time.values, ds.time.values)
    assert int(merged.x.isnull().sum()) == 40
    assert int(merged.y.isnull().sum()) == 30


def test_align_inner_keeps_overlap() -> None:
    ds = lazy_dataset(STEP_3HZ, 100)

    early, late = xr.align(
        ds.isel(time=slice(0, 60)), ds.isel(time=slice(30, None)), join="inner"
    )

    assert np.array_equal(early.time.values, ds.time.values[30:60])
    assert late.x.values.tolist() == list(range(30, 60))


def test_align_offset_grids_raises() -> None:
    ds = lazy_dataset(STEP_3HZ, 100)
    shifted = lazy_dataset(STEP_3HZ, 10, start_ns=START_NS + 5)

    with pytest.raises(ValueError, match="not on one common grid"):
        xr.align(ds, shifted, join="outer")


def test_align_with_pandas_index_unsupported() -> None:
    # xarray never aligns two different index types on one coordinate. The
    # fix is to convert the lazy one with assign_coords(time=ds.time.values).
    lazy = lazy_dataset(STEP_1HZ, 10)
    eager = eager_copy(lazy.isel(time=slice(0, 5)))

    with pytest.raises(ValueError, match="conflicting indexes"):
        xr.align(lazy, eager, join="outer")


def test_reindex_to_labels_unsupported() -> None:
    # ``reindex`` builds a PandasIndex from the new labels, so it hits the
    # same xarray rule. ``sel`` with a method, or a PandasIndex copy, works.
    lazy = lazy_dataset(STEP_1HZ, 10)
    labels = lazy.time.values[:3]

    with pytest.raises(ValueError, match="conflicting indexes"):
        lazy.reindex(time=labels)


def test_reindex_after_conversion_works() -> None:
    lazy = lazy_dataset(STEP_1HZ, 10)
    labels = lazy.time.values[:3]

    assert eager_copy(lazy).reindex(time=labels).x.values.tolist() == [0, 1, 2]


def test_roll_returns_rolled_labels() -> None:
    ds = lazy_dataset(STEP_3HZ, 10)

    result = ds.roll(time=3, roll_coords=True)

    assert isinstance(result.xindexes["time"], PandasIndex)
    assert np.array_equal(result.time.values, np.roll(ds.time.values, 3))


def test_to_dataframe_small_slice() -> None:
    frame = lazy_dataset(STEP_100HZ, 1_000).isel(time=slice(10, 15)).to_dataframe()
    expected = pd.date_range("2024-01-01T00:00:00.1", periods=5, freq="10ms")

    assert isinstance(frame.index, pd.DatetimeIndex)
    assert np.array_equal(frame.index.values, expected.values)
    assert frame["x"].tolist() == [10, 11, 12, 13, 14]


def test_resample_matches_pandas_index() -> None:
    lazy = lazy_dataset(STEP_3HZ, 3 * 3_600 * 3).x.astype(float)
    eager = eager_copy(lazy.to_dataset()).x

    result = lazy.resample(time="1h").mean()

    assert result.sizes["time"] == 3
    assert result.identical(eager.resample(time="1h").mean())


def test_coarsen_matches_pandas_index() -> None:
    lazy = lazy_dataset(STEP_100HZ, 1_000).x.astype(float)
    eager = eager_copy(lazy.to_dataset()).x

    result = lazy.coarsen(time=10).mean()

    assert result.sizes["time"] == 100
    assert result.identical(eager.coarsen(time=10).mean())


def test_groupby_hour_matches_pandas_index() -> None:
    lazy = lazy_dataset(STEP_1HZ, 3 * 3_600).x.astype(float)
    eager = eager_copy(lazy.to_dataset()).x

    result = lazy.groupby("time.hour").mean()

    assert result.identical(eager.groupby("time.hour").mean())


def test_set_xindex_from_regular_coordinate() -> None:
    eager = eager_copy(lazy_dataset(STEP_100HZ, 20)).drop_indexes("time")

    result = eager.set_xindex("time", TimeGridIndex)

    assert isinstance(result.xindexes["time"], TimeGridIndex)
    assert result.xindexes["time"].step_ns == STEP_100HZ


def test_set_xindex_irregular_raises() -> None:
    times = pd.to_datetime(["2024-01-01T00:00", "2024-01-01T00:01", "2024-01-01T00:03"])
    ds = xr.Dataset(coords={"time": times}).drop_indexes("time")

    with pytest.raises(ValueError, match="not evenly spaced"):
        ds.set_xindex("time", TimeGridIndex)


def test_plot_receives_datetime_values() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    lazy = lazy_dataset(STEP_100HZ, 50).x

    lines = lazy.plot()

    x_values = np.asarray(lines[0].get_xdata())
    assert x_values.dtype == np.dtype("datetime64[ns]")
    assert np.array_equal(x_values, lazy.time.values)


def test_to_netcdf_writes_datetimes(tmp_path) -> None:
    path = tmp_path / "grid.nc"
    lazy = lazy_dataset(STEP_100HZ, 100)

    lazy.to_netcdf(path)
    with xr.open_dataset(path) as restored:
        times = restored.time.values
        units = restored.time.encoding["units"]

    assert times.dtype == np.dtype("datetime64[ns]")
    assert np.array_equal(times, lazy.time.values)
    assert units.startswith("milliseconds since 2024-01-01")


# A year at 100 Hz


def year_grid_operations(step_ns: float) -> tuple[xr.Dataset, ...]:
    size = round(366 * 86_400 * 1e9 / step_ns)
    ds = xr.Dataset(coords=time_coords(START_NS, step_ns, size))
    window = ds.sel(time=slice("2024-06-01T12:00", "2024-06-01T12:00:09"))
    hour = ds.sel(time="2024-12-31T23")
    tail = ds.isel(time=slice(-5, None))
    return ds, window, hour, tail


def test_year_at_100hz_stays_lazy() -> None:
    # Run once on a 1 Hz grid so that first-use imports are not timed.
    warm_up = year_grid_operations(STEP_1HZ)
    repr(warm_up[0])

    tracemalloc.start()
    began = time.perf_counter()
    ds, window, hour, tail = year_grid_operations(STEP_100HZ)
    elapsed = time.perf_counter() - began
    summary = repr(ds)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert elapsed < 0.1
    assert peak_bytes < 20 * 2**20
    assert ds.sizes["time"] == 366 * 86_400 * 100
    assert window.sizes["time"] == 1_000
    assert window.time.values[0] == np.datetime64("2024-06-01T12:00")
    assert hour.sizes["time"] == 360_000
    assert tail.time.values[-1] == np.datetime64("2024-12-31T23:59:59.99")
    assert "TimeGridIndex" in summary
