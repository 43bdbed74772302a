"""The previous day's object, read whole, is decoded only where it reaches
the chunk.

Its records that end before midnight place no sample in the chunk, so the
read decodes neither them nor a block for the whole day before. The samples
after midnight must match those of a read that decodes every record.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from intake_earthscope.codes import SeedId
from intake_earthscope.place import Grid
from intake_earthscope.storage import StorageSpec
from intake_earthscope.tasks import read_neighbour

import mseedgen
from conftest import mirror

RATE = 20.0
STEP_NS = 50_000_000
MIDNIGHT = mseedgen.nstime("2006-01-02T00:00:00Z")
TRACES = [SeedId("XX", "STA", "", "BHZ"), SeedId("XX", "STA", "", "BHN")]
KEY = "previous"


def previous_day(root: Path, crossing: float) -> StorageSpec:
    """Store a day of BHZ and BHN whose BHZ runs ``crossing`` seconds past
    midnight; BHN ends before it."""
    count = int((86_400 + crossing) * RATE)
    values = (np.arange(count) % 3_000).astype(np.int32)
    data = mseedgen.interleave(
        mseedgen.segment_bytes("XX.STA..BHZ", "2006-01-01T00:00:00.01Z", values, RATE),
        mseedgen.segment_bytes(
            "XX.STA..BHN", "2006-01-01T00:00:00.01Z", values[: 86_000 * 20], RATE
        ),
    )
    mirror(root, {KEY: data})
    return StorageSpec("file", str(root))


def grid() -> Grid:
    return Grid(MIDNIGHT, STEP_NS, 86_400 * 20)


def test_whole_read_skips_day_before(tmp_path: Path) -> None:
    spec = previous_day(tmp_path, 30.0)

    tracemalloc.start()
    try:
        read = read_neighbour(spec, KEY, TRACES, grid(), 1_200, 1e-4, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    day_block = len(TRACES) * 86_400 * 20 * 8
    assert read.error is None
    assert peak < day_block / 2


@pytest.mark.parametrize("crossing", [0.0, 0.05, 30.0, 600.0])
def test_whole_read_matches_tail_read(tmp_path: Path, crossing: float) -> None:
    spec = previous_day(tmp_path, crossing)
    size = (tmp_path / KEY).stat().st_size

    whole = read_neighbour(spec, KEY, TRACES, grid(), 12_000, 1e-4, None)
    # All bytes but the first record's header: the tail path, not the whole.
    tail = read_neighbour(spec, KEY, TRACES, grid(), 12_000, 1e-4, size - 100)

    expected = int(round(crossing * RATE))
    assert whole.edge.start == tail.edge.start == 0
    np.testing.assert_array_equal(whole.edge.data, tail.edge.data)
    assert int(np.isfinite(whole.edge.data[0]).sum()) == expected
    assert np.isnan(whole.edge.data[1]).all()
    np.testing.assert_array_equal(whole.edge.offsets, tail.edge.offsets)
    np.testing.assert_array_equal(whole.edge.shifts, tail.edge.shifts)
