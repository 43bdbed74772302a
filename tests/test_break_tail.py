"""Reads of the previous day's end (``neighbour_bytes=``) and the open error.

Each read case compares a read that starts with the object's last bytes against
a read of the whole object: both must give bit-identical samples, the same
status and the same warnings.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from test_windows import _index_cache  # noqa: F401 (an autouse fixture)

from intake_earthscope import open_waveforms
from intake_earthscope.errors import ObjectNotFoundError
from intake_earthscope.tasks import _whole_records
from intake_earthscope.testing import LoopbackS3

import mseedgen
from conftest import collection_spec, mirror, publish

RATE = 1.0
SEED_ID = "XX.STA.00.LHZ"


def key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def crossing(start: str = "2024-01-01T20:00:00Z", count: int = 14_410, **options):
    """Write day 1 from ``start``, by default up to ten seconds past midnight."""
    values = (np.arange(count) * 7 % 900).astype(np.int32)
    return mseedgen.segment_bytes(SEED_ID, start, values, RATE, **options)


def own_day(**options) -> bytes:
    values = (np.arange(600) % 300 + 5_000).astype(np.int32)
    return mseedgen.segment_bytes(
        SEED_ID, "2024-01-02T00:00:10Z", values, RATE, **options
    )


def first_minute(root: Path, **options) -> tuple[xr.Dataset, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = open_waveforms(
            collection_spec("sage"),
            network="XX",
            station="STA",
            location="00",
            channel="LH?",
            start="2024-01-02",
            end="2024-01-02T00:01",
            sampling_rate=RATE,
            root=str(root),
            errors="warn",
            **options,
        ).load()
    return dataset, sorted(str(warning.message) for warning in caught)


def assert_same_as_whole(root: Path, tail: int) -> None:
    whole, whole_warnings = first_minute(root, neighbour_bytes=None)
    ended, ended_warnings = first_minute(root, neighbour_bytes=tail)

    np.testing.assert_array_equal(ended.waveform.values, whole.waveform.values)
    np.testing.assert_array_equal(ended.status.values, whole.status.values)
    assert ended_warnings == whole_warnings


def test_whole_records_every_offset() -> None:
    """Each cut of a 512- and a 4096-byte record keeps the records after it."""
    for record_length in (512, 4096):
        for version in (2, 3):
            day1 = crossing(record_length=record_length, version=version)
            lengths = [len(record) for record in mseedgen.records(day1)]
            bounds = np.cumsum([0, *lengths])
            size = len(day1)
            for tail in range(1, lengths[-1] + lengths[-2] + 2):
                first = bounds[bounds >= size - tail][0]
                got = _whole_records(day1[size - tail :])
                assert got == day1[first:], (record_length, version, tail)


@pytest.mark.parametrize(
    ("record_length", "version", "tails"),
    [(512, 2, (1, 100, 511, 513, 700)), (4096, 3, (1, 1_000, 4_095, 4_097, 6_000))],
)
def test_tail_inside_record(
    tmp_path: Path, record_length: int, version: int, tails: tuple[int, ...]
) -> None:
    day1 = crossing(record_length=record_length, version=version)
    mirror(tmp_path, {key(1): day1, key(2): own_day(version=version)})
    for tail in tails:
        assert_same_as_whole(tmp_path, tail)


def test_tail_damaged_payload(tmp_path: Path) -> None:
    """A bad Steim frame in the tail, before the crossing record."""
    records = mseedgen.records(crossing())
    damaged = bytearray(records[-2])
    damaged[200:260] = b"\xff" * 60
    day1 = b"".join([*records[:-2], bytes(damaged), records[-1]])
    mirror(tmp_path, {key(1): day1, key(2): own_day()})

    assert_same_as_whole(tmp_path, 1_200)


def test_tail_damaged_header(tmp_path: Path) -> None:
    """A bad header before the crossing record stops the walk of headers."""
    records = mseedgen.records(crossing())
    damaged = bytearray(records[-2])
    damaged[:8] = b"\xff" * 8
    day1 = b"".join([*records[:-2], bytes(damaged), records[-1]])
    mirror(tmp_path, {key(1): day1, key(2): own_day()})

    assert_same_as_whole(tmp_path, 2_500)


def test_tail_after_first_crossing_record(tmp_path: Path) -> None:
    """Day 1 runs 30 minutes past midnight, beyond the records of the tail."""
    day1 = crossing(count=14_400 + 1_800)
    mirror(tmp_path, {key(1): day1, key(2): own_day()})
    whole, _ = first_minute(tmp_path, neighbour_bytes=None)

    assert not np.isnan(whole.waveform.values[0, :10]).any()
    assert_same_as_whole(tmp_path, 1_200)


def test_tail_truncated_crossing_record(tmp_path: Path) -> None:
    mirror(tmp_path, {key(1): crossing()[:-100], key(2): own_day()})

    assert_same_as_whole(tmp_path, 1_200)


def test_tail_of_two_channels(tmp_path: Path) -> None:
    """LHN ends hours before midnight, so the tail contains only LHZ."""
    values = np.arange(3_000, dtype=np.int32)
    early = mseedgen.segment_bytes(
        "XX.STA.00.LHN", "2024-01-01T20:00:00Z", values, RATE
    )
    for day1 in (early + crossing(), mseedgen.interleave(early, crossing())):
        mirror(tmp_path, {key(1): day1, key(2): own_day()})
        assert_same_as_whole(tmp_path, 1_200)


def station_key(station: str, day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/{station}.XX.2024.{day:03d}"


def open_error(**options) -> str:
    with pytest.raises(ObjectNotFoundError) as caught:
        open_waveforms(
            collection_spec("sage"),
            network="XX",
            station=["STA", "STB"],
            location="00",
            channel="LHZ",
            **options,
        )
    return str(caught.value)


def assert_names_own_days(message: str, days: list[int]) -> None:
    expected = [station_key(station, day) for day in days for station in ("STA", "STB")]
    assert station_key("STA", 1) not in message
    assert station_key("STB", 1) not in message
    assert any(key in message for key in expected)
    assert f"and {len(expected) - 3} more" in message
    assert "sampling_rate=" in message
    assert "inventory=" in message


def test_open_error_local_folder(tmp_path: Path) -> None:
    day1 = crossing()
    mirror(tmp_path, {station_key("STA", 1): day1, station_key("STB", 1): day1})

    message = open_error(start="2024-01-02", end="2024-01-05", root=str(tmp_path))

    assert_names_own_days(message, [2, 3, 4])


def test_open_error_s3(s3: LoopbackS3) -> None:
    day1 = crossing()
    publish(s3, "sage", {station_key("STA", 1): day1, station_key("STB", 1): day1})

    message = open_error(start="2024-01-02T06:00", end="2024-01-04")

    assert_names_own_days(message, [2, 3])


def without_blockette_1000(data: bytes) -> bytes:
    """Remove Blockette 1000, which names the encoding, from 512-byte records."""
    records = bytearray(data)
    for offset in range(0, len(records), 512):
        # Number of blockettes that follow, and the offset of the first one.
        records[offset + 39] = 0
        records[offset + 46 : offset + 48] = b"\x00\x00"
    return bytes(records)


@pytest.mark.parametrize("day", [1, 2])
def test_no_blockette_1000_unreadable(tmp_path: Path, day: int) -> None:
    """Records without an encoding are reported, previous day's or own."""
    # Day 2 needs several records: libmseed finds the length of a record
    # without Blockette 1000 from the header that follows it.
    day2 = crossing("2024-01-02T00:00:10Z", count=4_000)
    objects = {key(1): crossing(), key(2): day2}
    objects[key(day)] = without_blockette_1000(objects[key(day)])
    root = mirror(tmp_path, objects)

    dataset, caught = first_minute(root, neighbour_bytes=None)

    assert len(caught) == 1
    assert "invalid miniSEED" in caught[0]
    assert key(day) in caught[0]
    expected = "ok" if day == 1 else "unreadable"
    assert dataset.status.values.ravel()[0] == expected
