"""Event windows over a channel whose sampling rate changes within the day.

The object of XX.STA for 2006-01-02 contains BHZ at 1 Hz until 12:00 and at
2 Hz after it, and BHN at 1 Hz all day. A window at 15:00 on the 1 Hz grid
leaves the 2 Hz records of BHZ out, and the read reports them as a day read
does.

The last test reads windows on days without objects, whose error names the
days it tried.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope import open_windows
from intake_earthscope.errors import ObjectNotFoundError, ReadOutcomeWarning

from conftest import collection_spec, mirror
from mseedgen import interleave, join, segment_bytes

KEY = "miniseed/XX/2006/002/STA.XX.2006.002"
LEFT_OUT = "records of XX.STA..BHZ at 2 Hz left out of the 1 Hz grid"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    half = np.arange(43_200, dtype=np.int32)
    day = np.arange(86_400, dtype=np.int32)
    bhz = join(
        segment_bytes("XX.STA..BHZ", "2006-01-02T00:00:00Z", half, 1.0),
        segment_bytes("XX.STA..BHZ", "2006-01-02T12:00:00Z", np.tile(half, 2), 2.0),
    )
    bhn = segment_bytes("XX.STA..BHN", "2006-01-02T00:00:00Z", day, 1.0)
    return mirror(tmp_path, {KEY: interleave(bhz, bhn)})


def windows(root: Path, errors: str) -> xr.Dataset:
    return open_windows(
        collection_spec("sage"),
        ["2006-01-02T06:00:00", "2006-01-02T15:00:00"],
        10.0,
        10.0,
        network="XX",
        station="STA",
        location="",
        channel="BHZ,BHN",
        sampling_rate=1.0,
        errors=errors,
        root=str(root),
    ).load()


def statuses(dataset: xr.Dataset, window: int) -> dict[str, str]:
    status = dataset.status.values[window].tolist()
    return dict(zip(dataset.channel.values.tolist(), status, strict=True))


def left_out_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [
        str(item.message)
        for item in caught
        if issubclass(item.category, ReadOutcomeWarning)
        and LEFT_OUT in str(item.message)
    ]


@pytest.mark.parametrize("errors", ["raise", "warn"])
def test_windows_warn_rate_left_out(root: Path, errors: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = windows(root, errors)

    texts = left_out_warnings(caught)
    assert len(texts) == 1
    assert KEY in texts[0]
    assert "sampling_rate=" in texts[0]
    assert statuses(dataset, 1) == {"BHZ": "rate_mismatch", "BHN": "ok"}
    assert statuses(dataset, 0) == {"BHZ": "ok", "BHN": "ok"}


def test_windows_ignore_logs_debug(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intake_earthscope")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = windows(root, "ignore")

    assert left_out_warnings(caught) == []
    assert any(LEFT_OUT in record.getMessage() for record in caplog.records)
    assert statuses(dataset, 1)["BHZ"] == "rate_mismatch"


@pytest.mark.parametrize(
    ("times", "groups"),
    [
        (["2006-01-05T06:00:00"], "no object exists for the windows' days,"),
        (
            ["2006-01-05T06:00:00", "2006-02-05T06:00:00"],
            "no object exists for the days of the first 2 groups of windows,",
        ),
    ],
)
def test_windows_without_objects_message(
    root: Path, times: list[str], groups: str
) -> None:
    with pytest.raises(ObjectNotFoundError) as raised:
        open_windows(
            collection_spec("sage"),
            times,
            10.0,
            10.0,
            network="XX",
            station="STA",
            location="",
            channel="BH?",
            root=str(root),
        )

    message = str(raised.value)
    assert groups in message
    assert "pass sampling_rate= with exact channel codes, or inventory=" in message


def test_windows_unmatched_codes_print_blank_location(root: Path) -> None:
    with pytest.raises(ObjectNotFoundError) as raised:
        open_windows(
            collection_spec("sage"),
            ["2006-01-05T06:00:00"],
            10.0,
            10.0,
            network="XX",
            station="NO*",
            location="",
            channel="BH?",
            root=str(root),
        )

    message = str(raised.value)
    assert "no object of sage.miniseed matches XX.NO*..BH? on file:" in message
