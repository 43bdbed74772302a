"""Export of a channel that the archive's objects lack exits 1, "not found".

The exit-code table of ``--help`` and the README gives 1 for a command that
ran and found no data, and 2 for invalid usage. The codes are valid, so a
request whose objects hold none of its channels is the first case. The
mirror is a local directory with one real BALST day (LHE and LHZ).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_CODES_HELP, EXIT_PROBLEM, EXIT_USAGE, main

from conftest import OBSPY_MSEED_DATA

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
REQUEST = [
    "sage.miniseed", "--network", "CH", "--station", "BALST", "--location=--",
]  # fmt: skip


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    root = tmp_path / "mirror"
    (root / KEY).parent.mkdir(parents=True)
    shutil.copy(BALST, root / KEY)
    return root


def test_table_says_not_found_is_one() -> None:
    assert f"{EXIT_PROBLEM}  the command ran and failed (data not found" in (
        EXIT_CODES_HELP
    )


@pytest.mark.parametrize("channel", ["BHZ", "BH?"])
def test_export_missing_channel_exits_one(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], channel: str
) -> None:
    output = tmp_path / "out.nc"

    code = main(
        [
            "export", *REQUEST, "--channel", channel, "--start", "2025-11-10",
            "--end", "2025-11-11", "--root", str(mirror), "--no-progress",
            str(output),
        ]
    )  # fmt: skip
    err = capsys.readouterr().err

    assert code == EXIT_PROBLEM
    assert "no channel matches --location=-- --channel" in err
    assert "which holds CH.BALST..LHE, CH.BALST..LHZ" in err
    assert not output.exists()


def test_window_export_missing_channel_exits_one(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "export", *REQUEST, "--channel", "BHZ", "--time",
            "2025-11-10T01:00:00", "--before", "10s", "--after", "20s",
            "--root", str(mirror), "--no-progress", str(tmp_path / "w.nc"),
        ]
    )  # fmt: skip

    assert code == EXIT_PROBLEM
    assert "no channel matches" in capsys.readouterr().err


def test_invalid_channel_still_usage(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "export", *REQUEST, "--channel", "BH.Z", "--start", "2025-11-10",
            "--end", "2025-11-11", "--root", str(mirror), "--no-progress",
            str(tmp_path / "out.nc"),
        ]
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "invalid channel code 'BH.Z'" in capsys.readouterr().err
