"""time_offset of days, windows and files whose first sample comes from a
neighbouring object's record.

Records are filed by their start time, so the first seconds of a day can sit
in the last record of the previous day's object. A record that starts just
before midnight in the next day's object can put its first sample on the
last index of the day. time_offset is grid time minus recorded time of the
earliest sample that lands in the day, whichever object contains it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.interop import to_obspy
from intake_earthscope.testing import LoopbackS3

from conftest import collection_spec, mirror, publish
from mseedgen import join, nstime, segment_bytes, written_rate

BHZ = "XX.STA..BHZ"
BHN = "XX.STA..BHN"

# One nanosecond: offsets are computed from record start times in integer ns.
EXACT = 1e-9


def key(day: int) -> str:
    return f"miniseed/XX/2006/{day:03d}/STA.XX.2006.{day:03d}"


def ramp(count: int, first: int = 0) -> np.ndarray:
    return np.arange(first, first + count, dtype=np.int32)


def open_days(start: str, end: str, root: Path | None = None) -> xr.Dataset:
    """Read BHZ and BHN at 1 Hz, from a local mirror or from the S3 server."""
    location = {} if root is None else {"root": str(root)}
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="",
        channel="BHZ,BHN",
        sampling_rate=1.0,
        start=start,
        end=end,
        errors="ignore",
        **location,
    ).load()


def offset(dataset: xr.Dataset, trace: str, day: str) -> float:
    return float(dataset.time_offset.sel(trace=trace, day=np.datetime64(day, "ns")))


def test_day_filled_by_previous_record(s3: LoopbackS3) -> None:
    """BHZ of 2006-01-02 has only the ten samples of a record that starts at
    23:59:50.004 the day before. The request starts on 2006-01-02, so those
    samples come from the read of the previous day's object."""
    publish(
        s3,
        "sage",
        {
            key(1): segment_bytes(BHZ, "2006-01-01T23:59:50.004Z", ramp(20), 1.0),
            key(2): segment_bytes(BHN, "2006-01-02T00:00:00Z", ramp(600), 1.0),
        },
    )

    dataset = open_days("2006-01-02", "2006-01-03")

    row = dataset.waveform.sel(trace=BHZ).values
    np.testing.assert_array_equal(row[:10], np.arange(10, 20))
    assert np.isnan(row[10:]).all()
    assert offset(dataset, BHZ, "2006-01-02") == pytest.approx(-0.004, abs=EXACT)
    assert offset(dataset, BHN, "2006-01-02") == 0.0


def test_previous_record_before_own(tmp_path: Path) -> None:
    """The previous day's record gives 00:00:00 to 00:00:09, and the day's own
    records start on the grid at 00:00:10. The offset is the earlier one's."""
    root = mirror(
        tmp_path,
        {
            key(1): segment_bytes(BHZ, "2006-01-01T23:59:50.004Z", ramp(20), 1.0),
            key(2): segment_bytes(BHZ, "2006-01-02T00:00:10Z", ramp(590, 20), 1.0),
        },
    )

    dataset = open_days("2006-01-02", "2006-01-03", root)

    row = dataset.waveform.sel(trace=BHZ).values
    np.testing.assert_array_equal(row[:600], np.arange(10, 610))
    assert offset(dataset, BHZ, "2006-01-02") == pytest.approx(-0.004, abs=EXACT)


def test_spills_between_chunks(tmp_path: Path) -> None:
    """In a request of three days, each chunk takes the samples that the
    previous day's chunk placed past midnight, without a read of its own.

    Day 1 ends with BHZ records on the grid to 23:59:49 and one 4 ms late
    from 23:59:50.004, which libmseed joins into one segment. BHZ of day 2
    has only the late record's last ten samples, so its offset is that
    record's, not the segment's first. BHN of day 3 starts with a record of
    day 2 that is 7 ms late, before its own records on the grid.
    """
    day1 = join(
        segment_bytes(BHZ, "2006-01-01T23:59:00Z", ramp(50), 1.0),
        segment_bytes(BHZ, "2006-01-01T23:59:50.004Z", ramp(20, 50), 1.0),
        segment_bytes(BHN, "2006-01-01T00:00:00Z", ramp(600), 1.0),
    )
    day2 = join(
        segment_bytes(BHN, "2006-01-02T01:00:00Z", ramp(600), 1.0),
        segment_bytes(BHN, "2006-01-02T23:59:55.007Z", ramp(15, 600), 1.0),
    )
    day3 = segment_bytes(BHN, "2006-01-03T00:01:00Z", ramp(600, 700), 1.0)
    root = mirror(tmp_path, {key(1): day1, key(2): day2, key(3): day3})

    dataset = open_days("2006-01-01", "2006-01-04", root)

    bhz = dataset.waveform.sel(trace=BHZ).values
    np.testing.assert_array_equal(bhz[86_400 : 86_400 + 10], np.arange(60, 70))
    assert offset(dataset, BHZ, "2006-01-01") == 0.0
    assert offset(dataset, BHZ, "2006-01-02") == pytest.approx(-0.004, abs=EXACT)
    assert np.isnan(offset(dataset, BHZ, "2006-01-03"))
    assert offset(dataset, BHN, "2006-01-01") == 0.0
    assert offset(dataset, BHN, "2006-01-02") == 0.0
    assert offset(dataset, BHN, "2006-01-03") == pytest.approx(-0.007, abs=EXACT)


