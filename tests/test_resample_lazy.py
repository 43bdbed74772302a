"""Resampling a lazy day read: the graph and the values against memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope import open_waveforms

import mseedgen
from conftest import collection_spec, mirror

DAY_NS = int(np.datetime64("2024-01-01", "ns").astype(np.int64))
KEY = "miniseed/XX/2024/001/STA.XX.2024.001"
RATE = 20.0


def day_read(tmp_path: Path) -> xr.Dataset:
    """Open one 20 Hz day of XX.STA.00.BHZ lazily from a local mirror."""
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.integers(-40, 41, int(86_400 * RATE))).astype(np.int32)
    data = mseedgen.segment_bytes("XX.STA.00.BHZ", DAY_NS, values, RATE)
    root = mirror(tmp_path / "mirror", {KEY: data})
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="00",
        channel="BHZ",
        start="2024-01-01",
        end="2024-01-02",
        root=str(root),
    )


def test_resample_builds_few_tasks(tmp_path: Path) -> None:
    dataset = day_read(tmp_path)

    minutes = dataset.waveform.resample(time="1min").max()

    # Without flox, xarray builds several tasks per minute (7,204 here).
    assert len(minutes.data.__dask_graph__()) < 50


def test_resample_matches_memory(tmp_path: Path) -> None:
    dataset = day_read(tmp_path)

    lazy = dataset.waveform.resample(time="1min").max().compute()
    loaded = dataset.waveform.compute().resample(time="1min").max()

    assert lazy.sizes["time"] == 1440
    np.testing.assert_array_equal(lazy.values, loaded.values)
    np.testing.assert_array_equal(lazy.time.values, loaded.time.values)


def two_days(tmp_path: Path) -> xr.Dataset:
    """Open two days of XX.STA.00.LHZ at 1 Hz, one object each."""
    objects = {
        f"miniseed/XX/2024/00{day}/STA.XX.2024.00{day}": mseedgen.segment_bytes(
            "XX.STA.00.LHZ", DAY_NS + (day - 1) * 86_400 * 10**9, np.arange(600), 1.0
        )
        for day in (1, 2)
    }
    root = mirror(tmp_path / "mirror", objects)
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="00",
        channel="LHZ",
        start="2024-01-01",
        end="2024-01-03",
        root=str(root),
    )


def test_text_reduction_needs_flox_off(tmp_path: Path) -> None:
    dataset = two_days(tmp_path)

    with pytest.raises(ValueError, match="blockwise"):
        dataset.status.resample(day="2D").first().compute()
    with xr.set_options(use_flox=False):
        first = dataset.status.resample(day="2D").first().compute()

    assert first.values.tolist() == [["ok"]]
