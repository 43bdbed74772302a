"""Odd spellings of root=: URLs with a login, a home directory, file:// URLs.

A login in a mirror URL must never reach a message, because messages end up
in logs and notebooks. Roots are checked before any request is sent, so the
URLs need no server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.availability import availability
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import IntakeEarthScopeWarning, InvalidRequestError

from conftest import OBSPY_MSEED_DATA, collection_spec, mirror

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
OWN_KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"

PASSWORD = "hunter2-password"
CODES = {
    "network": "CH",
    "station": "BALST",
    "location": "",
    "channel": "LHZ",
    "start": "2025-11-10",
    "end": "2025-11-11",
}


@pytest.mark.parametrize("read", [availability, open_waveforms])
def test_s3_root_login_rejected(read) -> None:
    root = f"s3://reader:{PASSWORD}@my-mirror/sage"

    with pytest.raises(InvalidRequestError) as caught:
        read(collection_spec("sage"), root=root, **CODES)

    message = str(caught.value)
    assert "invalid root='s3://my-mirror/sage'" in message
    assert "contains a login" in message
    assert "storage_options={'profile': NAME}" in message
    assert PASSWORD not in message
    assert "reader" not in message


def test_http_root_login_not_echoed() -> None:
    root = f"https://reader:{PASSWORD}@127.0.0.1:9/sage"

    with pytest.raises(InvalidRequestError) as caught:
        open_waveforms(collection_spec("sage"), root=root, **CODES)

    message = str(caught.value)
    assert PASSWORD not in message
    assert "https://127.0.0.1:9/sage" in message


def test_home_directory_root_expanded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    mirror(tmp_path / "sage", {OWN_KEY: BALST.read_bytes()})

    table = availability(collection_spec("sage"), root="~/sage", **CODES)

    assert list(table["tier"]) == [f"mirror {tmp_path / 'sage'}"]
    assert bool(table["exists"].iloc[0])


@pytest.mark.parametrize(
    "form",
    [
        "file://{path}/",
        "file://localhost{path}",
        "file://LOCALHOST{path}",
        "file:{path}",
    ],
)
def test_file_url_roots_read(tmp_path: Path, form: str) -> None:
    root = mirror(tmp_path / "sage", {OWN_KEY: BALST.read_bytes()})

    table = availability(collection_spec("sage"), root=form.format(path=root), **CODES)

    assert list(table["tier"]) == [f"mirror {root}"]
    assert bool(table["exists"].iloc[0])


@pytest.mark.parametrize(
    "form", ["file://{path}", "file://localhost{path}", "file:{path}"]
)
def test_file_url_root_percent_decoded(tmp_path: Path, form: str) -> None:
    root = mirror(tmp_path / "my mirror", {OWN_KEY: BALST.read_bytes()})
    url = form.format(path=str(root).replace(" ", "%20"))

    table = availability(collection_spec("sage"), root=url, **CODES)

    assert list(table["tier"]) == [f"mirror {root}"]
    assert bool(table["exists"].iloc[0])


def test_file_url_encoded_percent_kept(tmp_path: Path) -> None:
    # %25 is the encoded "%", so the URL names the folder "my%20mirror".
    root = mirror(tmp_path / "my%20mirror", {OWN_KEY: BALST.read_bytes()})
    url = f"file://{tmp_path}/my%2520mirror"

    table = availability(collection_spec("sage"), root=url, **CODES)

    assert list(table["tier"]) == [f"mirror {root}"]
    assert bool(table["exists"].iloc[0])


def test_plain_path_root_percent_literal(tmp_path: Path) -> None:
    root = mirror(tmp_path / "my%20mirror", {OWN_KEY: BALST.read_bytes()})
    # A folder with the decoded name, which a decoded root would read.
    (tmp_path / "my mirror").mkdir()

    table = availability(collection_spec("sage"), root=str(root), **CODES)

    assert list(table["tier"]) == [f"mirror {root}"]
    assert bool(table["exists"].iloc[0])


def test_file_url_with_host_rejected(tmp_path: Path, monkeypatch) -> None:
    # file://sage/miniseed would name the host "sage" and the directory
    # /miniseed, although a directory sage/miniseed exists here.
    monkeypatch.chdir(tmp_path)
    mirror(tmp_path / "sage", {OWN_KEY: BALST.read_bytes()})

    with pytest.raises(InvalidRequestError) as caught:
        availability(collection_spec("sage"), root="file://sage", **CODES)

    message = str(caught.value)
    assert "not the host 'sage'" in message
    assert "Give file:///sage/ or the path sage/" in message


def test_top_directory_root_accepted() -> None:
    with pytest.warns(IntakeEarthScopeWarning, match="in mirror / "):
        table = availability(collection_spec("sage"), root="/", **CODES)

    assert list(table["tier"]) == ["mirror /"]
    assert not table["exists"].iloc[0]


@pytest.mark.parametrize("root", ["s3://", "s3:///"])
def test_root_without_bucket_rejected(root: str) -> None:
    with pytest.raises(
        InvalidRequestError, match="the URL names no bucket; give s3://"
    ):
        availability(collection_spec("sage"), root=root, **CODES)
