"""The ``intake-earthscope`` command line: listing, describing and exporting.

Exports read a local mirror holding a real station-day from obspy's wheel.
Most tests call ``main`` in the test process; one runs the installed script
to check the exit code a shell gets.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from intake_earthscope.cli import (
    EXIT_AUTH,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROBLEM,
    EXIT_USAGE,
    main,
)
from intake_earthscope.export import export_dataset, units_not_loaded

from conftest import OBSPY_MSEED_DATA, publish

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
REQUEST = [
    "--network",
    "CH",
    "--station",
    "BALST",
    "--location=--",
    "--channel",
    "LH?",
    "--start",
    "2025-11-10",
]
COMMANDS = ["list", "describe", "search", "availability", "export", "auth"]


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


def test_list_names_every_entry(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")

    assert code == EXIT_OK
    assert "sage.miniseed" in out
    assert "scedc.miniseed" in out
    assert "ncedc.miniseed" in out


def test_describe_shows_parameters_and_tiers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "describe", "sage.miniseed")

    assert code == EXIT_OK
    assert "errors (str) default 'raise', one of ['raise', 'warn', 'ignore']" in out
    assert "open: s3 earthscope-geophysical-data, region us-east-2" in out
    assert "key template: miniseed/{network}/{year}/{doy}/" in out


@pytest.mark.parametrize(
    ("entry", "arguments"),
    [
        (
            "sage.miniseed",
            "storage_options, root, inventory, neighbour_bytes, token, profile",
        ),
        ("gage.positions", "storage_options, root, token, profile"),
        ("scedc.stations", "seed_id, storage_options, root, token, profile, tier"),
        # GNSS station lists reject seismic codes, so none is listed.
        ("gage.stations", "storage_options, root, token, profile, tier"),
    ],
)
def test_describe_lists_python_arguments(
    entry: str, arguments: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "describe", entry)

    assert code == EXIT_OK
    assert f"keyword arguments (see the user guide): {arguments}\n" in out


def test_describe_unknown_entry_is_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "describe", "sage.nope")

    assert code == EXIT_USAGE
    assert "unknown entry 'sage.nope'" in err
    assert "sage.miniseed" in err


def test_describe_collection_names_its_entries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "describe", "sage")

    assert code == EXIT_USAGE
    assert "unknown entry 'sage': it is a nested catalog" in err
    assert "['sage.miniseed', 'sage.stations']" in err
    assert "gage.positions" not in err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([command, "--help"])

    assert stopped.value.code == 0
    assert "exit codes:" in capsys.readouterr().out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)

    assert code == EXIT_USAGE
    assert "commands:" in out


def test_export_netcdf_matches_the_source(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "balst.nc"

    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--end", "2025-11-11",
        "--root", str(mirror), str(output),
    )  # fmt: skip

    assert code == EXIT_OK
    assert f"wrote {output}" in err
    with xr.open_dataset(output, engine="h5netcdf") as written:
        assert list(written.trace.values) == ["CH.BALST..LHE", "CH.BALST..LHZ"]
        assert written.waveform.shape == (2, 86400)
        assert np.isfinite(written.waveform.values).sum() > 0
        assert set(written.status.values.ravel()) == {"ok"}


def test_export_zarr_with_a_missing_day_is_partial(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "balst.zarr"

    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--end", "2025-11-12",
        "--root", str(mirror), "-p", "errors=ignore", "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_PARTIAL
    assert "2 of the output's trace-days did not load fully" in err
    with xr.open_zarr(output) as written:
        assert written.waveform.shape == (2, 2 * 86400)
        assert list(written.status.values[:, 1]) == ["missing", "missing"]


def test_export_refuses_to_overwrite(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "balst.nc"
    output.write_text("keep me")

    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--end", "2025-11-11",
        "--root", str(mirror), str(output),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "exists" in err
    assert output.read_text() == "keep me"


def test_export_overwrite_replaces_the_output(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "balst.nc"
    output.write_text("old")

    code, _, _ = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--end", "2025-11-11",
        "--root", str(mirror), "--overwrite", "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_OK
    assert not output.with_name("balst.nc.partial").exists()
    with xr.open_dataset(output, engine="h5netcdf") as written:
        assert written.waveform.shape == (2, 86400)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-p", "bogus=1", "out.nc"], "sage.miniseed does not take -p bogus: it"),
        (["-p", "errors", "out.nc"], "invalid --param 'errors'"),
        (["--end", "2025-11-09", "out.nc"], "is not after --start"),
        (["--end", "2025-11-11", "out.txt"], "cannot tell the format"),
        (
            ["--end", "2025-11-11", "-p", "errors=sometimes", "out.nc"],
            "errors=sometimes",
        ),
        (["--end", "2025-11-11", "-p", "tier=ftp", "out.nc"], "invalid -p tier=ftp"),
    ],
)
def test_export_invalid_request_is_usage_error(
    arguments: list[str],
    message: str,
    mirror: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)

    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--root", str(mirror), *arguments
    )

    assert code == EXIT_USAGE
    assert message in err
    assert not list(tmp_path.glob("out.*"))


def test_unknown_parameters_spelled_as_options(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An option the entry does not take is named as it was given, and the
    parameters it takes as options or as -p NAME=VALUE."""
    code, _, err = run(
        capsys, "export", "noaa_cors.rinex_obs", "--station", "ABCD",
        "--cha", "LHZ", "-p", "colour=red", "--start", "2024-01-01",
        "--end", "2024-01-02", "--root", str(mirror), str(tmp_path / "x.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "noaa_cors.rinex_obs does not take --channel or -p colour:" in err
    assert "it takes --end, --start, --station and -p NAME=VALUE for errors" in err
    assert "['channel']" not in err


def test_export_of_a_missing_object_is_a_problem(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST[:-1], "2025-11-12",
        "--end", "2025-11-13", "--root", str(mirror), str(tmp_path / "x.nc"),
    )  # fmt: skip

    assert code == EXIT_PROBLEM
    assert "BALST.CH.2025.316" in err
    assert not (tmp_path / "x.nc").exists()
    assert not (tmp_path / "x.nc.partial").exists()


def test_auth_without_a_token_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "auth")

    assert code == EXIT_AUTH
    assert "token: none" in out


@pytest.mark.parametrize("network", ["I*", "IU,II", "I.U"])
def test_auth_rejects_bad_network(
    capsys: pytest.CaptureFixture[str], network: str
) -> None:
    code, out, err = run(capsys, "auth", "--network", network)

    assert code == EXIT_USAGE
    assert "invalid" in err
    assert "token" not in out


def test_package_runs_as_module() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "intake_earthscope", "describe", "nowhere.at_all"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == EXIT_USAGE
    assert "nowhere.at_all" in completed.stderr


def test_script_exit_code_reaches_the_shell(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "intake_earthscope.cli", "describe", "nowhere.at_all"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == EXIT_USAGE
    assert "unknown entry 'nowhere.at_all'" in completed.stderr


def test_export_dataset_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid output format 'csv'"):
        export_dataset(xr.Dataset(), tmp_path / "x.csv", "csv")


def test_units_not_loaded_counts_statuses(tmp_path: Path) -> None:
    statuses = np.array([["ok", "missing"], ["ok", "truncated"]])
    dataset = xr.Dataset({"status": (("station", "day"), statuses)})
    export_dataset(dataset, tmp_path / "s.nc", "netcdf", progress=False)

    assert units_not_loaded(tmp_path / "s.nc", "netcdf") == 2


def test_search_prints_matching_channels(
    s3, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = (shared_data / "stationxml" / "CI_WBM.xml").read_bytes()
    publish(s3, "scedc", {"FDSNstationXML/CI/CI_WBM.xml": xml})

    code, out, _ = run(
        capsys, "search", "scedc.stations", "--network", "CI", "--station", "WBM",
        "--channel", "LH?", "--format", "csv",
    )  # fmt: skip

    assert code == EXIT_OK
    rows = out.strip().splitlines()
    assert rows[0].startswith("network,station,location,channel,latitude")
    assert {row.split(",")[3] for row in rows[1:]} >= {"LHZ", "LHN", "LHE"}


def test_search_without_matches_succeeds(
    s3, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = (shared_data / "stationxml" / "CI_WBM.xml").read_bytes()
    publish(s3, "scedc", {"FDSNstationXML/CI/CI_WBM.xml": xml})

    code, out, err = run(
        capsys, "search", "scedc.stations", "--network", "CI", "--station", "WBM",
        "--minlatitude", "60",
    )  # fmt: skip

    # An empty search is no failure, and the hint is on stderr.
    assert code == EXIT_OK
    assert "(no rows)" in out
    assert "--minlatitude 60" in err
    assert "latitudes 35.6084 to 35.6084" in err


@pytest.mark.parametrize(
    ("entry", "example"),
    [
        ("scedc.miniseed", "scedc.stations"),
        ("gage.positions", "gage.stations"),
        ("geonet.rinex_obs", "sage.stations"),
    ],
)
def test_search_of_a_waveform_entry_is_usage_error(
    capsys: pytest.CaptureFixture[str], entry: str, example: str
) -> None:
    """The message offers the same archive's stations entry where it has one."""
    code, _, err = run(capsys, "search", entry, "--network", "IU")

    assert code == EXIT_USAGE
    assert "not a stations entry" in err
    assert f"search one such as {example} " in err


def test_availability_marks_the_missing_day(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "availability.png"

    code, out, err = run(
        capsys, "availability", "sage.miniseed", *REQUEST, "--end", "2025-11-12",
        "--root", str(mirror), "--format", "csv", "--plot", str(png),
    )  # fmt: skip

    assert code == EXIT_OK
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame["exists"]) == [True, False]
    # Days are naive UTC midnights, which pandas writes as dates.
    assert list(frame["day"]) == ["2025-11-10", "2025-11-11"]
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert f"wrote {png}" in err


def test_availability_rejects_read_parameters(
    mirror: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Parameters that only reads use are rejected, not dropped in silence."""
    code, out, err = run(
        capsys, "availability", "sage.miniseed", *REQUEST, "--root", str(mirror),
        "-p", "errors=warn", "-p", "sampling_rate=40",
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert out == ""
    assert "does not use -p errors and -p sampling_rate" in err
    assert "give those parameters to export instead" in err


@pytest.mark.parametrize(
    "window", [(), ("--start", "2025-11-10", "--end", "2025-11-11")]
)
def test_availability_of_stations_entry(
    mirror: Path, capsys: pytest.CaptureFixture[str], window: tuple[str, ...]
) -> None:
    """A stations entry is rejected by kind, with or without a window."""
    code, _, err = run(
        capsys, "availability", "scedc.stations", "--network", "CI",
        "--station", "WBM", "--root", str(mirror), *window,
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "a stations entry, which has no objects by day" in err
    assert "intake-earthscope search scedc.stations" in err


def test_export_overwrite_keeps_other_directories(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "keep.txt").write_text("years of work")

    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--end", "2025-11-11",
        "--root", str(mirror), "--format", "netcdf", "--overwrite", str(results),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "no Zarr store" in err
    assert (results / "keep.txt").read_text() == "years of work"


def test_export_overwrite_replaces_a_zarr_store(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "balst.zarr"
    arguments = [
        "export", "sage.miniseed", *REQUEST, "--end", "2025-11-11",
        "--root", str(mirror), "--no-progress", str(output),
    ]  # fmt: skip
    assert run(capsys, *arguments)[0] == EXIT_OK

    code, _, _ = run(capsys, *arguments, "--overwrite")

    assert code == EXIT_OK
    assert not output.with_name("balst.zarr.partial").exists()


def test_export_to_missing_directory_is_usage_error(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "absent" / "out.nc"

    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--end", "2025-11-11",
        "--root", str(mirror), str(output),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "does not exist" in err


def test_interrupted_export_leaves_no_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = xr.Dataset({"values": ("x", np.arange(4.0))})

    def interrupt(self: xr.Dataset, path: Path, **kwargs: object) -> None:
        Path(path).write_text("half written")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", interrupt)

    with pytest.raises(KeyboardInterrupt):
        export_dataset(dataset, tmp_path / "out.nc", "netcdf", progress=False)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [("sources: [1, 2\n", "cannot read catalog"), ("\x00binary", "cannot read")],
)
def test_unreadable_catalog_is_usage_error(
    content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "bad.yaml"
    catalog.write_text(content)

    code, _, err = run(capsys, "list", "--catalog", str(catalog))

    assert code == EXIT_USAGE
    assert message in err
    assert "Traceback" not in err


def test_export_removes_response_with_inventory(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "scedc"
    key = root / "continuous_waveforms/2022/2022_001/CIWBM__LHZ___2022001.ms"
    key.parent.mkdir(parents=True)
    shutil.copy(shared_data / "miniseed" / "CIWBM__LHZ___2022001.ms", key)
    output = tmp_path / "wbm.nc"

    code, _, err = run(
        capsys, "export", "scedc.miniseed", "--network", "CI", "--station", "WBM",
        "--location=--", "--channel", "LHZ", "--start", "2022-01-01",
        "--end", "2022-01-02", "--root", str(root), "-p", "remove_response=velocity",
        "--inventory", str(shared_data / "stationxml" / "CI_WBM.xml"),
        "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_OK, err
    with xr.open_dataset(output, engine="h5netcdf") as written:
        assert written.waveform.attrs["units"] == "m/s"
        assert np.nanmax(np.abs(written.waveform.values)) < 1.0


def test_search_reads_a_mirror(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "scedc"
    xml = root / "FDSNstationXML/CI/CI_WBM.xml"
    xml.parent.mkdir(parents=True)
    shutil.copy(shared_data / "stationxml" / "CI_WBM.xml", xml)

    code, out, _ = run(
        capsys, "search", "scedc.stations", "--network", "CI", "--station", "WBM",
        "--channel", "LHZ", "--root", str(root), "--format", "csv",
    )  # fmt: skip

    assert code == EXIT_OK
    assert ",WBM,," in out or ",WBM," in out


def test_search_max_age_zero_fetches_again(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A station added to a mirror shows with --max-age 0, not from the cache."""
    text = (shared_data / "stationxml" / "CI_WBM.xml").read_text()
    folder = tmp_path / "scedc" / "FDSNstationXML/CI"
    folder.mkdir(parents=True)
    (folder / "CI_WBM.xml").write_text(text)
    search = (
        "search", "scedc.stations", "--network", "CI", "--station", "W*",
        "--root", str(tmp_path / "scedc"), "--format", "csv",
    )  # fmt: skip

    run(capsys, *search)
    (folder / "CI_WZZ.xml").write_text(text.replace('code="WBM"', 'code="WZZ"'))
    _, cached, _ = run(capsys, *search)
    code, fresh, _ = run(capsys, *search, "--max-age", "0")

    assert ",WZZ," not in cached
    assert code == EXIT_OK
    assert ",WZZ," in fresh
    assert ",WBM," in fresh


@pytest.mark.parametrize("value", ["-1", "soon", "inf"])
def test_search_rejects_invalid_max_age(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["search", "scedc.stations", f"--max-age={value}"])
    err = capsys.readouterr().err

    assert exited.value.code == EXIT_USAGE
    assert f"invalid number of seconds: '{value}'" in err


def test_availability_of_missing_root_is_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "availability", "sage.miniseed", *REQUEST, "--end", "2025-11-12",
        "--root", str(tmp_path / "absent"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "no such directory" in err


def test_export_parameter_of_wrong_type_is_named(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--end", "2025-11-11",
        "--root", str(mirror), "-p", "sampling_rate=abc", str(tmp_path / "x.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "invalid -p sampling_rate=abc" in err


def test_export_failure_names_cli_options(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--end", "2025-11-12",
        "--root", str(mirror), "--no-progress", str(tmp_path / "x.nc"),
    )  # fmt: skip

    assert code == EXIT_PROBLEM
    assert "BALST.CH.2025.315" in err
    assert "pass -p errors=warn or -p errors=ignore" in err
    assert "errors='warn'" not in err


def test_export_warning_on_one_line(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--end", "2025-11-12",
        "--root", str(mirror), "-p", "errors=warn", "--no-progress",
        str(tmp_path / "x.nc"),
    )  # fmt: skip

    warned = [line for line in err.splitlines() if "BALST.CH.2025.315" in line]
    assert code == EXIT_PARTIAL
    assert len(warned) == 1
    assert warned[0].startswith("intake-earthscope: warning: ")
    assert ".py:" not in err
    assert "ReadOutcomeWarning" not in err
    # The line that points Python users at outcome_table is left out.
    assert "outcome_table" not in err
    assert all(line.startswith("intake-earthscope: ") for line in err.splitlines())


def test_export_warning_after_progress_bar(
    mirror: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # export shows its progress bar only where stderr is a terminal.
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(
        capsys, "export", "sage.miniseed", *REQUEST, "--end", "2025-11-12",
        "--root", str(mirror), "-p", "errors=warn", str(tmp_path / "x.nc"),
    )  # fmt: skip

    warned = [line for line in err.splitlines() if "warning:" in line]
    assert code == EXIT_PARTIAL
    assert "Completed" in err
    assert len(warned) == 1
    assert warned[0].startswith("intake-earthscope: warning: ")
    assert err.index("Completed") < err.index("intake-earthscope: warning: ")
