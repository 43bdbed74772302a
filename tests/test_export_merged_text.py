"""Export of merged requests, whose text xarray turned into object arrays.

``xr.merge`` of two requests fills the cells one of them lacks with NaN,
which makes ``status`` and ``tier`` lazy object arrays. xarray computes a
lazy object array once to find a dtype it can store and then again to write
it, so each miniSEED object was read twice. The export must read each object
once and store fixed-width text, as it does for one request. The objects
are synthetic station-days of two stations whose codes differ in width, on
the moto server, read through a filesystem that counts GET requests.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest
import xarray as xr
from test_export_variable_width_text import LONG, SHORT, station_day

from intake_earthscope import open_waveforms
from intake_earthscope.export import export_dataset

import countingfs
from conftest import bucket_of, collection_spec, publish

START, END = "2024-01-01", "2024-01-02"
TEXT = ("trace", "network", "station", "location", "channel", "status", "tier")


@pytest.fixture
def options(s3) -> dict[str, Any]:
    """Publish the two station-days and return the options that count GETs."""
    publish(s3, "sage", dict(map(station_day, (SHORT, LONG))))
    countingfs.register()
    bucket, _ = bucket_of("sage")
    return {
        "root": f"countings3://{bucket}",
        "storage_options": countingfs.storage_options(s3.endpoint_url),
    }


def open_requests(options: dict[str, Any]) -> list[xr.Dataset]:
    return [
        open_waveforms(
            collection_spec("sage"), **codes, start=START, end=END, **options
        )
        for codes in (SHORT, LONG)
    ]


def counted_export(
    dataset: xr.Dataset, output: Path, output_format: str
) -> tuple[int, list[str]]:
    """Export ``dataset``, and return its GET requests and xarray's warnings."""
    countingfs.CountingS3FileSystem.reset()
    with (
        dask.config.set(scheduler="synchronous"),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always", xr.SerializationWarning)
        export_dataset(dataset, output, output_format, progress=False)
    messages = [
        str(warning.message)
        for warning in caught
        if issubclass(warning.category, xr.SerializationWarning)
    ]
    return countingfs.CountingS3FileSystem.requests, messages


@pytest.fixture
def merged(options: dict[str, Any]) -> xr.Dataset:
    return xr.merge(open_requests(options), compat="no_conflicts", join="outer")


@pytest.mark.parametrize("output_format", ["netcdf", "zarr"])
def test_merged_export_reads_once(
    options: dict[str, Any], tmp_path: Path, output_format: str
) -> None:
    alone = [
        counted_export(request, tmp_path / f"{position}.{output_format}", output_format)
        for position, request in enumerate(open_requests(options))
    ]
    merged = xr.merge(open_requests(options), compat="no_conflicts", join="outer")
    assert merged["status"].dtype == object

    output = tmp_path / f"merged.{output_format}"
    requests, messages = counted_export(merged, output, output_format)

    # Opening may already have read an object whose bytes the export reuses,
    # so the exports of the requests alone give the upper bound.
    assert requests <= sum(count for count, _ in alone)
    assert messages == []


@pytest.mark.parametrize("output_format", ["netcdf", "zarr"])
def test_merged_export_fixed_width(
    merged: xr.Dataset, tmp_path: Path, output_format: str
) -> None:
    output = tmp_path / f"merged.{output_format}"
    export_dataset(merged, output, output_format, progress=False)

    if output_format == "zarr":
        written = xr.open_zarr(output, consolidated=True)
    else:
        written = xr.open_dataset(output, engine="h5netcdf")
    with written:
        for name in TEXT:
            assert written[name].dtype.kind == "U", name
        assert list(written["station"].values) == ["AB", "LONGS"]
        assert list(written["location"].values) == ["", "00"]
        np.testing.assert_array_equal(written["status"].values, [["ok"], ["ok"]])
        np.testing.assert_array_equal(written["tier"].values, [["mirror"], ["mirror"]])
