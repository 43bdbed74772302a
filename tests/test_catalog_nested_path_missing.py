"""A nested catalog entry without a usable ``path`` argument is named.

intake 2.0.9 fails on such an entry with a bare TypeError ("argument of
type 'NoneType' is not iterable"), which ``list`` showed as a fault of the
catalog's folder. Opening the entry must name the entry, the listing file
and the fix; ``list`` marks it unavailable and ``describe`` exits 1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import intake
import pytest

from intake_earthscope.cli import EXIT_PROBLEM, main
from intake_earthscope.errors import CatalogFileError

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"

LISTING = """\
sources:
  noargs:
    driver: intake_earthscope.catalog.ArchiveCatalog
  number:
    driver: intake_earthscope.catalog.ArchiveCatalog
    args:
      path: 5
  gage:
    driver: intake_earthscope.catalog.ArchiveCatalog
    args:
      path: "{{ CATALOG_DIR }}/gage.yaml"
"""


@pytest.fixture
def listing(tmp_path: Path) -> Path:
    shutil.copy(CATALOGS / "gage.yaml", tmp_path / "gage.yaml")
    path = tmp_path / "top.yaml"
    path.write_text(LISTING)
    return path


@pytest.mark.parametrize(
    ("entry", "problem"),
    [("noargs", "has no path argument"), ("number", "has the path 5")],
)
def test_open_names_entry_without_path(listing: Path, entry: str, problem: str) -> None:
    catalog = intake.open_catalog(str(listing))

    with pytest.raises(CatalogFileError) as raised:
        catalog[entry]
    message = str(raised.value)

    assert f"entry {entry!r} of {str(listing)!r}" in message
    assert problem in message
    assert "{{ CATALOG_DIR }}/sage.yaml" in message


def test_list_marks_entry_without_path(
    listing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["list", "--catalog", str(listing)])
    rows = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())

    assert code == EXIT_PROBLEM
    assert rows["noargs"].startswith("unavailable: entry 'noargs'")
    assert "TypeError" not in rows["noargs"]
    assert "has the path 5" in rows["number"]
    assert "gage.positions" in rows


def test_describe_entry_without_path_exits_1(
    listing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["describe", "noargs.positions", "--catalog", str(listing)])
    err = capsys.readouterr().err

    assert code == EXIT_PROBLEM
    assert "has no path argument" in err
