"""Record tables: binary-search lookups checked against plain scans, and the cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import test_decode_break

from intake_earthscope import recordindex
from intake_earthscope.recordindex import (
    ByteRuns,
    ObjectIndex,
    RecordLookup,
    RecordTable,
    _parsed_records,
    _walk_headers,
    forget_indexes,
    load_index,
    store_index,
    trim_cache,
)

URL = "file:///archive/STA.XX.2024.001"
SIZE = 1_000_000


def random_table(seed: int, count: int = 60, in_order: bool = True) -> RecordTable:
    """Records of two sources with gaps between some of them.

    ``in_order=False`` shuffles the times of the records, as a channel whose
    records are out of time order would have them.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.choice([512, 4096], count)
    gaps = rng.choice([0, 0, 0, 700], count)
    offsets = np.cumsum(lengths) - lengths + np.cumsum(gaps)
    starts = np.sort(rng.integers(0, 10_000, count))
    if not in_order:
        starts = rng.permutation(starts)
    ends = starts + rng.integers(0, 400, count)
    sources = rng.choice(["FDSN:XX_STA_00_B_H_Z", "FDSN:XX_STA_00_B_H_N"], count)
    return RecordTable(offsets, lengths, starts, ends, sources.astype(str))


def scanned_bracket(
    table: RecordTable, rows: np.ndarray, start: int, end: int
) -> tuple[int, int]:
    """The byte span around a time span, by looking at every record."""
    low, high = 0, SIZE
    for row in rows:
        if table.ends[row] < start:
            low = max(low, int(table.offsets[row] + table.lengths[row]))
        if table.starts[row] > end:
            high = min(high, int(table.offsets[row]))
    return low, max(low, high)


def scanned_gaps(table: RecordTable, low: int, high: int) -> list[tuple[int, int]]:
    """The stretches of ``[low, high)`` that no record covers, record by record."""
    gaps, position = [], low
    for offset, length in zip(
        table.offsets.tolist(), table.lengths.tolist(), strict=True
    ):
        if offset + length <= low or offset >= high:
            continue
        if offset > position:
            gaps.append((position, offset))
        position = max(position, offset + length)
    if position < high:
        gaps.append((position, high))
    return gaps


@pytest.mark.parametrize("in_order", [True, False])
def test_lookup_bracket_equals_scan(in_order: bool) -> None:
    table = random_table(1, in_order=in_order)
    rows = np.flatnonzero(table.sources == "FDSN:XX_STA_00_B_H_Z")
    lookup = RecordLookup(table, rows)
    starts = np.arange(-500, 11_000, 250)
    ends = starts + 300

    lows, highs = lookup.bracket(starts, ends, SIZE)

    expected = [
        scanned_bracket(table, rows, start, end)
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    assert list(zip(lows.tolist(), highs.tolist(), strict=True)) == expected


@pytest.mark.parametrize("in_order", [True, False])
def test_lookup_overlapping_equals_scan(in_order: bool) -> None:
    table = random_table(2, in_order=in_order)
    rows = np.flatnonzero(table.sources == "FDSN:XX_STA_00_B_H_N")
    lookup = RecordLookup(table, rows)
    starts = np.arange(-500, 11_000, 250)
    ends = starts + 300

    spans, found = lookup.overlapping(starts, ends)

    for number, (start, end) in enumerate(zip(starts, ends, strict=True)):
        inside = (table.starts[rows] <= end) & (table.ends[rows] >= start)
        assert found[spans == number].tolist() == rows[inside].tolist(), start


def test_lookup_anchor_times() -> None:
    table = random_table(3, in_order=False)
    lookup = RecordLookup(table, np.arange(len(table)))
    offset = int(table.offsets[20])

    assert lookup.latest_end_before(offset) == int(table.ends[:20].max())
    assert lookup.earliest_start_from(offset) == int(table.starts[20:].min())


def test_lookup_without_records() -> None:
    lookup = RecordLookup(random_table(4), np.zeros(0, dtype=np.int64))

    lows, highs = lookup.bracket(np.array([5]), np.array([9]), SIZE)

    assert (lows[0], highs[0]) == (0, SIZE)
    assert lookup.overlapping(np.array([0]), np.array([10_000]))[1].size == 0
    assert lookup.latest_end_before(SIZE) is None


def test_runs_gaps_equal_scan() -> None:
    table = random_table(5)
    runs = ByteRuns(table)
    end = int(table.offsets[-1] + table.lengths[-1])

    for low in range(0, end + 2000, 1500):
        for high in (low, low + 700, low + 9000):
            assert runs.gaps(low, high) == scanned_gaps(table, low, high)


def test_runs_covered_equals_gaps() -> None:
    table = random_table(6)
    runs = ByteRuns(table)
    lows = np.arange(0, 200_000, 997)
    highs = lows + 3000

    covered = runs.covered(lows, highs)

    expected = [not runs.gaps(low, high) for low, high in zip(lows, highs, strict=True)]
    assert covered.tolist() == expected


def test_runs_overlap_found() -> None:
    times = np.array([0, 10, 20])
    sources = np.array(["FDSN:XX_STA_00_B_H_Z"] * 3)
    lengths = np.array([512, 512, 512])
    apart = RecordTable(np.array([0, 512, 1024]), lengths, times, times, sources)
    overlapping = RecordTable(np.array([0, 512, 1000]), lengths, times, times, sources)

    assert ByteRuns(apart).overlap() is None
    assert ByteRuns(overlapping).overlap() == 1000


def test_merged_keeps_each_offset_once() -> None:
    table = random_table(8)
    first = RecordTable(*(column[:40] for column in _columns(table)))
    second = RecordTable(*(column[30:] for column in _columns(table)))

    merged = RecordTable.empty().merged(second, first)

    assert merged.offsets.tolist() == table.offsets.tolist()
    assert merged.sources.tolist() == table.sources.tolist()


def _columns(table: RecordTable) -> tuple[np.ndarray, ...]:
    return (table.offsets, table.lengths, table.starts, table.ends, table.sources)


def test_partial_indexes_add_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path))
    forget_indexes()
    table = random_table(9)
    early = RecordTable(*(column[:20] for column in _columns(table)))
    late = RecordTable(*(column[40:] for column in _columns(table)))

    store_index(URL, ObjectIndex(SIZE, early))
    store_index(URL, ObjectIndex(SIZE, late))
    forget_indexes()
    index = load_index(URL, SIZE)

    assert index is not None
    assert len(index.records) == 40
    assert not index.complete


