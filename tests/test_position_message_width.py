"""A position message longer than the message variable's width is cut with a
note, and the whole message stays in the log.

The file is a synthetic GAGE CSV whose column header names 150 columns and
no North column, so its DecodeError lists every column.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from test_gnss_positions import CSV_TEXT

from intake_earthscope.gnss.position_dataset import MESSAGE_WIDTH, open_positions

LOGGER = "intake_earthscope.gnss.position_dataset"


def write_wide_csv(tmp_path: Path) -> Path:
    columns = "Date, " + ", ".join(f"Extra column {i} (mm)" for i in range(150))
    lines = CSV_TEXT.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Date,"))
    path = tmp_path / "TEST.csv"
    path.write_text("\n".join(lines[:header] + [columns + ","]) + "\n")
    return path


def test_long_message_fits_width(tmp_path: Path) -> None:
    path = write_wide_csv(tmp_path)

    dataset = open_positions(
        [str(path)], start="2020-01-01", end="2020-01-04", errors="ignore"
    ).load()
    message = str(dataset.message.values[0])

    assert str(dataset.status.values[0]) == "unreadable"
    assert len(message) <= MESSAGE_WIDTH
    assert message.startswith(f"{path.as_uri()} has no 'North' column")


def test_long_message_names_cut(tmp_path: Path) -> None:
    path = write_wide_csv(tmp_path)

    dataset = open_positions(
        [str(path)], start="2020-01-01", end="2020-01-04", errors="ignore"
    ).load()
    message = str(dataset.message.values[0])
    note = re.search(r" \.\.\. \[(\d+) more characters; (.*)\]$", message)

    assert note is not None
    assert int(note.group(1)) > 0
    assert f"INFO log of {LOGGER}" in note.group(2)


def test_long_message_whole_in_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_wide_csv(tmp_path)

    with caplog.at_level(logging.INFO, logger=LOGGER):
        dataset = open_positions(
            [str(path)], start="2020-01-01", end="2020-01-04", errors="ignore"
        ).load()
    message = str(dataset.message.values[0])
    note = re.search(r" \.\.\. \[(\d+) more characters", message)
    assert note is not None
    logged = [r.getMessage() for r in caplog.records if "whole message" in r.msg]

    assert len(logged) == 1
    whole = logged[0].removeprefix("whole message, cut in the dataset: ")
    start = message[: note.start()]
    assert whole.endswith("Extra column 149 (mm)', '']")
    assert whole.startswith(start)
    assert len(whole) == len(start) + int(note.group(1))
