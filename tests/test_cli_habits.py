"""Habits that users bring from obspy, pandas and other command-line tools.

A duration given as ``end`` through the catalog, obspy's option names on the
command line, duration text for ``--before`` and ``--after``, ``to_zarr()``
of a dataset straight from Python, and export's progress bar in a pipe.

The mirror contains real miniSEED written by tests/mseedgen.py: station XX.STA
with LHN and LHZ at 1 Hz from 00:00 to 01:00 on 2024-01-01.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import subprocess
import sys
import warnings
from pathlib import Path

import intake
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from intake_earthscope import open_waveforms
from intake_earthscope.cli import EXIT_OK, EXIT_USAGE, main
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.testing import isolated_aws_variables

import mseedgen
from conftest import CATALOGS, collection_spec, mirror

KEY = "miniseed/XX/2024/001/STA.XX.2024.001"
CODES = ["--network", "XX", "--station", "STA", "--location", "00"]
REQUEST = ["sage.miniseed", *CODES, "--channel", "LH?"]
SPAN = ["--start", "2024-01-01T00:00", "--end", "2024-01-01T00:30"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    station_day = mseedgen.station_day(
        channels={"LHN": 1.0, "LHZ": 1.0},
        seconds=3600.0,
        station="XX.STA.00",
        start="2024-01-01T00:00:00Z",
    )
    return mirror(tmp_path / "mirror", {KEY: station_day.data})


@pytest.fixture
def catalog() -> intake.Catalog:
    return intake.open_catalog(str(CATALOGS / "earthscope.yaml"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def waveforms(root: Path) -> xr.Dataset:
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="00",
        channel="LH?",
        start="2024-01-01T00:00",
        end="2024-01-01T00:30",
        root=str(root),
    )


# A duration as end, through the catalog (intake passes text) and directly.


@pytest.mark.parametrize(
    ("end", "suggested"),
    [
        pytest.param(pd.Timedelta("1D"), "2025-11-11T06:00:00Z", id="timedelta"),
        pytest.param(np.timedelta64(6, "h"), "2025-11-10T12:00:00Z", id="numpy"),
        pytest.param("1D", "2025-11-11T06:00:00Z", id="pandas-text"),
        pytest.param("PT6H", "2025-11-10T12:00:00Z", id="iso-duration"),
        pytest.param("2h30min", "2025-11-10T08:30:00Z", id="two-units"),
    ],
)
def test_catalog_end_as_duration(
    catalog: intake.Catalog, end: object, suggested: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        catalog.sage.miniseed(
            network="IU", station="ANMO", start="2025-11-10T06:00", end=end
        )

    message = str(caught.value)
    assert "end is a time, not a duration, so give start plus the duration" in message
    assert f"end='{suggested}'" in message
    assert "ISO 8601" not in message


def test_catalog_and_core_give_one_hint(catalog: intake.Catalog) -> None:
    arguments = {"network": "IU", "station": "ANMO", "start": "2025-11-10"}
    end = pd.Timedelta("1D")

    with pytest.raises(InvalidRequestError) as through_catalog:
        catalog.sage.miniseed(**arguments, end=end)
    with pytest.raises(InvalidRequestError) as through_core:
        open_waveforms(collection_spec("sage"), **arguments, end=end)

    hint = "so give start plus the duration: end='2025-11-11T00:00:00Z'"
    assert str(through_catalog.value).endswith(hint)
    assert str(through_core.value).endswith(hint)


def test_clock_text_end_names_both_readings(catalog: intake.Catalog) -> None:
    # intake writes datetime.timedelta(hours=6) as "6:00:00", which could
    # also be meant as a time of day.
    with pytest.raises(InvalidRequestError) as caught:
        catalog.sage.miniseed(
            network="IU",
            station="ANMO",
            start="2025-11-10T06:00",
            end=dt.timedelta(hours=6),
        )

    message = str(caught.value)
    assert message.startswith("invalid end='6:00:00': end is a time")
    assert "end='2025-11-10T12:00:00Z'" in message
    assert "For a time of day, give the date too: end='2025-11-10T06:00:00Z'" in message


def test_catalog_start_as_duration(catalog: intake.Catalog) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        catalog.sage.miniseed(
            network="IU", station="ANMO", start="1D", end="2025-11-11"
        )

    assert "invalid start='1D': start is a time, not a duration" in str(caught.value)


def test_catalog_times_still_read(catalog: intake.Catalog) -> None:
    source = catalog.sage.miniseed(
        network="IU", station="ANMO", start="2025-314", end="2025-11-11T06:00Z"
    )

    assert "2025-11-10T00:00:00Z..2025-11-11T06:00:00Z" in repr(source)


def test_cli_end_as_duration(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", *REQUEST, "--start", "2024-01-01", "--end", "1D",
        "--root", str(root), str(tmp_path / "out.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "invalid --end 1D: end is a time, not a duration" in err
    assert "start plus the duration: --end 2024-01-02T00:00:00Z" in err


# obspy's and FDSN's option names on the command line.


@pytest.mark.parametrize(
    ("arguments", "hint"),
    [
        pytest.param(
            ["export", *REQUEST, "--starttime", "2024-01-01", "--endtime",
             "2024-01-02", "out.nc"],
            "unknown options --starttime and --endtime: use --start for obspy's "
            "starttime and --end for obspy's endtime",
            id="export",
        ),
        pytest.param(
            ["export", "--starttime=2024-01-01", *REQUEST, "--end", "2024-01-02",
             "out.nc"],
            "unknown option --starttime: use --start for obspy's starttime",
            id="export-equals-first",
        ),
        pytest.param(
            ["availability", *REQUEST, "--starttime", "2024-01-01", "--end",
             "2024-01-02"],
            "unknown option --starttime: use --start for obspy's starttime",
            id="availability",
        ),
        pytest.param(
            ["search", "sage.stations", "--endtime", "2024-01-02"],
            "unknown option --endtime: use --end for obspy's endtime",
            id="search",
        ),
    ],
)  # fmt: skip
def test_obspy_option_names(
    arguments: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *arguments)

    assert code == EXIT_USAGE
    assert out == ""
    assert hint in err
    command = arguments[0]
    assert f"(run `intake-earthscope {command} --help`)" in err
    assert "usage: intake-earthscope [-h]" not in err


def test_fdsn_abbreviations_still_read(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --net, --loc and --cha are aliases of --network, --location and
    # --channel.
    output = tmp_path / "out.nc"

    code, _, err = run(
        capsys, "export", "sage.miniseed", "--net", "XX", "--station", "STA",
        "--loc", "00", "--cha", "LHZ", *SPAN, "--root", str(root),
        "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_OK, err
    with xr.open_dataset(output, engine="h5netcdf") as written:
        assert written["trace"].values.tolist() == ["XX.STA.00.LHZ"]


def test_other_commands_keep_argparse_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["list", "--starttime", "2024-01-01"])

    err = capsys.readouterr().err
    assert caught.value.code == EXIT_USAGE
    assert "unrecognized arguments: --starttime 2024-01-01" in err
    assert "use --start" not in err


def test_unknown_option_names_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["availability", *REQUEST, *SPAN, "--nosuch", "x"])

    err = capsys.readouterr().err
    assert caught.value.code == EXIT_USAGE
    assert "usage: intake-earthscope availability" in err
    assert "unrecognized arguments: --nosuch x" in err


@pytest.mark.parametrize(
    ("parameter", "hint"),
    [
        ("starttime", "use --start for obspy's starttime"),
        ("endtime", "use --end for obspy's endtime"),
        ("net", "use --network for FDSN's net"),
    ],
    ids=["starttime", "endtime", "net"],
)
def test_obspy_parameter_names(
    parameter: str, hint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", *REQUEST, *SPAN, "-p", f"{parameter}=2024-01-01",
        str(tmp_path / "out.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert f"unknown parameter {parameter} for sage.miniseed: {hint}" in err


# --before and --after take duration text, as before= and after= do.


def test_window_offsets_as_durations(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "windows.nc"

    code, _, err = run(
        capsys, "export", *REQUEST, "--time", "2024-01-01T00:10:00",
        "--before", "1m", "--after", "30s", "--root", str(root),
        "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_OK, err
    with xr.open_dataset(output, engine="h5netcdf") as written:
        assert written.attrs["before_seconds"] == 60.0
        assert written.attrs["after_seconds"] == 30.0
        assert written.sizes["lag"] == 90


@pytest.mark.parametrize(
    ("offsets", "message"),
    [
        pytest.param(
            ["--before", "1x", "--after", "30"],
            "invalid --before 1x: expected seconds, such as 60, or a duration "
            "with a unit, such as 30s, 2min or 1h",
            id="no-duration",
        ),
        pytest.param(
            ["--before", "60", "--after", "2024-01-01"],
            "invalid --after 2024-01-01: after is a duration, not a time; give seconds",
            id="time-as-offset",
        ),
        pytest.param(
            ["--before=-1min", "--after", "30"],
            "invalid --before -1min: expected a duration at or above 0",
            id="negative-text",
        ),
        pytest.param(
            ["--before", "-30s", "--after", "30"],
            "invalid --before -30s: expected a duration at or above 0",
            id="negative-separate",
        ),
        pytest.param(
            ["--before", "30", "--after", "-.5"],
            "invalid --after -.5: expected seconds at or above 0",
            id="negative-number-separate",
        ),
        pytest.param(
            ["--before", "1min", "--after", "1D"],
            "invalid window: --before 1min plus --after 1D is 86460 s, longer "
            "than one day (86400 s)",
            id="longer-than-a-day",
        ),
    ],
)
def test_invalid_window_offsets(
    offsets: list[str],
    message: str,
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        capsys, "export", *REQUEST, "--time", "2024-01-01T00:10:00", *offsets,
        "--root", str(root), str(tmp_path / "windows.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert message in err
    assert "invalid float value" not in err


def test_window_offsets_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])

    out = " ".join(capsys.readouterr().out.split())
    assert "--before DURATION" in out
    assert "seconds, such as 60, or a duration with a unit, such as 30s" in out


# to_zarr() of a day dataset from Python.


def test_plain_to_zarr_warns_about_text(root: Path, tmp_path: Path) -> None:
    # Zarr format 3, the default of zarr-python 3, has no specification for
    # fixed-width text, so the guide gives to_zarr(path, zarr_format=2).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        waveforms(root).to_zarr(tmp_path / "plain.zarr")

    categories = {warning.category.__name__ for warning in caught}
    assert "UnstableSpecificationWarning" in categories


def test_zarr_format_2_is_quiet(root: Path, tmp_path: Path) -> None:
    dataset = waveforms(root)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset.to_zarr(tmp_path / "v2.zarr", zarr_format=2)
        with xr.open_zarr(tmp_path / "v2.zarr") as written:
            statuses = written["status"].values.tolist()

    assert [str(warning.message) for warning in caught] == []
    assert statuses == [["ok"], ["ok"]]


def test_export_to_zarr_is_quiet(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "day.zarr"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err = run(
            capsys, "export", *REQUEST, *SPAN, "--root", str(root),
            "--no-progress", str(output),
        )  # fmt: skip

    assert code == EXIT_OK, err
    assert "warning" not in err
    assert [str(warning.message) for warning in caught] == []
    metadata = json.loads((output / ".zmetadata").read_text())["metadata"]
    assert metadata["status/.zarray"]["dtype"] == "<U24"
    assert metadata["tier/.zarray"]["dtype"] == "<U16"


# Export's progress bar goes to a terminal only.


def export_command(root: Path, output: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "intake_earthscope.cli", "export", *REQUEST, *SPAN,
        "--root", str(root), *extra, str(output),
    ]  # fmt: skip


def subprocess_environment(tmp_path: Path) -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("AWS_")
    }
    environment.update(isolated_aws_variables(tmp_path))
    return environment


def run_with_terminal_stderr(command: list[str], environment: dict[str, str]) -> str:
    """Run ``command`` with a pseudo-terminal as stderr and return what it wrote."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        env=environment,
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            # Linux raises EIO once the child closed the terminal's last end.
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert process.wait(timeout=120) == EXIT_OK
    return b"".join(chunks).decode()


