"""Station tables and their browser: fetching, caching, searching, loading.

Real StationXML comes from the shared data folder. A loopback FDSN station
server returns TA.station.channel.xml (165 TA stations, 2,325 channels, from
IRIS fdsnws-station in 2016) as StationXML, or as FDSN station text
generated from it. CI_WBM.xml (SCEDC, 40 channel epochs) is stored in the
moto S3 server at the key the SCEDC bucket uses.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import obspy
import pandas as pd
import pytest
import yaml

from intake_earthscope.browse import (
    StationBrowser,
    open_stations,
    search_stations,
)
from intake_earthscope.errors import (
    ArchiveLayoutError,
    CatalogError,
    IntakeEarthScopeWarning,
    InvalidRequestError,
    UnknownArgumentError,
)
from intake_earthscope.gnss.archive import clear_web_listing_cache
from intake_earthscope.stationmatch import great_circle_degrees
from intake_earthscope.stationtable import (
    CACHE_DIR_VARIABLE,
    GNSS_COLUMNS,
    SEISMIC_COLUMNS,
    TableCache,
    inventory_table,
    parse_gage_station_list,
)
from intake_earthscope.storage import clear_listing_cache

import mseedgen
from conftest import CATALOGS, publish
from loopback_http import LoopbackHttp, Reply, fake_jwt

SERVICE_PATH = "/fdsnws/station/1/"
GAGE_PATH = "/archive/gnss/"
WBM_KEY = "FDSNstationXML/CI/CI_WBM.xml"

GAGE_LIST = """\
# station list, IGS14: id, latitude, longitude, height, first and last day
P123   40.123456  -111.654321  1523.456  2004-05-04  2024-01-01  Somewhere, UT
AB01   64.500000   209.250000   100.000  20050101    20250101
*      comment lines start with an asterisk too
XYZ    not a station line
"""


def catalog_args(archive: str) -> dict[str, Any]:
    """Return the args of an archive's ``stations`` entry in the v1 catalog."""
    text = (CATALOGS / f"{archive}.yaml").read_text()
    return yaml.safe_load(text)["sources"]["stations"]["args"]


def station_text(inventory: obspy.Inventory) -> str:
    """Write an Inventory in the FDSN station text format, level=channel."""
    header = (
        "#Network | Station | Location | Channel | Latitude | Longitude | "
        "Elevation | Depth | Azimuth | Dip | SensorDescription | Scale | "
        "ScaleFreq | ScaleUnits | SampleRate | StartTime | EndTime"
    )
    lines = [header]
    for network in inventory:
        for station in network:
            for channel in station:
                end = channel.end_date
                fields = [
                    network.code,
                    station.code,
                    channel.location_code,
                    channel.code,
                    channel.latitude,
                    channel.longitude,
                    channel.elevation,
                    channel.depth,
                    channel.azimuth,
                    channel.dip,
                    "sensor",
                    "",
                    "",
                    "",
                    channel.sample_rate,
                    channel.start_date.strftime("%Y-%m-%dT%H:%M:%S"),
                    end.strftime("%Y-%m-%dT%H:%M:%S") if end else "",
                ]
                lines.append("|".join(str(field) for field in fields))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def ta_xml() -> bytes:
    path = Path(__file__).resolve().parents[2] / "shared/data/stationxml"
    if not path.is_dir():
        pytest.skip(f"real StationXML not found at {path}")
    return (path / "TA.station.channel.xml").read_bytes()


@pytest.fixture(scope="module")
def ta_text(ta_xml: bytes) -> str:
    return station_text(obspy.read_inventory(io.BytesIO(ta_xml)))


