"""The search options in degrees echo the value as typed in their errors.

argparse checks that each value is a number, and the search checks its
range; its message shows the text the user typed (134, not 134.0). Every
value is rejected before the station table is read, so the root is an
empty local directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_USAGE, main


def search(tmp_path: Path, *options: str) -> list[str]:
    return ["search", "scedc.stations", *options, "--root", str(tmp_path)]


RADIUS = ["--longitude", "0", "--maxradius", "1"]


@pytest.mark.parametrize(
    ("options", "echoed"),
    [
        (["--latitude", "134", *RADIUS], "invalid --latitude 134: "),
        (["--latitude", "1e2", *RADIUS], "invalid --latitude 1e2: "),
        (["--latitude=-91", *RADIUS], "invalid --latitude -91: "),
        (["--latitude", "-1e3", *RADIUS], "invalid --latitude -1e3: "),
        (["--minlatitude", "-9.1e1"], "invalid --minlatitude -9.1e1: "),
        (["--minlatitude", "95"], "invalid --minlatitude 95: "),
        (
            ["--latitude", "0", "--longitude", "0", "--maxradius", "200"],
            "--maxradius 200:",
        ),
    ],
)
def test_out_of_range_echoed_as_typed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    echoed: str,
) -> None:
    code = main(search(tmp_path, *options))
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert echoed in err
    assert ".0:" not in err


def test_longitude_hint_as_typed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(search(tmp_path, "--minlongitude", "200"))
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert "invalid --minlongitude 200: expected degrees from -180 to 180" in err
    assert "200 degrees east is -160" in err


def test_word_rejected_by_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(search(tmp_path, "--latitude", "abc"))

    assert stopped.value.code == EXIT_USAGE
    assert "argument --latitude: invalid number: 'abc'" in capsys.readouterr().err
