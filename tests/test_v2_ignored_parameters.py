"""The warning of the v2 catalog about parameters an entry does not use.

A call may give a parameter the value its default means: the default
itself, an equal number, or None where the readers read None as that
default. Such a call sets nothing the entry could ignore, so it must not
warn. The suite turns this package's warnings into errors.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import intake
import numpy as np
import pytest

from intake_earthscope.errors import IgnoredParameterWarning

V2_CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "earthscope_v2.yaml"

# Values the readers read as the parameter's default.
DEFAULT_VALUES = [
    {"sampling_rate": None},
    {"sampling_rate": 0},
    {"sampling_rate": np.float64(0.0)},
    {"tier": None},
    {"remove_response": None},
    {"water_level": 60},
    {"start": None, "end": None},
    {"errors": "raise"},
]


@pytest.mark.parametrize("values", DEFAULT_VALUES, ids=str)
def test_default_values_no_warning(values: dict[str, object]) -> None:
    catalog = intake.open_catalog(str(V2_CATALOG))

    entry = catalog(**values).sage_stations

    assert entry is not None


@pytest.mark.parametrize(
    "values",
    [
        {"water_level": None},
        {"sampling_rate": 20.0},
        {"start": dt.datetime(2024, 1, 1)},
        {"pre_filt": None},
    ],
    ids=str,
)
def test_set_values_warn(values: dict[str, object]) -> None:
    """None of water_level means no water level, and None of pre_filt
    arrives as the text 'None', so both differ from the default."""
    catalog = intake.open_catalog(str(V2_CATALOG))

    with pytest.warns(IgnoredParameterWarning, match="'sage_stations'") as caught:
        entry = catalog(**values).sage_stations

    assert entry is not None
    assert len(caught) == 1
    for name in values:
        assert name in str(caught[0].message)
