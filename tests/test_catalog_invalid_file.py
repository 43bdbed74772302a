"""Tests of a copy of the catalog folder whose ``sage.yaml`` cannot be read.

A nested catalog file that is not valid YAML, or is valid YAML but no intake
catalog, is treated as a missing one. The other entries keep working in
Python and on the command line. ``list`` shows the broken one as unavailable
with a one-line reason, and using it fails with that reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import intake
import pytest

from intake_earthscope.cli import EXIT_OK, EXIT_PROBLEM, main
from intake_earthscope.errors import CatalogError, CatalogFileError

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"

# Each text replaces the sage file, with what the reason must contain.
BROKEN = {
    "flow": ("sources:\n  miniseed: [x\n  other: 1\n", "at line 3, column 8:"),
    "tab": ("sources:\n\tminiseed: {}\n", "at line 2, column 1:"),
    "list": ("- a\n- b\n", "not an intake catalog"),
    "empty": ("", "not an intake catalog"),
    "entry number": ("sources:\n  miniseed: 5\n", "part 'sources.miniseed' is 5"),
    "latin-1": ("sources: {}\n# Universit\xe9\n", "invalid YAML: 'utf-8' codec"),
}


@pytest.fixture(params=list(BROKEN), ids=list(BROKEN))
def broken(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """Return a catalog folder with a broken ``sage.yaml``, and the reason's part."""
    for path in CATALOGS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    text, reason = BROKEN[request.param]
    (tmp_path / "sage.yaml").write_text(text, encoding="latin-1")
    return tmp_path, reason


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_python_other_entries_open(broken: tuple[Path, str]) -> None:
    folder, _ = broken
    cat = intake.open_catalog(str(folder / "earthscope.yaml"))

    assert cat.scedc.miniseed.describe()["container"] == "xarray"
    assert "positions" in list(cat.gage)


def test_python_broken_entry_one_line(broken: tuple[Path, str]) -> None:
    folder, reason = broken
    cat = intake.open_catalog(str(folder / "earthscope.yaml"))

    with pytest.raises(CatalogFileError) as raised:
        cat.sage  # noqa: B018 (opening the entry is the action under test)

    message = str(raised.value)
    assert isinstance(raised.value, CatalogError)
    assert len(message.splitlines()) == 1
    assert f"cannot read catalog {str(folder / 'sage.yaml')!r}: " in message
    assert reason in message


def test_list_shows_broken_unavailable(
    broken: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, reason = broken
    top = str(folder / "earthscope.yaml")

    code, out, err = run(capsys, "list", "--catalog", top)

    assert code == EXIT_PROBLEM
    assert len(err.splitlines()) == 1
    assert " unavailable: " in err
    rows = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert rows["sage"].startswith("unavailable: cannot read catalog ")
    assert str(folder / "sage.yaml") in rows["sage"]
    assert reason in rows["sage"]
    assert "scedc.miniseed" in rows
    assert not any(name.startswith("sage.") for name in rows)


def test_describe_other_entry_works(
    broken: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = broken
    top = str(folder / "earthscope.yaml")

    code, out, err = run(capsys, "describe", "scedc.miniseed", "--catalog", top)

    assert code == EXIT_OK
    assert err == ""
    assert out.startswith("scedc.miniseed: ")


@pytest.mark.parametrize("entry", ["sage.miniseed", "sage"])
def test_describe_broken_entry_one_line(
    broken: tuple[Path, str], capsys: pytest.CaptureFixture[str], entry: str
) -> None:
    folder, reason = broken
    top = str(folder / "earthscope.yaml")

    code, out, err = run(capsys, "describe", entry, "--catalog", top)

    assert code == EXIT_PROBLEM
    assert out == ""
    assert len(err.splitlines()) == 1
    assert f"cannot read catalog {str(folder / 'sage.yaml')!r}: " in err
    assert reason in err
