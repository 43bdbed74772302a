"""Position files that lack days between their first and last row.

The station keeps the status ``ok``, because its file was read in full, and
its message names the missing days. ``export`` prints that message on
stderr per station; the exit code stays 0 unless a station did not load.
The files are small PBO ``.pos`` files written in a local mirror with the
GAGE layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

from intake_earthscope.cli import EXIT_OK, EXIT_PARTIAL, main
from intake_earthscope.gnss.position_dataset import (
    LISTED_MISSING_DAYS,
    missing_days_notes,
    open_positions,
    position_outcome_table,
)

HEADER = (
    "PBO Station Position Time Series. Reference Frame : NAM14\n"
    "Format Version: 1.1.0\n4-character ID: {station}\n"
    "NEU Reference position :  40.0  236.0  100.0 (NAM14/WGS84)\n*\n"
)


def write_pos(root: Path, station: str, days: list[int]) -> Path:
    """Write a .pos file of ``station`` with rows on these days of 2024-01."""
    rows = "".join(
        f" 202401{d:02d} 120000 {60309.5 + d:.4f} 0 0 0 0 0 0 0 0 0 40.0 236.0 "
        f"100.0 {d / 1000:.5f} 0.00100 -0.00200 0.001 0.001 0.004 0.1 0.2 0.3 "
        "final\n"
        for d in days
    )
    path = root / f"products/position/{station}/{station}.cwu.final_nam14.pos"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(station=station) + rows)
    return path


def test_middle_day_named(tmp_path: Path) -> None:
    path = write_pos(tmp_path, "DEMO", [1, 2, 4, 5])

    dataset = open_positions(str(path), start="2024-01-01", end="2024-01-08")
    table = position_outcome_table(dataset).set_index("station")

    message = table.loc["DEMO", "message"]
    assert table.loc["DEMO", "status"] == "ok"
    assert table.loc["DEMO", "days"] == 4
    assert message.endswith("has no row for 1 day(s) between its first and last "
                            "day in the window: 2024-01-03")  # fmt: skip
    # The days after the file's last row are no gap inside its data.
    assert "2024-01-06" not in message
    assert missing_days_notes(dataset) == [("DEMO", message)]


def test_complete_file_no_note(tmp_path: Path) -> None:
    path = write_pos(tmp_path, "DEMO", [1, 2, 3])

    dataset = open_positions(str(path), start="2024-01-01", end="2024-01-06")

    assert position_outcome_table(dataset)["message"].tolist() == [""]
    assert missing_days_notes(dataset) == []


def test_many_missing_days_counted(tmp_path: Path) -> None:
    path = write_pos(tmp_path, "DEMO", [1, 20])

    dataset = open_positions(str(path), start="2024-01-01", end="2024-01-21")
    (station, message), *_ = missing_days_notes(dataset)

    assert station == "DEMO"
    assert "no row for 18 day(s)" in message
    assert "2024-01-02, 2024-01-03" in message
    assert f"2024-01-{LISTED_MISSING_DAYS + 1:02d} and 8 more" in message


def test_notes_of_waveform_like_dataset_empty() -> None:
    dataset = xr.Dataset({"status": ("station", ["ok"]), "message": ("station", [""])})

    assert missing_days_notes(dataset) == []


def export(tmp_path: Path, stations: str, output: str) -> list[str]:
    return [
        "export", "gage.positions", "--station", stations,
        "--start", "2024-01-01", "--end", "2024-01-08",
        "--root", str(tmp_path), "-p", "errors=ignore", "--no-progress",
        str(tmp_path / output),
    ]  # fmt: skip


@pytest.mark.parametrize("output", ["positions.nc", "positions.zarr"])
def test_cli_export_warns_missing_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    write_pos(tmp_path, "DEMO", [1, 2, 4, 5])
    write_pos(tmp_path, "FULL", [1, 2, 3])

    code = main(export(tmp_path, "DEMO,FULL", output))
    lines = capsys.readouterr().err.splitlines()

    assert code == EXIT_OK
    warned = [line for line in lines if "warning:" in line]
    assert len(warned) == 1
    assert warned[0].startswith("intake-earthscope: warning: station DEMO: ")
    assert warned[0].endswith("last day in the window: 2024-01-03")


def test_cli_missing_station_still_partial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_pos(tmp_path, "DEMO", [1, 3])

    code = main(export(tmp_path, "DEMO,MISS", "positions.nc"))
    err = capsys.readouterr().err

    assert code == EXIT_PARTIAL
    assert "warning: station DEMO: " in err
    assert "day in the window: 2024-01-02" in err
    assert "  MISS: missing" in err
