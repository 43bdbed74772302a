"""A missing local position file is called a file, at its path.

The storage layer calls every missing key an object, as object stores do.
A ``.pos`` file given to open_positions by path, or under a local mirror of
the GAGE layout, is a file, and the message names the path to check. Files
on S3 and HTTPS keep the storage layer's wording.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from test_gnss_position_missing_days import write_pos

from intake_earthscope.cli import EXIT_PROBLEM, main
from intake_earthscope.errors import ObjectNotFoundError, ReadOutcomeWarning
from intake_earthscope.gnss.position_dataset import open_positions


def test_missing_path_named_as_file(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "P123.pos"

    with pytest.raises(ObjectNotFoundError) as raised:
        open_positions(str(path))

    message = str(raised.value)
    assert message.startswith(f"position file not found: {path}; ")
    assert "object" not in message
    assert "mirror" not in message
    assert "file://" not in message


def test_missing_path_beside_present_file(tmp_path: Path) -> None:
    write_pos(tmp_path, "AAAA", [1, 2])
    present = next(tmp_path.glob("products/position/*/*.pos"))
    absent = tmp_path / "P123.pos"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = open_positions(
            [str(present), str(absent)],
            start="2024-01-01",
            end="2024-01-03",
            errors="warn",
        ).load()

    texts = [str(w.message) for w in caught if w.category is ReadOutcomeWarning]
    assert dataset["status"].values.tolist() == ["ok", "missing"]
    assert dataset["message"].values[1] == f"position file not found: {absent}"
    assert len(texts) == 1
    assert texts[0].startswith(f"position file not found: {absent}; station P123")


def test_mirror_file_named_with_mirror(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "export", "gage.positions", "--station", "P123", "--start",
            "2024-01-01", "--end", "2024-01-03", "--root", str(tmp_path),
            "--no-progress", str(tmp_path / "out.nc"),
        ]
    )  # fmt: skip
    err = capsys.readouterr().err

    expected = tmp_path / "products/position/P123/P123.cwu.final_nam14.pos"
    assert code == EXIT_PROBLEM
    assert f"position file not found: {expected} (mirror {tmp_path})" in err
    assert "object" not in err
