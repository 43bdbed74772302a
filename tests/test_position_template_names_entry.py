"""A nested catalog file opened alone names itself and the entry when a
GNSS position path template fails.

``intake.open_catalog("gage.yaml")`` gives intake's own YAML catalog, which
does not check the templates when an entry is opened, as the shipped
top-level catalog does. The unknown field then fails only when the data
are read, and the message must still name the file and the entry.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import intake
import pytest
import yaml

from intake_earthscope.errors import CatalogError
from intake_earthscope.gnss.position_source import GnssPositionSource

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"
GOOD = "{station}.{analysis_center}.{solution}_{frame}.pos"
BAD = "{statoin}.{analysis_center}.{solution}_{frame}.pos"
WINDOW = {"station": "P123", "start": "2024-01-01", "end": "2024-01-03"}


@pytest.fixture
def gage(tmp_path: Path) -> Path:
    """Return a copy of gage.yaml whose .pos path template misspells a field."""
    path = tmp_path / "gage.yaml"
    shutil.copy(CATALOGS / "gage.yaml", path)
    text = path.read_text()
    assert GOOD in text
    path.write_text(text.replace(GOOD, BAD, 1))
    return path


def open_positions_entry(path: Path, root: Path) -> Any:
    with warnings.catch_warnings():
        # intake 2.0.9 warns about shell commands for string defaults.
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        return intake.open_catalog(str(path)).positions(**WINDOW, root=str(root))


def test_read_names_file_and_entry(gage: Path, tmp_path: Path) -> None:
    source = open_positions_entry(gage, tmp_path)

    with pytest.raises(CatalogError) as raised:
        source.to_dask()

    message = str(raised.value)
    assert message.startswith(f"catalog file {str(gage)!r}, entry 'positions': ")
    assert "unknown field(s) ['statoin']" in message
    assert message.endswith("Fix the entry in the catalog file")


def test_source_without_catalog_keeps_message(gage: Path, tmp_path: Path) -> None:
    sources = yaml.safe_load(gage.read_text())["sources"]
    product = sources["positions"]["args"]["product"]
    source = GnssPositionSource(product, **WINDOW, root=str(tmp_path))

    with pytest.raises(CatalogError) as raised:
        source.to_dask()

    message = str(raised.value)
    assert message.startswith("path template ")
    assert "catalog file" not in message