def test_next_record_ends_day(tmp_path: Path) -> None:
    """Day 2's object starts with records of 23:59:58.7 on day 1, whose first
    sample rounds onto the last index of day 1. BHZ of day 1 has no other
    sample, so that one gives its offset. BHN of day 1 has its own earlier
    samples, which keep theirs."""
    root = mirror(
        tmp_path,
        {
            key(1): segment_bytes(BHN, "2006-01-01T23:00:00Z", ramp(600), 1.0),
            key(2): join(
                segment_bytes(BHZ, "2006-01-01T23:59:58.7Z", ramp(30), 1.0),
                segment_bytes(BHN, "2006-01-01T23:59:58.7Z", ramp(30), 1.0),
            ),
        },
    )

    dataset = open_days("2006-01-01", "2006-01-03", root)

    bhz = dataset.waveform.sel(trace=BHZ).values
    assert int(np.count_nonzero(~np.isnan(bhz[:86_400]))) == 1
    assert bhz[86_399] == 0
    assert offset(dataset, BHZ, "2006-01-01") == pytest.approx(0.3, abs=EXACT)
    assert offset(dataset, BHZ, "2006-01-02") == pytest.approx(0.3, abs=EXACT)
    assert offset(dataset, BHN, "2006-01-01") == 0.0


def test_window_starts_in_previous_record(tmp_path: Path) -> None:
    """A window from 00:00:00 to 00:00:20 whose first ten samples come from a
    record that starts at 23:59:50.004 the day before.

    The record's header rate, 1.00005 Hz (miniSEED 3 stores it exactly), is
    within the tolerance of the 1 Hz grid, but each sample is recorded 50 us
    earlier than the grid step puts it. So the window's first sample, the
    record's eleventh, has another offset than the record's first. A read
    of the whole day reports the same offset as the window.
    """
    start = "2006-01-01T23:59:50.004Z"
    root = mirror(
        tmp_path,
        {
            key(1): segment_bytes(BHZ, start, ramp(20), 1.00005, version=3),
            key(2): segment_bytes(BHZ, "2006-01-02T00:00:10Z", ramp(590, 20), 1.0),
        },
    )
    # Differences first: a float64 of nanoseconds since 1970 is 256 ns coarse.
    record_to_grid_ns = nstime("2006-01-02T00:00:00Z") - nstime(start)
    expected = (record_to_grid_ns - 10 * 1e9 / written_rate(1.00005, 3)) / 1e9

    windows = open_windows(
        collection_spec("sage"),
        ["2006-01-02T00:00:10"],
        10.0,
        10.0,
        network="XX",
        station="STA",
        location="",
        channel="BHZ",
        sampling_rate=1.0,
        root=str(root),
    ).load()
    whole = open_days("2006-01-02", "2006-01-03", root)

    window_offset = float(windows.time_offset.sel(trace=BHZ).squeeze())
    assert expected == pytest.approx(-0.0035, abs=1e-6)
    assert window_offset == pytest.approx(expected, abs=EXACT)
    assert offset(whole, BHZ, "2006-01-02") == pytest.approx(expected, abs=EXACT)


def test_miniseed_engine_offsets(tmp_path: Path) -> None:
    """The file's grid starts at BHZ's first sample, and BHN starts 10.25 s
    later, so its first sample sits 0.25 s early on the grid."""
    data = join(
        segment_bytes(BHZ, "2006-01-01T00:00:00Z", ramp(100), 1.0),
        segment_bytes(BHN, "2006-01-01T00:00:10.25Z", ramp(100), 1.0),
    )
    path = tmp_path / "two.mseed"
    path.write_bytes(data)

    dataset = xr.open_dataset(path, engine="miniseed")
    stream = to_obspy(dataset, times="recorded")

    assert dataset.time_offset.dims == ("trace",)
    assert list(dataset.trace.values) == [BHN, BHZ]
    assert list(dataset.time_offset.values) == [-0.25, 0.0]
    recorded = {trace.id: trace.stats.starttime.ns for trace in stream}
    written = {
        trace.id: trace.stats.starttime.ns for trace in obspy.read(io.BytesIO(data))
    }
    assert recorded == written
