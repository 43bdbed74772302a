"""Attacks on the checks of argument names: long values and secrets.

Every call fails before any I/O.
"""

from __future__ import annotations

from typing import Any

import intake
import pandas as pd
import pytest

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import UnknownArgumentError
from intake_earthscope.windows import open_windows

from conftest import CATALOGS, collection_spec

CODES = {"network": "IU", "station": "ANMO", "location": "00", "channel": "BHZ"}

# A column of an event catalog, as a user may pass it under obspy's name.
TIMES = [str(stamp) for stamp in pd.date_range("2024-01-01", periods=5000, freq="h")]


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param({"starttime": TIMES, "end": "2024-01-02"}, id="starttime-list"),
        pytest.param({"starttime": "2024-01-01", "endtime": TIMES}, id="endtime-list"),
        pytest.param(
            {"net": ["I" * 10] * 5000, "start": "2024-01-01", "end": "2024-01-02"},
            id="net-list",
        ),
    ],
)
def test_misnamed_long_value_cut(arguments: dict[str, Any]) -> None:
    codes = {name: value for name, value in CODES.items() if name != "network"}
    if "net" not in arguments:
        codes["network"] = "IU"

    with pytest.raises(UnknownArgumentError) as caught:
        open_waveforms(collection_spec("sage"), **codes, **arguments)

    message = str(caught.value)
    assert "The value needs a fix too" in message
    assert len(message) < 1_000, message[:2_000]


SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
REQUEST = {**CODES, "start": "2024-01-01", "end": "2024-01-02"}


def v2_reader() -> Any:
    catalog = intake.open_catalog(str(CATALOGS / "earthscope_v2.yaml"))
    return catalog(**REQUEST).sage_miniseed


def v1_source() -> Any:
    catalog = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    return catalog.sage.miniseed(**REQUEST)


SECRET_CALLS = {
    "open_waveforms-tokn": lambda: open_waveforms(
        collection_spec("sage"), **REQUEST, tokn=SECRET
    ),
    "open_waveforms-storage_option": lambda: open_waveforms(
        collection_spec("sage"), **REQUEST, storage_option={"secret": SECRET}
    ),
    "open_windows-key": lambda: open_windows(
        collection_spec("sage"), ["2024-01-01"], 1, 1, **CODES, key=SECRET
    ),
    "v1-source-password": lambda: v1_source().to_dask(password=SECRET),
    "v1-windows-token": lambda: v1_source().windows(["2024-01-01"], 1, 1, token=SECRET),
    "v2-read-tokn": lambda: v2_reader().read(tokn=SECRET),
    "v2-request-token": lambda: v2_reader().read(request={"token": SECRET}),
}


@pytest.mark.parametrize("call", SECRET_CALLS.values(), ids=SECRET_CALLS.keys())
def test_misnamed_secret_not_shown(call: Any) -> None:
    with pytest.raises(UnknownArgumentError) as caught:
        call()

    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
