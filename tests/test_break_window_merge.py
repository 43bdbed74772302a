"""Attacks on merged window reads and the lazy parsing of the bytes between ranges.

Reads of one object are merged within ``coalesce_bytes`` and only the
requested ranges of a merged read are parsed. Here the reader meets layouts
where its reads overlap (channels that start at different hours, days with
gaps), gaps from 0 bytes to more than the object, garbage between records,
miniSEED 3, tiny objects and cached indexes. Each window must still find
exactly the records a whole-object parse gives it, and no read may fetch
bytes that one earlier read of the same reader already returned.
"""

from __future__ import annotations

import os
from pathlib import Path

import dask
import numpy as np
import pytest
from test_windows import (  # noqa: F401 (_index_cache is an autouse fixture)
    CHANNELS,
    CODES,
    DAY,
    RATE,
    SOURCES,
    _index_cache,
    assert_equal_to_cuts,
    channel_bytes,
    key,
    station_day,
    whole_days,
)

import intake_earthscope.rangedread as rangedread
from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.decode import intact_records
from intake_earthscope.rangedread import ObjectWindows, RangedObject
from intake_earthscope.recordindex import forget_indexes, parse_records
from intake_earthscope.storage import StorageSpec

import countingfs
import mseedgen
from conftest import bucket_of, collection_spec, mirror, publish

SECOND = 10**9
HOUR = 3600 * SECOND
COALESCE = "INTAKE_EARTHSCOPE_COALESCE_BYTES"
GAPS = ["0", "1", "65536", "1048576", str(10**12)]


def staggered_day() -> bytes:
    """BH? interleaved by time, each channel starting an hour after the one before.

    The first hours hold fewer channels per second than the rest, so the
    time-to-offset guesses miss and the reads of later rounds overlap earlier ones.
    """
    parts = [
        channel_bytes(channel, DAY + k * HOUR, 86_400.0 - k * 3600, RATE, length, k)
        for k, (channel, length) in enumerate(CHANNELS.items())
    ]
    return mseedgen.interleave(*parts)


def gappy_day() -> bytes:
    """BH? in runs of one or two hours every three hours."""
    parts = []
    for hour in range(0, 24, 3):
        seconds = 3600.0 * (1 + hour % 2)
        for k, (channel, length) in enumerate(CHANNELS.items()):
            start = DAY + hour * HOUR
            parts.append(
                channel_bytes(channel, start, seconds, RATE, length, hour * 7 + k)
            )
    return mseedgen.interleave(*parts)


def mixed_lengths_day() -> bytes:
    """BH? with 4096-, 512- and 1024-byte records."""
    lengths = {"BHZ": 4096, "BHN": 512, "BHE": 1024}
    parts = [
        channel_bytes(channel, DAY, 86_400.0, RATE, length, seed=k)
        for k, (channel, length) in enumerate(lengths.items())
    ]
    return mseedgen.interleave(*parts)


def garbage_day() -> bytes:
    """A day with runs of zero bytes put between records in 20 places."""
    data = station_day(1)
    offsets = parse_records(data).offsets
    rng = np.random.default_rng(5)
    cuts = sorted(rng.choice(offsets[1:], 20, replace=False).tolist())
    pieces, position = [], 0
    for at in cuts:
        pieces += [data[position:at], b"\x00" * int(rng.integers(1, 300))]
        position = at
    return b"".join([*pieces, data[position:]])


def tiny_object() -> bytes:
    """Thirty seconds of BH?, smaller than the first read of an object."""
    parts = [
        channel_bytes(channel, DAY + HOUR, 30.0, RATE, length, seed=k)
        for k, (channel, length) in enumerate(CHANNELS.items())
    ]
    return mseedgen.interleave(*parts)


LAYOUTS = {
    "interleaved": lambda: station_day(1),
    "miniseed3": lambda: station_day(1, version=3),
    "staggered": staggered_day,
    "gappy": gappy_day,
    "mixed_lengths": mixed_lengths_day,
    "garbage": garbage_day,
    "tiny": tiny_object,
}

# Window starts in seconds after midnight, each a minute long: before the
# day, at its first sample, in the middle, across and after midnight.
WINDOW_SECONDS = [-30, 0, 3540, 3601, 24_919, 39_091, 39_281, 66_023, 86_370, 86_500]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int] | None]:
    """Record the byte ranges that readers fetch, with None where a reader starts.

    Reads of one reader follow one another only when objects are read in
    turn, so tests that read through dask use its synchronous scheduler.
    """
    ranges: list[tuple[int, int] | None] = []
    local, remote = rangedread.read_local_ranges, rangedread.read_bytes
    start_reader = RangedObject.__init__

    def read_local(spec, name, spans):
        ranges.extend(spans)
        return local(spec, name, spans)

    def read_remote(spec, name, start=None, end=None, if_match=""):
        if start is not None:
            ranges.append((start, end))
        return remote(spec, name, start, end, if_match)

    def init(self, *args, **kwargs):
        ranges.append(None)
        start_reader(self, *args, **kwargs)

    monkeypatch.setattr(rangedread, "read_local_ranges", read_local)
    monkeypatch.setattr(rangedread, "read_bytes", read_remote)
    monkeypatch.setattr(RangedObject, "__init__", init)
    return ranges


