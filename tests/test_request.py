"""Request parameters: normalisation and errors raised before any I/O."""

from __future__ import annotations

import datetime as dt

import intake
import numpy as np
import pandas as pd
import pytest

from intake_earthscope.codes import SeedId, parse_codes, record_selection
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.request import WaveformRequest
from intake_earthscope.timeutil import format_ns, parse_time

from conftest import CATALOGS

DAY = {"start": "2024-01-01", "end": "2024-01-02"}


@pytest.mark.parametrize("blank", ["", "--", "  ", ["--"]])
def test_blank_location_forms(blank) -> None:
    assert parse_codes(blank, "location") == ("",)


def test_comma_list_and_case() -> None:
    assert parse_codes("anmo, COLA,ANMO", "station") == ("ANMO", "COLA")


def test_list_of_codes() -> None:
    assert parse_codes(["00", "--", "10"], "location") == ("00", "", "10")


def test_wildcards_are_kept() -> None:
    assert parse_codes("BH?,L*", "channel") == ("BH?", "L*")


@pytest.mark.parametrize(("number", "fix"), [(0, "00"), (0.0, "00"), (1, "01")])
def test_numeric_codes_rejected(number, fix: str) -> None:
    with pytest.raises(InvalidRequestError, match="drops the leading zero") as caught:
        parse_codes(number, "location")

    assert str(caught.value).startswith(f"invalid location={number!r}: ")
    assert str(caught.value).endswith(f"Pass location='{fix}' as text")


def test_boolean_code_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="expected a string") as caught:
        parse_codes(True, "location")

    assert "leading zero" not in str(caught.value)


def test_invalid_characters_rejected() -> None:
    with pytest.raises(InvalidRequestError, match=r"invalid channel code 'BH\.Z'"):
        parse_codes("BH.Z", "channel")


def test_overlong_channel_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="longer than 3"):
        parse_codes("BHZZ", "channel")


def test_empty_station_code_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="only the location code"):
        parse_codes("ANMO,,COLA", "station")


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01",
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00+01:00",
        dt.datetime(2024, 1, 1),
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        np.datetime64("2024-01-01"),
        pd.Timestamp("2024-01-01"),
    ],
)
def test_start_forms_are_utc(value) -> None:
    request = WaveformRequest.build(
        network="IU", station="ANMO", start=value, end="2024-01-02"
    )
    assert request.start_ns == pd.Timestamp("2024-01-01").value


def test_end_before_start_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="is not after start"):
        WaveformRequest.build(
            network="IU", station="ANMO", start="2024-01-02", end="2024-01-01"
        )


def test_unparseable_time_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="invalid start='yesterday'"):
        WaveformRequest.build(
            network="IU", station="ANMO", start="yesterday", end="2024-01-01"
        )


@pytest.mark.parametrize("text", ["10/11/2025", "Nov 10 2025", "2025.11.10"])
def test_non_iso_time_rejected(text: str) -> None:
    """Month-first or worded dates are refused instead of guessed."""
    with pytest.raises(InvalidRequestError, match="expected an ISO 8601 time"):
        parse_time(text, "start")


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2025-314", "2025-11-10T00:00:00Z"),
        ("2024-060", "2024-02-29T00:00:00Z"),
        ("2025-314T12:30:00Z", "2025-11-10T12:30:00Z"),
        ("20251110", "2025-11-10T00:00:00Z"),
    ],
)
def test_iso_ordinal_and_basic_dates(text: str, iso: str) -> None:
    assert format_ns(parse_time(text, "start")) == iso


def test_day_of_year_past_end_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="day of year 366 is not in 2025"):
        parse_time("2025-366", "start")


def test_missing_network_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="missing network"):
        WaveformRequest.build(station="ANMO", **DAY)


def test_errors_policy_checked() -> None:
    with pytest.raises(InvalidRequestError, match="invalid errors='skip'"):
        WaveformRequest.build(network="IU", station="ANMO", errors="skip", **DAY)


@pytest.mark.parametrize("rate", [-1, "fast", float("nan")])
def test_sampling_rate_checked(rate) -> None:
    with pytest.raises(InvalidRequestError, match="sampling_rate"):
        WaveformRequest.build(network="IU", station="ANMO", sampling_rate=rate, **DAY)


def test_catalog_rejects_bad_code_before_io() -> None:
    # No server runs in this test: the error must come before any request.
    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    with pytest.raises(InvalidRequestError, match="invalid channel code"):
        cat.sage.miniseed(network="IU", station="ANMO", channel="B.HZ", **DAY)


def test_catalog_list_parameter_accepted() -> None:
    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    source = cat.sage.miniseed(network="IU", station=["ANMO", "COLA"], **DAY)
    assert source.request.station == ("ANMO", "COLA")


def test_catalog_entry_without_parameters() -> None:
    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    source = cat.sage.miniseed
    with pytest.raises(
        InvalidRequestError, match="missing network=, station=, start= and end="
    ):
        source.to_dask()


def test_record_selection_merges_codes() -> None:
    ids = [SeedId("IU", "ANMO", "00", "BHZ"), SeedId("IU", "ANMO", "00", "BHN")]
    assert record_selection(ids) == "FDSN:IU_ANMO_00_B_H_?"


def test_record_selection_mixed_locations() -> None:
    ids = [SeedId("IU", "ANMO", "00", "BHZ"), SeedId("IU", "ANMO", "", "BHZ")]
    assert record_selection(ids) == "FDSN:IU_ANMO_*_B_H_Z"
