"""A station table with a missing StationXML object is never stored in the cache.

Stored and then removed, such a table could be read by a concurrent search
in between, which then lists the stations without the missing one and
without a warning until the entry expires. The mirror is a local directory
with the real StationXML object of CI.WBM.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path

import pytest

from intake_earthscope.browse import search_stations
from intake_earthscope.errors import IntakeEarthScopeWarning

WBM_KEY = "FDSNstationXML/CI/CI_WBM.xml"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory of the station tables, created before any search."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    directory = tmp_path / "cache" / "stations"
    directory.mkdir(parents=True)
    return directory


@pytest.fixture
def scedc_root(tmp_path: Path, shared_data: Path) -> Path:
    root = tmp_path / "scedc"
    (root / WBM_KEY).parent.mkdir(parents=True)
    (root / WBM_KEY).write_bytes(
        (shared_data / "stationxml" / "CI_WBM.xml").read_bytes()
    )
    return root


def search_quietly(root: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntakeEarthScopeWarning)
        search_stations("scedc", root=str(root), network="CI", station="WBM,XYZ")


def test_missing_station_table_not_written(cache_dir: Path, scedc_root: Path) -> None:
    # Writing an entry, even one removed at once, changes the directory's
    # modification time.
    before = os.stat(cache_dir).st_mtime_ns

    search_quietly(scedc_root)

    assert os.stat(cache_dir).st_mtime_ns == before
    assert not list(cache_dir.iterdir())


def test_found_stations_table_written(cache_dir: Path, scedc_root: Path) -> None:
    search_stations("scedc", root=str(scedc_root), network="CI", station="WBM")

    assert len(list(cache_dir.glob("*.json"))) == 1


@pytest.mark.timeout(120)
@pytest.mark.filterwarnings("ignore::intake_earthscope.errors.IntakeEarthScopeWarning")
def test_concurrent_searches_never_cached(
    cache_dir: Path, scedc_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intake_earthscope.stationtable")

    def search_repeatedly() -> None:
        for _ in range(12):
            search_stations(
                "scedc", root=str(scedc_root), network="CI", station="WBM,XYZ"
            )

    threads = [threading.Thread(target=search_repeatedly) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    from_cache = [r for r in caplog.records if "from cache" in r.getMessage()]
    assert not from_cache
