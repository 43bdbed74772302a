"""Parameter values outside their choices, and codes in lower case.

intake checks a v1 catalog parameter's ``allowed`` list before the value
reaches this package, so ``errors="loud"`` there raises intake's
ValueError. A tier name is checked by this package in both catalog
formats. Codes are matched case-insensitively and the dataset names the
traces in upper case.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import intake
import pytest

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import CatalogError, InvalidRequestError

from conftest import CATALOGS, OBSPY_MSEED_DATA, collection_spec, mirror

REQUEST: dict[str, Any] = {
    "network": "CH",
    "station": "BALST",
    "location": "",
    "channel": "LHZ",
    "start": "2025-11-10",
    "end": "2025-11-11",
}
BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
SAGE_TIERS = "['open', 'restricted', 'fdsn', 'auto']"


@pytest.fixture(scope="module")
def cat() -> Any:
    return intake.open_catalog(str(CATALOGS / "earthscope.yaml"))


@pytest.fixture(scope="module")
def cat_v2() -> Any:
    return intake.open_catalog(str(CATALOGS / "earthscope_v2.yaml"))


def miniseed(cat: Any, **parameters: Any) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        return cat.sage.miniseed(**{**REQUEST, **parameters})


def test_v1_unknown_tier_invalid_request(cat: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        miniseed(cat, tier="s3")

    message = str(caught.value)
    assert not isinstance(caught.value, CatalogError)
    assert "invalid tier='s3' for collection 'sage.miniseed'" in message
    assert SAGE_TIERS in message
    assert "'' for its default tier 'auto'" in message


def test_v2_unknown_tier_invalid_request(cat_v2: Any, tmp_path: Path) -> None:
    reader = cat_v2.sage_miniseed(**REQUEST, tier="s3", root=str(tmp_path))

    with pytest.raises(InvalidRequestError) as caught:
        reader.read()

    assert not isinstance(caught.value, CatalogError)
    assert "invalid tier='s3'" in str(caught.value)
    assert SAGE_TIERS in str(caught.value)


def test_open_waveforms_unknown_tier(tmp_path: Path) -> None:
    spec = collection_spec("sage")

    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(spec, **REQUEST, tier="s3", root=str(tmp_path))

    assert not isinstance(caught.value, CatalogError)
    assert "invalid tier='s3'" in str(caught.value)
    assert SAGE_TIERS in str(caught.value)


@pytest.mark.parametrize("tier", ["", "auto", "open", "fdsn"])
def test_v1_known_tiers_accepted(cat: Any, tier: str) -> None:
    assert miniseed(cat, tier=tier).tier == (tier or "auto")


def test_v1_errors_choice_checked_by_intake(cat: Any) -> None:
    # intake 2.0.9 validates `allowed` before building the source; the guide
    # documents this ValueError, which is not an InvalidRequestError.
    with pytest.raises(ValueError, match="errors=loud is not one of the allowed"):
        miniseed(cat, errors="loud")


def test_v2_errors_choice_invalid_request(cat_v2: Any) -> None:
    expected = r"invalid errors='loud': expected one of \['raise', 'warn', 'ignore'\]"
    with pytest.raises(InvalidRequestError, match=expected):
        cat_v2.sage_miniseed(**REQUEST, errors="loud").read()


def test_v2_catalog_call_errors_named(cat_v2: Any) -> None:
    """The catalog call checks its choices itself and names the parameter."""
    expected = r"invalid errors='loud': expected one of \['raise', 'warn', 'ignore'\]"
    with pytest.raises(InvalidRequestError, match=expected):
        _ = cat_v2(**REQUEST, errors="loud").sage_miniseed


def test_lowercase_codes_read_upper_ids(cat: Any, tmp_path: Path) -> None:
    root = mirror(tmp_path, {KEY: BALST.read_bytes()})
    codes = {"network": "ch", "station": "balst", "location": "--", "channel": "lh?"}

    dataset = miniseed(cat, root=str(root), **codes).read()

    assert list(dataset.trace.values) == ["CH.BALST..LHE", "CH.BALST..LHZ"]
    assert set(dataset.station.values) == {"BALST"}
    assert set(dataset.network.values) == {"CH"}
    assert (dataset.status.values == "ok").all()


@pytest.mark.parametrize("tier", ["Open", " https", "ftp"])
def test_gnss_unknown_tier_invalid_request(cat: Any, tier: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        cat.gage.rinex_obs(
            station="P041", start="2024-01-01", end="2024-01-02", tier=tier
        )

    assert not isinstance(caught.value, CatalogError)
    assert f"invalid tier={tier!r}" in str(caught.value)


def test_stations_unknown_tier_invalid_request(cat: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        cat.sage.stations(tier="Open")

    assert "invalid tier='Open'" in str(caught.value)
