"""Fetch planning of window reads: held chunks, joins and rewritten objects.

A window read fetches only the bytes it does not hold yet and joins the
chunks that touch, so one record may be sliced from the bytes of two
requests. These tests read real miniSEED bytes from local folders and the
loopback S3 server.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from test_window_blocks import counted_store, whole_day
from test_windows import (  # noqa: F401 (_index_cache is an autouse fixture)
    CHANNELS,
    CODES,
    DAY,
    RATE,
    _index_cache,
    assert_equal_to_cuts,
    channel_bytes,
    key,
    station_day,
)

from intake_earthscope import open_windows, rangedread
from intake_earthscope.rangedread import RangedObject
from intake_earthscope.storage import StorageSpec

import mseedgen
from conftest import collection_spec, mirror, publish


def local_reader(root: Path) -> RangedObject:
    """Return a reader of day 1 under ``root`` that wants no source."""
    return RangedObject(StorageSpec("file", str(root)), key(1), DAY, ())


def timed_fetch(reader: RangedObject, ranges: list[tuple[int, int]]) -> float:
    """Fetch ``ranges`` without merging them; return the seconds it took."""
    start = time.perf_counter()
    reader._fetch(ranges, merge=0)
    return time.perf_counter() - start


def test_join_of_many_chunks_linear(tmp_path: Path) -> None:
    """Joining a range with thousands of held chunks inside it costs about
    as much as reading the range into an empty reader.

    Each piece between two held chunks is a request of its own with no
    merge gap, and every piece and chunk joins into one. Joined one after
    another, each join copied the whole chunk so far.
    """
    # No wanted sources: the repeated day is out of time order.
    data = station_day(1) * 3
    root = mirror(tmp_path / "mirror", {key(1): data})
    probed = local_reader(root)
    probed._fetch([(a, a + 4096) for a in range(0, len(data), 8192)], merge=0)

    joined = timed_fetch(probed, [(0, len(data))])
    fresh = timed_fetch(local_reader(root), [(0, len(data))])

    assert [start for start, _ in probed._chunks] == [0]
    assert probed._chunks[0][1] == data
    # A quadratic join took about 3 minutes on 2,855 chunks of this size, so the
    # bound can leave room for a loaded machine.
    assert joined < 10 * fresh + 2.0, (joined, fresh)


def other_samples_day() -> bytes:
    """The channels, record lengths and times of ``station_day(1)`` with
    other samples, so that records sit at other offsets."""
    parts = [
        channel_bytes(channel, DAY, 86_400.0, RATE, length, seed=500 + number)
        for number, (channel, length) in enumerate(CHANNELS.items())
    ]
    parts.append(channel_bytes("LHZ", DAY, 86_400.0, 1.0, 4096, seed=500))
    return mseedgen.interleave(*parts)


def rewrite_after_first_read(
    monkeypatch: pytest.MonkeyPatch, s3, data: bytes
) -> list[tuple[int | None, int | None]]:
    """Replace the object by ``data`` once the window reader's first ranged
    GET returned, as another writer would.

    Returns the list that receives the range of each GET.
    """
    requested: list[tuple[int | None, int | None]] = []
    real = rangedread.read_bytes

    def read_then_rewrite(spec, name, start=None, end=None, if_match=""):
        part = real(spec, name, start, end, if_match)
        requested.append((start, end))
        if len(requested) == 1:
            publish(s3, "sage", {name: data})
        return part

    monkeypatch.setattr(rangedread, "read_bytes", read_then_rewrite)
    return requested


def test_object_rewritten_between_reads(s3, monkeypatch: pytest.MonkeyPatch) -> None:
    """A window whose records cross the end of the first read gets the
    samples of one version of an object rewritten after that read.

    The first read fetches the first 32 KiB, and a 4096-byte record of BHN
    crosses its end. Joined to the bytes fetched after the rewrite, that
    record had the header of one version and the samples of the other.
    """
    codes = {**CODES, "channel": "BHZ,BHN,BHE"}
    times = ["2024-01-01T00:08:00"]
    rewritten = other_samples_day()
    store = counted_store(s3, {key(1): rewritten})
    expected = whole_day(store, "2024-01-01", "2024-01-02", **codes)
    publish(s3, "sage", {key(1): station_day(1)})
    requested = rewrite_after_first_read(monkeypatch, s3, rewritten)

    dataset = open_windows(
        collection_spec("sage"), times, 10.0, 20.0, **store, **codes
    ).load(scheduler="sync")

    assert requested[0] == (0, 32 * 1024)
    assert (dataset.status.values == "ok").all()
    assert_equal_to_cuts(dataset, expected, times, 10.0)


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the key of each HEAD request of the window reader."""
    keys: list[str] = []
    real = rangedread.object_stat

    def recorded(spec, name):
        keys.append(name)
        return real(spec, name)

    monkeypatch.setattr(rangedread, "object_stat", recorded)
    return keys


