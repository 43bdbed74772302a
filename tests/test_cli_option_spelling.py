"""Messages of the command line name its options, not Python's parameters.

A GNSS parameter given with -p and auth's --token come back in the
spelling the user typed, as the other request parameters do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_AUTH, EXIT_USAGE, main


def test_gnss_frame_named_as_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["export", "gage.positions", "--station", "DEMO", "--start", "2024-01-01"]
    argv += ["--end", "2024-01-04", "-p", "frame=ITRF2014", "--root", str(tmp_path)]

    code = main([*argv, str(tmp_path / "positions.nc")])
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert "invalid -p frame=ITRF2014 for gage.positions" in err
    assert "frame='ITRF2014'" not in err


def test_auth_token_file_named_as_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["auth", "--token", str(tmp_path / "missing.json")])
    out = capsys.readouterr().out

    assert code == EXIT_AUTH
    assert "give --token (or EARTHSCOPE_TOKEN)" in out
    assert "token=" not in out


def test_export_without_times_names_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The advice for a request without times is in options, for any archive."""
    argv = ["export", "scedc.miniseed", "--network", "CI", "--station", "WBM"]

    code = main([*argv, "--root", str(tmp_path), str(tmp_path / "out.nc")])
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert "missing --start and --end: a request needs --network" in err
    assert "--start 2024-01-01, --end 2024-01-02" in err
    assert "cat.sage" not in err


def test_availability_without_start_names_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["availability", "sage.miniseed", "--network", "CH", "--station", "BALST"]

    code = main([*argv, "--root", str(tmp_path)])
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert "missing --start: give an ISO 8601 time" in err
