"""The command line where a newcomer first meets it: missing extras, entries
that do not fit a command, the login service out of reach, and help texts.

Exports read a local mirror holding a real station-day from obspy's wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from intake_earthscope import cli
from intake_earthscope.catalog import catalog_path
from intake_earthscope.cli import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, main
from intake_earthscope.export import export_dataset
from intake_earthscope.testing import isolated_aws_variables

from conftest import CLOSED_PORT_URL, OBSPY_MSEED_DATA

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
REQUEST = [
    "--network", "CH", "--station", "BALST", "--location=--", "--channel", "LH?",
    "--start", "2025-11-10", "--end", "2025-11-11",
]  # fmt: skip


open_real_source = cli._open_source


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


@pytest.mark.parametrize(
    ("suffix", "package"), [(".nc", "h5netcdf"), (".zarr", "zarr")]
)
def test_export_without_writer_package(
    suffix: str,
    package: str,
    mirror: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The test venv has the export extra installed. A None entry in
    # sys.modules makes importing the package fail as if it were absent.
    monkeypatch.setitem(sys.modules, package, None)
    opened = []

    def open_source(args: object) -> object:
        opened.append(args)
        return open_real_source(args)

    monkeypatch.setattr(cli, "_open_source", open_source)
    output = tmp_path / f"out{suffix}"

    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--root", str(mirror),
        str(output),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert f"needs the {package} package" in err
    assert 'pip install "intake-earthscope[export]"' in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert opened == []
    assert list(tmp_path.glob("out*")) == []


def closed_port_catalog(directory: Path) -> Path:
    """Copy the SAGE catalog with its station service on a closed loopback port."""
    shipped = catalog_path().parent / "sage.yaml"
    text = shipped.read_text()
    service = "https://service.earthscope.org/fdsnws/station/1/"
    assert service in text
    text = text.replace(service, CLOSED_PORT_URL + "fdsnws/station/1/")
    text = text.replace('["earthscope.org", "*.earthscope.org"]', '["127.0.0.1"]')
    (directory / "sage.yaml").write_text(text)
    top = directory / "catalog.yaml"
    top.write_text(
        "sources:\n"
        "  sage:\n"
        "    driver: yaml_file_cat\n"
        "    args:\n"
        '      path: "{{ CATALOG_DIR }}/sage.yaml"\n'
    )
    return top


def test_export_of_stations_entry(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = closed_port_catalog(tmp_path)
    output = tmp_path / "stations.nc"

    code, _, err = run(
        capsys, "export", "sage.stations", "--network", "CH", "--root", str(mirror),
        "--catalog", str(catalog), str(output),
    )  # fmt: skip

    # A request to the closed port would end in a connection error (exit 1),
    # so the usage error shows that none was attempted.
    assert code == EXIT_USAGE
    assert "invalid entry 'sage.stations': a stations entry" in err
    assert "intake-earthscope search sage.stations" in err
    assert "ConnectError" not in err
    assert not output.exists()


def test_auth_unreachable_login_has_no_traceback(tmp_path: Path) -> None:
    # A child process, because in pytest's process the root logger has
    # handlers, so the SDK's records never reach stderr as they do in a shell.
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AWS_") and name != "XDG_CONFIG_HOME"
    }
    environment.update(isolated_aws_variables(tmp_path))
    environment.update(
        {
            # Set by the autouse fixture too; repeated so the child cannot
            # reach a real login service whatever the parent's settings.
            "ES_OAUTH2__DOMAIN": CLOSED_PORT_URL,
            "ES_RESOURCES__API_URL": CLOSED_PORT_URL,
            "ES_OAUTH2__ALLOWED_HOSTS": '["127.0.0.1"]',
            "AWS_ENDPOINT_URL_S3": CLOSED_PORT_URL.rstrip("/"),
            "EARTHSCOPE_TOKEN": "garbage",
            "HOME": str(tmp_path),
            "APP_DIRECTORY": str(tmp_path / ".config" / "earthscope-cli"),
        }
    )

    completed = subprocess.run(
        [sys.executable, "-m", "intake_earthscope.cli", "auth"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )

    # Logging in again would not help, so the code is that of an unavailable
    # service, not of a token to renew.
    assert completed.returncode == EXIT_PROBLEM
    assert "could not reach the EarthScope login service" in completed.stdout
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.splitlines()) <= 1


@pytest.mark.parametrize("command", ["search", "availability", "export"])
def test_location_help_shows_blank_code(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])

    help_text = " ".join(capsys.readouterr().out.split())
    assert 'give the blank code as --location -- or --location ""' in help_text


def test_blank_location_as_empty_string(
    mirror: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = [a if a != "--location=--" else "--location=" for a in REQUEST]

    code, out, _ = run(
        capsys, "availability", "sage.miniseed", *request, "--root", str(mirror),
        "--format", "csv",
    )  # fmt: skip

    assert code == EXIT_OK
    assert f",{KEY},True," in out


def test_existing_output_names_cli_option(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.nc"
    output.write_text("keep me")

    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--root", str(mirror),
        str(output),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "exists: remove it or pass --overwrite" in err
    assert "overwrite=True" not in err
    assert output.read_text() == "keep me"


def test_export_dataset_names_keyword(tmp_path: Path) -> None:
    output = tmp_path / "out.nc"
    output.write_text("keep me")

    with pytest.raises(ValueError, match="remove it or pass overwrite=True"):
        export_dataset(xr.Dataset(), output, "netcdf", progress=False)


def help_of(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())


REQUEST_TIME_HELP = (
    "--start START the entry's start parameter; UTC time, ISO 8601",
    "--end END the entry's end parameter; UTC time, ISO 8601, exclusive",
)
SEARCH_TIME_HELP = (
    "--start START start of the time window, UTC, ISO 8601",
    "--end END end of the time window, UTC, ISO 8601, exclusive",
)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("search", SEARCH_TIME_HELP),
        ("availability", REQUEST_TIME_HELP),
        ("export", REQUEST_TIME_HELP),
    ],
)
def test_time_help_gives_format(
    command: str, expected: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    help_text = help_of(command, capsys)

    assert expected[0] in help_text
    assert expected[1] in help_text


def test_search_help_gives_degrees(capsys: pytest.CaptureFixture[str]) -> None:
    help_text = help_of("search", capsys)

    assert "--latitude LATITUDE centre of a radius search, degrees north" in help_text
    assert "--longitude LONGITUDE centre of a radius search, degrees east" in help_text


@pytest.mark.parametrize("entry", ["sage.miniseed", "gage.positions"])
def test_reversed_window_says_swap(
    entry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", entry, "--station", "BALST", "--start", "2025-11-12",
        "--end", "2025-11-10", str(tmp_path / "out.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "--end 2025-11-10T00:00:00Z is not after --start 2025-11-12" in err
    assert err.rstrip().endswith("; swap them")
    assert not (tmp_path / "out.nc").exists()


def test_equal_times_are_not_swapped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST[:-1], "2025-11-10",
        str(tmp_path / "out.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "is not after --start" in err
    assert "swap" not in err
