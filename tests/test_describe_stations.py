"""``intake-earthscope describe`` of stations entries names where the
station table comes from, and their location help matches the miniseed
entries'."""

from __future__ import annotations

import pytest

from intake_earthscope.browse import station_source_lines
from intake_earthscope.cli import EXIT_OK, main

BLANK_LOCATIONS = "the blank code may be given as '', '--' or two spaces"


def describe(capsys: pytest.CaptureFixture[str], entry: str) -> str:
    assert main(["describe", entry]) == EXIT_OK
    return capsys.readouterr().out


def test_scedc_stations_names_stationxml(capsys) -> None:
    out = describe(capsys, "scedc.stations")

    assert (
        "station table: StationXML objects "
        "FDSNstationXML/{network}/{network}_{station}.xml in tier 'open'" in out
    )
    assert "data that to_dask() reads for the matched stations:" in out
    assert out.index("station table:") < out.index("key template:")


def test_sage_stations_names_service(capsys) -> None:
    out = describe(capsys, "sage.stations")

    assert (
        "station table: FDSN station service "
        "https://service.earthscope.org/fdsnws/station/1/ (format text)" in out
    )


def test_gage_stations_names_list(capsys) -> None:
    out = describe(capsys, "gage.stations")

    assert "station table: station list products/position/gage_gps.igs14.txt" in out
    assert "https://gage-data.earthscope.org/archive/gnss/ (tier 'https')" in out


def test_miniseed_entry_has_no_station_line(capsys) -> None:
    out = describe(capsys, "sage.miniseed")

    assert "station table:" not in out


@pytest.mark.parametrize("archive", ["sage", "scedc", "ncedc"])
def test_location_help_matches_miniseed(capsys, archive) -> None:
    stations = describe(capsys, f"{archive}.stations")
    miniseed = describe(capsys, f"{archive}.miniseed")

    assert BLANK_LOCATIONS in stations
    assert BLANK_LOCATIONS in miniseed


def test_lines_empty_without_stations() -> None:
    assert station_source_lines({"collection": {"key_template": "x"}}) == []
