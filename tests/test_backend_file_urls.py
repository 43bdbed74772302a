"""The miniSEED engine opens the percent-encoded file:// URLs the package shows.

``open_waveforms`` lists the objects it read in its ``keys`` attribute, as
``file://`` URLs for a local mirror, percent-encoded where a folder name
has a space, ``%``, ``#``, ``?`` or non-ASCII characters. Giving such a URL
to ``xr.open_dataset(..., engine="miniseed")`` must open the same file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope.dataset import open_waveforms

from conftest import collection_spec, hour_mirror

FOLDERS = ["scedc mirror", "100% mirror", "a#b?c", "données"]


@pytest.mark.parametrize("name", FOLDERS, ids=["space", "percent", "hash", "utf-8"])
def test_engine_opens_shown_url(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    hour_mirror(folder)
    dataset = open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="",
        channel="LHZ",
        start="2024-01-01T00:00:00",
        end="2024-01-01T01:00:00",
        root=str(folder),
    ).load()
    url = dataset.attrs["keys"].splitlines()[0]

    opened = xr.open_dataset(url, engine="miniseed").load()

    assert " " not in url
    assert opened.sizes["trace"] == 1
    samples = opened.waveform.values[0]
    expected = dataset.waveform.values[0]
    assert np.array_equal(samples[: expected.size], expected, equal_nan=True)


def test_engine_opens_plain_path_with_percent(tmp_path: Path) -> None:
    """A plain path is read as written: its ``%20`` is no escape."""
    folder = tmp_path / "my%20mirror"
    hour_mirror(folder)
    path = next(folder.rglob("STA.XX.2024.001"))

    opened = xr.open_dataset(str(path), engine="miniseed")

    assert opened.sizes["trace"] == 1
