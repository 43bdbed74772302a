"""A position file that fails to read warns once per open and load.

Opening without ``start`` and ``end`` reads a tenv3 file whole for its span,
so a damaged row fails at the open and again when the data are computed.
The files are synthetic NGL tenv3 text from test_gnss_positions.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from test_gnss_positions import TENV3_TEXT, with_field

from intake_earthscope.errors import ReadOutcomeWarning
from intake_earthscope.gnss.position_dataset import open_positions


def write_pair(tmp_path: Path) -> tuple[Path, Path]:
    """Write TEST.tenv3 with 21 fields in its second row, and a good GOOD.tenv3."""
    damaged = tmp_path / "TEST.tenv3"
    damaged.write_text(with_field(TENV3_TEXT, 1, 5, "7"))
    good = tmp_path / "GOOD.tenv3"
    good.write_text(TENV3_TEXT.replace("TEST", "GOOD"))
    return damaged, good


def outcome_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [
        str(item.message)
        for item in caught
        if issubclass(item.category, ReadOutcomeWarning)
    ]


def test_damaged_row_warns_once(tmp_path: Path) -> None:
    damaged, good = write_pair(tmp_path)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = open_positions([str(damaged), str(good)], errors="warn").load()
    texts = outcome_warnings(caught)

    assert len(texts) == 1
    assert damaged.as_uri() in texts[0]
    assert "invalid data row 2" in texts[0]
    assert str(dataset.status.values[0]) == "unreadable"


def test_damaged_row_status_after_open_warning(tmp_path: Path) -> None:
    damaged, good = write_pair(tmp_path)

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        dataset = open_positions([str(damaged), str(good)], errors="warn").load()

    assert "invalid data row 2" in str(dataset.message.values[0])
    assert int(dataset.days[1]) == 3


def test_new_damage_after_open_warns(tmp_path: Path) -> None:
    damaged, good = write_pair(tmp_path)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = open_positions([str(damaged), str(good)], errors="warn")
        # The file changes between the open and the load, so the load's
        # failure differs from the one the open reported.
        damaged.write_text(with_field(TENV3_TEXT, 2, 5, "7"))
        dataset.load()
    texts = outcome_warnings(caught)

    assert len(texts) == 2
    assert "invalid data row 2" in texts[0]
    assert "invalid data row 3" in texts[1]
