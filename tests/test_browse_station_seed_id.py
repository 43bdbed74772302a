"""A SEED id given as a station code gets the fix that fits the station kind.

Seismic stations take the id as ``seed_id=``. GNSS station lists take no
``seed_id=`` and name a station by its id alone, so their fix is the
``station=`` of the id's station. The seismic case runs on the command line
against a local StationXML mirror, the GNSS case on a browser over a small
table, because the GNSS station list is read from the internet.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from intake_earthscope.browse import StationBrowser
from intake_earthscope.cli import EXIT_USAGE, main
from intake_earthscope.errors import InvalidRequestError


@pytest.fixture
def mirror(shared_data: Path, tmp_path: Path) -> Path:
    """Return a mirror of SCEDC's StationXML objects with the WBM station."""
    xml = tmp_path / "scedc" / "FDSNstationXML" / "CI" / "CI_WBM.xml"
    xml.parent.mkdir(parents=True)
    shutil.copy(shared_data / "stationxml" / "CI_WBM.xml", xml)
    return tmp_path / "scedc"


def gnss_browser() -> StationBrowser:
    table = pd.DataFrame(
        {
            "station": ["P123"],
            "latitude": [40.0],
            "longitude": [-120.0],
            "height": [100.0],
            "start": [pd.Timestamp("2005-01-01", tz="UTC")],
            "end": [pd.NaT],
        }
    )
    return StationBrowser(table, "gnss", "gage stations")


def test_seismic_cli_hint_without_gnss(
    mirror: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["search", "scedc.stations", "--station", "CI.WBM", "--root", str(mirror)]
    )
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert "'CI.WBM' is a SEED id, not a station code" in err
    assert "give it as --seed-id CI.WBM" in err
    assert "GNSS" not in err


def test_seismic_browser_hint_without_gnss() -> None:
    table = pd.DataFrame(
        {"network": ["CI"], "station": ["WBM"], "location": [""], "channel": ["LHZ"]}
    )
    browser = StationBrowser(table, "seismic", "scedc stations")

    with pytest.raises(InvalidRequestError) as raised:
        browser.search(station="CI.WBM..LHZ")

    message = str(raised.value)
    assert "give it as seed_id='CI.WBM..LHZ'" in message
    assert "GNSS" not in message


def test_gnss_hint_names_station_alone() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        gnss_browser().search(station="PB.P123")

    message = str(raised.value)
    assert "'PB.P123' is a SEED id, not a station code" in message
    assert "station='P123'" in message
    assert "seed_id" not in message


def test_gnss_plain_station_still_matches() -> None:
    assert len(gnss_browser().search(station="P123")) == 1
