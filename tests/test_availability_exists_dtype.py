"""The ``exists`` column of availability tables stays boolean.

A request routed to two tiers builds one table per tier and concatenates
them. A tier that finds no trace gives an empty table, and pandas 3 no
longer skips empty frames when it picks the dtype of a concatenated
column. An object ``exists`` column inverts ``True`` to ``-2``, so
``table.loc[~table["exists"]]`` raises KeyError. The moto server contains the
SAGE open bucket with XX.STA and an empty restricted bucket. The caller's
own credentials sign the restricted reads, and the unsigned token only makes
routing choose that tier, so nothing sends it anywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from intake_earthscope.availability import availability

import mseedgen
from conftest import collection_spec, publish
from loopback_http import fake_jwt

KEY = "miniseed/XX/2024/{doy}/STA.XX.2024.{doy}"
REQUEST = {"station": "*", "start": "2024-01-01", "end": "2024-01-03"}


def station_day(day: str) -> bytes:
    samples = np.arange(120, dtype=np.int32)
    return mseedgen.segment_bytes("XX.STA.00.BHZ", f"{day}T00:00:00Z", samples, 1.0)


def routed_table(s3) -> pd.DataFrame:
    """Return the table of XX (open tier, one day) and YY (restricted, none)."""
    publish(s3, "sage", {KEY.format(doy="001"): station_day("2024-01-01")})
    publish(s3, "sage", {}, tier="restricted")
    return availability(
        collection_spec("sage"),
        network="XX,YY",
        **REQUEST,
        tier="auto",
        storage_options={"key": "testing", "secret": "testing"},
        token=fake_jwt(),
    )


def test_two_tiers_exists_bool(s3) -> None:
    table = routed_table(s3)

    assert table["exists"].dtype == np.dtype(bool)
    assert list(table["exists"]) == [True, False]
    missing = table.loc[~table["exists"], "day"]
    assert list(missing) == [pd.Timestamp("2024-01-02")]


def test_empty_table_exists_bool(s3) -> None:
    publish(s3, "sage", {})

    table = availability(collection_spec("sage"), network="XX", **REQUEST, tier="open")

    assert len(table) == 0
    assert table["exists"].dtype == np.dtype(bool)
