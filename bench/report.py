"""Benchmark results and the Markdown page ``docs/benchmarks.md`` made from them."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np
import obspy
import pymseed
from cases import RECORD_LENGTH
from interpretation import interpret
from results import CaseResult, format_ratio

LABELS = {
    "pymseed": "pymseed unpack",
    "obspy": "ObsPy path",
    "ours": "ours",
    "chunk": "chunk path",
    "obspy_sourcename": "ObsPy path with `sourcename=`",
}
CONTEXT_METHODS = ("pymseed", "obspy", "ours", "chunk")
GAP_METHODS = ("pymseed", "ours", "chunk")


def ratio_table(results: list[CaseResult], clock: str = "wall") -> str:
    """Render the time ratios of ours and the chunk path to both anchors."""
    header = [
        "Case",
        "ours ÷ pymseed",
        "ours ÷ ObsPy",
        "ObsPy ÷ ours (× faster)",
        "chunk path ÷ pymseed",
        "ObsPy ÷ chunk path (× faster)",
    ]
    rows = [
        [
            f"({result.case.name})",
            format_ratio(result.time_ratio("ours", "pymseed", clock)),
            format_ratio(result.time_ratio("ours", "obspy", clock)),
            format_ratio(result.time_ratio("obspy", "ours", clock)),
            format_ratio(result.time_ratio("chunk", "pymseed", clock)),
            format_ratio(result.time_ratio("obspy", "chunk", clock)),
        ]
        for result in results
    ]
    return _table(header, rows)


def gap_table(results: list[CaseResult], clock: str = "wall") -> str:
    """Render each method's time on the gappy day (d) over the gap-free day (e)."""
    by_name = {result.case.name: result for result in results}
    gaps, gap_free = by_name.get("d"), by_name.get("e")
    if gaps is None or gap_free is None:
        return ""
    header = ["Method", "(d) ÷ (e), wall clock", "(d) ÷ (e), user CPU"]
    rows = [
        [
            LABELS[name],
            format_ratio(gaps.median(name) / gap_free.median(name)),
            format_ratio(gaps.median(name, "user") / gap_free.median(name, "user")),
        ]
        for name in GAP_METHODS
    ]
    return _table(header, rows)


def target_table(by_name: dict[str, CaseResult]) -> str:
    """Render the decoding targets, each with the measured ratio and a verdict."""
    dense, gaps, gap_free = by_name.get("b"), by_name.get("d"), by_name.get("e")
    if dense is None or gaps is None or gap_free is None:
        return ""
    checks = [
        (
            "decode and place (b) ÷ pymseed unpack",
            dense.median("ours") / dense.median("pymseed"),
            1.25,
        ),
        (
            "decode and place (b) ÷ ObsPy path",
            dense.median("ours") / dense.median("obspy"),
            1 / 1.5,
        ),
        (
            "5,000 gaps (d) ÷ no gaps (e), ours",
            gaps.median("ours") / gap_free.median("ours"),
            2.0,
        ),
    ]
    rows = [
        [name, format_ratio(value), f"≤ {bound:.3g}", "yes" if value <= bound else "no"]
        for name, value, bound in checks
    ]
    return _table(["measure", "ratio", "target", "met"], rows)


def memory_table(results: list[CaseResult]) -> str:
    """Render the peak-memory ratios of the cases measured in subprocesses."""
    header = ["Case", "ours ÷ pymseed", "ours ÷ ObsPy", "chunk path ÷ ObsPy"]
    rows = [
        [
            f"({result.case.name})",
            format_ratio(result.memory_ratio("ours", "pymseed")),
            format_ratio(result.memory_ratio("ours", "obspy")),
            format_ratio(result.memory_ratio("chunk", "obspy")),
        ]
        for result in results
        if result.peak_rss
    ]
    if not rows:
        return "Not measured: this system has no `/proc/self/status`."
    return _table(header, rows)


def context_table(results: list[CaseResult]) -> str:
    """Render median wall-clock times with run counts and spread, for context."""
    header = ["Case", "input", *(LABELS[name] for name in CONTEXT_METHODS), "outputs"]
    rows = []
    for result in results:
        cells = [_median_cell(result, name) for name in CONTEXT_METHODS]
        size = f"{result.size / 1e6:.1f} MB"
        rows.append([f"({result.case.name})", size, *cells, result.agreement])
    return _table(header, rows)


