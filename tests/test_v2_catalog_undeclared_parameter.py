"""A v2 catalog file that lacks a parameter of the shipped one names it.

intake passes a call name that the catalog declares no user parameter for
to each data description. In a copy of the shipped v2 catalog whose
``station`` parameter was renamed, ``cat(station="X")`` suggested
``station=`` for ``station``. The message must state that this catalog
file does not declare the name, and how to add it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import intake
import pytest

from intake_earthscope.catalog import catalog_path
from intake_earthscope.errors import UnknownArgumentError

DECLARED = (
    "  station:\n    cls: intake_earthscope.v2:CodesParameter\n    name: station\n"
)
RENAMED = DECLARED.replace("station", "station_code")


@pytest.fixture
def cat(tmp_path: Path) -> Any:
    shipped = Path(catalog_path(2))
    text = shipped.read_text()
    assert DECLARED in text
    copy = tmp_path / shipped.name
    copy.write_text(text.replace(DECLARED, RENAMED))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        return intake.open_catalog(str(copy))


@pytest.mark.parametrize("entry", ["sage_miniseed", "sage_stations"])
def test_undeclared_parameter_named(cat: Any, entry: str) -> None:
    with pytest.raises(UnknownArgumentError) as raised:
        cat(station="X")[entry]
    message = str(raised.value)

    assert "did you mean station=" not in message
    assert "parameter station" in message
    assert "this catalog file does not" in message
    assert "user_parameters" in message
    assert "'X'" not in message
