"""Messages of rejected arguments of the library functions.

Each request is rejected before any I/O: the S3 endpoint of every test is a
closed loopback port.
"""

from __future__ import annotations

from typing import Any

import intake
import numpy as np
import pandas as pd
import pytest
import yaml

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.gnss.position_dataset import open_gage_positions
from intake_earthscope.gnss.rinex_dataset import open_rinex_obs
from intake_earthscope.timeutil import parse_time
from intake_earthscope.windows import open_windows, window_offsets

from conftest import CATALOGS, collection_spec

CODES = {"network": "IU", "station": "ANMO", "location": "00", "channel": "BHZ"}
TIMES = ["2024-01-01T03:00"]
GAGE = yaml.safe_load((CATALOGS / "gage.yaml").read_text())["sources"]

# NaN offsets as a number, a NumPy scalar, text and a missing timedelta.
NAN_OFFSETS = [
    float("nan"),
    np.float32("nan"),
    "nan",
    pd.NaT,
    np.timedelta64("NaT"),
]


@pytest.fixture
def cat() -> Any:
    return intake.open_catalog(str(CATALOGS / "earthscope.yaml"))


# A NaN before= or after= is named as such, with the fix.


@pytest.mark.parametrize("value", NAN_OFFSETS, ids=repr)
@pytest.mark.parametrize("name", ["before", "after"])
def test_offsets_nan_named(name: str, value: object) -> None:
    offsets = {"before": 60, "after": 60, name: value}

    with pytest.raises(InvalidRequestError) as caught:
        window_offsets(offsets["before"], offsets["after"])

    message = str(caught.value)
    assert f"invalid {name}=" in message
    assert "is not a duration" in message
    assert f"such as {name}=60" in message
    assert "fill or drop" in message
    assert "at or above 0. " not in message


def test_open_windows_nan_before() -> None:
    with pytest.raises(InvalidRequestError, match="NaN is not a duration"):
        open_windows(collection_spec("sage"), TIMES, float("nan"), 60, **CODES)


def test_open_windows_nan_after() -> None:
    with pytest.raises(InvalidRequestError, match="count forward"):
        open_windows(collection_spec("sage"), TIMES, 60, float("nan"), **CODES)


@pytest.mark.parametrize("name", ["before", "after"])
def test_source_windows_nan(cat: Any, name: str) -> None:
    source = cat.sage.miniseed(**CODES, tier="open")
    offsets = {"before": 60, "after": 60, name: float("nan")}

    with pytest.raises(InvalidRequestError) as caught:
        source.windows(TIMES, **offsets)

    assert f"invalid {name}=nan: NaN is not a duration" in str(caught.value)


def test_offsets_infinity_still_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="expected seconds at or above 0"):
        window_offsets(float("inf"), 60)


# A long value is cut in the message, as the names check cuts it.


def test_long_list_start_cut() -> None:
    days = [f"2024-01-{day:02d}" for day in range(1, 29)] * 10

    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **CODES, start=days, end="2024-01-02")

    message = str(caught.value)
    assert message.startswith("invalid start=['2024-01-01', ")
    assert "...]" in message
    assert "2024-01-28" not in message
    assert len(message) < 300


@pytest.mark.parametrize(
    "value",
    [
        np.arange(1000),
        pd.Series(pd.date_range("2024-01-01", periods=500)),
        "2024-01-01T" + "0" * 500,
    ],
    ids=["array", "series", "text"],
)
def test_parse_time_cuts_value(value: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_time(value, "end")

    message = str(caught.value)
    assert message.startswith("invalid end=")
    assert "..." in message
    assert len(message) < 300


def test_short_value_shown_whole() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_time("10/11/2025", "start")

    assert "invalid start='10/11/2025': expected an ISO 8601 time" in str(caught.value)


# A duration given as end gets the same suggestion for GNSS as for waveforms.

DURATIONS = ["1D", "2h", "1 days 00:00:00", pd.Timedelta(hours=6)]


def seismic_message(end: object) -> str:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **CODES, start="2024-01-01", end=end)
    return str(caught.value)


@pytest.mark.parametrize("end", DURATIONS, ids=str)
def test_rinex_duration_end(end: object) -> None:
    product = GAGE["rinex_obs"]["args"]["product"]

    with pytest.raises(InvalidRequestError) as caught:
        open_rinex_obs(product, "P156", start="2024-01-01", end=end)

    assert "so give start plus the duration" in str(caught.value)
    assert str(caught.value) == seismic_message(end)


@pytest.mark.parametrize("end", DURATIONS, ids=str)
def test_positions_duration_end(end: object) -> None:
    product = GAGE["positions"]["args"]["product"]

    with pytest.raises(InvalidRequestError) as caught:
        open_gage_positions(product, station="P156", start="2024-01-01", end=end)

    assert str(caught.value) == seismic_message(end)


def test_positions_duration_end_no_start() -> None:
    product = GAGE["positions"]["args"]["product"]

    with pytest.raises(InvalidRequestError) as caught:
        open_gage_positions(product, station="P156", end="1D")

    message = str(caught.value)
    assert "end is a time, not a duration" in message
    assert "expected an ISO 8601 time" not in message


def test_gage_catalog_positions_duration(cat: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        cat.gage.positions(station="P156", start="2024-01-01", end="1D")

    message = str(caught.value)
    assert "end='2024-01-02T00:00:00Z'" in message
    assert message == seismic_message("1D")


def test_gage_catalog_rinex_duration(cat: Any) -> None:
    # The source checks a given window when it is built, as MiniseedSource does.
    with pytest.raises(InvalidRequestError) as caught:
        cat.gage.rinex_obs(station="P156", start="2024-01-01", end="2h")

    message = str(caught.value)
    assert "end='2024-01-01T02:00:00Z'" in message
    assert message == seismic_message("2h")


def test_gnss_start_as_duration() -> None:
    product = GAGE["rinex_obs"]["args"]["product"]

    with pytest.raises(InvalidRequestError) as caught:
        open_rinex_obs(product, "P156", start="1D", end="2024-01-02")

    assert "start is a time, not a duration" in str(caught.value)
