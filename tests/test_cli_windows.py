"""``intake-earthscope export`` of event windows around reference times.

The mirror contains real miniSEED written by tests/mseedgen.py: station XX.STA
with LHN and LHZ at 1 Hz, recorded from 00:00 to 12:00 on 2024-01-01 and
2024-01-02. Its objects for 2024-01-03 and later do not exist. Most tests
call ``main`` in the test process, one runs the module as a script, and one
reads the objects from a loopback S3 server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope import open_windows
from intake_earthscope.cli import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROBLEM,
    EXIT_USAGE,
    NAMED_WINDOWS,
    _command_line_spelling,
    main,
)
from intake_earthscope.export import (
    IncompleteWindow,
    export_dataset,
    windows_not_loaded,
)
from intake_earthscope.testing import LoopbackS3, isolated_aws_variables

import mseedgen
from conftest import collection_spec, mirror, publish

REQUEST = [
    "sage.miniseed", "--network", "XX", "--station", "STA", "--location", "00",
    "--channel", "LH?",
]  # fmt: skip
WINDOW = ["--before", "60", "--after", "120"]
TRACES = ["XX.STA.00.LHN", "XX.STA.00.LHZ"]


def day_key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def recorded_days() -> dict[str, bytes]:
    """Twelve hours of LHN and LHZ on each of the first two days of 2024."""
    objects = {}
    for day in (1, 2):
        station_day = mseedgen.station_day(
            channels={"LHN": 1.0, "LHZ": 1.0},
            seconds=43_200.0,
            station="XX.STA.00",
            start=f"2024-01-{day:02d}T00:00:00Z",
        )
        objects[day_key(day)] = station_day.data
    return objects


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return mirror(tmp_path / "mirror", recorded_days())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def times_file(directory: Path, text: str, encoding: str = "utf-8") -> Path:
    path = directory / "events.csv"
    path.write_text(text, encoding=encoding)
    return path


def test_windows_match_open_windows(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Spreadsheet programs start a UTF-8 CSV file with a byte order mark.
    events = times_file(
        tmp_path,
        "time,magnitude\n2024-01-01T03:00:00,3.1\n2024-01-02T06:30:00Z,4.0\n",
        encoding="utf-8-sig",
    )
    output = tmp_path / "windows.nc"

    code, _, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--times-file",
        str(events), "--time", "2024-01-01T10:00:00+01:00", *WINDOW,
        "--no-progress", str(output),
    )  # fmt: skip

    expected = open_windows(
        collection_spec("sage"),
        ["2024-01-01T03:00:00", "2024-01-02T06:30:00", "2024-01-01T09:00:00"],
        60,
        120,
        network="XX",
        station="STA",
        location="00",
        channel="LH?",
        root=str(root),
    ).compute()
    assert code == EXIT_OK, err
    assert f"wrote {output}" in err
    assert "did not load fully" not in err
    assert not output.with_name("windows.nc.partial").exists()
    with xr.open_dataset(output, engine="h5netcdf") as written:
        assert written.waveform.dims == ("window", "trace", "lag")
        assert written.waveform.shape == (3, 2, 180)
        assert list(written.trace.values) == TRACES
        np.testing.assert_array_equal(written.window.values, expected.window.values)
        np.testing.assert_array_equal(written.lag.values, expected.lag.values)
        np.testing.assert_array_equal(written.waveform.values, expected.waveform.values)
        assert set(written.status.values.ravel()) == {"ok"}
        assert set(written.read_mode.values.ravel()) == {"ranged"}
        assert written.attrs["before_seconds"] == 60.0
        assert written.attrs["after_seconds"] == 120.0


def test_windows_without_data_are_named(
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # export shows its progress bar only where stderr is a terminal.
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    # 20:00 falls after the day's recording ends; 2024-01-03 has no object.
    events = times_file(
        tmp_path,
        "id,origin\n"
        "a,2024-01-01T03:00:00\n"
        "b,2024-01-03T12:00:00\n"
        "\n"
        "c,2024-01-01T20:00:00\n",
    )
    output = tmp_path / "windows.zarr"

    code, _, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--times-file",
        str(events), "--time-column", "origin", *WINDOW, "-p", "errors=ignore",
        str(output),
    )  # fmt: skip

    lines = err.splitlines()
    assert code == EXIT_PARTIAL
    assert "Completed" in err
    assert (
        "intake-earthscope: 2 of the output's 3 windows have traces that did "
        "not load fully: see its 'status' variable"
    ) in lines
    assert (
        f"intake-earthscope:   window 2024-01-03T12:00:00Z (line 3 of {events}): "
        "XX.STA.00.LHN missing, XX.STA.00.LHZ missing"
    ) in lines
    assert (
        f"intake-earthscope:   window 2024-01-01T20:00:00Z (line 5 of {events}): "
        "XX.STA.00.LHN no_data_in_window, XX.STA.00.LHZ no_data_in_window"
    ) in lines
    assert "2024-01-01T03:00:00Z" not in err
    assert err.index("Completed") < err.index("windows have traces")
    with xr.open_zarr(output) as written:
        assert list(written.status.values[0]) == ["ok", "ok"]
        assert list(written.status.values[1]) == ["missing", "missing"]
        assert np.isnan(written.waveform.values[1]).all()
        assert list(written.valid_fraction.values[2]) == [0.0, 0.0]


def test_windows_named_up_to_limit(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = [f"2024-01-04T12:{minute:02d}:00" for minute in range(NAMED_WINDOWS + 2)]
    times = [option for time in missing for option in ("--time", time)]

    code, _, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--time",
        "2024-01-01T03:00:00", *times, *WINDOW, "-p", "errors=ignore",
        "--no-progress", str(tmp_path / "windows.nc"),
    )  # fmt: skip

    named = [line for line in err.splitlines() if "  window " in line]
    assert code == EXIT_PARTIAL
    assert f"{NAMED_WINDOWS + 2} of the output's {NAMED_WINDOWS + 3} windows" in err
    assert len(named) == NAMED_WINDOWS
    assert named[0].endswith("(--time): XX.STA.00.LHN missing, XX.STA.00.LHZ missing")
    assert err.splitlines()[-1] == "intake-earthscope:   and 2 more windows"


def test_windows_missing_object_is_problem(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "windows.nc"

    code, _, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--time",
        "2024-01-01T03:00:00", "--time", "2024-01-03T12:00:00", *WINDOW,
        "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_PROBLEM
    assert day_key(3) in err
    assert "pass -p errors=warn or -p errors=ignore" in err
    assert "errors='warn'" not in err
    assert list(tmp_path.glob("windows.nc*")) == []


def test_windows_without_any_object_is_problem(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "windows.nc"

    code, _, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--time",
        "2024-01-05T12:00:00", *WINDOW, "-p", "errors=ignore", str(output),
    )  # fmt: skip

    assert code == EXIT_PROBLEM
    assert day_key(5) in err
    assert "pass -p sampling_rate= with exact channel codes, or --inventory" in err
    assert "inventory=" not in err
    assert not output.exists()


def test_windows_warning_after_progress_bar(
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # export shows its progress bar only where stderr is a terminal.
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--time",
        "2024-01-01T03:00:00", "--time", "2024-01-03T12:00:00", *WINDOW,
        "-p", "errors=warn", str(tmp_path / "windows.nc"),
    )  # fmt: skip

    warned = [line for line in err.splitlines() if "warning:" in line]
    assert code == EXIT_PARTIAL
    assert len(warned) == 1
    assert day_key(3) in warned[0]
    assert warned[0].startswith("intake-earthscope: warning: ")
    assert err.index("Completed") < err.index("warning:")


BAD_FILES = [
    pytest.param(
        "origin,magnitude\n2024-01-01T03:00:00,3\n",
        "column 'time' not found in times file {path!r}, whose header has the "
        "columns ['origin', 'magnitude']: name the column of times with "
        "--time-column",
        id="missing-column",
    ),
    pytest.param(
        "",
        "times file {path!r} is empty: expected a header line naming the column "
        "of reference times ('time')",
        id="empty-file",
    ),
    pytest.param(
        "\n\n",
        "times file {path!r} is empty",
        id="blank-lines",
    ),
    pytest.param(
        "time,magnitude\n",
        "no reference times: times file {path!r} has a header but no rows",
        id="header-only",
    ),
    pytest.param(
        "time\n2024-01-01T03:00:00\n10/11/2025\n",
        "invalid time '10/11/2025' on line 3 of {path!r} (column 'time'): "
        "expected an ISO 8601 time",
        id="bad-time",
    ),
    pytest.param(
        "time\n2024-400\n",
        "invalid time '2024-400' on line 2 of {path!r} (column 'time'): day of "
        "year 400 is not in 2024 (1 to 366); give a valid time or remove the row",
        id="bad-day-of-year",
    ),
    pytest.param(
        "time,magnitude\n2024-01-01T03:00:00,3\n,4\n",
        "missing time on line 3 of {path!r} (column 'time'): give a valid time "
        "or remove the row",
        id="blank-time",
    ),
    pytest.param(
        "magnitude,time\n3,2024-01-01T03:00:00\n4\n",
        "missing time on line 3",
        id="short-row",
    ),
    pytest.param(
        "2024-01-01T03:00:00\n2024-01-01T04:00:00\n",
        "the first line looks like data, but must be a header",
        id="no-header",
    ),
    pytest.param(
        "time\tmagnitude\n2024-01-01T03:00:00\t3\n",
        "separate the columns with commas",
        id="tab-separated",
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_windows_bad_times_file(
    content: str,
    message: str,
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = times_file(tmp_path, content)
    output = tmp_path / "windows.nc"

    code, _, err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--times-file",
        str(events), *WINDOW, str(output),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert message.format(path=str(events)) in err
    assert "Traceback" not in err
    assert list(tmp_path.glob("windows.nc*")) == []


def test_windows_unreadable_times_file(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = tmp_path / "absent.csv"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("time,place\n2024-01-01T03:00:00,Zürich\n".encode("latin-1"))

    absent_code, _, absent_err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--times-file",
        str(absent), *WINDOW, str(tmp_path / "a.nc"),
    )  # fmt: skip
    latin_code, _, latin_err = run(
        capsys, "export", *REQUEST, "--root", str(root), "--times-file",
        str(latin), *WINDOW, str(tmp_path / "b.nc"),
    )  # fmt: skip

    assert absent_code == EXIT_USAGE
    assert f"cannot read times file {str(absent)!r}: No such file" in absent_err
    assert latin_code == EXIT_USAGE
    assert "not UTF-8 text; save it as a UTF-8 CSV file" in latin_err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            ["--time", "yesterday", *WINDOW],
            "invalid time 'yesterday' given with --time: expected an ISO 8601 time",
            id="bad-time-option",
        ),
        pytest.param(
            ["--time", "", *WINDOW],
            "missing time given with --time: give a valid time",
            id="empty-time-option",
        ),
        pytest.param(
            ["--time", "2024-01-01T03:00:00", "--before", "60"],
            "missing --after: event windows need the seconds of data before and "
            "after each reference time",
            id="no-after",
        ),
        pytest.param(
            ["--time", "2024-01-01T03:00:00"],
            "missing --before and --after",
            id="no-before-after",
        ),
        pytest.param(
            ["--time", "2024-01-01T03:00:00", "--before", "-5", "--after", "60"],
            "invalid --before -5: expected seconds at or above 0",
            id="negative-before",
        ),
        pytest.param(
            ["--time", "2024-01-01T03:00:00", "--before", "0", "--after", "0"],
            "invalid window: --before 0 and --after 0 leave no time",
            id="empty-window",
        ),
        pytest.param(
            ["--time", "2024-01-01T03:00:00", "--before", "60", "--after", "90000"],
            "--after 90000 is 90060 s, longer than one day (86400 s); export a "
            "long span with --start and --end instead",
            id="window-over-a-day",
        ),
        pytest.param(
            ["--time", "2024-01-01T03:00:00", *WINDOW, "--start", "2024-01-01"],
            "--start cannot be used with event windows",
            id="start-with-windows",
        ),
        pytest.param(
            [
                "--time",
                "2024-01-01T03:00:00",
                *WINDOW,
                "-p",
                "remove_response=velocity",
            ],
            "-p remove_response cannot be used with event windows, which are "
            "written in counts",
            id="response-with-windows",
        ),
        pytest.param(
            ["--start", "2024-01-01", "--end", "2024-01-02", "--before", "60"],
            "--before can only be used with event windows: give the reference "
            "times with --times-file or --time",
            id="before-without-times",
        ),
        pytest.param(
            ["--time", "2024-01-01T03:00:00", *WINDOW, "--time-column", "origin"],
            "--time-column names a column of --times-file",
            id="column-without-file",
        ),
        pytest.param(
            ["--time", "2024-01-01T03:00:00", *WINDOW, "-p", "tier=fdsn"],
            "invalid -p tier=fdsn for event windows: the tier is a web service",
            id="web-service-tier",
        ),
    ],
)
def test_windows_invalid_options(
    arguments: list[str],
    message: str,
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "windows.nc"

    code, _, err = run(
        capsys, "export", *REQUEST, "--root", str(root), *arguments, str(output)
    )

    assert code == EXIT_USAGE
    assert message in err
    assert not output.exists()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("gage.positions", "event windows are read from miniSEED entries"),
        ("sage.stations", "a stations entry, which export does not write"),
    ],
)
def test_windows_of_other_entry_kinds(
    entry: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", entry, "--time", "2024-01-01T03:00:00", *WINDOW,
        str(tmp_path / "windows.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert message in err


def test_windows_from_loopback_s3(
    s3: LoopbackS3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(s3, "sage", recorded_days())
    output = tmp_path / "windows.zarr"

    code, _, err = run(
        capsys, "export", *REQUEST, "--time", "2024-01-01T03:00:00", "--time",
        "2024-01-02T06:00:00", *WINDOW, "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_OK, err
    with xr.open_zarr(output) as written:
        assert written.waveform.shape == (2, 2, 180)
        assert set(written.status.values.ravel()) == {"ok"}
        assert set(written.tier.values.ravel()) == {"open"}
        assert set(written.read_mode.values.ravel()) == {"ranged"}
        assert np.isfinite(written.waveform.values).all()


def test_windows_script_exit_code(root: Path, tmp_path: Path) -> None:
    events = times_file(tmp_path, "time\n2024-01-01T03:00:00\n2024-01-03T12:00:00\n")
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("AWS_")
    }
    environment.update(isolated_aws_variables(tmp_path))

    completed = subprocess.run(
        [
            sys.executable, "-m", "intake_earthscope.cli", "export", *REQUEST,
            "--root", str(root), "--times-file", str(events), *WINDOW,
            "-p", "errors=ignore", str(tmp_path / "windows.nc"),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )  # fmt: skip

    assert completed.returncode == EXIT_PARTIAL
    assert "Traceback" not in completed.stderr
    assert "1 of the output's 2 windows has traces" in completed.stderr
    assert (
        f"window 2024-01-03T12:00:00Z (line 3 of {events}): XX.STA.00.LHN "
        "missing, XX.STA.00.LHZ missing"
    ) in completed.stderr


def test_spelling_of_before_and_after() -> None:
    text = "invalid window: before=0 and after=0.0 leave no time; not after start="

    respelled = _command_line_spelling(text)

    assert respelled.startswith("invalid window: --before 0 and --after 0.0 leave")
    assert respelled.endswith("not after --start")


def test_windows_not_loaded_lists_pairs(tmp_path: Path) -> None:
    statuses = np.array([["ok", "ok"], ["missing", "ok"], ["ok", "truncated"]])
    dataset = xr.Dataset(
        {"status": (("window", "trace"), statuses)},
        coords={"trace": ["XX.STA.00.LHN", "XX.STA.00.LHZ"]},
    )
    export_dataset(dataset, tmp_path / "w.nc", "netcdf", progress=False)

    assert windows_not_loaded(tmp_path / "w.nc", "netcdf") == [
        IncompleteWindow(1, "XX.STA.00.LHN", "missing"),
        IncompleteWindow(2, "XX.STA.00.LHZ", "truncated"),
    ]


def test_windows_not_loaded_of_day_output(tmp_path: Path) -> None:
    dataset = xr.Dataset({"status": (("trace", "day"), np.array([["ok"]]))})
    export_dataset(dataset, tmp_path / "d.nc", "netcdf", progress=False)

    with pytest.raises(ValueError, match="is not a windows dataset"):
        windows_not_loaded(tmp_path / "d.nc", "netcdf")
