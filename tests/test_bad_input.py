"""Bad requests raise a clear error before any I/O.

Every case runs with S3 requests aimed at a recording proxy, which must
have seen no request when the error is raised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import intake
import pytest

from intake_earthscope.collection import Collection
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import CatalogError, InvalidRequestError

from conftest import CATALOGS, CLOSED_PORT_URL, collection_spec
from faultproxy import FaultProxy

REQUEST = dict(
    network="IU",
    station="ANMO",
    location="00",
    channel="BHZ",
    start="2024-01-01",
    end="2024-01-02",
    tier="open",
)

# (case, changed parameters, error class, text the message must contain)
CASES = [
    ("unknown tier", {"tier": "nosuch"}, InvalidRequestError, "invalid tier='nosuch'"),
    ("absurd span", {"start": "1900-01-01", "end": "2100-01-01"}, None, "split"),
    ("fifty years", {"start": "1980-01-01", "end": "2030-01-01"}, None, "7320 days"),
    ("reversed times", {"start": "2024-01-02", "end": "2024-01-01"}, None, "not after"),
    ("empty window", {"end": "2024-01-01"}, None, "is not after start"),
    ("month 13", {"start": "2024-13-01"}, None, "invalid start='2024-13-01'"),
    ("word for time", {"start": "yesterday"}, None, "invalid start='yesterday'"),
    ("bare number time", {"end": 1.5}, None, "bare number is ambiguous"),
    ("epoch seconds", {"start": 1704067200}, None, "bare number is ambiguous"),
    ("time as list", {"start": ["2024-01-01"]}, None, "invalid start=["),
    ("time as bytes", {"start": b"2024-01-01"}, None, "invalid start=b"),
    ("year 2262", {"start": "2262-05-01", "end": "2262-06-01"}, None, "1678 to 2261"),
    ("missing end", {"end": None}, None, "missing end"),
    ("missing network", {"network": None}, None, "missing network"),
    ("empty station", {"station": ""}, None, "missing station"),
    ("numeric network", {"network": 5}, None, "leading zeros"),
    ("numeric location", {"location": 0}, None, "Pass location='00' as text"),
    ("one digit location", {"location": "0"}, None, "invalid location='0'"),
    ("dot in channel", {"channel": "BH.Z"}, None, "invalid channel code 'BH.Z'"),
    ("long channel", {"channel": "BHZZ"}, None, "longer than 3"),
    ("space in station", {"station": "AN MO"}, None, "invalid station code"),
    ("empty list item", {"station": "ANMO,,COLA"}, None, "only the location code"),
    ("non-ASCII station", {"station": "ß"}, None, "ASCII"),
    ("set of stations", {"station": {"ANMO"}}, None, "list or tuple"),
    ("number in list", {"station": ["ANMO", 5]}, None, "Pass station='5' as text"),
    ("errors as number", {"errors": 1}, None, "invalid errors=1"),
    ("errors None", {"errors": None}, None, "invalid errors=None"),
    ("unknown errors", {"errors": "skip"}, None, "invalid errors='skip'"),
    ("negative rate", {"sampling_rate": -1}, None, "sampling_rate"),
    ("infinite rate", {"sampling_rate": float("inf")}, None, "sampling_rate=inf"),
    ("rate as word", {"sampling_rate": "fast"}, None, "sampling_rate"),
    ("rate as bool", {"sampling_rate": True}, None, "invalid sampling_rate"),
    ("negative tolerance", {"rate_tolerance": -1}, None, "between 0 and 0.01"),
    ("tolerance word", {"rate_tolerance": "x"}, None, "invalid rate_tolerance"),
    ("options not mapping", {"storage_options": "anon"}, None, "expected a mapping"),
    ("negative neighbour", {"neighbour_bytes": -5}, None, "neighbour_bytes=-5"),
    ("root as number", {"root": 123}, None, "invalid root"),
    ("root missing", {"root": "/nonexistent/mirror"}, None, "no such directory"),
    ("missing inventory", {"inventory": "/no/such.xml"}, None, "file not found"),
    ("root over ftp", {"root": "ftp://host/mirror"}, None, "object store URL"),
    ("two-letter channel", {"channel": "BH"}, None, "give 'BH?' or 'BH*'"),
    ("token as number", {"token": 5}, None, "invalid token of type int"),
    ("profile as number", {"profile": 5}, None, "invalid profile=5"),
]


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """Every S3 request of the test goes to this proxy, and from it to a
    closed port."""
    with FaultProxy(CLOSED_PORT_URL.rstrip("/")) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        yield proxy


@pytest.fixture(scope="module")
def cat():
    return intake.open_catalog(str(CATALOGS / "earthscope.yaml"))


@pytest.mark.parametrize(
    ("change", "error", "text"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_rejected_before_io(watched, change, error, text) -> None:
    parameters = dict(REQUEST, **change)

    with pytest.raises(error or InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), **parameters)

    assert text in str(caught.value)
    assert watched.seen == []


def test_cases_cover_thirty() -> None:
    assert len(CASES) >= 30
    assert len({case[0] for case in CASES}) == len(CASES)


def test_naive_time_is_utc(watched) -> None:
    # Naive times are read as UTC, as the guide documents: no error, no I/O.
    dataset = open_waveforms(
        collection_spec("sage"),
        **dict(REQUEST, start=dt.datetime(2024, 1, 1), sampling_rate=1),
    )

    assert dataset.attrs["request_start"] == "2024-01-01T00:00:00.000000000"
    assert watched.seen == []


def test_bad_key_template_before_io(watched) -> None:
    spec = dict(collection_spec("sage"), key_template="miniseed/{network}/{doy")

    with pytest.raises(CatalogError, match="key_template"):
        Collection.from_yaml(spec)

    assert watched.seen == []


def test_long_tier_name_rejected() -> None:
    spec = collection_spec("sage")
    tiers = dict(spec["tiers"])
    tiers["open_data_us_east_2"] = tiers.pop("open")
    spec = dict(spec, tiers=tiers, default_tier="open_data_us_east_2")

    with pytest.raises(CatalogError, match="invalid tier name 'open_data_us_east_2'"):
        Collection.from_yaml(spec)


@pytest.mark.parametrize(
    ("change", "error", "text"),
    [
        ({"channel": "B.HZ"}, InvalidRequestError, "invalid channel code"),
        ({"tier": "nosuch"}, InvalidRequestError, "invalid tier='nosuch'"),
        ({"end": "2023-01-01"}, InvalidRequestError, "is not after start"),
        ({"start": 5}, InvalidRequestError, "invalid start='5'"),
        # intake checks the YAML parameter types and choices itself.
        ({"errors": 3}, ValueError, "raise,warn,ignore"),
        ({"sampling_rate": "fast"}, ValueError, "'fast'"),
    ],
    ids=["code", "tier", "reversed", "number time", "errors", "rate type"],
)
def test_catalog_rejects_before_io(watched, cat, change, error, text) -> None:
    parameters = dict(REQUEST, **change)

    with pytest.raises(error) as caught:
        cat.sage.miniseed(**parameters)

    assert text in str(caught.value)
    assert watched.seen == []


@pytest.mark.parametrize("name", ["nosuch", "sage.nosuch"])
def test_unknown_entry_named(cat, name) -> None:
    with pytest.raises(KeyError, match=name.split(".")[-1]):
        cat[name]
