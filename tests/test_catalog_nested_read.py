"""Tests of ``read()`` and ``to_dask()`` called on a nested catalog of the v1 catalog.

The shipped catalog nests one catalog per archive (``sage``, ``gage``, ...).
They contain entries, not data, so their data methods raise an error that
names the entries. Browsing them must keep intake's behaviour.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import intake
import pytest

from intake_earthscope.errors import CatalogReadError

V1_CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "earthscope.yaml"
ARCHIVES = ("sage", "scedc", "ncedc", "gage", "noaa_cors", "geonet")


@pytest.fixture(scope="module")
def cat() -> Any:
    return intake.open_catalog(str(V1_CATALOG))


@pytest.mark.parametrize("method", ["read", "to_dask", "read_chunked"])
def test_nested_read_names_entries(cat: Any, method: str) -> None:
    with pytest.raises(NotImplementedError) as raised:
        getattr(cat["sage"], method)()

    assert isinstance(raised.value, CatalogReadError)
    message = str(raised.value)
    assert "'sage' is a catalog" in message
    assert f"cat.sage.<entry>.{method}()" in message
    assert "miniseed, stations" in message


def test_nested_read_partition_names_entries(cat: Any) -> None:
    with pytest.raises(CatalogReadError, match=r"cat\.gage\.<entry>"):
        cat.gage.read_partition(0)


@pytest.mark.parametrize("archive", ARCHIVES)
def test_nested_describe_keeps_intake_driver(cat: Any, archive: str) -> None:
    described = cat[archive].describe()

    assert described["container"] == "catalog"
    assert described["driver"] == ["yaml_file_cat"]
    assert described["args"] == {"path": f"{{{{ CATALOG_DIR }}}}/{archive}.yaml"}


def test_nested_browsing_unchanged(cat: Any) -> None:
    assert list(cat.sage) == ["miniseed", "stations"]
    assert "gage.positions" in list(cat.search("GNSS"))
    assert "noaa_cors.rinex_obs" in cat.walk(depth=2)
    assert cat.sage.discover()["container"] == "catalog"


def test_nested_entry_still_builds(cat: Any) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        source = cat.sage.miniseed(network="IU", station="ANMO")

    assert source.describe()["container"] == "xarray"
