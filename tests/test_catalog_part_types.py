"""Tests of catalog files whose top-level parts have a wrong type.

intake 2.0.9 reads ``metadata``, ``sources`` and an entry's ``args`` without
checking their types, and fails with an ``AttributeError`` or ``TypeError``
that names neither the file nor the part. The command line gives one line
that names both, and exits 2 for the --catalog file and 1 for a nested
file. In Python, a nested file fails its entry with a
``CatalogFileError``, while intake's own ``open_catalog`` keeps its error.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import intake
import pytest

from intake_earthscope.catalog import catalog_shape_problem
from intake_earthscope.cli import EXIT_PROBLEM, EXIT_USAGE, main
from intake_earthscope.errors import CatalogFileError

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"

ENTRY = "sources:\n  a:\n    driver: intake_earthscope.catalog.ArchiveCatalog\n"

# Each v1 text, with the part that the message must name.
WRONG_V1 = {
    "metadata number": ("metadata: 5\nsources: {}\n", "'metadata' is 5 (int)"),
    "sources list": ("sources: [1, 2]\n", "'sources' is [1, 2] (list)"),
    "args list": (ENTRY + "    args: [1, 2]\n", "'sources.a.args' is [1, 2]"),
    "parameters number": (
        "metadata:\n  parameters: 5\nsources: {}\n",
        "'metadata.parameters' is 5",
    ),
    "parameter list": (
        "metadata:\n  parameters:\n    x: [1]\nsources: {}\n",
        "'metadata.parameters.x' is [1]",
    ),
    "version text": (
        "metadata:\n  version: x\nsources: {}\n",
        "'metadata.version' is 'x' (str), but it must be a number",
    ),
    "metadata empty": ("metadata:\nsources: {}\n", "'metadata' is None"),
}

WRONG_V2 = {
    "v2 metadata number": ("version: 2\nmetadata: 5\n", "'metadata' is 5"),
    "v2 entries list": ("version: 2\nentries: [1, 2]\n", "'entries' is [1, 2]"),
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def copy_with_sage(folder: Path, text: str) -> Path:
    """Copy the shipped catalogs with ``text`` as ``sage.yaml``; return the top."""
    for path in CATALOGS.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    (folder / "sage.yaml").write_text(text)
    return folder / "earthscope.yaml"


@pytest.mark.parametrize(
    ("text", "part"),
    [*WRONG_V1.values(), *WRONG_V2.values()],
    ids=[*WRONG_V1, *WRONG_V2],
)
def test_top_file_names_part(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, part: str
) -> None:
    path = tmp_path / "top.yaml"
    path.write_text(text)

    code, out, err = run(capsys, "list", "--catalog", str(path))

    assert code == EXIT_USAGE
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
    assert f"cannot read catalog {str(path)!r}: part {part}" in err


@pytest.mark.parametrize(("text", "part"), list(WRONG_V1.values()), ids=list(WRONG_V1))
def test_nested_file_listed_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, part: str
) -> None:
    top = copy_with_sage(tmp_path, text)

    code, out, err = run(capsys, "list", "--catalog", str(top))

    assert code == EXIT_PROBLEM
    assert len(err.splitlines()) == 1
    assert " unavailable: " in err
    rows = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert rows["sage"].startswith("unavailable: cannot read catalog ")
    assert f"{str(tmp_path / 'sage.yaml')!r}: part {part}" in rows["sage"]
    assert "scedc.miniseed" in rows


@pytest.mark.parametrize(("text", "part"), list(WRONG_V1.values()), ids=list(WRONG_V1))
def test_nested_file_describe_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, part: str
) -> None:
    top = copy_with_sage(tmp_path, text)

    code, out, err = run(capsys, "describe", "sage.miniseed", "--catalog", str(top))

    assert code == EXIT_PROBLEM
    assert out == ""
    assert len(err.splitlines()) == 1
    assert f"part {part}" in err


@pytest.mark.parametrize(("text", "part"), list(WRONG_V1.values()), ids=list(WRONG_V1))
def test_python_nested_file_raises(tmp_path: Path, text: str, part: str) -> None:
    cat = intake.open_catalog(str(copy_with_sage(tmp_path, text)))

    with pytest.raises(CatalogFileError) as raised:
        cat.sage  # noqa: B018 (opening the entry is the action under test)

    message = str(raised.value)
    assert len(message.splitlines()) == 1
    assert f"{str(tmp_path / 'sage.yaml')!r}: part {part}" in message
    assert cat.scedc.miniseed.describe()["container"] == "xarray"


def test_python_top_file_keeps_intake_error(tmp_path: Path) -> None:
    # intake's own open_catalog is not wrapped, so its exception stays.
    path = tmp_path / "top.yaml"
    path.write_text(WRONG_V1["metadata number"][0])

    with pytest.raises(AttributeError):
        intake.open_catalog(str(path))


@pytest.mark.parametrize("path", sorted(CATALOGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_files_have_no_problem(path: Path) -> None:
    # Only a part with a wrong type turns intake's error into a message.
    import yaml

    assert catalog_shape_problem(yaml.safe_load(path.read_text())) is None


def test_other_attribute_error_passes(tmp_path: Path) -> None:
    # An AttributeError of a file with well-typed parts is no fault of the file.
    from intake_earthscope.cli import _not_catalog_message

    path = tmp_path / "top.yaml"
    path.write_text(ENTRY)

    assert _not_catalog_message(str(path), AttributeError("x")) is None
