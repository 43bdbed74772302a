"""Event windows: ranged reads of station-day objects, checked against whole days."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from intake_earthscope import open_waveforms, open_windows, outcome_table, rangedread
from intake_earthscope.collection import Collection
from intake_earthscope.errors import (
    DecodeError,
    InvalidRequestError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
)
from intake_earthscope.rangedread import (
    LOCAL_COALESCE_BYTES,
    ObjectWindows,
    RangedObject,
    _coalesce,
    index_object,
)
from intake_earthscope.recordindex import (
    cache_directory,
    forget_indexes,
    load_index,
    parse_records,
)
from intake_earthscope.source import MiniseedSource
from intake_earthscope.storage import StorageSpec
from intake_earthscope.windows import window_offsets, window_times

import countingfs
import mseedgen
from conftest import bucket_of, collection_spec, mirror, publish

DAY = mseedgen.nstime("2024-01-01T00:00:00Z")
DAY_NS = mseedgen.DAY_NS
RATE = 20.0
CODES = {"network": "XX", "station": "STA", "location": "00", "channel": "BH?"}

# Requested channels and their record lengths; LHZ is in the objects but not
# requested, with long records that start hours before they end.
CHANNELS = {"BHZ": 512, "BHN": 4096, "BHE": 512}
SOURCES = [f"FDSN:XX_STA_00_B_H_{channel[-1]}" for channel in CHANNELS]


def key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def channel_bytes(
    channel: str, start_ns: int, seconds: float, rate: float, length: int, seed: int
) -> bytes:
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.integers(-40, 41, round(seconds * rate))).astype(np.int32)
    return mseedgen.segment_bytes(
        f"XX.STA.00.{channel}", start_ns, values, rate, record_length=length
    )


@functools.cache
def station_day(day: int, seconds: float = 86_400.0, version: int = 2) -> bytes:
    """Interleave BH? at 20 Hz (512- and 4096-byte records) with LHZ at 1 Hz."""
    start = DAY + (day - 1) * DAY_NS
    parts = [
        channel_bytes(channel, start, seconds, RATE, length, seed=day * 10 + k)
        for k, (channel, length) in enumerate(CHANNELS.items())
    ]
    parts.append(channel_bytes("LHZ", start, seconds, 1.0, 4096, seed=day))
    if version == 3:
        parts = [
            channel_bytes(channel, start, seconds, RATE, length, seed=k)
            for k, (channel, length) in enumerate(CHANNELS.items())
        ]
        parts = [_as_version_3(part) for part in parts]
    return mseedgen.interleave(*parts)


def _as_version_3(data: bytes) -> bytes:
    import pymseed

    traces = pymseed.MS3TraceList.from_buffer(data, unpack_data=True)
    return b"".join(traces.generate(max_record_length=4096, format_version=3))


def reversed_channel(data: bytes, channel: str) -> bytes:
    """Put the records of one channel in reverse time order, in their slots."""
    table = parse_records(data)
    records = [
        data[o : o + n] for o, n in zip(table.offsets, table.lengths, strict=True)
    ]
    rows = [i for i, source in enumerate(table.sources) if source.endswith(channel)]
    flipped = [records[i] for i in reversed(rows)]
    for row, record in zip(rows, flipped, strict=True):
        records[row] = record
    return b"".join(records)


@pytest.fixture(autouse=True)
def _index_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(folder))
    forget_indexes()
    yield folder
    forget_indexes()


@pytest.fixture
def two_days(tmp_path: Path) -> Path:
    """Day 1 whole, day 2 for its first 12 hours only."""
    objects = {key(1): station_day(1), key(2): station_day(2, seconds=43_200.0)}
    return mirror(tmp_path / "mirror", objects)


def windows(root: Path, times: list[str], before: float, after: float, **options):
    return open_windows(
        collection_spec("sage"),
        times,
        before,
        after,
        root=str(root),
        **{**CODES, **options},
    ).load()


def whole_days(root: Path, end: str = "2024-01-03", **options: str) -> xr.DataArray:
    """Read the days from 2024-01-01 to ``end`` whole; ``options`` override codes."""
    dataset = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01",
        end=end,
        root=str(root),
        **{**CODES, **options},
    ).load()
    return dataset.waveform


def cut(whole, reference: str, before: float, width: int) -> np.ndarray:
    start = np.datetime64(pd.Timestamp(reference).as_unit("ns")) - np.timedelta64(
        round(before * 1e9), "ns"
    )
    first = int(np.searchsorted(whole.time.values, start))
    return whole.values[:, first : first + width]


def assert_equal_to_cuts(dataset, whole, times: list[str], before: float) -> None:
    """Check each window's samples against the same stretch of whole days."""
    width = dataset.sizes["lag"]
    for number, reference in enumerate(times):
        expected = cut(whole, reference, before, width)
        assert np.array_equal(
            dataset.waveform.values[number], expected, equal_nan=True
        ), reference


EDGE_TIMES = [
    "2024-01-01T06:00:00",  # inside the day
    "2024-01-01T00:01:00",  # starts at the first sample of the object
    "2024-01-01T23:58:00",  # ends at midnight
    "2024-01-01T23:59:30",  # crosses midnight: two objects
    "2024-01-02T00:00:20",  # starts after midnight: spill of the day before
]


