"""Benchmark decode-and-place per chunk against pymseed and ObsPy on the same bytes.

Run it from the repository root with ``make bench`` or::

    .venv/bin/python bench/run.py

It builds five station-day inputs (``bench/cases.py``), times each method
(``bench/methods.py``) on each input, interleaved and repeated, then measures
each method's peak memory in a fresh subprocess (``bench/memory.py``). It
prints the table of time ratios and rewrites ``docs/benchmarks.md``. On a
shared 2-core AMD EPYC VM the run took 47-77 s, of which 20-41 s was the one
run of ObsPy's merge of the many-gaps day.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from cases import Case, define_cases, write_inputs
from memory import add_peak_rss, measure_peak_rss, peak_rss_available
from methods import METHODS, Method, compare_outputs, methods_for
from report import gap_table, machine_description, ratio_table, render_page
from results import CaseResult

from intake_earthscope.storage import StorageSpec

REPEATS = 7

# A method whose runs of one case add up to more than this stops repeating
# (after at least one run), so ObsPy's merge of 5,000 traces runs once.
SLOW_METHOD_SECONDS = 10.0

# Peak memory is measured on the 100 Hz days. Case (a) is too small to rise
# above the noise, and the ObsPy path of case (d) is left out because one run
# of its merge takes 20-41 s (shared 2-core AMD EPYC VM, ObsPy 1.5.1).
MEMORY_JOBS = [
    (case, method)
    for case in ("b", "c", "d")
    for method in METHODS
    if (case, method) != ("d", "obspy")
]

COMPARED_METHODS = ("ours", "obspy", "chunk")

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

# Benchmarks of other parts, each a module in bench/ whose measure() returns
# a Markdown section that is appended to the page.
SECTIONS = ("scale", "windows", "gnss_positions", "gnss_rinex")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, then run the benchmark or one memory measurement."""
    args = _parse_arguments(argv)
    if args.peak_rss:
        case_name, method_name, directory = args.peak_rss
        print(measure_peak_rss(case_name, method_name, Path(directory)))
        return

    began = time.perf_counter()
    load = os.getloadavg()[0]
    results = run_benchmark(args.repeats)
    elapsed = time.perf_counter() - began

    print(ratio_table(results))
    print(gap_table(results))
    machine = machine_description(load)
    page = render_page(results, args.repeats, SLOW_METHOD_SECONDS, machine, elapsed)
    for name in args.sections:
        print(f"running the {name} benchmark", flush=True)
        section = importlib.import_module(name).measure()
        print(section)
        page = page.rstrip("\n") + "\n\n" + section
    args.output.write_text(page)
    print(f"\nwrote {args.output} in {time.perf_counter() - began:.0f} s")


def run_benchmark(repeats: int) -> list[CaseResult]:
    """Build the inputs, time every method on each, then measure peak memory."""
    cases = define_cases()
    with tempfile.TemporaryDirectory(prefix="intake-earthscope-bench-") as tmp:
        directory = Path(tmp)
        sizes = write_inputs(cases, directory)
        spec = StorageSpec("file", str(directory))

        # Load ObsPy's format plugins and every import outside the timed runs.
        _warm_up(cases[0], directory, spec)

        results = []
        for case in cases:
            data = (directory / case.key).read_bytes()
            print(f"timing case ({case.name}): {case.title}", flush=True)
            results.append(_time_case(case, data, spec, repeats, sizes[case.name]))

        if peak_rss_available():
            print("measuring peak memory, one subprocess per method", flush=True)
            add_peak_rss(results, MEMORY_JOBS, directory)
    return results


def _time_case(
    case: Case, data: bytes, spec: StorageSpec, repeats: int, size: int
) -> CaseResult:
    methods = methods_for(case)
    wall: dict[str, list[float]] = {name: [] for name in methods}
    user: dict[str, list[float]] = {name: [] for name in methods}
    # Only the compared results are kept, because one result of case (b) is
    # a 207 MB float64 block.
    first_results: dict[str, object] = {}

    for order in _rotations(list(methods), repeats):
        for name in order:
            if sum(wall[name]) > SLOW_METHOD_SECONDS:
                continue
            wall_seconds, user_seconds, result = _time_once(
                methods[name], case, data, spec
            )
            wall[name].append(wall_seconds)
            user[name].append(user_seconds)
            if name in COMPARED_METHODS:
                first_results.setdefault(name, result)
            del result

    agreement = compare_outputs(
        case, first_results["ours"], first_results["obspy"], first_results["chunk"]
    )
    return CaseResult(case, size, wall, user, agreement)


def _rotations(names: list[str], repeats: int) -> Iterator[list[str]]:
    """Yield the method order of each repetition, rotated by one each time.

    Rotating keeps any method from always running right after the same
    other one, whose freed memory or cache state it would inherit.
    """
    for repetition in range(repeats):
        shift = repetition % len(names)
        yield names[shift:] + names[:shift]


def _time_once(
    method: Method, case: Case, data: bytes, spec: StorageSpec
) -> tuple[float, float, object]:
    """Run ``method`` once and return its wall-clock and user CPU seconds and result."""
    gc.collect()
    wall_start = time.perf_counter()
    user_start = _user_seconds()
    result = method(case, data, spec)
    user = _user_seconds() - user_start
    return time.perf_counter() - wall_start, user, result


def _user_seconds() -> float:
    # os.times() counts in clock ticks (usually 10 ms), getrusage in microseconds.
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


def _warm_up(case: Case, directory: Path, spec: StorageSpec) -> None:
    data = (directory / case.key).read_bytes()
    for method in METHODS.values():
        method(case, data, spec)


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats",
        type=int,
        default=REPEATS,
        help=f"timed runs of each method per case (default {REPEATS})",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="Markdown page to write (default docs/benchmarks.md)",
    )
    parser.add_argument(
        "--sections",
        type=lambda text: [name for name in text.split(",") if name],
        default=list(SECTIONS),
        help=f"comma list of further benchmarks to run (default {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--peak-rss",
        nargs=3,
        metavar=("CASE", "METHOD", "DIRECTORY"),
        help="print one method's peak RSS increase in bytes (used internally)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
