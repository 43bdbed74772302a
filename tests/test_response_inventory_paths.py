"""Tests of the forms of a local StationXML given as ``inventory=``.

A ``pathlib.Path`` is how Python code usually names a file, and ``root=``
takes ``file://`` URLs, so both must work where a path string does. The
recording and its response-level StationXML are real (CI.WBM, the shared
data folder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from intake_earthscope.dataset import open_waveforms

from conftest import collection_spec, mirror

WBM_KEY = "continuous_waveforms/2022/2022_001/CIWBM__LHZ___2022001.ms"
REQUEST = {
    "network": "CI",
    "station": "WBM",
    "location": "",
    "channel": "LHZ",
    "start": "2022-01-01T00:00:00",
    "end": "2022-01-01T06:00:00",
}


@pytest.fixture
def wbm_root(tmp_path: Path, shared_data: Path) -> str:
    data = (shared_data / "miniseed" / "CIWBM__LHZ___2022001.ms").read_bytes()
    return str(mirror(tmp_path, {WBM_KEY: data}))


@pytest.fixture
def wbm_xml(shared_data: Path) -> Path:
    return (shared_data / "stationxml" / "CI_WBM.xml").resolve()


def open_wbm(root: str, inventory: object, **options: object) -> xr.Dataset:
    return open_waveforms(
        collection_spec("scedc"), root=root, inventory=inventory, **REQUEST, **options
    )


def test_path_object_names_channels(wbm_root: str, wbm_xml: Path) -> None:
    from_path = open_wbm(wbm_root, wbm_xml)
    from_text = open_wbm(wbm_root, str(wbm_xml))

    assert from_path.trace.values.tolist() == ["CI.WBM..LHZ"]
    np.testing.assert_array_equal(from_path.waveform.values, from_text.waveform.values)


def test_path_object_removes_response(wbm_root: str, wbm_xml: Path) -> None:
    from_path = open_wbm(wbm_root, wbm_xml, remove_response="velocity")
    from_text = open_wbm(wbm_root, str(wbm_xml), remove_response="velocity")

    assert from_path.attrs["response_source"] == str(wbm_xml)
    np.testing.assert_array_equal(from_path.waveform.values, from_text.waveform.values)


def test_file_url_removes_response(wbm_root: str, wbm_xml: Path) -> None:
    url = wbm_xml.as_uri()

    from_url = open_wbm(wbm_root, url, remove_response="velocity")
    from_text = open_wbm(wbm_root, str(wbm_xml), remove_response="velocity")

    assert from_url.attrs["response_source"] == url
    np.testing.assert_array_equal(from_url.waveform.values, from_text.waveform.values)
