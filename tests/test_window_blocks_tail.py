"""Event windows on small blocks behind large ones, and on a channel in two blocks.

The objects are the layouts of test_break_blocks. LHZ at 1 Hz fills about
100 KB, and each BH? block of a day at 20 Hz about 1.8 MB. In "split" the
BHN block sits between two BHZ halves, which run from midnight to midnight.
"""

from __future__ import annotations

import pytest
from test_break_blocks import read_layout
from test_window_blocks import (  # noqa: F401 (two autouse fixtures)
    BEFORE,
    _index_cache,
    _small_merges,
)
from test_windows import assert_equal_to_cuts

# Windows near the start, the middle and the end of the day, each inside it.
TIMES = ["2024-01-01T01:30:00", "2024-01-01T12:00:00", "2024-01-01T22:30:00"]

# A ranged read of one window may read at most this share of the object.
# Before the probes looked at the tail and at block edges first, a window on
# the trailing LHZ block read 1.17 to 1.24 times the object.
MAX_SHARE = 0.25

# Shares measured where a window reaches the end of LHZ's block: LHZ
# records span over an hour, so the guess's slack reaches it, and the
# search then reads every byte after the block.
SHARES = {
    ("lhz_first", TIMES[1]): 0.4,
    ("lhz_first", TIMES[2]): 1.01,
    ("lhz_middle", TIMES[2]): 0.6,
}

# Windows near noon reach the stretch between BHZ's halves, which is read at
# once, because a record of BHZ there could be of a higher version.
SPLIT_SHARES = {"2024-01-01T12:00:00": 0.55, "2024-01-01T11:59:50": 0.55}


@pytest.mark.parametrize("time", TIMES)
@pytest.mark.parametrize("layout", ["lhz_last", "lhz_middle", "lhz_first"])
def test_small_block_found(s3, layout: str, time: str) -> None:
    dataset, read, data, whole = read_layout(s3, layout, "LHZ", time)

    assert (dataset.read_mode.values == "ranged").all()
    assert (dataset.status.values == "ok").all()
    assert_equal_to_cuts(dataset, whole, [time], BEFORE)
    assert read <= SHARES.get((layout, time), MAX_SHARE) * len(data)


@pytest.mark.parametrize("time", [*TIMES, "2024-01-01T11:59:50"])
def test_split_channel_ranged(s3, time: str) -> None:
    """BHZ's two halves sit on both sides of the BHN block."""
    dataset, read, data, whole = read_layout(s3, "split", "BHZ", time)

    assert (dataset.read_mode.values == "ranged").all()
    assert (dataset.status.values == "ok").all()
    assert read <= SPLIT_SHARES.get(time, MAX_SHARE) * len(data)
    assert_equal_to_cuts(dataset, whole, [time], BEFORE)