def test_windows_equal_whole_day_cut(two_days: Path) -> None:
    dataset = windows(two_days, EDGE_TIMES, 60.0, 120.0)
    whole = whole_days(two_days)

    assert dataset.sizes["lag"] == 180 * RATE
    assert_equal_to_cuts(dataset, whole, EDGE_TIMES, 60.0)


def test_windows_outcomes_at_edges(two_days: Path) -> None:
    dataset = windows(two_days, EDGE_TIMES, 60.0, 120.0)

    assert (dataset.status.values == "ok").all()
    assert (dataset.read_mode.values == "ranged").all()
    assert (dataset.valid_fraction.values == 1.0).all()


def test_windows_coordinates(two_days: Path) -> None:
    dataset = windows(two_days, EDGE_TIMES[:2], 1.0, 2.0)

    assert dataset.waveform.dims == ("window", "trace", "lag")
    assert dataset.lag.values[0] == np.timedelta64(-1, "s")
    assert dataset.lag.values[1] - dataset.lag.values[0] == np.timedelta64(50, "ms")
    assert dataset.window.values[1] == np.datetime64("2024-01-01T00:01:00")
    assert list(dataset.trace.values) == [
        "XX.STA.00.BHE",
        "XX.STA.00.BHN",
        "XX.STA.00.BHZ",
    ]


# Windows of one batch, because their reference times share day 2, whose data
# end at noon. One window reads the spill of day 1, two share records, one
# runs past the end of the data and one has no data.
BATCH_TIMES = [
    "2024-01-02T00:00:20",
    "2024-01-02T06:00:00",
    "2024-01-02T06:01:00",
    "2024-01-02T11:59:00",
    "2024-01-02T18:00:00",
]


def test_batch_windows_equal_whole_day_cut(two_days: Path) -> None:
    dataset = windows(two_days, BATCH_TIMES, 60.0, 120.0)
    whole = whole_days(two_days)

    assert_equal_to_cuts(dataset, whole, BATCH_TIMES, 60.0)


def test_batch_one_chunk(two_days: Path) -> None:
    dataset = open_windows(
        collection_spec("sage"), BATCH_TIMES, 60.0, 120.0, root=str(two_days), **CODES
    )

    assert dataset.waveform.chunks[0] == (len(BATCH_TIMES),)


def test_batch_window_outcomes(two_days: Path) -> None:
    dataset = windows(two_days, BATCH_TIMES, 60.0, 120.0)

    assert (dataset.status.values[:4] == "ok").all()
    assert (dataset.status.values[4] == "no_data_in_window").all()
    assert (dataset.valid_fraction.values[:3] == 1.0).all()
    assert dataset.valid_fraction.values[3].tolist() == pytest.approx([2 / 3] * 3)
    assert (dataset.read_mode.values == "ranged").all()


def _tier_spec(counted_s3: dict) -> StorageSpec:
    tier = Collection.from_yaml(collection_spec("sage")).tier("open")
    return StorageSpec.for_tier(tier, counted_s3["storage_options"], counted_s3["root"])


def requests_of(counted_s3: dict, times: list[str]) -> tuple[xr.Dataset, int]:
    """Load 10 s windows of BH? around ``times``; count the GET requests."""
    countingfs.CountingS3FileSystem.reset()
    dataset = open_windows(
        collection_spec("sage"),
        times,
        10.0,
        10.0,
        sampling_rate=RATE,
        **counted_s3,
        **{**CODES, "channel": "BHZ,BHN,BHE"},
    ).load()
    return dataset, countingfs.CountingS3FileSystem.requests


def test_close_windows_one_request(counted_s3: dict) -> None:
    index_object(_tier_spec(counted_s3), key(1))
    times = ["2024-01-01T15:00:00", "2024-01-01T15:02:00", "2024-01-01T15:04:00"]

    dataset, requests = requests_of(counted_s3, times)

    assert (dataset.status.values == "ok").all()
    assert requests == 1


def test_coalesce_zero_reads_apart(
    counted_s3: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no gap allowed, the three close windows take a request each."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_COALESCE_BYTES", "0")
    index_object(_tier_spec(counted_s3), key(1))
    times = ["2024-01-01T15:00:00", "2024-01-01T15:02:00", "2024-01-01T15:04:00"]

    _, requests = requests_of(counted_s3, times)

    assert requests >= 3


def _merged_one_by_one(
    ranges: list[tuple[int, int]], gap: int
) -> list[tuple[int, int]]:
    """The merge rule read literally: sorted ranges, each joins the last
    merged range when it starts at most ``gap`` bytes past its end."""
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start - merged[-1][1] <= gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


@pytest.mark.parametrize("gap", [0, 1, 100, 4096])
def test_coalesce_matches_the_rule(gap: int) -> None:
    """Ranges overlap, touch, contain one another and come unsorted."""
    rng = np.random.default_rng(gap)
    for _ in range(200):
        starts = rng.integers(0, 20_000, rng.integers(1, 30))
        ranges = [(int(start), int(start + rng.integers(1, 3000))) for start in starts]
        assert _coalesce(ranges, gap) == _merged_one_by_one(ranges, gap)
    assert _coalesce([], gap) == []
    assert _coalesce([(5, 10), (0, 20)], gap) == [(0, 20)]


