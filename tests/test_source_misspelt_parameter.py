"""A misspelt parameter of a v1 catalog entry gets the closest name.

The v2 catalog and open_waveforms suggest the closest parameter; the v1
entry pointed at describe() only, which lists every parameter.
"""

from __future__ import annotations

import pytest

from intake_earthscope.errors import UnknownArgumentError

from conftest import CATALOGS


def open_entry(**arguments: object) -> object:
    import intake

    catalog = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    return catalog.sage.miniseed(
        network="IU", start="2024-01-01", end="2024-01-02", **arguments
    )


def test_misspelt_parameter_suggested() -> None:
    with pytest.raises(UnknownArgumentError) as raised:
        open_entry(stattion="ANMO")

    message = str(raised.value)
    assert "unknown parameter stattion: did you mean station=?" in message
    assert "run describe() on the catalog entry" in message


def test_unlike_parameter_points_at_describe() -> None:
    with pytest.raises(UnknownArgumentError) as raised:
        open_entry(bogus=1)

    message = str(raised.value)
    assert "did you mean" not in message
    assert "run describe() on the catalog entry for its parameters" in message
