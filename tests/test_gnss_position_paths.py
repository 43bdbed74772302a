"""The ``paths`` of open_positions: local patterns and folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_gnss_position_missing_days import write_pos

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.gnss.position_dataset import open_positions


def folder_of_files(root: Path) -> Path:
    """Write two stations' files, a text file and a folder named like a
    position file into one folder."""
    for station in ("BBBB", "AAAA"):
        write_pos(root, station, [1, 2])
    folder = root / "flat"
    folder.mkdir()
    for path in sorted(root.glob("products/position/*/*.pos")):
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "notes.txt").write_text("not a position file\n")
    (folder / "sub.pos").mkdir()
    return folder


def test_pattern_reads_matching_files(tmp_path: Path) -> None:
    folder = folder_of_files(tmp_path)

    dataset = open_positions(
        str(folder / "*.pos"), start="2024-01-01", end="2024-01-03"
    )

    assert dataset["station"].values.tolist() == ["AAAA", "BBBB"]
    assert dataset["days"].values.tolist() == [2, 2]


def test_pattern_in_list_and_file_url(tmp_path: Path) -> None:
    folder = folder_of_files(tmp_path)
    paths = [f"file://{folder}/A*.pos", str(folder / "BBBB.cwu.final_nam14.pos")]

    dataset = open_positions(paths, start="2024-01-01", end="2024-01-03")

    assert dataset["station"].values.tolist() == ["AAAA", "BBBB"]


def test_pattern_without_match(tmp_path: Path) -> None:
    folder = folder_of_files(tmp_path)
    pattern = str(folder / "*.tenv3")

    with pytest.raises(InvalidRequestError, match="no file matches the pattern"):
        open_positions(pattern)


def test_folder_names_a_pattern(tmp_path: Path) -> None:
    folder = folder_of_files(tmp_path)

    with pytest.raises(InvalidRequestError) as caught:
        open_positions(str(folder))
    message = str(caught.value)

    assert "a folder, not a position file" in message
    assert repr(str(folder / "*.pos")) in message
