"""Window reads against a cached record index that has gone stale.

A reader fetches the records a cached index lists and parses them again, to
compare them with the index. Here the cached index is complete
(``index_object``) or partial (from earlier windows), and the object may
have been rewritten since with the same size and modification time:
records swapped within a run, or lengths changed. Every window must give
the samples of a whole-day read, bit for bit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from test_windows import (  # noqa: F401 (_index_cache is an autouse fixture)
    CHANNELS,
    CODES,
    DAY,
    RATE,
    _as_version_3,
    _index_cache,
    assert_equal_to_cuts,
    channel_bytes,
    key,
    station_day,
    whole_days,
    windows,
)

from intake_earthscope.rangedread import index_object
from intake_earthscope.recordindex import forget_indexes, parse_records
from intake_earthscope.storage import StorageSpec

import mseedgen
from conftest import mirror

SECOND = 10**9
# A minute around 06:00:30. Its requested records end in a run of nine.
TIMES = ["2024-01-01T06:00:30"]


def cache_index(root: Path, complete: bool, times: list[str]) -> None:
    if complete:
        index_object(StorageSpec("file", str(root)), key(1))
    else:
        windows(root, times, 30.0, 30.0)


def rewrite_in_place(path: Path, data: bytes) -> None:
    """Write ``data`` over the object, keeping its size and modification time."""
    assert len(data) == path.stat().st_size
    written = path.stat().st_mtime_ns
    path.write_bytes(data)
    os.utime(path, ns=(written, written))
    # Only the cached file may keep the old index, as in a new process.
    forget_indexes()


def swapped(data: bytes, first: int, second: int) -> bytes:
    """Swap two records, given by row, and keep the others where they are."""
    table = parse_records(data)
    records = [
        data[o : o + n] for o, n in zip(table.offsets, table.lengths, strict=True)
    ]
    records[first], records[second] = records[second], records[first]
    return b"".join(records)


def window_rows(data: bytes, start_ns: int, end_ns: int) -> np.ndarray:
    table = parse_records(data)
    return np.flatnonzero((table.starts <= end_ns) & (table.ends >= start_ns))


def last_rows() -> tuple[int, int]:
    """The last requested record of the window (not the first of its run) and the
    record after it, one of another channel of the same length."""
    data = station_day(1)
    table = parse_records(data)
    start = DAY + (6 * 3600) * SECOND
    rows = window_rows(data, start, start + 60 * SECOND)
    last = int(rows[-1])
    assert rows[-2] == last - 1
    assert table.lengths[last] == table.lengths[last + 1]
    assert table.sources[last] != table.sources[last + 1]
    return last, last + 1


@pytest.mark.parametrize("complete", [True, False], ids=["complete", "partial"])
def test_swapped_records_in_run(tmp_path: Path, complete: bool) -> None:
    """Two records trade places, and each channel stays in time order."""
    root = mirror(tmp_path / "mirror", {key(1): station_day(1)})
    cache_index(root, complete, TIMES)
    rewrite_in_place(root / key(1), swapped(station_day(1), *last_rows()))

    dataset = windows(root, TIMES, 30.0, 30.0)

    assert_equal_to_cuts(dataset, whole_days(root, end="2024-01-02"), TIMES, 30.0)


@pytest.mark.parametrize("complete", [True, False], ids=["complete", "partial"])
def test_moved_record_lengths_in_run(tmp_path: Path, complete: bool) -> None:
    """A 4096-byte record trades places with the 512-byte one after it, inside
    a run of records the window reads."""
    data = station_day(1)
    table = parse_records(data)
    start = DAY + (6 * 3600) * SECOND
    rows = window_rows(data, start, start + 60 * SECOND)
    # Not the first of its run: the record before it is in the window too.
    long = next(
        int(r) for r in rows[1:-1] if table.lengths[r] == 4096 and r - 1 in rows
    )
    assert table.lengths[long + 1] == 512
    root = mirror(tmp_path / "mirror", {key(1): data})
    cache_index(root, complete, TIMES)
    rewrite_in_place(root / key(1), swapped(data, long, long + 1))

    dataset = windows(root, TIMES, 30.0, 30.0)

    assert_equal_to_cuts(dataset, whole_days(root, end="2024-01-02"), TIMES, 30.0)
    assert (dataset.read_mode.values == "whole_object").all()


def version_3_day(day: int) -> bytes:
    """BH? of day ``day`` as miniSEED 3 (station_day makes day 1 only)."""
    start = DAY + (day - 1) * mseedgen.DAY_NS
    parts = [
        _as_version_3(channel_bytes(channel, start, 86_400.0, RATE, length, day + k))
        for k, (channel, length) in enumerate(CHANNELS.items())
    ]
    return mseedgen.interleave(*parts)


def many_times(count: int, seed: int) -> list[str]:
    """Window times over two days, some near midnight."""
    rng = np.random.default_rng(seed)
    seconds = rng.integers(60, 2 * 86_400 - 60, count).tolist()
    seconds += [86_370, 86_400, 86_420]
    return [
        str(np.datetime64("2024-01-01T00:00:00") + np.timedelta64(s, "s"))
        for s in sorted(seconds)
    ]


@pytest.mark.parametrize("version", [2, 3])
def test_many_windows_partial_indexes(tmp_path: Path, version: int) -> None:
    """Batches of windows each start from the indexes of the batches before."""
    if version == 2:
        objects = {key(1): station_day(1), key(2): station_day(2)}
    else:
        objects = {key(1): version_3_day(1), key(2): version_3_day(2)}
    root = mirror(tmp_path / "mirror", objects)
    expected = whole_days(root)
    for seed in range(3):
        times = many_times(25, seed)
        dataset = windows(root, times, 10.0, 20.0)
        assert_equal_to_cuts(dataset, expected, times, 10.0)
        assert (dataset.read_mode.values == "ranged").all()
