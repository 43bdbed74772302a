"""MixedSamplingRateError messages where one channel changes sampling rate.

The files are real miniSEED written with pymseed and opened with
``engine="miniseed"``. The streams are obspy Traces given to from_obspy.
XX.STA.00.BHZ is sampled at 40 Hz for an hour and then at 20 Hz, in the
next hour or on the next day.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

from intake_earthscope.errors import MixedSamplingRateError
from intake_earthscope.interop import from_obspy

import mseedgen

HOUR_NS = 3600 * 10**9
DAY_NS = 24 * HOUR_NS
START = mseedgen.nstime("2024-01-01T00:00:00Z")


def hour(seed_id: str, start_ns: int, rate: float) -> bytes:
    """Return an hour of samples of ``seed_id`` at ``rate`` as miniSEED records."""
    values = (np.arange(int(3600 * rate)) % 700).astype(np.int32)
    return mseedgen.segment_bytes(seed_id, start_ns, values, rate)


def open_error(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path``, open it and return the error message."""
    path.write_bytes(data)
    with pytest.raises(MixedSamplingRateError) as raised:
        xr.open_dataset(path, engine="miniseed")
    return str(raised.value)


def trace(channel: str, start_ns: int, rate: float) -> obspy.Trace:
    """Return an hour of samples of XX.STA.00.``channel`` at ``rate``."""
    header = {
        "network": "XX",
        "station": "STA",
        "location": "00",
        "channel": channel,
        "sampling_rate": rate,
        "starttime": obspy.UTCDateTime(ns=start_ns),
    }
    return obspy.Trace(np.zeros(int(3600 * rate), dtype=np.int32), header)


def stream_error(*traces: obspy.Trace) -> str:
    with pytest.raises(MixedSamplingRateError) as raised:
        from_obspy(obspy.Stream(list(traces)))
    return str(raised.value)


# engine="miniseed"


def test_backend_change_within_file(tmp_path: Path) -> None:
    data = hour("XX.STA.00.BHZ", START, 40.0) + hour(
        "XX.STA.00.BHZ", START + HOUR_NS, 20.0
    )

    message = open_error(tmp_path / "change.mseed", data)

    assert message.startswith("XX.STA.00.BHZ changes sampling rate: ")
    assert "40 Hz from 2024-01-01T00:00:00Z to 2024-01-01T00:59:59.975" in message
    assert "20 Hz from 2024-01-01T01:00:00Z to 2024-01-01T01:59:59.95" in message
    assert "several sampling rates" not in message
    assert "pass sampling_rate=20 or sampling_rate=40" in message
    assert "backend_kwargs" in message


def test_backend_change_between_days(tmp_path: Path) -> None:
    data = hour("XX.STA.00.BHZ", START, 40.0) + hour(
        "XX.STA.00.BHZ", START + DAY_NS, 20.0
    )

    message = open_error(tmp_path / "days.mseed", data)

    assert message.startswith("XX.STA.00.BHZ changes sampling rate: ")
    assert "40 Hz from 2024-01-01T00:00:00Z" in message
    assert "20 Hz from 2024-01-02T00:00:00Z" in message


def test_backend_change_beside_other_channel(tmp_path: Path) -> None:
    """BHN stays at 40 Hz, so the channels differ too."""
    data = (
        hour("XX.STA.00.BHN", START, 40.0)
        + hour("XX.STA.00.BHZ", START, 40.0)
        + hour("XX.STA.00.BHZ", START + HOUR_NS, 20.0)
    )

    message = open_error(tmp_path / "mixed.mseed", data)

    assert message.startswith("channels of several sampling rates: ")
    assert "XX.STA.00.BHN at 40 Hz" in message
    assert "XX.STA.00.BHZ changes sampling rate: " in message
    assert "XX.STA.00.BHN changes" not in message
    assert "20 Hz from 2024-01-01T01:00:00Z" in message


def test_backend_channels_differ(tmp_path: Path) -> None:
    data = hour("XX.STA.00.BHZ", START, 40.0) + hour("XX.STA.00.LHZ", START, 1.0)

    message = open_error(tmp_path / "channels.mseed", data)

    assert message.startswith("channels of several sampling rates: ")
    assert "XX.STA.00.BHZ at 40 Hz, XX.STA.00.LHZ at 1 Hz" in message
    assert "changes" not in message


# from_obspy


def test_stream_change_between_days() -> None:
    message = stream_error(
        trace("BHZ", START, 40.0), trace("BHZ", START + DAY_NS, 20.0)
    )

    assert message.startswith("XX.STA.00.BHZ changes sampling rate: ")
    assert "40 Hz from 2024-01-01T00:00:00Z to 2024-01-01T00:59:59.975" in message
    assert "20 Hz from 2024-01-02T00:00:00Z" in message
    assert "several sampling rates" not in message
    assert "stream.select(sampling_rate=...)" in message
    assert "resample" in message


def test_stream_traces_differ() -> None:
    message = stream_error(trace("BHZ", START, 40.0), trace("LHZ", START, 1.0))

    assert message.startswith("traces of several sampling rates: ")
    assert "XX.STA.00.BHZ at 40 Hz, XX.STA.00.LHZ at 1 Hz" in message
    assert "changes" not in message