@pytest.fixture
def station_server(ta_xml: bytes, ta_text: str) -> Iterator[LoopbackHttp]:
    """An FDSN station service on loopback that returns the TA file."""
    server = LoopbackHttp("127.0.0.1")

    def query(params: dict[str, list[str]]) -> Reply:
        if params.get("format") == ["text"]:
            return Reply(200, ta_text.encode())
        return Reply(200, ta_xml, {"Content-Type": "application/xml"})

    server.routes[SERVICE_PATH + "query"] = query
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sage_stations(station_server: LoopbackHttp) -> dict[str, Any]:
    stations = catalog_args("sage")["stations"]
    stations["fdsn"]["base_url"] = station_server.url(SERVICE_PATH)
    stations["fdsn"]["allowed_hosts"] = ["127.0.0.1"]
    return stations


@pytest.fixture
def ta(sage_stations: dict[str, Any], tmp_path: Path) -> StationBrowser:
    return open_stations(sage_stations, cache_dir=tmp_path)


def test_service_entry_warns_root_unused(
    sage_stations: dict[str, Any], tmp_path: Path
) -> None:
    """A mirror contains no table for a station service's entry, so the entry
    warns and queries the service."""
    with pytest.warns(IntakeEarthScopeWarning) as caught:
        browser = open_stations(
            sage_stations, cache_dir=tmp_path / "cache", root=str(tmp_path)
        )

    message = str(caught[0].message)
    assert len(caught) == 1
    assert "root= does not apply to sage.stations" in message
    assert "station service at 127.0.0.1" in message
    assert caught[0].filename == __file__
    assert len(browser.df)


def stations_of(browser: StationBrowser) -> list[str]:
    return sorted(set(browser.df["station"]))


# Tables


def test_inventory_table_columns(shared_data: Path) -> None:
    inventory = obspy.read_inventory(shared_data / "stationxml" / "CI_WBM.xml")

    table = inventory_table(inventory)

    assert tuple(table.columns) == SEISMIC_COLUMNS
    assert len(table) == 40


def test_inventory_table_lhz_row(shared_data: Path) -> None:
    inventory = obspy.read_inventory(shared_data / "stationxml" / "CI_WBM.xml")

    row = inventory_table(inventory).set_index("channel").loc["LHZ"]

    assert row["network"] == "CI"
    assert row["location"] == ""
    assert row["sampling_rate"] == 1.0
    assert row["start"] == pd.Timestamp("2017-03-16T20:30:00", tz="UTC")
    assert pd.isna(row["end"])


def test_far_future_end_is_open(ta: StationBrowser) -> None:
    # The TA file writes 2,319 open epochs as 2599-12-31T23:59:59; six
    # channels of G22K and other stations end in 2016.
    ends = ta.df["end"]

    assert ends.isna().sum() == 2319
    assert ends.max() < pd.Timestamp("2017-01-01", tz="UTC")


def test_text_table_matches_stationxml(
    sage_stations: dict[str, Any], tmp_path: Path
) -> None:
    text = open_stations(sage_stations, cache_dir=tmp_path / "text").df
    sage_stations["fdsn"]["format"] = "xml"
    xml = open_stations(sage_stations, cache_dir=tmp_path / "xml").df

    assert len(text) == 2325
    pd.testing.assert_frame_equal(text, xml)


def test_service_query_carries_codes(
    sage_stations: dict[str, Any], station_server: LoopbackHttp, tmp_path: Path
) -> None:
    open_stations(sage_stations, network="TA", station="121A", cache_dir=tmp_path)

    query = station_server.seen[0].query
    assert query["net"] == ["TA"]
    assert query["sta"] == ["121A"]
    assert query["level"] == ["channel"]


def test_fetch_keeps_selected_codes(
    sage_stations: dict[str, Any], tmp_path: Path
) -> None:
    # The loopback service ignores the query; the table contains 121A only.
    browser = open_stations(sage_stations, station="121A", cache_dir=tmp_path)

    assert stations_of(browser) == ["121A"]
    assert len(browser) == 16


# Search


def test_search_by_codes(ta: StationBrowser) -> None:
    found = ta.search(station="121A", channel="LH?")

    assert sorted(found.df["channel"]) == ["LHE", "LHN", "LHZ"]


