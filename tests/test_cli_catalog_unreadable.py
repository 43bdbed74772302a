"""A --catalog path that is a folder, a symlink loop or YAML nested too deeply.

Each is a usage error (exit 2) of one line that names the path, as a missing
or invalid --catalog file is, not a traceback, a bare OS error or a missing
file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_USAGE, main


def _deep(path: Path) -> None:
    path.write_text("sources: " + "[" * 5000 + "]" * 5000 + "\n")


# Each maker creates the --catalog file, with what the reason must contain.
UNREADABLE: dict[str, tuple[Callable[[Path], None], str]] = {
    "symlink loop": (lambda path: path.symlink_to(path), "symbolic links"),
    "deep nesting": (_deep, "nested too deeply"),
}


@pytest.mark.parametrize("kind", list(UNREADABLE))
def test_unreadable_catalog_is_usage_error(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, reason = UNREADABLE[kind]
    path = tmp_path / "top.yaml"
    make(path)

    code = main(["list", "--catalog", str(path)])
    captured = capsys.readouterr()

    assert code == EXIT_USAGE
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert f"cannot read catalog {str(path)!r}: " in captured.err
    assert reason in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("name", ["catalogs", "top.yaml"])
def test_catalog_folder_is_named_a_folder(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # intake reads a name without .yaml as a pattern of catalog files.
    folder = tmp_path / name
    folder.mkdir()
    (folder / "sage.yaml").write_text("sources: {}\n")

    code = main(["list", "--catalog", str(folder)])
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert len(err.strip().splitlines()) == 1
    assert f"catalog {str(folder)!r} is a folder" in err
    assert repr(str(folder / "earthscope.yaml")) in err
