"""file:// URLs that the package shows are percent-encoded and read back.

Mirrors given with ``root=`` may sit in folders whose names contain
spaces, ``%`` or non-ASCII characters. The GNSS ``url`` coordinate, the
missing-StationXML warning and object-not-found messages show each object
as a ``file://`` URL. Such a URL must be valid (RFC 8089: no raw spaces,
ASCII only), and ``root=`` handling decodes it back to the same path.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import pytest
import yaml

from intake_earthscope.browse import search_stations
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError, ReadOutcomeWarning
from intake_earthscope.gnss.position_dataset import open_gage_positions, open_positions
from intake_earthscope.storage import _PATH_CHARACTERS, _file_url

from conftest import CATALOGS, collection_spec, hour_mirror

PRODUCT = yaml.safe_load((CATALOGS / "gage.yaml").read_text())["sources"]["positions"][
    "args"
]["product"]
P156 = "gnss_pos/P156.pbo.final_igs08.pos"
P156_PATH = "products/position/P156/P156.cwu.final_nam14.pos"
FOLDERS = ["scedc mirror", "données", "100% mirror", "a+b,c;d@e"]


def assert_file_url(url: str, path: Path | str) -> None:
    """Check that ``url`` is a valid file:// URL of ``path``."""
    assert url.startswith("file:///")
    assert url.isascii()
    assert " " not in url
    # Only the characters of RFC 3986 paths and escapes remain unencoded.
    assert quote(url, safe="/!$&'()*+,;=:@%") == url
    assert unquote(url[len("file://") :], errors="surrogateescape") == str(path)


def urls_in(text: str) -> list[str]:
    return re.findall(r"file://\S+", text)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(params=FOLDERS, ids=["space", "non-ascii", "percent", "punctuation"])
def folder(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return tmp_path / request.param


def write_p156(root: Path, shared_data: Path) -> Path:
    target = root / P156_PATH
    target.parent.mkdir(parents=True)
    target.write_bytes((shared_data / P156).read_bytes())
    return target


def open_p156(root: str) -> object:
    return open_gage_positions(
        PRODUCT, station="P156", start="2008-01-01", end="2008-01-11", root=root
    ).load()


def test_gnss_url_reads_same_file(folder: Path, shared_data: Path) -> None:
    target = write_p156(folder, shared_data)
    dataset = open_p156(str(folder))
    url = str(dataset.url.values[0])

    again = open_positions([url], start="2008-01-01", end="2008-01-11").load()

    assert_file_url(url, target)
    assert str(again.status.values[0]) == "ok"
    assert str(again.url.values[0]) == url
    np.testing.assert_array_equal(again.north.values, dataset.north.values)


def test_gnss_storage_attr_opens_again(folder: Path, shared_data: Path) -> None:
    write_p156(folder, shared_data)
    storage = open_p156(str(folder)).attrs["storage"]

    again = open_p156(storage)

    assert_file_url(storage, folder)
    assert str(again.status.values[0]) == "ok"


def test_gnss_url_of_file_url_root(folder: Path, shared_data: Path) -> None:
    target = write_p156(folder, shared_data)

    dataset = open_p156(folder.as_uri())

    assert str(dataset.status.values[0]) == "ok"
    assert_file_url(str(dataset.url.values[0]), target)


def test_gnss_url_bytes_not_utf8(tmp_path: Path, shared_data: Path) -> None:
    # A name with a byte that is not UTF-8, as os.fsdecode gives it.
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/m\xffx"))
    target = write_p156(folder, shared_data)
    url = str(open_p156(str(folder)).url.values[0])

    again = open_positions([url], start="2008-01-01", end="2008-01-11").load()

    assert_file_url(url, target)
    assert "/m%FFx/" in url
    assert str(again.status.values[0]) == "ok"


def test_missing_stationxml_url(folder: Path, shared_data: Path) -> None:
    key = "FDSNstationXML/CI/CI_WBM.xml"
    (folder / key).parent.mkdir(parents=True)
    (folder / key).write_bytes((shared_data / "stationxml" / "CI_WBM.xml").read_bytes())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search_stations("scedc", root=str(folder), network="CI", station="WBM,XYZ")

    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 1
    urls = urls_in(messages[0])
    assert len(urls) == 1
    assert_file_url(urls[0], folder / "FDSNstationXML/CI/CI_XYZ.xml")


def open_hour(root: str, end: str = "2024-01-02", **options: str) -> Any:
    """Open the hour of :func:`hour_mirror` (its day, or up to ``end``)."""
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="",
        channel="LHZ",
        start="2024-01-01",
        end=end,
        root=root,
        **options,
    )


def test_object_not_found_url(folder: Path) -> None:
    hour_mirror(folder)

    with pytest.warns(ReadOutcomeWarning) as caught:
        open_hour(str(folder), end="2024-01-03", errors="warn").load()

    messages = [str(w.message) for w in caught if "object not found" in str(w.message)]
    assert len(messages) == 1
    urls = urls_in(messages[0])
    assert len(urls) == 1
    assert_file_url(urls[0], folder / "miniseed/XX/2024/002/STA.XX.2024.002")


def test_storage_attr_opens_again(folder: Path) -> None:
    """The dataset's storage attribute is a file URL that root= reads back."""
    hour_mirror(folder)
    storage = open_hour(str(folder)).attrs["storage"]

    again = open_hour(storage).load()

    assert_file_url(storage, folder)
    assert (again.status.values == "ok").all()


def test_missing_url_root_names_path(tmp_path: Path) -> None:
    """A file URL that names no folder gives the decoded path it looked for."""
    url = (tmp_path / "odd dir").as_uri()

    with pytest.raises(InvalidRequestError) as caught:
        open_hour(url)

    assert f"no such directory {str(tmp_path / 'odd dir')!r}" in str(caught.value)


def test_plain_paths_match_quoted() -> None:
    """Paths of characters allowed in a URL skip quote() and come out the same."""
    rng = np.random.default_rng(3)
    alphabet = list("abcXYZ019-._~/" + _PATH_CHARACTERS + " %#?[]äé\\")
    for _ in range(2000):
        path = "/" + "".join(rng.choice(alphabet, rng.integers(0, 30)))

        expected = "file://" + quote(os.fsencode(path), safe=_PATH_CHARACTERS)
        assert _file_url(path) == expected, path
