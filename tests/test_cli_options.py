"""Option names and values of the command line: FDSN's short code options,
the obspy-option hint, values echoed as typed, and checks that reject a
request before the command imports xarray, dask or intake.

The mirrors contain real miniSEED written by tests/mseedgen.py: station XX.STA
with LHZ at 1 Hz from 00:00 to 01:00 on 2024-01-01, at location 00, or at the
blank location for the test of --loc=--.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from intake_earthscope.cli import EXIT_OK, EXIT_USAGE, main
from intake_earthscope.testing import isolated_aws_variables

import mseedgen
from conftest import mirror

KEY = "miniseed/XX/2024/001/STA.XX.2024.001"
SPAN = ["--start", "2024-01-01T00:00", "--end", "2024-01-01T00:30"]
TIME = ["--time", "2024-01-01T00:10:00"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    station_day = mseedgen.station_day(
        channels={"LHZ": 1.0},
        seconds=3600.0,
        station="XX.STA.00",
        start="2024-01-01T00:00:00Z",
    )
    return mirror(tmp_path / "mirror", {KEY: station_day.data})


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def exported_traces(output: Path) -> list[str]:
    with xr.open_dataset(output, engine="h5netcdf") as written:
        return written["trace"].values.tolist()


# FDSN's short names of the code options.


def test_fdsn_code_options_export(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.nc"

    code, _, err = run(
        capsys, "export", "sage.miniseed", "--net", "XX", "--sta", "STA",
        "--loc", "00", "--cha", "LHZ", *SPAN, "--root", str(root),
        "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_OK, err
    assert exported_traces(output) == ["XX.STA.00.LHZ"]


def test_fdsn_blank_location_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    station_day = mseedgen.station_day(
        channels={"LHZ": 1.0},
        seconds=3600.0,
        station="XX.STA.",
        start="2024-01-01T00:00:00Z",
    )
    root = mirror(tmp_path / "mirror", {KEY: station_day.data})
    output = tmp_path / "out.nc"

    code, _, err = run(
        capsys, "export", "sage.miniseed", "--network", "XX", "--station", "STA",
        "--loc=--", "--channel", "LHZ", *SPAN, "--root", str(root),
        "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_OK, err
    assert exported_traces(output) == ["XX.STA..LHZ"]


@pytest.mark.parametrize("command", ["search", "availability", "export"])
def test_fdsn_code_options_in_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])

    help_text = capsys.readouterr().out
    for name, short in [("network", "net"), ("station", "sta")]:
        assert f"--{name} {name.upper()}, --{short} {name.upper()}" in help_text
    for name, short in [("location", "loc"), ("channel", "cha")]:
        assert f"--{name} {name.upper()}, --{short} {name.upper()}" in help_text


def test_obspy_time_option_keeps_pointer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "availability", "sage.miniseed", "--net", "XX", "--sta", "STA",
        "--starttime", "2024-01-01", "--end", "2024-01-02",
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert out == ""
    assert "unknown option --starttime: use --start for obspy's starttime" in err


# The obspy-option hint reads option names, never their values.


def test_obspy_hint_ignores_values(capsys: pytest.CaptureFixture[str]) -> None:
    # argparse reads "--endtime" after --time-column as a missing value of
    # --time-column, and reports that.
    with pytest.raises(SystemExit) as caught:
        main(
            ["export", "sage.miniseed", "--network", "XX", *TIME, "--before", "1",
             "--after", "1", "--time-column", "--endtime", "out.nc"]
        )  # fmt: skip

    err = capsys.readouterr().err
    assert caught.value.code == EXIT_USAGE
    assert "argument --time-column: expected one argument" in err
    assert "use --end" not in err


def test_obspy_hint_after_value_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", "--station=--sta", "--endtime",
        "2024-01-02", "out.nc",
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "unknown option --endtime: use --end for obspy's endtime" in err
    assert "--sta:" not in err


# --before and --after are echoed as typed.


@pytest.mark.parametrize(
    ("offsets", "message"),
    [
        pytest.param(
            ["--before", "-60", "--after", "30"],
            "invalid --before -60: expected seconds at or above 0",
            id="negative-integer",
        ),
        pytest.param(
            ["--before", "30", "--after", "-.5"],
            "invalid --after -.5: expected seconds at or above 0",
            id="negative-fraction",
        ),
        pytest.param(
            ["--before", "0", "--after", "0"],
            "invalid window: --before 0 and --after 0 leave no time",
            id="empty-window",
        ),
        pytest.param(
            ["--before", "60.0", "--after", "86400"],
            "invalid window: --before 60.0 plus --after 86400 is 86460 s",
            id="longer-than-a-day",
        ),
    ],
)
def test_offsets_echoed_as_typed(
    offsets: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", "--network", "XX", *TIME, *offsets,
        "out.nc",
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert message in err
    assert ".0:" not in err


# The command line reads --before and --after with the parser of windows().


def test_time_as_offset_explained(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", "--network", "XX", *TIME,
        "--before", "60", "--after", "2024-01-01", "out.nc",
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "invalid --after 2024-01-01: after is a duration, not a time" in err
    assert "seconds, such as 60, or a duration with a unit" in err
    assert "so --before 60, --after 30 opens windows" in err


def test_unreadable_offset_names_forms(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", "--network", "XX", *TIME,
        "--before", "1x", "--after", "30", "out.nc",
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert (
        "invalid --before 1x: expected seconds, such as 60, or a duration with a "
        "unit, such as 30s, 2min or 1h" in err
    )
    assert "timedelta" not in err


# A suggested end is given once where both readings of clock text agree.


def test_clock_end_suggested_once(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", "--network", "XX", "--station", "STA",
        "--start", "2024-01-01", "--end", "23:59:59.9999999999", "--root",
        str(root), str(tmp_path / "out.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert err.count("--end 2024-01-01T23:59:59.999999999Z") == 1


# Checks that need no catalog run before xarray, dask and intake are imported.

HEAVY_MODULES = ("xarray", "dask", "intake", "intake_earthscope.windows")

# Runs main() and prints its exit code and which heavy modules it imported.
PROBE = """
import json, sys
from intake_earthscope.cli import main
code = main(sys.argv[1:])
heavy = [name for name in {heavy!r} if name in sys.modules]
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


