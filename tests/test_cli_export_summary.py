"""The day export's summary names the units that did not load fully, and
the availability table gives sizes as integers.

The exports read a local mirror with one real BALST day (two LH channels),
so every other day of a request is missing.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from intake_earthscope.availability import availability
from intake_earthscope.cli import EXIT_OK, EXIT_PARTIAL, NAMED_UNITS, main
from intake_earthscope.export import IncompleteUnit, export_dataset, incomplete_units

from conftest import OBSPY_MSEED_DATA, collection_spec

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
REQUEST = [
    "sage.miniseed", "--network", "CH", "--station", "BALST", "--location=--",
    "--channel", "LH?", "--start", "2025-11-10",
]  # fmt: skip


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    root = tmp_path / "mirror"
    (root / KEY).parent.mkdir(parents=True)
    shutil.copy(BALST, root / KEY)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def export(
    capsys: pytest.CaptureFixture[str], mirror: Path, output: Path, end: str
) -> tuple[int, str]:
    code, _, err = run(
        capsys, "export", *REQUEST, "--end", end, "--root", str(mirror),
        "-p", "errors=ignore", "--no-progress", str(output),
    )  # fmt: skip
    return code, err


def test_partial_export_names_each_unit(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = export(capsys, mirror, tmp_path / "balst.nc", "2025-11-12")

    lines = err.splitlines()
    assert code == EXIT_PARTIAL
    assert "2 of the output's trace-days did not load fully" in err
    assert "intake-earthscope:   CH.BALST..LHE 2025-11-11: missing" in lines
    assert "intake-earthscope:   CH.BALST..LHZ 2025-11-11: missing" in lines
    assert not any("2025-11-10" in line for line in lines)
    assert not any("more" in line for line in lines)


def test_partial_export_names_at_most_twenty(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Twelve days of two traces, of which eleven days are missing: 22 units."""
    code, err = export(capsys, mirror, tmp_path / "balst.nc", "2025-11-22")

    named = [line for line in err.splitlines() if line.endswith(": missing")]
    assert code == EXIT_PARTIAL
    assert "22 of the output's trace-days" in err
    assert len(named) == NAMED_UNITS
    assert named[0] == "intake-earthscope:   CH.BALST..LHE 2025-11-11: missing"
    assert named[10] == "intake-earthscope:   CH.BALST..LHE 2025-11-21: missing"
    assert named[11] == "intake-earthscope:   CH.BALST..LHZ 2025-11-11: missing"
    assert err.splitlines()[-1] == "intake-earthscope:   and 2 more"


def test_complete_export_names_nothing(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = export(capsys, mirror, tmp_path / "balst.nc", "2025-11-11")

    assert code == EXIT_OK
    assert "did not load" not in err


@pytest.mark.parametrize("output_format", ["netcdf", "zarr"])
def test_incomplete_units_of_stations(tmp_path: Path, output_format: str) -> None:
    """GNSS positions have a status per station and no day."""
    dataset = xr.Dataset(
        {"status": ("station", np.array(["ok", "missing", "truncated"]))},
        coords={"station": ["P123", "P456", "P789"]},
    )
    output = tmp_path / ("s.nc" if output_format == "netcdf" else "s.zarr")
    export_dataset(dataset, output, output_format, progress=False)

    assert incomplete_units(output, output_format) == [
        IncompleteUnit("P456", "", "missing", "stations"),
        IncompleteUnit("P789", "", "truncated", "stations"),
    ]


def test_incomplete_units_of_days(tmp_path: Path) -> None:
    """RINEX observations have a status per day, and the station in attrs."""
    days = np.array(["2025-11-10", "2025-11-11"], dtype="datetime64[ns]")
    dataset = xr.Dataset(
        {"status": ("day", np.array(["missing", "ok"]))},
        coords={"day": days},
        attrs={"station": "P123"},
    )
    export_dataset(dataset, tmp_path / "r.nc", "netcdf", progress=False)

    assert incomplete_units(tmp_path / "r.nc", "netcdf") == [
        IncompleteUnit("P123", "2025-11-10", "missing", "station-days"),
    ]


def test_incomplete_units_trace_order(tmp_path: Path) -> None:
    """The status is stored as (day, trace), and units still come per trace."""
    days = np.array(["2025-11-10", "2025-11-11"], dtype="datetime64[ns]")
    statuses = np.array([["missing", "ok"], ["missing", "missing"]])
    dataset = xr.Dataset(
        {"status": (("day", "trace"), statuses)},
        coords={"day": days, "trace": ["XX.A..HHZ", "XX.B..HHZ"]},
    )
    export_dataset(dataset, tmp_path / "t.nc", "netcdf", progress=False)

    assert incomplete_units(tmp_path / "t.nc", "netcdf") == [
        IncompleteUnit("XX.A..HHZ", "2025-11-10", "missing"),
        IncompleteUnit("XX.A..HHZ", "2025-11-11", "missing"),
        IncompleteUnit("XX.B..HHZ", "2025-11-11", "missing"),
    ]


def test_availability_size_is_integer(mirror: Path) -> None:
    table = availability(
        collection_spec("sage"), network="CH", station="BALST", location="",
        channel="LHZ", start="2025-11-10", end="2025-11-12", root=str(mirror),
    )  # fmt: skip

    assert pd.api.types.is_integer_dtype(table["size"])
    assert table["size"].iloc[0] == BALST.stat().st_size
    assert table["size"].isna().iloc[1]


def test_availability_cli_prints_integer_size(
    mirror: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    size = BALST.stat().st_size

    code, out, _ = run(
        capsys, "availability", *REQUEST, "--end", "2025-11-12",
        "--root", str(mirror), "--format", "csv",
    )  # fmt: skip
    table_code, table, _ = run(
        capsys, "availability", *REQUEST, "--end", "2025-11-12",
        "--root", str(mirror),
    )  # fmt: skip

    rows = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    assert code == EXIT_OK
    assert table_code == EXIT_OK
    assert list(rows["size"]) == [str(size), ""]
    assert f"{size}.0" not in table
    assert f" {size} " in table


def test_partial_positions_export_names_stations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pos = tmp_path / "gage/products/position/DEMO/DEMO.cwu.final_nam14.pos"
    pos.parent.mkdir(parents=True)
    rows = "".join(
        f" 2024010{d} 120000 {60309.5 + d:.4f} 0 0 0 0 0 0 0 0 0 40.0 236.0 100.0 "
        f"{d / 1000:.5f} 0.00100 -0.00200 0.001 0.001 0.004 0.1 0.2 0.3 final\n"
        for d in (1, 2)
    )
    pos.write_text(
        "PBO Station Position Time Series. Reference Frame : NAM14\n"
        "Format Version: 1.1.0\n4-character ID: DEMO\n"
        "NEU Reference position :  40.0  236.0  100.0 (NAM14/WGS84)\n*\n" + rows
    )

    code, _, err = run(
        capsys, "export", "gage.positions", "--station", "DEMO,MISS",
        "--start", "2024-01-01", "--end", "2024-01-03",
        "--root", str(tmp_path / "gage"), "-p", "errors=ignore", "--no-progress",
        str(tmp_path / "positions.nc"),
    )  # fmt: skip

    assert code == EXIT_PARTIAL
    assert "1 of the output's stations did not load fully" in err
    assert "  MISS: missing" in err