def test_search_comma_list(ta: StationBrowser) -> None:
    found = ta.search(station="109C,121A", channel="LHZ")

    assert stations_of(found) == ["109C", "121A"]
    assert len(found) == 2


def test_search_blank_location(ta: StationBrowser) -> None:
    # EPYK, POKR and TOLK have six channels at 01, Q17K and Q18K three at 20.
    assert len(ta.search(location="--")) == 2301
    assert len(ta.search(location="  ")) == 2301
    assert stations_of(ta.search(location="20")) == ["Q17K", "Q18K"]


def test_search_returns_new_browser(ta: StationBrowser) -> None:
    found = ta.search(station="121A")

    assert isinstance(found, StationBrowser)
    assert len(ta) == 2325
    assert len(found) == 16


def test_search_box(ta: StationBrowser) -> None:
    found = ta.search(
        minlatitude=32, maxlatitude=33, minlongitude=-118, maxlongitude=-110
    )

    assert stations_of(found) == ["109C"]


def test_search_box_across_antimeridian(ta: StationBrowser) -> None:
    found = ta.search(minlongitude=170, maxlongitude=-158)

    assert stations_of(found) == ["N16K", "O16K", "S12K", "S14K"]


def test_search_radius(ta: StationBrowser) -> None:
    # 121A is at 32.5324 N, 107.7851 W; Y22D is 1.70 degrees away, W18A 3.05.
    found = ta.search(latitude=32.5324, longitude=-107.7851, maxradius=3.5)

    assert stations_of(found) == ["121A", "W18A", "Y22D"]


def test_search_radius_ring(ta: StationBrowser) -> None:
    found = ta.search(latitude=32.5324, longitude=-107.7851, minradius=1, maxradius=2)

    assert stations_of(found) == ["Y22D"]


def test_great_circle_quarter_turn() -> None:
    distance = great_circle_degrees(
        0.0, 0.0, np.array([0.0, 90.0]), np.array([90.0, 0.0])
    )

    np.testing.assert_allclose(distance, [90.0, 90.0])


def test_search_time_window(shared_data: Path) -> None:
    inventory = obspy.read_inventory(shared_data / "stationxml" / "CI_WBM.xml")
    browser = StationBrowser(inventory_table(inventory))

    found = browser.search(start="2016-01-01", end="2016-01-02")

    assert len(found) == 1
    assert found.df["channel"][0] == "EHZ"
    assert found.df["end"][0] == pd.Timestamp("2017-03-15T16:00:00", tz="UTC")


def test_search_window_touching_epoch_end(shared_data: Path) -> None:
    inventory = obspy.read_inventory(shared_data / "stationxml" / "CI_WBM.xml")
    browser = StationBrowser(inventory_table(inventory))

    # The first EHZ epoch ends at 2015-02-10T19:00, when the window starts.
    found = browser.search(channel="EHZ", start="2015-02-10T19:00", end="2015-02-11")

    assert list(found.df["start"]) == [pd.Timestamp("2015-02-10T19:00", tz="UTC")]


def test_search_rejects_unknown_criterion(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match="minlat"):
        ta.search(minlat=30)


def test_search_radius_needs_centre(ta: StationBrowser) -> None:
    with pytest.raises(
        InvalidRequestError, match="latitude=, longitude= and maxradius="
    ):
        ta.search(maxradius=3)


def test_search_rejects_latitude_out_of_range(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match="minlatitude=95"):
        ta.search(minlatitude=95)


def test_search_rejects_reversed_latitudes(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match="minlatitude=60 and maxlatitude=10"):
        ta.search(minlatitude=60, maxlatitude=10)


def test_search_rejects_reversed_radii(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match="minradius=5 and maxradius=1"):
        ta.search(latitude=32.5, longitude=-107.8, minradius=5, maxradius=1)


