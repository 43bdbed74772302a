"""Event windows far apart, on days without objects, and their provenance.

The mirror contains XX.STA.00.BHZ at 1 Hz for the whole of 2000-01-01 and of
2025-11-10, written by tests/mseedgen.py. Sample ``i`` of a day has the
value ``i % 1000``, so a window's expected samples follow from its start.
No other day has an object.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.cli import EXIT_OK, main
from intake_earthscope.errors import InvalidRequestError, ObjectNotFoundError
from intake_earthscope.recordindex import forget_indexes

import mseedgen
from conftest import collection_spec, mirror

CODES = {"network": "XX", "station": "STA", "location": "00", "channel": "BHZ"}
DAYS = {"2000-01-01": "2000/001", "2025-11-10": "2025/314"}
FAR_APART = ["2025-11-10T03:00:00", "2000-01-01T00:30:00"]


def key(day: str) -> str:
    year_day = DAYS[day]
    return f"miniseed/XX/{year_day}/STA.XX.{year_day.replace('/', '.')}"


def day_object(day: str) -> bytes:
    values = (np.arange(86_400) % 1000).astype(np.int32)
    return mseedgen.segment_bytes(
        "XX.STA.00.BHZ", f"{day}T00:00:00Z", values, 1.0, record_length=512
    )


@pytest.fixture(autouse=True)
def _index_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    forget_indexes()
    yield
    forget_indexes()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return mirror(tmp_path / "mirror", {key(day): day_object(day) for day in DAYS})


def windows(root: Path, times: list[str], **options: object) -> xr.Dataset:
    return open_windows(
        collection_spec("sage"),
        times,
        30,
        30,
        root=str(root),
        **{**CODES, **options},
    )


def expected_samples(reference: str) -> np.ndarray:
    """Values of the 60 samples from 30 s before ``reference``."""
    seconds = (np.datetime64(reference) - np.datetime64(reference[:10])).astype(int)
    first = int(seconds) - 30
    return ((first + np.arange(60)) % 1000).astype(np.float64)


@pytest.mark.parametrize("errors", ["raise", "ignore"])
def test_windows_decades_apart_read(root: Path, errors: str) -> None:
    dataset = windows(root, FAR_APART, errors=errors).load()

    assert dataset.sizes["window"] == 2
    assert dataset.window.values.tolist() == [
        np.datetime64(time, "ns").astype(int) for time in FAR_APART
    ]
    assert dataset.status.values.ravel().tolist() == ["ok", "ok"]
    for number, reference in enumerate(FAR_APART):
        samples = dataset.waveform.values[number, 0]
        assert np.array_equal(samples, expected_samples(reference)), reference


def test_cli_windows_decades_apart(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "windows.nc"

    code = main(
        [
            "export", "sage.miniseed", "--network", "XX", "--station", "STA",
            "--location", "00", "--channel", "BHZ", "--root", str(root),
            "--time", FAR_APART[0], "--time", FAR_APART[1],
            "--before", "30", "--after", "30", "--no-progress", str(output),
        ]
    )  # fmt: skip

    assert code == EXIT_OK, capsys.readouterr().err
    with xr.open_dataset(output) as written:
        assert written.status.values.ravel().tolist() == ["ok", "ok"]
        keys = written.attrs["keys"].splitlines()
    assert any(line.endswith(key("2000-01-01")) for line in keys)
    assert any(line.endswith(key("2025-11-10")) for line in keys)


def test_day_request_span_names_start_end(root: Path) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        open_waveforms(
            collection_spec("sage"),
            start="2000-01-01",
            end="2025-11-10",
            root=str(root),
            **CODES,
        )

    message = str(raised.value)
    assert "start=2000-01-01T00:00:00" in message
    assert "end=2025-11-10T00:00:00" in message
    assert "7320 days" in message


def test_windows_without_objects_one_fix(root: Path) -> None:
    """The error names each key tried and the fix once, and the fix works."""
    times = ["2025-11-20T12:00:00", "2025-12-20T12:00:00"]

    with pytest.raises(ObjectNotFoundError) as raised:
        windows(root, times)
    fixed = windows(root, times, sampling_rate=1.0, errors="ignore").load()

    message = str(raised.value)
    assert message.count("sampling_rate=") == 1
    assert message.count("inventory=") == 1
    assert "miniseed/XX/2025/324/STA.XX.2025.324" in message
    assert "miniseed/XX/2025/354/STA.XX.2025.354" in message
    assert "open the windows anyway" in message
    assert raised.value.__cause__ is None
    assert fixed.status.values.ravel().tolist() == ["missing", "missing"]


def test_windows_without_objects_name_later_days(root: Path) -> None:
    times = [f"2025-12-{day:02d}T12:00:00" for day in range(1, 15, 2)]

    with pytest.raises(ObjectNotFoundError) as raised:
        windows(root, times)

    message = str(raised.value)
    assert "first 5 groups of windows" in message
    assert "The 2 later groups were not searched." in message
    assert "miniseed/XX/2025/343/STA.XX.2025.343" in message
    assert "miniseed/XX/2025/345/STA.XX.2025.345" not in message


def test_windows_wildcard_without_objects(root: Path) -> None:
    with pytest.raises(ObjectNotFoundError) as raised:
        windows(root, ["2025-11-20T12:00:00"], station="S*")

    message = str(raised.value)
    assert "XX.S*.00.BHZ" in message
    assert "sampling_rate=" not in message
    assert "Check the codes, the times and the tier" in message


def test_windows_storage_and_keys(root: Path) -> None:
    dataset = windows(root, FAR_APART)

    assert dataset.attrs["storage"] == f"file://{root}"
    assert dataset.attrs["tier"] == f"mirror {root}"
    keys = dataset.attrs["keys"].splitlines()
    assert f"file://{root}/{key('2000-01-01')}" in keys
    assert f"file://{root}/{key('2025-11-10')}" in keys
    assert len(keys) == len(set(keys))


def test_windows_keys_once_per_object(root: Path) -> None:
    """Windows of one day, 192 in 3 chunks, list its object once."""
    times = [f"2025-11-10T{hour:02d}:{minute:02d}:00" for hour in range(4, 20)
             for minute in range(0, 60, 5)]  # fmt: skip

    dataset = windows(root, times)

    assert len(dataset.chunks["window"]) == 3
    assert dataset.attrs["keys"] == f"file://{root}/{key('2025-11-10')}"
