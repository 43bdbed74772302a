"""Edge cases found by trying to break the reader: each one a regression test."""

from __future__ import annotations

import numpy as np
import pytest

from intake_earthscope.codes import SeedId, parse_codes
from intake_earthscope.collection import Collection
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.decode import decode_and_place
from intake_earthscope.errors import (
    CatalogError,
    InvalidRequestError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
    StorageUnavailableError,
)
from intake_earthscope.place import Grid
from intake_earthscope.timeutil import parse_time

import mseedgen
from conftest import collection_spec, mirror

DAY_NS = parse_time("2024-01-01", "start")
STATION = "XX.STA.00.BHZ"


def key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def records(starts_s: list[float], per_record: int, rate: float) -> bytes:
    """Write one record per start time, values counting up across records."""
    parts = []
    for index, start in enumerate(starts_s):
        values = np.arange(index * per_record, (index + 1) * per_record)
        parts.append(
            mseedgen.segment_bytes(
                STATION, DAY_NS + round(start * 1e9), values, rate, record_length=4096
            )
        )
    return b"".join(parts)


def read(tmp_path, objects: dict[str, bytes], **request):
    root = mirror(tmp_path / "mirror", objects)
    parameters = dict(
        network="XX",
        station="STA",
        location="00",
        channel="BHZ",
        start="2024-01-01",
        end="2024-01-02",
        root=str(root),
    )
    parameters.update(request)
    return open_waveforms(collection_spec("sage"), **parameters).load()


def test_time_tear_stays_within_half_sample(tmp_path) -> None:
    # Ten 100-sample records at 40 Hz; records 4 to 6 start 0.45 sample late,
    # close enough for libmseed to join them all into one segment.
    step = 1 / 40
    starts = [0.3 * step + k * 100 * step for k in range(10)]
    starts[4:7] = [start + 0.45 * step for start in starts[4:7]]

    dataset = read(tmp_path, {key(1): records(starts, 100, 40.0)})
    row = dataset.waveform.values[0]

    true = np.concatenate([start / step + np.arange(100) for start in starts])

    # Where the tear closes, two samples share an index: the first placed
    # stays and the other counts as a conflict. Every sample that stays sits
    # within half a sample of its record's time.
    placed = {int(value): index for index, value in enumerate(row) if value == value}
    shifts = [abs(index - true[value]) for value, index in placed.items()]
    assert max(shifts) <= 0.5
    assert len(placed) + int(dataset.conflict_count.values[0, 0]) == 1000
    assert float(dataset.max_shift.values[0, 0]) <= 0.5


def test_midnight_sample_goes_to_previous_day(tmp_path) -> None:
    # 1 Hz data on whole seconds, a grid 0.6 s later: the first sample of each
    # day's object rounds onto the last grid index of the previous day.
    objects = {
        key(day + 1): mseedgen.segment_bytes(
            STATION,
            DAY_NS + day * 86_400_000_000_000,
            np.arange(day * 86400, (day + 1) * 86400),
            1.0,
        )
        for day in range(3)
    }

    dataset = read(
        tmp_path,
        objects,
        start="2024-01-01T00:00:00.600",
        end="2024-01-04T00:00:00.600",
    )
    row = dataset.waveform.values[0]

    assert np.isnan(row).sum() == 1
    assert np.isnan(row[-1])
    np.testing.assert_array_equal(row[:-1], np.arange(1, 259200))


def test_truncated_object_keeps_records(tmp_path) -> None:
    whole = mseedgen.segment_bytes(STATION, DAY_NS, np.arange(2400), 40.0)

    dataset = read(tmp_path, {key(1): whole[:-100]}, end="2024-01-01T00:01:00")

    assert dataset.status.values[0, 0] == "truncated"
    assert 0.9 < float(dataset.valid_fraction.values[0, 0]) < 1.0


def test_garbage_after_records_is_damaged(tmp_path) -> None:
    whole = mseedgen.segment_bytes(STATION, DAY_NS, np.arange(2400), 40.0)

    dataset = read(
        tmp_path, {key(1): whole + b"\x00garbage" * 100}, end="2024-01-01T00:01:00"
    )

    assert dataset.status.values[0, 0] == "damaged"
    assert float(dataset.valid_fraction.values[0, 0]) == 1.0


