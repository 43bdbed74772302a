"""Event windows converted to obspy Streams.

The object of XX.STA for 2006-01-02 contains BHZ and BHN at 1 Hz, recorded
0.3 s after whole seconds, with a gap of ten seconds in BHN after 11:59:59.3.
Windows of that object become Traces whose samples and times match obspy's
own reading of the same bytes, cut to the window.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

from intake_earthscope import open_windows
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.interop import to_obspy

from conftest import collection_spec, mirror
from mseedgen import interleave, join, segment_bytes

KEY = "miniseed/XX/2006/002/STA.XX.2006.002"
TIMES = ["2006-01-02T06:00:00", "2006-01-02T12:00:05"]


@pytest.fixture
def data() -> bytes:
    bhz = segment_bytes(
        "XX.STA..BHZ", "2006-01-02T00:00:00.3Z", np.arange(86_000, dtype=np.int32), 1.0
    )
    bhn = join(
        segment_bytes(
            "XX.STA..BHN",
            "2006-01-02T00:00:00.3Z",
            np.arange(43_200, dtype=np.int32),
            1.0,
        ),
        segment_bytes(
            "XX.STA..BHN",
            "2006-01-02T12:00:10.3Z",
            np.arange(43_210, 85_000, dtype=np.int32),
            1.0,
        ),
    )
    return interleave(bhz, bhn)


def windows(root: Path) -> xr.Dataset:
    return open_windows(
        collection_spec("sage"),
        TIMES,
        10.0,
        20.0,
        network="XX",
        station="STA",
        location="",
        channel="BHZ,BHN",
        sampling_rate=1.0,
        root=str(root),
    )


def expected(data: bytes, reference: str, shift: float) -> obspy.Stream:
    """obspy's read of ``data`` cut to the window, moved by ``shift`` seconds."""
    stream = obspy.read(io.BytesIO(data))
    start = obspy.UTCDateTime(reference) - 10.0 - shift
    stream.trim(start, start + 29.0 + 1e-3)
    stream.sort(["channel", "starttime"])
    return stream


def summary(stream: obspy.Stream) -> list[tuple[str, int, list[int]]]:
    return [
        (trace.id, trace.stats.starttime.ns, trace.data.tolist()) for trace in stream
    ]


def test_windows_recorded_match_obspy(tmp_path: Path, data: bytes) -> None:
    dataset = windows(mirror(tmp_path, {KEY: data}))

    stream = to_obspy(dataset, times="recorded")

    first = expected(data, TIMES[0], -0.3)
    second = expected(data, TIMES[1], -0.3)
    assert summary(stream) == summary(first) + summary(second)
    assert len(second) == 3
    assert all(trace.stats.sampling_rate == 1.0 for trace in stream)


def test_windows_grid_times(tmp_path: Path, data: bytes) -> None:
    dataset = windows(mirror(tmp_path, {KEY: data}))

    stream = to_obspy(dataset)

    starts = [trace.stats.starttime.ns for trace in stream]
    window = obspy.UTCDateTime(TIMES[0]).ns - 10 * 10**9
    assert starts[:2] == [window, window]
    assert stream[0].data.dtype == np.int32


def test_one_window_selected(tmp_path: Path, data: bytes) -> None:
    dataset = windows(mirror(tmp_path, {KEY: data}))

    whole = to_obspy(dataset, times="recorded")
    second = to_obspy(dataset.isel(window=1), times="recorded")
    trace = to_obspy(dataset.waveform.isel(window=0, trace=1))

    assert summary(second) == summary(whole)[2:]
    assert len(trace) == 1
    assert trace[0].id == "XX.STA..BHZ"


def test_window_recorded_needs_offset(tmp_path: Path, data: bytes) -> None:
    dataset = windows(mirror(tmp_path, {KEY: data})).load()
    dataset["time_offset"][0, 0] = np.nan

    with pytest.raises(InvalidRequestError) as raised:
        to_obspy(dataset, times="recorded")

    message = str(raised.value)
    assert "XX.STA..BHN" in message
    assert "2006-01-02T06:00:00" in message
    assert "times='grid'" in message


def test_one_label_message(tmp_path: Path, data: bytes) -> None:
    dataset = windows(mirror(tmp_path, {KEY: data}))

    with pytest.raises(InvalidRequestError) as raised:
        to_obspy(dataset.isel(lag=3))

    assert "keep the 'time' or 'lag' dimension" in str(raised.value)


def test_traces_name_their_window(tmp_path: Path, data: bytes) -> None:
    dataset = windows(mirror(tmp_path, {KEY: data}))

    stream = to_obspy(dataset)

    windows_of = [trace.stats.window for trace in stream]
    first, second = (obspy.UTCDateTime(time) for time in TIMES)
    assert windows_of == [first, first, second, second, second]


def test_waveform_alone_message_names_windows(tmp_path: Path, data: bytes) -> None:
    dataset = windows(mirror(tmp_path, {KEY: data}))

    with pytest.raises(InvalidRequestError) as raised:
        to_obspy(dataset.waveform, times="recorded")

    assert "open_windows" in str(raised.value)
