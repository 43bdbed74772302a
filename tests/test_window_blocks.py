"""Event windows of objects that store each channel in a block of its own."""

from __future__ import annotations

import functools

import pytest
import xarray as xr
from test_windows import (  # noqa: F401 (_index_cache is an autouse fixture)
    CHANNELS,
    CODES,
    DAY,
    RATE,
    _index_cache,
    assert_equal_to_cuts,
    channel_bytes,
    key,
)

from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.recordindex import forget_indexes

import countingfs
from conftest import OBSPY_MSEED_DATA, bucket_of, collection_spec, publish

# Windows near the start, the middle and the end of the day. Each starts
# more than an hour after midnight or ends before it, so that it reads the
# day's object only.
TIMES = ["2024-01-01T01:30:00", "2024-01-01T12:00:00", "2024-01-01T22:30:00"]
BEFORE, AFTER = 10.0, 20.0

# A ranged read of one window may read at most this share of the object.
# Probing costs at most 768 KiB; the search rounds read the rest.
MAX_SHARE = 0.15


@functools.cache
def blocks_day(channels: tuple[str, ...] = tuple(CHANNELS)) -> bytes:
    """A whole day of each of ``channels`` at 20 Hz, one block after another."""
    return b"".join(
        channel_bytes(channel, DAY, 86_400.0, RATE, CHANNELS[channel], seed=k)
        for k, channel in enumerate(channels)
    )


@pytest.fixture(autouse=True)
def _small_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reads closer than 1 MiB, the default, merge over much of a 6 MB
    # object; a station-day of 100 MB has room for them.
    monkeypatch.setenv("INTAKE_EARTHSCOPE_COALESCE_BYTES", str(64 * 1024))


def counted_store(s3, objects: dict[str, bytes]) -> dict:
    countingfs.register()
    publish(s3, "sage", objects)
    bucket, _ = bucket_of("sage")
    return {
        "root": f"countings3://{bucket}",
        "storage_options": countingfs.storage_options(s3.endpoint_url),
    }


def counted_windows(store: dict, times: list[str], **codes: str):
    """Load windows on first contact; return them and the bytes read."""
    forget_indexes()
    countingfs.CountingS3FileSystem.reset()
    dataset = open_windows(
        collection_spec("sage"), times, BEFORE, AFTER, **store, **codes
    ).load()
    return dataset, countingfs.CountingS3FileSystem.bytes_read


def whole_day(store: dict, start: str, end: str, **codes: str) -> xr.DataArray:
    return (
        open_waveforms(collection_spec("sage"), start=start, end=end, **store, **codes)
        .load()
        .waveform
    )


@pytest.mark.parametrize("channel", ["BHZ", "BHN", "BHE", "BHZ,BHN,BHE"])
@pytest.mark.parametrize("time", TIMES)
def test_block_windows_ranged(s3, time: str, channel: str) -> None:
    store = counted_store(s3, {key(1): blocks_day()})
    codes = {**CODES, "channel": channel, "sampling_rate": RATE}

    dataset, read = counted_windows(store, [time], **codes)

    assert (dataset.read_mode.values == "ranged").all()
    assert (dataset.status.values == "ok").all()
    assert read <= MAX_SHARE * len(blocks_day())
    whole = whole_day(store, "2024-01-01", "2024-01-02", **codes)
    assert_equal_to_cuts(dataset, whole, [time], BEFORE)


def test_absent_channel_read_whole(s3) -> None:
    """Only the whole object shows that a channel is not in it."""
    store = counted_store(s3, {key(1): blocks_day(("BHZ", "BHN"))})

    dataset, read = counted_windows(
        store, [TIMES[1]], **{**CODES, "channel": "BHZ,BHN,BHE"}
    )

    assert (dataset.read_mode.values == "whole_object").all()
    status = dict(zip(dataset.trace.values, dataset.status.values[0], strict=True))
    assert status == {
        "XX.STA.00.BHE": "no_matching_channel",
        "XX.STA.00.BHN": "ok",
        "XX.STA.00.BHZ": "ok",
    }
    assert read >= len(blocks_day(("BHZ", "BHN")))


def test_balst_second_block_ranged(s3) -> None:
    """CH.BALST..LH_two_channels stores LHE, then LHZ, each in a block."""
    data = (OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels").read_bytes()
    days = ("313", "314", "315")
    store = counted_store(
        s3, {f"miniseed/CH/2025/{day}/BALST.CH.2025.{day}": data for day in days}
    )
    codes = {"network": "CH", "station": "BALST", "location": "", "channel": "LHZ"}
    times = ["2025-11-10T00:30:00"]

    dataset, read = counted_windows(store, times, **codes)

    assert (dataset.read_mode.values == "ranged").all()
    assert (dataset.status.values == "ok").all()
    # The window reads the objects of 2025-11-09 (records past midnight)
    # and 2025-11-10.
    assert read < 2 * len(data)
    whole = whole_day(store, "2025-11-10", "2025-11-11", **codes)
    assert_equal_to_cuts(dataset, whole, times, BEFORE)
