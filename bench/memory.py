"""Peak memory of one method run, measured in a fresh subprocess per method.

The measure is the rise of the process's peak resident set size (``VmHWM``
in ``/proc/self/status``) over one run, so it counts the C allocations of
libmseed and NumPy that ``tracemalloc`` misses. ``getrusage`` max RSS would
be wrong here: Linux copies it into a child at ``fork`` and keeps it across
``execve``, so every child would start at the parent's peak of several
hundred MB.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cases import define_cases
from methods import METHODS
from results import CaseResult

from intake_earthscope.storage import StorageSpec

PROC_STATUS = Path("/proc/self/status")
PROC_CLEAR_REFS = Path("/proc/self/clear_refs")

MEMORY_WORKERS = 2
CHILD_TIMEOUT_SECONDS = 300


def peak_rss_available() -> bool:
    """Return whether this system reports the peak RSS in ``/proc`` (Linux)."""
    return PROC_STATUS.exists()


def measure_peak_rss(case_name: str, method_name: str, directory: Path) -> int:
    """Return how far one method run raises this process's peak RSS, in bytes.

    The method first runs on the small case (a), so that imports and ObsPy's
    plugin loading are done before the measured run.
    """
    cases = {case.name: case for case in define_cases()}
    method = METHODS[method_name]
    spec = StorageSpec("file", str(directory))

    warm = cases["a"]
    method(warm, (directory / warm.key).read_bytes(), spec)
    case = cases[case_name]
    data = (directory / case.key).read_bytes()
    gc.collect()

    baseline = _reset_peak_rss()
    result = method(case, data, spec)
    peak = _status_bytes("VmHWM")
    del result
    return peak - baseline


def add_peak_rss(
    results: list[CaseResult], jobs: list[tuple[str, str]], directory: Path
) -> None:
    """Measure each (case, method) job in its own subprocess, two at a time."""
    by_name = {result.case.name: result for result in results}
    with ThreadPoolExecutor(max_workers=MEMORY_WORKERS) as pool:
        increases = pool.map(lambda job: _run_child(*job, directory), jobs)
        for (case_name, method_name), increase in zip(jobs, increases, strict=True):
            by_name[case_name].peak_rss[method_name] = increase


def _run_child(case_name: str, method_name: str, directory: Path) -> int:
    command = [
        sys.executable,
        str(Path(__file__).with_name("run.py")),
        "--peak-rss",
        case_name,
        method_name,
        str(directory),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_SECONDS
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"peak RSS measurement of {method_name!r} on case ({case_name}) "
            f"failed with exit status {completed.returncode}:\n{completed.stderr}"
        )
    return int(completed.stdout.strip().splitlines()[-1])


def _reset_peak_rss() -> int:
    """Reset the peak RSS to the current RSS where Linux allows it, as a baseline.

    Writing 5 to ``clear_refs`` resets ``VmHWM`` (Linux 4.0 and later).
    Where that fails, the baseline is the peak so far, so a run that stays
    below the peak of the imports and the warm-up run shows as 0.
    """
    try:
        PROC_CLEAR_REFS.write_text("5")
    except OSError:
        return _status_bytes("VmHWM")
    return _status_bytes("VmRSS")


def _status_bytes(field: str) -> int:
    for line in PROC_STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            # The kernel reports these fields in kB, meaning KiB.
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not found in {PROC_STATUS}")