def memory_context_table(results: list[CaseResult]) -> str:
    """Render the peak RSS increases in MB, for context."""
    header = ["Case", *(LABELS[name] for name in CONTEXT_METHODS)]
    rows = [
        [
            f"({result.case.name})",
            *(_megabytes(result, name) for name in CONTEXT_METHODS),
        ]
        for result in results
        if result.peak_rss
    ]
    return _table(header, rows)


def machine_description(load: float) -> str:
    """Describe the CPU, core count, load and library versions of this run."""
    return (
        f"{_cpu_model()}, {os.cpu_count()} cores as seen by the OS, 1-minute "
        f"load average {load:.1f} when the run began. Python "
        f"{platform.python_version()}, NumPy {np.__version__}, "
        f"pymseed {pymseed.__version__}, ObsPy {obspy.__version__}"
    )


def render_page(
    results: list[CaseResult],
    repeats: int,
    slow_seconds: float,
    machine: str,
    elapsed: float,
) -> str:
    """Render ``docs/benchmarks.md``."""
    by_name = {result.case.name: result for result in results}
    head = _PAGE_HEAD.format(
        repeats=repeats,
        slow_seconds=slow_seconds,
        machine=machine,
        elapsed=elapsed,
        record=RECORD_LENGTH,
    )
    sections = [
        head,
        _case_list(results),
        "## Targets\n\n" + _TARGET_NOTE,
        target_table(by_name),
        "## Time ratios\n\n" + _TIME_NOTE,
        ratio_table(results),
        _sourcename_line(by_name),
        "## Gaps against no gaps\n\n" + _GAP_NOTE,
        gap_table(results),
        "## Time ratios in user CPU time\n\n" + _user_time_note(by_name),
        ratio_table(results, clock="user"),
        "## Peak memory ratios\n\n" + _MEMORY_NOTE,
        memory_table(results),
        "## Interpretation",
        interpret(by_name),
        "## Medians for context\n\n" + _CONTEXT_NOTE,
        context_table(results),
        "Peak RSS increase of one run in a fresh subprocess:",
        memory_context_table(results),
    ]
    return "\n\n".join(section.strip() for section in sections if section) + "\n"


def _case_list(results: list[CaseResult]) -> str:
    lines = ["## Inputs", ""]
    for result in results:
        lines.append(f"- ({result.case.name}) {result.case.title}")
    return "\n".join(lines)


def _sourcename_line(by_name: dict[str, CaseResult]) -> str:
    result = by_name.get("c")
    if result is None or "obspy_sourcename" not in result.wall:
        return ""
    ratio = result.time_ratio("obspy_sourcename", "ours")
    return (
        "In case (c), an ObsPy user who passes `sourcename=` to `obspy.read` "
        "skips the other channels' records the way ours does: ObsPy with "
        f"`sourcename=` ÷ ours = {format_ratio(ratio)}."
    )


def _user_time_note(by_name: dict[str, CaseResult]) -> str:
    """Explain the user-time table with the spread of ours on case (b)."""
    text = (
        "The same ratios from user CPU time (`getrusage` `ru_utime`), which leaves "
        "out the kernel's time. The kernel's share is what varies most here: "
        "each large new NumPy array is backed by fresh pages (NumPy asks Linux "
        "for huge pages), which the kernel has to find and zero."
    )
    dense = by_name.get("b")
    if dense is not None:
        text += (
            " In this run, the longest wall-clock run of ours on case (b) took "
            f"{_run_spread(dense.wall['ours'])}× the shortest, and the longest "
            f"in user time {_run_spread(dense.user['ours'])}× the shortest."
        )
    return text + (
        " That kernel time is a real cost of allocating memory, so the "
        "wall-clock table is the headline, and this one shows the work done "
        "in the process itself."
    )


def _run_spread(runs: list[float]) -> str:
    shortest = min(runs)
    return format_ratio(max(runs) / shortest if shortest > 0 else None)


def _median_cell(result: CaseResult, method: str) -> str:
    low, high = result.spread(method)
    median = result.median(method)
    runs = len(result.wall[method])
    if runs == 1:
        return f"{median * 1e3:,.0f} ms (1 run)"
    return f"{median * 1e3:,.0f} ms ({runs} runs, {low * 1e3:,.0f}–{high * 1e3:,.0f})"


