"""Messages of the v2 catalog: misspelt call names and the blank location.

A misspelt name in the catalog call, such as ``cat(stattion="X")``, gets the
closest parameter name, as the v1 entries and ``open_waveforms`` give it. A
request with the blank location, given as ``"--"``, names its codes with an
empty location (``CH.BALST..LH?``), as SEED ids print elsewhere in the
package. The mirror is a local folder with one real BALST day.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import intake
import pytest

from intake_earthscope.catalog import catalog_path
from intake_earthscope.errors import MissingObjectsError, UnknownArgumentError
from intake_earthscope.v2 import CATALOG_CALL_NAMES

from conftest import OBSPY_MSEED_DATA

KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"


@pytest.fixture
def cat() -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        return intake.open_catalog(str(catalog_path(2)))


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    (tmp_path / KEY).parent.mkdir(parents=True)
    shutil.copy(OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels", tmp_path / KEY)
    return tmp_path


@pytest.mark.parametrize("entry", ["sage_miniseed", "scedc_stations", "sage_stations"])
def test_misspelt_call_name_suggests(cat: Any, entry: str) -> None:
    with pytest.raises(UnknownArgumentError) as raised:
        cat(stattion="X")[entry]

    message = str(raised.value)
    assert "the catalog call got unknown parameter stattion" in message
    assert "did you mean station=?" in message
    assert "cat.user_parameters" in message
    assert "'X'" not in message


def test_unlike_call_name_lists_parameters(cat: Any) -> None:
    with pytest.raises(UnknownArgumentError) as raised:
        cat(colour="red").sage_miniseed  # noqa: B018 (opening is under test)

    message = str(raised.value)
    assert "unknown parameter colour" in message
    assert "did you mean" not in message
    assert "cat.user_parameters" in message


def test_fdsn_call_name_keeps_rename(cat: Any) -> None:
    with pytest.raises(UnknownArgumentError) as raised:
        cat(starttime="2025-11-10").sage_miniseed  # noqa: B018 (opening is under test)

    assert "use start= and end= in place of obspy's starttime=" in str(raised.value)


def test_two_misspelt_names_each_suggested(cat: Any) -> None:
    with pytest.raises(UnknownArgumentError) as raised:
        cat(stattion="X", chanel="LHZ").sage_miniseed  # noqa: B018 (opening is under test)

    message = str(raised.value)
    assert "stattion: did you mean station=?" in message
    assert "chanel: did you mean channel=?" in message


def test_call_names_match_shipped_catalog(cat: Any) -> None:
    declared = {name for name in cat.user_parameters if not name.isupper()}

    assert set(CATALOG_CALL_NAMES) == declared


def test_blank_location_printed_empty(cat: Any, mirror: Path) -> None:
    request = cat(
        network="CH", station="NOPE*", location="--", channel="LH?",
        start="2025-11-10", end="2025-11-11",
    )  # fmt: skip

    with pytest.raises(MissingObjectsError) as raised:
        request.sage_miniseed.read(root=str(mirror))

    message = str(raised.value)
    assert "matches CH.NOPE*..LH? between" in message
    assert "--" not in message


@pytest.mark.parametrize(
    ("entry", "misspelt", "meant"),
    [
        ("gage_positions", "analysis_centre", "analysis_center"),
        ("gage_rinex_obs", "varient", "variant"),
    ],
)
def test_gnss_misspelt_call_name_suggests(
    cat: Any, entry: str, misspelt: str, meant: str
) -> None:
    with pytest.raises(UnknownArgumentError) as raised:
        cat(**{misspelt: "x"})[entry]

    message = str(raised.value)
    assert f"did you mean {meant}=?" in message
    assert "'x'" not in message
