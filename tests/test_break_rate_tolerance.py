"""Header rates within rate_tolerance, and a missing first day's warnings.

engine="miniseed" and from_obspy must count rates that agree within
rate_tolerance as one rate. A first day with no object, filled by the next
day's object, must not be reported as keeping its own samples when the
previous day's object fails. Every object is real miniSEED written with
pymseed (tests/mseedgen.py), in pytest's temporary folder or a root= folder.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr
from test_rate_change_messages import trace

from intake_earthscope import open_waveforms
from intake_earthscope.errors import MixedSamplingRateError
from intake_earthscope.interop import from_obspy

import mseedgen
from conftest import collection_spec, mirror

HOUR_NS = 3600 * 10**9
START = mseedgen.nstime("2024-01-01T00:00:00Z")

# 2.5 Hz and a rate 2e-5 away from it, well inside the default relative
# rate tolerance of 1e-4. Neither snaps to a whole rate or period, so they
# stay apart unless the tolerance joins them.
RATE = 2.5
NEAR_RATE = 2.50005


def hour(seed_id: str, start_ns: int, rate: float) -> bytes:
    """Return an hour of ``seed_id`` at ``rate`` as miniSEED 3 records, which
    store the rate as float64."""
    values = (np.arange(int(3600 * rate)) % 700).astype(np.int32)
    return mseedgen.segment_bytes(seed_id, start_ns, values, rate, version=3)


# Rates within rate_tolerance


def test_backend_rates_within_tolerance(tmp_path: Path) -> None:
    """One channel whose header rate moves by 2e-5 after a gap is one rate."""
    path = tmp_path / "near.mseed"
    path.write_bytes(
        hour("XX.STA.00.BHZ", START, RATE)
        + hour("XX.STA.00.BHZ", START + 2 * HOUR_NS, NEAR_RATE)
    )

    dataset = xr.open_dataset(path, engine="miniseed")

    assert dataset.sizes["trace"] == 1
    assert dataset.status.values.tolist() == ["ok"]
    assert float(dataset.sampling_rate) == RATE
    assert int(dataset.waveform.notnull().sum()) == 2 * 9000


def test_backend_near_rates_one_entry(tmp_path: Path) -> None:
    """BHZ is at 2.5 Hz and then 2.50005 Hz, LHZ at 1 Hz: the message names
    the channels' two rates and does not say that BHZ changes rate."""
    path = tmp_path / "mixed.mseed"
    path.write_bytes(
        hour("XX.STA.00.BHZ", START, RATE)
        + hour("XX.STA.00.BHZ", START + 2 * HOUR_NS, NEAR_RATE)
        + hour("XX.STA.00.LHZ", START, 1.0)
    )

    with pytest.raises(MixedSamplingRateError) as raised:
        xr.open_dataset(path, engine="miniseed")

    message = str(raised.value)
    assert message.startswith("channels of several sampling rates: ")
    assert "XX.STA.00.BHZ at 2.5 Hz, XX.STA.00.LHZ at 1 Hz" in message
    assert "changes sampling rate" not in message
    assert "2.50005" not in message
    assert "pass sampling_rate=1 or sampling_rate=2.5 " in message


def test_stream_near_rates_one_entry() -> None:
    """from_obspy: BHZ's two traces at 2.5 and 2.50005 Hz are one rate."""
    stream = obspy.Stream(
        [
            trace("BHZ", START, RATE),
            trace("BHZ", START + 2 * HOUR_NS, NEAR_RATE),
            trace("LHZ", START, 1.0),
        ]
    )

    with pytest.raises(MixedSamplingRateError) as raised:
        from_obspy(stream)

    message = str(raised.value)
    assert message.startswith("traces of several sampling rates: ")
    assert "XX.STA.00.BHZ at 2.5 Hz, XX.STA.00.LHZ at 1 Hz" in message
    assert "changes sampling rate" not in message
    assert "2.50005" not in message


# A missing day filled by the next day's object, with a failed previous day


def station_key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def test_warn_filled_missing_day_not_kept(tmp_path: Path) -> None:
    """The 20 Hz grid starts at 2024-01-02T23:59:59.99, so 2024-01-02 has one
    index. Day 3's first record starts at midnight, 0.2 samples after it,
    and fills it. Day 2 has no object and day 1's is not miniSEED, so the
    warning about day 1 must not say that day 2's own samples were kept."""
    root = mirror(
        tmp_path,
        {
            station_key(1): b"<html>not miniSEED</html>\n" * 100,
            station_key(3): mseedgen.segment_bytes(
                "XX.STA.00.BHZ",
                "2024-01-03T00:00:00Z",
                np.arange(400, dtype=np.int32),
                20.0,
            ),
        },
    )
    dataset = open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="00",
        channel="BHZ",
        start="2024-01-02T23:59:59.99Z",
        end="2024-01-03T00:00:10Z",
        errors="warn",
        root=str(root),
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = dataset.load()
    texts = [str(warning.message) for warning in caught]

    assert dataset.status.values.tolist() == [["ok", "ok"]]
    assert len(texts) == 1
    assert texts[0].startswith(f"previous-day object {station_key(1)}")
    assert "(status 'unreadable')" in texts[0]
    assert "were kept" not in texts[0]
    assert "the day's own object failed too" in texts[0]
