"""Secrets in a mirror's root=: query strings, logins, and abfs containers.

A query string of a root URL may carry a signature, and a NAME:PASSWORD@
login carries a password, so neither may reach a message, a repr or a
pickle. The user part of an abfs:// URL names the container and is no
secret, so messages keep it. Roots are checked before any request is
sent, so these URLs need no server.
"""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import pytest

from intake_earthscope.availability import availability
from intake_earthscope.collection import Collection
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.request import check_root, url_without_login
from intake_earthscope.storage import StorageSpec

from conftest import OBSPY_MSEED_DATA, collection_spec, mirror

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
OWN_KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
PASSWORD = "hunter2-password"
SIGNATURE = "sig-7f3a9b2c-secret"
CODES = {
    "network": "CH",
    "station": "BALST",
    "location": "",
    "channel": "LHZ",
    "start": "2025-11-10",
    "end": "2025-11-11",
}
CONTAINER_ROOT = "abfs://seismic@myaccount.dfs.core.windows.net/sage"


def open_tier():
    return Collection.from_yaml(collection_spec("sage")).tier("open")


# -- query strings -------------------------------------------------------------


@pytest.mark.parametrize("read", [availability, open_waveforms])
@pytest.mark.parametrize(
    ("root", "shown"),
    [
        (f"s3://my-mirror/sage?versionId={SIGNATURE}", "s3://my-mirror/sage"),
        (f"s3://my-mirror?versionId={SIGNATURE}", "s3://my-mirror"),
        (f"{CONTAINER_ROOT}?sig={SIGNATURE}&se=2030", CONTAINER_ROOT),
    ],
)
def test_root_query_rejected(read, root: str, shown: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        read(collection_spec("sage"), root=root, **CODES)

    message = str(caught.value)
    assert SIGNATURE not in message
    assert f"invalid root={shown!r}: the URL has a query string" in message
    assert "in storage_options" in message


def test_root_login_and_query_not_echoed() -> None:
    root = f"s3://reader:{PASSWORD}@my-mirror/sage?sig={SIGNATURE}"

    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), root=root, **CODES)

    message = str(caught.value)
    assert "invalid root='s3://my-mirror/sage': the URL contains a login" in message
    assert SIGNATURE not in message
    assert PASSWORD not in message


def test_https_root_query_not_echoed() -> None:
    # https roots are rejected as such; the message still drops the query.
    root = f"https://127.0.0.1:9/sage?sig={SIGNATURE}"

    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), root=root, **CODES)

    message = str(caught.value)
    assert SIGNATURE not in message
    assert "invalid root='https://127.0.0.1:9/sage'" in message


def test_spec_root_query_rejected() -> None:
    # A spec that for_tier builds without a check_root call before it.
    with pytest.raises(InvalidRequestError) as caught:
        StorageSpec.for_tier(open_tier(), root=f"s3://my-mirror/sage?sig={SIGNATURE}")

    assert SIGNATURE not in str(caught.value)
    assert "invalid root='s3://my-mirror/sage'" in str(caught.value)


def test_local_directory_with_question_mark(tmp_path: Path) -> None:
    # "?" is an ordinary character of file names, and no query of a path.
    root = mirror(tmp_path / "what?", {OWN_KEY: BALST.read_bytes()})

    check_root(str(root))
    table = availability(collection_spec("sage"), root=str(root), **CODES)

    assert bool(table["exists"].iloc[0])


# -- one function drops logins and keeps containers ---------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"s3://reader:{PASSWORD}@bucket/sage", "s3://bucket/sage"),
        (f"s3://reader:{PASSWORD}@bucket", "s3://bucket"),
        (f"reader:{PASSWORD}@bucket/sage", "bucket/sage"),
        ("s3://reader:p@ss@bucket/sage", "s3://bucket/sage"),
        (CONTAINER_ROOT, CONTAINER_ROOT),
        ("seismic@myaccount/sage", "seismic@myaccount/sage"),
        ("s3://bucket/a:b@c", "s3://bucket/a:b@c"),
        ("/data/a:b@c", "/data/a:b@c"),
    ],
)
def test_url_without_login(url: str, expected: str) -> None:
    assert url_without_login(url) == expected


def test_abfs_mirror_keeps_container() -> None:
    spec = StorageSpec.for_tier(open_tier(), root=CONTAINER_ROOT)

    assert spec.origin == f"mirror {CONTAINER_ROOT}"
    assert spec.describe() == CONTAINER_ROOT
    assert spec.url(OWN_KEY) == f"{CONTAINER_ROOT}/{OWN_KEY}"


def test_abfs_login_dropped() -> None:
    root = f"abfs://seismic:{PASSWORD}@myaccount.dfs.core.windows.net/sage"

    with pytest.raises(InvalidRequestError) as caught:
        check_root(root)

    message = str(caught.value)
    assert PASSWORD not in message
    assert "invalid root='abfs://myaccount.dfs.core.windows.net/sage'" in message


# -- specs never contain a password ---------------------------------------------


def built_specs() -> dict[str, StorageSpec]:
    login = f"reader:{PASSWORD}@"
    return {
        "direct": StorageSpec("s3", f"{login}bucket/sage"),
        "direct mirror": StorageSpec("s3", f"{login}bucket/sage", mirror=True),
        "https mirror": StorageSpec("https", f"{login}127.0.0.1:9/sage", mirror=True),
        "replaced": replace(StorageSpec("s3", "bucket"), root=f"{login}bucket/sage"),
        "for_tier": StorageSpec.for_tier(open_tier(), root=f"s3://{login}bucket/sage"),
    }


@pytest.mark.parametrize("way", list(built_specs()))
def test_spec_texts_lack_password(way: str) -> None:
    spec = built_specs()[way]
    texts = {
        "repr": repr(spec),
        "str": str(spec),
        "describe": spec.describe(),
        "describe_origin": spec.describe_origin(),
        "url": spec.url(OWN_KEY),
        "root url": spec.url(""),
    }

    for name, text in texts.items():
        assert PASSWORD not in text, name
        assert "reader" not in text, name


@pytest.mark.parametrize("way", list(built_specs()))
def test_spec_pickle_lacks_password(way: str) -> None:
    spec = built_specs()[way]

    data = pickle.dumps(spec)

    assert PASSWORD.encode() not in data
    assert pickle.loads(data) == spec


def test_direct_spec_keeps_host() -> None:
    spec = StorageSpec("s3", f"reader:{PASSWORD}@bucket/sage", mirror=True)

    assert spec.root == "bucket/sage"
    assert spec.url(OWN_KEY) == f"s3://bucket/sage/{OWN_KEY}"
    assert spec.origin == "mirror s3://bucket/sage"


def test_file_spec_root_unchanged(tmp_path: Path) -> None:
    # Local roots carry no login, so ":" and "@" stay in a directory name.
    directory = str(tmp_path / f"reader:{PASSWORD}@x")

    assert StorageSpec("file", directory).root == directory
