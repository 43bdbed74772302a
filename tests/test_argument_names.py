"""Tests of obspy and FDSN argument names, and of other inputs obspy users give.

Every entry point (open_waveforms, open_windows, the catalog sources and their
methods, the intake v2 reader) rejects ``starttime=``, ``net=`` and the like
before any I/O. The error names the argument given, the one to use and the
value under its right name. S3 requests go to a recording proxy in front of
a closed loopback port, which must have seen none. The tests that read use
a local mirror of obspy's test recording CH.BALST (LHE and LHZ at 1 Hz on
2025-11-10).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from typing import Any

import intake
import numpy as np
import obspy
import pandas as pd
import pytest
from obspy.core.event import Catalog, Event, Origin

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError, UnknownArgumentError
from intake_earthscope.readerargs import merge_request
from intake_earthscope.v2 import REQUEST_KEYS
from intake_earthscope.windows import open_windows

from conftest import CATALOGS, CLOSED_PORT_URL, OBSPY_MSEED_DATA, collection_spec
from faultproxy import FaultProxy

REQUEST: dict[str, Any] = {
    "network": "IU",
    "station": "ANMO",
    "location": "00",
    "channel": "BHZ",
    "start": "2024-01-01",
    "end": "2024-01-02",
    "tier": "open",
    "sampling_rate": 40,
}

# The request of the windows tests, without start and end.
CODES = {name: REQUEST[name] for name in ("network", "station", "location")}

BALST_KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
BALST = {
    "network": "CH",
    "station": "BALST",
    "location": "",
    "channel": "LHZ,LHE",
    "sampling_rate": 1,
}

# (obspy or FDSN name, the name to use, a value)
RENAMED = [
    ("starttime", "start", "2024-01-01"),
    ("endtime", "end", "2024-01-02"),
    ("net", "network", "IU"),
    ("sta", "station", "ANMO"),
    ("loc", "location", "00"),
    ("cha", "channel", "BHZ"),
]


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """Every S3 request of the test goes to this proxy, and from it to a
    closed port."""
    with FaultProxy(CLOSED_PORT_URL.rstrip("/")) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        yield proxy


@pytest.fixture(scope="module")
def balst_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A mirror with the SAGE key layout holding the CH.BALST day."""
    root = tmp_path_factory.mktemp("mirror")
    path = root / BALST_KEY
    path.parent.mkdir(parents=True)
    shutil.copy(OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels", path)
    return str(root)


@pytest.fixture(scope="module")
def cat() -> Any:
    return intake.open_catalog(str(CATALOGS / "earthscope.yaml"))


def without(*names: str, **changes: Any) -> dict[str, Any]:
    """Return REQUEST without ``names`` and with ``changes``."""
    kept = {name: value for name, value in REQUEST.items() if name not in names}
    return {**kept, **changes}


def advice(right: str) -> str:
    """Return the part of the message that names the argument to use."""
    return "use start= and end=" if right in ("start", "end") else f"use {right}="


def fdsn_arguments(name: str, right: str, value: str) -> dict[str, Any]:
    """Return REQUEST with ``right`` given under the obspy or FDSN ``name``."""
    return without(right, **{name: value})


@pytest.mark.parametrize(("name", "right", "value"), RENAMED)
def test_open_waveforms_fdsn_name(
    watched: FaultProxy, name: str, right: str, value: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **fdsn_arguments(name, right, value))

    message = str(caught.value)
    assert isinstance(caught.value, TypeError)
    assert f"open_waveforms() got unknown parameter {name}: {advice(right)}" in message
    assert f"{right}={value!r}" in message
    assert watched.seen == []


def test_unknown_argument_error_classes(watched: FaultProxy) -> None:
    with pytest.raises(UnknownArgumentError) as caught:
        open_waveforms(collection_spec("sage"), **without("end", endtime="2024-01-02"))

    # Callers that catch the builtin of either error keep working.
    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, ValueError)
    assert watched.seen == []


def test_open_waveforms_both_obspy_times(watched: FaultProxy) -> None:
    arguments = without("start", "end", starttime="2024-01-01", endtime="2024-01-02")

    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **arguments)

    message = str(caught.value)
    assert "unknown parameters starttime, endtime: use start= and end=" in message
    assert "start='2024-01-01', end='2024-01-02' (end is exclusive)" in message
    assert message.count("open_waveforms()") == 1
    assert watched.seen == []


def test_open_waveforms_utcdatetime_starttime(watched: FaultProxy) -> None:
    start = obspy.UTCDateTime("2024-01-01")

    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **without("start", starttime=start))

    assert f"start={start!r}" in str(caught.value)
    assert "needs a fix" not in str(caught.value)
    assert watched.seen == []


