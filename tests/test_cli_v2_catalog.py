"""The command line reads v1 catalogs; a v2 catalog gets one line and exit 2.

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