def _megabytes(result: CaseResult, method: str) -> str:
    increase = result.peak_rss.get(method)
    return "n/a" if increase is None else f"{increase / 1e6:,.0f} MB"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


_TIME_NOTE = """\
Ratios of median wall-clock times. Below 1, ours takes less time than the
anchor. The "× faster" columns are the inverse."""

_TARGET_NOTE = """Median wall-clock ratios of this run against the targets: decoding
at least 0.8 times the throughput of the pymseed unpack (a time ratio of
at most 1.25) and 1.5 times that of the ObsPy path (at most 0.67), and a
day of 5,000 gaps in at most twice the time of a gap-free day."""

_GAP_NOTE = """\
Median time of each method on the day of 5,000 segments (d) over its
median time on the gap-free day of as many samples (e). The target is at
most 2 for ours: gaps may cost, but not more than the samples do."""

_CONTEXT_NOTE = """\
Median wall-clock time, with the number of timed runs and the shortest and
longest run in ms. These depend on the machine, so the ratios above are the
result. In case (a), the LHZ samples fall 0.58 s after whole seconds. Ours
puts each sample at the nearest index of the day's grid of whole seconds,
0.42 s later (the dataset's `time_offset` says so), while the ObsPy path's
trim counts from the second before, hence "1 index later in ours"."""

_MEMORY_NOTE = """\
Each method runs once in a fresh subprocess, after one run on the small case
(a) so that imports are done. The figure is the rise of the peak resident set
size (`VmHWM` in `/proc/self/status`, reset before the run) over that run,
which counts the C allocations of libmseed and NumPy that `tracemalloc`
misses. `getrusage` max RSS is not used because Linux carries it from parent
to child across `fork` and `execve`. Case (a) is left out because its rises
are a few MB, and the ObsPy path of case (d) because one run of it takes
tens of seconds (see the context table)."""

_PAGE_HEAD = """\
# Benchmarks

This page is written by `bench/run.py` (`make bench`), so edit the script,
not the page. It compares our decode-and-place step with two anchors measured in
the same run on the same bytes, and reports ratios, because absolute times
depend on the machine.

## What is measured

- **ours**: `intake_earthscope.decode.decode_and_place(data, traces, grid, 0,
  grid.size, 1e-4)`, which decodes the requested channels' records and
  places their samples on the day's grid as one float64 row per trace, NaN
  where no sample landed.
- **chunk path**: `finish_chunk(read_unit(StorageSpec("file", dir), key, ...),
  None, grid)`, the whole task a dask chunk runs: a local file read through
  fsspec, the same decode and placement, then the per-trace outcome arrays.
  Unlike the other methods, it reads the bytes from a file (in the page
  cache).
- **pymseed unpack**, the floor: `pymseed.MS3TraceList.from_buffer(data,
  unpack_data=True, sourceid=<the glob ours uses>)`, taking `np_datasamples`
  of every segment. It decodes the same records ours decodes, and makes no
  copy, no float conversion and no placement.
- **ObsPy path**, what users write today: `obspy.read(BytesIO(data))`,
  keeping the requested traces, `st.merge(method=1, fill_value=None)`,
  conversion of each trace to float64 with NaN in gaps, and
  `st.trim(day_start, day_end, pad=True, fill_value=np.nan)`.

## How

- Script: `bench/run.py` (inputs in `bench/cases.py`, methods in
  `bench/methods.py`, peak memory in `bench/memory.py`).
- Each method runs once untimed on case (a) to load imports and ObsPy's
  plugins, then {repeats} times per case, interleaved: each repetition runs
  every method once, in an order rotated by one from the previous
  repetition. A method whose runs of one case add up to more than
  {slow_seconds:.0f} s stops repeating, so ObsPy's merge of case (d) runs once.
- Synthetic days are Steim2 in {record}-byte miniSEED 2 records, written with
  pymseed from int32 random walks (normal steps, sigma 40 counts).
- Outputs are compared: the last column of the context table says whether
  ours, the chunk path and the ObsPy path returned the same arrays.
- Machine: {machine}. The run took {elapsed:.0f} s."""
