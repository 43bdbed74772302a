"""The advice and the names of availability's absent-object warning.

Where a station has objects in one network of the request and none in
another, the station code is right. The warning then names the network
that has its objects, because a station wildcard would find nothing more.
A long list of stations is named in part. The mirror is a local directory
of synthetic miniSEED at the keys of the shipped SAGE catalog (station-day
objects).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from intake_earthscope.availability import availability
from intake_earthscope.errors import IntakeEarthScopeWarning

import mseedgen
from conftest import collection_spec, mirror

KEY = "miniseed/XX/2024/001/STA.XX.2024.001"
WINDOW = {"station": "STA", "start": "2024-01-01", "end": "2024-01-03"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Return a mirror with station XX.STA on 2024-01-01 only."""
    samples = np.arange(120, dtype=np.int32)
    data = mseedgen.segment_bytes("XX.STA..LHZ", "2024-01-01T00:00:00Z", samples, 1.0)
    return mirror(tmp_path, {KEY: data})


def absent_warning(root: Path, network: str) -> str:
    with pytest.warns(IntakeEarthScopeWarning) as caught:
        availability(collection_spec("sage"), network=network, root=str(root), **WINDOW)
    assert len(caught) == 1
    return str(caught[0].message)


def test_other_network_named(root: Path) -> None:
    message = absent_warning(root, "XX,YY")

    assert message.startswith("no object of YY.STA exists on any day")
    assert "Station STA has objects in network XX" in message
    assert "network='XX'" in message
    assert "station='ST*'" not in message


def test_wrong_network_alone_keeps_wildcard_advice(root: Path) -> None:
    # With only the wrong network requested, the table shows no object of
    # STA in another network, so the advice stays the station wildcard.
    message = absent_warning(root, "YY")

    assert "station='ST*'" in message


def test_unmatched_network_lists_few_stations(root: Path) -> None:
    """A network wildcard that matches nothing leaves an empty table, and the
    warning names the first stations of a long list and counts the rest."""
    stations = [f"S{number:03d}" for number in range(300)]

    with pytest.warns(IntakeEarthScopeWarning) as caught:
        availability(
            collection_spec("sage"),
            network="Z*",
            station=",".join(stations),
            root=str(root),
            start="2024-01-01",
            end="2024-01-03",
        )

    message = str(caught[0].message)
    assert "station(s) S000, S001, S002, S003, S004 and 295 more exists" in message
    assert "S005" not in message
