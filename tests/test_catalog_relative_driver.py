"""A catalog entry whose driver is a relative name, such as ``..csv``.

intake 2.0.9 imports such a name with importlib, which raises a bare
TypeError ("the 'package' argument is required to perform a relative
import"). The message named neither the entry nor the driver, for a
nested catalog in ``list`` and for the ``--catalog`` file itself.
"""

from __future__ import annotations

from pathlib import Path

import intake
import pytest

from intake_earthscope.catalog import driver_problem
from intake_earthscope.cli import EXIT_PROBLEM, EXIT_USAGE, main
from intake_earthscope.errors import CatalogFileError

NESTED = """\
sources:
  weird:
    driver: "..csv"
    args: {}
"""

TOP = """\
sources:
  dots:
    driver: intake_earthscope.catalog.ArchiveCatalog
    args:
      path: "{{ CATALOG_DIR }}/nested.yaml"
"""


@pytest.fixture
def top(tmp_path: Path) -> Path:
    (tmp_path / "nested.yaml").write_text(NESTED)
    path = tmp_path / "top.yaml"
    path.write_text(TOP)
    return path


@pytest.mark.parametrize("driver", ["..csv", "...."])
def test_relative_driver_problem_named(driver: str) -> None:
    problem = driver_problem(driver)

    assert problem is not None
    assert f"driver {driver!r} cannot be imported" in problem


def test_nested_relative_driver_named(top: Path) -> None:
    catalog = intake.open_catalog(str(top))

    with pytest.raises(CatalogFileError) as raised:
        catalog["dots"]
    message = str(raised.value)

    assert "entry 'weird'" in message
    assert "driver '..csv' cannot be imported" in message
    assert "TypeError" not in message


def test_list_marks_relative_driver(
    top: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["list", "--catalog", str(top)])
    out = capsys.readouterr().out

    assert code == EXIT_PROBLEM
    assert "dots" in out
    assert "unavailable: " in out
    assert "entry 'weird': driver '..csv'" in out


def test_top_relative_driver_exits_2(
    top: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["list", "--catalog", str(top.parent / "nested.yaml")])
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert "entry 'weird': driver '..csv' cannot be imported" in err
