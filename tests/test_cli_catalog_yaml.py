"""Tests of catalog files that are not valid YAML, and of the listed exit codes.

The command line prints the parser's problem as one line that names the file,
line and column. It exits 2 for the --catalog file and 1 for a nested file,
which is no fault of the command line. The Python API keeps intake's exception, which
is PyYAML's. The catalogs are broken copies of the shipped ones.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import intake
import pytest
import yaml

from intake_earthscope.cli import (
    EXIT_AUTH,
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    main,
)

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"


@pytest.fixture
def catalogs(tmp_path: Path) -> Path:
    """Return a directory with a copy of every shipped catalog file."""
    for path in CATALOGS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def break_file(path: Path, line: str, replacement: str) -> int:
    """Replace the first ``line`` of ``path`` with ``replacement``.

    Return the line's number, counted from 1.
    """
    lines = path.read_text().splitlines()
    index = lines.index(line)
    lines[index] = replacement
    path.write_text("\n".join(lines) + "\n")
    return index + 1


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_broken_catalog_one_line(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top = catalogs / "earthscope.yaml"
    number = break_file(top, "  scedc:", "  scedc: [oops")

    code, out, err = run(capsys, "list", "--catalog", str(top))

    # The parser notices the unclosed "[" at the colon of the next line.
    assert code == EXIT_USAGE
    assert out == ""
    assert len(err.splitlines()) == 1
    assert f"cannot read catalog {str(top)!r}: invalid YAML at line" in err
    assert f"at line {number + 1}, column 16:" in err
    assert "expected ',' or ']', but got ':'" in err
    assert f"flow sequence that starts at line {number}, column 10" in err


def test_broken_nested_catalog_one_line(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number = break_file(catalogs / "sage.yaml", "  miniseed:", "  miniseed: [x")
    top = str(catalogs / "earthscope.yaml")

    code, out, err = run(capsys, "describe", "sage.miniseed", "--catalog", top)

    assert code == EXIT_PROBLEM
    assert "while parsing" not in out
    assert len(err.splitlines()) == 1
    assert f"cannot read catalog {str(catalogs / 'sage.yaml')!r}: invalid" in err
    assert f"at line {number + 1}, column 16:" in err


def test_broken_nested_catalog_listed_unavailable(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The other nested catalogs keep working, as with a missing file; intake's
    # walk would print the parser's report to stdout instead.
    number = break_file(catalogs / "sage.yaml", "  miniseed:", "  miniseed: [x")
    top = str(catalogs / "earthscope.yaml")

    code, out, err = run(capsys, "list", "--catalog", top)

    assert code == EXIT_PROBLEM
    assert len(err.splitlines()) == 1
    assert " unavailable: " in err
    assert "<unicode string>" not in out
    rows = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert rows["sage"].startswith("unavailable: cannot read catalog ")
    assert f"at line {number + 1}, column 16:" in rows["sage"]
    assert "scedc.miniseed" in rows


def test_missing_nested_catalog_named(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (catalogs / "gage.yaml").unlink()

    top = str(catalogs / "earthscope.yaml")

    code, _, err = run(capsys, "describe", "gage.positions", "--catalog", top)

    assert code == EXIT_PROBLEM
    assert f"{str(catalogs / 'gage.yaml')!r} of entry 'gage' listed in {top!r}" in err


def test_broken_v2_catalog_one_line(
    catalogs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v2 = catalogs / "earthscope_v2.yaml"
    break_file(v2, "user_parameters:", "user_parameters: {")

    code, _, err = run(capsys, "list", "--catalog", str(v2))

    assert code == EXIT_USAGE
    assert len(err.splitlines()) == 1
    assert f"cannot read catalog {str(v2)!r}: invalid YAML at line" in err


def test_tab_indent_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tabs.yaml"
    path.write_text("sources:\n\tsage: {}\n")

    code, _, err = run(capsys, "list", "--catalog", str(path))

    assert code == EXIT_USAGE
    assert len(err.splitlines()) == 1
    assert "at line 2, column 1: found character '\\t'" in err


def test_shipped_catalog_still_lists(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list")

    assert code == EXIT_OK, err
    assert "sage.miniseed" in out
    assert "noaa_cors.rinex_obs" in out


def test_python_api_keeps_yaml_error(catalogs: Path) -> None:
    top = catalogs / "earthscope.yaml"
    break_file(top, "  scedc:", "  scedc: [oops")

    with pytest.raises(yaml.YAMLError) as raised:
        intake.open_catalog(str(top))

    assert type(raised.value).__module__.startswith("yaml")


def test_exit_codes_cover_auth_without_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "auth")
    meanings = {line.split()[0]: line for line in EXIT_CODES_HELP.splitlines()[1:]}

    assert code == EXIT_AUTH
    assert "token: none" in out
    assert "no usable" in EXIT_CODES_HELP
    assert str(EXIT_AUTH) in meanings
