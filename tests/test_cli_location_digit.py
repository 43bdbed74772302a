"""Tests of the command line's advice for a one-digit location code.

A location such as 0 is usually 00 that lost its leading zero. The library's
message advises Python callers to pass '00' as text, but every value typed on the
command line is text already, so there the advice names the option alone. Its
cause is not Python's number or pandas' dtype either, but a spreadsheet or a
script that kept the code as a number.
The code is rejected before any read, so no archive or server is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_USAGE, _command_line_spelling, main

REQUEST = ["--network", "IU", "--station", "ANMO", "--channel", "BHZ"]
WINDOW = ["--start", "2024-01-01", "--end", "2024-01-02"]


def run(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command line, check that it rejected the request and return stderr."""
    code = main(arguments)
    captured = capsys.readouterr()

    assert code == EXIT_USAGE, captured.err
    return captured.err


def test_availability_location_digit(capsys: pytest.CaptureFixture[str]) -> None:
    err = run(
        ["availability", "sage.miniseed", *REQUEST, "--location", "5", *WINDOW],
        capsys,
    )

    assert "invalid --location 5: " in err
    assert "Pass --location 05" in err
    assert "as text" not in err
    assert "a spreadsheet or a script that keeps codes as numbers drops" in err
    assert "dtype" not in err


def test_export_param_location_digit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = str(tmp_path / "out.nc")
    err = run(
        ["export", "sage.miniseed", output, *REQUEST, "-p", "location=0", *WINDOW],
        capsys,
    )

    assert "Pass --location 00" in err
    assert "as text" not in err
    assert not (tmp_path / "out.nc").exists()


def test_search_location_digit(capsys: pytest.CaptureFixture[str]) -> None:
    err = run(["search", "sage.stations", "--location", "0"], capsys)

    assert "Pass --location 00" in err
    assert "as text" not in err


def test_spelling_drops_as_text() -> None:
    spelled = _command_line_spelling("usually '01'. Pass location='01' as text")

    assert spelled == "usually '01'. Pass --location 01"


def test_spelling_keeps_other_text() -> None:
    message = "libmseed writes a record without samples as text"

    assert _command_line_spelling(message) == message


def test_seed_id_location_digit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A mirror, so that no station service would be asked if the id passed.
    arguments = ["search", "scedc.stations", "--root", str(tmp_path)]
    err = run([*arguments, "--seed-id", "IU.ANMO.0.BHZ"], capsys)

    assert "invalid --seed-id IU.ANMO.0.BHZ: its location code '0'" in err
    assert "keeps codes as numbers drops the leading zero" in err
    assert "dtype" not in err
    assert "a number, or" not in err


def test_spelling_rewords_number_cause() -> None:
    message = (
        "invalid network=12: SEED codes are text, and a number, or a table "
        "read without dtype=str, drops leading zeros. Pass network='012' as text"
    )

    spelled = _command_line_spelling(message)

    assert (
        "a spreadsheet or a script that keeps codes as numbers drops leading" in spelled
    )
    assert "dtype" not in spelled
