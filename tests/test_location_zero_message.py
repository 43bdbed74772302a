"""One message for location=0, from the v1 catalog, open_waveforms and the v2
catalog.

Each names the value, the parameter and the fix ('00' in quotes). intake's v1
catalog turns the number into the text '0' before the reader sees it, so
that message echoes '0'. Every request is rejected before any read.
"""

from __future__ import annotations

import warnings
from typing import Any

import intake
import pytest

from intake_earthscope.catalog import catalog_path
from intake_earthscope.codes import lost_zero_message
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError

from conftest import collection_spec

REQUEST: dict[str, Any] = {
    "network": "IU",
    "station": "ANMO",
    "start": "2024-01-01",
    "end": "2024-01-02",
}
FIX = "Pass location='00' as text"


def open_catalog(version: int) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Shell command not executed")
        return intake.open_catalog(str(catalog_path(version=version)))


def test_open_waveforms_message() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), location=0, **REQUEST)

    assert str(caught.value) == lost_zero_message("location", 0)
    assert str(caught.value).startswith("invalid location=0: ")
    assert str(caught.value).endswith(FIX)


def test_v1_catalog_message() -> None:
    cat = open_catalog(1)

    with pytest.raises(InvalidRequestError) as caught:
        cat.sage.miniseed(location=0, **REQUEST)

    assert str(caught.value) == lost_zero_message("location", "0")
    assert str(caught.value).endswith(FIX)


def test_v2_catalog_message() -> None:
    cat = open_catalog(2)

    with pytest.raises(InvalidRequestError) as caught:
        cat(location=0, **REQUEST)["sage_miniseed"]

    assert isinstance(caught.value, TypeError)
    assert str(caught.value) == lost_zero_message("location", 0)


def test_messages_differ_only_in_value() -> None:
    number = lost_zero_message("location", 0)
    text = lost_zero_message("location", "0")

    assert number.replace("=0:", "='0':") == text
    assert "location codes have two characters" in number


@pytest.mark.parametrize(("value", "fix"), [(7, "'07'"), (7.0, "'07'"), (12, "'12'")])
def test_message_fix_keeps_digits(value: object, fix: str) -> None:
    assert lost_zero_message("location", value).endswith(f"Pass location={fix} as text")


def test_other_code_number_message() -> None:
    message = lost_zero_message("network", 5)

    assert message.startswith("invalid network=5: SEED codes are text")
    assert message.endswith("Pass network='5' as text")
