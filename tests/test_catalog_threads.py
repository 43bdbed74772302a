"""Nested catalogs opened from many threads at once in a fresh process.

The first open of a nested catalog imports its drivers (and dask with them).
Threads that import dask at the same moment can see it half-initialised and
fail with an ImportError, so nested catalogs load one at a time. Each run is
a new interpreter, because only the first import races.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "earthscope.yaml"

SCRIPT = f"""
import warnings
from concurrent.futures import ThreadPoolExecutor

import intake

warnings.simplefilter("ignore")
cat = intake.open_catalog({str(CATALOG)!r})
names = ["sage", "scedc", "ncedc", "gage"]


def use(number):
    nested = getattr(cat, names[number % len(names)])
    return nested[list(nested)[0]].describe()["container"]


with ThreadPoolExecutor(16) as pool:
    print(sorted(set(pool.map(use, range(32)))))
"""


def test_threads_open_nested_catalogs_at_once() -> None:
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "['xarray']"