def test_fdsn_name_bad_value_too(watched: FaultProxy) -> None:
    # obspy's UTCDateTime takes epoch seconds, but start does not.
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(
            collection_spec("sage"), **without("start", starttime=1704067200)
        )

    message = str(caught.value)
    assert "use start= and end=" in message
    assert "The value needs a fix too: invalid start=1704067200" in message
    assert watched.seen == []


@pytest.mark.parametrize("name", ["seed_id", "id"])
def test_open_waveforms_seed_id(watched: FaultProxy, name: str) -> None:
    arguments = without(
        "network", "station", "location", "channel", **{name: "IU.ANMO.10.BHZ"}
    )

    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **arguments)

    expected = "network='IU', station='ANMO', location='10', channel='BHZ'"
    assert expected in str(caught.value)
    assert watched.seen == []


def test_open_waveforms_get_waveforms_order(watched: FaultProxy) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(
            collection_spec("sage"),
            "IU",
            "ANMO",
            "00",
            "BHZ",
            "2024-01-01",
            "2024-01-02",
        )

    message = str(caught.value)
    assert "takes 1 positional argument (collection) and got 7" in message
    assert "network=, station=, location=, channel=, start=, end=" in message
    assert watched.seen == []


def test_open_waveforms_typo_suggests_name(watched: FaultProxy) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **without("channel", chan="BHZ"))

    assert "unknown parameter chan: did you mean channel=?" in str(caught.value)
    assert watched.seen == []


def test_unknown_value_not_shown(watched: FaultProxy) -> None:
    # A misplaced credential must not reach the message.
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **REQUEST, secret_key="s3cr3t-value")

    assert "secret_key" in str(caught.value)
    assert "s3cr3t-value" not in str(caught.value)
    assert watched.seen == []


@pytest.mark.parametrize("names", [("starttime",), ("start", "end")])
def test_open_windows_span_names(watched: FaultProxy, names: tuple[str, ...]) -> None:
    spans = dict.fromkeys(names, "2024-01-01")

    with pytest.raises(InvalidRequestError) as caught:
        open_windows(
            collection_spec("sage"), ["2024-01-01T03"], 60, 60, **CODES, **spans
        )

    message = str(caught.value)
    assert f"open_windows() got unknown parameter{'s' * (len(names) > 1)} " in message
    assert ", ".join(names) in message
    assert "windows have no start or end" in message
    assert "before= and after=" in message
    assert message.count("windows have no start") == 1
    assert watched.seen == []


def test_open_windows_fdsn_code_name(watched: FaultProxy) -> None:
    codes = {"network": "IU", "station": "ANMO", "location": "00", "cha": "BHZ"}

    with pytest.raises(InvalidRequestError) as caught:
        open_windows(collection_spec("sage"), ["2024-01-01T03"], 60, 60, **codes)

    assert "unknown parameter cha: use channel=" in str(caught.value)
    assert "channel='BHZ'" in str(caught.value)
    assert watched.seen == []


@pytest.mark.parametrize(("name", "right", "value"), RENAMED)
def test_catalog_fdsn_name(
    watched: FaultProxy, cat: Any, name: str, right: str, value: str
) -> None:
    arguments = fdsn_arguments(name, right, value)
    arguments.pop("sampling_rate")

    with pytest.raises(InvalidRequestError) as caught:
        cat.sage.miniseed(**arguments)

    message = str(caught.value)
    assert isinstance(caught.value, TypeError)
    assert f"MiniseedSource got unknown parameter {name}: {advice(right)}" in message
    assert f"{right}={value!r}" in message
    assert watched.seen == []


def test_catalog_source_unknown_name(watched: FaultProxy, cat: Any) -> None:
    with pytest.raises(InvalidRequestError, match="run describe()"):
        cat.sage.miniseed(network="IU", station="ANMO", bogus=1)

    assert watched.seen == []


@pytest.mark.parametrize("method", ["to_dask", "read"])
def test_source_method_obspy_name(watched: FaultProxy, cat: Any, method: str) -> None:
    source = cat.sage.miniseed(network="IU", station="ANMO", tier="open")

    with pytest.raises(InvalidRequestError) as caught:
        getattr(source, method)(starttime="2024-01-01")

    message = str(caught.value)
    assert f"{method}() got unknown parameter starttime" in message
    assert "name of start=" in message
    assert "when opening the source" in message
    assert watched.seen == []


