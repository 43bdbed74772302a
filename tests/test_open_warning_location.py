"""Warnings raised while a request opens point at the caller's line.

The mirror contains real miniSEED written by tests/mseedgen.py: XX.STA at the
blank location, LHZ at 1 Hz for an hour.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.collection import Collection
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import ReadOutcomeWarning

import mseedgen
from conftest import collection_spec, mirror

KEY = "miniseed/XX/2024/001/STA.XX.2024.001"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    station_day = mseedgen.station_day(
        channels={"LHZ": 1.0},
        seconds=3600.0,
        station="XX.STA.",
        start="2024-01-01T00:00:00Z",
    )
    return mirror(tmp_path / "mirror", {KEY: station_day.data})


def test_empty_station_warning_points_at_caller(root: Path) -> None:
    with pytest.warns(ReadOutcomeWarning, match="YY.STA has no trace") as caught:
        dataset = open_waveforms(
            Collection.from_yaml(collection_spec("sage")),
            network="XX,YY",
            station="STA",
            location="",
            channel="LH?",
            start="2024-01-01",
            end="2024-01-02",
            root=str(root),
        )

    assert list(dataset.trace.values) == ["XX.STA..LHZ"]
    empty = [w for w in caught if "YY.STA has no trace" in str(w.message)]
    assert len(empty) == 1
    assert empty[0].filename == __file__
