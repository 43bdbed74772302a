"""Tests of the v2 catalog's code parameters given values that are not text.

Building an entry checks its parameters and reads nothing, so no archive or
server is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import intake
import pytest

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.v2 import CodesParameter

V2_CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "earthscope_v2.yaml"
CODE_EXAMPLES = {
    "network": "network='IU'",
    "station": "station='ANMO'",
    "location": "location='00'",
    "channel": "channel='BH?,HH?'",
}


@pytest.fixture(scope="module")
def cat() -> Any:
    return intake.open_catalog(str(V2_CATALOG))


@pytest.mark.parametrize("name", sorted(CODE_EXAMPLES))
def test_number_code_names_parameter(cat: Any, name: str) -> None:
    with pytest.raises(TypeError) as raised:
        cat(**{name: 5})["sage_miniseed"]

    message = str(raised.value)
    assert message.startswith(f"invalid {name}=5: ")
    if name == "channel":
        # No number is a channel code, so the message gives an example.
        assert "channel='BHZ'" in message
        return
    fix = "05" if name == "location" else "5"
    assert message.endswith(f"Pass {name}='{fix}' as text")
    assert "leading zero" in message


@pytest.mark.parametrize("name", sorted(CODE_EXAMPLES))
def test_mixed_list_names_parameter(cat: Any, name: str) -> None:
    with pytest.raises(TypeError) as raised:
        cat(**{name: ["IU", 1]})["sage_stations"]

    message = str(raised.value)
    # The number in the list gets the message of a number, as in the readers.
    assert message.startswith(f"invalid {name}=1: ")


@pytest.mark.parametrize("value", ["numpy", "list"])
def test_numpy_number_gets_lost_zero_message(cat: Any, value: str) -> None:
    """A NumPy number, such as a cell of a table read without dtype=str, gets
    the message of a Python number."""
    numpy = pytest.importorskip("numpy")
    code = numpy.int64(0) if value == "numpy" else [numpy.int64(0)]

    with pytest.raises(InvalidRequestError) as raised:
        cat(location=code)["sage_miniseed"]

    assert "Pass location='00' as text" in str(raised.value)


@pytest.mark.parametrize("name", sorted(CODE_EXAMPLES))
def test_number_code_is_invalid_request(cat: Any, name: str) -> None:
    """A code given as a number is a rejected request (a ValueError), like
    every invalid parameter in the guide, and still a TypeError."""
    with pytest.raises(InvalidRequestError) as raised:
        cat(**{name: 0})["sage_miniseed"]

    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, TypeError)


def test_unnamed_parameter_keeps_message() -> None:
    parameter = CodesParameter("")

    with pytest.raises(TypeError, match="invalid SEED codes 3: give the codes as text"):
        parameter.set_default(3)


def test_text_and_lists_still_accepted(cat: Any) -> None:
    reader = cat(network="IU", channel=["BHZ", "HH?"]).sage_miniseed
    request = reader.kwargs["request"]

    assert request["network"] == "IU"
    assert request["channel"] == ["BHZ", "HH?"]
