"""Local paths of open_positions that hold wildcard characters in a file name.

A file named ``P[1]23...pos`` exists as typed, so it is read as that file,
not as a pattern that ``glob`` would match to ``P123...pos``.
"""

from __future__ import annotations

from pathlib import Path

from test_gnss_position_missing_days import write_pos

from intake_earthscope.gnss.position_dataset import open_positions


def test_existing_name_with_brackets_is_that_file(tmp_path: Path) -> None:
    write_pos(tmp_path, "AAAA", [1, 2])
    write_pos(tmp_path, "BBBB", [1])
    (source_a,) = tmp_path.glob("products/position/AAAA/*.pos")
    (source_b,) = tmp_path.glob("products/position/BBBB/*.pos")
    folder = tmp_path / "flat"
    folder.mkdir()
    # The bracketed name contains AAAA's two days. The name its pattern
    # matches, "A1AA...", contains BBBB's one day.
    bracketed = folder / "A[1]AA.pos"
    bracketed.write_bytes(source_a.read_bytes())
    (folder / "A1AA.pos").write_bytes(source_b.read_bytes())

    dataset = open_positions(str(bracketed), start="2024-01-01", end="2024-01-03")

    assert dataset["station"].values.tolist() == ["A[1]"]
    assert dataset["days"].values.tolist() == [2]


def test_hidden_files_left_out_of_a_pattern(tmp_path: Path) -> None:
    write_pos(tmp_path, "AAAA", [1, 2])
    (source,) = tmp_path.glob("products/position/AAAA/*.pos")
    folder = tmp_path / "flat"
    folder.mkdir()
    (folder / "AAAA.pos").write_bytes(source.read_bytes())
    (folder / ".AAAA.pos").write_bytes(source.read_bytes())

    dataset = open_positions(
        str(folder / "*.pos"), start="2024-01-01", end="2024-01-03"
    )

    assert dataset["station"].values.tolist() == ["AAAA"]