def test_progress_bar_left_out_of_pipe(root: Path, tmp_path: Path) -> None:
    completed = subprocess.run(
        export_command(root, tmp_path / "piped.nc"),
        capture_output=True,
        text=True,
        env=subprocess_environment(tmp_path),
        timeout=120,
        check=False,
    )

    assert completed.returncode == EXIT_OK, completed.stderr
    assert "\r" not in completed.stderr
    assert "Completed" not in completed.stderr
    assert completed.stderr.startswith("intake-earthscope: wrote ")


def test_progress_bar_on_terminal(root: Path, tmp_path: Path) -> None:
    environment = subprocess_environment(tmp_path)

    with_bar = run_with_terminal_stderr(
        export_command(root, tmp_path / "shown.nc"), environment
    )
    without_bar = run_with_terminal_stderr(
        export_command(root, tmp_path / "hidden.nc", "--no-progress"), environment
    )

    assert "% Completed" in with_bar
    assert "wrote" in with_bar
    assert "Completed" not in without_bar
    assert "wrote" in without_bar


def test_blank_time_column_rejected(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.csv"
    events.write_text("time\n2024-01-01T00:10:00\n")

    code, _, err = run(
        capsys, "export", *REQUEST, "--times-file", str(events), "--time-column",
        "", "--before", "30", "--after", "60", "--root", str(root),
        str(tmp_path / "windows.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "invalid --time-column ''" in err
    assert not (tmp_path / "windows.nc").exists()


def test_comment_line_in_times_file(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.csv"
    events.write_text("# events of the test\ntime\n2024-01-01T00:10:00\n")

    code, _, err = run(
        capsys, "export", *REQUEST, "--times-file", str(events), "--before",
        "30", "--after", "60", "--root", str(root), str(tmp_path / "windows.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "remove the lines that start with '#'" in err
    assert "--time-column" not in err
