"""The read mode and tier a window shows when the day before is read whole.

On a moto S3 server, day 1 contains the ten minutes before midnight of
2024-01-02 and day 2 the ten minutes after it (the objects of
test_window_failures.py). Day 1's records are stored in reverse order here,
which defeats the ranged search, so the reader reads that object whole. A
window shows the read mode and tier of the day before only where that day's
records reach it.
"""

from __future__ import annotations

from test_window_failures import (
    AFTER_MIDNIGHT,
    BUCKET,
    CROSSING,
    REGION,
    key,
    lazy,
    public,
    ten_minutes,
)
from test_windows import _index_cache  # noqa: F401 (an autouse fixture)

from intake_earthscope import outcome_table
from intake_earthscope.recordindex import parse_records
from intake_earthscope.testing import LoopbackS3, create_bucket

from conftest import publish


def reversed_records(data: bytes) -> bytes:
    """Return the records of ``data`` in reverse order."""
    table = parse_records(data, synced=True)
    records = [
        data[offset : offset + length]
        for offset, length in zip(
            table.offsets.tolist(), table.lengths.tolist(), strict=True
        )
    ]
    assert len(records) > 1
    return b"".join(reversed(records))


def stored(s3: LoopbackS3) -> None:
    """Store day 1 with its records reversed and day 2 as it is."""
    create_bucket(s3.client(REGION), BUCKET, REGION)
    publish(s3, "sage", {key(1): reversed_records(ten_minutes(1))})
    public(s3, 2)


def test_after_midnight_keeps_own_mode(s3: LoopbackS3) -> None:
    """Day 1 is read whole, but none of its records reach a window that
    starts 10 s after midnight, so the window shows day 2's ranged read."""
    stored(s3)

    dataset = lazy(AFTER_MIDNIGHT, 10.0, errors="ignore").load()
    table = outcome_table(dataset)

    assert dataset.status.values.tolist() == [["ok"]]
    assert table["read_mode"].tolist() == ["ranged"]
    assert table["tier"].tolist() == ["open"]


def test_crossing_window_shows_whole_read(s3: LoopbackS3) -> None:
    """A window that crosses midnight takes samples from day 1, which was
    read whole, so it shows that read mode."""
    stored(s3)

    dataset = lazy(CROSSING, 20.0, errors="ignore").load()
    table = outcome_table(dataset)

    assert dataset.status.values.tolist() == [["ok"]]
    assert dataset.valid_fraction.values.tolist() == [[1.0]]
    assert table["read_mode"].tolist() == ["whole_object"]
