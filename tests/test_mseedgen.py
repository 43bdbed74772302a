"""Tests that the synthetic miniSEED decodes to the truth it was built from.

Every object is decoded with pymseed, and miniSEED 2 objects also with obspy,
whose reader does not support miniSEED 3.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np
import obspy
import pymseed
import pytest

import mseedgen
from mseedgen import NS_PER_S, SyntheticObject

T0 = pymseed.timestr2nstime(mseedgen.DAY_START)

# miniSEED 2 start times have microsecond resolution.
V2_TIME_TOLERANCE_NS = 1_000


@dataclass
class DecodedRecord:
    source_id: str
    start_ns: int
    rate: float
    values: np.ndarray

    def times_ns(self) -> np.ndarray:
        offsets = np.round(np.arange(len(self.values)) * (NS_PER_S / self.rate))
        return self.start_ns + offsets.astype(np.int64)


def decode_pymseed(data: bytes) -> list[DecodedRecord]:
    decoded = []
    for record in pymseed.MS3Record.from_buffer(data, unpack_data=True):
        values = np.array(record.np_datasamples, copy=True)
        decoded.append(
            DecodedRecord(record.sourceid, record.starttime, record.samprate, values)
        )
    return decoded


def decode_obspy(data: bytes) -> list[DecodedRecord]:
    decoded = []
    for trace in obspy.read(io.BytesIO(data), format="MSEED"):
        source_id = mseedgen.fdsn_source_id(trace.id)
        start_ns = trace.stats.starttime.ns
        rate = trace.stats.sampling_rate
        decoded.append(DecodedRecord(source_id, start_ns, rate, trace.data.copy()))
    return decoded


def by_channel(
    pieces: list[tuple[str, np.ndarray, np.ndarray]],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Concatenate (id, times, values) pieces per id, sorted by time then value."""
    channels: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for source_id, times, values in pieces:
        channel = channels.setdefault(source_id, ([], []))
        channel[0].append(times)
        channel[1].append(values)

    merged = {}
    for source_id, (times_list, values_list) in channels.items():
        times = np.concatenate(times_list)
        values = np.concatenate(values_list)
        order = np.lexsort((values, times))
        merged[source_id] = (times[order], values[order])
    return merged


def decoded_samples(decoded: list[DecodedRecord]) -> dict:
    return by_channel([(d.source_id, d.times_ns(), d.values) for d in decoded])


def expected_samples(built: SyntheticObject) -> dict:
    return by_channel([(s.source_id, s.times_ns(), s.values) for s in built.segments])


def assert_same_samples(
    actual: dict, expected: dict, tolerance_ns: int = V2_TIME_TOLERANCE_NS
) -> None:
    assert sorted(actual) == sorted(expected)
    for source_id, (times, values) in expected.items():
        actual_times, actual_values = actual[source_id]
        assert len(actual_times) == len(times), source_id
        assert np.max(np.abs(actual_times - times)) <= tolerance_ns, source_id
        assert np.array_equal(actual_values, values), source_id


def assert_decodes_to_truth(
    built: SyntheticObject, version: int, tolerance_ns: int = V2_TIME_TOLERANCE_NS
) -> None:
    expected = expected_samples(built)
    assert_same_samples(
        decoded_samples(decode_pymseed(built.data)), expected, tolerance_ns
    )
    if version == 2:
        obspy_samples = decoded_samples(decode_obspy(built.data))
        assert_same_samples(obspy_samples, expected, tolerance_ns)


def parse_records(data: bytes) -> list[pymseed.MS3Record]:
    # MS3Record.from_buffer yields one object that every step overwrites, so
    # each record is parsed on its own.
    return [pymseed.MS3Record.parse(record) for record in mseedgen.records(data)]


def blockette_types(record: bytes) -> list[int]:
    types = []
    (offset,) = struct.unpack_from(">H", record, 46)
    while offset:
        blockette_type, offset = struct.unpack_from(">HH", record, offset)
        types.append(blockette_type)
    return types


# Identifiers and times.


def test_source_id_from_seed_id() -> None:
    assert mseedgen.fdsn_source_id("XX.STA.00.BHZ") == "FDSN:XX_STA_00_B_H_Z"


def test_source_id_with_blank_location() -> None:
    assert mseedgen.fdsn_source_id("XX.STA..BHZ") == "FDSN:XX_STA__B_H_Z"


@pytest.mark.parametrize("seed_id", ["XX.STA.BHZ", "XX.STA.00.BHZ.extra", ""])
def test_source_id_rejects_malformed_id(seed_id: str) -> None:
    with pytest.raises(ValueError, match="NET.STA.LOC.CHA"):
        mseedgen.fdsn_source_id(seed_id)


