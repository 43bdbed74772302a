"""Reference times and offsets of event windows that are missing, outside
nanosecond times or of an odd shape.

An event catalog read from CSV leaves an empty cell as NaN in a column of
text, as ``pd.NA`` in a column of dtype ``string`` and as NaT once parsed.
Each such entry must raise ``InvalidRequestError`` that names the value
and the fix, before any storage is touched. So must a ``datetime64`` array
of seconds or days that reaches past the years that nanosecond times cover,
a 2-D array and an offset too large for a float. Bytes and a 0-d array are
one time.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.windows import window_offsets, window_times

CSV = "id,time,mag\n1,2024-01-01T06:00:00Z,3.1\n2,,4.0\n3,2024-01-01T07:00Z,2.5\n"


def catalog_column() -> pd.Series:
    """Return the time column of a small event catalog with one empty cell."""
    return pd.read_csv(io.StringIO(CSV))["time"]


@pytest.mark.parametrize(
    "times",
    [
        catalog_column(),
        catalog_column().astype("string"),
        ["2024-01-01T06:00:00", pd.NaT],
        ["2024-01-01T06:00:00", None],
        ["2024-01-01T06:00:00", float("nan")],
        ["2024-01-01T06:00:00", np.datetime64("NaT")],
    ],
    ids=["csv_nan", "csv_string_na", "list_nat", "list_none", "list_nan", "np_nat"],
)
def test_missing_time_named_as_missing(times: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        window_times(times)

    message = str(caught.value)
    assert "times[1]" in message
    assert "missing" in message
    assert "drop" in message
    assert "ambiguous" not in message


@pytest.mark.parametrize(
    "times",
    [
        np.array(["2024-01-01", "2500-01-01"], dtype="datetime64[s]"),
        np.array(["2024-01-01", "1000-01-01"], dtype="datetime64[D]"),
        pd.Series(np.array(["2024-01-01", "2500-01-01"], dtype="datetime64[s]")),
    ],
    ids=["seconds_future", "days_past", "series_seconds"],
)
def test_datetime64_outside_nanoseconds_rejected(times: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        window_times(times)

    message = str(caught.value)
    assert "times[1]" in message
    assert "1678" in message
    assert "remove" in message


def test_datetime64_seconds_inside_range_kept() -> None:
    times = np.array(["2024-01-01T06:00:00"], dtype="datetime64[s]")

    values = window_times(times)

    assert values.tolist() == [pd.Timestamp("2024-01-01T06:00:00").value]


def test_two_dimensional_times_rejected() -> None:
    times = np.array([["2024-01-01T06:00"], ["2024-01-01T07:00"]], "datetime64[ns]")

    with pytest.raises(InvalidRequestError) as caught:
        window_times(times)

    message = str(caught.value)
    assert "(2, 1)" in message
    assert "ravel" in message


@pytest.mark.parametrize(
    "times",
    [
        np.array(np.datetime64("2024-01-01T06:00", "ns")),
        np.array("2024-01-01T06:00"),
        xr.DataArray(np.datetime64("2024-01-01T06:00", "ns")),
    ],
    ids=["numpy_datetime", "numpy_text", "xarray_datetime"],
)
def test_zero_dimensional_time_is_one_window(times: object) -> None:
    values = window_times(times)

    assert values.tolist() == [pd.Timestamp("2024-01-01T06:00").value]


@pytest.mark.parametrize("time", [pd.NaT, np.datetime64("NaT"), float("nan")])
def test_one_missing_time_named_as_missing(time: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        window_times(time)

    message = str(caught.value)
    assert "invalid times=" in message
    assert "missing" in message


def test_bytes_time_rejected_whole() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        window_times(b"2024-01-01")

    message = str(caught.value)
    assert "b'2024-01-01'" in message
    assert "ambiguous" not in message


def test_offset_too_large_for_float_rejected() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        window_offsets(10**400, 10)

    message = str(caught.value)
    assert "invalid before=" in message
    assert "one day" in message
