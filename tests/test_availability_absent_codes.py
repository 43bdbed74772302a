"""Availability of exact codes that no object has.

Exact codes get rows whether or not an object exists, so a misspelt station
lists every day as missing. Availability then warns, as a station search
does, naming the trace and the fix; the command line prints the warning on
stderr. The mirror is a local directory of synthetic miniSEED at the keys of
the shipped SAGE catalog (station-day objects).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from intake_earthscope.availability import availability
from intake_earthscope.cli import EXIT_OK, main
from intake_earthscope.errors import IntakeEarthScopeWarning

import mseedgen
from conftest import collection_spec, mirror

KEY = "miniseed/XX/2024/{doy}/{station}.XX.2024.{doy}"
WINDOW = {"network": "XX", "start": "2024-01-01", "end": "2024-01-03"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Return a mirror with station STA on 2024-01-01 only."""
    samples = np.arange(120, dtype=np.int32)
    data = mseedgen.segment_bytes("XX.STA..LHZ", "2024-01-01T00:00:00Z", samples, 1.0)
    return mirror(tmp_path, {KEY.format(doy="001", station="STA"): data})


def test_absent_station_warns(root: Path) -> None:
    with pytest.warns(IntakeEarthScopeWarning) as caught:
        table = availability(
            collection_spec("sage"), station="STA,STB", root=str(root), **WINDOW
        )

    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith("no object of XX.STB exists on any day of the window")
    assert "XX.STA" not in message
    assert f"in mirror {root} " in message
    assert f"(such as {KEY.format(doy='001', station='STB')})" in message
    assert "station='ST*'" in message
    assert not table[table["station"] == "STB"]["exists"].any()


def test_station_with_object_silent(root: Path) -> None:
    # STA lacks 2024-01-02, but has an object on another day of the window.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = availability(
            collection_spec("sage"), station="STA", root=str(root), **WINDOW
        )

    assert list(table["exists"]) == [True, False]


def test_many_absent_stations_counted(root: Path) -> None:
    stations = [f"ST{letter}" for letter in "BCDEFGH"]

    with pytest.warns(IntakeEarthScopeWarning) as caught:
        availability(
            collection_spec("sage"),
            station=",".join(stations),
            root=str(root),
            **WINDOW,
        )

    message = str(caught[0].message)
    assert "XX.STB, XX.STC, XX.STD, XX.STE, XX.STF and 2 more exists" in message
    assert "all their days are listed as missing" in message


def test_cli_absent_station_stderr(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "availability",
            "sage.miniseed",
            "--network",
            "XX",
            "--station",
            "STB",
            "--start",
            "2024-01-01",
            "--end",
            "2024-01-03",
            "--root",
            str(root),
        ]
    )
    captured = capsys.readouterr()

    assert code == EXIT_OK
    assert "STB.XX.2024.001" in captured.out
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("intake-earthscope: warning: no object of XX.STB ")
    assert "--station 'ST*'" in lines[0]
