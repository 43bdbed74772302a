"""Tests of the warning for v2 catalog parameters that the chosen entry ignores.

intake passes every value of ``cat(name=value)`` to every entry, so the v2
catalog checks each entry it opens. Opening an entry reads nothing, so no
archive or server is needed.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import intake
import pytest
import yaml

from intake_earthscope.errors import IgnoredParameterWarning

V2_CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "earthscope_v2.yaml"
V2_YAML = yaml.safe_load(V2_CATALOG.read_text())
ENTRIES = sorted(V2_YAML["entries"])
PARAMETERS = sorted(V2_YAML["user_parameters"])


@pytest.fixture(scope="module")
def cat() -> Any:
    return intake.open_catalog(str(V2_CATALOG))


def ignored_warnings(cat: Any, entry: str, **values: Any) -> list[str]:
    """Open ``entry`` after ``cat(**values)`` and return the warnings it emits."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cat(**values)[entry]
    return [
        str(caught_warning.message)
        for caught_warning in caught
        if issubclass(caught_warning.category, IgnoredParameterWarning)
    ]


def test_unused_channel_warns_once(cat: Any) -> None:
    messages = ignored_warnings(cat, "noaa_cors_rinex_obs", channel="L1")

    assert len(messages) == 1
    assert "catalog entry 'noaa_cors_rinex_obs' does not use channel" in messages[0]
    assert "ignores channel='L1' set in the catalog call" in messages[0]
    assert "uses station, start, end, variant, errors, tier." in messages[0]
    assert "Leave the other parameters at their defaults" in messages[0]


def test_several_unused_in_one_warning(cat: Any) -> None:
    messages = ignored_warnings(
        cat, "sage_stations", start="2024-01-01", water_level=10, station="ANMO"
    )

    assert len(messages) == 1
    assert "does not use start or water_level" in messages[0]
    assert "start='2024-01-01T00:00:00+00:00'" in messages[0]
    assert "water_level=10.0" in messages[0]
    assert "station=" not in messages[0]


def test_warning_points_at_caller(cat: Any) -> None:
    with pytest.warns(IgnoredParameterWarning) as record:
        cat(frame="igs14")["sage_miniseed"]

    assert record[0].filename == __file__


@pytest.mark.parametrize("entry", ENTRIES)
def test_defaults_given_do_not_warn(cat: Any, entry: str) -> None:
    defaults = {name: cat.user_parameters[name].default for name in PARAMETERS}

    assert ignored_warnings(cat, entry, **defaults) == []


def test_default_in_other_case_does_not_warn(cat: Any) -> None:
    assert ignored_warnings(cat, "sage_miniseed", frame="NAM14") == []


@pytest.mark.parametrize("entry", ENTRIES)
def test_used_parameters_do_not_warn(cat: Any, entry: str) -> None:
    request = V2_YAML["entries"][entry]["kwargs"]["request"]
    values = {name: "2024-01-01" for name in request if name in ("start", "end")}
    values.update({name: "X" for name in request if name in ("station", "network")})

    assert values
    assert ignored_warnings(cat, entry, **values) == []


@pytest.mark.parametrize("entry", ENTRIES)
def test_check_matches_entry_request(entry: str) -> None:
    check = V2_YAML["data"][f"{entry}_parameter_check"]["kwargs"]
    request = V2_YAML["entries"][entry]["kwargs"]["request"]

    assert check["entry"] == entry
    assert check["uses"] == list(request)
    assert sorted(check["parameters"]) == PARAMETERS


@pytest.mark.parametrize("entry", ENTRIES)
def test_check_not_passed_to_reader(cat: Any, entry: str) -> None:
    reader = cat[entry]

    assert "ignored_parameter_check" not in reader.kwargs