def test_complete_index_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path))
    forget_indexes()
    table = random_table(10)
    part = RecordTable(*(column[:5] for column in _columns(table)))

    store_index(URL, ObjectIndex(SIZE, table, complete=True))
    store_index(URL, ObjectIndex(SIZE, part))
    index = load_index(URL, SIZE)

    assert index is not None
    assert index.complete
    assert len(index.records) == len(table)


def _aged_file(folder: Path, name: str, size: int, age_s: int) -> Path:
    path = folder / name
    path.write_bytes(b"\0" * size)
    stamp = 1_700_000_000 - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_trim_removes_oldest_first(tmp_path: Path) -> None:
    for age in range(5):
        _aged_file(tmp_path, f"index{age}.npz", 1000, age_s=age * 60)

    removed = trim_cache(tmp_path, limit_bytes=3500)

    assert removed == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "index0.npz",
        "index1.npz",
        "index2.npz",
    ]


def test_trim_removes_stale_temporary_files(tmp_path: Path) -> None:
    """A temporary file left by a process killed mid-write goes at the next
    listing once it is an hour old, while one being written stays."""
    _aged_file(tmp_path, "index0.npz", 1000, age_s=0)
    _aged_file(tmp_path, "abandoned.tmp", 5000, age_s=0)
    (tmp_path / "writing.tmp").write_bytes(b"\0" * 5000)

    removed = trim_cache(tmp_path, limit_bytes=3500)

    assert removed == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index0.npz", "writing.tmp"]


def test_trim_under_limit_keeps_all(tmp_path: Path) -> None:
    for age in range(3):
        _aged_file(tmp_path, f"index{age}.npz", 1000, age_s=age)

    assert trim_cache(tmp_path, limit_bytes=3000) == 0
    assert len(list(tmp_path.iterdir())) == 3


def test_store_trims_to_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An old index of 2 MB gives way to a new one under a 1 MB limit."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("INTAKE_EARTHSCOPE_INDEX_CACHE_MB", "1")
    folder = tmp_path / "record-index"
    folder.mkdir()
    old = _aged_file(folder, "old.npz", 2_000_000, age_s=3600)
    forget_indexes()

    store_index(URL, ObjectIndex(SIZE, random_table(3)))
    forget_indexes()

    assert not old.exists()
    assert load_index(URL, SIZE) is not None


