"""Window reads reuse the bytes that probes and earlier reads of an object fetched.

The reads go to the loopback S3 server, whose GETs countingfs counts. A
wrapper of ``rangedread.read_bytes`` records each requested range and
passes it on to the real read.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_break_blocks import LAYOUTS, read_layout
from test_window_blocks import (  # noqa: F401 (_index_cache is an autouse fixture)
    BEFORE,
    _index_cache,
    blocks_day,
    counted_store,
    counted_windows,
    whole_day,
)
from test_windows import (
    CODES,
    DAY,
    RATE,
    SOURCES,
    assert_equal_to_cuts,
    key,
    station_day,
)

from intake_earthscope import rangedread
from intake_earthscope.collection import Collection
from intake_earthscope.rangedread import RangedObject, index_object
from intake_earthscope.storage import StorageSpec

import countingfs
from conftest import collection_spec

MERGE = 64 * 1024


@pytest.fixture(autouse=True)
def _merge_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_COALESCE_BYTES", str(MERGE))


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record the byte range of each ranged GET of the window reader."""
    ranges: list[tuple[int, int]] = []
    real = rangedread.read_bytes

    def recorded(spec, key, start=None, end=None, if_match=""):
        data = real(spec, key, start, end, if_match)
        if start is not None:
            ranges.append((start, start + len(data)))
        return data

    monkeypatch.setattr(rangedread, "read_bytes", recorded)
    return ranges


def tier_spec(store: dict) -> StorageSpec:
    """Return the storage of the open SAGE tier in a counted loopback store."""
    tier = Collection.from_yaml(collection_spec("sage")).tier("open")
    return StorageSpec.for_tier(tier, store["storage_options"], store["root"])


@pytest.fixture
def day_spec(s3) -> StorageSpec:
    """The storage of a loopback bucket that contains one interleaved station-day."""
    return tier_spec(counted_store(s3, {key(1): station_day(1)}))


def s3_reader(spec: StorageSpec) -> RangedObject:
    reader = RangedObject(spec, key(1), DAY, SOURCES)
    countingfs.CountingS3FileSystem.reset()
    return reader


def gets() -> tuple[int, int]:
    """Return the GET requests and bytes counted since the last reset."""
    counter = countingfs.CountingS3FileSystem
    return counter.requests, counter.bytes_read


def test_held_ends_not_fetched(day_spec: StorageSpec) -> None:
    """A range whose ends probes hold fetches only the bytes between them."""
    reader = s3_reader(day_spec)
    reader._fetch([(25_000, 35_000), (55_000, 65_000)], merge=0)
    countingfs.CountingS3FileSystem.reset()

    reader._fetch([(30_000, 60_000)])

    assert gets() == (1, 20_000)


def inside(reader: RangedObject, start: int, end: int) -> np.ndarray:
    """Return the rows of the records the reader knows within ``[start, end)``."""
    table = reader.index.records
    ends = table.offsets + table.lengths
    return np.flatnonzero((table.offsets >= start) & (ends <= end))


def test_held_ends_index_unchanged(day_spec: StorageSpec) -> None:
    """Records that cross a probe's ends are indexed and sliced as from a
    fetch of the whole range."""
    data = station_day(1)
    probed = s3_reader(day_spec)
    probed._fetch([(25_000, 35_000), (55_000, 65_000)], merge=0)
    probed._fetch([(30_000, 60_000)])
    fresh = s3_reader(day_spec)
    fresh._fetch([(30_000, 60_000)])

    table = probed.index.records
    rows = inside(probed, 30_000, 60_000)
    expected = inside(fresh, 30_000, 60_000)

    assert np.array_equal(table.offsets[rows], fresh.index.records.offsets[expected])
    assert probed.bytes_of(rows) == fresh.bytes_of(expected)
    assert probed.bytes_of(rows) == b"".join(
        data[offset : offset + length]
        for offset, length in zip(
            table.offsets[rows].tolist(), table.lengths[rows].tolist(), strict=True
        )
    )


