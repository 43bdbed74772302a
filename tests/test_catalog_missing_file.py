"""Tests of a copy of the catalog folder that lacks one nested catalog file.

The top-level catalog names each archive's file. Where one file is absent,
the other archives keep working in Python and on the command line, ``list``
shows the absent one as unavailable, and using it raises an error that names
the file and the fix.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import intake
import pytest

from intake_earthscope.cli import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, main
from intake_earthscope.errors import CatalogError, CatalogFileNotFoundError

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"


@pytest.fixture
def catalogs(tmp_path: Path) -> Path:
    """Return a copy of the shipped catalog folder without ``ncedc.yaml``."""
    for path in CATALOGS.glob("*.yaml"):
        if path.name != "ncedc.yaml":
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_python_other_archives_open(catalogs: Path) -> None:
    cat = intake.open_catalog(str(catalogs / "earthscope.yaml"))

    assert cat.sage.miniseed.describe()["container"] == "xarray"
    assert "positions" in list(cat.gage)


def test_python_missing_archive_names_fix(catalogs: Path) -> None:
    cat = intake.open_catalog(str(catalogs / "earthscope.yaml"))

    with pytest.raises(CatalogFileNotFoundError) as raised:
        cat.ncedc  # noqa: B018 (opening the entry is the action under test)

    message = str(raised.value)
    assert isinstance(raised.value, FileNotFoundError)
    assert isinstance(raised.value, CatalogError)
    assert f"{str(catalogs / 'ncedc.yaml')!r} of entry 'ncedc'" in message
    assert f"copy ncedc.yaml from {str(CATALOGS)!r} into {str(catalogs)!r}" in message
    assert "remove the entry 'ncedc'" in message


def test_list_shows_missing_unavailable(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "list", "--catalog", str(catalogs / "earthscope.yaml"))

    assert code == EXIT_PROBLEM
    assert len(err.splitlines()) == 1
    assert " unavailable: " in err
    rows = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert rows["ncedc"].startswith("unavailable: nested catalog file ")
    assert str(catalogs / "ncedc.yaml") in rows["ncedc"]
    assert "sage.miniseed" in rows
    assert "scedc.stations" in rows
    assert not any(name.startswith("ncedc.") for name in rows)


def test_describe_other_archive_works(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top = str(catalogs / "earthscope.yaml")

    code, out, err = run(capsys, "describe", "sage.miniseed", "--catalog", top)

    assert code == EXIT_OK
    assert err == ""
    assert out.startswith("sage.miniseed: ")


@pytest.mark.parametrize("entry", ["ncedc.miniseed", "ncedc"])
def test_describe_missing_archive_names_fix(
    catalogs: Path, capsys: pytest.CaptureFixture[str], entry: str
) -> None:
    top = str(catalogs / "earthscope.yaml")

    code, out, err = run(capsys, "describe", entry, "--catalog", top)

    assert code == EXIT_PROBLEM
    assert out == ""
    assert len(err.splitlines()) == 1
    assert f"{str(catalogs / 'ncedc.yaml')!r} of entry 'ncedc' listed in" in err
    assert f"copy ncedc.yaml from {str(CATALOGS)!r}" in err
    assert "remove the entry 'ncedc'" in err


def test_python_message_names_listing_file(
    catalogs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The top-level file is opened by a relative path, as typed in a shell.
    monkeypatch.chdir(catalogs.parent)
    cat = intake.open_catalog(f"{catalogs.name}/earthscope.yaml")

    with pytest.raises(CatalogFileNotFoundError) as raised:
        cat.ncedc  # noqa: B018 (opening the entry is the action under test)

    message = str(raised.value)
    assert f"nested catalog file {str(catalogs / 'ncedc.yaml')!r}" in message
    assert "of entry 'ncedc'" in message
    assert f"listed in {str(catalogs / 'earthscope.yaml')!r}" in message
    assert (
        f"remove the entry 'ncedc' from {str(catalogs / 'earthscope.yaml')!r}"
        in message
    )


def test_cli_message_matches_python(
    catalogs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(catalogs.parent)
    top = f"{catalogs.name}/earthscope.yaml"
    cat = intake.open_catalog(top)
    with pytest.raises(CatalogFileNotFoundError) as raised:
        cat.ncedc  # noqa: B018 (opening the entry is the action under test)

    _, out, err = run(capsys, "describe", "ncedc.miniseed", "--catalog", top)
    _, listed, _ = run(capsys, "list", "--catalog", top)

    assert err.strip() == f"intake-earthscope: {raised.value}"
    rows = dict(line.split(maxsplit=1) for line in listed.splitlines())
    assert rows["ncedc"] == f"unavailable: {raised.value}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("sources: [x\n", "invalid YAML"), ("- a\n", "not an intake catalog")],
)
def test_relative_top_file_shown_absolute(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    reason: str,
) -> None:
    # A damaged --catalog file typed as a relative path reads as the nested
    # files' messages do: absolute.
    (tmp_path / "top.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)

    code, _, err = run(capsys, "list", "--catalog", "top.yaml")

    assert code == EXIT_USAGE
    assert f"cannot read catalog {str(tmp_path / 'top.yaml')!r}: " in err
    assert reason in err


def test_relative_missing_top_file_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    code, _, err = run(capsys, "list", "--catalog", "nowhere.yaml")

    assert code == EXIT_USAGE
    assert f"catalog not found: {str(tmp_path / 'nowhere.yaml')!r}" in err
