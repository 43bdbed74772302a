"""repr of a catalog source opened without start and end, for windows().

The source reads a real station-day from obspy's wheel on the session's
loopback S3 server, with storage options that carry secrets, which repr
must never show.
"""

from __future__ import annotations

from typing import Any

import intake
import pytest

from intake_earthscope.testing import LoopbackS3

from conftest import CATALOGS, OBSPY_MSEED_DATA, publish

KEY = "AKIAREPRSECRETS00001"
SECRET = "repr-secret-access-key-5e4d3c2b1a"
OPTIONS = {"key": KEY, "secret": SECRET}

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"


def windows_source(**arguments: Any) -> Any:
    catalog = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    codes = {"network": "CH", "station": "BALST", "location": "", "channel": "LH?"}
    return catalog.sage.miniseed(
        **(codes | arguments), storage_options=OPTIONS, errors="ignore"
    )


def test_repr_before_windows_call() -> None:
    text = repr(windows_source())

    assert "(parameters needed)" not in text
    assert text.startswith("<MiniseedSource sage.miniseed tier='auto' CH.BALST..LH? ")
    assert "no windows read; missing start, end" in text


def test_repr_names_missing_codes() -> None:
    text = repr(windows_source(station=None))

    assert "CH.<no station>..LH?" in text
    assert "missing station, start, end" in text


@pytest.mark.timeout(300)
def test_repr_after_windows_call(s3: LoopbackS3) -> None:
    publish(s3, "sage", {"miniseed/CH/2025/314/BALST.CH.2025.314": BALST.read_bytes()})
    source = windows_source()
    times = ["2025-11-10T06:00:00", "2025-11-10T01:00:00", "2025-11-10T12:30:00"]

    source.windows(times, before=60, after="2min")
    text = repr(source)

    assert text.startswith("<MiniseedSource sage.miniseed tier='auto' CH.BALST..LH? ")
    assert "3 windows at 2025-11-10T01:00:00Z..2025-11-10T12:30:00Z" in text
    assert "before=60s after=120s" in text
    assert KEY not in text
    assert SECRET not in text


@pytest.mark.timeout(300)
def test_repr_one_window(s3: LoopbackS3) -> None:
    publish(s3, "sage", {"miniseed/CH/2025/314/BALST.CH.2025.314": BALST.read_bytes()})
    source = windows_source()

    source.windows(["2025-11-10T06:00:00"], before=0.5, after=30)

    assert "1 window at 2025-11-10T06:00:00Z before=0.5s after=30s" in repr(source)


def test_repr_day_request_unchanged() -> None:
    source = windows_source(start="2025-11-10", end="2025-11-11")

    assert repr(source) == (
        "<MiniseedSource sage.miniseed tier='auto' CH.BALST..LH? "
        "2025-11-10T00:00:00Z..2025-11-11T00:00:00Z>"
    )


@pytest.mark.parametrize("window", [{}, {"start": "2025-11-10", "end": "2025-11-11"}])
def test_blank_location_printed_as_in_seed_ids(window: dict[str, str]) -> None:
    """The blank location is empty, as in the SEED id ``CH.BALST..LH?``, not
    the "--" that FDSN services and the command line accept as input."""
    source = windows_source(location="--", **window)
    if window:
        source.request  # noqa: B018 (builds the request that repr then shows)

    assert " CH.BALST..LH? " in repr(source)
    assert "--" not in repr(source)
