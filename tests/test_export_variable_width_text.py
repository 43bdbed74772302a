"""Export of a dataset whose text is NumPy's variable-width StringDType.

xarray 2026.9 with zarr 3.1 reads the variable-length text of a Zarr store
back as StringDType. ``ds.to_zarr`` writes such text for object-dtype text,
as ``xr.merge`` of two requests makes it. Exporting the store must write
fixed-width text, as every export does. The mirror contains synthetic
station-days of two stations whose codes differ in width.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope import open_waveforms
from intake_earthscope.export import export_dataset

from conftest import collection_spec, mirror
from mseedgen import segment_bytes

START, END = "2024-01-01", "2024-01-02"
SHORT = {"network": "XX", "station": "AB", "location": "", "channel": "BHZ"}
LONG = {"network": "XX", "station": "LONGS", "location": "00", "channel": "BHZ"}
CODES = ("trace", "network", "station", "location", "channel")


def station_day(codes: dict[str, str]) -> tuple[str, bytes]:
    """One hour of 1 Hz samples on 2024-01-01, under the SAGE key layout."""
    seed_id = ".".join(codes[kind] for kind in ("network", "station", "location"))
    samples = np.arange(3600, dtype=np.int32)
    data = segment_bytes(f"{seed_id}.BHZ", "2024-01-01T00:00:00Z", samples, 1.0)
    return f"miniseed/XX/2024/001/{codes['station']}.XX.2024.001", data


@pytest.fixture
def merged_store(tmp_path: Path) -> Path:
    """Write the outer merge of the two stations' requests with to_zarr."""
    root = mirror(tmp_path / "mirror", dict(map(station_day, (SHORT, LONG))))
    requests = [
        open_waveforms(
            collection_spec("sage"), **codes, start=START, end=END, root=str(root)
        )
        for codes in (SHORT, LONG)
    ]
    merged = xr.merge(requests, compat="no_conflicts", join="outer")
    store = tmp_path / "merged.zarr"
    with pytest.warns(xr.SerializationWarning, match="dtype=object"):
        merged.to_zarr(store, zarr_format=2, consolidated=True)
    return store


def open_store(path: Path, output_format: str) -> xr.Dataset:
    if output_format == "zarr":
        return xr.open_zarr(path, consolidated=True)
    return xr.open_dataset(path, engine="h5netcdf")


@pytest.mark.parametrize("output_format", ["netcdf", "zarr"])
def test_export_variable_width_store(
    merged_store: Path, tmp_path: Path, output_format: str
) -> None:
    reread = open_store(merged_store, output_format="zarr")
    assert isinstance(reread["station"].dtype, np.dtypes.StringDType)

    output = tmp_path / f"again.{output_format}"
    export_dataset(reread, output, output_format, progress=False)

    with open_store(output, output_format) as written:
        for name in (*CODES, "status", "tier", "object_key"):
            assert written[name].dtype.kind == "U", name
        assert written["station"].dtype == np.dtype("<U5")
        assert list(written["station"].values) == ["AB", "LONGS"]
        assert list(written["location"].values) == ["", "00"]
        np.testing.assert_array_equal(written["status"].values, [["ok"], ["ok"]])
