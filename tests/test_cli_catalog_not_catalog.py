"""Catalog files that are valid YAML but no intake catalog, on the command line.

Each must give one line that names the file, as a file that is not valid
YAML does, rather than intake's traceback, and exit 2 for the --catalog file
and 1 for a nested file. The nested case breaks the sage file that the
shipped top-level catalog names: using its entries fails so, while ``list``
shows it as unavailable and lists the others.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_PROBLEM, EXIT_USAGE, main

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"

NOT_CATALOGS = {
    "text": "just some text\n",
    "list": "- a\n- b\n",
    "sources number": "sources: 5\n",
    "entry number": "sources:\n  a: 5\n",
    "driver number": "sources:\n  a:\n    driver: 5\n",
    "empty": "",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("text", list(NOT_CATALOGS.values()), ids=list(NOT_CATALOGS))
def test_top_file_not_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "top.yaml"
    path.write_text(text)

    code, err = run(capsys, "list", "--catalog", str(path))

    assert code == EXIT_USAGE
    assert len(err.strip().splitlines()) == 1
    assert str(path) in err
    assert "Traceback" not in err


def copy_with_sage(tmp_path: Path, text: str) -> str:
    """Copy the shipped catalogs with ``text`` as ``sage.yaml``; return the top."""
    for path in CATALOGS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "sage.yaml").write_text(text)
    return str(tmp_path / "earthscope.yaml")


@pytest.mark.parametrize("text", list(NOT_CATALOGS.values()), ids=list(NOT_CATALOGS))
def test_nested_file_not_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    top = copy_with_sage(tmp_path, text)

    code, err = run(capsys, "describe", "sage.miniseed", "--catalog", top)

    assert code == EXIT_PROBLEM
    assert len(err.strip().splitlines()) == 1
    assert "sage.yaml" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("text", list(NOT_CATALOGS.values()), ids=list(NOT_CATALOGS))
def test_nested_file_not_catalog_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    top = copy_with_sage(tmp_path, text)

    code = main(["list", "--catalog", top])
    captured = capsys.readouterr()

    assert code == EXIT_PROBLEM
    assert len(captured.err.splitlines()) == 1
    assert " unavailable: " in captured.err
    rows = dict(line.split(maxsplit=1) for line in captured.out.splitlines())
    assert rows["sage"].startswith("unavailable: ")
    assert "sage.yaml" in rows["sage"]
    assert "scedc.miniseed" in rows
