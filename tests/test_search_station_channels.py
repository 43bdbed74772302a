"""A search whose location or channel codes match nothing on a station that
exists names the channels the station has.

The station tables come from real StationXML (CI.WBM from SCEDC, IU.ULN
from IRIS), read from a mirror directory with ``--root`` or parsed with
obspy, so no test opens a socket.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import obspy
import pytest

from intake_earthscope.browse import search_stations, shipped_entry
from intake_earthscope.cli import EXIT_OK, main
from intake_earthscope.errors import IntakeEarthScopeWarning
from intake_earthscope.stationmatch import LISTED_CHANNELS, station_channels_hint
from intake_earthscope.stationtable import inventory_table

WBM_KEY = "FDSNstationXML/CI/CI_WBM.xml"
ULN_KEY = "FDSNstationXML/IU/IU_ULN.xml"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def root(tmp_path: Path, shared_data: Path) -> Path:
    """Return a mirror of the SCEDC bucket with the StationXML of CI.WBM and
    IU.ULN."""
    root = tmp_path / "scedc"
    for key, name in ((WBM_KEY, "CI_WBM.xml"), (ULN_KEY, "IU_ULN_00_LH1.xml")):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_data / "stationxml" / name, root / key)
    return root


def search_warning(capsys: pytest.CaptureFixture[str], *options: str) -> str:
    """Run a search of the mirror that finds no row, and return its warning."""
    code = main(["search", "scedc.stations", *options])
    captured = capsys.readouterr()

    assert code == EXIT_OK
    assert captured.out.strip() == "(no rows)"
    assert len(captured.err.splitlines()) == 1
    return captured.err


def test_location_miss_lists_channels(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = search_warning(capsys, "--root", str(root), "--station", "WBM", "--loc", "00")

    assert "matches --station WBM, --location 00: station CI.WBM exists" in err
    assert "none of its 39 channels" in err
    assert "CI.WBM..BHZ" in err
    assert f"and {39 - LISTED_CHANNELS} more" in err


def test_channel_miss_lists_closest_first(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = search_warning(
        capsys, "--root", str(root), "--station", "WBM", "--cha", "LHX"
    )

    listed = err.split("closest first: ")[1]
    assert listed.startswith("CI.WBM..LHE, CI.WBM..LHN, CI.WBM..LHZ, ")


def test_seed_id_miss_lists_channels(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = search_warning(capsys, "--root", str(root), "--seed-id", "CI.WBM.00.BHZ")

    assert "matches --seed-id CI.WBM.00.BHZ: station CI.WBM exists" in err
    assert "closest first: CI.WBM..BHZ, " in err


def test_two_stations_listed_together(shared_data: Path) -> None:
    inventory = obspy.read_inventory(str(shared_data / "stationxml" / "CI_WBM.xml"))
    inventory += obspy.read_inventory(
        str(shared_data / "stationxml" / "IU_ULN_00_LH1.xml")
    )
    codes = {"station": "WBM,ULN", "channel": "XYZ"}

    hint = station_channels_hint("scedc.stations", codes, inventory_table(inventory))

    assert "stations CI.WBM, IU.ULN exist, but none of their 40 channels" in hint
    assert "Their channels, closest first:" in hint


def test_unknown_station_keeps_general_hint(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = search_warning(
        capsys, "--root", str(root), "--station", "NONE", "--cha", "BHZ"
    )

    assert "the station table fetched for these codes has no rows" in err
    assert "exists" not in err


def test_wildcard_station_keeps_general_hint(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A station wildcard could stand for a whole archive, which is not
    # fetched again only to name its channels.
    err = search_warning(capsys, "--root", str(root), "--station", "W*", "--cha", "XYZ")

    assert "the station table fetched for these codes has no rows" in err


def test_python_search_names_channels(root: Path) -> None:
    with pytest.warns(IntakeEarthScopeWarning) as caught:
        table = search_stations(
            shipped_entry("scedc"), root=str(root), station="WBM", channel="LHX"
        )

    assert table.empty
    assert len(caught) == 1
    assert caught[0].filename == __file__
    message = str(caught[0].message)
    assert "matches station='WBM', channel='LHX': station CI.WBM exists" in message
