"""``list`` shows catalogs it does not read, with the reason, rather than
dropping them.

The command line reads the entries of nested catalogs one level deep. A
catalog nested two levels deep, or one that nests a file that contains it,
was left out of ``list`` without a word. Both are listed as unavailable
now, and a self-nesting catalog is not opened again and again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_OK, EXIT_PROBLEM, main


def nested(name: str) -> str:
    return (
        f"  {name}:\n"
        "    driver: yaml_file_cat\n"
        "    args:\n"
        f'      path: "{{{{ CATALOG_DIR }}}}/{name}.yaml"\n'
    )


TABLE = (
    "  table:\n"
    "    driver: csv\n"
    "    args:\n"
    '      urlpath: "{{ CATALOG_DIR }}/table.csv"\n'
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Write top.yaml, which nests itself as 'top' and nests 'outer'; outer
    nests 'inner' and 'top' again, beside a table."""
    (tmp_path / "top.yaml").write_text("sources:\n" + nested("top") + nested("outer"))
    (tmp_path / "outer.yaml").write_text(
        "sources:\n" + nested("inner") + nested("top") + TABLE
    )
    (tmp_path / "inner.yaml").write_text("sources:\n" + TABLE)
    return tmp_path


def list_rows(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, str], str]:
    code = main(["list", "--catalog", str(folder / "top.yaml")])
    captured = capsys.readouterr()
    rows = {}
    for line in captured.out.splitlines():
        # An entry without a description has only its name on its row.
        name, _, row = line.partition(" ")
        rows[name] = row.strip()
    return code, rows, captured.err


def test_self_nesting_listed_with_reason(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, err = list_rows(folder, capsys)

    top = str(folder / "top.yaml")
    assert code == EXIT_PROBLEM
    assert rows["top"].startswith(f"unavailable: catalog file {top!r}, entry 'top': ")
    assert "nests the catalog file that lists it" in rows["top"]
    assert "unavailable: outer.inner, outer.top, top" in err


def test_loop_two_levels_named(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, rows, _ = list_rows(folder, capsys)

    outer, top = str(folder / "outer.yaml"), str(folder / "top.yaml")
    assert rows["outer.top"].startswith(
        f"unavailable: catalog file {outer!r}, entry 'top': the entry nests {top!r}"
    )


def test_two_levels_deep_listed_with_file(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, rows, _ = list_rows(folder, capsys)

    row = rows["outer.inner"]
    assert row.startswith("unavailable: 'outer.inner' is a catalog nested two levels")
    assert f"--catalog {folder / 'inner.yaml'}" in row
    assert "cat.outer.inner" in row
    assert not rows["outer.table"].startswith("unavailable")


def test_describe_deep_entry_exits_one(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["describe", "outer.inner.table", "--catalog", str(folder / "top.yaml")]
    )
    err = capsys.readouterr().err

    assert code == EXIT_PROBLEM
    assert "'outer.inner' is a catalog nested two levels deep" in err


def test_deep_file_given_directly_lists(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["list", "--catalog", str(folder / "outer.yaml")])
    captured = capsys.readouterr()

    assert code == EXIT_PROBLEM
    assert "inner.table" in captured.out
    assert "top.outer" in captured.out
    assert captured.err.startswith("intake-earthscope: ")


def test_folder_without_loops_lists_cleanly(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "flat.yaml").write_text("sources:\n" + nested("inner") + TABLE)

    code = main(["list", "--catalog", str(folder / "flat.yaml")])
    captured = capsys.readouterr()

    assert code == EXIT_OK
    assert captured.err == ""
    assert "inner.table" in captured.out
