"""The GNSS position ``frame`` choice matches in any case.

GAGE names the frame in lower case in its paths (``..._nam14.pos``) and in
upper case in the file headers (``NAM14``). ``frame="NAM14"``,
``"nam14"`` and ``"Nam14"`` read the same file, and the ``frame``
coordinate keeps the header's spelling. The catalog entries' own parameter
checks, which run before the source, are outside these tests.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.gnss.position_dataset import open_gage_positions
from intake_earthscope.gnss.position_source import GnssPositionSource

from conftest import CATALOGS

PRODUCT = yaml.safe_load((CATALOGS / "gage.yaml").read_text())["sources"]["positions"][
    "args"
]["product"]
P156 = "gnss_pos/P156.pbo.final_igs08.pos"
SPELLINGS = ["NAM14", "nam14", "Nam14"]


def write_nam14_file(root: Path, shared_data: Path, name: str) -> None:
    """Write P156 under ``name`` with a header that names the frame NAM14."""
    text = (shared_data / P156).read_text()
    header, rest = text.split("\n", 1)
    assert header.endswith("Reference Frame : ITRF08")
    target = root / "products/position/P156" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(header.replace("ITRF08", "NAM14") + "\n" + rest)


@pytest.fixture
def mirror(tmp_path: Path, shared_data: Path) -> str:
    write_nam14_file(tmp_path, shared_data, "P156.cwu.final_nam14.pos")
    return str(tmp_path)


def open_p156(product: Any, root: str, frame: str) -> Any:
    return open_gage_positions(
        product,
        station="P156",
        start="2008-01-01",
        end="2008-01-03",
        frame=frame,
        root=root,
    ).load()


@pytest.mark.parametrize("frame", SPELLINGS)
def test_frame_any_case_reads_file(mirror: str, frame: str) -> None:
    dataset = open_p156(PRODUCT, mirror, frame)

    assert str(dataset.status.values[0]) == "ok"
    assert str(dataset.url.values[0]).endswith("/P156.cwu.final_nam14.pos")
    assert str(dataset.frame.values[0]) == "NAM14"


@pytest.mark.parametrize("frame", SPELLINGS)
def test_source_frame_any_case(mirror: str, frame: str) -> None:
    source = GnssPositionSource(
        PRODUCT,
        station="P156",
        start="2008-01-01",
        end="2008-01-03",
        frame=frame,
        root=mirror,
    )

    dataset = source.read()

    assert str(dataset.url.values[0]).endswith("/P156.cwu.final_nam14.pos")
    assert str(dataset.frame.values[0]) == "NAM14"


def test_frame_keeps_catalog_spelling(tmp_path: Path, shared_data: Path) -> None:
    # A catalog whose choices and file names are in upper case.
    product = copy.deepcopy(PRODUCT)
    product["choices"]["frame"] = ["NAM14", "IGS14"]
    write_nam14_file(tmp_path, shared_data, "P156.cwu.final_NAM14.pos")

    dataset = open_p156(product, str(tmp_path), "nam14")

    assert str(dataset.status.values[0]) == "ok"
    assert str(dataset.url.values[0]).endswith("/P156.cwu.final_NAM14.pos")


def test_frame_unknown_names_choices(mirror: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        open_p156(PRODUCT, mirror, "NAM08")

    message = str(caught.value)
    assert "frame='NAM08'" in message
    assert "['nam14', 'igs14'] (in any case)" in message
    assert "open_positions(paths=[...])" in message
