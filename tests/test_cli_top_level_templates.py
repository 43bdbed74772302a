"""A --catalog file that contains data entries gets its templates checked.

A nested catalog file such as scedc.yaml may be given to --catalog on its
own. Its entries' key templates must then be checked as they are through
the top-level file: list marks a misspelt field, and describe and
availability exit 1 naming the file, the entry and the fix.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intake_earthscope import cli

from conftest import CATALOGS


@pytest.fixture
def broken_scedc(tmp_path: Path) -> Path:
    copied = tmp_path / "catalogs"
    shutil.copytree(CATALOGS, copied)
    path = copied / "scedc.yaml"
    text = path.read_text()
    assert "{station:_<5}" in text
    path.write_text(text.replace("{station:_<5}", "{statoin:_<5}", 1))
    return path


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = cli.main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_marks_entry(broken_scedc: Path, capsys) -> None:
    code, out, _ = run(capsys, "list", "--catalog", str(broken_scedc))

    line = next(line for line in out.splitlines() if line.startswith("miniseed"))
    assert code == cli.EXIT_PROBLEM
    assert "unavailable" in line
    assert "statoin" in line


def test_describe_names_file_and_entry(broken_scedc: Path, capsys) -> None:
    code, _, err = run(capsys, "describe", "miniseed", "--catalog", str(broken_scedc))

    assert code == 1
    assert f"catalog file {str(broken_scedc)!r}, entry 'miniseed'" in err
    assert "unknown field(s) ['statoin']" in err
    assert "Fix the template in the catalog file" in err
