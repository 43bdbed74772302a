"""Event windows on a channel split into two blocks, with repeated records.

A day object may store BHZ's first half, other channels' blocks, and BHZ's
second half, in that order. A record of BHZ may also sit between the two
halves: a re-sent copy, or a second publication version with other samples.
A ranged read must give the samples and outcome counts of a whole read.
"""

from __future__ import annotations

import numpy as np
import pytest
import test_break_blocks
from test_break_blocks import HOUR, block, read_layout
from test_window_blocks import (  # noqa: F401 (two autouse fixtures)
    BEFORE,
    _index_cache,
    _small_merges,
    counted_store,
    counted_windows,
    whole_day,
)
from test_windows import CODES, DAY, RATE, assert_equal_to_cuts, key

from intake_earthscope import open_waveforms

import mseedgen
from conftest import collection_spec

# The window runs from 11:59:45 to 12:00:15, across the join of the halves.
NOON = "2024-01-01T11:59:55"
HALF = 12 * HOUR


def last_record(data: bytes) -> bytes:
    return mseedgen.records(data)[-1]


def revised_record() -> bytes:
    """A BHZ record of publication version 2 that ends at noon."""
    rng = np.random.default_rng(9)
    values = np.cumsum(rng.integers(-40, 41, round(60 * RATE))).astype(np.int32)
    start = DAY + round((HALF - 60) * 1e9)
    data = mseedgen.segment_bytes(
        "XX.STA.00.BHZ", start, values, RATE, record_length=512, pubversion=2
    )
    return last_record(data)


def split_around(middle: bytes, *, late: bool = True) -> bytes:
    """BHZ's halves around the BHN, BHE and HHE blocks, with ``middle`` after
    BHE (``late``) or right after BHN."""
    others = [
        block("BHN", seed=2, length=4096),
        block("BHE", seed=4, length=4096),
        block("HHE", seed=5, length=4096),
    ]
    others.insert(2 if late else 1, middle)
    return (
        block("BHZ", 0, HALF, seed=1)
        + b"".join(others)
        + block("BHZ", HALF, HALF, seed=3)
    )


LAYOUTS = {
    "resent_before_half": lambda: (
        block("BHZ", 0, HALF, seed=1)
        + block("BHN", seed=2, length=4096)
        + last_record(block("BHZ", 0, HALF, seed=1))
        + block("BHZ", HALF, HALF, seed=3)
    ),
    "revised_inside_bhn": lambda: (
        block("BHZ", 0, HALF, seed=1)
        + block("BHN", 0, HALF, seed=2, length=4096)
        + revised_record()
        + block("BHN", HALF, HALF, seed=4, length=4096)
        + block("BHZ", HALF, HALF, seed=3)
    ),
    "resent_early": lambda: split_around(
        last_record(block("BHZ", 0, HALF, seed=1)), late=False
    ),
    "resent_late": lambda: split_around(last_record(block("BHZ", 0, HALF, seed=1))),
    "revised_late": lambda: split_around(revised_record()),
    "split": lambda: split_around(b""),
}


@pytest.fixture(autouse=True)
def _layouts(monkeypatch: pytest.MonkeyPatch) -> None:
    # read_layout looks layouts up by name in test_break_blocks.
    monkeypatch.setattr(test_break_blocks, "LAYOUTS", LAYOUTS)


def whole_outcomes(s3, layout: str):
    """Return the whole-day dataset of BHZ read from the object whole."""
    store = counted_store(s3, {key(1): LAYOUTS[layout]()})
    codes = {**CODES, "channel": "BHZ", "sampling_rate": RATE}
    return open_waveforms(
        collection_spec("sage"), start="2024-01-01", end="2024-01-02", **store, **codes
    ).load()


@pytest.mark.parametrize(
    "layout", ["resent_before_half", "revised_inside_bhn", "resent_early"]
)
def test_repeated_record_equal_whole(s3, layout: str) -> None:
    dataset, _, _, whole = read_layout(s3, layout, "BHZ", NOON)

    assert (dataset.status.values == "ok").all()
    assert_equal_to_cuts(dataset, whole, [NOON], BEFORE)


def test_revised_record_wins(s3) -> None:
    """A record of a higher publication version wins, as in a whole read."""
    dataset, _, _, whole = read_layout(s3, "revised_late", "BHZ", NOON)

    assert_equal_to_cuts(dataset, whole, [NOON], BEFORE)


def test_resent_record_counted(s3) -> None:
    dataset, _, _, whole = read_layout(s3, "resent_late", "BHZ", NOON)
    day = whole_outcomes(s3, "resent_late")

    # The re-sent record ends at noon, inside the window.
    assert_equal_to_cuts(dataset, whole, [NOON], BEFORE)
    assert int(day.overlap_count.sum()) > 0
    assert int(dataset.overlap_count.sum()) > 0


TIMES = [
    "2024-01-01T00:00:10",
    "2024-01-01T01:30:00",
    NOON,
    "2024-01-01T22:30:00",
    "2024-01-01T23:59:39",
]


@pytest.mark.parametrize("time", TIMES)
def test_second_read_same_outcomes(s3, time: str) -> None:
    """A second read starts from the partial index that the first one saved."""
    store = counted_store(s3, {key(1): LAYOUTS["split"]()})
    codes = {**CODES, "channel": "BHZ", "sampling_rate": RATE}

    first, _ = counted_windows(store, [time], **codes)
    second, _ = counted_windows(store, [time], **codes)
    whole = whole_day(store, "2024-01-01", "2024-01-02", **codes)

    assert_equal_to_cuts(first, whole, [time], BEFORE)
    assert_equal_to_cuts(second, whole, [time], BEFORE)
    for name in ("read_mode", "status", "overlap_count", "gap_count"):
        assert (first[name].values == second[name].values).all(), name


def test_second_read_no_more_bytes(s3) -> None:
    store = counted_store(s3, {key(1): LAYOUTS["split"]()})
    codes = {**CODES, "channel": "BHZ", "sampling_rate": RATE}

    _, first = counted_windows(store, [NOON], **codes)
    _, second = counted_windows(store, [NOON], **codes)

    assert second <= first