def reread(ranges: list[tuple[int, int] | None]) -> list[tuple[int, int]]:
    """List the reads whose bytes one earlier read of the same reader returned."""
    again, earlier = [], []
    for span in ranges:
        if span is None:
            earlier = []
            continue
        start, end = span
        if any(low <= start and end <= high for low, high in earlier):
            again.append(span)
        earlier.append(span)
    return again


def expected_rows(data: bytes, starts: np.ndarray, ends: np.ndarray) -> list[set]:
    """The (source, start time) of the requested records in each window."""
    table = parse_records(intact_records(data))
    requested = np.isin(table.sources, SOURCES)
    return [
        set(
            zip(
                table.sources[keep].tolist(),
                table.starts[keep].tolist(),
                strict=True,
            )
        )
        for keep in (
            requested & (table.starts <= end) & (table.ends >= start)
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
        )
    ]


def found_rows(reader: RangedObject, rows: list[np.ndarray]) -> list[set]:
    table = reader.index.records
    return [
        set(zip(table.sources[own].tolist(), table.starts[own].tolist(), strict=True))
        for own in rows
    ]


def local_reader(tmp_path: Path, data: bytes) -> RangedObject:
    (tmp_path / "object").write_bytes(data)
    return RangedObject(StorageSpec("file", str(tmp_path)), "object", DAY, SOURCES)


@pytest.mark.parametrize("gap", GAPS)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_window_records_equal_whole_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str, gap: str
) -> None:
    """Every window finds the records a parse of the whole object gives it."""
    monkeypatch.setenv(COALESCE, gap)
    data = LAYOUTS[layout]()
    starts = DAY + np.array(WINDOW_SECONDS) * SECOND
    ends = starts + 60 * SECOND
    reader = local_reader(tmp_path, data)

    found = reader.records_for(ObjectWindows(tuple(starts), tuple(ends)))

    assert found_rows(reader, found.rows) == expected_rows(data, starts, ends)
    assert reader.read_mode == ("whole_object" if layout == "garbage" else "ranged")


# Batches of windows, as (start, length) in seconds, whose searches read
# chunks that overlap: a later chunk starts inside an earlier one and ends
# before it.
REREAD_BATCHES = {
    "staggered": [
        (5273, 496),
        (24_919, 590),
        (39_091, 981),
        (39_281, 990),
        (47_873, 752),
        (48_425, 852),
        (66_023, 1150),
        (69_959, 764),
    ],
    "gappy": [
        (9930, 1112),
        (11_435, 802),
        (15_953, 1161),
        (62_986, 1045),
        (79_874, 18),
        (80_529, 143),
        (83_835, 1036),
    ],
}


