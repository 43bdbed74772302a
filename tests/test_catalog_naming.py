"""Tests that the command line and the docs call ``sage`` a nested catalog.

``sage``, ``scedc`` and the others are nested catalogs of the shipped
catalog. "Collection" keeps its meaning of collection.py: the mapping of
one entry, such as ``sage.miniseed``, which names the storage and key layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.browse import shipped_entry
from intake_earthscope.cli import EXIT_OK, EXIT_USAGE, main
from intake_earthscope.errors import CatalogError

ROOT = Path(__file__).resolve().parent.parent


def test_describe_nested_catalog_named(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["describe", "sage"])
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert "unknown entry 'sage': it is a nested catalog" in err
    assert "collection" not in err


def test_list_help_names_nested_catalogs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["list", "--help"])
    out = capsys.readouterr().out

    assert raised.value.code == EXIT_OK
    assert "CATALOG.ENTRY" in out
    assert "nested catalog" in out
    assert "ARCHIVE" not in out


def test_shipped_entry_names_nested_catalog() -> None:
    with pytest.raises(CatalogError) as raised:
        shipped_entry("nowhere")

    assert "expected a nested catalog of the shipped catalog" in str(raised.value)


def test_nested_files_call_themselves_nested() -> None:
    for name in ("sage", "scedc", "ncedc", "gage", "noaa_cors", "geonet"):
        first = (ROOT / "catalogs" / f"{name}.yaml").read_text().splitlines()[0]
        assert "a nested catalog of the intake-earthscope catalog" in first, name


@pytest.mark.parametrize("doc", ["README.md", "docs/guide.md"])
def test_docs_call_archive_files_nested(doc: str) -> None:
    text = " ".join((ROOT / doc).read_text().split())

    assert "nested catalog" in text
    assert "the same collections for intake's v2" not in text
