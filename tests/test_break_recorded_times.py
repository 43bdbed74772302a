"""Recorded start times of to_obspy over several days, selections and versions,
and the row order of outcome tables."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

import intake_earthscope.tasks as tasks
from intake_earthscope import open_waveforms, open_windows, outcome_table
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.interop import to_obspy

from conftest import collection_spec, mirror
from mseedgen import segment_bytes

BHZ = "XX.STA..BHZ"
BHN = "XX.STA..BHN"


def key(day: int) -> str:
    return f"miniseed/XX/2006/{day:03d}/STA.XX.2006.{day:03d}"


def open_days(root: Path, end: str = "2006-01-03", **options: object) -> xr.Dataset:
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="",
        channel="BH?",
        start="2006-01-01",
        end=end,
        root=str(root),
        **options,
    )


def recorded_starts(stream: obspy.Stream) -> list[tuple[str, int]]:
    return sorted((trace.id, trace.stats.starttime.ns) for trace in stream)


@pytest.fixture
def two_phases(tmp_path: Path) -> Path:
    """BHZ and BHN on two days, each day's records at another phase of 1 Hz."""
    objects = {
        key(1): segment_bytes(BHZ, "2006-01-01T00:00:00.300Z", np.arange(600), 1.0)
        + segment_bytes(BHN, "2006-01-01T00:00:00.100Z", np.arange(600), 1.0),
        key(2): segment_bytes(BHZ, "2006-01-02T01:00:00.200Z", np.arange(600), 1.0)
        + segment_bytes(BHN, "2006-01-02T01:00:00.400Z", np.arange(600), 1.0),
    }
    return mirror(tmp_path / "mirror", objects)


def test_run_from_missing_day_next_offset(tmp_path: Path) -> None:
    """Day 1's object is missing, and day 2's object starts with a record of
    23:59:00.2 on day 1. Day 1 takes that record's offset from day 2's
    object, and so does day 2, where the record runs on."""
    data = segment_bytes(BHZ, "2006-01-01T23:59:00.200Z", np.arange(600), 1.0)
    root = mirror(tmp_path, {key(2): data})

    dataset = open_days(root, errors="ignore")
    stream = to_obspy(dataset, times="recorded")

    assert dataset.time_offset.values[0, 0] == pytest.approx(-0.2)
    assert dataset.time_offset.values[0, 1] == pytest.approx(-0.2)
    assert recorded_starts(stream) == recorded_starts(obspy.read(io.BytesIO(data)))


def test_recorded_times_of_two_days(two_phases: Path) -> None:
    stream = to_obspy(open_days(two_phases), times="recorded")

    objects = b"".join(path.read_bytes() for path in sorted(two_phases.rglob("STA*")))
    assert recorded_starts(stream) == recorded_starts(obspy.read(io.BytesIO(objects)))


def test_day_left_out_of_a_selection_raises(two_phases: Path) -> None:
    """isel on day keeps the samples of the other day in waveform. Their
    offset is not in the selection, and the picked day's offset would move
    them wrongly."""
    dataset = open_days(two_phases)

    with pytest.raises(InvalidRequestError, match="no time_offset on their days"):
        to_obspy(dataset.isel(day=1), times="recorded")
    with pytest.raises(InvalidRequestError, match="no time_offset on their days"):
        to_obspy(dataset.isel(day=[0]), times="recorded")

    second = dataset.isel(day=1).sel(time=slice("2006-01-02", None))
    stream = to_obspy(second, times="recorded")
    assert [str(trace.stats.starttime) for trace in stream] == [
        "2006-01-02T01:00:00.400000Z",
        "2006-01-02T01:00:00.200000Z",
    ]


def test_days_in_reverse_order(two_phases: Path) -> None:
    dataset = open_days(two_phases)

    forward = to_obspy(dataset, times="recorded")
    backward = to_obspy(dataset.isel(day=[1, 0]), times="recorded")

    assert recorded_starts(backward) == recorded_starts(forward)


def test_offset_of_the_earliest_version(tmp_path: Path) -> None:
    """Version 2 is placed first (it wins conflicts) but starts at 12:00;
    the day's time_offset is that of its first sample, at 00:00:00.3."""
    early = segment_bytes(BHZ, "2006-01-01T00:00:00.300Z", np.arange(600), 1.0)
    late = segment_bytes(
        BHZ, "2006-01-01T12:00:00.100Z", np.arange(600), 1.0, pubversion=2
    )
    root = mirror(tmp_path, {key(1): early + late})

    dataset = open_days(root, end="2006-01-02").load()
    stream = to_obspy(dataset, times="recorded")

    assert float(dataset.time_offset.values[0, 0]) == pytest.approx(-0.3)
    first = obspy.read(io.BytesIO(early))[0]
    assert stream[0].stats.starttime.ns == first.stats.starttime.ns


def test_recorded_times_read_each_object_once(
    two_phases: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys: list[str] = []
    fetch = tasks._fetch_with_fallback

    def counting(*args, **kwargs):
        keys.append(args[2])
        return fetch(*args, **kwargs)

    monkeypatch.setattr(tasks, "_fetch_with_fallback", counting)

    to_obspy(open_days(two_phases), times="recorded")

    assert sorted(keys) == [key(1), key(2)]


def test_outcome_table_rows_window_by_window(tmp_path: Path) -> None:
    """The rows follow window then trace even when the variables' dimensions
    are in another order."""
    data = segment_bytes(BHZ, "2006-01-01T00:00:00Z", np.arange(86_400), 1.0)
    data += segment_bytes(BHN, "2006-01-01T00:00:00Z", np.arange(86_400), 1.0)
    root = mirror(tmp_path, {key(1): data})
    times = ["2006-01-01T06:00:00", "2006-01-03T06:00:00"]
    dataset = open_windows(
        collection_spec("sage"),
        times,
        10.0,
        10.0,
        network="XX",
        station="STA",
        location="",
        channel="BH?",
        root=str(root),
        errors="ignore",
    )

    table = outcome_table(dataset.transpose("trace", "lag", "window"))

    assert list(table["status"]) == ["ok", "ok", "missing", "missing"]
    assert list(table["trace"]) == [BHN, BHZ, BHN, BHZ]