def test_entry_to_dask_obspy_name(watched: FaultProxy, cat: Any) -> None:
    with pytest.raises(InvalidRequestError, match="unknown parameter endtime"):
        cat.sage.miniseed.to_dask(endtime="2024-01-02")

    assert watched.seen == []


def test_source_windows_obspy_name(watched: FaultProxy, cat: Any) -> None:
    source = cat.sage.miniseed(**CODES, channel="BHZ", tier="open")

    with pytest.raises(InvalidRequestError) as caught:
        source.windows(["2024-01-01T03"], 60, 60, starttime="2024-01-01")

    assert "windows() got unknown parameter starttime" in str(caught.value)
    assert "windows have no start or end" in str(caught.value)
    assert watched.seen == []


def test_source_windows_obspy_span_only(watched: FaultProxy, cat: Any) -> None:
    source = cat.sage.miniseed(**CODES, channel="BHZ", tier="open")

    with pytest.raises(UnknownArgumentError) as caught:
        source.windows(
            ["2024-01-01T03"], starttime="2024-01-01T02", endtime="2024-01-01T04"
        )

    assert "windows have no start or end" in str(caught.value)
    assert watched.seen == []


def test_source_windows_missing_offsets(watched: FaultProxy, cat: Any) -> None:
    source = cat.sage.miniseed(**CODES, channel="BHZ", tier="open")

    with pytest.raises(TypeError, match="missing required argument before and after"):
        source.windows(["2024-01-01T03"])
    with pytest.raises(TypeError, match="missing required argument after:"):
        source.windows(["2024-01-01T03"], 60)
    assert watched.seen == []


def test_source_windows_codes(watched: FaultProxy, cat: Any) -> None:
    source = cat.sage.miniseed(**CODES, channel="BHZ", tier="open")

    with pytest.raises(InvalidRequestError) as caught:
        source.windows(["2024-01-01T03"], 60, 60, network="CI")

    assert "windows() got unknown parameter network" in str(caught.value)
    assert "codes, tier and options of the source" in str(caught.value)
    assert watched.seen == []


@pytest.mark.parametrize("method", ["read", "to_dask"])
def test_v2_reader_obspy_name(watched: FaultProxy, method: str) -> None:
    cat = intake.open_catalog(str(CATALOGS / "earthscope_v2.yaml"))
    reader = cat(network="IU", station="ANMO", tier="open").sage_miniseed

    with pytest.raises(InvalidRequestError) as caught:
        getattr(reader, method)(starttime="2024-01-01")

    message = str(caught.value)
    assert "unknown parameter starttime: use start= and end=" in message
    assert "start='2024-01-01'" in message
    assert watched.seen == []


@pytest.mark.parametrize(
    "entry", ["sage_miniseed", "sage_stations", "gage_positions", "noaa_cors_rinex_obs"]
)
def test_v2_catalog_call_obspy_name(watched: FaultProxy, entry: str) -> None:
    cat = intake.open_catalog(str(CATALOGS / "earthscope_v2.yaml"))

    with pytest.raises(UnknownArgumentError) as caught:
        getattr(cat(starttime="2024-01-01"), entry)

    message = str(caught.value)
    assert message.startswith("the catalog call got unknown parameter starttime")
    assert "start='2024-01-01'" in message
    assert watched.seen == []


def test_v2_catalog_call_unknown_name() -> None:
    cat = intake.open_catalog(str(CATALOGS / "earthscope_v2.yaml"))

    with pytest.raises(UnknownArgumentError) as caught:
        _ = cat(colour="red").sage_miniseed

    message = str(caught.value)
    assert "unknown parameter colour" in message
    assert "cat.user_parameters" in message
    assert "red" not in message


def test_request_mapping_fdsn_key() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        merge_request({"sta": "ANMO"}, {}, REQUEST_KEYS)

    assert isinstance(caught.value, TypeError)
    assert "unknown parameter sta: use station=" in str(caught.value)


def test_one_utcdatetime_opens_one_window(balst_root: str) -> None:
    reference = obspy.UTCDateTime("2025-11-10T03:00:00")
    spec = collection_spec("sage")

    single = open_windows(spec, reference, 60, 60, root=balst_root, **BALST)
    listed = open_windows(spec, [reference], 60, 60, root=balst_root, **BALST)

    expected = np.datetime64(reference.ns, "ns")
    assert single.sizes["window"] == 1
    assert single.window.values[0] == expected
    np.testing.assert_array_equal(single.waveform.values, listed.waveform.values)


