"""Tests of the grid that from_obspy spans: rates of MHz, reversed windows.

A time in nanoseconds since 1970 is about 1.7e18, where float64 steps by
256 ns, so half a sample interval added to it in float64 is lost at rates
of MHz and more.
"""

from __future__ import annotations

import numpy as np
import obspy
import pytest

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.interop import from_obspy, span_grid, to_obspy

START_NS = 1_704_067_200 * 10**9


@pytest.mark.parametrize("rate", [5e6, 1e8, 5e8, 1e9])
def test_span_counts_every_sample(rate: float) -> None:
    step_ns = 1e9 / rate
    last_ns = START_NS + round(4 * step_ns)

    grid = span_grid(START_NS, last_ns, rate)

    assert grid.size == 5


def test_high_rate_round_trip() -> None:
    header = {
        "network": "XX",
        "station": "ABC",
        "channel": "HHZ",
        "sampling_rate": 5e8,
        "starttime": obspy.UTCDateTime(ns=START_NS),
    }
    trace = obspy.Trace(np.arange(5, dtype=np.int32), header=header)

    back = to_obspy(from_obspy([trace]))

    assert len(back) == 1
    assert back[0].stats.starttime.ns == START_NS
    np.testing.assert_array_equal(back[0].data, trace.data)


def test_reversed_window_names_times() -> None:
    with pytest.raises(InvalidRequestError, match="swap them") as caught:
        span_grid(START_NS, START_NS + 10**9, 1.0, START_NS + 10**9, START_NS)

    assert "start=2024-01-01T00:00:01Z" in str(caught.value)
    assert "end=2024-01-01T00:00:00Z" in str(caught.value)
