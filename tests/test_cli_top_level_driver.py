"""``list`` and ``describe`` on a --catalog entry whose driver cannot load.

intake 2.0.9 drops a driver that it cannot import without a message, so
``list`` showed the entry as usable and ``describe`` printed an empty
driver and exited 0. Entries of nested catalogs were already checked; the
entries of the --catalog file itself must be checked the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_OK, EXIT_PROBLEM, main

CATALOG = """\
sources:
  broken:
    driver: intake_earthscope.no_such_module.Reader
    args: {}
  table:
    driver: csv
    args:
      urlpath: table.csv
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "top.yaml"
    path.write_text(CATALOG)
    return path


def test_list_marks_unloadable_driver(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["list", "--catalog", str(catalog)])
    rows = dict(
        line.split(maxsplit=1) if " " in line.strip() else (line.strip(), "")
        for line in capsys.readouterr().out.splitlines()
    )

    assert code == EXIT_PROBLEM
    assert rows["broken"].startswith("unavailable: ")
    assert f"catalog file {str(catalog)!r}, entry 'broken'" in rows["broken"]
    assert "intake_earthscope.no_such_module.Reader" in rows["broken"]
    assert not rows["table"].startswith("unavailable")


def test_describe_unloadable_driver_exits_1(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["describe", "broken", "--catalog", str(catalog)])
    captured = capsys.readouterr()

    assert code == EXIT_PROBLEM
    assert "driver 'intake_earthscope.no_such_module.Reader' cannot be" in (
        captured.err
    )
    assert "Fix the driver in the catalog file" in captured.err


def test_describe_loadable_entry_still_works(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["describe", "table", "--catalog", str(catalog)])

    assert code == EXIT_OK
    assert "driver: csv" in capsys.readouterr().out