def parse_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the length of the bytes of each parse call of the window reader."""
    calls: list[int] = []
    real = rangedread.parse_records

    def counted(data: bytes, **options: object) -> object:
        calls.append(len(data))
        return real(data, **options)

    monkeypatch.setattr(rangedread, "parse_records", counted)
    return calls


def test_close_ranges_parse_in_one_call(
    two_days: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requested ranges a few records apart in one read are parsed together."""
    spec = StorageSpec("file", str(two_days))
    reader = RangedObject(spec, key(1), DAY, ["FDSN:XX_STA_00_B_H_Z"])
    calls = parse_calls(monkeypatch)
    reader._fetch([(0, 4096), (8192, 12288), (16384, 20480)])

    assert len(calls) == 1
    assert calls[0] == 20480


def test_coalesce_invalid_named(
    two_days: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_COALESCE_BYTES", "near")

    with pytest.raises(ValueError, match="invalid INTAKE_EARTHSCOPE_COALESCE_BYTES="):
        windows(two_days, ["2024-01-01T06:00:00"], 60.0, 60.0)


def test_remote_ranges_merge_within_mib(
    counted_s3: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows an hour apart lie a few hundred KiB apart: one request from an
    object store, two with the gap of local files."""
    index_object(_tier_spec(counted_s3), key(1))
    times = ["2024-01-01T15:00:00", "2024-01-01T16:00:00"]

    _, merged = requests_of(counted_s3, times)
    monkeypatch.setenv("INTAKE_EARTHSCOPE_COALESCE_BYTES", str(LOCAL_COALESCE_BYTES))
    _, apart = requests_of(counted_s3, times)

    assert merged == 1
    assert apart == 2


def test_merged_bytes_parsed_when_needed(counted_s3: dict) -> None:
    """The bytes between two merged ranges are read but not indexed until a
    later window needs them, and are then parsed without another request."""
    reader = RangedObject(_tier_spec(counted_s3), key(1), DAY, SOURCES)
    minute = 60 * 10**9
    first, second, middle = DAY + 900 * minute, DAY + 960 * minute, DAY + 930 * minute
    reader.records_for(
        ObjectWindows(starts=(first, second), ends=(first + minute, second + minute))
    )
    known = reader.index.records.starts
    between = (known > first + 20 * minute) & (known < second - 20 * minute)
    requests = countingfs.CountingS3FileSystem.requests

    found = reader.records_for(ObjectWindows(starts=(middle,), ends=(middle + minute,)))

    assert not between.any()
    assert countingfs.CountingS3FileSystem.requests == requests
    assert found.union == _records_between(station_day(1), middle, middle + minute)


def test_merged_read_spanning_earlier_chunk(
    two_days: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merged read that covers a chunk read before is the one to slice
    records from, although the earlier chunk starts later."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_COALESCE_BYTES", str(2**20))
    data = station_day(1)
    reader = RangedObject(StorageSpec("file", str(two_days)), key(1), DAY, SOURCES)
    reader._fetch([(40_960, 45_056)])
    reader._fetch([(0, 4_096), (81_920, 86_016)])

    reader._parse([(40_960, 70_000)])
    known = reader.index.records
    rows = np.flatnonzero((known.offsets >= 40_960) & (known.offsets < 65_000))

    assert known.offsets[rows].max() > 50_000
    assert reader.bytes_of(rows) == b"".join(
        data[offset : offset + length]
        for offset, length in zip(
            known.offsets[rows].tolist(), known.lengths[rows].tolist(), strict=True
        )
    )


def _records_between(data: bytes, start_ns: int, end_ns: int) -> bytes:
    """Join the requested channels' records that overlap ``[start_ns, end_ns]``."""
    table = parse_records(data)
    keep = (
        np.isin(table.sources, SOURCES)
        & (table.starts <= end_ns)
        & (table.ends >= start_ns)
    )
    return b"".join(
        data[offset : offset + length]
        for offset, length in zip(
            table.offsets[keep].tolist(), table.lengths[keep].tolist(), strict=True
        )
    )


def test_window_after_data_ends(two_days: Path) -> None:
    dataset = windows(two_days, ["2024-01-02T18:00:00"], 30.0, 30.0)

    assert (dataset.status.values == "no_data_in_window").all()
    assert np.isnan(dataset.waveform.values).all()


def test_window_of_missing_day(two_days: Path) -> None:
    times = ["2024-01-01T12:00:00", "2024-01-05T12:00:00"]
    dataset = windows(two_days, times, 30.0, 30.0, errors="ignore")

    assert (dataset.status.values[1] == "missing").all()
    assert np.isnan(dataset.waveform.values[1]).all()
    assert (dataset.status.values[0] == "ok").all()


def test_outcome_table_of_windows(
    two_days: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One row per window and trace, keyed by the window's reference time."""
    times = ["2024-01-01T12:00:00", "2024-01-05T12:00:00"]
    dataset = windows(two_days, times, 30.0, 30.0, errors="ignore")

    with caplog.at_level(logging.INFO, logger="intake_earthscope"):
        table = outcome_table(dataset)

    traces = dataset.sizes["trace"]
    assert len(table) == 2 * traces
    assert list(table.columns[:2]) == ["window", "trace"]
    first, second = (table[table["window"] == np.datetime64(t)] for t in times)
    assert (first["status"] == "ok").all()
    assert (first["read_mode"] == "ranged").all()
    assert (second["status"] == "missing").all()
    assert (second["read_mode"] == "").all()
    (summary,) = [r.getMessage() for r in caplog.records if "outcomes of" in r.msg]
    assert summary.startswith(f"outcomes of {2 * traces} window traces of sage")
    assert summary.endswith(f": {traces} ok, {traces} missing")


def test_outcome_table_without_read_mode(two_days: Path) -> None:
    """A window dataset stays one after a variable is dropped."""
    dataset = windows(two_days, ["2024-01-01T12:00:00"], 30.0, 30.0)

    table = outcome_table(dataset.drop_vars(["read_mode", "tier"]))

    assert list(table.columns[:3]) == ["window", "trace", "status"]
    assert "read_mode" not in table
    assert (table["status"] == "ok").all()


def test_slow_channel_spill_reaches_past_an_hour(tmp_path: Path) -> None:
    """A 1 Hz record of 6,601 samples from 23:40 runs until 01:30 the next day,
    so a window at 01:20 reads it from the day before's object."""
    start = mseedgen.nstime("2024-01-01T23:40:00Z")
    values = np.arange(7200, dtype=np.int32) % 7
    records = mseedgen.records(
        mseedgen.segment_bytes("XX.STA.00.LHZ", start, values, 1.0, record_length=4096)
    )
    root = mirror(
        tmp_path / "mirror", {key(1): records[0], key(2): b"".join(records[1:])}
    )

    dataset = windows(root, ["2024-01-02T01:20:00"], 30.0, 30.0, channel="LHZ")

    offset = round((mseedgen.nstime("2024-01-02T01:19:30Z") - start) / 1e9)
    expected = values[offset : offset + 60].astype(np.float64)
    assert (dataset.status.values == "ok").all()
    assert np.array_equal(dataset.waveform.values[0, 0], expected)


@pytest.fixture
def spill_into_missing_day(tmp_path: Path) -> Path:
    """Write a day-1 object whose 1 Hz records run until 01:20 of day 2, and no
    day-2 object."""
    start = mseedgen.nstime("2024-01-01T23:40:00Z")
    values = np.arange(6000, dtype=np.int32) % 7
    data = mseedgen.segment_bytes(
        "XX.STA.00.LHZ", start, values, 1.0, record_length=4096
    )
    return mirror(tmp_path / "mirror", {key(1): data})


def test_window_filled_by_day_before(
    spill_into_missing_day: Path,
) -> None:
    """A missing object that would have added no sample is no failure."""
    times = ["2024-01-01T23:59:50"]

    dataset = windows(spill_into_missing_day, times, 60.0, 60.0, channel="LHZ")

    assert dataset.status.values.tolist() == [["ok"]]
    assert dataset.valid_fraction.values.tolist() == [[1.0]]


def test_window_past_day_before_raises(
    spill_into_missing_day: Path,
) -> None:
    """Samples that only the missing object could contain make it a failure."""
    times = ["2024-01-02T01:19:30"]

    with pytest.raises(ObjectNotFoundError, match="2024/002"):
        windows(
            spill_into_missing_day,
            times,
            60.0,
            60.0,
            channel="LHZ",
            sampling_rate=1.0,
        )


def test_chunk_filled_by_day_before(
    spill_into_missing_day: Path,
) -> None:
    """A chunk of a missing day that the day before fills in full reads as ok."""
    dataset = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01T23:58:50",
        end="2024-01-02T00:00:50",
        root=str(spill_into_missing_day),
        **{**CODES, "channel": "LHZ"},
    ).load()

    assert dataset.status.values.tolist() == [["ok", "ok"]]
    assert not np.isnan(dataset.waveform.values).any()


def test_chunk_past_day_before_raises(
    spill_into_missing_day: Path,
) -> None:
    with pytest.raises(ObjectNotFoundError, match="(?i)not in the listing|not found"):
        open_waveforms(
            collection_spec("sage"),
            start="2024-01-01T23:58:50",
            end="2024-01-02T03:00:00",
            root=str(spill_into_missing_day),
            **{**CODES, "channel": "LHZ"},
        ).load()


def test_unlisted_days_warn_each(spill_into_missing_day: Path) -> None:
    """Each unlisted day gets its own warning, naming the station and day."""
    dataset = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01T23:00:00",
        end="2024-01-04",
        root=str(spill_into_missing_day),
        errors="warn",
        **{**CODES, "station": "ST*", "channel": "LHZ"},
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        dataset.load()

    texts = sorted(str(warning.message) for warning in caught)
    assert len(texts) == 2
    assert "XX.STA" in texts[0]
    assert "2024-01-02" in texts[0]
    assert "2024-01-03" in texts[1]


def test_window_half_in_missing_day(tmp_path: Path) -> None:
    """A window running into a missing day keeps the samples before midnight."""
    root = mirror(tmp_path / "mirror", {key(1): station_day(1)})
    dataset = windows(root, ["2024-01-01T23:59:30"], 30.0, 60.0, errors="ignore")
    whole = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01",
        end="2024-01-02",
        root=str(root),
        **CODES,
    ).load()

    before_midnight = cut(whole.waveform, "2024-01-01T23:59:30", 30.0, 1200)
    assert (dataset.status.values[0] == "missing").all()
    assert np.array_equal(dataset.waveform.values[0][:, :1200], before_midnight)
    assert np.isnan(dataset.waveform.values[0][:, 1200:]).all()
    assert np.allclose(dataset.valid_fraction.values[0], 2 / 3)


def test_window_of_missing_day_raises(two_days: Path) -> None:
    with pytest.raises(FileNotFoundError):
        windows(two_days, ["2024-01-05T12:00:00", "2024-01-01T12:00:00"], 1.0, 1.0)


def test_windows_without_any_object_name_the_fix(two_days: Path) -> None:
    """Without an object the channels' rate is unknown, even under warn."""
    with pytest.raises(ObjectNotFoundError) as raised:
        windows(two_days, ["2024-01-05T12:00:00"], 1.0, 1.0, errors="warn")

    message = str(raised.value)
    assert "2024/005" in message
    assert "sampling rate cannot be read" in message
    assert "pass sampling_rate= with exact channel codes, or inventory=" in message


def test_window_of_missing_day_warns(two_days: Path) -> None:
    times = ["2024-01-01T12:00:00", "2024-01-05T12:00:00"]

    with pytest.warns(ReadOutcomeWarning, match="missing"):
        dataset = windows(two_days, times, 1.0, 1.0, errors="warn")

    assert (dataset.status.values[1] == "missing").all()


def test_windows_without_objects_raise(two_days: Path) -> None:
    with pytest.raises(FileNotFoundError, match="inventory="):
        windows(two_days, ["2024-01-09T12:00:00"], 1.0, 1.0)


def test_out_of_order_object_read_whole(tmp_path: Path) -> None:
    shuffled = reversed_channel(station_day(2, seconds=43_200.0), "Z")
    root = mirror(tmp_path / "mirror", {key(1): station_day(1), key(2): shuffled})
    times = ["2024-01-02T03:00:00"]
    dataset = windows(root, times, 60.0, 60.0)
    whole = whole_days(root)

    assert (dataset.read_mode.values == "whole_object").all()
    expected = cut(whole, times[0], 60.0, dataset.sizes["lag"])
    assert np.array_equal(dataset.waveform.values[0], expected, equal_nan=True)


def test_damaged_object_read_whole(tmp_path: Path) -> None:
    data = station_day(2, seconds=43_200.0)
    table = parse_records(data)
    cut_at = int(table.offsets[np.searchsorted(table.offsets, len(data) // 4)])
    damaged = data[:cut_at] + b"\xff" * 100 + data[cut_at:]
    root = mirror(tmp_path / "mirror", {key(1): station_day(1), key(2): damaged})
    times = ["2024-01-02T03:00:00"]
    dataset = windows(root, times, 60.0, 60.0)
    whole = whole_days(root)

    assert (dataset.read_mode.values == "whole_object").all()
    assert (dataset.status.values == "damaged").all()
    expected = cut(whole, times[0], 60.0, dataset.sizes["lag"])
    assert np.array_equal(dataset.waveform.values[0], expected, equal_nan=True)


def test_miniseed3_windows(tmp_path: Path) -> None:
    root = mirror(tmp_path / "mirror", {key(1): station_day(1, 7200.0, version=3)})
    times = ["2024-01-01T01:00:00"]
    dataset = windows(root, times, 30.0, 30.0)

    assert (dataset.read_mode.values == "ranged").all()
    assert (dataset.valid_fraction.values == 1.0).all()


def test_index_cached_on_disk(two_days: Path, _index_cache: Path) -> None:
    windows(two_days, ["2024-01-01T06:00:00"], 60.0, 60.0)

    files = list(cache_directory().glob("*.npz"))
    assert cache_directory().parent == _index_cache
    assert len(files) == 1
    forget_indexes()
    url = f"file://{two_days / key(1)}"
    version = str((two_days / key(1)).stat().st_mtime_ns)
    index = load_index(url, len(station_day(1)), version)
    assert index is not None
    assert len(index.records) > 0


@pytest.fixture
def counted_s3(s3) -> dict:
    countingfs.register()
    countingfs.CountingS3FileSystem.reset()
    publish(s3, "sage", {key(1): station_day(1)})
    bucket, _ = bucket_of("sage")
    return {
        "root": f"countings3://{bucket}",
        "storage_options": countingfs.storage_options(s3.endpoint_url),
    }


def counted_read(counted_s3: dict, times: list[str], before: float, after: float):
    countingfs.CountingS3FileSystem.reset()
    dataset = open_windows(
        collection_spec("sage"),
        times,
        before,
        after,
        **counted_s3,
        **{**CODES, "channel": "BHZ,BHN,BHE"},
    ).load()
    return dataset, countingfs.CountingS3FileSystem.bytes_read


def test_first_contact_bytes(counted_s3: dict) -> None:
    dataset, read = counted_read(counted_s3, ["2024-01-01T15:00:00"], 300.0, 300.0)

    assert (dataset.read_mode.values == "ranged").all()
    assert read <= 0.15 * len(station_day(1))


def test_indexed_bytes(counted_s3: dict) -> None:
    times = ["2024-01-01T15:00:00"]
    counted_read(counted_s3, times, 300.0, 300.0)
    dataset, read = counted_read(counted_s3, times, 300.0, 300.0)

    assert (dataset.status.values == "ok").all()
    assert read <= 0.05 * len(station_day(1))


def test_complete_index_bytes(counted_s3: dict) -> None:
    index = index_object(_tier_spec(counted_s3), key(1))
    dataset, read = counted_read(counted_s3, ["2024-01-01T15:00:00"], 300.0, 300.0)

    assert index.complete
    assert (dataset.read_mode.values == "ranged").all()
    assert read <= 0.05 * len(station_day(1))


def test_source_windows(two_days: Path) -> None:
    source = MiniseedSource(collection_spec("sage"), root=str(two_days), **CODES)
    dataset = source.windows(["2024-01-01T06:00:00"], 10.0, 10.0).load()
    direct = windows(two_days, ["2024-01-01T06:00:00"], 10.0, 10.0)

    assert np.array_equal(dataset.waveform.values, direct.waveform.values)


def test_source_windows_errors_override(two_days: Path) -> None:
    """A window on a missing day raises under the source's policy, not under
    the one given to windows()."""
    source = MiniseedSource(collection_spec("sage"), root=str(two_days), **CODES)
    times = ["2024-01-01T12:00:00", "2024-01-05T12:00:00"]

    dataset = source.windows(times, 10.0, 10.0, errors="ignore").load()

    assert (dataset.status.values[1] == "missing").all()
    with pytest.raises(ObjectNotFoundError):
        source.windows(times, 10.0, 10.0).load()


def test_times_naive_taken_as_utc() -> None:
    naive = window_times(["2024-01-01T06:00:00"])
    aware = window_times(pd.Series(pd.to_datetime(["2024-01-01T07:00:00+01:00"])))

    assert naive[0] == aware[0]


def test_times_series_of_datetimes() -> None:
    column = pd.Series(pd.to_datetime(["2024-01-01T06:00:00", "2024-01-02T00:00:00"]))

    values = window_times(column)

    assert values[1] - values[0] == 18 * 3600 * 10**9


def test_times_nat_rejected() -> None:
    column = pd.Series(pd.to_datetime(["2024-01-01", None]))

    with pytest.raises(InvalidRequestError, match=r"times\[1\]"):
        window_times(column)


def test_offsets_timedelta_equals_seconds() -> None:
    assert window_offsets(dt.timedelta(seconds=30), "90s") == window_offsets(30, 90)


def test_offsets_numpy_timedelta_units() -> None:
    """NumPy counts timedelta64 as an integer type; its unit must be kept."""
    assert window_offsets(np.timedelta64(60, "s"), 0) == (60 * 10**9, 0)
    assert window_offsets(np.timedelta64(1000, "ns"), 0) == (1000, 0)


def test_offsets_text_without_unit_rejected() -> None:
    with pytest.raises(InvalidRequestError, match=r"text needs a unit, such as '60s'"):
        window_offsets("60", 120)


@pytest.mark.parametrize(
    ("before", "after"), [(-1, 10), (0, 0), (10, "soon"), (True, 1), (90_000, 0)]
)
def test_offsets_rejected(before: object, after: object) -> None:
    with pytest.raises(InvalidRequestError):
        window_offsets(before, after)


@pytest.mark.parametrize("length", [0, 100])
def test_index_cache_cut_file(two_days: Path, length: int) -> None:
    times = ["2024-01-01T06:00:00"]
    windows(two_days, times, 10.0, 10.0)
    stored = next(cache_directory().glob("*.npz"))
    stored.write_bytes(stored.read_bytes()[:length])
    forget_indexes()

    dataset = windows(two_days, times, 10.0, 10.0)

    assert (dataset.status.values == "ok").all()


# Samples of the BHZ day that bad_crc_day writes: 2 hours at 20 Hz of a ramp
# that repeats every 1,000 counts.
BAD_CRC_VALUES = np.arange(7200 * 20, dtype=np.int32) % 1000


@pytest.fixture
def bad_crc_day(tmp_path: Path) -> Path:
    """Write a miniSEED 3 BHZ day whose record ending at 01:00 fails its CRC."""
    data = bytearray(
        mseedgen.segment_bytes(
            "XX.STA.00.BHZ",
            DAY,
            BAD_CRC_VALUES,
            RATE,
            record_length=512,
            encoding="int32",
            version=3,
        )
    )
    table = parse_records(bytes(data))
    row = int(np.searchsorted(table.starts, DAY + 3600 * 10**9)) - 1
    data[int(table.offsets[row] + table.lengths[row]) - 8] ^= 0xFF
    return mirror(tmp_path / "mirror", {key(1): bytes(data)})


def test_miniseed3_bad_crc_damaged(bad_crc_day: Path) -> None:
    root = bad_crc_day
    times = ["2024-01-01T01:00:00"]

    dataset = windows(root, times, 10.0, 10.0, channel="BHZ", errors="ignore")
    whole = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01",
        end="2024-01-02",
        root=str(root),
        errors="ignore",
        **{**CODES, "channel": "BHZ"},
    ).load()

    assert (dataset.status.values == "damaged").all()
    expected = cut(whole.waveform, times[0], 10.0, dataset.sizes["lag"])
    assert np.array_equal(dataset.waveform.values[0], expected, equal_nan=True)


# An empty object lists no channels, so the request names one and its rate.
EMPTY_OPTIONS = {"channel": "BHZ", "sampling_rate": RATE}


@pytest.fixture
def empty_day(tmp_path: Path) -> Path:
    return mirror(tmp_path / "mirror", {key(1): b""})


def test_empty_object_unreadable(empty_day: Path) -> None:
    times = ["2024-01-01T06:00:00"]
    dataset = windows(empty_day, times, 10.0, 10.0, errors="ignore", **EMPTY_OPTIONS)

    assert (dataset.status.values == "unreadable").all()


def test_empty_object_raises(empty_day: Path) -> None:
    with pytest.raises(DecodeError, match="0 bytes"):
        windows(empty_day, ["2024-01-01T06:00:00"], 10.0, 10.0, **EMPTY_OPTIONS)


def shifted_day(shift_s: int) -> bytes:
    """Two hours of BHZ from ``shift_s`` after midnight; the size never changes."""
    values = np.arange(7200 * 20, dtype=np.int32) % 1000
    start = DAY + shift_s * 10**9
    return mseedgen.segment_bytes(
        "XX.STA.00.BHZ", start, values, RATE, record_length=512, encoding="int32"
    )


@pytest.mark.parametrize(
    ("same_mtime", "read_mode"), [(True, "whole_object"), (False, "ranged")]
)
def test_index_cache_rewritten_object(
    tmp_path: Path, same_mtime: bool, read_mode: str
) -> None:
    root = mirror(tmp_path / "mirror", {key(1): shifted_day(0)})
    path = root / key(1)
    times = ["2024-01-01T01:30:00"]
    windows(root, times, 10.0, 10.0, channel="BHZ")
    written = path.stat().st_mtime_ns
    path.write_bytes(shifted_day(3600))
    if same_mtime:
        os.utime(path, ns=(written, written))
    forget_indexes()

    dataset = windows(root, times, 10.0, 10.0, channel="BHZ")
    whole = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01",
        end="2024-01-02",
        root=str(root),
        **{**CODES, "channel": "BHZ"},
    ).load()

    expected = cut(whole.waveform, times[0], 10.0, dataset.sizes["lag"])
    assert np.array_equal(dataset.waveform.values[0], expected, equal_nan=True)
    assert (dataset.read_mode.values == read_mode).all()


def test_index_cache_rewritten_s3_object(s3) -> None:
    """A rewritten S3 object of the same size has a new ETag, so the index
    of the old bytes is not used for it."""
    countingfs.register()
    bucket, _ = bucket_of("sage")
    options = {
        "root": f"countings3://{bucket}",
        "storage_options": countingfs.storage_options(s3.endpoint_url),
    }
    times = ["2024-01-01T01:30:00"]
    read = functools.partial(
        open_windows,
        collection_spec("sage"),
        times,
        10.0,
        10.0,
        **options,
        **{**CODES, "channel": "BHZ"},
    )
    publish(s3, "sage", {key(1): shifted_day(0)})
    read().load()
    publish(s3, "sage", {key(1): shifted_day(3600)})
    forget_indexes()

    dataset = read().load()

    assert (dataset.read_mode.values == "ranged").all()
    assert (dataset.status.values == "ok").all()


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_one_channel_out_of_order(tmp_path: Path, order: str) -> None:
    records = mseedgen.records(channel_bytes("BHZ", DAY, 7200.0, RATE, 512, seed=1))
    if order == "reversed":
        records = records[::-1]
    else:
        permutation = np.random.default_rng(0).permutation(len(records))
        records = [records[i] for i in permutation]
    root = mirror(tmp_path / "mirror", {key(1): b"".join(records)})
    times = ["2024-01-01T01:00:00"]

    dataset = windows(root, times, 10.0, 10.0, channel="BHZ")

    assert (dataset.read_mode.values == "whole_object").all()
    assert (dataset.valid_fraction.values == 1.0).all()


def test_channels_in_blocks(tmp_path: Path) -> None:
    blocks = b"".join(
        channel_bytes(channel, DAY, 7200.0, RATE, length, seed=k)
        for k, (channel, length) in enumerate(CHANNELS.items())
    )
    root = mirror(tmp_path / "mirror", {key(1): blocks})

    dataset = windows(root, ["2024-01-01T01:00:00"], 10.0, 10.0)

    # Probes in the unknown stretches find the blocks of BHN and BHE.
    assert (dataset.status.values == "ok").all()
    assert (dataset.read_mode.values == "ranged").all()


def test_overlapping_windows_equal_cuts(two_days: Path) -> None:
    """Windows that share records are placed from one decode of the object."""
    times = ["2024-01-01T03:00:00", "2024-01-01T03:00:30", "2024-01-01T03:01:00"]
    dataset = windows(two_days, times, 60.0, 60.0)
    whole = whole_days(two_days)

    assert_equal_to_cuts(dataset, whole, times, 60.0)


def test_bad_record_damages_only_its_window(bad_crc_day: Path) -> None:
    """A record that fails its CRC marks its own window, not the batch's others."""
    root = bad_crc_day
    times = ["2024-01-01T01:00:00", "2024-01-01T01:30:00"]

    dataset = windows(root, times, 10.0, 10.0, channel="BHZ", errors="ignore")

    assert dataset.status.values[:, 0].tolist() == ["damaged", "ok"]
    clean = BAD_CRC_VALUES[1800 * 20 - 200 : 1800 * 20 + 200].astype(np.float64)
    assert np.array_equal(dataset.waveform.values[1, 0], clean)


def test_window_higher_version_wins(tmp_path: Path) -> None:
    """Where two versions of a record overlap, the window keeps the higher one."""
    values = np.arange(3600 * 20, dtype=np.int32) % 500
    first = mseedgen.segment_bytes(
        "XX.STA.00.BHZ", DAY, values, RATE, record_length=512, pubversion=1
    )
    second = mseedgen.segment_bytes(
        "XX.STA.00.BHZ", DAY, values + 7, RATE, record_length=512, pubversion=2
    )
    root = mirror(tmp_path / "mirror", {key(1): mseedgen.interleave(first, second)})

    dataset = windows(root, ["2024-01-01T00:30:00"], 10.0, 10.0, channel="BHZ")

    expected = values[1800 * 20 - 200 : 1800 * 20 + 200] + 7
    assert np.array_equal(dataset.waveform.values[0, 0], expected.astype(np.float64))
    assert dataset.conflict_count.values[0, 0] == 400


def test_segments_between_hits_skipped() -> None:
    """A window inside a long segment also gets a later short one it overlaps."""
    from intake_earthscope.place import SegmentTable
    from intake_earthscope.windowdecode import TraceSegments

    second = 10**9
    table = SegmentTable(
        pubversion=1,
        pieces=[np.zeros(100), np.ones(10), np.full(10, 2.0)],
        rates=np.array([1.0, 1.0, 1.0]),
        record_starts=np.array([0, 10, 30]) * second,
        record_counts=np.array([100, 10, 10]),
        record_bounds=np.array([0, 1, 2, 3]),
    )
    segments = TraceSegments.of(table)

    assert segments.ends.tolist() == [99 * second, 19 * second, 39 * second]
    assert segments.overlapping(200 * second, 300 * second) is None
    assert segments.overlapping(50 * second, 60 * second).pieces[0] is table.pieces[0]
    picked = segments.overlapping(35 * second, 38 * second)
    assert [piece[0] for piece in picked.pieces] == [0.0, 2.0]
    assert picked.record_starts.tolist() == [0, 30 * second]


def test_local_ranges_one_handle(tmp_path: Path) -> None:
    """Ranges of a local object come back in order, and one past the end is short."""
    from intake_earthscope.storage import StorageSpec, read_local_ranges

    (tmp_path / "object").write_bytes(bytes(range(256)))
    spec = StorageSpec("file", str(tmp_path))

    parts = read_local_ranges(spec, "object", [(0, 4), (10, 12), (250, 300)])

    assert parts == [bytes(range(4)), bytes([10, 11]), bytes(range(250, 256))]
    with pytest.raises(ObjectNotFoundError, match="not found"):
        read_local_ranges(spec, "absent", [(0, 4)])


def test_trace_segments_keep_window_records() -> None:
    """A segment joined from several windows' records gives a window its own."""
    from intake_earthscope.place import SegmentTable
    from intake_earthscope.windowdecode import TraceSegments

    second = 10**9
    table = SegmentTable(
        pubversion=1,
        pieces=[np.arange(30.0)],
        rates=np.array([1.0]),
        record_starts=np.array([0, 10, 20]) * second,
        record_counts=np.array([10, 10, 10]),
        record_bounds=np.array([0, 3]),
    )

    picked = TraceSegments.of(table).overlapping(12 * second, 15 * second)

    assert picked.record_starts.tolist() == [10 * second]
    assert picked.pieces[0].tolist() == list(range(10, 20))


def drifting_hour() -> bytes:
    """An hour of BHZ whose records drift apart by a little under a sample
    each, so libmseed joins them while their anchors shift."""
    values = np.arange(3600 * 20, dtype=np.int32) % 1000
    return mseedgen.segment_bytes(
        "XX.STA.00.BHZ",
        DAY,
        values,
        RATE,
        record_length=512,
        encoding="int32",
        clock_rate=RATE * (1 + 3e-4),
    )


def test_window_shift_independent_of_batch(tmp_path: Path) -> None:
    """A window's max_shift and time_offset come from its own records, not
    from the records a batch shares with an overlapping window."""
    root = mirror(tmp_path / "mirror", {key(1): drifting_hour()})
    times = ["2024-01-01T00:10:00", "2024-01-01T00:10:15"]

    batch = windows(root, times, 10.0, 10.0, channel="BHZ")
    alone = windows(root, times[1:], 10.0, 10.0, channel="BHZ")

    assert batch.max_shift.values[1, 0] == alone.max_shift.values[0, 0]
    assert batch.time_offset.values[1, 0] == alone.time_offset.values[0, 0]


def test_window_after_shared_segment_has_no_offset(tmp_path: Path) -> None:
    """A segment that ends a fraction of a sample before a window's margin
    gives that window no time offset, shift or rate."""
    values = np.arange(3600 * 20, dtype=np.int32) % 1000
    # Samples 0.4 sample periods off the grid, an hour of data then a gap.
    start = DAY + 20_000_000
    data = mseedgen.segment_bytes(
        "XX.STA.00.BHZ", start, values, RATE, record_length=512, encoding="int32"
    )
    root = mirror(tmp_path / "mirror", {key(1): data})
    times = ["2024-01-01T00:59:55", "2024-01-01T01:00:10.05"]

    dataset = windows(root, times, 10.0, 10.0, channel="BHZ")

    assert dataset.status.values[1, 0] == "no_data_in_window"
    assert np.isnan(dataset.time_offset.values[1, 0])
    assert np.isnan(dataset.max_shift.values[1, 0])
    assert np.isnan(dataset.header_rate.values[1, 0])
