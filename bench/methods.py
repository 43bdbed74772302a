"""The benchmarked ways of turning one station-day's bytes into per-trace arrays.

Every method takes the same arguments, ``(case, data, spec)``, so the timing
loop can call them alike. Only :func:`finish_chunk_path` reads the bytes from
``spec`` instead of ``data``, because fetching is part of that path.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import numpy as np
import obspy
import pymseed
from cases import Case

from intake_earthscope.codes import record_selection
from intake_earthscope.decode import decode_and_place
from intake_earthscope.storage import StorageSpec
from intake_earthscope.tasks import finish_chunk, read_unit

RATE_TOLERANCE = 1e-4

Method = Callable[[Case, bytes, StorageSpec], object]


def decode_with_pymseed(case: Case, data: bytes, spec: StorageSpec) -> int:
    """Decode the records ours decodes and take a view of each segment.

    This is the floor: libmseed's decoding with no copy, no float conversion
    and no placement. It returns the number of samples decoded.
    """
    selection = record_selection(case.traces)
    decoded = 0
    with pymseed.MS3TraceList.from_buffer(
        data, unpack_data=True, sourceid=selection
    ) as traces:
        for trace in traces:
            for segment in trace:
                decoded += segment.np_datasamples.size
    return decoded


def read_with_obspy(case: Case, data: bytes, spec: StorageSpec) -> list[np.ndarray]:
    """Read every channel with ObsPy, select, merge, pad to the day, as float64."""
    stream = obspy.read(BytesIO(data))
    if case.subset:
        requested = {str(seed_id) for seed_id in case.traces}
        stream = obspy.Stream([trace for trace in stream if trace.id in requested])
    return _merge_and_trim(case, stream)


def read_with_obspy_sourcename(
    case: Case, data: bytes, spec: StorageSpec
) -> list[np.ndarray]:
    """Read with ObsPy's ``sourcename`` record filter, then as :func:`read_with_obspy`.

    ObsPy passes ``sourcename`` to libmseed, which skips the records of other
    channels the way our decoder does.
    """
    if len(case.traces) != 1:
        raise ValueError(
            f"read_with_obspy_sourcename supports 1 requested trace, got "
            f"{len(case.traces)}: use read_with_obspy instead"
        )
    stream = obspy.read(BytesIO(data), sourcename=str(case.traces[0]))
    return _merge_and_trim(case, stream)


def place_with_ours(case: Case, data: bytes, spec: StorageSpec) -> np.ndarray:
    """Decode and place the requested traces on the day's grid."""
    grid = case.grid
    block = decode_and_place(data, case.traces, grid, 0, grid.size, RATE_TOLERANCE)
    return block.data


def finish_chunk_path(case: Case, data: bytes, spec: StorageSpec) -> np.ndarray:
    """Run the whole chunk task: local file read, decode, place, outcomes."""
    grid = case.grid
    unit = read_unit(
        spec, case.key, case.traces, grid, 0, grid.size, RATE_TOLERANCE, "raise"
    )
    return finish_chunk(unit, None, None, grid).waveform


def methods_for(case: Case) -> dict[str, Method]:
    """Return the methods to time on ``case``, by name."""
    methods = dict(METHODS)
    if case.subset and len(case.traces) == 1:
        methods["obspy_sourcename"] = read_with_obspy_sourcename
    return methods


def compare_outputs(
    case: Case, ours: np.ndarray, obspy_arrays: list[np.ndarray], chunk: np.ndarray
) -> str:
    """Describe how ours, the ObsPy path and the chunk path differ, if at all."""
    if not np.array_equal(ours, chunk, equal_nan=True):
        return "chunk path differs from decode_and_place"
    if len(obspy_arrays) != ours.shape[0]:
        return f"ObsPy returned {len(obspy_arrays)} traces, ours {ours.shape[0]}"

    notes = [
        _compare_trace(str(seed_id), array, row)
        for seed_id, array, row in zip(case.traces, obspy_arrays, ours, strict=True)
    ]
    differences = [note for note in notes if note]
    return "; ".join(differences) if differences else "identical"


def _compare_trace(name: str, theirs: np.ndarray, ours: np.ndarray) -> str:
    """Return "" for equal rows, else what differs between them."""
    if theirs.shape != ours.shape:
        return f"{name}: ObsPy length {theirs.size}, ours {ours.size}"
    if np.array_equal(theirs, ours, equal_nan=True):
        return ""

    # A start time off the grid by more than half a sample rounds to the next
    # grid index in ours, while ObsPy's padded trim keeps the trace's own
    # sample times, so the same samples sit one index apart.
    if np.array_equal(theirs[:-1], ours[1:], equal_nan=True):
        return f"{name}: same samples, 1 index later in ours"
    if np.array_equal(theirs[1:], ours[:-1], equal_nan=True):
        return f"{name}: same samples, 1 index earlier in ours"
    differ = np.count_nonzero(~_equal_or_both_nan(theirs, ours))
    return f"{name}: {differ} samples differ from ObsPy"


METHODS: dict[str, Method] = {
    "pymseed": decode_with_pymseed,
    "obspy": read_with_obspy,
    "ours": place_with_ours,
    "chunk": finish_chunk_path,
}


def _merge_and_trim(case: Case, stream: obspy.Stream) -> list[np.ndarray]:
    """Do what ObsPy users write to get one float64 array per trace and day."""
    stream.merge(method=1, fill_value=None)
    for trace in stream:
        trace.data = np.ma.filled(trace.data.astype(np.float64), np.nan)

    grid = case.grid
    start = obspy.UTCDateTime(ns=grid.start_ns)
    end = obspy.UTCDateTime(ns=grid.start_ns + round((grid.size - 1) * grid.step_ns))
    stream.trim(start, end, pad=True, fill_value=np.nan)

    by_id = {trace.id: trace.data for trace in stream}
    return [by_id[str(seed_id)] for seed_id in case.traces if str(seed_id) in by_id]


def _equal_or_both_nan(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return (left == right) | (np.isnan(left) & np.isnan(right))