def subprocess_environment(tmp_path: Path) -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("AWS_")
    }
    environment.update(isolated_aws_variables(tmp_path))
    return environment


def run_probe(tmp_path: Path, *argv: str) -> tuple[dict[str, object], str]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY_MODULES), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=subprocess_environment(tmp_path),
    )
    assert completed.stdout, completed.stderr
    return json.loads(completed.stdout.splitlines()[-1]), completed.stderr


def times_file(directory: Path) -> Path:
    path = directory / "events.csv"
    path.write_text("time\n2024-01-01T00:10:00\nyesterday\n")
    return path


LIGHT_REJECTIONS = [
    pytest.param(
        [*TIME, "--before", "-60", "--after", "30", "out.nc"],
        "invalid --before -60",
        id="negative-offset",
    ),
    pytest.param(
        [*TIME, "--before", "1x", "--after", "30", "out.nc"],
        "invalid --before 1x",
        id="unreadable-offset",
    ),
    pytest.param(
        [*TIME, "--before", "1h", "--after", "1D", "out.nc"],
        "longer than one day",
        id="window-over-a-day",
    ),
    pytest.param(
        ["--time", "yesterday", "--before", "60", "--after", "30", "out.nc"],
        "invalid time 'yesterday' given with --time",
        id="bad-time",
    ),
    pytest.param(
        ["--times-file", "{times}", "--before", "60", "--after", "30", "out.nc"],
        "invalid time 'yesterday' on line 3",
        id="bad-times-file",
    ),
    pytest.param(
        [*TIME, "--before", "60", "--after", "30", "--start", "2024-01-01", "o.nc"],
        "--start cannot be used with event windows",
        id="span-with-windows",
    ),
    pytest.param(
        [*SPAN, "-p", "tier", "out.nc"],
        "invalid --param 'tier': write NAME=VALUE",
        id="param-without-value",
    ),
    pytest.param(
        [*SPAN, "out.txt"],
        "cannot tell the format of output 'out.txt'",
        id="output-suffix",
    ),
    pytest.param(
        ["--start", "2024-01-02", "--end", "2024-01-01", "out.nc"],
        "invalid time window: --end 2024-01-01T00:00:00Z is not after",
        id="reversed-span",
    ),
    pytest.param(
        [*SPAN, "--before", "60", "out.nc"],
        "--before can only be used with event windows",
        id="offset-without-times",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), LIGHT_REJECTIONS)
def test_rejected_before_heavy_imports(
    arguments: list[str], message: str, tmp_path: Path
) -> None:
    arguments = [a.replace("{times}", str(times_file(tmp_path))) for a in arguments]

    result, err = run_probe(
        tmp_path, "export", "sage.miniseed", "--network", "XX", *arguments
    )

    assert result["code"] == EXIT_USAGE
    assert message in err
    assert result["heavy"] == []


def test_availability_rejected_before_heavy_imports(tmp_path: Path) -> None:
    result, err = run_probe(
        tmp_path, "availability", "sage.miniseed", "--network", "XX",
        "--start", "2024-01-02", "--end", "2024-01-01",
    )  # fmt: skip

    assert result["code"] == EXIT_USAGE
    assert "swap them" in err
    assert result["heavy"] == []


def test_nan_before_named(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", "--network", "XX", "--station", "STA",
        "--time", "2024-01-01T12:00:00", "--before", "nan", "--after", "60",
        "--root", str(root), str(tmp_path / "out.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "NaN is not a duration" in err
    assert "at or above 0" in err
