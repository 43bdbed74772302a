"""Benchmark daily GNSS positions: the dataset path against plain pandas.

Run it from the repository root with::

    .venv/bin/python bench/gnss_positions.py

It writes 1,000 synthetic PBO ``.pos`` files (format 1.1.0, 730 days
each, spans staggered) to a temporary directory, then times, interleaved
and repeated:

* ``ours``: :func:`intake_earthscope.gnss.position_dataset.open_positions`
  with a window, then ``.load()`` on dask's default threaded scheduler;
* ``pandas``: ``pandas.read_csv`` of each file and one ``pandas.concat``;
* ``pandas + grid``: the same, then a pivot of north, east and up onto a
  (station, day) grid, which is what the dataset delivers.

:func:`measure` returns the markdown section; :func:`main` prints it.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from intake_earthscope.gnss.position_dataset import open_positions

STATIONS = 1_000
DAYS = 730
REPEATS = 2
FIRST_DAY = np.datetime64("2016-01-01")

# Column names of a .pos row, for the plain pandas read.
POS_COLUMNS = (
    "ymd hms mjd x y z sx sy sz rxy rxz ryz lat lon height "
    "dn de du sn se su rne rnu reu soln"
).split()
HEADER_LINES = 10


def write_pos(
    path: Path, station: str, first: np.datetime64, days: int, seed: int
) -> None:
    """Write one synthetic PBO ``.pos`` file with a random-walk series."""
    rng = np.random.default_rng(seed)
    dates = first + np.arange(days)
    mjd = (dates - np.datetime64("1858-11-17")).astype(np.int64) + 0.5
    walk = np.cumsum(rng.normal(0, 0.001, size=(days, 3)), axis=0)
    ymd = pd.DatetimeIndex(dates).strftime("%Y%m%d")
    header = (
        "PBO Station Position Time Series. Reference Frame : NAM14\n"
        "Format Version: 1.1.0\n"
        f"4-character ID: {station}\n"
        "Station name  : Synthetic\n"
        f"First Epoch   : {ymd[0]} 120000\n"
        f"Last Epoch    : {ymd[-1]} 120000\n"
        "Release Date  : 20240101 000000\n"
        "XYZ Reference position :  -2728552.76567 -4059578.57836  4080378.74254"
        " (NAM14)\n"
        "NEU Reference position :    40.0244429509  236.0938828649  488.99986"
        " (NAM14/WGS84)\n"
        "*YYYYMMDD HHMMSS JJJJJ.JJJJ X Y Z Sx Sy Sz Rxy Rxz Ryz NLat Elong Height "
        "dN dE dU Sn Se Su Rne Rnu Reu Soln\n"
    )
    rows = [
        f" {date} 120000 {day:.4f} -2728552.75872 -4059578.68050  4080378.65052  "
        f"0.00524  0.00799  0.00709  0.845 -0.808 -0.830      40.0244418478  "
        f"236.0938835998  489.00262 {n:11.5f} {e:9.5f} {u:9.5f}    0.00312  "
        f"0.00246  0.01122 -0.159 -0.205  0.127 final\n"
        for date, day, (n, e, u) in zip(ymd, mjd, walk, strict=True)
    ]
    path.write_text(header + "".join(rows))


def write_inputs(directory: Path) -> list[str]:
    """Write the station files; spans are staggered by up to a year."""
    paths = []
    for index in range(STATIONS):
        station = f"S{index:03d}"
        path = directory / f"{station}.cwu.final_nam14.pos"
        write_pos(path, station, FIRST_DAY + index % 365, DAYS, seed=index)
        paths.append(str(path))
    return paths


def run_ours(paths: list[str]) -> object:
    end = FIRST_DAY + 365 + DAYS
    return open_positions(paths, start=str(FIRST_DAY), end=str(end)).load()


def run_pandas(paths: list[str]) -> pd.DataFrame:
    frames = []
    for path in paths:
        frame = pd.read_csv(
            path, sep=r"\s+", skiprows=HEADER_LINES, header=None, names=POS_COLUMNS
        )
        frame["station"] = Path(path).name[:4]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def run_pandas_grid(paths: list[str]) -> pd.DataFrame:
    table = run_pandas(paths)
    return table.pivot(index="station", columns="mjd", values=["dn", "de", "du"])


METHODS: dict[str, Callable[[list[str]], object]] = {
    "ours": run_ours,
    "pandas": run_pandas,
    "pandas + grid": run_pandas_grid,
}


def timings(paths: list[str]) -> dict[str, list[float]]:
    """Time each method ``REPEATS`` times, interleaved."""
    seconds: dict[str, list[float]] = {name: [] for name in METHODS}
    for _ in range(REPEATS):
        for name, method in METHODS.items():
            started = time.perf_counter()
            method(paths)
            seconds[name].append(time.perf_counter() - started)
    return seconds


def measure() -> str:
    """Run the benchmark and return its markdown section."""
    with tempfile.TemporaryDirectory(prefix="gnss-positions-bench-") as directory:
        paths = write_inputs(Path(directory))
        seconds = timings(paths)
    load = os.getloadavg()
    median = {name: statistics.median(values) for name, values in seconds.items()}

    lines = [
        "## GNSS positions",
        "",
        f"Method: {STATIONS:,} synthetic PBO `.pos` files of {DAYS:,} days each, "
        "written at run time, read from a local temporary directory. `ours` "
        "is `open_positions(paths, start, end).load()` (one dask task per "
        "file, default threaded scheduler), giving every component on a "
        "(station, day) grid. `pandas` is `read_csv` per file and one "
        "`concat`; `pandas + grid` adds a pivot of north, east and up to "
        f"(station, day). Median of {REPEATS} interleaved runs; the table "
        "gives each method's time divided by the plain pandas time.",
        "",
        "| method | time / pandas |",
        "|---|---|",
    ]
    for name in METHODS:
        lines.append(f"| {name} | {median[name] / median['pandas']:.2f} |")
    lines += [
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs; load average "
        f"after the run {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} (1, 5, 15 min).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print the benchmark section."""
    print(measure())


if __name__ == "__main__":
    main()
