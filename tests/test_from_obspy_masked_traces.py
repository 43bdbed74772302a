"""Tests of from_obspy on traces whose every sample is masked.

``Stream.merge`` and ``Trace.trim(pad=True)`` leave masked arrays, and a
trace cut to a gap has no unmasked sample at all.
"""

from __future__ import annotations

import numpy as np
import obspy
import pytest

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.interop import from_obspy


def masked_trace(station: str, mask: bool | list[bool]) -> obspy.Trace:
    data = np.ma.masked_array(np.arange(4, dtype=np.int32), mask=mask)
    header = {
        "network": "XX",
        "station": station,
        "channel": "BHZ",
        "sampling_rate": 1.0,
        "starttime": obspy.UTCDateTime("2024-01-01"),
    }
    return obspy.Trace(data, header=header)


def test_only_masked_samples_raise() -> None:
    stream = obspy.Stream([masked_trace("ABC", True)])

    with pytest.raises(InvalidRequestError, match="contains no samples"):
        from_obspy(stream)


def test_trimmed_to_gap_raises() -> None:
    trace = obspy.Trace(
        np.arange(10, dtype=np.int32),
        header={"sampling_rate": 1.0, "starttime": obspy.UTCDateTime(0)},
    )
    trace.trim(obspy.UTCDateTime(20), obspy.UTCDateTime(25), pad=True)

    with pytest.raises(InvalidRequestError, match="contains no samples"):
        from_obspy([trace])


def test_masked_trace_beside_data_is_nan() -> None:
    stream = obspy.Stream(
        [masked_trace("ABC", True), masked_trace("DEF", [False, True, False, False])]
    )

    dataset = from_obspy(stream)

    assert list(dataset.station.values) == ["ABC", "DEF"]
    assert np.isnan(dataset.waveform.values[0]).all()
    np.testing.assert_array_equal(dataset.waveform.values[1], [0, np.nan, 2, 3])