def test_nstime_accepts_string_and_int() -> None:
    assert mseedgen.nstime("2006-01-01T00:00:00Z") == 1_136_073_600 * NS_PER_S
    assert mseedgen.nstime(T0) == T0


def test_nstime_rejects_float() -> None:
    with pytest.raises(TypeError):
        mseedgen.nstime(1.5)  # type: ignore[arg-type]


# segment_bytes.


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("encoding", ["steim2", "int32", "float64"])
@pytest.mark.parametrize("record_length", [512, 4096])
def test_segment_bytes_round_trip(
    version: int, encoding: str, record_length: int
) -> None:
    values = np.arange(-2_000, 3_000) * 7
    data = mseedgen.segment_bytes(
        "XX.STA.00.BHZ",
        T0 + 3_000_000,
        values,
        40.0,
        record_length=record_length,
        encoding=encoding,
        version=version,
    )

    parsed = parse_records(data)
    decoded = decode_pymseed(data)
    values_out = np.concatenate([record.values for record in decoded])

    assert {d.source_id for d in decoded} == {"FDSN:XX_STA_00_B_H_Z"}
    assert decoded[0].start_ns == T0 + 3_000_000
    assert {d.rate for d in decoded} == {40.0}
    assert np.array_equal(values_out, values)
    assert all(record.reclen <= record_length for record in parsed)
    assert {record.formatversion for record in parsed} == {version}
    assert {record.pubversion for record in parsed} == {1}


@pytest.mark.parametrize("encoding", ["steim2", "int32", "float64"])
def test_segment_bytes_read_by_obspy(encoding: str) -> None:
    values = np.arange(-2_000, 3_000) * 7
    data = mseedgen.segment_bytes(
        "XX.STA..BHZ", T0 + 3_000_000, values, 40.0, encoding=encoding
    )

    stream = obspy.read(io.BytesIO(data), format="MSEED")
    trace = stream[0]

    assert len(stream) == 1
    assert trace.id == "XX.STA..BHZ"
    assert trace.stats.starttime.ns == T0 + 3_000_000
    assert trace.stats.sampling_rate == 40.0
    assert trace.stats.mseed.record_length == 512
    assert np.array_equal(trace.data, values)


def test_segment_bytes_float_values() -> None:
    values = np.linspace(-1.5, 1.5, 300)
    data = mseedgen.segment_bytes("XX.STA.00.BHZ", T0, values, 20.0, encoding="float64")

    decoded = decode_pymseed(data)

    assert np.array_equal(np.concatenate([d.values for d in decoded]), values)


def test_segment_bytes_pubversion_as_quality() -> None:
    data = mseedgen.segment_bytes("XX.STA.00.BHZ", T0, [1, 2, 3], 1.0, pubversion=2)

    trace = obspy.read(io.BytesIO(data), format="MSEED")[0]

    assert trace.stats.mseed.dataquality == "D"


def test_segment_bytes_start_string_equals_int() -> None:
    from_string = mseedgen.segment_bytes(
        "XX.STA.00.BHZ", "2006-01-01T00:00:00.003Z", [1, 2, 3], 100.0
    )
    from_int = mseedgen.segment_bytes("XX.STA.00.BHZ", T0 + 3_000_000, [1, 2, 3], 100.0)

    assert from_string == from_int


