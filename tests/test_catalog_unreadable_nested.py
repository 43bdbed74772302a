"""Nested catalog files that fail with an OS error other than a missing file,
or that nest too deeply for the YAML reader.

A symlink loop, a folder named ``sage.yaml`` and a file of 5000 nested lists
fail the ``sage`` entry alone, with one line that names the file, while the
other entries and ``list`` keep working.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import intake
import pytest

from intake_earthscope.cli import EXIT_PROBLEM, main
from intake_earthscope.errors import CatalogFileError

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"


def _deep(path: Path) -> None:
    path.write_text("sources: " + "[" * 5000 + "]" * 5000 + "\n")


# Each maker replaces sage.yaml, with what the reason must contain.
UNREADABLE: dict[str, tuple[Callable[[Path], None], str]] = {
    "symlink loop": (lambda path: path.symlink_to(path), "symbolic links"),
    "folder": (lambda path: path.mkdir(), "Is a directory"),
    "deep nesting": (_deep, "nested too deeply"),
}


@pytest.fixture(params=list(UNREADABLE), ids=list(UNREADABLE))
def unreadable(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """Return a catalog folder whose ``sage.yaml`` cannot be read, and the
    reason's part."""
    for path in CATALOGS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    os.unlink(tmp_path / "sage.yaml")
    make, reason = UNREADABLE[request.param]
    make(tmp_path / "sage.yaml")
    return tmp_path, reason


def test_python_entry_fails_alone(unreadable: tuple[Path, str]) -> None:
    folder, reason = unreadable
    cat = intake.open_catalog(str(folder / "earthscope.yaml"))

    with pytest.raises(CatalogFileError) as raised:
        cat.sage  # noqa: B018 (opening the entry is the action under test)

    message = str(raised.value)
    assert len(message.splitlines()) == 1
    assert f"cannot read catalog {str(folder / 'sage.yaml')!r}: " in message
    assert reason in message
    assert "positions" in list(cat.gage)


def test_list_shows_entry_unavailable(
    unreadable: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, reason = unreadable

    code = main(["list", "--catalog", str(folder / "earthscope.yaml")])
    out = capsys.readouterr().out

    assert code == EXIT_PROBLEM
    (line,) = [line for line in out.splitlines() if line.startswith("sage ")]
    assert "unavailable: cannot read catalog" in line
    assert reason in line
    assert "scedc.miniseed" in out
