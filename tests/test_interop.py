"""Tests of the obspy interop: datasets to Streams and back, on real recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError, MixedSamplingRateError
from intake_earthscope.interop import from_obspy, to_obspy

from conftest import OBSPY_MSEED_DATA, collection_spec, mirror

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
BALST_KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
REAL_FILES = ["gaps.mseed", "two_channels.mseed", "test.mseed"]
SHARED_FILES = ["TA.121A..LHZ.2016.242.D", "IU_ULN_00_LH1_2015-07-18T02.mseed"]


def sorted_traces(stream: obspy.Stream) -> list[obspy.Trace]:
    return sorted(stream, key=lambda trace: (trace.id, trace.stats.starttime.ns))


def assert_same_stream(actual: obspy.Stream, expected: obspy.Stream) -> None:
    got, reference = sorted_traces(actual), sorted_traces(expected)
    assert [t.id for t in got] == [t.id for t in reference]
    for mine, theirs in zip(got, reference, strict=True):
        assert mine.stats.starttime.ns == theirs.stats.starttime.ns
        assert mine.stats.sampling_rate == theirs.stats.sampling_rate
        assert mine.data.dtype == theirs.data.dtype
        np.testing.assert_array_equal(mine.data, theirs.data)


# Stream -> dataset -> stream


@pytest.mark.parametrize("name", REAL_FILES)
def test_stream_round_trip_obspy_files(name: str) -> None:
    stream = obspy.read(str(OBSPY_MSEED_DATA / name))

    assert_same_stream(to_obspy(from_obspy(stream)), stream)


@pytest.mark.parametrize("name", SHARED_FILES)
def test_stream_round_trip_shared_files(name: str, shared_data: Path) -> None:
    stream = obspy.read(str(shared_data / "miniseed" / name))

    assert_same_stream(to_obspy(from_obspy(stream)), stream)


def test_gaps_become_nan() -> None:
    stream = obspy.read(str(OBSPY_MSEED_DATA / "gaps.mseed"))

    dataset = from_obspy(stream)

    assert dataset.sizes["trace"] == 1
    assert int(dataset.waveform.count()) == sum(t.stats.npts for t in stream)
    assert int(dataset.waveform.isnull().sum()) > 0


def test_nanosecond_start_kept() -> None:
    start = obspy.UTCDateTime(ns=1_600_000_000_123_456_789)
    trace = obspy.Trace(
        np.arange(50, dtype=np.float32),
        header={
            "network": "XX",
            "station": "ABC",
            "channel": "HHZ",
            "starttime": start,
        },
    )
    trace.stats.sampling_rate = 100.0

    back = to_obspy(from_obspy(obspy.Stream([trace])))

    assert back[0].stats.starttime.ns == start.ns
    assert back[0].data.dtype == np.float32


def test_same_id_traces_merge_overlap() -> None:
    stream = obspy.read(str(OBSPY_MSEED_DATA / "test.mseed"))
    first = stream[0].slice(endtime=stream[0].stats.starttime + 100)
    second = stream[0].slice(starttime=stream[0].stats.starttime + 90)

    dataset = from_obspy(obspy.Stream([first.copy(), second.copy()]))

    assert dataset.sizes["trace"] == 1
    assert int(dataset.overlap_count.values[0]) == 401
    assert int(dataset.conflict_count.values[0]) == 0
    np.testing.assert_array_equal(dataset.waveform.values[0], stream[0].data)


def test_off_phase_trace_moves_to_grid() -> None:
    stream = obspy.read(str(BALST))

    dataset = from_obspy(stream)

    # LHZ starts at .580 s and LHE at .205 s: LHE moves 0.375 s to the grid.
    offsets = dict(zip(dataset.trace.values, dataset.time_offset.values, strict=True))
    assert offsets["CH.BALST..LHZ"] == 0.0
    assert offsets["CH.BALST..LHE"] == pytest.approx(0.375)
    assert float(dataset.max_shift.max()) <= 0.5


def test_mixed_rates_name_traces() -> None:
    stream = obspy.read(str(OBSPY_MSEED_DATA / "test.mseed"))
    other = stream[0].copy()
    other.stats.channel = "LHZ"
    other.stats.sampling_rate = 1.0

    with pytest.raises(MixedSamplingRateError, match="NL.HGN.00.LHZ at 1 Hz"):
        from_obspy(stream + obspy.Stream([other]))


def test_empty_stream_raises() -> None:
    with pytest.raises(InvalidRequestError, match="contains no samples"):
        from_obspy(obspy.Stream())


def one_trace(data: np.ndarray, **stats: object) -> obspy.Trace:
    header = {
        "network": "XX",
        "station": "ABC",
        "channel": "BHZ",
        "sampling_rate": 1.0,
        "starttime": obspy.UTCDateTime("2024-01-01"),
    }
    return obspy.Trace(data, header=header | stats)


def test_merged_gap_becomes_nan() -> None:
    first = one_trace(np.arange(5, dtype=np.int32))
    second = one_trace(
        np.arange(10, 15, dtype=np.int32),
        starttime=obspy.UTCDateTime("2024-01-01T00:00:08"),
    )
    merged = obspy.Stream([first, second]).merge(method=0)

    waveform = from_obspy(merged).waveform.values[0]

    expected = [0, 1, 2, 3, 4, np.nan, np.nan, np.nan, 10, 11, 12, 13, 14]
    np.testing.assert_array_equal(waveform, expected)


def test_masked_floats_become_nan() -> None:
    masked = np.ma.masked_array(np.arange(6.0), mask=[0, 0, 1, 1, 0, 0])

    dataset = from_obspy([one_trace(masked)])

    np.testing.assert_array_equal(
        dataset.waveform.values[0], [0, 1, np.nan, np.nan, 4, 5]
    )
    assert int(dataset.overlap_count.values[0]) == 0


def test_masked_round_trip_two_traces() -> None:
    masked = np.ma.masked_array(np.arange(6, dtype=np.int32), mask=[0, 0, 1, 1, 0, 0])

    back = to_obspy(from_obspy([one_trace(masked)]))

    assert len(back) == 2
    assert back[1].stats.starttime == obspy.UTCDateTime("2024-01-01T00:00:04")
    np.testing.assert_array_equal(back[1].data, [4, 5])


@pytest.mark.parametrize(
    "data",
    [
        np.array([1 + 2j, 3 + 4j]),
        np.array(["a", "b"]),
        np.array([1, "b"], dtype=object),
    ],
    ids=["complex", "string", "object"],
)
def test_non_real_samples_raise(data: np.ndarray) -> None:
    with pytest.raises(InvalidRequestError, match=r"trace XX\.ABC\.\.BHZ.*dtype"):
        from_obspy([one_trace(data)])


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_non_positive_rate_raises(rate: float) -> None:
    trace = one_trace(np.arange(3.0))
    trace.stats.sampling_rate = rate

    with pytest.raises(InvalidRequestError, match=r"XX\.ABC\.\.BHZ: sampling_rate="):
        from_obspy([trace])


def test_window_without_samples_raises() -> None:
    trace = one_trace(np.arange(5.0))

    with pytest.raises(InvalidRequestError, match="no sample of the stream"):
        from_obspy([trace], start="2025-01-01", end="2025-01-02")


def test_window_with_one_sample_loads() -> None:
    trace = one_trace(np.arange(5.0))

    dataset = from_obspy(
        [trace], start="2024-01-01T00:00:04", end="2024-01-01T00:00:10"
    )

    assert int(dataset.waveform.count()) == 1


# Dataset -> stream -> dataset


@pytest.fixture
def balst_dataset(tmp_path: Path) -> xr.Dataset:
    root = mirror(tmp_path, {BALST_KEY: BALST.read_bytes()})
    return open_waveforms(
        collection_spec("sage"),
        network="CH",
        station="BALST",
        location="",
        channel="LH?",
        start="2025-11-10T00:00:00",
        end="2025-11-10T06:00:00",
        root=str(root),
    ).load()


def test_dataset_round_trip(balst_dataset: xr.Dataset) -> None:
    time = balst_dataset.time.values
    end = time[-1] + np.timedelta64(1, "s")

    back = from_obspy(to_obspy(balst_dataset), start=time[0], end=end)

    xr.testing.assert_equal(back.waveform, balst_dataset.waveform)
    assert list(back.channel.values) == list(balst_dataset.channel.values)


def test_dataset_stream_matches_obspy(balst_dataset: xr.Dataset) -> None:
    stream = to_obspy(balst_dataset)
    original = obspy.read(str(BALST)).select(channel="LHZ")[0]

    trace = stream.select(channel="LHZ")[0]

    # The reader moves LHZ by -0.42 s onto whole seconds; the samples agree.
    assert trace.stats.starttime.ns == obspy.UTCDateTime("2025-11-10T00:01:25").ns
    assert trace.data.dtype == np.int32
    np.testing.assert_array_equal(trace.data, original.data[: trace.stats.npts])


def test_recorded_times_undo_the_shift(balst_dataset: xr.Dataset) -> None:
    """The reader moved LHZ 0.42 s later onto whole seconds, and recorded
    times move it back."""
    original = obspy.read(str(BALST)).select(channel="LHZ")[0]

    stream = to_obspy(balst_dataset, times="recorded")

    trace = stream.select(channel="LHZ")[0]
    assert trace.stats.starttime.ns == original.stats.starttime.ns
    np.testing.assert_array_equal(trace.data, original.data[: trace.stats.npts])
    grid = to_obspy(balst_dataset).select(channel="LHZ")[0]
    assert grid.stats.starttime.ns - trace.stats.starttime.ns == 420_000_000


def test_recorded_times_of_one_trace(balst_dataset: xr.Dataset) -> None:
    lhz = balst_dataset.sel(trace="CH.BALST..LHZ")
    original = obspy.read(str(BALST)).select(channel="LHZ")[0]

    stream = lhz.earthscope.to_obspy(times="recorded")

    assert stream[0].stats.starttime.ns == original.stats.starttime.ns


def test_recorded_times_round_trip_from_obspy() -> None:
    start = obspy.UTCDateTime(ns=1_600_000_000_003_456_789)
    trace = obspy.Trace(
        np.arange(500, dtype=np.int32),
        header={"network": "XX", "station": "ABC", "channel": "HHZ"},
    )
    trace.stats.sampling_rate = 100.0
    trace.stats.starttime = start

    dataset = from_obspy(obspy.Stream([trace]), start=start - 0.003456789)
    back = to_obspy(dataset, times="recorded")

    assert back[0].stats.starttime.ns == start.ns
    assert to_obspy(dataset)[0].stats.starttime.ns != start.ns


def test_recorded_times_need_the_dataset(balst_dataset: xr.Dataset) -> None:
    with pytest.raises(InvalidRequestError, match="time_offset variable is missing"):
        to_obspy(balst_dataset.waveform, times="recorded")
    with pytest.raises(InvalidRequestError, match="invalid times='true'"):
        to_obspy(balst_dataset, times="true")


def test_selection_converts(balst_dataset: xr.Dataset) -> None:
    selection = balst_dataset.waveform.sel(
        trace="CH.BALST..LHZ", time=slice("2025-11-10T01", "2025-11-10T02")
    )

    stream = selection.earthscope.to_obspy()

    assert len(stream) == 1
    assert stream[0].id == "CH.BALST..LHZ"
    assert stream[0].stats.starttime.ns == obspy.UTCDateTime("2025-11-10T01").ns
    assert stream[0].stats.npts == 7200


def test_dataset_accessor(balst_dataset: xr.Dataset) -> None:
    stream = balst_dataset.earthscope.to_obspy()

    assert sorted(trace.id for trace in stream) == ["CH.BALST..LHE", "CH.BALST..LHZ"]


def test_to_obspy_rejects_other_dims() -> None:
    array = xr.DataArray(np.zeros((2, 3)), dims=("x", "y"))

    with pytest.raises(InvalidRequestError, match="dims"):
        to_obspy(array)
