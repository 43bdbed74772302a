"""Tests of the rate arguments of from_obspy and engine="miniseed".

open_waveforms checks ``sampling_rate`` and ``rate_tolerance`` before any
I/O. from_obspy and the xarray backend take the same arguments, and an
invalid value must raise the same InvalidRequestError, not a TypeError
from arithmetic or a rate mismatch that the stream does not have.
"""

from __future__ import annotations

import numpy as np
import obspy
import pytest
import xarray as xr

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.interop import from_obspy

from conftest import OBSPY_MSEED_DATA

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
INVALID_TOLERANCES = [float("nan"), -1.0, 0.5, "abc"]


def one_rate_stream() -> obspy.Stream:
    header = {"network": "XX", "station": "ABC", "channel": "BHZ"}
    return obspy.Stream([obspy.Trace(np.arange(5, dtype=np.int32), header=header)])


@pytest.mark.parametrize("tolerance", INVALID_TOLERANCES)
def test_from_obspy_rejects_tolerance(tolerance: object) -> None:
    with pytest.raises(InvalidRequestError, match="invalid rate_tolerance="):
        from_obspy(one_rate_stream(), rate_tolerance=tolerance)  # type: ignore[arg-type]


@pytest.mark.parametrize("tolerance", INVALID_TOLERANCES)
def test_backend_rejects_tolerance(tolerance: object) -> None:
    with pytest.raises(InvalidRequestError, match="invalid rate_tolerance="):
        xr.open_dataset(BALST, engine="miniseed", rate_tolerance=tolerance)


@pytest.mark.parametrize("rate", ["abc", float("nan"), -1.0])
def test_backend_rejects_sampling_rate(rate: object) -> None:
    with pytest.raises(InvalidRequestError, match="invalid sampling_rate="):
        xr.open_dataset(BALST, engine="miniseed", sampling_rate=rate)


def test_backend_takes_rate_as_text() -> None:
    dataset = xr.open_dataset(BALST, engine="miniseed", sampling_rate="1")

    assert dataset.attrs["sampling_rate"] == 1.0


def test_backend_takes_zero_rate_as_unset() -> None:
    dataset = xr.open_dataset(BALST, engine="miniseed", sampling_rate=0)

    assert dataset.attrs["sampling_rate"] == 1.0
