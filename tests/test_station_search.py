"""Station search: SEED ids, hints for empty searches, GNSS codes, time text.

Tables come from real StationXML in the shared data folder (TA, 165
stations from IRIS fdsnws-station in 2016; CI.WBM from SCEDC) and from a
small GAGE station list. The command line reads them from mirror
directories with ``--root``, so no test opens a socket.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import intake
import obspy
import pytest

from intake_earthscope.browse import StationBrowser, search_stations
from intake_earthscope.cli import EXIT_OK, EXIT_USAGE, main
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import (
    IntakeEarthScopeWarning,
    InvalidRequestError,
    UnknownArgumentError,
)
from intake_earthscope.stationfetch import normalised_selection, parse_seed_ids
from intake_earthscope.stationtable import inventory_table, parse_gage_station_list

from conftest import CATALOGS, collection_spec

GAGE_LIST = """\
P123   40.123456  -111.654321  1523.456  2004-05-04  2024-01-01
AB01   64.500000   209.250000   100.000  20050101    20250101
"""
GAGE_LIST_KEY = "products/position/gage_gps.igs14.txt"
WBM_KEY = "FDSNstationXML/CI/CI_WBM.xml"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def ta() -> StationBrowser:
    path = Path(__file__).resolve().parents[2] / "shared/data/stationxml"
    if not path.is_dir():
        pytest.skip(f"real StationXML not found at {path}")
    inventory = obspy.read_inventory(str(path / "TA.station.channel.xml"))
    return StationBrowser(inventory_table(inventory), name="sage.stations")


@pytest.fixture
def gage() -> StationBrowser:
    return StationBrowser(parse_gage_station_list(GAGE_LIST), "gnss", "gage.stations")


@pytest.fixture
def gage_root(tmp_path: Path) -> Path:
    root = tmp_path / "gage"
    (root / GAGE_LIST_KEY).parent.mkdir(parents=True)
    (root / GAGE_LIST_KEY).write_text(GAGE_LIST)
    return root


@pytest.fixture
def scedc_root(tmp_path: Path, shared_data: Path) -> Path:
    root = tmp_path / "scedc"
    (root / WBM_KEY).parent.mkdir(parents=True)
    shutil.copy(shared_data / "stationxml" / "CI_WBM.xml", root / WBM_KEY)
    return root


@pytest.fixture(scope="module")
def cat() -> Any:
    with warnings.catch_warnings():
        # intake 2.0 warns about shell commands for every string default.
        warnings.simplefilter("ignore", UserWarning)
        return intake.open_catalog(str(CATALOGS / "earthscope.yaml"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def hint_of(browser: StationBrowser, **criteria: Any) -> str:
    """Search, check that nothing matched, and return the one warning's text."""
    with pytest.warns(IntakeEarthScopeWarning) as caught:
        found = browser.search(**criteria)
    assert len(found) == 0
    assert len(caught) == 1
    return str(caught[0].message)


# GNSS stations take station codes only


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"network": "PB"}, "network='PB'"),
        ({"location": "00"}, "location='00'"),
        ({"channel": "LHZ"}, "channel='LHZ'"),
        ({"seed_id": "PB.P123"}, "seed_id='PB.P123'"),
    ],
)
def test_gage_entry_rejects_seismic_codes(
    cat: Any, arguments: dict[str, str], expected: str
) -> None:
    with pytest.raises(UnknownArgumentError) as caught:
        cat.gage.stations(**arguments)

    message = str(caught.value)
    assert message.startswith(f"unknown parameter {expected} for the GNSS stations")
    assert "station=" in message


def test_gage_entry_names_id_station(cat: Any) -> None:
    with pytest.raises(UnknownArgumentError, match="so give station='P123'$"):
        cat.gage.stations(seed_id="PB.P123")


def test_gage_entry_takes_station(cat: Any) -> None:
    source = cat.gage.stations(station="P123")

    assert source.kind == "gnss"


