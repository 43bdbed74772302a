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

from conftest import collection_spec, hour_mirror


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return hour_mirror(tmp_path / "mirror")


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
