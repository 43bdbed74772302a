"""file: URL roots with odd escapes, and file: URLs without an absolute path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intake_earthscope.availability import availability
from intake_earthscope.errors import InvalidRequestError

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


def tier_of(root: str) -> str:
    table = availability(collection_spec("sage"), root=root, **CODES)
    assert bool(table["exists"].iloc[0])
    return str(table["tier"].iloc[0])


def test_non_utf8_escape_names_raw_bytes(tmp_path: Path) -> None:
    # Linux file names are bytes, and os.fsdecode maps 0xFF to "\udcff".
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/m\xff"))
    mirror(folder, {OWN_KEY: BALST.read_bytes()})

    assert tier_of(f"file://{tmp_path}/m%FF") == f"mirror {folder}"
    assert tier_of(f"file:{tmp_path}/m%ff") == f"mirror {folder}"


def test_utf8_escape_decoded(tmp_path: Path) -> None:
    folder = mirror(tmp_path / "mirée", {OWN_KEY: BALST.read_bytes()})

    assert tier_of(f"file://{tmp_path}/mir%C3%A9e") == f"mirror {folder}"


def test_invalid_escape_kept_literal(tmp_path: Path) -> None:
    folder = mirror(tmp_path / "a%zz", {OWN_KEY: BALST.read_bytes()})

    assert tier_of(f"file://{tmp_path}/a%zz") == f"mirror {folder}"


def test_encoded_slash_is_a_separator(tmp_path: Path) -> None:
    # As urllib.request.url2pathname does, %2F decodes to "/", because no
    # folder name can contain one.
    folder = mirror(tmp_path / "a" / "b", {OWN_KEY: BALST.read_bytes()})

    assert tier_of(f"file://{tmp_path}/a%2Fb") == f"mirror {folder}"


def test_encoded_nul_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="no such directory"):
        availability(collection_spec("sage"), root=f"file://{tmp_path}/a%00b", **CODES)


@pytest.mark.parametrize(
    "root", ["file://", "file://localhost", "file://LOCALHOST", "file:", "file:sage"]
)
def test_url_without_absolute_path_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: str
) -> None:
    # A mirror in the current directory, which these roots would read if an
    # empty or relative path were taken as it is.
    mirror(tmp_path, {OWN_KEY: BALST.read_bytes()})
    mirror(tmp_path / "sage", {OWN_KEY: BALST.read_bytes()})
    monkeypatch.chdir(tmp_path)

    with pytest.raises(InvalidRequestError) as caught:
        availability(collection_spec("sage"), root=root, **CODES)

    message = str(caught.value)
    assert f"invalid root={root!r}" in message
    assert "a file URL takes an absolute path" in message