def test_gnss_dotted_station_names_station(gage: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        gage.search(station="PB.P123")

    # GNSS station lists take no seed_id=, so the fix names the station alone.
    assert "seed_id" not in str(caught.value)
    assert "give the station id alone, such as station='P123'" in str(caught.value)


def test_gnss_search_rejects_network(gage: StationBrowser) -> None:
    with pytest.raises(UnknownArgumentError, match="network='PB' for the GNSS"):
        gage.search(network="PB")


def test_gnss_cli_rejects_network(
    gage_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "search", "gage.stations", "--root", str(gage_root),
        "--network", "PB",
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "unknown parameter --network PB for the GNSS stations" in err


# Hints for a search that matches nothing


def test_empty_search_names_close_code(ta: StationBrowser) -> None:
    hint = hint_of(ta, station="109")

    assert hint.startswith("no row of sage.stations matches station='109': ")
    assert "no station code of the rows matches 109" in hint
    assert "109C" in hint
    assert hint.endswith("(codes match case-insensitively)")


def test_empty_search_other_kind(ta: StationBrowser) -> None:
    hint = hint_of(ta, station="TA")

    assert "TA is a network code here, so give network=" in hint


def test_empty_search_lists_location_codes(ta: StationBrowser) -> None:
    hint = hint_of(ta, network="TA", station="109C", location="00")

    assert "no location code of the rows with network TA, station 109C" in hint
    assert "their location codes are '' (codes match" in hint


def test_empty_search_names_blank_location(ta: StationBrowser) -> None:
    hint = hint_of(ta, network="TA", station="109C", location="--", channel="XYZ")

    assert "rows with network TA, station 109C, location '' matches XYZ" in hint
    assert "location --" not in hint


def test_empty_search_window_before_start(ta: StationBrowser) -> None:
    hint = hint_of(ta, station="109C", start="1990-01-01", end="1991-01-01")

    assert "the window ends at 1991-01-01T00:00:00Z, before the first" in hint
    assert "rows that meet the other criteria" in hint
    assert "give an end after 2012-12-13T21:30:00Z" in hint


def test_empty_search_window_after_end(gage: StationBrowser) -> None:
    hint = hint_of(gage, start="2030-01-01")

    assert "the window starts at 2030-01-01T00:00:00Z" in hint
    assert "give a start before 2025-01-01T00:00:00Z" in hint


def test_empty_search_suggests_west(ta: StationBrowser) -> None:
    hint = hint_of(ta, minlongitude=100, maxlongitude=120)

    assert "did you mean minlongitude=-120, maxlongitude=-100?" in hint


def test_empty_search_suggests_west_centre(ta: StationBrowser) -> None:
    hint = hint_of(ta, latitude=35, longitude=110, maxradius=3)

    assert "did you mean longitude=-110?" in hint


@pytest.mark.parametrize(
    ("criteria", "named"),
    [
        ({"latitude": 35}, "got only latitude="),
        ({"latitude": 35, "longitude": -110}, "got only latitude= and longitude="),
        ({"maxradius": 3}, "got only maxradius="),
    ],
)
def test_incomplete_radius_names_given(
    ta: StationBrowser, criteria: dict[str, float], named: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ta.search(**criteria)

    assert "give latitude=, longitude= and maxradius=" in str(caught.value)
    assert named in str(caught.value)
    assert "[" not in str(caught.value)


def test_empty_search_longitudes_east(gage: StationBrowser) -> None:
    # The list's 209.25 degrees east is stored as -150.75.
    hint = hint_of(gage, minlongitude=120, maxlongitude=130)

    assert "longitudes -150.75 to -111.654" in hint
    assert "180 to 360 east are written -180 to 0 here" in hint


def test_empty_table_hint(ta: StationBrowser) -> None:
    empty = StationBrowser(ta.df.iloc[:0], name="sage.stations")

    hint = hint_of(empty, station="XXXX")

    assert "the station table fetched for these codes has no rows" in hint


def test_empty_search_warns_at_caller(ta: StationBrowser) -> None:
    with pytest.warns(IntakeEarthScopeWarning) as caught:
        ta.search(station="NONE")

    assert caught[0].filename == __file__


def test_search_stations_warns_once(ta: StationBrowser) -> None:
    with pytest.warns(IntakeEarthScopeWarning) as caught:
        table = search_stations(ta, network="XX")

    assert table.empty
    assert len(caught) == 1
    assert caught[0].filename == __file__


def test_matching_search_does_not_warn(ta: StationBrowser) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = ta.search(station="109c")

    assert len(found) == 16


def test_cli_empty_search_exits_zero(
    gage_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "search", "gage.stations", "--root", str(gage_root),
        "--end", "2001-01-01",
    )  # fmt: skip

    assert code == EXIT_OK
    assert "(no rows)" in out
    assert err.startswith("intake-earthscope: warning: no row of gage.stations")
    assert "matches --end 2001-01-01" in err
    assert "give an end after 2004-05-04T00:00:00Z" in err


# SEED ids


def test_parse_seed_ids_forms() -> None:
    ids = parse_seed_ids("IU.ANMO.00.BHZ, iu.cola,IU.ANMO..BH?")

    assert ids == (
        ("IU", "ANMO", "00", "BHZ"),
        ("IU", "COLA", "*", "*"),
        ("IU", "ANMO", "", "BH?"),
    )


def test_parse_seed_ids_list() -> None:
    assert parse_seed_ids(["IU.ANMO.--.BHZ"]) == (("IU", "ANMO", "", "BHZ"),)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("IU.ANMO.00", "invalid seed_id='IU.ANMO.00': expected NET.STA.LOC.CHA"),
        ("IU", "invalid seed_id='IU': expected NET.STA.LOC.CHA or NET.STA"),
        ("IU.ANMO.0.BHZ", "its location code '0' is invalid"),
        ("IU..00.BHZ", "its station code '' is invalid"),
        (5, "invalid seed_id=5: expected NET.STA.LOC.CHA"),
    ],
)
def test_parse_seed_ids_rejects(value: object, expected: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_seed_ids(value)

    assert expected in str(caught.value)
    assert "'IU.ANMO.00.BHZ'" in str(caught.value)


def test_selection_from_seed_ids() -> None:
    selection = normalised_selection(seed_id="IU.ANMO.00.BHZ,IU.COLA")

    assert selection["station"] == ("ANMO", "COLA")
    assert selection["location"] == ("*",)


def test_search_by_seed_id(ta: StationBrowser) -> None:
    found = ta.search(seed_id="TA.109C..BHZ")

    assert set(found.df["channel"]) == {"BHZ"}
    assert set(found.df["station"]) == {"109C"}


def test_search_by_seed_id_list(ta: StationBrowser) -> None:
    found = ta.search(seed_id=["TA.109C..BHZ", "TA.121A..LHN"])

    ids = set(found.df["station"] + "." + found.df["channel"])
    assert ids == {"109C.BHZ", "121A.LHN"}


def test_search_by_station_id(ta: StationBrowser) -> None:
    found = ta.search(seed_id="TA.109C")

    assert len(found) == len(ta.search(station="109C"))


def test_search_rejects_id_in_station(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match="give it as seed_id='TA.109C'"):
        ta.search(station="TA.109C")


def test_search_renames_obspy_id(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError, match=r"use seed_id= in place of id="):
        ta.search(id="TA.109C..BHZ")


def test_cli_search_by_seed_id(
    scedc_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "search", "scedc.stations", "--root", str(scedc_root),
        "--seed-id", "CI.WBM..LHZ,CI.WBM..LHN", "--format", "csv",
    )  # fmt: skip

    assert code == EXIT_OK
    rows = out.strip().splitlines()[1:]
    assert sorted(row.split(",")[3] for row in rows) == ["LHN", "LHZ"]


def test_cli_rejects_malformed_seed_id(
    scedc_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "search", "scedc.stations", "--root", str(scedc_root),
        "--seed-id", "CI.WBM.00",
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "invalid --seed-id CI.WBM.00: expected NET.STA.LOC.CHA" in err


# One message for unreadable time text

TIME_MESSAGE = (
    "invalid start='2024-13-01': expected an ISO 8601 time such as '2024-01-01', "
    "'2024-001' (day of year) or '2024-01-01T12:30:00Z'"
)


def test_bad_time_message_of_search(ta: StationBrowser) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ta.search(start="2024-13-01")

    assert str(caught.value) == TIME_MESSAGE


def test_bad_time_message_of_waveforms(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(
            collection_spec("sage"),
            network="IU",
            station="ANMO",
            location="00",
            channel="BHZ",
            start="2024-13-01",
            end="2024-02-01",
            root=str(tmp_path),
        )

    assert str(caught.value) == TIME_MESSAGE


@pytest.mark.parametrize("text", ["2024-13-01", "yesterday", "2024-01-01T25:00"])
def test_bad_time_text_one_wording(ta: StationBrowser, text: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ta.search(start=text)

    expected = TIME_MESSAGE.replace("'2024-13-01'", repr(text))
    assert str(caught.value) == expected


def test_bad_time_message_of_cli(
    gage_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "search", "gage.stations", "--root", str(gage_root),
        "--start", "2024-13-01",
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "invalid --start 2024-13-01: expected an ISO 8601 time such as" in err


def test_empty_browser_to_dask_names_search(gage: StationBrowser) -> None:
    with pytest.warns(IntakeEarthScopeWarning):
        empty = gage.search(station="ZZZZ")

    with pytest.raises(InvalidRequestError) as caught:
        empty.to_dask(start="2024-01-01", end="2024-01-02")

    assert "has no rows, so there is nothing to open" in str(caught.value)
    assert "start=" not in str(caught.value)


def test_empty_browser_availability_names_search(ta: StationBrowser) -> None:
    ta = StationBrowser(ta.df, name="sage.stations", collection={"name": "sage"})
    with pytest.warns(IntakeEarthScopeWarning):
        empty = ta.search(station="XYZ")

    with pytest.raises(InvalidRequestError) as caught:
        empty.availability(start="2024-01-01", end="2024-01-02")

    assert "has no rows, so there is nothing to list" in str(caught.value)
    assert "network=[]" not in str(caught.value)
