"""Mirror roots with odd characters, links and passwords.

AWS secret access keys contain "/", S3 keys may contain "#", and a local
folder name may contain ":". Each must leave the spec's root as the user
meant it, and a password out of every message, repr and pickle. The local
mirrors hold a real miniSEED recording, and the S3 mirror is the moto
server on loopback.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from intake_earthscope import s3http
from intake_earthscope.collection import Collection
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.request import check_root, url_without_login
from intake_earthscope.storage import StorageSpec, mirror_layout_hint, read_bytes
from intake_earthscope.testing import LoopbackS3, create_bucket, put_public_object

from conftest import OBSPY_MSEED_DATA, collection_spec, mirror

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
OWN_KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
CODES = {
    "network": "CH",
    "station": "BALST",
    "location": "",
    "channel": "LHZ",
    "start": "2025-11-10",
    "end": "2025-11-11",
}
# The form of an AWS secret access key: 40 characters, "/" among them.
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"
SECRET_PARTS = SECRET.split("/")
SLASH_LOGIN_ROOT = f"s3://AKIAEXAMPLE:{SECRET}@my-mirror/sage"


def open_tier():
    return Collection.from_yaml(collection_spec("sage")).tier("open")


def assert_no_secret(text: str) -> None:
    for part in SECRET_PARTS:
        assert part not in text


# Passwords that contain "/"


def test_slash_password_root_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="NAME:PASSWORD@") as caught:
        check_root(SLASH_LOGIN_ROOT)

    assert "root='s3://my-mirror/sage'" in str(caught.value)
    assert_no_secret(str(caught.value))


def test_slash_password_absent_from_spec() -> None:
    spec = StorageSpec.for_tier(open_tier(), root=SLASH_LOGIN_ROOT)

    assert spec.root == "my-mirror/sage"
    assert_no_secret(repr(spec))
    assert_no_secret(spec.describe())
    assert_no_secret(spec.url(OWN_KEY))
    assert_no_secret(str(pickle.dumps(spec)))


def test_slash_password_dropped_without_scheme() -> None:
    spec = StorageSpec("s3", f"AKIAEXAMPLE:{SECRET}@my-mirror/sage", mirror=True)

    assert spec.root == "my-mirror/sage"


@pytest.mark.parametrize(
    "url",
    [
        "s3://my-mirror/sage/a:b@c",
        "abfs://seismic@myaccount.dfs.core.windows.net/sage",
        "s3://my-mirror/sage",
    ],
)
def test_urls_without_password_kept(url: str) -> None:
    """A ":" and an "@" after the bucket are parts of a key prefix."""
    assert url_without_login(url) == url


# Characters that urlsplit gives a meaning to


@pytest.mark.parametrize("client", ["urllib3", "s3fs"])
def test_hash_in_s3_root_kept(s3: LoopbackS3, monkeypatch, client: str) -> None:
    """An S3 key may contain "#", which urlsplit takes for a fragment."""
    # A pool of its own, so that no later test finds this test's connection
    # to the moto server in the pool.
    monkeypatch.setattr(s3http, "_pools", {})
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", client)
    s3http.clear_routes()
    s3_client = s3.client("us-east-2")
    create_bucket(s3_client, "my-mirror", "us-east-2")
    put_public_object(s3_client, "my-mirror", "take#2/object", b"right")
    put_public_object(s3_client, "my-mirror", "take/object", b"wrong")

    spec = StorageSpec.for_tier(
        open_tier(), root="s3://my-mirror/take#2", storage_options={"anon": True}
    )

    assert spec.root == "my-mirror/take#2"
    assert read_bytes(spec, "object") == b"right"


def test_colon_folder_read_as_directory(tmp_path: Path, monkeypatch) -> None:
    """A relative folder "backup:2024" is no URL, as check_root treats it."""
    mirror(tmp_path / "backup:2024" / "bucket", {OWN_KEY: BALST.read_bytes()})
    monkeypatch.chdir(tmp_path)

    dataset = open_waveforms(
        collection_spec("sage"), root="backup:2024/bucket", sampling_rate=1, **CODES
    )

    assert bool(dataset["waveform"].notnull().any())


# Links


def test_symlinked_root_names_bucket(tmp_path: Path) -> None:
    """A root that links to BUCKET/miniseed gets BUCKET as advice."""
    bucket = mirror(tmp_path / "store" / "bucket", {OWN_KEY: BALST.read_bytes()})
    link = tmp_path / "mirrors" / "sage"
    link.parent.mkdir()
    os.symlink(bucket / "miniseed", link)
    spec = StorageSpec.for_tier(open_tier(), root=str(link))

    hint = mirror_layout_hint(spec, OWN_KEY)

    assert hint.endswith(f"so pass root='{bucket}'")