def test_range_held_in_pieces_not_fetched(day_spec: StorageSpec) -> None:
    """A range held in two chunks that touch takes no request."""
    reader = s3_reader(day_spec)
    reader._fetch([(0, 4_096)], merge=0)
    reader._fetch([(4_096, 8_192)], merge=0)
    countingfs.CountingS3FileSystem.reset()

    reader._fetch([(0, 8_192)])

    assert gets() == (0, 0)


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        # A held stretch no longer than the merge gap is read again, because
        # a request costs more than its bytes.
        (10_000, (1, 230_000)),
        (MERGE, (1, 220_000 + MERGE)),
        # A longer one is worth the second request.
        (MERGE + 1, (2, 220_000)),
        (200_000, (2, 220_000)),
    ],
)
def test_held_stretch_split_rule(
    day_spec: StorageSpec, held: int, expected: tuple[int, int]
) -> None:
    """A held stretch inside a range splits it only where it is longer than
    the merge gap."""
    reader = s3_reader(day_spec)
    reader._fetch([(200_000, 200_000 + held)], merge=0)
    countingfs.CountingS3FileSystem.reset()

    reader._fetch([(90_000, 310_000 + held)])

    assert gets() == expected


def test_nothing_held_unchanged(day_spec: StorageSpec) -> None:
    """With nothing held, ranges merge by the gap as before."""
    reader = s3_reader(day_spec)

    reader._fetch([(0, 10_000), (50_000, 60_000), (200_000, 210_000)])

    assert gets() == (2, 70_000)


def refetched(ranges: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """List the held stretches that a GET fetched again where it should not:
    at its first or last byte, or longer than the merge gap.

    Returns (GET start, GET end, stretch start, stretch end) for each.
    """
    found = []
    for number, (start, end) in enumerate(ranges):
        # GETs of one round run in threads in any order, but never overlap.
        for low, high in rangedread._coalesce(ranges[:number], 0):
            first, last = max(low, start), min(high, end)
            if first >= last:
                continue
            if first == start or last == end or last - first > MERGE:
                found.append((start, end, first, last))
    return found


# Block layouts, channels and windows whose search fetched held bytes again
# before they were reused, with the bytes the window read then (64 KiB
# merges). With the reuse it reads 353,577, 5,337,002 and 2,426,634 bytes.
BLOCK_CASES = [
    ("blocks", "BHZ,BHN,BHE", "2024-01-01T12:00:00", 360_170),
    ("mixed", "BHZ,BHN", "2024-01-01T00:00:10", 5_501_627),
    ("early_end", "BHZ", "2024-01-01T00:00:10", 2_505_162),
]


def read_case(s3, layout: str, channel: str, time: str):
    if layout in LAYOUTS:
        return read_layout(s3, layout, channel, time)
    data = blocks_day()
    store = counted_store(s3, {key(1): data})
    codes = {**CODES, "channel": channel, "sampling_rate": RATE}
    dataset, read = counted_windows(store, [time], **codes)
    whole = whole_day(store, "2024-01-01", "2024-01-02", **codes)
    return dataset, read, data, whole


@pytest.mark.parametrize(("layout", "channel", "time", "bytes_before"), BLOCK_CASES)
def test_block_reads_reuse_probes(
    s3, fetched: list, layout: str, channel: str, time: str, bytes_before: int
) -> None:
    dataset, read, _, whole = read_case(s3, layout, channel, time)

    assert (dataset.read_mode.values == "ranged").all()
    assert (dataset.status.values == "ok").all()
    assert refetched(fetched) == []
    assert read == sum(end - start for start, end in fetched)
    assert read < bytes_before
    assert_equal_to_cuts(dataset, whole, [time], BEFORE)


def test_indexed_window_reads_unchanged(
    s3, fetched: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a complete index, nothing is held before the one fetch of the
    window's records, which merges them by the gap alone."""
    requested: list[list[tuple[int, int]]] = []
    real = RangedObject._fetch

    def recorded(reader, ranges, merge=None):
        requested.append(list(ranges))
        real(reader, ranges, merge)

    monkeypatch.setattr(RangedObject, "_fetch", recorded)
    store = counted_store(s3, {key(1): blocks_day()})
    index_object(tier_spec(store), key(1))
    codes = {**CODES, "channel": "BHZ,BHN,BHE", "sampling_rate": RATE}
    time = "2024-01-01T12:00:00"

    dataset, read = counted_windows(store, [time], **codes)

    assert len(requested) == 1
    # The GETs run in threads, so they are recorded in any order.
    assert sorted(fetched) == rangedread._coalesce(requested[0], MERGE)
    assert read == sum(end - start for start, end in fetched)
    whole = whole_day(store, "2024-01-01", "2024-01-02", **codes)
    assert_equal_to_cuts(dataset, whole, [time], BEFORE)
