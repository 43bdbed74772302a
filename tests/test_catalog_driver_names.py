"""Nested catalog entries whose driver intake cannot load.

intake 2.0.9 drops a driver name it does not know, or a dotted path whose
module does not import, and opens the entry without a driver. A dotted path
whose module lacks the class fails the parse with a bare AttributeError.
Each case names the catalog file, the entry and the driver. An unknown name
fails its entry alone, and a path that fails the parse fails the nested file.
On the command line both exit 1, as other catalog faults do, and ``list``
shows them as unavailable.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import intake
import pytest

from intake_earthscope.cli import EXIT_PROBLEM, main
from intake_earthscope.errors import CatalogError, CatalogFileError

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"
SHIPPED = "driver: earthscope_miniseed"


def copy_with_driver(folder: Path, driver: str) -> Path:
    """Copy the shipped catalogs into ``folder`` with the sage miniseed entry's
    driver replaced, and return the top-level file."""
    for path in CATALOGS.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    sage = folder / "sage.yaml"
    text = sage.read_text()
    assert SHIPPED in text
    sage.write_text(text.replace(SHIPPED, f"driver: {driver}", 1))
    return folder / "earthscope.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("driver", ["earthscope_minised", "no_such_module.Source"])
def test_unloadable_driver_named_at_open(tmp_path: Path, driver: str) -> None:
    cat = intake.open_catalog(str(copy_with_driver(tmp_path, driver)))

    with pytest.raises(CatalogError) as raised:
        cat.sage.miniseed  # noqa: B018 (opening the entry is under test)

    message = str(raised.value)
    assert f"catalog file {str(tmp_path / 'sage.yaml')!r}, entry 'miniseed'" in message
    assert f"driver {driver!r}" in message
    assert cat.sage.stations.name == "stations"


def test_misspelt_driver_suggests_name(tmp_path: Path) -> None:
    cat = intake.open_catalog(str(copy_with_driver(tmp_path, "earthscope_minised")))

    with pytest.raises(CatalogError, match="did you mean 'earthscope_miniseed'"):
        cat.sage.miniseed  # noqa: B018 (opening the entry is under test)


def test_missing_class_fails_file(tmp_path: Path) -> None:
    driver = "intake_earthscope.source.MiniSeedSource"
    cat = intake.open_catalog(str(copy_with_driver(tmp_path, driver)))

    with pytest.raises(CatalogFileError) as raised:
        cat.sage  # noqa: B018 (opening the entry is under test)

    message = str(raised.value)
    assert len(message.splitlines()) == 1
    assert f"cannot read catalog {str(tmp_path / 'sage.yaml')!r}" in message
    assert f"entry 'miniseed': driver {driver!r} cannot be imported" in message
    assert "has no attribute 'MiniSeedSource'" in message
    assert "positions" in list(cat.gage)


@pytest.mark.parametrize(
    ("driver", "unavailable"),
    [
        ("earthscope_minised", "sage.miniseed"),
        ("no_such_module.Source", "sage.miniseed"),
        ("intake_earthscope.source.MiniSeedSource", "sage"),
    ],
)
def test_cli_unloadable_driver(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], driver: str, unavailable: str
) -> None:
    top = str(copy_with_driver(tmp_path, driver))

    code, out, err = run(capsys, "describe", "sage.miniseed", "--catalog", top)
    listed_code, listed, _ = run(capsys, "list", "--catalog", top)

    assert code == EXIT_PROBLEM
    assert out == ""
    assert len(err.splitlines()) == 1
    assert f"driver {driver!r}" in err
    assert "Traceback" not in err
    assert listed_code == EXIT_PROBLEM
    rows = dict(line.split(maxsplit=1) for line in listed.splitlines())
    assert rows[unavailable].startswith("unavailable: ")
    assert "scedc.miniseed" in rows