def _count_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each listing of a folder by the record index module."""
    listed: list[str] = []
    scandir = os.scandir

    def counted(path: Path) -> object:
        listed.append(str(path))
        return scandir(path)

    monkeypatch.setattr(recordindex.os, "scandir", counted)
    return listed


def test_stores_list_folder_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stores far under the limit list the folder once per process."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path))
    forget_indexes()
    listed = _count_listings(monkeypatch)

    for number in range(20):
        store_index(f"{URL}.{number}", ObjectIndex(SIZE, random_table(number)))

    assert len(listed) == 1
    assert len(list((tmp_path / "record-index").glob("*.npz"))) == 20


def test_store_trims_once_own_writes_reach_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files another process left are trimmed once this process's writes
    could take the folder past its limit."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("INTAKE_EARTHSCOPE_INDEX_CACHE_MB", "1")
    forget_indexes()
    store_index(f"{URL}.first", ObjectIndex(SIZE, random_table(0)))
    folder = tmp_path / "record-index"
    other = _aged_file(folder, "other.npz", 950_000, age_s=3600)
    listed = _count_listings(monkeypatch)

    number = 0
    while other.exists():
        number += 1
        assert number < 200, "the file of the other process was never trimmed"
        store_index(f"{URL}.{number}", ObjectIndex(SIZE, random_table(number, 400)))

    assert len(listed) == 1
    assert sum(path.stat().st_size for path in folder.iterdir()) <= 1_000_000


def test_forget_indexes_lists_folder_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path))
    forget_indexes()
    listed = _count_listings(monkeypatch)

    store_index(f"{URL}.a", ObjectIndex(SIZE, random_table(1)))
    forget_indexes()
    store_index(f"{URL}.b", ObjectIndex(SIZE, random_table(2)))

    assert len(listed) == 2


def test_load_renews_use_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path))
    store_index(URL, ObjectIndex(SIZE, random_table(4)))
    (path,) = (tmp_path / "record-index").glob("*.npz")
    os.utime(path, (1_600_000_000, 1_600_000_000))
    forget_indexes()

    load_index(URL, SIZE)

    assert path.stat().st_mtime > 1_600_000_000


# Layouts of the decoder's break tests, plus records without samples and bytes
# that are not miniSEED between records.
HEADER_CASES = {
    **test_decode_break.CASES,
    "empty_record": lambda: (
        test_decode_break.run(0, 1000)
        + test_decode_break.empty_record(15.0)
        + test_decode_break.run(4000, 1000)
    ),
    "not_miniseed_between": lambda: (
        test_decode_break.run(0, 1000)
        + b"\xff" * 600
        + test_decode_break.run(4000, 1000)
    ),
}


def _as_lists(table: RecordTable) -> list[list]:
    return [
        table.offsets.tolist(),
        table.lengths.tolist(),
        table.starts.tolist(),
        table.ends.tolist(),
        table.sources.tolist(),
    ]


@pytest.mark.parametrize("name", sorted(HEADER_CASES))
def test_trace_list_equals_header_parse(name: str) -> None:
    """One libmseed read lists the same records as parsing each header."""
    data = HEADER_CASES[name]()
    expected = _parsed_records(data, 0)

    walked = _walk_headers(data, 0, 100)

    assert len(walked) > 0
    assert walked.offsets.tolist() == (expected.offsets + 100).tolist()
    assert _as_lists(walked)[1:] == _as_lists(expected)[1:]


def test_trace_list_stops_at_cut() -> None:
    """A range that ends inside a record lists the records before it."""
    data = test_decode_break.run(0, 3000)
    cut = data[: len(data) - 100]

    walked = _walk_headers(cut, 0, 0)

    assert _as_lists(walked) == _as_lists(_parsed_records(cut, 0))
    assert len(walked) == len(_parsed_records(data, 0)) - 1


def test_trace_list_gap_parses_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Records the trace list leaves out send the walk to the header parser.

    No input known here makes libmseed leave a record out of its trace
    list, so the list it returns is cut short on purpose.
    """
    data = test_decode_break.run(0, 3000)
    real = recordindex._RecordColumns.table

    def without_second(columns: object) -> recordindex.RecordTable:
        table = real(columns)
        return table.take(np.delete(np.arange(len(table)), 1))

    monkeypatch.setattr(recordindex._RecordColumns, "table", without_second)

    assert recordindex._listed_records(data, 0) is None
    assert _as_lists(_walk_headers(data, 0, 0)) == _as_lists(_parsed_records(data, 0))
