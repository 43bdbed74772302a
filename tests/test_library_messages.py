"""Messages of rejected arguments of the library functions.

Each request is rejected before any I/O: the S3 endpoint of every test is a
closed loopback port.
"""

from __future__ import annotations

from typing import Any

import intake
import numpy as np
import pandas as pd
import pytest

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.windows import open_windows, window_offsets

from conftest import CATALOGS, collection_spec

CODES = {"network": "IU", "station": "ANMO", "location": "00", "channel": "BHZ"}
TIMES = ["2024-01-01T03:00"]

# NaN offsets as a number, a NumPy scalar, text and a missing timedelta.
NAN_OFFSETS = [
    float("nan"),
    np.float32("nan"),
    "nan",
    pd.NaT,
    np.timedelta64("NaT"),
]


@pytest.fixture
def cat() -> Any:
    return intake.open_catalog(str(CATALOGS / "earthscope.yaml"))


# A NaN before= or after= is named as such, with the fix.


@pytest.mark.parametrize("value", NAN_OFFSETS, ids=repr)
@pytest.mark.parametrize("name", ["before", "after"])
def test_offsets_nan_named(name: str, value: object) -> None:
    offsets = {"before": 60, "after": 60, name: value}

    with pytest.raises(InvalidRequestError) as caught:
        window_offsets(offsets["before"], offsets["after"])

    message = str(caught.value)
    assert f"invalid {name}=" in message
    assert "is not a duration" in message
    assert f"such as {name}=60" in message
    assert "fill or drop" in message
    assert "at or above 0. " not in message


def test_open_windows_nan_before() -> None:
    with pytest.raises(InvalidRequestError, match="NaN is not a duration"):
        open_windows(collection_spec("sage"), TIMES, float("nan"), 60, **CODES)


def test_open_windows_nan_after() -> None:
    with pytest.raises(InvalidRequestError, match="count forward"):
        open_windows(collection_spec("sage"), TIMES, 60, float("nan"), **CODES)


@pytest.mark.parametrize("name", ["before", "after"])
def test_source_windows_nan(cat: Any, name: str) -> None:
    source = cat.sage.miniseed(**CODES, tier="open")
    offsets = {"before": 60, "after": 60, name: float("nan")}

    with pytest.raises(InvalidRequestError) as caught:
        source.windows(TIMES, **offsets)

    assert f"invalid {name}=nan: NaN is not a duration" in str(caught.value)


def test_offsets_infinity_still_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="expected seconds at or above 0"):
        window_offsets(float("inf"), 60)
