"""Tests of the key template check of the v2 catalog's entries.

As with the v1 entries, a key template with an unknown field fails when the
entry is opened, and the message names the catalog file and the entry. The
catalog is a copy of the shipped v2 file with one template misspelt.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import intake
import pytest

from intake_earthscope.errors import CatalogError
from intake_earthscope.v2 import MiniseedCollection, StationList

V2_CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "earthscope_v2.yaml"

SAGE_KEY = "{{station}}.{{network}}.{{year}}.{{doy}}"
SCEDC_STATIONXML = "{{network}}_{{station}}.xml"


def open_broken(tmp_path: Path, old: str, new: str) -> Any:
    """Open a copy of the v2 catalog with the first ``old`` replaced by ``new``."""
    text = V2_CATALOG.read_text()
    assert old in text
    path = tmp_path / "earthscope_v2.yaml"
    path.write_text(text.replace(old, new, 1))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        return intake.open_catalog(str(path))


@pytest.mark.parametrize("entry", ["sage_miniseed", "sage_stations"])
def test_collection_template_names_entry(tmp_path: Path, entry: str) -> None:
    cat = open_broken(tmp_path, SAGE_KEY, SAGE_KEY.replace("station", "statoin"))

    with pytest.raises(CatalogError) as raised:
        getattr(cat, entry)

    message = str(raised.value)
    assert f"catalog file {str(tmp_path / 'earthscope_v2.yaml')!r}" in message
    assert f"entry {entry!r}" in message
    assert "unknown field(s) ['statoin']" in message


def test_stationxml_template_names_entry(tmp_path: Path) -> None:
    broken = SCEDC_STATIONXML.replace("station", "statoin")
    cat = open_broken(tmp_path, SCEDC_STATIONXML, broken)

    with pytest.raises(CatalogError) as raised:
        cat.scedc_stations  # noqa: B018 (opening the entry is the action under test)

    message = str(raised.value)
    assert str(tmp_path / "earthscope_v2.yaml") in message
    assert "entry 'scedc_stations'" in message
    assert "'FDSNstationXML/{network}/{network}_{statoin}.xml'" in message


def test_other_entries_still_open(tmp_path: Path) -> None:
    cat = open_broken(tmp_path, SAGE_KEY, SAGE_KEY.replace("station", "statoin"))

    assert type(cat.scedc_miniseed).__name__ == "MiniseedReader"
    assert type(cat.ncedc_stations).__name__ == "StationsReader"


def test_shipped_entries_open() -> None:
    cat = intake.open_catalog(str(V2_CATALOG))

    for entry in ("sage_miniseed", "ncedc_miniseed", "scedc_stations", "gage_stations"):
        assert getattr(cat, entry) is not None


def test_python_data_without_entry() -> None:
    # Built in Python, without the entry, the collection's own check applies.
    collection = {
        "name": "x.miniseed",
        "granularity": "station-day",
        "key_template": "{network}/{statoin}",
        "default_tier": "open",
        "tiers": {"open": {"protocol": "s3", "bucket": "b", "access": "anonymous"}},
    }

    with pytest.raises(CatalogError) as raised:
        MiniseedCollection(collection)

    assert "catalog file" not in str(raised.value)
    assert "unknown field(s) ['statoin']" in str(raised.value)


def test_station_list_names_python_entry() -> None:
    stations = {"kind": "seismic", "stationxml": {"key_template": "{statoin}.xml"}}

    with pytest.raises(CatalogError) as raised:
        StationList(stations, entry="mine")

    assert str(raised.value).startswith("catalog entry 'mine': ")


def test_single_braces_explained(tmp_path: Path) -> None:
    """A field in single braces is filled by intake with the catalog's
    parameter before the reader gets it, so the message asks for double
    braces."""
    broken = SAGE_KEY.replace("{{station}}", "{station}")
    cat = open_broken(tmp_path, SAGE_KEY, broken)

    with pytest.raises(CatalogError) as raised:
        cat(station="BAL*").sage_miniseed  # noqa: B018 (the open is under test)

    message = str(raised.value)
    assert f"catalog file {str(tmp_path / 'earthscope_v2.yaml')!r}" in message
    assert "entry 'sage_miniseed'" in message
    assert "lacks field(s) ['station']" in message
    assert "double braces, such as {{station}}" in message
