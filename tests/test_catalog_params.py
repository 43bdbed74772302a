"""Tests of catalog parameters given as None, as bad text or under obspy names.

The sources are built only: building one checks its parameters and reads
nothing, so no archive or server is needed.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import intake
import pytest

from intake_earthscope.errors import InvalidRequestError

V1_CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "earthscope.yaml"
V2_CATALOG = V1_CATALOG.with_name("earthscope_v2.yaml")
REQUEST: dict[str, Any] = {
    "network": "CH",
    "station": "BALST",
    "start": "2025-11-10",
    "end": "2025-11-11",
}


@pytest.fixture(scope="module")
def cat() -> Any:
    return intake.open_catalog(str(V1_CATALOG))


def miniseed(cat: Any, archive: str = "sage", **parameters: Any) -> Any:
    """Build an archive's miniseed source with REQUEST and ``parameters``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        return cat[archive].miniseed(**REQUEST, **parameters)


def test_water_level_none_disables_it(cat: Any) -> None:
    source = miniseed(cat, remove_response="velocity", water_level=None)
    assert source._response_options.water_level is None


def test_water_level_text_none_disables_it(cat: Any) -> None:
    source = miniseed(cat, remove_response="velocity", water_level="none")
    assert source._response_options.water_level is None


def test_water_level_default_is_60(cat: Any) -> None:
    source = miniseed(cat, remove_response="velocity")
    assert source._response_options.water_level == 60.0


def test_water_level_number_kept(cat: Any) -> None:
    source = miniseed(cat, remove_response="velocity", water_level=30)
    assert source._response_options.water_level == 30.0


def test_sampling_rate_none_learns_it(cat: Any) -> None:
    assert miniseed(cat, sampling_rate=None).request.sampling_rate is None


def test_sampling_rate_number_kept(cat: Any) -> None:
    assert miniseed(cat, sampling_rate=40).request.sampling_rate == 40.0


def test_remove_response_none_keeps_counts(cat: Any) -> None:
    assert miniseed(cat, remove_response=None)._response_options is None


def test_tier_none_is_default(cat: Any) -> None:
    assert miniseed(cat, tier=None).tier == "auto"


def test_network_none_is_missing(cat: Any) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        source = cat.sage.miniseed(**{**REQUEST, "network": None})
    with pytest.raises(InvalidRequestError, match="missing network"):
        _ = source.request


@pytest.mark.parametrize(
    "name", ["water_level", "sampling_rate", "remove_response", "tier"]
)
def test_v2_none_reaches_reader(name: str) -> None:
    cat = intake.open_catalog(str(V2_CATALOG))
    reader = cat(**REQUEST, **{name: None}).sage_miniseed
    assert reader.kwargs["request"][name] is None


@pytest.mark.parametrize("name", ["starttime", "endtime"])
def test_obspy_time_name_hints_start(cat: Any, name: str) -> None:
    hint = f"unknown parameter {name}: use start= and end="
    with pytest.raises(TypeError, match=hint):
        miniseed(cat, **{name: "2025-11-10"})


def test_sampling_rate_text_names_parameter(cat: Any) -> None:
    message = "invalid sampling_rate='abc': expected samples per second"
    with pytest.raises(InvalidRequestError, match=message):
        miniseed(cat, sampling_rate="abc")


def test_v2_read_hints_start() -> None:
    cat = intake.open_catalog(str(V2_CATALOG))
    reader = cat(**REQUEST).sage_miniseed
    with pytest.raises(TypeError, match="unknown parameter starttime: use start="):
        reader.read(starttime="2025-11-10")
