"""A GAGE position file with more than one fault reports each of them.

The file is a synthetic PBO ``.pos`` file whose header declares three days
while its rows run to a fifth day, and whose last row is cut.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_gnss_positions import pos_text

from intake_earthscope.errors import ReadOutcomeWarning
from intake_earthscope.gnss.position_dataset import open_positions


def cut_stale_file(tmp_path: Path) -> Path:
    # Rows 4 and 5 lie after the declared Last Epoch, and row 5 loses its end.
    path = tmp_path / "TEST.pos"
    path.write_text(pos_text(days=5)[:-60])
    return path


def test_cut_stale_file_status_truncated(tmp_path: Path) -> None:
    path = cut_stale_file(tmp_path)

    dataset = open_positions([str(path)], errors="ignore").load()

    assert str(dataset.status.values[0]) == "truncated"
    assert int(dataset.days[0]) == 3


def test_cut_stale_file_message_lists_both(tmp_path: Path) -> None:
    path = cut_stale_file(tmp_path)

    dataset = open_positions([str(path)], errors="ignore").load()
    lines = str(dataset.message.values[0]).splitlines()

    assert len(lines) == 2
    assert lines[0].startswith("truncated: ")
    assert "ends inside a row" in lines[0]
    assert lines[1].startswith("outside_span: ")
    assert "1 of 4 rows outside the grid" in lines[1]
    assert "2020-01-01 to 2020-01-03" in lines[1]


def test_cut_stale_file_warns_both(tmp_path: Path) -> None:
    path = cut_stale_file(tmp_path)

    with pytest.warns(ReadOutcomeWarning) as caught:
        open_positions([str(path)], errors="warn").load()
    texts = [str(item.message) for item in caught]

    assert len(texts) == 1
    assert "truncated: " in texts[0]
    assert "outside_span: " in texts[0]
    assert "outside_span: " in texts[0].splitlines()[1]
    assert texts[0].splitlines()[1].endswith("(status 'truncated')")


def test_cut_file_inside_span_one_fault(tmp_path: Path) -> None:
    path = tmp_path / "TEST.pos"
    path.write_text(pos_text(days=3)[:-60])

    dataset = open_positions([str(path)], errors="ignore").load()
    message = str(dataset.message.values[0])

    assert str(dataset.status.values[0]) == "truncated"
    assert "\n" not in message
    assert not message.startswith("truncated: ")