def test_obspy_catalog_as_times(watched: FaultProxy) -> None:
    origin = Origin(time=obspy.UTCDateTime("2024-01-01T03"))
    catalog = Catalog([Event(origins=[origin])])

    with pytest.raises(InvalidRequestError) as caught:
        open_windows(collection_spec("sage"), catalog, 60, 60, **CODES)

    assert "got an obspy Catalog" in str(caught.value)
    assert "(event.preferred_origin() or event.origins[0]).time" in str(caught.value)
    assert watched.seen == []


def test_obspy_events_as_times(watched: FaultProxy) -> None:
    origin = Origin(time=obspy.UTCDateTime("2024-01-01T03"))
    events = [Event(origins=[origin])]

    with pytest.raises(InvalidRequestError) as caught:
        open_windows(collection_spec("sage"), events, 60, 60, **CODES)

    assert "invalid times[0]: got an obspy Event, not a time." in str(caught.value)
    assert "origin time of each event" in str(caught.value)
    assert watched.seen == []


def test_missing_times_named(watched: FaultProxy) -> None:
    with pytest.raises(InvalidRequestError, match="missing times"):
        open_windows(collection_spec("sage"), None, 60, 60, **CODES)

    assert watched.seen == []


@pytest.mark.parametrize(
    "before",
    [
        obspy.UTCDateTime("2024-01-01T02:59"),
        dt.datetime(2024, 1, 1, 2, 59),
        "2024-01-01T02:59",
    ],
    ids=["UTCDateTime", "datetime", "ISO text"],
)
def test_time_as_before(watched: FaultProxy, before: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_windows(collection_spec("sage"), ["2024-01-01T03"], before, 60, **CODES)

    assert "before is a duration, not a time" in str(caught.value)
    assert "before=60, after=30" in str(caught.value)
    assert watched.seen == []


def test_negative_before_explained(watched: FaultProxy) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_windows(collection_spec("sage"), ["2024-01-01T03"], -60, 60, **CODES)

    assert "invalid before=-60" in str(caught.value)
    assert "before counts back" in str(caught.value)
    assert watched.seen == []


@pytest.mark.parametrize(
    "end",
    [pd.Timedelta(hours=1), dt.timedelta(hours=1), np.timedelta64(1, "h")],
    ids=["Timedelta", "timedelta", "timedelta64"],
)
def test_duration_as_end(watched: FaultProxy, end: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **without("end", end=end))

    assert "end is a time, not a duration" in str(caught.value)
    assert "end='2024-01-01T01:00:00Z'" in str(caught.value)
    assert watched.seen == []


def test_duration_as_start(watched: FaultProxy) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(
            collection_spec("sage"), **without("start", start=pd.Timedelta(hours=1))
        )

    assert "start is a time, not a duration" in str(caught.value)
    assert watched.seen == []


@pytest.mark.parametrize("kind", ["network", "station", "channel"])
def test_seed_id_as_code(watched: FaultProxy, kind: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(
            collection_spec("sage"), **without(kind, **{kind: "IU.ANMO..BHZ"})
        )

    message = str(caught.value)
    assert f"invalid {kind}='IU.ANMO..BHZ': a SEED id" in message
    assert "network='IU', station='ANMO', location='', channel='BHZ'" in message
    assert watched.seen == []


def test_space_separated_codes(watched: FaultProxy) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **without(channel="BHZ BHN"))

    assert "separate several codes with commas" in str(caught.value)
    assert "channel='BHZ,BHN'" in str(caught.value)
    assert watched.seen == []


def test_catalog_seed_id_as_station(watched: FaultProxy, cat: Any) -> None:
    with pytest.raises(InvalidRequestError, match="a SEED id, not a station code"):
        cat.sage.miniseed(network="IU", station="IU.ANMO.00.BHZ")

    assert watched.seen == []


@pytest.mark.parametrize(
    "column",
    [
        np.array(["LHZ", "LHE"]),
        pd.Series(["LHZ", "LHE"], name="channel"),
        pd.Index(["LHZ", "LHE"]),
    ],
    ids=["ndarray", "Series", "Index"],
)
def test_code_column_is_list(balst_root: str, column: object) -> None:
    spec = collection_spec("sage")
    request = {**BALST, "start": "2025-11-10T01", "end": "2025-11-10T02"}

    from_column = open_waveforms(
        spec, **{**request, "channel": column}, root=balst_root
    )
    from_list = open_waveforms(spec, **request, root=balst_root)

    assert list(from_column.trace.values) == ["CH.BALST..LHE", "CH.BALST..LHZ"]
    np.testing.assert_array_equal(
        from_column.waveform.values, from_list.waveform.values
    )
