"""Station tables of a mirror with one StationXML object per station.

A selected station without an object (SCEDC's layout,
``FDSNstationXML/{network}/{network}_{station}.xml``) gets no rows and one
warning that names it and its object, while the stations that have objects
are listed. A missing bucket, a root that does not exist and an object that
cannot be read stay errors. The objects are real StationXML of CI.WBM, in
local directories or on a moto server on loopback.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from intake_earthscope.browse import search_stations
from intake_earthscope.cli import EXIT_OK, EXIT_USAGE, main
from intake_earthscope.errors import (
    BucketNotFoundError,
    IntakeEarthScopeWarning,
    InvalidRequestError,
    StorageUnavailableError,
)

from conftest import bucket_of, publish

WBM_KEY = "FDSNstationXML/CI/CI_WBM.xml"
MISSING_KEY = "FDSNstationXML/CI/CI_XYZ.xml"
MISSING_WARNING = "no StationXML object for"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def wbm_xml(shared_data: Path) -> bytes:
    return (shared_data / "stationxml" / "CI_WBM.xml").read_bytes()


@pytest.fixture
def scedc_root(tmp_path: Path, wbm_xml: bytes) -> Path:
    """A local SCEDC mirror with the StationXML object of CI.WBM only."""
    root = tmp_path / "scedc"
    (root / WBM_KEY).parent.mkdir(parents=True)
    (root / WBM_KEY).write_bytes(wbm_xml)
    return root


def search(root: str, **criteria: Any) -> tuple[pd.DataFrame, list[str]]:
    """Search scedc.stations, and return the rows and the warnings' texts."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = search_stations("scedc", root=root, **criteria)
    for warning in caught:
        assert issubclass(warning.category, IntakeEarthScopeWarning)
    return table, [str(warning.message) for warning in caught]


def missing_warnings(messages: list[str]) -> list[str]:
    return [message for message in messages if message.startswith(MISSING_WARNING)]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# Local mirrors


def test_missing_station_others_listed(scedc_root: Path) -> None:
    table, messages = search(str(scedc_root), network="CI", station="WBM,XYZ")

    assert set(table["station"]) == {"WBM"}
    assert len(table) > 0
    assert len(messages) == 1
    message = messages[0]
    assert message.startswith("no StationXML object for station CI.XYZ in mirror")
    assert f"file://{scedc_root}/{MISSING_KEY} not found" in message
    assert "WBM" not in message
    assert "such as station='XY*'" in message


def test_only_station_missing_empty(scedc_root: Path) -> None:
    table, messages = search(str(scedc_root), network="CI", station="XYZ")

    assert len(table) == 0
    assert list(table.columns)[:2] == ["network", "station"]
    assert len(missing_warnings(messages)) == 1
    assert "CI.XYZ" in missing_warnings(messages)[0]
    assert len(messages) == 1


def test_several_missing_one_warning(scedc_root: Path) -> None:
    table, messages = search(str(scedc_root), network="CI,ZZ", station="WBM,XYZ")

    assert set(table["station"]) == {"WBM"}
    assert len(messages) == 1
    message = messages[0]
    assert "no StationXML object for 3 stations" in message
    for station in ("CI.XYZ", "ZZ.WBM", "ZZ.XYZ"):
        assert station in message


def test_missing_station_warns_again(scedc_root: Path) -> None:
    """A table without a station is not cached, so every search warns."""
    for _ in range(2):
        table, messages = search(str(scedc_root), network="CI", station="WBM,XYZ")
        assert set(table["station"]) == {"WBM"}
        assert len(missing_warnings(messages)) == 1


def test_object_added_later_found(scedc_root: Path, wbm_xml: bytes) -> None:
    search(str(scedc_root), network="CI", station="WBM,XYZ")
    (scedc_root / MISSING_KEY).write_bytes(wbm_xml.replace(b'"WBM"', b'"XYZ"'))

    table, messages = search(str(scedc_root), network="CI", station="WBM,XYZ")

    assert set(table["station"]) == {"WBM", "XYZ"}
    assert messages == []


def test_misplaced_root_gets_layout_advice(scedc_root: Path) -> None:
    above = scedc_root.parent

    table, messages = search(str(above), network="CI", station="WBM")

    assert len(table) == 0
    message = missing_warnings(messages)[0]
    assert f"so pass root='{scedc_root}'" in message


def test_missing_root_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="no such directory"):
        search_stations(
            "scedc", root=str(tmp_path / "absent"), network="CI", station="WBM"
        )


def test_unreadable_object_raises(scedc_root: Path) -> None:
    # A directory where the object should be cannot be read as one.
    (scedc_root / MISSING_KEY).mkdir()

    with pytest.raises(StorageUnavailableError, match="IsADirectoryError"):
        search(str(scedc_root), network="CI", station="WBM,XYZ")


# Object store mirrors


def test_s3_missing_station_warns(s3: Any, wbm_xml: bytes) -> None:
    publish(s3, "scedc", {WBM_KEY: wbm_xml})
    bucket, _ = bucket_of("scedc")
    options = s3.anonymous_storage_options()

    table, messages = search(
        f"s3://{bucket}", network="CI", station="WBM,XYZ", storage_options=options
    )

    assert set(table["station"]) == {"WBM"}
    assert len(messages) == 1
    assert f"s3://{bucket}/{MISSING_KEY} not found" in messages[0]


def test_s3_missing_bucket_raises(s3: Any) -> None:
    with pytest.raises(BucketNotFoundError, match="bucket 'nosuch' does not exist"):
        search_stations(
            "scedc",
            root="s3://nosuch",
            network="CI",
            station="WBM",
            storage_options=s3.anonymous_storage_options(),
        )


# Command line


def test_cli_missing_station_lists_others(
    scedc_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "search", "scedc.stations", "--root", str(scedc_root),
        "--network", "CI", "--station", "WBM,XYZ", "--format", "csv",
    )  # fmt: skip

    assert code == EXIT_OK
    rows = out.strip().splitlines()[1:]
    assert rows
    assert {row.split(",")[1] for row in rows} == {"WBM"}
    lines = [line for line in err.splitlines() if MISSING_WARNING in line]
    assert len(lines) == 1
    assert "station CI.XYZ" in lines[0]
    assert f"{scedc_root}/{MISSING_KEY} not found" in lines[0]
    assert "object not found" not in err


def test_cli_only_station_missing(
    scedc_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "search", "scedc.stations", "--root", str(scedc_root),
        "--network", "CI", "--station", "XYZ",
    )  # fmt: skip

    assert code == EXIT_OK
    assert "station CI.XYZ" in err
    assert "such as --station 'XY*'" in err
    assert "matches nothing in the archive" not in err


def test_cli_missing_root_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "search", "scedc.stations", "--root", str(tmp_path / "absent"),
        "--network", "CI", "--station", "WBM",
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "no such directory" in err
