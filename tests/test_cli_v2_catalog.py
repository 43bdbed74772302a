"""The command line reads v1 catalog files; others get one line and exit 2.

intake's v2 catalog has no ``walk()``, so ``list`` and ``describe`` ended in
an ``AttributeError`` traceback for ``--catalog earthscope_v2.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_USAGE, main

V2_CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "earthscope_v2.yaml"


@pytest.mark.parametrize("command", [["list"], ["describe", "sage_miniseed"]])
def test_v2_catalog_one_line(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code = main([*command, "--catalog", str(V2_CATALOG)])
    captured = capsys.readouterr()

    assert code == EXIT_USAGE
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert f"catalog {str(V2_CATALOG)!r} is an intake v2 catalog" in captured.err
    assert "earthscope.yaml" in captured.err


def test_csv_file_as_catalog_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV file given to --catalog, which intake opens as a pattern of
    catalog files, stops with one line instead of an empty listing."""
    times = tmp_path / "events.csv"
    times.write_text("time,label\n2025-11-10T01:00:00,a\n")

    code = main(["list", "--catalog", str(times)])
    captured = capsys.readouterr()

    assert code == EXIT_USAGE
    assert captured.out == ""
    assert f"catalog {str(times)!r} has no entries" in captured.err
    assert "give an intake catalog YAML file" in captured.err
