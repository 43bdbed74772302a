"""Secrets under other option names stay out of pickled graphs too.

fsspec's HTTP filesystem takes an ``Authorization`` header in ``headers``
and aiohttp's ``auth`` takes a (login, password) pair; Azure and GCS
filesystems take ``connection_string`` and ``credentials``. None of those
names contains "key", "secret", "token" or "password".
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import cloudpickle
import numpy as np
import pytest

from intake_earthscope.backend import open_miniseed
from intake_earthscope.storage import SecretOption, seal_options, unseal_options

from conftest import OBSPY_MSEED_DATA
from loopback_http import LoopbackHttp, Reply

SECRET = "break-option-name-secret-5e6f7a8b"
BEARER = f"Bearer {SECRET}"
BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"


@pytest.mark.parametrize(
    "options",
    [
        {"headers": {"Authorization": BEARER}},
        {"headers": {"Proxy-Authorization": BEARER}},
        {"client_kwargs": {"auth": ("user", SECRET)}},
        {"connection_string": f"AccountName=a;AccountKey={SECRET}"},
        {"credentials": SECRET},
        {"passphrase": SECRET},
        {"client_keys": ["id_rsa"], "passphrase": SECRET},
    ],
    ids=[
        "authorization",
        "proxy",
        "auth-pair",
        "connection-string",
        "credentials",
        "passphrase",
        "ssh-key-passphrase",
    ],
)
def test_seal_other_secret_names(options) -> None:
    sealed = seal_options(options)

    assert SECRET.encode() not in pickle.dumps(sealed)
    assert SECRET not in repr(sealed)
    assert unseal_options(sealed, "test") == options


def test_seal_pair_keeps_type() -> None:
    sealed = seal_options({"auth": ["user", SECRET]})

    assert isinstance(sealed["auth"][1], SecretOption)
    assert unseal_options(sealed, "test") == {"auth": ["user", SECRET]}


def test_seal_leaves_plain_options() -> None:
    options = {"anon": False, "client_kwargs": {"region_name": "us-east-2"}}

    assert seal_options(options) == options


@pytest.fixture
def http_server() -> Iterator[LoopbackHttp]:
    server = LoopbackHttp("127.0.0.1")
    data = BALST.read_bytes()
    server.routes["/BALST.mseed"] = lambda query: Reply(200, data)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_http_header_out_of_graph(http_server: LoopbackHttp) -> None:
    options = {"headers": {"Authorization": BEARER}}
    dataset = open_miniseed(http_server.url("/BALST.mseed"), storage_options=options)

    graph = cloudpickle.dumps(dataset.__dask_graph__())
    values = dataset.waveform.values

    assert SECRET.encode() not in graph
    assert SECRET.encode() not in cloudpickle.dumps(dataset)
    assert np.isfinite(values).any()
    assert BEARER in http_server.tokens_seen()


# aiohttp 3.14 deprecates BasicAuth, which callers still pass.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_seal_aiohttp_basic_auth() -> None:
    aiohttp = pytest.importorskip("aiohttp")
    options = {"client_kwargs": {"auth": aiohttp.BasicAuth("user", SECRET)}}

    sealed = seal_options(options)
    unsealed = unseal_options(sealed, "test")

    assert SECRET.encode() not in pickle.dumps(sealed)
    assert unsealed["client_kwargs"]["auth"] == options["client_kwargs"]["auth"]
    assert isinstance(unsealed["client_kwargs"]["auth"], aiohttp.BasicAuth)
