"""A request without any object raises under every errors= policy, with the reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.errors import MissingObjectsError, ObjectNotFoundError

import mseedgen
from conftest import collection_spec, mirror

KEY = "miniseed/XX/2024/001/STA.XX.2024.001"


def one_day_mirror(tmp_path: Path) -> Path:
    start = int(np.datetime64("2024-01-01", "ns").astype(np.int64))
    data = mseedgen.segment_bytes("XX.STA.00.LHZ", start, np.arange(600), 1.0)
    return mirror(tmp_path / "mirror", {KEY: data})


def open_day(root: Path, day: str, errors: str):
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="00",
        channel="LHZ",
        start=day,
        end=f"{day}T12:00:00",
        root=str(root),
        errors=errors,
    )


@pytest.mark.parametrize("errors", ["warn", "ignore"])
def test_policy_named_when_no_object(tmp_path: Path, errors: str) -> None:
    root = one_day_mirror(tmp_path)

    with pytest.raises(MissingObjectsError) as caught:
        open_day(root, "2024-01-05", errors)

    assert f"errors={errors!r} applies to reads once the dataset opens" in str(
        caught.value
    )


def test_raise_policy_adds_no_note(tmp_path: Path) -> None:
    root = one_day_mirror(tmp_path)

    with pytest.raises(MissingObjectsError) as caught:
        open_day(root, "2024-01-05", "raise")

    assert "applies to reads" not in str(caught.value)


def test_windows_policy_named_when_no_object(tmp_path: Path) -> None:
    root = one_day_mirror(tmp_path)

    with pytest.raises(ObjectNotFoundError) as caught:
        open_windows(
            collection_spec("sage"),
            ["2024-01-05T06:00:00"],
            10.0,
            10.0,
            network="XX",
            station="STA",
            location="00",
            channel="LHZ",
            root=str(root),
            errors="warn",
        )

    assert "errors='warn' applies to reads once the windows open" in str(caught.value)
