"""Tests of to_obspy on datasets that went through common xarray operations.

xarray keeps attributes through arithmetic and reductions under
``keep_attrs=True`` (the default of xarray 2026.9), so the ``sample_dtype``
that from_obspy records travels with values that no longer fit it. A
reversed selection has decreasing labels, which no Trace can hold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.interop import from_obspy, to_obspy

from conftest import OBSPY_MSEED_DATA

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"


@pytest.fixture(scope="module")
def balst() -> xr.Dataset:
    """The dataset of a real station-day with int32 samples, from obspy."""
    return from_obspy(obspy.read(str(BALST)))


def first_run(waveform: xr.DataArray) -> np.ndarray:
    """Return the samples of the first trace's first run without NaN."""
    row = waveform.isel(trace=0).values
    valid = np.flatnonzero(~np.isnan(row))
    stop = valid[0] + np.argmax(np.isnan(row[valid[0] :]))
    return row[valid[0] : stop]


def test_scaled_samples_keep_fractions(balst: xr.Dataset) -> None:
    with xr.set_options(keep_attrs=True):
        scaled = balst.waveform * 2.5

    trace = to_obspy(scaled)[0]

    assert scaled.attrs["sample_dtype"] == "int32"
    assert trace.data.dtype == np.float64
    np.testing.assert_array_equal(trace.data, first_run(scaled))


def test_resampled_means_keep_fractions(balst: xr.Dataset) -> None:
    with xr.set_options(keep_attrs=True):
        means = balst.waveform.resample(time="10s").mean()

    trace = to_obspy(means)[0]

    assert trace.data.dtype == np.float64
    np.testing.assert_array_equal(trace.data, first_run(means))


def test_whole_results_keep_recorded_dtype(balst: xr.Dataset) -> None:
    with xr.set_options(keep_attrs=True):
        doubled = balst.waveform * 2

    trace = to_obspy(doubled)[0]

    assert trace.data.dtype == np.int32
    np.testing.assert_array_equal(trace.data, first_run(doubled))


def test_out_of_range_results_stay_float(balst: xr.Dataset) -> None:
    with xr.set_options(keep_attrs=True):
        large = balst.waveform * 1e7

    trace = to_obspy(large)[0]

    assert trace.data.dtype == np.float64
    np.testing.assert_array_equal(trace.data, first_run(large))


def test_reversed_selection_raises(balst: xr.Dataset) -> None:
    reversed_hour = balst.isel(time=slice(7200, 3600, -1))

    with pytest.raises(InvalidRequestError, match="increasing order"):
        to_obspy(reversed_hour)


def test_reversed_waveform_raises(balst: xr.Dataset) -> None:
    reversed_hour = balst.waveform.isel(time=slice(7200, 3600, -2))

    with pytest.raises(InvalidRequestError, match="increasing order"):
        to_obspy(reversed_hour)


def test_reopened_1024hz_keeps_rate(tmp_path: Path) -> None:
    # At 1024 Hz a sample interval is 976562.5 ns, so the stored labels step
    # by 976562 and 976563 ns, and one of them is not the interval.
    seconds = 3600
    trace = obspy.Trace(
        np.arange(1024 * seconds, dtype=np.int32),
        header={"network": "XX", "station": "STA", "channel": "HHZ"},
    )
    trace.stats.sampling_rate = 1024.0
    trace.stats.starttime = obspy.UTCDateTime("2024-01-01")
    path = tmp_path / "1024hz.nc"
    from_obspy(obspy.Stream([trace])).to_netcdf(path)

    with xr.open_dataset(path) as reopened:
        stream = to_obspy(reopened)

    assert len(stream) == 1
    assert abs(stream[0].stats.sampling_rate - 1024.0) < 1e-6
    assert abs(stream[0].stats.endtime - trace.stats.endtime) < 1e-6
