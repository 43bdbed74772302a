"""An event window and a day read report the same time_offset for the same
first sample, bit for bit, and the same max_shift for the same records.

A day's grid starts at midnight and a window's grid at the window start, so
the two place one record at different grid positions. Offsets and shifts are
taken as nanosecond differences before any division, so with a whole number
of nanoseconds per sample both grids give the same float.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope import open_waveforms, open_windows

from conftest import collection_spec, mirror
from mseedgen import join, nstime, segment_bytes

BHZ = "XX.STA..BHZ"
DAY = "2006-01-02"


def object_key(day: int) -> str:
    return f"miniseed/XX/2006/{day:03d}/STA.XX.2006.{day:03d}"


def counts(size: int) -> np.ndarray:
    return np.arange(size, dtype=np.int32)


def read_day(root: Path, rate: float) -> xr.Dataset:
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="",
        channel="BHZ",
        sampling_rate=rate,
        start=DAY,
        end="2006-01-03",
        errors="ignore",
        root=str(root),
    ).load()


def read_window(root: Path, rate: float, start: str) -> xr.Dataset:
    return open_windows(
        collection_spec("sage"),
        [start],
        0.0,
        5.0,
        network="XX",
        station="STA",
        location="",
        channel="BHZ",
        sampling_rate=rate,
        errors="ignore",
        root=str(root),
    ).load()


def grid_minus_recorded(grid_time: str, recorded_ns: int) -> float:
    """Return grid time minus recorded time in seconds, from whole nanoseconds."""
    return (nstime(grid_time) - recorded_ns) / 1e9


# (rate, record start, grid time of its first sample). The day's object
# has a second run after a gap, so that the day read places its segments
# together while the window places only the first.
OWN_RECORDS = [
    (1.0, "T01:00:00.3Z", "T01:00:00Z"),
    (1.0, "T13:21:07.25Z", "T13:21:07Z"),
    (1.0, "T07:30:00.7Z", "T07:30:01Z"),
    (100.0, "T01:00:00.003Z", "T01:00:00Z"),
    (100.0, "T13:21:07.0325Z", "T13:21:07.03Z"),
    (100.0, "T07:30:00.0071Z", "T07:30:00.01Z"),
]


@pytest.mark.parametrize(("rate", "start", "first"), OWN_RECORDS)
def test_window_offset_equals_day(
    tmp_path: Path, rate: float, start: str, first: str
) -> None:
    """The window starts on the whole second before the record."""
    record_ns = nstime(DAY + start)
    later = record_ns + 3_600 * 1_000_000_000
    data = join(
        segment_bytes(BHZ, record_ns, counts(600), rate),
        segment_bytes(BHZ, later, counts(600), rate),
    )
    root = mirror(tmp_path, {object_key(2): data})

    day = read_day(root, rate)
    window = read_window(root, rate, DAY + start[:9])

    day_offset = float(day.time_offset.squeeze())
    window_offset = float(window.time_offset.squeeze())
    assert day_offset == grid_minus_recorded(DAY + first, record_ns)
    assert window_offset == day_offset
    assert float(window.max_shift.squeeze()) == float(day.max_shift.squeeze())


# (rate, start of a record in the previous day's object, number of its
# sample that lands on the first index of the day).
PREVIOUS_RECORDS = [
    (1.0, "2006-01-01T23:59:50.3Z", 10),
    (1.0, "2006-01-01T23:59:50.7Z", 9),
    (100.0, "2006-01-01T23:59:59.9575Z", 4),
    (100.0, "2006-01-01T23:59:59.9229Z", 8),
]


@pytest.mark.parametrize(("rate", "start", "sample"), PREVIOUS_RECORDS)
def test_window_offset_inside_record(
    tmp_path: Path, rate: float, start: str, sample: int
) -> None:
    """The first sample of the day and of a window starting at midnight
    is a sample inside a record of the previous day's object."""
    record_ns = nstime(start)
    root = mirror(
        tmp_path, {object_key(1): segment_bytes(BHZ, start, counts(30), rate)}
    )

    day = read_day(root, rate)
    window = read_window(root, rate, DAY)

    # The sample's recorded time, in whole nanoseconds at these rates.
    sample_ns = record_ns + sample * round(1e9 / rate)
    midnight_ns = nstime(DAY + "T00:00:00Z")
    assert abs(midnight_ns - sample_ns) < 0.5e9 / rate
    day_offset = float(day.time_offset.squeeze())
    assert day_offset == (midnight_ns - sample_ns) / 1e9
    assert float(window.time_offset.squeeze()) == day_offset


@pytest.mark.parametrize(("rate", "start", "first"), OWN_RECORDS)
def test_engine_offset_exact(
    tmp_path: Path, rate: float, start: str, first: str
) -> None:
    """A file opened with engine="miniseed" has its grid start at its earliest
    sample, here of BHN one second before the grid time of BHZ's first."""
    record_ns = nstime(DAY + start)
    grid_ns = nstime(DAY + first)
    path = tmp_path / "one.mseed"
    path.write_bytes(
        join(
            segment_bytes("XX.STA..BHN", grid_ns - 10**9, counts(600), rate),
            segment_bytes(BHZ, record_ns, counts(600), rate),
        )
    )

    with xr.open_dataset(path, engine="miniseed") as opened:
        offsets = dict(
            zip(
                opened.channel.values.tolist(),
                opened.time_offset.values.tolist(),
                strict=True,
            )
        )

    assert offsets["BHN"] == 0.0
    assert offsets["BHZ"] == grid_minus_recorded(DAY + first, record_ns)
