"""Tests of misspelt fields in the key and path templates of a nested catalog.

Readers fill the templates only when they read. Opening the entry, in Python
or on the command line, checks them first, and the error names the catalog
file, the entry, the unknown field and the fields allowed. The catalogs are
copies of the shipped ones with one template changed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import intake
import pytest

from intake_earthscope.catalog import check_entry_templates
from intake_earthscope.cli import EXIT_OK, EXIT_PROBLEM, main
from intake_earthscope.errors import CatalogError

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"

SAGE_KEY = "{doy}/{station}.{network}"
SCEDC_STATIONXML = "{network}_{station}.xml"
GAGE_RINEX2 = "{station_lower}{doy}0.{yy}d.Z"
GAGE_POS = "{station}.{analysis_center}.{solution}_{frame}.pos"


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


def open_top(catalogs: Path) -> Any:
    return intake.open_catalog(str(catalogs / "earthscope.yaml"))


def test_collection_key_typo_at_open(catalogs: Path) -> None:
    misspell(catalogs / "sage.yaml", SAGE_KEY, "{doy}/{statoin}.{network}")

    with pytest.raises(CatalogError) as raised:
        open_top(catalogs).sage.miniseed  # noqa: B018 (opening is under test)

    message = str(raised.value)
    assert f"catalog file {str(catalogs / 'sage.yaml')!r}" in message
    assert "entry 'miniseed'" in message
    assert "unknown field(s) ['statoin']" in message
    assert "'station'" in message.split("valid fields are")[1]


def test_stationxml_key_typo_at_open(catalogs: Path) -> None:
    misspell(catalogs / "scedc.yaml", SCEDC_STATIONXML, "{network}_{sation}.xml")

    with pytest.raises(CatalogError) as raised:
        open_top(catalogs).scedc.stations  # noqa: B018 (opening is under test)

    message = str(raised.value)
    assert f"catalog file {str(catalogs / 'scedc.yaml')!r}" in message
    assert "entry 'stations'" in message
    assert "unknown field(s) ['sation']" in message


def test_gnss_path_typo_at_open(catalogs: Path) -> None:
    misspell(catalogs / "gage.yaml", GAGE_RINEX2, "{station_lower}{doy}0.{y}d.Z")

    with pytest.raises(CatalogError) as raised:
        open_top(catalogs).gage.rinex_obs  # noqa: B018 (opening is under test)

    message = str(raised.value)
    assert f"catalog file {str(catalogs / 'gage.yaml')!r}" in message
    assert "entry 'rinex_obs'" in message
    assert "in paths.rinex2: unknown field(s) ['y']" in message
    assert "valid fields are ['doy', 'station', 'station_lower', 'year', 'yy']" in (
        message
    )


def test_gnss_choice_field_allowed(catalogs: Path) -> None:
    misspell(catalogs / "gage.yaml", GAGE_POS, "{station}.{analysis_centre}.pos")

    with pytest.raises(CatalogError, match=r"unknown field\(s\) \['analysis_centre'\]"):
        open_top(catalogs).gage.positions  # noqa: B018 (opening is under test)

    # The shipped template uses the product's choices as fields.
    assert open_top(CATALOGS).gage.positions.name == "positions"


def test_other_entries_still_open(catalogs: Path) -> None:
    misspell(catalogs / "sage.yaml", SAGE_KEY, "{doy}/{statoin}.{network}")

    cat = open_top(catalogs)

    assert cat.scedc.miniseed.name == "miniseed"
    assert cat.gage.rinex_obs.name == "rinex_obs"


def test_shipped_entries_pass_check() -> None:
    cat = open_top(CATALOGS)

    for archive in cat:
        for entry in cat[archive]:
            cat[archive].check_entry(entry)


def test_template_syntax_error_named() -> None:
    args = {"product": {"paths": {"rinex2": "rinex/{year/{doy}"}}}

    with pytest.raises(CatalogError) as raised:
        check_entry_templates(args, "rinex_obs", "gage.yaml")

    message = str(raised.value)
    assert message.startswith("catalog file 'gage.yaml', entry 'rinex_obs': ")
    assert "invalid path template 'rinex/{year/{doy}' in paths.rinex2" in message


def test_cli_typo_one_line(catalogs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    misspell(catalogs / "sage.yaml", SAGE_KEY, "{doy}/{statoin}.{network}")
    top = str(catalogs / "earthscope.yaml")

    code = main(["describe", "sage.miniseed", "--catalog", top])
    err = capsys.readouterr().err

    assert code == EXIT_PROBLEM
    assert len(err.splitlines()) == 1
    assert f"catalog file {str(catalogs / 'sage.yaml')!r}, entry 'miniseed'" in err
    assert "unknown field(s) ['statoin']" in err


def test_cli_other_entry_works(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    misspell(catalogs / "sage.yaml", SAGE_KEY, "{doy}/{statoin}.{network}")
    top = str(catalogs / "earthscope.yaml")

    code = main(["describe", "scedc.miniseed", "--catalog", top])
    captured = capsys.readouterr()

    assert code == EXIT_OK
    assert captured.err == ""
    assert captured.out.startswith("scedc.miniseed: ")
