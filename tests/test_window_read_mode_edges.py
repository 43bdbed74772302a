"""The read mode a window after midnight shows when the day before, read
whole, has records that end near the window's start.

On a moto S3 server, day 1 (2024-01-01) contains 20 Hz samples from ten
minutes before midnight to a little after it, its records stored in reverse
order so that the reader reads it whole. Day 2 contains the ten minutes after
midnight, read in ranges. The window of 10 s before and after 00:00:20
starts at 00:00:10.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_window_failures import (
    AFTER_MIDNIGHT,
    BUCKET,
    MIDNIGHT,
    RATE,
    REGION,
    key,
    lazy,
    public,
)
from test_window_read_mode import reversed_records
from test_windows import _index_cache  # noqa: F401 (an autouse fixture)

from intake_earthscope import outcome_table
from intake_earthscope.testing import LoopbackS3, create_bucket

import mseedgen
from conftest import publish

STEP_NS = int(1e9 / RATE)
WINDOW_START = MIDNIGHT + 10 * 10**9


def day_one_until(last_ns: int) -> bytes:
    """Day 1's samples from ten minutes before midnight up to ``last_ns``."""
    start = MIDNIGHT - 600 * 10**9
    count = (last_ns - start) // STEP_NS + 1
    values = (np.arange(count) % 500 + 1000).astype(np.int32)
    data = mseedgen.segment_bytes("XX.STA.00.BHZ", start, values, RATE)
    return reversed_records(data)


def stored(s3: LoopbackS3, last_ns: int) -> None:
    create_bucket(s3.client(REGION), BUCKET, REGION)
    publish(s3, "sage", {key(1): day_one_until(last_ns)})
    public(s3, 2)


@pytest.mark.parametrize(
    ("last_ns", "mode"),
    [
        (WINDOW_START - 2 * STEP_NS, "ranged"),
        (WINDOW_START - STEP_NS, "ranged"),
        (WINDOW_START, "whole_object"),
    ],
    ids=["two samples before", "one sample before", "at the start"],
)
def test_day_before_ends_near_start(s3: LoopbackS3, last_ns: int, mode: str) -> None:
    """Day 1 counts for the window only where its last sample is in it."""
    stored(s3, last_ns)

    dataset = lazy(AFTER_MIDNIGHT, 10.0, errors="ignore").load()
    table = outcome_table(dataset)

    assert dataset.status.values.tolist() == [["ok"]]
    assert table["read_mode"].tolist() == [mode]