@pytest.mark.parametrize(
    ("values", "encoding", "message"),
    [
        ([1.5, 2.0], "steim2", "integer values"),
        ([np.nan], "int32", "integer values"),
        ([2.0**31], "steim2", "int32 range"),
        ([1, 2], "steim1", "encoding must be one of"),
        ([], "steim2", "non-empty"),
        ([[1, 2]], "steim2", "1-D"),
    ],
)
def test_segment_bytes_rejects_invalid_values(
    values: list, encoding: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        mseedgen.segment_bytes("XX.STA.00.BHZ", T0, values, 1.0, encoding=encoding)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", [0.0, -1.0, float("inf"), float("nan")])
def test_segment_bytes_rejects_invalid_rate(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        mseedgen.segment_bytes("XX.STA.00.BHZ", T0, [1], rate)


def test_segment_bytes_rejects_version_4() -> None:
    with pytest.raises(ValueError, match="version"):
        mseedgen.segment_bytes("XX.STA.00.BHZ", T0, [1], 1.0, version=4)


def test_segment_bytes_rejects_v2_record_length() -> None:
    with pytest.raises(pymseed.MiniSEEDError, match="power of 2"):
        mseedgen.segment_bytes("XX.STA.00.BHZ", T0, [1], 1.0, record_length=500)


def test_blockette_100_carries_v2_rate() -> None:
    data = mseedgen.segment_bytes("XX.STA.00.HHZ", T0, np.arange(3_000), 100.000008)
    raw_records = mseedgen.records(data)
    parsed = [pymseed.MS3Record.parse(record) for record in raw_records]
    factor, multiplier = struct.unpack_from(">hh", raw_records[0], 32)

    counts = np.cumsum([0] + [record.samplecnt for record in parsed[:-1]])
    expected_starts = T0 + np.round(counts * (NS_PER_S / 100.000008)).astype(int)
    starts = np.array([record.starttime for record in parsed])

    assert all(100 in blockette_types(record) for record in raw_records)
    assert {record.samprate for record in parsed} == {float(np.float32(100.000008))}
    assert factor * abs(multiplier) == 100
    assert np.max(np.abs(starts - expected_starts)) <= V2_TIME_TOLERANCE_NS


def test_exact_v2_rate_has_no_blockette_100() -> None:
    data = mseedgen.segment_bytes("XX.STA.00.HHZ", T0, np.arange(3_000), 100.0)

    assert all(100 not in blockette_types(r) for r in mseedgen.records(data))


def test_written_rate_by_version() -> None:
    assert mseedgen.written_rate(100.0, 2) == 100.0
    assert mseedgen.written_rate(100.000008, 2) == float(np.float32(100.000008))
    assert mseedgen.written_rate(100.000008, 3) == 100.000008


def test_clock_rate_times_each_record() -> None:
    data = mseedgen.segment_bytes(
        "XX.STA.00.HHZ", T0, np.arange(5_000), 199.999938, clock_rate=200.0, version=3
    )
    parsed = parse_records(data)
    counts = np.cumsum([0] + [record.samplecnt for record in parsed[:-1]])

    starts = np.array([record.starttime for record in parsed])

    assert len(parsed) > 1
    assert np.array_equal(starts, T0 + counts * 5_000_000)
    assert {record.samprate for record in parsed} == {199.999938}


# records, join and interleave.


def test_records_split_and_join() -> None:
    data = mseedgen.segment_bytes("XX.STA.00.BHZ", T0, np.arange(10_000), 40.0)

    parts = mseedgen.records(data)

    assert len(parts) > 1
    assert {len(part) for part in parts} == {512}
    assert mseedgen.join(*parts) == data


def test_records_of_version_3() -> None:
    data = mseedgen.segment_bytes(
        "XX.STA.00.BHZ", T0, np.arange(10_000), 40.0, version=3
    )

    parts = mseedgen.records(data)

    assert len(parts) > 1
    assert mseedgen.join(*parts) == data


def test_records_rejects_trailing_bytes() -> None:
    data = mseedgen.segment_bytes("XX.STA.00.BHZ", T0, np.arange(100), 40.0)

    with pytest.raises((ValueError, pymseed.MiniSEEDError)):
        mseedgen.records(data + b"\0" * 100)


def test_interleave_sorts_records_by_start() -> None:
    vertical = mseedgen.segment_bytes("XX.STA.00.BHZ", T0, np.arange(20_000), 40.0)
    north = mseedgen.segment_bytes("XX.STA.00.BHN", T0, np.arange(20_000), 40.0)

    merged = mseedgen.interleave(vertical, north)
    starts = [record.starttime for record in pymseed.MS3Record.from_buffer(merged)]
    ids = [record.sourceid for record in pymseed.MS3Record.from_buffer(merged)]

    assert sorted(mseedgen.records(merged)) == sorted(
        mseedgen.records(vertical) + mseedgen.records(north)
    )
    assert starts == sorted(starts)
    assert ids[:2] == ["FDSN:XX_STA_00_B_H_Z", "FDSN:XX_STA_00_B_H_N"]


# Builders of field faults.


@pytest.mark.parametrize("version", [2, 3])
def test_rate_jitter_truth(version: int) -> None:
    built = mseedgen.rate_jitter(version=version)
    decoded = decode_pymseed(built.data)
    jittered = mseedgen.written_rate(100.000008, version)

    assert_same_samples(decoded_samples(decoded), expected_samples(built))
    assert {d.rate for d in decoded} == {100.0, jittered}
    assert built.facts["header_rates"] == (100.0, jittered, 100.0)
    assert built.facts["nominal_rate"] == 100.0


def test_rate_jitter_read_by_obspy() -> None:
    built = mseedgen.rate_jitter()
    decoded = decode_obspy(built.data)

    # obspy 1.5.1 reads the three segments as one 100 Hz trace, because
    # libmseed joins records whose rates differ by less than 0.01 %. Its
    # times for the jittered segment then drift by up to 3,000 times the
    # period difference.
    jittered = mseedgen.written_rate(100.000008)
    period_difference = NS_PER_S / 100.0 - NS_PER_S / jittered
    tolerance = V2_TIME_TOLERANCE_NS + int(3_000 * period_difference)

    assert_same_samples(decoded_samples(decoded), expected_samples(built), tolerance)
    assert [d.rate for d in decoded] == [100.0]


def test_rate_jitter_stays_on_grid() -> None:
    built = mseedgen.rate_jitter()
    starts = [segment.start_ns for segment in built.segments]

    assert starts == [T0, T0 + 30 * NS_PER_S, T0 + 60 * NS_PER_S]
    assert [len(s.values) for s in built.segments] == [3_000, 3_000, 3_000]


def test_drifting_rate_day_truth() -> None:
    built = mseedgen.drifting_rate_day()
    decoded = decode_pymseed(built.data)
    starts = np.array([d.start_ns for d in decoded])
    header_rate = float(np.float32(199.999938))

    # Within one record, times follow the header rate and drift from the
    # 200 Hz grid by up to one sample count times the period error.
    longest = max(len(d.values) for d in decoded)
    period_error = NS_PER_S / header_rate - NS_PER_S / 200.0
    tolerance = V2_TIME_TOLERANCE_NS + int(longest * period_error)

    assert_same_samples(decoded_samples(decoded), expected_samples(built), tolerance)
    assert np.all((starts - T0) % 5_000_000 == 0)
    assert {d.rate for d in decoded} == {header_rate}
    assert sum(len(d.values) for d in decoded) == 17_280_000
    assert built.facts["header_rate"] == header_rate
    assert built.facts["true_rate"] == 200.0


def test_drifting_rate_day_end_drift() -> None:
    built = mseedgen.drifting_rate_day()
    decoded = decode_pymseed(built.data)
    last = decoded[-1]
    true_last_ns = T0 + (17_280_000 - 1) * 5_000_000

    # What a reader gets that times every sample from the first record.
    naive_last_ns = T0 + round((17_280_000 - 1) * NS_PER_S / last.rate)

    assert naive_last_ns - true_last_ns == built.facts["end_drift_ns"]
    assert built.facts["end_drift_ns"] > 20_000_000


def test_drifting_rate_day_read_by_obspy() -> None:
    built = mseedgen.drifting_rate_day(seconds=600.0)
    raw_records = mseedgen.records(built.data)

    for index in (0, len(raw_records) // 2, len(raw_records) - 1):
        expected = pymseed.MS3Record.parse(raw_records[index])
        trace = obspy.read(io.BytesIO(raw_records[index]), format="MSEED")[0]

        assert trace.stats.starttime.ns == expected.starttime
        assert trace.stats.sampling_rate == float(np.float32(199.999938))
        assert (expected.starttime - T0) % 5_000_000 == 0


def test_drifting_rate_day_version_3() -> None:
    built = mseedgen.drifting_rate_day(seconds=600.0, version=3)
    decoded = decode_pymseed(built.data)
    starts = np.array([d.start_ns for d in decoded])

    assert {d.rate for d in decoded} == {199.999938}
    assert np.all((starts - T0) % 5_000_000 == 0)


@pytest.mark.parametrize("version", [2, 3])
def test_gap_truth(version: int) -> None:
    built = mseedgen.gap(version=version)
    times, _ = decoded_samples(decode_pymseed(built.data))["FDSN:XX_STA_00_H_H_Z"]
    in_gap = (times >= built.facts["gap_start_ns"]) & (
        times < built.facts["gap_end_ns"]
    )

    assert_decodes_to_truth(built, version)
    assert built.facts["gap_start_ns"] == T0 + 10 * NS_PER_S
    assert built.facts["gap_end_ns"] == T0 + 20 * NS_PER_S
    assert built.facts["missing_samples"] == 1_000
    assert not np.any(in_gap)


@pytest.mark.parametrize("version", [2, 3])
def test_off_grid_truth(version: int) -> None:
    built = mseedgen.off_grid(version=version)
    starts = sorted({d.start_ns for d in decode_pymseed(built.data)})
    second_start = T0 + 20 * NS_PER_S + 3_000_000

    assert_decodes_to_truth(built, version)
    assert second_start in starts
    assert built.segments[1].start_ns == second_start
    assert built.facts["offset_ns"] == 3_000_000


def test_off_grid_read_by_obspy() -> None:
    built = mseedgen.off_grid()
    stream = obspy.read(io.BytesIO(built.data), format="MSEED")
    stream.merge(method=-1)

    assert len(stream) == 2
    assert stream[1].stats.starttime.ns == T0 + 20 * NS_PER_S + 3_000_000


@pytest.mark.parametrize("identical", [True, False])
@pytest.mark.parametrize("version", [2, 3])
def test_overlap_truth(identical: bool, version: int) -> None:
    built = mseedgen.overlap(identical=identical, version=version)
    first, second = built.segments
    overlap_first = first.values[-50:]
    overlap_second = second.values[:50]

    assert_decodes_to_truth(built, version)
    assert built.facts["overlap_start_ns"] == second.start_ns
    assert built.facts["overlap_end_ns"] == first.end_ns
    assert np.array_equal(first.times_ns()[-50:], second.times_ns()[:50])
    assert np.array_equal(overlap_first, overlap_second) == identical
    assert np.all(overlap_first != overlap_second) != identical


def test_overlap_rejects_too_many_samples() -> None:
    with pytest.raises(ValueError, match="overlap_samples"):
        mseedgen.overlap(overlap_samples=2_000)


@pytest.mark.parametrize("version", [2, 3])
def test_only_hh_channels_truth(version: int) -> None:
    built = mseedgen.only_hh_channels(version=version)
    ids = {d.source_id for d in decode_pymseed(built.data)}

    assert_decodes_to_truth(built, version)
    assert ids == {
        "FDSN:XX_STA_00_H_H_Z",
        "FDSN:XX_STA_00_H_H_N",
        "FDSN:XX_STA_00_H_H_E",
    }
    assert built.seed_ids == ["XX.STA.00.HHE", "XX.STA.00.HHN", "XX.STA.00.HHZ"]


def test_many_gaps_truth() -> None:
    built = mseedgen.many_gaps()
    traces = pymseed.MS3TraceList.from_buffer(built.data)

    assert_decodes_to_truth(built, version=2)
    assert len(built.segments) == 5_000
    assert len(traces[0]) == 5_000
    assert {segment.samplecnt for segment in traces[0]} == {1_700}
    assert built.facts["end_ns"] < T0 + mseedgen.DAY_NS


def test_many_gaps_read_by_obspy() -> None:
    built = mseedgen.many_gaps(segment_count=200)
    stream = obspy.read(io.BytesIO(built.data), format="MSEED")
    stream.merge(method=-1)

    assert len(stream) == 200


def test_station_day_truth() -> None:
    built = mseedgen.station_day()
    decoded = decode_pymseed(built.data)
    rates = {d.source_id: d.rate for d in decoded}
    starts = [d.start_ns for d in decoded]

    assert_decodes_to_truth(built, version=2)
    assert rates == {
        "FDSN:XX_STA_00_B_H_Z": 40.0,
        "FDSN:XX_STA_00_B_H_N": 40.0,
        "FDSN:XX_STA_00_B_H_E": 40.0,
        "FDSN:XX_STA_00_H_H_Z": 100.0,
    }
    assert starts == sorted(starts)
    assert built.samples("XX.STA.00.HHZ")[0][-1] == T0 + mseedgen.DAY_NS - 10_000_000


def test_station_day_version_3() -> None:
    built = mseedgen.station_day(seconds=3_600.0, version=3)

    assert_decodes_to_truth(built, version=3)


def test_station_day_channel_values_distinct() -> None:
    built = mseedgen.station_day(seconds=60.0)
    first_values = {s.seed_id: int(s.values[0]) for s in built.segments}

    assert len(set(first_values.values())) == 4


@pytest.mark.parametrize("version", [2, 3])
def test_midnight_crossing_truth(version: int) -> None:
    built = mseedgen.midnight_crossing(version=version)
    last = decode_pymseed(mseedgen.records(built.data)[-1])[0]
    midnight = T0 + mseedgen.DAY_NS

    assert_decodes_to_truth(built, version)
    assert last.start_ns == midnight - 10 * NS_PER_S
    assert last.times_ns()[-1] > midnight
    assert last.times_ns()[-1] == built.facts["last_sample_ns"]
    assert built.facts["last_sample_ns"] == midnight + 4_975_000_000
    assert built.facts["midnight_ns"] == midnight


def test_midnight_crossing_rejects_long_record() -> None:
    with pytest.raises(ValueError, match="one record"):
        mseedgen.midnight_crossing(rate=100.0)


def test_samples_rejects_unknown_channel() -> None:
    built = mseedgen.gap()

    with pytest.raises(KeyError, match="XX.STA.00.BHZ"):
        built.samples("XX.STA.00.BHZ")
