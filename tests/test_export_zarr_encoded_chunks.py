"""Tests of Zarr exports of a variable whose encoding sets its Zarr chunks.

xarray writes ``encoding["chunks"]`` as the chunk shape of the store, and
rejects dask chunks that would write to one Zarr chunk from two tasks. The
recording is real (TA.121A, one day at 1 Hz, the shared data folder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.export import export_dataset, open_output

from conftest import collection_spec, mirror

TA_KEY = "miniseed/TA/2016/242/121A.TA.2016.242"


@pytest.fixture
def ta_day(tmp_path: Path, shared_data: Path) -> xr.Dataset:
    """A lazy day of TA.121A..LH? read from a local mirror."""
    folder = shared_data / "miniseed"
    data = b"".join((folder / f"TA.121A..LH{c}.2016.242.D").read_bytes() for c in "ZNE")
    root = mirror(tmp_path / "mirror", {TA_KEY: data})
    return open_waveforms(
        collection_spec("sage"),
        network="TA",
        station="121A",
        location="",
        channel="LH?",
        start="2016-08-29",
        end="2016-08-30",
        root=str(root),
    )


def test_encoded_chunks_with_uneven_dask_chunks(
    ta_day: xr.Dataset, tmp_path: Path
) -> None:
    dataset = ta_day.chunk(time=(20_000, 66_400))
    dataset.waveform.encoding["chunks"] = (1, 7_000)

    path = export_dataset(dataset, tmp_path / "day.zarr", "zarr", progress=False)

    written = open_output(path, "zarr")
    assert written.waveform.encoding["chunks"] == (1, 7_000)
    np.testing.assert_array_equal(written.waveform.values, ta_day.waveform.values)
