"""Both catalog formats take the GNSS ``frame`` parameter in any case.

intake checks catalog parameters before the value reaches the reader: a
v1 ``allowed`` list and a v2 choice compare text as given. The GAGE frame
is spelled NAM14 in file headers and nam14 in paths, so the frame is
checked without case, and a frame outside the choices is still rejected.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import intake
import pytest
from test_gnss_frame_case import SPELLINGS, write_nam14_file

from intake_earthscope.errors import InvalidRequestError

from conftest import CATALOGS

REQUEST = {"station": "P156", "start": "2008-01-01", "end": "2008-01-03"}


@pytest.fixture
def mirror(tmp_path: Path, shared_data: Path) -> str:
    write_nam14_file(tmp_path, shared_data, "P156.cwu.final_nam14.pos")
    return str(tmp_path)


def v1_positions(root: str, frame: str) -> Any:
    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        return cat.gage.positions(**REQUEST, frame=frame, root=root).read()


def v2_positions(root: str, frame: str) -> Any:
    cat = intake.open_catalog(str(CATALOGS / "earthscope_v2.yaml"))
    return cat.gage_positions(**REQUEST, frame=frame, root=root).read()


def v2_catalog_call(root: str, frame: str) -> Any:
    """Give the frame to the v2 catalog call, which checks its choices."""
    cat = intake.open_catalog(str(CATALOGS / "earthscope_v2.yaml"))
    return cat(frame=frame).gage_positions(**REQUEST, root=root).read()


@pytest.mark.parametrize("read", [v1_positions, v2_positions, v2_catalog_call])
@pytest.mark.parametrize("frame", SPELLINGS)
def test_catalog_frame_any_case(mirror: str, frame: str, read: Any) -> None:
    dataset = read(mirror, frame)

    assert str(dataset.url.values[0]).endswith("/P156.cwu.final_nam14.pos")
    assert str(dataset.frame.values[0]) == "NAM14"


@pytest.mark.parametrize("read", [v1_positions, v2_positions])
def test_catalog_other_frame_rejected(mirror: str, read: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        read(mirror, "NAM08")

    assert "frame='NAM08'" in str(caught.value)
    assert "['nam14', 'igs14'] (in any case)" in str(caught.value)


def test_v2_catalog_call_other_frame_rejected() -> None:
    cat = intake.open_catalog(str(CATALOGS / "earthscope_v2.yaml"))

    with pytest.raises(InvalidRequestError) as caught:
        _ = cat(frame="NAM08").gage_positions

    assert (
        "invalid frame='NAM08': expected one of ['nam14', 'igs14'] (in any case)"
        in str(caught.value)
    )
