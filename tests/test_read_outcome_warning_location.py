"""ReadOutcomeWarning points at the user's line, or names the dataset.

A warning raised while a dataset opens, or while dask computes it with the
synchronous scheduler, points at the test's own line. One raised in a dask
worker thread cannot, so its message names the dataset and the outcome to
look at. The files are synthetic: NGL tenv3 text from test_gnss_positions,
RINEX 2.11 from test_gnss_rinex, and miniSEED from tests/mseedgen.py.
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path
from typing import Any

import dask
from test_gnss_positions import TENV3_TEXT, pos_text, with_field
from test_gnss_rinex import open_days, product, synthetic_v2, write_days

from intake_earthscope.collection import Collection
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import ReadOutcomeWarning
from intake_earthscope.gnss.position_dataset import open_positions
from intake_earthscope.gnss.rinex_dataset import clear_rinex_cache, open_rinex_obs

from conftest import collection_spec, hour_mirror


def caught_outcomes(
    caught: list[warnings.WarningMessage],
) -> list[warnings.WarningMessage]:
    return [item for item in caught if issubclass(item.category, ReadOutcomeWarning)]


def open_cut_pos_file(tmp_path: Path) -> Any:
    """Open a .pos file whose last row is cut, which the load reports."""
    path = tmp_path / "TEST.pos"
    path.write_text(pos_text(days=3)[:-60])
    return open_positions(
        [str(path)], start="2020-01-01", end="2020-01-04", errors="warn"
    )


def load_outcomes(dataset: Any, scheduler: str) -> list[warnings.WarningMessage]:
    """Load ``dataset`` with the dask ``scheduler``; return its outcome warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with dask.config.set(scheduler=scheduler):
            dataset.load()
    return caught_outcomes(caught)


def test_position_open_warning_points_here(tmp_path: Path) -> None:
    damaged = tmp_path / "TEST.tenv3"
    damaged.write_text(with_field(TENV3_TEXT, 1, 5, "7"))
    good = tmp_path / "GOOD.tenv3"
    good.write_text(TENV3_TEXT.replace("TEST", "GOOD"))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        open_positions([str(damaged), str(good)], errors="warn")
    outcomes = caught_outcomes(caught)

    assert len(outcomes) == 1
    assert outcomes[0].filename == __file__
    assert "raised while dask computed" not in str(outcomes[0].message)


def test_position_task_warning_names_dataset(tmp_path: Path) -> None:
    dataset = open_cut_pos_file(tmp_path)

    outcomes = load_outcomes(dataset, "threads")
    text = str(outcomes[0].message)

    assert len(outcomes) == 1
    assert "raised while dask computed the positions dataset" in text
    assert "outcome_table(dataset)" in text
    assert "station TEST" in text
    assert "(status 'truncated')" in text


def test_position_sync_warning_points_here(tmp_path: Path) -> None:
    dataset = open_cut_pos_file(tmp_path)

    outcomes = load_outcomes(dataset, "sync")

    assert len(outcomes) == 1
    assert outcomes[0].filename == __file__
    assert "raised while dask computed" not in str(outcomes[0].message)


def test_rinex_open_warning_points_here(tmp_path: Path) -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=10)
    write_days(tmp_path, {"044": gzip.compress(text)})

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        open_rinex_obs(
            product("noaa_cors"),
            "SYNT",
            "2015-02-13",
            "2015-02-15",
            errors="warn",
            root=str(tmp_path),
        )
    outcomes = caught_outcomes(caught)

    assert len(outcomes) == 1
    assert "missing" in str(outcomes[0].message)
    assert outcomes[0].filename == __file__


def test_rinex_task_warning_names_dataset(tmp_path: Path) -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=10)
    write_days(tmp_path, {"044": gzip.compress(text)})
    dataset = open_days(tmp_path, 1, "warn")
    # The file goes away between the open and the load.
    clear_rinex_cache()
    for path in tmp_path.rglob("*.gz"):
        path.unlink()

    outcomes = load_outcomes(dataset, "threads")
    message = str(outcomes[0].message)

    assert len(outcomes) == 1
    assert "raised while dask computed the noaa_cors.rinex_obs dataset" in message
    assert "station SYNT" in message
    assert "outcome_table(dataset)" in message


def open_missing_day(tmp_path: Path) -> Any:
    """Open two days of XX.STA..LHZ from a mirror that has the first only."""
    root = hour_mirror(tmp_path / "mirror")
    return open_waveforms(
        Collection.from_yaml(collection_spec("sage")),
        network="XX",
        station="STA",
        location="",
        channel="LHZ",
        start="2024-01-01",
        end="2024-01-03",
        root=str(root),
        errors="warn",
    )


def test_waveform_sync_warning_points_here(tmp_path: Path) -> None:
    dataset = open_missing_day(tmp_path)

    outcomes = load_outcomes(dataset, "sync")

    assert len(outcomes) == 1
    assert "status 'missing'" in str(outcomes[0].message)
    assert outcomes[0].filename == __file__


def test_waveform_task_warning_names_outcome(tmp_path: Path) -> None:
    dataset = open_missing_day(tmp_path)

    outcomes = load_outcomes(dataset, "threads")
    message = str(outcomes[0].message)

    assert len(outcomes) == 1
    assert "raised while dask computed the dataset" in message
    assert "outcome_table(dataset)" in message
