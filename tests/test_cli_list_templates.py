"""``list`` marks an entry whose key or path template names an unknown field.

Opening such an entry fails with the catalog file, the entry and the field.
``list`` shows it as unavailable with that reason on one line, as it shows a
nested catalog that cannot be read, and lists the other entries as before.
The catalogs are copies of the shipped ones with one template changed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_OK, EXIT_PROBLEM, main

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"


@pytest.fixture
def catalogs(tmp_path: Path) -> Path:
    """Return a directory with a copy of every shipped catalog file."""
    for path in CATALOGS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def misspell(path: Path, text: str, replacement: str) -> None:
    content = path.read_text()
    assert text in content
    path.write_text(content.replace(text, replacement, 1))


def list_rows(catalogs: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    code = main(["list", "--catalog", str(catalogs / "earthscope.yaml")])
    captured = capsys.readouterr()

    # Each test damages one template, which makes some entries unavailable.
    assert code == EXIT_PROBLEM
    assert len(captured.err.splitlines()) == 1
    return dict(line.split(maxsplit=1) for line in captured.out.splitlines())


def test_key_typo_marked_unavailable(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    misspell(catalogs / "sage.yaml", "{doy}/{station}.{network}", "{doy}/{statoin}")

    rows = list_rows(catalogs, capsys)

    row = rows["sage.miniseed"]
    assert row.startswith("unavailable: ")
    assert f"catalog file {str(catalogs / 'sage.yaml')!r}, entry 'miniseed'" in row
    assert "['statoin']" in row


def test_path_typo_marked_unavailable(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    misspell(catalogs / "gage.yaml", "{station_lower}{doy}0.{yy}d.Z", "{sta}.Z")

    rows = list_rows(catalogs, capsys)

    row = rows["gage.rinex_obs"]
    assert row.startswith("unavailable: ")
    assert "entry 'rinex_obs'" in row
    assert "unknown field(s) ['sta']" in row


def test_other_entries_listed_normally(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    misspell(catalogs / "sage.yaml", "{doy}/{station}.{network}", "{doy}/{statoin}")

    rows = list_rows(catalogs, capsys)

    assert rows["gage.positions"].startswith("GAGE ")
    assert rows["scedc.miniseed"].startswith("SCEDC ")
    assert not rows["gage.rinex_obs"].startswith("unavailable")


def test_shipped_catalog_has_none_unavailable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["list"])
    out = capsys.readouterr().out

    assert code == EXIT_OK
    assert "unavailable" not in out
