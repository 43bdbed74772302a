"""Attacks on the parse of close ranges as one span, and on outcome tables.

Requested ranges of one read that lie at most ``PARSE_GAP_BYTES`` apart are
parsed by one call, with the bytes between them. Here those bytes contain
garbage (zero bytes put between two records), which stops a parse. The
records of the later ranges must still be found, as they were when each
range was parsed alone, and windows that never touch the damage must be
read by range, bit for bit equal to a whole-day read. Outcome tables of
window datasets must take the selections that tables of days take.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_windows import (  # noqa: F401 (_index_cache is an autouse fixture)
    CODES,
    DAY,
    SOURCES,
    _index_cache,
    assert_equal_to_cuts,
    channel_bytes,
    key,
    parse_calls,
    station_day,
    whole_days,
    windows,
)

from intake_earthscope import open_waveforms, outcome_table
from intake_earthscope.rangedread import ObjectWindows, RangedObject
from intake_earthscope.recordindex import (
    ObjectIndex,
    forget_indexes,
    parse_records,
    store_index,
)
from intake_earthscope.storage import StorageSpec, object_stat

from conftest import collection_spec, mirror

SECOND = 10**9
GARBAGE = b"\x00" * 512


def with_garbage(data: bytes, row: int) -> tuple[bytes, int]:
    """Put zero bytes before the record at ``row`` and return the data with
    the offset of those bytes."""
    at = int(parse_records(data).offsets[row])
    return data[:at] + GARBAGE + data[at:], at


def test_range_after_garbage_is_parsed(tmp_path: Path) -> None:
    """Two ranges of one read, garbage between them: both ranges' records are found."""
    data, at = with_garbage(channel_bytes("BHZ", DAY, 6 * 3600.0, 20.0, 512, 3), 490)
    (tmp_path / "object").write_bytes(data)
    spec = StorageSpec("file", str(tmp_path))
    reader = RangedObject(spec, "object", DAY, [SOURCES[0]])

    # Each range is one record: four records before the garbage, four after it.
    after = at + len(GARBAGE) + 4 * 512
    reader._fetch([(at - 4 * 512, at - 3 * 512), (after, after + 512)])

    assert after in reader.index.records.offsets.tolist()


def test_window_after_garbage_with_cached_index(tmp_path: Path) -> None:
    """A partial cached index lacks one record of each window, and garbage lies
    between the two: both windows are read by range, their records found."""
    data = channel_bytes("BHZ", DAY, 6 * 3600.0, 20.0, 512, 3)
    row = len(parse_records(data)) // 2
    damaged, at = with_garbage(data, row)
    after = at + len(GARBAGE)
    table = parse_records(damaged[:at]).merged(
        parse_records(damaged[after:], base=after, synced=True)
    )
    missing = [row - 4, row + 4]
    (tmp_path / "object").write_bytes(damaged)
    spec = StorageSpec("file", str(tmp_path))
    size, version = object_stat(spec, "object")
    partial = table.take(np.delete(np.arange(len(table)), missing))
    store_index(spec.url("object"), ObjectIndex(size, partial), version)
    forget_indexes()
    starts = table.starts[missing] + SECOND
    reader = RangedObject(spec, "object", DAY, [SOURCES[0]])

    found = reader.records_for(
        ObjectWindows(tuple(starts.tolist()), tuple((starts + SECOND).tolist()))
    )

    assert reader.read_mode == "ranged"
    assert reader.state == "ok"
    offsets = reader.index.records.offsets
    assert [offsets[rows].tolist() for rows in found.rows] == [
        [int(table.offsets[number])] for number in missing
    ]


def test_windows_around_garbage_read_by_range(tmp_path: Path) -> None:
    """Windows ten minutes either side of garbage in a day of three channels read
    their records by range and give the samples of a whole-day read."""
    intact = station_day(1)
    row = 3925
    damaged, _ = with_garbage(intact, row)
    middle = pd.Timestamp(int(parse_records(intact).starts[row]), unit="ns")
    times = [
        str(middle - pd.Timedelta(seconds=602)),
        str(middle + pd.Timedelta(seconds=600)),
    ]
    root = mirror(tmp_path / "mirror", {key(1): damaged})
    expected = whole_days(mirror(tmp_path / "intact", {key(1): intact}), "2024-01-02")

    dataset = windows(root, times, 0.0, 2.0)

    assert (dataset.read_mode.values == "ranged").all()
    assert (dataset.status.values == "ok").all()
    assert_equal_to_cuts(dataset, expected, times, 0.0)


@pytest.mark.parametrize("cut", [0, 20, 100, 511])
def test_close_ranges_cut_by_span_end_one_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut: int
) -> None:
    """A span that ends inside a record costs no second parse call."""
    data = channel_bytes("BHZ", DAY, 3600.0, 20.0, 512, 5)
    (tmp_path / "object").write_bytes(data)
    reader = RangedObject(StorageSpec("file", str(tmp_path)), "object", DAY, SOURCES)
    calls = parse_calls(monkeypatch)
    reader._fetch([(0, 1024), (2048, 3072 + cut)])

    assert len(calls) == 1
    assert reader.index.records.offsets.tolist() == [0, 512, 1024, 1536, 2048, 2560]


@pytest.fixture
def half_day(tmp_path: Path) -> Path:
    """Day 1 until noon; day 2 is missing."""
    return mirror(tmp_path / "mirror", {key(1): station_day(1, seconds=43_200.0)})


def test_outcome_table_of_one_window(half_day: Path) -> None:
    """A window picked by ``isel`` keeps its row per trace, as a day does."""
    times = ["2024-01-01T06:00:00", "2024-01-02T12:00:00"]
    dataset = windows(half_day, times, 10.0, 10.0, errors="ignore")

    table = outcome_table(dataset.isel(window=1))

    assert len(table) == dataset.sizes["trace"]
    assert list(table.columns[:3]) == ["window", "trace", "status"]
    assert (table["window"] == np.datetime64(times[1])).all()
    assert (table["status"] == "missing").all()


def test_outcome_table_of_one_window_trace(half_day: Path) -> None:
    """One window and one trace, both picked by ``isel``, give one row."""
    dataset = windows(half_day, ["2024-01-01T06:00:00"], 10.0, 10.0)

    table = outcome_table(dataset.isel(window=0, trace=0))

    assert len(table) == 1
    assert table["trace"].tolist() == [str(dataset.trace.values[0])]
    assert table["status"].tolist() == ["ok"]
    assert table["read_mode"].tolist() == ["ranged"]


def test_outcome_table_of_one_day_trace(half_day: Path) -> None:
    """One day and one trace of a waveform dataset give one row."""
    dataset = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01",
        end="2024-01-02",
        root=str(half_day),
        **CODES,
    ).load()

    table = outcome_table(dataset.isel(day=0, trace=0))

    assert len(table) == 1
    assert table["day"].tolist() == [pd.Timestamp("2024-01-01")]
    assert table["status"].tolist() == ["ok"]
