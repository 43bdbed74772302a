"""Benchmark: one RINEX observation day decoded by intake-earthscope and georinex.

A synthetic day is written first (30 s epochs, 30 GPS satellites, 8
observation codes), once as plain RINEX 2.11 text and once Hatanaka
compressed plus gzip, the form NOAA CORS serves. Each reader decodes each
file; the best of a few runs is kept, and the report gives ratios only.
Run with ``python bench/gnss_rinex.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import hatanaka

from intake_earthscope.gnss.rinex import read_rinex
from intake_earthscope.gnss.rinexgen import rinex2_text, synthetic_observations

logger = logging.getLogger(__name__)

EPOCHS = 2880
SATELLITES = [f"G{n:02d}" for n in range(1, 31)]
CODES = ["C1", "P1", "P2", "L1", "L2", "S1", "S2", "C5"]
RUNS = 5


def write_day(directory: Path) -> dict[str, Path]:
    """Write the synthetic day as plain text and as Hatanaka plus gzip."""
    start = dt.datetime(2024, 3, 1)
    times, values = synthetic_observations(start, EPOCHS, 30.0, SATELLITES, CODES)
    text = rinex2_text("BNCH", times, SATELLITES, values)
    files = {
        "RINEX 2.11 text (.24o)": directory / "bnch0610.24o",
        "Hatanaka + gzip (.24d.gz)": directory / "bnch0610.24d.gz",
    }
    files["RINEX 2.11 text (.24o)"].write_bytes(text)
    files["Hatanaka + gzip (.24d.gz)"].write_bytes(
        hatanaka.compress(text, compression="gz")
    )
    return files


def best_time(run: Callable[[], object]) -> float:
    """Return the shortest wall time of :data:`RUNS` calls of ``run``."""
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def georinex_load(path: Path) -> object:
    """Load ``path`` with georinex, quietly (it warns on every merge)."""
    import georinex

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return georinex.load(path)


def measure() -> str:
    """Run the benchmark and return its markdown section."""
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, path in write_day(Path(folder)).items():
            ours = best_time(lambda path=path: read_rinex(path.read_bytes()))
            theirs = best_time(lambda path=path: georinex_load(path))
            rows.append(f"| {label} | {theirs / ours:.1f} |")

    return "\n".join(
        [
            "## GNSS RINEX",
            "",
            f"Method: one synthetic RINEX 2.11 day ({EPOCHS} epochs at 30 s, "
            f"{len(SATELLITES)} satellites, {len(CODES)} observation codes), "
            "decoded from bytes to float64 arrays by "
            "`intake_earthscope.gnss.rinex.read_rinex` and by `georinex.load` "
            f"on the same file; best of {RUNS} runs each, in one process.",
            "",
            "| file | georinex time / intake-earthscope time |",
            "|---|---|",
            *rows,
            "",
            f"Load average {load:.1f} when the run began.",
            "",
        ]
    )


def main() -> None:
    """Print the markdown section."""
    print(measure())


if __name__ == "__main__":
    main()