def batch_windows(batch: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    starts = DAY + np.array([start for start, _ in batch]) * SECOND
    return starts, starts + np.array([length for _, length in batch]) * SECOND


@pytest.mark.parametrize(
    ("layout", "gap"),
    [("staggered", "65536"), ("staggered", "1048576"), ("gappy", "1048576")],
)
def test_held_bytes_not_read_again(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reads: list[tuple[int, int] | None],
    layout: str,
    gap: str,
) -> None:
    """A range inside a chunk read before is served from memory, even when a
    chunk that starts later but ends sooner lies between them."""
    monkeypatch.setenv(COALESCE, gap)
    data = LAYOUTS[layout]()
    starts, ends = batch_windows(REREAD_BATCHES[layout])
    reader = local_reader(tmp_path, data)

    found = reader.records_for(ObjectWindows(tuple(starts), tuple(ends)))

    assert found_rows(reader, found.rows) == expected_rows(data, starts, ends)
    assert reread(reads) == []


def test_parse_inside_overlapping_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merged read that starts before an earlier chunk and ends after it is
    parsed from its own bytes, not cut short at the end of the earlier chunk."""
    monkeypatch.setenv(COALESCE, str(10**9))
    data = station_day(1)
    reader = local_reader(tmp_path, data)
    reader._fetch([(800_000, 1_200_000)])

    reader._fetch([(100_000, 110_000), (900_000, 1_500_000)])

    table = parse_records(data)
    inside = (table.offsets >= 900_000) & (table.offsets + table.lengths <= 1_500_000)
    missing = np.setdiff1d(table.offsets[inside], reader.index.records.offsets)
    assert missing.tolist() == []
    assert reader._held(np.array([850_000]), np.array([1_300_000])).tolist() == [True]


def test_second_batch_reads_no_byte_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[tuple[int, int] | None]
) -> None:
    """A batch after the first starts from the cached partial index. Its
    search too is served from memory where a chunk contains the bytes."""
    monkeypatch.setenv(COALESCE, "1048576")
    data = gappy_day()
    (tmp_path / "object").write_bytes(data)
    spec = StorageSpec("file", str(tmp_path))
    first = [(27_142, 1171), (37_132, 831), (42_236, 931), (42_468, 10)]
    second = [(23_313, 1035), (44_060, 766), (84_992, 1057)]
    RangedObject(spec, "object", DAY, SOURCES).records_for(
        ObjectWindows(*(tuple(times) for times in batch_windows(first)))
    )
    reads.clear()
    starts, ends = batch_windows(second)
    reader = RangedObject(spec, "object", DAY, SOURCES)

    found = reader.records_for(ObjectWindows(tuple(starts), tuple(ends)))

    assert found_rows(reader, found.rows) == expected_rows(data, starts, ends)
    assert reread(reads) == []


def _two_days(layout) -> dict[str, bytes]:
    first = layout()
    second = mseedgen.interleave(
        *(
            channel_bytes(channel, DAY + 24 * HOUR, 43_200.0, RATE, length, 20 + k)
            for k, (channel, length) in enumerate(CHANNELS.items())
        )
    )
    return {key(1): first, key(2): second}


# Reference times of windows of 60 s before and 120 s after: object edges,
# midnight, the spill of the day before, and the hours the layouts change.
TIMES = [
    "2024-01-01T00:01:00",
    "2024-01-01T01:00:05",
    "2024-01-01T02:59:00",
    "2024-01-01T06:50:00",
    "2024-01-01T13:44:00",
    "2024-01-01T23:59:30",
    "2024-01-02T00:00:20",
    "2024-01-02T11:59:00",
]


@pytest.fixture
def counted_days(s3) -> dict:
    countingfs.register()
    countingfs.CountingS3FileSystem.reset()
    bucket, _ = bucket_of("sage")
    return {
        "root": f"countings3://{bucket}",
        "storage_options": countingfs.storage_options(s3.endpoint_url),
    }


@pytest.mark.parametrize("gap", ["", "0", str(10**12)])
@pytest.mark.parametrize("layout", ["staggered", "gappy"])
def test_s3_windows_equal_whole_days(
    s3,
    monkeypatch: pytest.MonkeyPatch,
    counted_days: dict,
    reads: list[tuple[int, int] | None],
    layout: str,
    gap: str,
) -> None:
    """Windows from the loopback S3 server equal cuts of whole-day reads."""
    publish(s3, "sage", _two_days(LAYOUTS[layout]))
    monkeypatch.setenv(COALESCE, gap)
    with dask.config.set(scheduler="synchronous"):
        dataset = open_windows(
            collection_spec("sage"), TIMES, 60.0, 120.0, **counted_days, **CODES
        ).load()
    whole = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01",
        end="2024-01-03",
        **counted_days,
        **CODES,
    ).load()

    assert_equal_to_cuts(dataset, whole.waveform, TIMES, 60.0)
    assert (dataset.read_mode.values == "ranged").all()
    assert reread(reads) == []


def test_stale_index_merged_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An object rewritten with the same size and time, read by merged
    windows far apart, gives the new bytes' samples."""
    values = np.arange(7200 * 20, dtype=np.int32) % 1000

    def day(shift_s: int) -> bytes:
        return mseedgen.segment_bytes(
            "XX.STA.00.BHZ",
            DAY + shift_s * SECOND,
            values,
            RATE,
            record_length=512,
            encoding="int32",
        )

    root = mirror(tmp_path / "mirror", {key(1): day(0)})
    path = root / key(1)
    times = ["2024-01-01T01:10:00", "2024-01-01T01:50:00"]
    options = {**CODES, "channel": "BHZ"}
    monkeypatch.setenv(COALESCE, str(10**12))
    open_windows(
        collection_spec("sage"), times, 10.0, 10.0, root=str(root), **options
    ).load()
    written = path.stat().st_mtime_ns
    path.write_bytes(day(1800))
    os.utime(path, ns=(written, written))
    forget_indexes()
    dataset = open_windows(
        collection_spec("sage"), times, 10.0, 10.0, root=str(root), **options
    ).load()
    whole = whole_days(root, end="2024-01-02", **options)

    assert_equal_to_cuts(dataset, whole, times, 10.0)