def test_rate_change_is_reported(tmp_path) -> None:
    data = mseedgen.segment_bytes(STATION, DAY_NS, np.arange(1200), 40.0)
    data += mseedgen.segment_bytes(STATION, DAY_NS + 30 * 10**9, np.arange(3000), 100.0)

    with pytest.warns(ReadOutcomeWarning, match="at 100 Hz left out of the 40 Hz"):
        dataset = read(
            tmp_path, {key(1): data}, end="2024-01-01T00:01:00", sampling_rate=40
        )

    assert dataset.status.values[0, 0] == "rate_mismatch"
    assert float(dataset.valid_fraction.values[0, 0]) == pytest.approx(0.5)
    assert float(dataset.header_rate.values[0, 0]) == 40.0


def test_absent_exact_channel_is_nan(tmp_path) -> None:
    data = mseedgen.segment_bytes(STATION, DAY_NS, np.arange(60), 1.0)

    dataset = read(
        tmp_path, {key(1): data}, channel="BHZ,BHN", end="2024-01-01T00:01:00"
    )

    assert list(dataset.trace.values) == ["XX.STA.00.BHN", "XX.STA.00.BHZ"]
    assert list(dataset.status.values[:, 0]) == ["no_matching_channel", "ok"]


def test_higher_version_wins_across_midnight(tmp_path) -> None:
    # The previous day's last record (version 2) and the next day's first
    # record (version 1) both cover 00:00:00 to 00:00:09.
    day1 = mseedgen.segment_bytes(
        STATION, DAY_NS + 86_390 * 10**9, np.full(20, 7), 1.0, pubversion=2
    )
    day2 = mseedgen.segment_bytes(STATION, DAY_NS + 86_400 * 10**9, np.zeros(10), 1.0)

    dataset = read(
        tmp_path,
        {key(1): day1, key(2): day2},
        start="2024-01-02",
        end="2024-01-02T00:00:10",
    )

    np.testing.assert_array_equal(dataset.waveform.values[0], np.full(10, 7.0))
    assert int(dataset.conflict_count.values[0, 0]) == 10


def test_far_future_record_is_dropped() -> None:
    near = mseedgen.segment_bytes(STATION, DAY_NS, np.arange(100), 1.0)
    far = mseedgen.segment_bytes(
        STATION, parse_time("2030-01-01", "t"), np.arange(5), 1.0
    )
    grid = Grid(DAY_NS, 1e9, 86400)

    block = decode_and_place(near + far, [SeedId.parse(STATION)], grid, 0, 86400, 1e-4)

    assert int(block.dropped[0]) == 5
    assert block.spill.data.shape[1] == 0


def test_empty_object_is_unreadable(tmp_path) -> None:
    dataset = read(tmp_path, {key(1): b""}, errors="ignore", sampling_rate=1)

    assert dataset.status.values[0, 0] == "unreadable"


def test_listed_missing_object_raises(tmp_path) -> None:
    data = mseedgen.segment_bytes(STATION, DAY_NS, np.arange(60), 1.0)

    with pytest.raises(ObjectNotFoundError, match=r"not in the listing of mirror /"):
        read(tmp_path, {key(1): data}, station="ST?", end="2024-01-03")


