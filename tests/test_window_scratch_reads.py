"""Event windows read with the decode memory that each thread reuses.

A batch of windows unpacks each object's records into its thread's
scratch memory (``decode._Scratch``) and keeps it until the batch ends.
Here the windows cross midnight (two objects each). A publication version
covers part of a day, a channel changes sample type, and one channel runs
past midnight. The second day is miniSEED 3 with a record that fails its
CRC, so its windows fall back to decoding one by one while the first day's
samples are still in use. Every variable must equal, bit for bit, a read
that keeps no memory between decodes, once dask's threads hold memory of
earlier reads, and with a scratch limit smaller than one object.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from intake_earthscope import decode, open_windows
from intake_earthscope.recordindex import forget_indexes, parse_records

import mseedgen
from conftest import collection_spec, mirror

DAY = mseedgen.nstime("2024-01-01T00:00:00Z")
MIDNIGHT = DAY + mseedgen.DAY_NS
SECOND = 10**9
RATE = 20.0
HOUR = int(3600 * RATE)
CODES = {"network": "XX", "station": "STA", "location": "00", "channel": "BH?"}


def key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def ramp(count: int, seed: int) -> np.ndarray:
    steps = np.random.default_rng(seed).integers(-40, 41, count)
    return np.cumsum(steps).astype(np.int32)


def run(channel: str, start: int, count: int, seed: int, **options) -> bytes:
    values = ramp(count, seed)
    if options.get("encoding") == "float64":
        values = values.astype(np.float64) + 0.25
    return mseedgen.segment_bytes(
        f"XX.STA.00.{channel}", start, values, RATE, **options
    )


def last_hour_of_day_one() -> bytes:
    """BHZ with a second version over 20 minutes, BHN changing from Steim-2
    to float64 at 23:30, and BHE in int32 running 5 minutes past midnight."""
    start = MIDNIGHT - 3600 * SECOND
    half = start + 1800 * SECOND
    return mseedgen.interleave(
        run("BHZ", start, HOUR, 1),
        run("BHZ", start + 600 * SECOND, HOUR // 3, 2, pubversion=2),
        run("BHN", start, HOUR // 2, 3),
        run("BHN", half, HOUR // 2, 4, encoding="float64"),
        run("BHE", start, HOUR + int(300 * RATE), 5, encoding="int32"),
    )


def first_hour_of_day_two() -> bytes:
    """miniSEED 3 of all three channels; the record of BHZ that ends at
    00:30 fails its CRC."""
    data = bytearray(
        mseedgen.interleave(
            *(
                run(channel, MIDNIGHT, HOUR, 10 + k, version=3, encoding="int32")
                for k, channel in enumerate(["BHZ", "BHN", "BHE"])
            )
        )
    )
    table = parse_records(bytes(data))
    bhz = np.flatnonzero([source.endswith("Z") for source in table.sources])
    row = bhz[np.searchsorted(table.starts[bhz], MIDNIGHT + 1800 * SECOND) - 1]
    data[int(table.offsets[row] + table.lengths[row]) - 8] ^= 0xFF
    return bytes(data)


# Windows of 30 s before and 60 s after, 40 of them from 23:10 to 00:50.
TIMES = pd.date_range("2024-01-01T23:10:00", "2024-01-02T00:50:00", periods=40)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    objects = {key(1): last_hour_of_day_one(), key(2): first_hour_of_day_two()}
    return mirror(tmp_path / "mirror", objects)


def read(root: Path, **compute: object) -> xr.Dataset:
    forget_indexes()
    with warnings.catch_warnings():
        # The CRC failure warns under errors="warn"; the status records it.
        warnings.simplefilter("ignore")
        dataset = open_windows(
            collection_spec("sage"),
            TIMES,
            30.0,
            60.0,
            root=str(root),
            errors="warn",
            **CODES,
        )
        return dataset.load(**compute)


def without_reuse(root: Path, monkeypatch: pytest.MonkeyPatch) -> xr.Dataset:
    """Read on this thread with a scratch that never keeps memory."""
    monkeypatch.setattr(decode._Scratch, "LIMIT", 0)
    monkeypatch.setattr(decode._scratch, "buffer", np.empty(0, dtype=np.uint8))
    return read(root, scheduler="synchronous")


def assert_identical(left: xr.Dataset, right: xr.Dataset) -> None:
    for name, variable in left.data_vars.items():
        nan_equal = variable.dtype.kind == "f"
        same = np.array_equal(variable.values, right[name].values, nan_equal)
        assert same, name


def test_scratch_windows_cover_the_faults(root: Path) -> None:
    dataset = read(root, scheduler="synchronous")

    assert set(dataset.status.values.ravel()) == {"ok", "damaged"}
    assert (dataset.valid_fraction.values > 0.9).all()
    conflicts = dataset.conflict_count.sum("window")
    # BHE of day one overlaps day two after midnight, BHZ has two versions.
    assert conflicts.sel(trace="XX.STA.00.BHE") > 0
    assert conflicts.sel(trace="XX.STA.00.BHN") == 0
    assert conflicts.sel(trace="XX.STA.00.BHZ") > 0


def test_scratch_windows_threads_equal_no_reuse(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first reads leave memory with the threads of dask's pool, which
    # the last read reuses.
    for _ in range(3):
        threaded = read(root, scheduler="threads", num_workers=2)
    many = read(root, scheduler="threads", num_workers=16)
    expected = without_reuse(root, monkeypatch)

    assert_identical(threaded, expected)
    assert_identical(many, expected)


def test_scratch_limit_below_object_equal_no_reuse(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decode._Scratch, "LIMIT", 4096)
    for _ in range(2):
        small = read(root, scheduler="threads", num_workers=2)

    assert_identical(small, without_reuse(root, monkeypatch))
