"""Attacks on ``intake-earthscope export`` of event windows and its output.

The mirror contains real miniSEED written by tests/mseedgen.py: station XX.STA
with LHN and LHZ at 1 Hz for the whole of 2024-01-01 and 2024-01-02, and
station XX.TWO with three channels for the first hour of 2024-01-01. The
objects of other days do not exist.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope.cli import EXIT_OK, EXIT_USAGE, main

import mseedgen
from conftest import mirror

REQUEST = [
    "sage.miniseed", "--network", "XX", "--station", "STA", "--location", "00",
    "--channel", "LH?",
]  # fmt: skip
WINDOW = ["--before", "60", "--after", "120"]


def day_key(station: str, day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/{station}.XX.2024.{day:03d}"


def recorded_days() -> dict[str, bytes]:
    objects = {}
    for day in (1, 2):
        station_day = mseedgen.station_day(
            channels={"LHN": 1.0, "LHZ": 1.0},
            seconds=86_400.0,
            station="XX.STA.00",
            start=f"2024-01-{day:02d}T00:00:00Z",
        )
        objects[day_key("STA", day)] = station_day.data
    three = mseedgen.station_day(
        channels={"LHE": 1.0, "LHN": 1.0, "LHZ": 1.0},
        seconds=3_600.0,
        station="XX.TWO.00",
        start="2024-01-01T00:00:00Z",
    )
    objects[day_key("TWO", 1)] = three.data
    return objects


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return mirror(tmp_path / "mirror", recorded_days())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def times_options(*times: str) -> list[str]:
    return [option for time in times for option in ("--time", time)]


def assert_same_output(netcdf: Path, zarr: Path) -> None:
    with xr.open_dataset(netcdf, engine="h5netcdf") as expected:
        with xr.open_zarr(zarr) as written:
            assert set(written.variables) == set(expected.variables)
            for name, variable in expected.variables.items():
                if variable.dtype.kind in "OUS":
                    assert written[name].values.tolist() == variable.values.tolist()
                else:
                    assert written[name].variable.identical(variable), name


@pytest.mark.parametrize(
    "times",
    [
        # One window on the first day, then two on the second: the window
        # chunks are (1, 2).
        pytest.param(
            ("2024-01-01T03:00:00", "2024-01-02T03:00:00", "2024-01-02T04:00:00"),
            id="more-windows-on-a-later-day",
        ),
        # The same day given twice with another in between: (1, 1, 2).
        pytest.param(
            (
                "2024-01-01T03:00:00",
                "2024-01-02T03:00:00",
                "2024-01-01T04:00:00",
                "2024-01-01T05:00:00",
            ),
            id="unsorted-days",
        ),
    ],
)
def test_windows_zarr_uneven_batches(
    times: tuple[str, ...],
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = [*REQUEST, "--root", str(root), *times_options(*times), *WINDOW]
    netcdf = tmp_path / "windows.nc"
    zarr = tmp_path / "windows.zarr"

    netcdf_code, netcdf_err = run(
        capsys, "export", *arguments, "--no-progress", str(netcdf)
    )
    zarr_code, zarr_err = run(capsys, "export", *arguments, "--no-progress", str(zarr))

    assert netcdf_code == EXIT_OK, netcdf_err
    assert zarr_code == EXIT_OK, zarr_err
    assert not zarr.with_name("windows.zarr.partial").exists()
    assert_same_output(netcdf, zarr)


def test_windows_zarr_uneven_stations(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two channels of STA, then three of TWO: the trace chunks are (2, 3).
    arguments = [
        "sage.miniseed", "--network", "XX", "--station", "STA,TWO", "--location",
        "00", "--channel", "LH?", "--root", str(root), "--time",
        "2024-01-01T00:30:00", *WINDOW, "--no-progress",
    ]  # fmt: skip

    netcdf_code, netcdf_err = run(capsys, "export", *arguments, str(tmp_path / "w.nc"))
    zarr_code, zarr_err = run(capsys, "export", *arguments, str(tmp_path / "w.zarr"))

    assert netcdf_code == EXIT_OK, netcdf_err
    assert zarr_code == EXIT_OK, zarr_err
    assert_same_output(tmp_path / "w.nc", tmp_path / "w.zarr")
    with xr.open_zarr(tmp_path / "w.zarr") as written:
        assert written.waveform.shape == (1, 5, 180)
        assert np.isfinite(written.waveform.values).all()


def test_days_zarr_start_at_noon(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Half a day, then a whole day: the time chunks are (43200, 86400).
    arguments = [
        *REQUEST, "--root", str(root), "--start", "2024-01-01T12:00:00",
        "--end", "2024-01-03", "--no-progress",
    ]  # fmt: skip

    netcdf_code, netcdf_err = run(capsys, "export", *arguments, str(tmp_path / "d.nc"))
    zarr_code, zarr_err = run(capsys, "export", *arguments, str(tmp_path / "d.zarr"))

    assert netcdf_code == EXIT_OK, netcdf_err
    assert zarr_code == EXIT_OK, zarr_err
    assert_same_output(tmp_path / "d.nc", tmp_path / "d.zarr")


@pytest.mark.parametrize(
    ("time", "before", "after"),
    [
        # The window's end, 2262-04-11T23:48:00, is past the last nanosecond
        # time (2262-04-11T23:47:16.854775807) and wrapped around to 1677.
        pytest.param("2262-04-11T23:47:00", "60", "60", id="end-past-2262"),
        # The window's start is before the first nanosecond time.
        pytest.param("1677-09-21T00:13:00", "60", "60", id="start-before-1677"),
        # The window fits, but its day begins before the first nanosecond time.
        pytest.param("1677-09-21T00:13:00", "0", "60", id="day-before-1677"),
    ],
)
def test_windows_outside_nanosecond_range(
    time: str,
    before: str,
    after: str,
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "windows.nc"

    code, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--time", time, "--time",
        "2024-01-01T03:00:00", "--before", before, "--after", after,
        "-p", "errors=ignore", "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert f"invalid times[0]={time}Z: its window" in err
    assert "outside the years 1678 to 2261" in err
    assert not output.exists()


def test_windows_decades_apart(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A catalog of 25 years: the windows read two days, not the years between.
    old = mseedgen.station_day(
        channels={"LHN": 1.0, "LHZ": 1.0},
        seconds=3_600.0,
        station="XX.STA.00",
        start="1999-01-01T00:00:00Z",
    )
    mirror(root, {"miniseed/XX/1999/001/STA.XX.1999.001": old.data})
    output = tmp_path / "windows.nc"

    code, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--time",
        "1999-01-01T00:30:00", "--time", "2024-01-01T03:00:00", *WINDOW,
        "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_OK, err
    with xr.open_dataset(output, engine="h5netcdf") as written:
        assert written.waveform.shape == (2, 2, 180)
        assert set(written.status.values.ravel()) == {"ok"}
        assert np.isfinite(written.waveform.values).all()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # csv.DictReader would take the last of two columns and pandas would
        # rename the second to "time.1", so either choice would surprise.
        pytest.param(
            "time,depth,time\n2024-01-01T03:00:00,5,2024-01-02T03:00:00\n",
            "column 'time' appears 2 times in the header of times file",
            id="duplicate-column",
        ),
        pytest.param(
            "time\n2016-12-31T23:59:60\n",
            "invalid time '2016-12-31T23:59:60' on line 2 of {path!r} (column "
            "'time'): second 60 is a leap second",
            id="leap-second",
        ),
        pytest.param(
            "time\n2016-12-31T23:59:60.5Z\n",
            "give the time after the leap second, 2017-01-01T00:00:00.500000Z",
            id="leap-second-fraction",
        ),
    ],
)
def test_windows_odd_times_file(
    content: str,
    message: str,
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = tmp_path / "events.csv"
    events.write_text(content)
    output = tmp_path / "windows.nc"

    code, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--times-file",
        str(events), *WINDOW, str(output),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert message.format(path=str(events)) in err
    assert "between the years 1678 and 2261" not in err
    assert not output.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"2024-01-01T03:00:00"', "2024-01-01T03:00:00"),
        ("2024-01-01T03:00:00.123456789", "2024-01-01T03:00:00.123456789"),
        ("2024-01-01T04:00:00+01:00", "2024-01-01T03:00:00"),
        ("2024-01-01 03:00:00", "2024-01-01T03:00:00"),
        ('"2024-01-01T03:00:00,5"', "2024-01-01T03:00:00.5"),
    ],
)
def test_windows_times_file_forms(
    text: str,
    expected: str,
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = tmp_path / "events.csv"
    events.write_bytes(f'\ufeff"time",magnitude\r\n{text},3\r\n'.encode())
    output = tmp_path / "windows.nc"

    code, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--times-file",
        str(events), *WINDOW, "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_OK, err
    with xr.open_dataset(output, engine="h5netcdf") as written:
        assert list(written.window.values) == [np.datetime64(expected, "ns")]
