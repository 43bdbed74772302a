"""Text coordinates as fixed-width unicode, so that dask sizes "auto" chunks.

dask raises NotImplementedError for ``chunks="auto"`` on object arrays,
because it cannot tell their size in bytes. The datasets here come from a
local mirror of synthetic station-days (two stations whose codes differ in
width) and from obspy's test file of CH.BALST.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.export import export_dataset
from intake_earthscope.interop import to_obspy

from conftest import OBSPY_MSEED_DATA, collection_spec, mirror
from mseedgen import segment_bytes

TEXT_NAMES = ("trace", "network", "station", "location", "channel", "object_key")
START, END = "2024-01-01", "2024-01-03"

# Short and long codes: a blank location and a two-letter station beside a
# location "00" and a station of the five characters miniSEED 2 allows.
SHORT = {"network": "XX", "station": "AB", "location": "", "channel": "BHZ"}
LONG = {"network": "XX", "station": "LONGS", "location": "00", "channel": "BHZ"}


def station_days(codes: dict[str, str]) -> dict[str, bytes]:
    """Two days of one hour of 1 Hz samples each, under the SAGE key layout."""
    seed_id = ".".join(codes[kind] for kind in ("network", "station", "location"))
    objects = {}
    for doy, day in ((1, "2024-01-01"), (2, "2024-01-02")):
        data = segment_bytes(
            f"{seed_id}.BHZ", f"{day}T00:00:00Z", np.arange(3600, dtype=np.int32), 1.0
        )
        name = f"{codes['station']}.XX.2024.{doy:03d}"
        objects[f"miniseed/XX/2024/{doy:03d}/{name}"] = data
    return objects


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return mirror(tmp_path / "mirror", {**station_days(SHORT), **station_days(LONG)})


def day_dataset(root: Path, codes: dict[str, str]) -> xr.Dataset:
    return open_waveforms(
        collection_spec("sage"), **codes, start=START, end=END, root=str(root)
    )


def restore_text(merged: xr.Dataset) -> xr.Dataset:
    """Give back the widths of the text that an outer merge made object arrays.

    xarray fills the cells one dataset lacks with NaN while it aligns them,
    which turns text into object arrays. The guide shows these lines. The
    codes and keys are in memory, so ``astype(str)`` finds their width.
    """
    codes = ("network", "station", "location", "channel", "object_key")
    return merged.assign(
        status=merged["status"].astype("<U24"),
        tier=merged["tier"].astype("<U16"),
        **{name: merged[name].astype(str) for name in codes},
    )


def test_day_codes_fixed_width(root: Path) -> None:
    dataset = day_dataset(root, LONG)

    for name in TEXT_NAMES:
        assert dataset[name].dtype.kind == "U", name
    assert dataset["station"].dtype == np.dtype("<U5")
    assert dataset["trace"].values[0] == "XX.LONGS.00.BHZ"


def test_day_chunk_auto_loads(root: Path) -> None:
    dataset = day_dataset(root, SHORT)

    chunked = dataset.chunk("auto")

    assert chunked.load().identical(dataset.load())


def test_day_chunk_time_auto(root: Path) -> None:
    dataset = day_dataset(root, SHORT)

    chunked = dataset.chunk({"time": "auto"})

    assert sum(chunked.waveform.chunks[1]) == dataset.sizes["time"]
    # Chunking one dimension leaves the others as they were, so the day
    # chunks of the outcomes and of object_key differ until unified.
    assert xr.unify_chunks(chunked)[0].chunks["day"] == (1, 1)
    np.testing.assert_array_equal(
        chunked.waveform.values, dataset.waveform.values, strict=True
    )


def test_windows_chunk_auto(root: Path) -> None:
    windows = open_windows(
        collection_spec("sage"),
        ["2024-01-01T00:10:00", "2024-01-02T00:20:00"],
        5.0,
        10.0,
        **LONG,
        root=str(root),
    )

    for name in ("trace", "network", "station", "location", "channel"):
        assert windows[name].dtype.kind == "U", name
    chunked = windows.chunk("auto")
    assert chunked.load().identical(windows.load())


def test_open_dataset_chunks_auto() -> None:
    path = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"

    chunked = xr.open_dataset(path, engine="miniseed", chunks="auto")
    loaded = xr.open_dataset(path, engine="miniseed")

    assert chunked.waveform.chunks is not None
    assert chunked["status"].dtype.kind == "U"
    assert chunked.load().identical(loaded.load())


def test_concat_mixed_code_widths(root: Path) -> None:
    short = day_dataset(root, SHORT)
    long = day_dataset(root, LONG)

    joined = xr.concat([short, long], dim="trace").chunk("auto")

    assert joined["station"].dtype == np.dtype("<U5")
    assert list(joined["station"].values) == ["AB", "LONGS"]
    assert list(joined["location"].values) == ["", "00"]
    picked = joined.sel(trace="XX.LONGS.00.BHZ")
    assert str(picked["object_key"].values[0]).endswith("LONGS.XX.2024.001")


def test_merge_mixed_code_widths(root: Path) -> None:
    short = day_dataset(root, SHORT)
    long = day_dataset(root, LONG)

    merged = xr.merge([short, long], compat="no_conflicts", join="outer")

    assert merged["trace"].dtype.kind == "U"
    assert list(merged["trace"].values) == ["XX.AB..BHZ", "XX.LONGS.00.BHZ"]
    assert list(merged["station"].values) == ["AB", "LONGS"]
    assert merged["status"].dtype == object
    restored = restore_text(merged).chunk("auto").load()
    assert restored["status"].dtype == np.dtype("<U24")
    assert list(restored["status"].values[:, 0]) == ["ok", "ok"]
    assert restored["object_key"].dtype.kind == "U"


def test_merge_adjacent_days(root: Path) -> None:
    first = open_waveforms(
        collection_spec("sage"), **SHORT, start=START, end="2024-01-02", root=str(root)
    )
    second = open_waveforms(
        collection_spec("sage"), **SHORT, start="2024-01-02", end=END, root=str(root)
    )
    whole = day_dataset(root, SHORT).load()

    merged = xr.merge([first, second], compat="no_conflicts", join="outer")
    restored = restore_text(merged).chunk("auto").load()

    assert restored["tier"].dtype == np.dtype("<U16")
    np.testing.assert_array_equal(restored.waveform.values, whole.waveform.values)
    np.testing.assert_array_equal(restored.status.values, whole.status.values)
    np.testing.assert_array_equal(restored.object_key.values, whole.object_key.values)


def test_to_obspy_after_chunk_auto(root: Path) -> None:
    short = day_dataset(root, SHORT)
    long = day_dataset(root, LONG)
    joined = xr.concat([short, long], dim="trace").chunk("auto")

    stream = to_obspy(joined.sel(time=slice("2024-01-01T00:00", "2024-01-01T00:59")))

    assert sorted(trace.id for trace in stream) == [
        "XX.AB..BHZ",
        "XX.LONGS.00.BHZ",
    ]
    assert all(type(trace.stats.station) is str for trace in stream)


@pytest.mark.parametrize("output_format", ["netcdf", "zarr"])
def test_export_after_chunk_auto(
    root: Path, tmp_path: Path, output_format: str
) -> None:
    joined = xr.concat(
        [day_dataset(root, SHORT), day_dataset(root, LONG)], dim="trace"
    ).chunk("auto")
    output = tmp_path / f"codes.{'nc' if output_format == 'netcdf' else 'zarr'}"

    export_dataset(joined, output, output_format, progress=False)

    if output_format == "zarr":
        written = xr.open_zarr(output, consolidated=True)
    else:
        written = xr.open_dataset(output, engine="h5netcdf")
    with written:
        assert list(written["station"].values) == ["AB", "LONGS"]
        assert list(written["location"].values) == ["", "00"]
        assert list(written["trace"].values) == ["XX.AB..BHZ", "XX.LONGS.00.BHZ"]
