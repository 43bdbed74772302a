"""The blank location code in the abbreviated spellings argparse accepts.

argparse takes ``--locat`` for ``--location``, and drops a value of "--"
after "=" to an empty list. The mirror contains real miniSEED written by
tests/mseedgen.py: XX.STA at the blank location, LHZ at 1 Hz for an hour.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_OK, _command_line_spelling, main

from conftest import hour_mirror


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return hour_mirror(tmp_path / "mirror")


@pytest.mark.parametrize("option", ["--loc=--", "--loca=--", "--locat=--"])
def test_abbreviated_blank_location(
    root: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "availability", "sage.miniseed", "--net", "XX", "--sta", "STA", option,
            "--cha", "LHZ", "--start", "2024-01-01", "--end", "2024-01-02",
            "--root", str(root),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()

    assert code == EXIT_OK, captured.err
    assert "STA.XX.2024.001" in captured.out
    assert "[]" not in captured.err


@pytest.mark.parametrize("option", ["--location", "--loc", "--locat"])
def test_blank_location_as_separate_value(
    root: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lone "--" after a location option is the blank code, not the options' end."""
    code = main(
        [
            "availability", "sage.miniseed", "--net", "XX", "--sta", "STA", option,
            "--", "--cha", "LHZ", "--start", "2024-01-01", "--end", "2024-01-02",
            "--root", str(root),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()

    assert code == EXIT_OK, captured.err
    assert "STA.XX.2024.001" in captured.out


@pytest.mark.parametrize("python", ["location=''", "location='  '"])
def test_blank_location_respelled(python: str) -> None:
    assert _command_line_spelling(f"no data at {python}") == (
        "no data at --location=--"
    )
