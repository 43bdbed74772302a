"""Messages of requests that cannot open although sampling_rate= or errors= is given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from intake_earthscope import open_waveforms
from intake_earthscope.errors import (
    ChannelNotFoundError,
    DecodeError,
    MissingObjectsError,
)

import mseedgen
from conftest import collection_spec, mirror

KEY = "miniseed/XX/2024/001/STA.XX.2024.001"


def open_day(root: Path, day: str, **options: object):
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="00",
        start=day,
        end=f"{day}T12:00:00",
        root=str(root),
        **{"channel": "LHZ", "errors": "warn", **options},
    )


def test_given_rate_not_called_unknown(tmp_path: Path) -> None:
    start = int(np.datetime64("2024-01-01", "ns").astype(np.int64))
    data = mseedgen.segment_bytes("XX.STA.00.LHZ", start, np.arange(600), 1.0)
    root = mirror(tmp_path / "mirror", {KEY: data})

    with pytest.raises(MissingObjectsError) as caught:
        open_day(root, "2024-01-05", channel="LH?", sampling_rate=1.0)

    assert "the rate are unknown" not in str(caught.value)
    assert "the channels are unknown" in str(caught.value)


@pytest.mark.parametrize("errors", ["raise", "warn"])
def test_object_not_miniseed_named(tmp_path: Path, errors: str) -> None:
    root = mirror(tmp_path / "mirror", {KEY: b"not a miniSEED record " * 50})

    with pytest.raises(ChannelNotFoundError) as caught:
        open_day(root, "2024-01-01", errors=errors)

    assert "check the archive" in str(caught.value)
    assert "sampling_rate=" in str(caught.value)


def test_advice_for_unreadable_object_works(tmp_path: Path) -> None:
    root = mirror(tmp_path / "mirror", {KEY: b"not a miniSEED record " * 50})

    with pytest.warns(UserWarning, match="invalid miniSEED"):
        dataset = open_day(root, "2024-01-01", sampling_rate=1.0).load()

    assert (dataset.status.values == "unreadable").all()


def test_unreadable_advice_names_exact_codes(tmp_path: Path) -> None:
    root = mirror(tmp_path / "mirror", {KEY: bytes(4096)})

    # The caller followed the advice but kept a wildcard channel.
    with pytest.raises(DecodeError) as caught:
        open_day(root, "2024-01-01", channel="LH?", sampling_rate=1.0)

    assert "not readable miniSEED" in str(caught.value)
    assert "exact channel codes" in str(caught.value)
