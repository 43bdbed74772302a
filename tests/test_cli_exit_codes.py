"""Exit codes of requests that the catalog or the inventory cannot serve.

The exit-code table gives 2 for a wrong command line and 1 for a command
that ran and could not serve the request. A nested catalog file that is
missing or damaged is a fault of the catalog, not of the command line, and
so is an entry template with an unknown field. Using such an entry exits 1.
A request whose channel the ``--inventory`` lacks exits 1 too, as it does
when the objects lack the channel. A missing ``--catalog`` file is a wrong
command line and stays 2. ``list`` exits 1 when it marks entries
unavailable, and ``auth`` exits 3, as other commands do, when it finds no
usable token.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from intake_earthscope.cli import (
    EXIT_AUTH,
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    main,
)

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"


def _misspell_template(path: Path) -> None:
    text = path.read_text()
    path.write_text(text.replace("{doy}/{station}.{network}", "{doy}/{statoin}", 1))


# Each maker damages the copy of sage.yaml, with what the message must contain.
DAMAGED: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing": (os.unlink, "not found"),
    "invalid yaml": (lambda path: path.write_text("sources: [x\n"), "invalid YAML"),
    "not a catalog": (lambda path: path.write_text("- a\n"), "not an intake catalog"),
    "folder": (lambda path: (os.unlink(path), path.mkdir()), "Is a directory"),
    "template field": (_misspell_template, "unknown field(s) ['statoin']"),
}


@pytest.fixture(params=list(DAMAGED), ids=list(DAMAGED))
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """Return the top-level catalog of a copy with a damaged ``sage.yaml``,
    and a part of the expected message."""
    for path in CATALOGS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    make, reason = DAMAGED[request.param]
    make(tmp_path / "sage.yaml")
    return tmp_path / "earthscope.yaml", reason


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", ["describe", "search"])
def test_damaged_nested_catalog_exits_one(
    damaged: tuple[Path, str], capsys: pytest.CaptureFixture[str], command: str
) -> None:
    top, reason = damaged

    code, err = run(capsys, command, "sage.miniseed", "--catalog", str(top))

    assert code == EXIT_PROBLEM
    assert len(err.splitlines()) == 1
    assert reason in err


def test_damaged_nested_export_exits_one(
    damaged: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top, reason = damaged
    output = tmp_path / "out.nc"

    code, err = run(
        capsys, "export", "sage.miniseed", "--network", "CH", "--station",
        "BALST", "--start", "2025-11-10", "--end", "2025-11-11", "--root",
        str(tmp_path), "--catalog", str(top), "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_PROBLEM
    assert reason in err
    assert not output.exists()


def test_missing_top_catalog_exits_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.yaml"

    code, err = run(capsys, "describe", "sage.miniseed", "--catalog", str(missing))

    assert code == EXIT_USAGE
    assert f"catalog not found: {str(missing)!r}" in err


def test_unknown_entry_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "describe", "sage.minised")

    assert code == EXIT_USAGE
    assert "unknown entry 'sage.minised'" in err


def wbm_mirror(shared_data: Path, tmp_path: Path) -> Path:
    root = tmp_path / "scedc"
    key = root / "continuous_waveforms/2022/2022_001/CIWBM__LHZ___2022001.ms"
    key.parent.mkdir(parents=True)
    shutil.copy(shared_data / "miniseed" / "CIWBM__LHZ___2022001.ms", key)
    return root


def test_inventory_lacking_channel_exits_one(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "wbm.nc"

    code, err = run(
        capsys, "export", "scedc.miniseed", "--network", "CI", "--station", "WBM",
        "--location=--", "--channel", "LHZ", "--start", "2022-01-01",
        "--end", "2022-01-02", "--root", str(wbm_mirror(shared_data, tmp_path)),
        "-p", "remove_response=velocity",
        "--inventory", str(shared_data / "stationxml" / "IU_ULN_00_LH1.xml"),
        "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_PROBLEM
    assert "the inventory lacks the channel --network CI" in err
    assert "IU.ULN.00.LH1" in err
    assert not output.exists()


def test_unreadable_inventory_exits_two(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(
        capsys, "export", "scedc.miniseed", "--network", "CI", "--station", "WBM",
        "--location=--", "--channel", "LHZ", "--start", "2022-01-01",
        "--end", "2022-01-02", "--root", str(wbm_mirror(shared_data, tmp_path)),
        "-p", "remove_response=velocity",
        "--inventory", str(tmp_path / "absent.xml"),
        "--no-progress", str(tmp_path / "wbm.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "invalid --inventory" in err


def test_list_with_damaged_nested_exits_one(
    damaged: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    top, reason = damaged

    code = main(["list", "--catalog", str(top)])
    captured = capsys.readouterr()

    rows = dict(line.split(maxsplit=1) for line in captured.out.splitlines())
    unavailable = sorted(n for n, row in rows.items() if row.startswith("unavailable"))
    assert code == EXIT_PROBLEM
    assert unavailable
    assert all(name.startswith("sage") for name in unavailable)
    assert reason in rows[unavailable[0]]
    assert "scedc.miniseed" in rows
    assert captured.err.startswith("intake-earthscope: ")
    assert f"unavailable: {', '.join(unavailable)}" in captured.err


def test_list_of_shipped_catalog_exits_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["list"])
    captured = capsys.readouterr()

    assert code == EXIT_OK
    assert captured.err == ""


def test_auth_without_token_exits_three(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["auth"])
    out = capsys.readouterr().out

    assert code == EXIT_AUTH
    assert "token: none" in out
    assert "run `es login`" in out


def test_auth_missing_token_file_exits_three(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["auth", "--token", str(tmp_path / "missing.json")])
    out = capsys.readouterr().out

    assert code == EXIT_AUTH
    assert "token file not found" in out


def test_auth_token_and_profile_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["auth", "--token", str(tmp_path / "t.json"), "--profile", "work"])
    err = capsys.readouterr().err

    assert raised.value.code == EXIT_USAGE
    assert "not allowed with argument" in err


def test_exit_code_help_names_list_and_auth() -> None:
    meanings = {}
    for line in EXIT_CODES_HELP.splitlines()[1:]:
        code, _, text = line.strip().partition("  ")
        if code.isdigit():
            meanings[int(code)] = text
        else:
            meanings[max(meanings)] += " " + line.strip()

    assert "list marks entries unavailable" in meanings[EXIT_PROBLEM]
    assert "auth" not in meanings[EXIT_PROBLEM]
    assert "auth finds no usable token" in meanings[EXIT_AUTH]