def test_search_rejects_reversed_window(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match="end=2010-01-01.* is not after"):
        ta.search(start="2020-01-01", end="2010-01-01")


def test_search_names_obspy_time_fix(ta: StationBrowser) -> None:
    with pytest.raises(
        InvalidRequestError, match=r"\(use start= in place of starttime=\)"
    ):
        ta.search(starttime="2020-01-01")


def test_search_longitude_east_hint(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match="243 degrees east is -117$"):
        ta.search(latitude=34.0, longitude=243, maxradius=1)


def test_search_rejects_empty_window(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match="give a later end$"):
        ta.search(start="2020-01-01", end="2020-01-01")


def test_unique_rejects_unknown_column(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match=r"invalid columns \['bogus'\]"):
        ta.unique("bogus")


def test_unique_network(ta: StationBrowser) -> None:
    assert ta.unique("network")["network"] == ["TA"]


def test_unique_every_column(ta: StationBrowser) -> None:
    values = ta.search(station="121A").unique()

    assert list(values.index) == list(SEISMIC_COLUMNS)
    assert values["sampling_rate"] == [0.1, 1.0, 40.0, 100.0]
    assert len(ta.unique()["station"]) == 165


# Disk cache


def test_cache_hit_sends_no_request(
    sage_stations: dict[str, Any], station_server: LoopbackHttp, tmp_path: Path
) -> None:
    first = open_stations(sage_stations, cache_dir=tmp_path).df
    second = open_stations(sage_stations, cache_dir=tmp_path).df

    assert len(station_server.seen) == 1
    pd.testing.assert_frame_equal(first, second)


def test_cache_expiry_refetches(
    sage_stations: dict[str, Any], station_server: LoopbackHttp, tmp_path: Path
) -> None:
    open_stations(sage_stations, cache_dir=tmp_path)
    [entry] = (tmp_path / "stations").glob("*.json")
    two_days_ago = time.time() - 2 * 86_400
    os.utime(entry, (two_days_ago, two_days_ago))

    table = open_stations(sage_stations, cache_dir=tmp_path).df

    assert len(station_server.seen) == 2
    assert len(table) == 2325


def test_cache_max_age_parameter(
    sage_stations: dict[str, Any], station_server: LoopbackHttp, tmp_path: Path
) -> None:
    open_stations(sage_stations, cache_dir=tmp_path)
    open_stations(sage_stations, cache_dir=tmp_path, max_age=0)

    assert len(station_server.seen) == 2


def test_corrupt_cache_entry_refetched(
    sage_stations: dict[str, Any], station_server: LoopbackHttp, tmp_path: Path
) -> None:
    open_stations(sage_stations, cache_dir=tmp_path)
    [entry] = (tmp_path / "stations").glob("*.json")
    entry.write_text('{"format": 1, "query": "trunc')

    table = open_stations(sage_stations, cache_dir=tmp_path).df

    assert len(station_server.seen) == 2
    assert len(table) == 2325
    assert entry.read_text().startswith('{"format": 1')


