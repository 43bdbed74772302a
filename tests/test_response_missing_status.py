"""Tests of the status of a channel without a response on days without data.

With ``errors="warn"`` a channel whose inventory has no response stages is
read as NaN with the status ``no_response``. On a day whose object is
missing there were no samples to correct, and ``missing`` is the reason. The
recording is real (CI.WBM, 2022-01-01, the shared data folder), and the
mirror has no object for 2022-01-02.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import obspy
import pytest
from obspy.core.inventory import Channel, Network, Station

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import IntakeEarthScopeWarning

from conftest import collection_spec, mirror

WBM_KEY = "continuous_waveforms/2022/2022_001/CIWBM__LHZ___2022001.ms"


def channel_only_inventory() -> obspy.Inventory:
    """An inventory that names CI.WBM..LHZ at 1 Hz without response stages."""
    entry = Channel("LHZ", "", 34.0, -118.0, 100.0, 0.0, sample_rate=1.0)
    site = Station("WBM", 34.0, -118.0, 100.0, channels=[entry])
    return obspy.Inventory(networks=[Network("CI", stations=[site])])


def test_missing_day_keeps_missing_status(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / "miniseed" / "CIWBM__LHZ___2022001.ms").read_bytes()
    root = mirror(tmp_path, {WBM_KEY: data})

    with pytest.warns(IntakeEarthScopeWarning):
        dataset = open_waveforms(
            collection_spec("scedc"),
            network="CI",
            station="WBM",
            location="",
            channel="LHZ",
            start="2022-01-01",
            end="2022-01-03",
            root=str(root),
            inventory=channel_only_inventory(),
            remove_response="velocity",
            errors="warn",
        ).load()

    assert dataset.status.values.tolist() == [["no_response", "missing"]]
    assert bool(np.isnan(dataset.waveform.values).all())


def test_no_response_row_has_no_valid_samples(
    tmp_path: Path, shared_data: Path
) -> None:
    data = (shared_data / "miniseed" / "CIWBM__LHZ___2022001.ms").read_bytes()
    root = mirror(tmp_path, {WBM_KEY: data})

    with pytest.warns(IntakeEarthScopeWarning):
        dataset = open_waveforms(
            collection_spec("scedc"),
            network="CI",
            station="WBM",
            location="",
            channel="LHZ",
            start="2022-01-01",
            end="2022-01-02",
            root=str(root),
            inventory=channel_only_inventory(),
            remove_response="velocity",
            errors="warn",
        ).load()

    assert dataset.status.values.tolist() == [["no_response"]]
    assert dataset.valid_fraction.values.tolist() == [[0.0]]
