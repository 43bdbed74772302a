"""Event windows where two station-days carry different samples for one time.

The last record of a day may run past midnight while the next day's object
starts at midnight with other values. A whole-day read keeps the values of
the object filed under the sample's own day, and a window must give the
same samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.recordindex import forget_indexes

import mseedgen
from conftest import collection_spec, mirror

RATE = 40.0
CODES = {"network": "XX", "station": "STA", "location": "00", "channel": "BHZ"}
MIDNIGHT = "2024-01-02T00:00:00Z"


def key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


@pytest.fixture
def conflicting_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Day 1 ends with a record that runs to 00:00:05, and day 2 starts at
    00:00 with negative values, so 5 s of samples conflict."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    forget_indexes()
    first = mseedgen.midnight_crossing(rate=RATE, day="2024-01-01T00:00:00Z")
    values = -np.arange(1, 600 * RATE + 1, dtype=np.int32)
    second = mseedgen.segment_bytes("XX.STA.00.BHZ", MIDNIGHT, values, RATE)
    yield mirror(tmp_path / "mirror", {key(1): first.data, key(2): second})
    forget_indexes()


def whole(root: Path) -> tuple[np.ndarray, np.ndarray]:
    dataset = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01",
        end="2024-01-03",
        root=str(root),
        **CODES,
    ).load()
    return dataset.time.values, dataset.waveform.values[0]


@pytest.mark.parametrize(
    "reference",
    [
        "2024-01-02T00:00:02",  # after midnight, inside the conflicting seconds
        "2024-01-01T23:59:58",  # crosses midnight
    ],
)
def test_window_keeps_own_day_values(conflicting_days: Path, reference: str) -> None:
    times, samples = whole(conflicting_days)

    dataset = open_windows(
        collection_spec("sage"),
        [reference],
        before=4.0,
        after=6.0,
        root=str(conflicting_days),
        **CODES,
    ).load()

    first = int(np.searchsorted(times, np.datetime64(reference) - np.timedelta64(4, "s")))
    expected = samples[first : first + dataset.sizes["lag"]]
    got = dataset.waveform.values[0, 0]
    assert int(dataset.conflict_count.values[0, 0]) > 0
    assert (expected[np.isfinite(expected)] < 0).any()
    np.testing.assert_array_equal(got, expected)