def test_joined_records_checked_once(tmp_path: Path, stats: list[str]) -> None:
    """Records joined from two reads of an unchanged object cost one HEAD
    request, and records that each come from one read cost none."""
    data = station_day(1)
    reader = local_reader(mirror(tmp_path / "mirror", {key(1): data}))
    reader._fetch([(25_000, 35_000), (55_000, 65_000)], merge=0)
    reader._fetch([(30_000, 60_000)])
    table = reader.index.records
    ends = table.offsets + table.lengths
    crossing = np.flatnonzero((table.offsets < 35_000) & (ends > 35_000))
    within = np.flatnonzero((table.offsets >= 40_000) & (ends <= 50_000))

    alone = reader._found([within])
    assert stats == [key(1)]
    joined = reader._found([crossing])

    assert stats == [key(1), key(1)]
    assert crossing.size == 1
    start = int(table.offsets[crossing[0]])
    assert joined.union == data[start : int(ends[crossing[0]])]
    assert alone.union == data[int(table.offsets[within[0]]) : int(ends[within[-1]])]


def test_object_cut_between_reads(s3, monkeypatch: pytest.MonkeyPatch) -> None:
    """An object cut short after the first read of a window is read whole
    at once, not after rounds of reads past its new end."""
    codes = {**CODES, "channel": "BHZ,BHN,BHE"}
    times = ["2024-01-01T00:08:00", "2024-01-01T12:00:00"]
    cut = station_day(1)[:40_000]
    store = counted_store(s3, {key(1): cut})
    expected = whole_day(store, "2024-01-01", "2024-01-02", **codes)
    publish(s3, "sage", {key(1): station_day(1)})
    requested = rewrite_after_first_read(monkeypatch, s3, cut)

    dataset = open_windows(
        collection_spec("sage"), times, 10.0, 20.0, **store, **codes
    ).load(scheduler="sync")

    # The first 32 KiB, the reads of the first round, and the whole object.
    assert len(requested) <= 5, requested
    assert requested[-1] == (None, None)
    assert (dataset.read_mode.values == "whole_object").all()
    assert (dataset.status.values[0] == "truncated").all()
    # The second window's records were in the part cut off.
    assert (dataset.status.values[1] == "truncated").all()
    assert_equal_to_cuts(dataset, expected, times, 10.0)


def test_held_bytes_read_again_differ(tmp_path: Path) -> None:
    """A merged read that fetches held bytes again and finds them changed
    stops the ranged search, which would pair the index of the held bytes
    with the bytes of the new version."""
    root = mirror(tmp_path / "mirror", {key(1): station_day(1)})
    reader = local_reader(root)
    reader._fetch([(100_000, 110_000)], merge=0)
    (root / key(1)).write_bytes(other_samples_day())

    with pytest.raises(rangedread.LayoutError, match="bytes 100000-110000 differ"):
        reader._fetch([(50_000, 60_000), (150_000, 160_000)], merge=1024 * 1024)