def test_unreachable_storage_is_reported() -> None:
    # The test session sends S3 requests to a closed loopback port.
    with pytest.raises(StorageUnavailableError, match="cannot reach"):
        open_waveforms(
            collection_spec("sage"),
            network="XX",
            station="STA",
            location="00",
            channel="BHZ",
            start="2024-01-01",
            end="2024-01-02",
            tier="open",
            sampling_rate=1,
        ).load()


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("start", 1704067200, "bare number is ambiguous"),
        ("start", "0001-01-01", "1678"),
        ("sampling_rate", 5e-324, "between"),
        ("sampling_rate", True, "invalid sampling_rate"),
        ("rate_tolerance", 0.4, "between 0 and 0.01"),
        ("root", 123, "invalid root"),
        ("root", "/nonexistent/mirror", "no such directory"),
        ("storage_options", ["a"], "expected a mapping"),
        ("neighbour_bytes", "x", "invalid neighbour_bytes"),
        ("station", "ß", "ASCII"),
        ("station", {"ANMO"}, "list or tuple"),
    ],
)
def test_invalid_option_rejected(name, value, match) -> None:
    parameters = dict(
        network="XX", station="STA", start="2024-01-01", end="2024-01-02", tier="open"
    )
    parameters[name] = value

    with pytest.raises(InvalidRequestError, match=match):
        open_waveforms(collection_spec("sage"), **parameters)


@pytest.mark.parametrize(
    "template",
    [
        "miniseed/{network}/{doy:03d}",
        "miniseed/{network!r}/{station}/{year}/{doy}",
        "miniseed/{network}/{station}/{year}/{doy",
        "miniseed/{}/{station}/{year}/{doy}",
    ],
)
def test_bad_key_template_rejected(template) -> None:
    spec = dict(collection_spec("sage"), key_template=template)

    with pytest.raises(CatalogError, match="key_template"):
        Collection.from_yaml(spec)


def test_tier_must_be_mapping() -> None:
    spec = dict(collection_spec("sage"), tiers={"open": "earthscope-geophysical-data"})

    with pytest.raises(CatalogError, match="expected a mapping"):
        Collection.from_yaml(spec)


def test_one_digit_location_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="drops the leading zero") as caught:
        parse_codes("1", "location")

    assert str(caught.value).endswith("Pass location='01' as text")


def test_empty_record_keeps_status_ok(tmp_path) -> None:
    # Records without samples and with a rate of 0 Hz, as some dataloggers
    # write between runs, place nothing and so cannot mismatch the grid.
    whole = mseedgen.segment_bytes(STATION, DAY_NS, np.arange(2400), 40.0)
    empty = bytearray(mseedgen.segment_bytes(STATION, DAY_NS + 70 * 10**9, [1], 40.0))
    empty[30:36] = bytes(6)  # sample count, rate factor and multiplier

    dataset = read(tmp_path, {key(1): whole + bytes(empty)}, end="2024-01-01T00:01:00")

    assert dataset.status.values[0, 0] == "ok"


# NaN sample values of float records


def float_day(values: np.ndarray, pubversion: int = 1) -> bytes:
    return mseedgen.segment_bytes(
        STATION, DAY_NS, values, 40.0, encoding="float64", pubversion=pubversion
    )


def read_minute(tmp_path, data: bytes):
    return read(tmp_path, {key(1): data}, end="2024-01-01T00:01:00")


def test_nan_samples_are_not_data(tmp_path) -> None:
    values = np.arange(2400.0)
    values[100:200] = np.nan

    dataset = read_minute(tmp_path, float_day(values))

    # valid_fraction and gap_count agree: the NaN run is one gap.
    assert float(dataset.valid_fraction.values[0, 0]) == 2300 / 2400
    assert int(dataset.gap_count.values[0, 0]) == 1


def test_nan_day_has_no_data(tmp_path) -> None:
    dataset = read_minute(tmp_path, float_day(np.full(2400, np.nan)))

    assert float(dataset.valid_fraction.values[0, 0]) == 0.0


def test_samples_fill_nan_samples(tmp_path) -> None:
    data = float_day(np.full(2400, np.nan)) + float_day(np.arange(2400.0))

    dataset = read_minute(tmp_path, data)

    np.testing.assert_array_equal(dataset.waveform.values[0], np.arange(2400.0))
    assert float(dataset.valid_fraction.values[0, 0]) == 1.0


def test_nan_samples_do_not_conflict(tmp_path) -> None:
    data = float_day(np.arange(2400.0)) + float_day(np.full(2400, np.nan))

    dataset = read_minute(tmp_path, data)

    assert int(dataset.overlap_count.values[0, 0]) == 0
    assert int(dataset.conflict_count.values[0, 0]) == 0
