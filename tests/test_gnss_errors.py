"""GNSS entries reject bad requests in the words the waveform entries use.

The positions and RINEX entries, through the v1 catalog, built directly and
through their ``open_*`` functions, are held to the miniSEED entry's
messages: obspy's ``starttime=`` and ``endtime=``, a ``root=`` that is not a
directory, and a window whose end is not after its start. A missing position
file is read from a real ``.pos`` mirror on disk.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import intake
import pytest
import yaml

from intake_earthscope.cli import main
from intake_earthscope.errors import (
    InvalidRequestError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
    UnknownArgumentError,
)
from intake_earthscope.gnss.position_dataset import (
    open_gage_positions,
    open_positions,
)
from intake_earthscope.gnss.position_source import GnssPositionSource
from intake_earthscope.gnss.rinex_dataset import open_rinex_obs
from intake_earthscope.gnss.rinex_source import RinexObsSource
from intake_earthscope.timeutil import check_window_order

from conftest import CATALOGS

POLICY_HINT = "pass errors='warn' or errors='ignore' to read the other stations"


def product(archive: str, entry: str) -> dict[str, Any]:
    text = (CATALOGS / f"{archive}.yaml").read_text()
    return yaml.safe_load(text)["sources"][entry]["args"]["product"]


POSITIONS = product("gage", "positions")
RINEX = product("noaa_cors", "rinex_obs")


@pytest.fixture
def catalog() -> Any:
    with warnings.catch_warnings():
        # intake warns that it did not run the catalog's shell commands.
        warnings.simplefilter("ignore", UserWarning)
        return intake.open_catalog(str(CATALOGS / "earthscope.yaml"))


@pytest.fixture
def position_root(tmp_path: Path, shared_data: Path) -> str:
    """Return a mirror holding the real P156 file in the GAGE layout."""
    target = tmp_path / "products/position/P156/P156.cwu.final_nam14.pos"
    target.parent.mkdir(parents=True)
    target.write_bytes((shared_data / "gnss_pos/P156.pbo.final_igs08.pos").read_bytes())
    return str(tmp_path)


def miniseed(catalog: Any, **request: Any) -> Any:
    return catalog.sage.miniseed(network="IU", station="ANMO", **request)


def positions(catalog: Any, **request: Any) -> Any:
    return catalog.gage.positions(station="P156", **request)


def rinex(catalog: Any, **request: Any) -> Any:
    return catalog.noaa_cors.rinex_obs(station="SYNT", **request).to_dask()


ENTRIES: dict[str, Callable[..., Any]] = {
    "sage.miniseed": miniseed,
    "gage.positions": positions,
    "noaa_cors.rinex_obs": rinex,
}
GNSS_ENTRIES = ("gage.positions", "noaa_cors.rinex_obs")


def error_of(call: Callable[[], Any]) -> Exception:
    with pytest.raises(InvalidRequestError) as caught:
        call()
    return caught.value


# --- obspy's names of the times ---------------------------------------------


@pytest.mark.parametrize("entry", GNSS_ENTRIES)
@pytest.mark.parametrize("name", ["starttime", "endtime"])
def test_catalog_obspy_time_name(catalog: Any, entry: str, name: str) -> None:
    request = {"start": "2024-01-01", "end": "2024-01-06", name: "2024-01-02"}
    del request[name.removesuffix("time")]

    # The root does not exist, so the names must be checked before it.
    with pytest.raises(UnknownArgumentError) as caught:
        ENTRIES[entry](catalog, root="/nonexistent/mirror", **request)

    message = str(caught.value)
    assert isinstance(caught.value, TypeError)
    assert f"unknown parameter {name}" in message
    assert "use start= and end= in place of obspy's" in message
    assert f"{name.removesuffix('time')}='2024-01-02'" in message


@pytest.mark.parametrize(
    ("build", "where"),
    [
        (lambda **a: GnssPositionSource(POSITIONS, station="P156", **a), "Gnss"),
        (lambda **a: RinexObsSource(RINEX, station="SYNT", **a), "RinexObs"),
        (lambda **a: open_gage_positions(POSITIONS, station="P156", **a), "open_"),
        (lambda **a: open_rinex_obs(RINEX, station="SYNT", **a), "open_rinex"),
        (lambda **a: open_positions(["P156.pos"], **a), "open_positions"),
    ],
    ids=["position-source", "rinex-source", "open-gage", "open-rinex", "open-paths"],
)
def test_direct_obspy_time_names(build: Callable[..., Any], where: str) -> None:
    with pytest.raises(UnknownArgumentError) as caught:
        build(starttime="2024-01-01", endtime="2024-01-06")

    message = str(caught.value)
    assert message.startswith(where)
    assert "unknown parameters starttime, endtime" in message
    assert "start='2024-01-01', end='2024-01-06'" in message


@pytest.mark.parametrize("reader", ["gage_positions", "noaa_cors_rinex_obs"])
def test_v2_reader_obspy_time_name(reader: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        catalog = intake.open_catalog(str(CATALOGS / "earthscope_v2.yaml"))
    request = catalog(station="P156", start="2024-01-01", end="2024-01-02")[reader]

    with pytest.raises(UnknownArgumentError) as caught:
        request.to_dask(starttime="2024-01-01", root="/nonexistent/mirror")

    message = str(caught.value)
    assert "got unknown parameter starttime" in message
    assert "start='2024-01-01'" in message


def test_source_unknown_name_points_to_describe() -> None:
    with pytest.raises(UnknownArgumentError) as caught:
        GnssPositionSource(POSITIONS, statoin="P156")

    message = str(caught.value)
    assert "GnssPositionSource got unknown parameter statoin" in message
    assert "run describe() on the catalog entry" in message


def test_stations_entry_obspy_time_name(catalog: Any) -> None:
    with pytest.raises(UnknownArgumentError) as caught:
        catalog.gage.stations(starttime="2024-01-01")

    message = str(caught.value)
    assert message.startswith("StationsSource got unknown parameter starttime")
    assert "give times to search(start=..., end=...)" in message


def test_stations_entry_root_checked(catalog: Any) -> None:
    with pytest.raises(InvalidRequestError, match="no such directory"):
        catalog.gage.stations(root="/nonexistent/mirror")


# --- root= ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_catalog_root_matches_miniseed(catalog: Any, tmp_path: Path, kind: str) -> None:
    root = tmp_path / "mirror"
    if kind == "file":
        root.write_text("not a mirror")
    window = {"start": "2024-01-01", "end": "2024-01-02", "root": str(root)}

    messages = {
        entry: str(error_of(lambda call=call: call(catalog, **window)))
        for entry, call in ENTRIES.items()
    }

    problem = "not a directory" if kind == "file" else "no such directory"
    expected = (
        f"invalid root={str(root)!r}: {problem}; give the top of a mirror with "
        "the archive's key layout"
    )
    assert messages["sage.miniseed"] == expected
    assert messages["gage.positions"] == expected
    assert messages["noaa_cors.rinex_obs"] == expected


@pytest.mark.parametrize(
    "build",
    [
        lambda root: GnssPositionSource(POSITIONS, station="P156", root=root),
        lambda root: RinexObsSource(RINEX, station="SYNT", root=root),
        lambda root: open_gage_positions(
            POSITIONS, station="P156", start="2024-01-01", end="2024-01-02", root=root
        ),
        lambda root: open_rinex_obs(
            RINEX, station="SYNT", start="2024-01-01", end="2024-01-02", root=root
        ),
    ],
    ids=["position-source", "rinex-source", "open-gage", "open-rinex"],
)
def test_direct_root_missing(build: Callable[[str], Any]) -> None:
    with pytest.raises(InvalidRequestError, match="no such directory"):
        build("/nonexistent/mirror")


def test_root_url_needs_no_directory() -> None:
    source = GnssPositionSource(
        POSITIONS, station="P156", root="s3://bucket/mirror", storage_options={}
    )

    assert source._arguments["root"] == "s3://bucket/mirror"


def test_storage_options_not_mapping() -> None:
    with pytest.raises(InvalidRequestError, match="invalid storage_options="):
        RinexObsSource(RINEX, station="SYNT", storage_options="anon")


# --- a missing position file ------------------------------------------------


def assert_policy_hint(error: ObjectNotFoundError) -> None:
    message = str(error)
    assert "MISS.cwu.final_nam14.pos" in message
    assert message.endswith(f"; {POLICY_HINT} (status 'missing')")
    assert message.count(POLICY_HINT) == 1


def test_missing_position_file_hint(position_root: str) -> None:
    dataset = open_gage_positions(
        POSITIONS,
        station="P156,MISS",
        start="2008-01-01",
        end="2008-01-05",
        root=position_root,
    )

    with pytest.raises(ObjectNotFoundError) as caught:
        dataset.load()

    assert_policy_hint(caught.value)


def test_missing_position_file_span_hint(position_root: str) -> None:
    # Without start and end the open reads each file's header for its span.
    with pytest.raises(ObjectNotFoundError) as caught:
        open_gage_positions(POSITIONS, station="P156,MISS", root=position_root)

    assert_policy_hint(caught.value)


def test_missing_position_file_warns_without_hint(position_root: str) -> None:
    dataset = open_gage_positions(
        POSITIONS,
        station="MISS",
        start="2008-01-01",
        end="2008-01-05",
        root=position_root,
        errors="warn",
    )

    with pytest.warns(ReadOutcomeWarning) as caught:
        dataset.load()

    assert all(POLICY_HINT not in str(item.message) for item in caught)


def test_cli_missing_position_file_hint(
    position_root: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.nc"

    code = main(
        ["export", "gage.positions", "--station", "MISS", "--start", "2008-01-01",
         "--end", "2008-01-05", "--root", position_root, str(output)]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert code == 1
    assert "pass -p errors=warn or -p errors=ignore to read the other stations" in err
    assert not output.exists()


# --- a window whose end is not after its start ------------------------------


@pytest.mark.parametrize(
    ("end", "fix"),
    [("2024-01-01", "swap them"), ("2024-01-06", "give a later end")],
    ids=["reversed", "empty"],
)
def test_window_message_shared(catalog: Any, end: str, fix: str) -> None:
    window = {"start": "2024-01-06", "end": end}

    messages = {
        entry: str(error_of(lambda call=call: call(catalog, **window)))
        for entry, call in ENTRIES.items()
    }

    expected = (
        f"invalid time window: end={end}T00:00:00Z is not after "
        f"start=2024-01-06T00:00:00Z (end is exclusive); {fix}"
    )
    assert messages["sage.miniseed"] == expected
    assert messages["gage.positions"] == expected
    assert messages["noaa_cors.rinex_obs"] == expected


def test_rinex_source_checks_window_when_built() -> None:
    with pytest.raises(InvalidRequestError, match="swap them"):
        RinexObsSource(RINEX, station="SYNT", start="2024-01-06", end="2024-01-01")


def test_open_functions_share_window_message() -> None:
    expected = "end=2024-01-01T00:00:00Z is not after start=2024-01-06T00:00:00Z"
    window = {"start": "2024-01-06", "end": "2024-01-01"}

    with pytest.raises(InvalidRequestError) as positions_error:
        open_positions(["P156.pos"], **window)
    with pytest.raises(InvalidRequestError) as rinex_error:
        open_rinex_obs(RINEX, station="SYNT", **window)

    assert expected in str(positions_error.value)
    assert expected in str(rinex_error.value)


def test_check_window_order_accepts_later_end() -> None:
    assert check_window_order(0, 1) is None


def test_cli_rinex_empty_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["export", "noaa_cors.rinex_obs", "--station", "SYNT", "--start",
         "2024-03-01", "--end", "2024-03-01", str(tmp_path / "out.nc")]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert code == 2
    assert "--end 2024-03-01T00:00:00Z is not after --start" in err
    assert err.rstrip().endswith("; give a later end")


@pytest.mark.parametrize(
    "build",
    [
        lambda: GnssPositionSource(POSITIONS, station="DEMO00USA"),
        lambda: open_rinex_obs(RINEX, "demo00usa", "2024-01-01", "2024-01-02"),
    ],
    ids=["positions", "rinex"],
)
def test_long_station_name_hint(build: Callable[[], Any]) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        build()

    assert str(caught.value).endswith("is filed under 'DEMO'")