def test_cache_entry_other_columns_refetched(
    sage_stations: dict[str, Any],
    station_server: LoopbackHttp,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    open_stations(sage_stations, cache_dir=tmp_path)
    [entry] = (tmp_path / "stations").glob("*.json")
    stored = json.loads(entry.read_text())
    stored["table"] = pd.DataFrame({"foo": [1]}).to_json(orient="table", index=False)
    entry.write_text(json.dumps(stored))

    with caplog.at_level(logging.INFO, logger="intake_earthscope.stationtable"):
        table = open_stations(sage_stations, cache_dir=tmp_path).df

    assert len(station_server.seen) == 2
    assert len(table) == 2325
    assert any("['foo']" in r.message for r in caplog.records)
    assert "latitude" in json.loads(entry.read_text())["table"]


def test_cache_dir_is_file_fetches(
    sage_stations: dict[str, Any],
    station_server: LoopbackHttp,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache_file = tmp_path / "cache"
    cache_file.write_text("not a directory")

    with caplog.at_level(logging.DEBUG, logger="intake_earthscope.stationtable"):
        first = open_stations(sage_stations, cache_dir=cache_file).df
        second = open_stations(sage_stations, cache_dir=cache_file).df

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(first) == 2325
    assert len(second) == 2325
    assert len(station_server.seen) == 2
    assert len([r for r in warnings if "cannot read" in r.message]) == 1
    assert len([r for r in warnings if "cannot write" in r.message]) == 1


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="file permissions do not apply to root",
)
def test_cache_dir_unsearchable_fetches(
    sage_stations: dict[str, Any], station_server: LoopbackHttp, tmp_path: Path
) -> None:
    stations = tmp_path / "stations"
    stations.mkdir()
    stations.chmod(0o644)
    try:
        table = open_stations(sage_stations, cache_dir=tmp_path).df
    finally:
        stations.chmod(0o755)

    assert len(table) == 2325
    assert len(station_server.seen) == 1


def test_cache_dir_from_environment(
    sage_stations: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path / "env"))

    open_stations(sage_stations, station="121A")

    assert len(list((tmp_path / "env" / "stations").glob("*.json"))) == 1


def test_cache_leaves_no_temporary_file(ta: StationBrowser, tmp_path: Path) -> None:
    names = [path.name for path in (tmp_path / "stations").iterdir()]

    assert len(names) == 1
    assert names[0].endswith(".json")


def test_cache_concurrent_writers(tmp_path: Path) -> None:
    table = parse_gage_station_list(GAGE_LIST)
    cache = TableCache(tmp_path, max_age=0)

    # Every call fetches and writes the same entry at the same time.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: cache.get("q", table.copy), range(32)))

    fresh = TableCache(tmp_path).get("q", lambda: pytest.fail("entry unreadable"))
    pd.testing.assert_frame_equal(fresh, table)
    assert all(len(result) == 2 for result in results)
    assert [path.suffix for path in (tmp_path / "stations").iterdir()] == [".json"]


def test_cache_default_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv(CACHE_DIR_VARIABLE, raising=False)

    cache = TableCache()

    assert (
        cache.directory
        == Path(platformdirs.user_cache_dir("intake-earthscope")) / "stations"
    )


def test_cache_rejects_negative_max_age() -> None:
    with pytest.raises(InvalidRequestError, match="max_age=-1"):
        TableCache(max_age=-1)


# StationXML objects in a bucket (SCEDC)


@pytest.fixture
def wbm_bucket(s3, shared_data: Path) -> None:
    data = (shared_data / "stationxml" / "CI_WBM.xml").read_bytes()
    publish(s3, "scedc", {WBM_KEY: data})


def test_scedc_exact_station(wbm_bucket: None, tmp_path: Path) -> None:
    args = catalog_args("scedc")

    browser = open_stations(
        args["stations"], args["collection"], station="WBM", cache_dir=tmp_path
    )

    assert len(browser) == 40
    assert stations_of(browser) == ["WBM"]


def test_scedc_station_wildcard_lists(wbm_bucket: None, tmp_path: Path) -> None:
    args = catalog_args("scedc")

    browser = open_stations(
        args["stations"],
        args["collection"],
        station="W?M",
        channel="LH?",
        cache_dir=tmp_path,
    )

    assert sorted(browser.df["channel"]) == ["LHE", "LHN", "LHZ"]


def test_scedc_no_matching_station(wbm_bucket: None, tmp_path: Path) -> None:
    args = catalog_args("scedc")

    browser = open_stations(
        args["stations"], args["collection"], station="X*", cache_dir=tmp_path
    )

    assert len(browser) == 0


def test_scedc_invalid_stationxml(s3, tmp_path: Path) -> None:
    publish(s3, "scedc", {WBM_KEY: b"<html>not StationXML</html>"})
    args = catalog_args("scedc")

    with pytest.raises(ArchiveLayoutError, match="CI_WBM.xml"):
        open_stations(
            args["stations"], args["collection"], station="WBM", cache_dir=tmp_path
        )


