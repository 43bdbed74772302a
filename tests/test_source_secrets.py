"""Credentials in storage_options stay out of pickles and yaml() of sources.

intake keeps a source's init arguments for ``yaml()`` and pickling, and its
``DataSource.__init__`` copies ``storage_options`` from them. Each source of
the catalogs must keep only the digests there, as the dask graphs do, and
still read in the process that opened it.
"""

from __future__ import annotations

import pickle
from typing import Any

import cloudpickle
import intake
import pytest

from intake_earthscope.storage import SecretOption

from conftest import CATALOGS, OBSPY_MSEED_DATA, publish

KEY = "AKIABREAKSOURCE00001"
SECRET = "break-source-secret-access-key-77aa"
TOKEN = "break-source-session-token-88bb99cc"
OPTIONS = {
    "key": KEY,
    "secret": SECRET,
    "token": TOKEN,
    "client_kwargs": {"aws_secret_access_key": SECRET},
}
BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"


def catalog() -> Any:
    return intake.open_catalog(str(CATALOGS / "earthscope.yaml"))


def sources() -> dict[str, Any]:
    cat = catalog()
    return {
        "miniseed": cat.sage.miniseed(
            network="CH",
            station="BALST",
            location="",
            channel="LHZ",
            start="2025-11-10",
            end="2025-11-11",
            storage_options=OPTIONS,
        ),
        "rinex": cat.gage.rinex_obs(
            station="P156",
            start="2020-01-01",
            end="2020-01-02",
            storage_options=OPTIONS,
        ),
        "positions": cat.gage.positions(
            station="P156",
            start="2020-01-01",
            end="2020-01-02",
            storage_options=OPTIONS,
        ),
        "stations": cat.sage.stations(network="CH", storage_options=OPTIONS),
    }


def assert_no_secret(data: bytes | str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    for secret in (KEY, SECRET, TOKEN):
        assert secret.encode() not in raw


@pytest.mark.parametrize("name", ["miniseed", "rinex", "positions", "stations"])
def test_source_pickle_has_no_secret(name: str) -> None:
    source = sources()[name]

    assert_no_secret(pickle.dumps(source))
    assert_no_secret(cloudpickle.dumps(source))


@pytest.mark.parametrize("name", ["miniseed", "rinex", "positions", "stations"])
def test_source_yaml_has_no_secret(name: str) -> None:
    source = sources()[name]

    text = source.yaml()

    assert_no_secret(text)
    assert "storage_options" in text


def test_source_options_sealed() -> None:
    source = sources()["miniseed"]

    assert isinstance(source.storage_options["secret"], SecretOption)
    nested = source.storage_options["client_kwargs"]
    assert isinstance(nested["aws_secret_access_key"], SecretOption)


def test_unpickled_source_reads_here(s3) -> None:
    key = "miniseed/CH/2025/314/BALST.CH.2025.314"
    publish(s3, "sage", {key: BALST.read_bytes()})
    source = sources()["miniseed"]

    copy = pickle.loads(pickle.dumps(source))
    dataset = copy.read()

    assert (dataset.status.values == "ok").all()
    assert dataset.waveform.notnull().any()
