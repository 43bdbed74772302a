"""Event windows of block-stored objects in layouts the probe may mishandle."""

from __future__ import annotations

import pytest
from test_window_blocks import (  # noqa: F401 (two autouse fixtures)
    BEFORE,
    _index_cache,
    _small_merges,
    counted_store,
    counted_windows,
    whole_day,
)
from test_windows import CODES, DAY, RATE, assert_equal_to_cuts, channel_bytes, key

import mseedgen

HOUR = 3600.0


def block(channel, start_s=0.0, seconds=86_400.0, rate=RATE, length=512, seed=0):
    """Write ``seconds`` of ``channel`` from ``start_s`` after midnight."""
    return channel_bytes(
        channel, DAY + round(start_s * 1e9), seconds, rate, length, seed=seed
    )


# Day objects of channels in blocks, and of interleaved channels beside them.
LAYOUTS = {
    "lhz_middle": lambda: (
        block("BHZ", seed=1)
        + block("LHZ", rate=1.0, length=4096)
        + block("BHN", seed=2, length=4096)
    ),
    "lhz_last": lambda: (
        block("BHZ", seed=1)
        + block("BHN", seed=2, length=4096)
        + block("LHZ", rate=1.0, length=4096)
    ),
    "lhz_first": lambda: (
        block("LHZ", rate=1.0, length=4096)
        + block("BHZ", seed=1)
        + block("BHN", seed=2, length=4096)
    ),
    "split": lambda: (
        block("BHZ", 0, 43_200.0, seed=1)
        + block("BHN", seed=2, length=4096)
        + block("BHZ", 43_200.0, 43_200.0, seed=3)
    ),
    "late": lambda: (
        block("BHN", seed=2, length=4096)
        + block("BHZ", 6 * HOUR, 18 * HOUR, seed=1)
        + block("BHE", seed=3)
    ),
    "early_end": lambda: (
        block("BHN", seed=2, length=4096)
        + block("BHZ", 0, 18 * HOUR, seed=1)
        + block("BHE", seed=3)
    ),
    "gappy": lambda: (
        block("BHN", seed=2, length=4096)
        + block("BHZ", 0, 5 * HOUR, seed=1)
        + block("BHZ", 9 * HOUR, 5 * HOUR, seed=4)
        + block("BHZ", 20 * HOUR, 4 * HOUR, seed=5)
        + block("BHE", seed=3)
    ),
    "mixed": lambda: (
        mseedgen.interleave(block("BHN", seed=2, length=4096), block("BHE", seed=3))
        + block("BHZ", seed=1)
    ),
    "mixed_first": lambda: (
        block("BHZ", seed=1)
        + mseedgen.interleave(block("BHN", seed=2, length=4096), block("BHE", seed=3))
    ),
    "tiny": lambda: block("BHZ", 0, 60.0, seed=1) + block("BHN", 0, 60.0, seed=2),
}

# Each window starts and ends inside the day, so that it reads one object.
TIMES = ["2024-01-01T00:00:10", "2024-01-01T13:59:55", "2024-01-01T23:59:39"]
DAY_END = TIMES[-1]


def read_layout(s3, layout: str, channel: str, time: str):
    """Return the window, the bytes it read, the object and the whole day."""
    data = LAYOUTS[layout]()
    store = counted_store(s3, {key(1): data})
    rate = 1.0 if channel == "LHZ" else RATE
    codes = {**CODES, "channel": channel, "sampling_rate": rate}
    dataset, read = counted_windows(store, [time], **codes)
    whole = whole_day(store, "2024-01-01", "2024-01-02", **codes)
    return dataset, read, data, whole


@pytest.mark.parametrize("time", TIMES)
@pytest.mark.parametrize(
    ("layout", "channel"),
    [
        ("lhz_middle", "LHZ"),
        ("split", "BHZ"),
        ("gappy", "BHZ"),
        ("mixed", "BHZ,BHN"),
        ("tiny", "BHN"),
    ],
)
def test_block_layouts_equal_whole(s3, layout: str, channel: str, time: str) -> None:
    dataset, _, _, whole = read_layout(s3, layout, channel, time)

    assert_equal_to_cuts(dataset, whole, [time], BEFORE)


@pytest.mark.parametrize(
    ("layout", "channel"),
    [("lhz_middle", "BHZ"), ("late", "BHN"), ("gappy", "BHZ,BHN"), ("split", "BHN")],
)
def test_day_end_window_ranged(s3, layout: str, channel: str) -> None:
    """A window on the last seconds of a block followed by other blocks.

    Only the bytes after the block show that no later record of the channel
    exists, so the ranged read reads them, and no more than the object.
    """
    dataset, read, data, whole = read_layout(s3, layout, channel, DAY_END)

    assert (dataset.read_mode.values == "ranged").all()
    assert (dataset.status.values == "ok").all()
    assert read <= 1.01 * len(data)
    assert_equal_to_cuts(dataset, whole, [DAY_END], BEFORE)