def test_search_stations_by_name(wbm_bucket: None, tmp_path: Path) -> None:
    table = search_stations("scedc", station="WBM", channel="LHZ", cache_dir=tmp_path)

    assert len(table) == 1
    assert table["latitude"][0] == pytest.approx(35.60839)


def test_search_stations_unknown_entry(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no 'station' entry"):
        search_stations("scedc.station", cache_dir=tmp_path)


def test_search_stations_needs_station_table(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no 'stations' mapping"):
        search_stations("scedc.miniseed", cache_dir=tmp_path)


def test_catalog_stations_entry(wbm_bucket: None, tmp_path: Path) -> None:
    import intake

    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    source = cat.scedc.stations(station="WBM", cache_dir=str(tmp_path))

    assert len(source.read()) == 40
    assert len(source.search(channel="LHZ")) == 1
    assert source.unique("channel")["channel"][:3] == ["ACE", "BHE", "BHN"]


def test_to_dask_opens_matched_channel(wbm_bucket: None, s3, tmp_path: Path) -> None:
    day = mseedgen.segment_bytes(
        "CI.WBM..LHZ", "2022-01-01T00:00:00Z", np.arange(600, dtype=np.int32), 1.0
    )
    other = mseedgen.segment_bytes(
        "CI.WBM..LHN", "2022-01-01T00:00:00Z", np.arange(600, dtype=np.int32), 1.0
    )
    key = "continuous_waveforms/2022/2022_001/CIWBM__{}___2022001.ms"
    publish(s3, "scedc", {key.format("LHZ"): day, key.format("LHN"): other})
    args = catalog_args("scedc")
    browser = open_stations(
        args["stations"], args["collection"], station="WBM", cache_dir=tmp_path
    )

    dataset = browser.search(channel="LHZ").to_dask(
        start="2022-01-01T00:00:00", end="2022-01-01T00:10:00"
    )

    assert list(dataset.trace.values) == ["CI.WBM..LHZ"]
    assert float(dataset.waveform.values[0, 10]) == 10.0


def test_to_dask_needs_window(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match="missing start"):
        ta.to_dask(end="2016-09-04")


def test_to_dask_rejects_empty_match(shared_data: Path) -> None:
    inventory = obspy.read_inventory(shared_data / "stationxml" / "CI_WBM.xml")
    browser = StationBrowser(inventory_table(inventory), collection={})

    with pytest.raises(InvalidRequestError, match="no row"):
        browser.search(channel="EHZ").to_dask(start="2020-01-01", end="2020-01-02")


# GNSS station list (GAGE)


def test_gage_list_rows() -> None:
    table = parse_gage_station_list(GAGE_LIST)

    assert tuple(table.columns) == GNSS_COLUMNS
    assert list(table["station"]) == ["P123", "AB01"]


def test_gage_list_wraps_longitude() -> None:
    table = parse_gage_station_list(GAGE_LIST)

    assert table["longitude"][1] == -150.75
    assert table["height"][0] == 1523.456


def test_gage_list_reads_dates() -> None:
    table = parse_gage_station_list(GAGE_LIST)

    assert table["start"][0] == pd.Timestamp("2004-05-04", tz="UTC")
    assert table["end"][1] == pd.Timestamp("2025-01-01", tz="UTC")


def test_gage_list_without_stations() -> None:
    with pytest.raises(ArchiveLayoutError, match="GAGE station list"):
        parse_gage_station_list("<html>login page</html>\n")


@pytest.fixture
def gage_server() -> Iterator[LoopbackHttp]:
    server = LoopbackHttp("127.0.0.1")
    path = GAGE_PATH + "products/position/gage_gps.igs14.txt"
    server.routes[path] = lambda params: Reply(200, GAGE_LIST.encode())
    server.start()
    clear_web_listing_cache()
    yield server
    server.stop()


def gage_stations(server: LoopbackHttp) -> dict[str, Any]:
    stations = catalog_args("gage")["stations"]
    tier = stations["tiers"]["https"]
    tier["base_url"] = server.url(GAGE_PATH)
    tier["allowed_hosts"] = ["127.0.0.1"]
    return stations


def test_gage_fetch_sends_token(gage_server: LoopbackHttp, tmp_path: Path) -> None:
    token = fake_jwt()

    browser = open_stations(gage_stations(gage_server), token=token, cache_dir=tmp_path)

    assert gage_server.tokens_seen() == [f"Bearer {token}"]
    assert stations_of(browser) == ["AB01", "P123"]


def test_gage_cache_holds_no_token(gage_server: LoopbackHttp, tmp_path: Path) -> None:
    token = fake_jwt()

    open_stations(gage_stations(gage_server), token=token, cache_dir=tmp_path)

    [entry] = (tmp_path / "stations").glob("*.json")
    assert token not in entry.read_text()


def test_gage_search_by_box(gage_server: LoopbackHttp, tmp_path: Path) -> None:
    browser = open_stations(
        gage_stations(gage_server), token=fake_jwt(), cache_dir=tmp_path
    )

    found = browser.search(minlatitude=60, minlongitude=-160, maxlongitude=-140)

    assert stations_of(found) == ["AB01"]


def test_gage_rejects_seismic_codes(tmp_path: Path) -> None:
    with pytest.raises(UnknownArgumentError, match="channel='LHZ' for the GNSS"):
        open_stations(
            catalog_args("gage")["stations"], channel="LHZ", cache_dir=tmp_path
        )


P123_POSITIONS = (
    "PBO Station Position Time Series. Reference Frame : NAM14\n"
    "Format Version: 1.1.0\n4-character ID: P123\n"
    "NEU Reference position :  40.123456  248.345679  1523.456 (NAM14/WGS84)\n*\n"
    " 20200101 120000 58849.5000 0 0 0 0 0 0 0 0 0 40.1 248.3 1523.4 "
    "0.00100 0.00200 0.00300 0.001 0.001 0.004 0.1 0.2 0.3 final\n"
)


def test_gage_to_dask_loads_positions(
    gage_server: LoopbackHttp, tmp_path: Path
) -> None:
    path = GAGE_PATH + "products/position/P123/P123.cwu.final_nam14.pos"
    gage_server.routes[path] = lambda params: Reply(200, P123_POSITIONS.encode())
    args = catalog_args("gage")
    product = args["collection"]
    product["tiers"]["https"]["base_url"] = gage_server.url(GAGE_PATH)
    product["tiers"]["https"]["allowed_hosts"] = ["127.0.0.1"]
    browser = open_stations(
        gage_stations(gage_server), product, token=fake_jwt(), cache_dir=tmp_path
    )

    positions = browser.search(station="P123").to_dask(
        start="2020-01-01", end="2020-01-03"
    )

    assert list(positions.station.values) == ["P123"]
    assert positions.north.values[0, 0] == 0.001
    assert np.isnan(positions.north.values[0, 1])


def test_empty_table_not_cached(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A station added to a mirror after a search that found none shows up
    at the next search, because the empty table was not cached."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    mirror = tmp_path / "scedc"
    (mirror / "FDSNstationXML/CI").mkdir(parents=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntakeEarthScopeWarning)
        before = search_stations("scedc", root=str(mirror), network="CI", station="*")
    data = (shared_data / "stationxml" / "CI_WBM.xml").read_bytes()
    (mirror / WBM_KEY).write_bytes(data)
    # A new process, as the next command-line search is, lists folders anew.
    clear_listing_cache()
    after = search_stations("scedc", root=str(mirror), network="CI", station="*")

    assert len(before) == 0
    assert set(after["station"]) == {"WBM"}
