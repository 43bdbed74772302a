"""A fault in a collection mapping that entries share through a YAML anchor.

sage.yaml (like scedc.yaml and ncedc.yaml) writes the collection mapping
once, under the miniseed entry, and the stations entry reuses it with an
alias. One misspelt template field there fails both entries, so the
message names every entry that shares the mapping.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import intake
import pytest

from intake_earthscope.catalog import check_entry_templates
from intake_earthscope.cli import EXIT_PROBLEM, main
from intake_earthscope.errors import CatalogError

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"
SHARED_NOTE = (
    "Entries 'miniseed' and 'stations' share this collection mapping through "
    "a YAML anchor and its aliases, so each of them fails until it is fixed"
)


@pytest.fixture
def catalogs(tmp_path: Path) -> Path:
    """Return a copy of the shipped catalogs whose sage.yaml misspells a
    field of the shared key template."""
    for path in CATALOGS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    sage = tmp_path / "sage.yaml"
    text = sage.read_text()
    assert "{doy}/{station}.{network}" in text
    sage.write_text(text.replace("{doy}/{station}.{network}", "{doy}/{statoin}", 1))
    return tmp_path


@pytest.mark.parametrize("entry", ["miniseed", "stations"])
def test_python_entry_names_sharing_entries(catalogs: Path, entry: str) -> None:
    cat = intake.open_catalog(str(catalogs / "earthscope.yaml"))

    with pytest.raises(CatalogError) as raised:
        cat.sage[entry]

    message = str(raised.value)
    assert f"entry {entry!r}: invalid key_template" in message
    assert "unknown field(s) ['statoin']" in message
    assert message.endswith(SHARED_NOTE)


def test_list_rows_name_sharing_entries(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["list", "--catalog", str(catalogs / "earthscope.yaml")])
    out = capsys.readouterr().out

    rows = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert code == EXIT_PROBLEM
    assert rows["sage.miniseed"].endswith(SHARED_NOTE)
    assert rows["sage.stations"].endswith(SHARED_NOTE)
    assert not rows["scedc.stations"].startswith("unavailable")


def test_unshared_mapping_has_no_note(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(
        "sources:\n"
        "  miniseed:\n"
        "    driver: earthscope_miniseed\n"
        "    args:\n"
        "      collection:\n"
        "        key_template: 'miniseed/{statoin}'\n"
        "  stations:\n"
        "    driver: earthscope_stations\n"
        "    args:\n"
        "      collection:\n"
        "        key_template: 'miniseed/{statoin}'\n"
    )
    args = {"collection": {"key_template": "miniseed/{statoin}"}}

    with pytest.raises(CatalogError) as raised:
        check_entry_templates(args, "miniseed", str(path))

    message = str(raised.value)
    assert message.endswith("Fix the template in the catalog file")
    assert "YAML anchor" not in message
