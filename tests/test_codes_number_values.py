"""Codes given as numbers of NumPy, as NaN or as fractions.

A pandas table read without dtype=str gives np.int64 cells, and a blank
location cell as NaN. Each must get the message that names the lost zero or
the blank code, not the generic one, and never advise passing 'nan' or
'inf' as a code.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from intake_earthscope.codes import lost_zero_message, parse_codes
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError

from conftest import collection_spec


def rejection(value: object, kind: str = "location") -> str:
    with pytest.raises(InvalidRequestError) as caught:
        parse_codes(value, kind)
    return str(caught.value)


@pytest.mark.parametrize("value", [np.int64(0), np.int32(0)])
def test_numpy_zero_location(value: object) -> None:
    assert rejection(value) == lost_zero_message("location", 0)


def test_numpy_float_location() -> None:
    assert rejection(np.float64(0.0)) == lost_zero_message("location", 0.0)


def test_table_cell_location() -> None:
    table = pd.read_csv(io.StringIO("location\n0\n"))
    cell = table["location"].iloc[0]

    message = rejection(cell)

    assert message.startswith("invalid location=0: ")
    assert message.endswith("Pass location='00' as text")


@pytest.mark.parametrize("value", [[0], (np.int64(0),)])
def test_number_in_list(value: object) -> None:
    assert rejection(value).endswith("Pass location='00' as text")


@pytest.mark.parametrize("value", [math.nan, np.float64("nan")])
def test_nan_location_names_blank(value: object) -> None:
    message = rejection(value)

    assert "location=''" in message
    assert "'nan'" not in message


@pytest.mark.parametrize("value", [math.inf, -math.inf, 0.5])
def test_no_code_advice(value: float) -> None:
    message = rejection(value, "station")

    assert f"station={value!r}" in message
    assert f"'{value}'" not in message
    assert "station='ANMO'" in message


def test_negative_zero_location() -> None:
    assert rejection(-0.0).endswith("Pass location='00' as text")


def test_bools_stay_generic() -> None:
    assert "expected a string" in rejection(np.bool_(True))


def test_open_waveforms_numpy_location() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(
            collection_spec("sage"),
            network="IU",
            station="ANMO",
            location=np.int64(10),
            start="2024-01-01",
            end="2024-01-02",
        )

    assert str(caught.value).endswith("Pass location='10' as text")


@pytest.mark.parametrize("value", [0, 7.0, np.int64(100)])
def test_number_channel_no_code_advice(value: float) -> None:
    message = rejection(value, "channel")

    assert "channel='BHZ'" in message
    assert f"channel='{int(value)}'" not in message
