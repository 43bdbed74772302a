"""Convert between waveform datasets and ``obspy.Stream``.

:func:`to_obspy` turns a dataset (or its ``waveform`` DataArray, or any
selection of it) into a Stream: each run of samples without NaN becomes one
Trace, whose start time is the grid label of its first sample, to the
nanosecond. :func:`from_obspy` builds the dataset of :func:`open_waveforms`
from a Stream. Traces with one id share a row of a regular time grid. Each
Trace is anchored at its own start time by the reader's placement rule
(:mod:`intake_earthscope.place`), so no sample moves by more than half a
sample interval.

Importing this module registers the ``earthscope`` accessor on xarray
Datasets and DataArrays: ``ds.earthscope.to_obspy()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from intake_earthscope.codes import SeedId, code_arrays
from intake_earthscope.errors import InvalidRequestError, MixedSamplingRateError
from intake_earthscope.place import EdgeList, Grid, PlacedBlock, Segment, place_row
from intake_earthscope.plan import nominal_rate
from intake_earthscope.request import DEFAULT_RATE_TOLERANCE, _tolerance
from intake_earthscope.response import contiguous_runs
from intake_earthscope.timegrid import TimeGridIndex, time_coords
from intake_earthscope.timeutil import NS_PER_DAY, format_ns, parse_time

if TYPE_CHECKING:
    import obspy

__all__ = [
    "EarthScopeAccessor",
    "checked_tolerance",
    "from_obspy",
    "joined_rate",
    "mixed_rates_message",
    "place_segments",
    "placement_counts",
    "span_grid",
    "to_obspy",
    "waveform_dataset",
]

logger = logging.getLogger(__name__)

#: Waveform attribute that records the dtype of the samples before they
#: became float64 (so :func:`to_obspy` can restore it).
SAMPLE_DTYPE_ATTR = "sample_dtype"

_CODE_COORDS = ("network", "station", "location", "channel")


def to_obspy(data: xr.Dataset | xr.DataArray, times: str = "grid") -> obspy.Stream:
    """Convert a waveform dataset or DataArray into an ``obspy.Stream``.

    Parameters
    ----------
    data : xarray.Dataset or xarray.DataArray
        A dataset with a ``waveform`` variable, or a DataArray on
        ``("trace", "time")`` or ``("time",)`` (one trace selected), with
        the ``network``, ``station``, ``location`` and ``channel``
        coordinates of :func:`~intake_earthscope.dataset.open_waveforms`.
        Event windows of :func:`~intake_earthscope.windows.open_windows`
        are taken too, on ``("window", "trace", "lag")`` or with the window
        or trace selected: each window's samples start at its reference
        time plus its first ``lag``, and each Trace has the reference time
        in ``stats.window``. Lazy data is computed.
    times : {"grid", "recorded"}
        ``"grid"`` starts each Trace at the time label of its first sample.
        ``"recorded"`` subtracts the dataset's ``time_offset`` (of the trace,
        and of the day the run starts in), which gives back the recorded time
        of the first sample of that day's data. Where that day's offset is
        NaN (no sample of any object landed on it) or not in the selection,
        the first later day of the run that has one applies. The placement
        moves later samples by up to ``max_shift`` samples, so a run after
        a gap can differ from its recorded time by that much. For event
        windows, each window's ``time_offset`` applies to its trace. Needs
        a dataset with ``time_offset``.

    Returns
    -------
    obspy.Stream
        One Trace per run of samples without NaN, in trace then time order
        (window, trace, then time order for event windows).
        ``starttime`` is exact to the nanosecond. A run's samples take the
        dtype recorded by :func:`from_obspy` where every value fits it
        unchanged (a mean or a scaled copy may not), and stay float64 where
        one does not. Without a recorded dtype, samples in counts whose
        values are all whole numbers within int32 become int32, and others
        stay float64.

    Raises
    ------
    InvalidRequestError
        If the input lacks the ``time`` or ``lag`` dimension or the SEED code
        coordinates, if its labels are not evenly spaced in increasing order
        (a reversed or hand-picked selection), if ``times`` is not one of the
        two values, or if ``times="recorded"`` is given a DataArray, a
        dataset without ``time_offset``, or a run with no offset on any of
        its days.
    """
    import obspy

    array = _waveform_of(data)
    if "lag" in array.dims:
        return obspy.Stream(_window_traces(data, array, times))

    offsets = None
    recorded = _recorded_input(data, times)
    if recorded is not None:
        # One compute, so that each object is read once for both variables.
        recorded = recorded[["waveform", "time_offset"]].compute()
        array = recorded["waveform"]
        offsets = _RecordedOffsets.of(recorded)
    rate = _sampling_rate(array)
    labels = array["time"].values.astype("datetime64[ns]").view(np.int64)
    _check_spacing(labels, rate, "time")
    values = np.atleast_2d(np.asarray(array.transpose(..., "time").values))

    traces = []
    for row, seed_id in enumerate(_trace_ids(array)):
        offset_of = None
        if offsets is not None:
            offset_of = partial(offsets.for_run, seed_id, row)
        traces += _run_traces(seed_id, values[row], labels, rate, array, offset_of)
    return obspy.Stream(traces)


def _run_traces(
    seed_id: SeedId,
    values: np.ndarray,
    labels: np.ndarray,
    rate: float,
    array: xr.DataArray,
    offset_of: Callable[[int, int], int] | None,
) -> list[obspy.Trace]:
    """Return one Trace per run of samples without NaN in ``values``.

    ``labels`` are the grid times of ``values`` in ns. ``offset_of(first,
    last)`` gives the time offset in ns of a run whose first and last labels
    are given, or is None to start each Trace at its grid time.
    """
    import obspy

    dtype = array.attrs.get(SAMPLE_DTYPE_ATTR)
    traces = []
    for begin, end in contiguous_runs(values):
        samples = _restore_dtype(values[begin:end], dtype, array.attrs)
        start_ns = int(labels[begin])
        if offset_of is not None:
            start_ns -= offset_of(start_ns, int(labels[end - 1]))
        stats = {
            "network": seed_id.network,
            "station": seed_id.station,
            "location": seed_id.location,
            "channel": seed_id.channel,
            "sampling_rate": rate,
            "starttime": obspy.UTCDateTime(ns=start_ns),
        }
        traces.append(obspy.Trace(samples, header=stats))
    return traces


def _window_traces(
    data: xr.Dataset | xr.DataArray, array: xr.DataArray, times: str
) -> list[obspy.Trace]:
    """Return the Traces of event windows, in window, trace and time order.

    Each window's grid times are its reference time (the ``window``
    coordinate) plus ``lag``. With ``times="recorded"`` each trace of a
    window moves by that window's ``time_offset``. Each Trace keeps the
    reference time of its window in ``stats.window``, because a window
    without samples gives no Trace and a gap splits one into two.
    """
    import obspy

    recorded = _recorded_input(data, times)
    if recorded is None:
        array = array.compute()
        offsets = None
    else:
        recorded = recorded[["waveform", "time_offset"]].compute()
        array = recorded["waveform"]
        offsets = _expand_window(recorded["time_offset"], "trace")
    array = _expand_window(array, "trace", "lag")
    rate = _window_rate(data, array)
    lags = array["lag"].values.astype("timedelta64[ns]").view(np.int64)
    _check_spacing(lags, rate, "lag")
    ids = _trace_ids(array)

    references = array["window"].values.astype("datetime64[ns]").view(np.int64)

    traces = []
    for number, reference in enumerate(references.tolist()):
        labels = reference + lags
        values = array.isel(window=number).values
        for row, seed_id in enumerate(ids):
            offset_of = None
            if offsets is not None:
                seconds = float(offsets.values[number, row])
                offset_of = partial(_window_offset, seed_id, reference, seconds)
            runs = _run_traces(seed_id, values[row], labels, rate, array, offset_of)
            for trace in runs:
                trace.stats.window = obspy.UTCDateTime(ns=reference)
            traces += runs
    return traces


def _check_spacing(labels: np.ndarray, rate: float, dim: str) -> None:
    """Raise unless ``labels`` (ns) rise by one sample interval at ``rate``.

    Neighbouring samples of a Trace are one interval apart, so a selection
    in another order or with holes (``isel(time=[0, 1, 5])``) would put
    samples at the wrong times.
    """
    # Labels are whole nanoseconds, so an interval such as 1/3 s alternates
    # between two counts of nanoseconds.
    steps = np.diff(labels)
    # A reversed selection has steps of -1/rate, and a rate taken from its
    # labels is negative too, so the interval check alone would pass it.
    uneven = steps.size and float(np.abs(steps - 1e9 / rate).max()) > 1.0
    if uneven or (steps.size and int(steps.min()) <= 0):
        raise _spacing_error(dim)


def _spacing_error(dim: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"invalid input to to_obspy: the {dim!r} labels are not evenly "
        "spaced in increasing order; select them with a slice and a "
        "positive step"
    )


def _expand_window(array: xr.DataArray, *dims: str) -> xr.DataArray:
    """Return ``array`` on ``("window", *dims)``, adding a selected window back."""
    for dim in ("window", "trace"):
        if dim not in array.dims:
            array = array.expand_dims(dim)
    return array.transpose("window", *dims)


def _window_rate(data: xr.Dataset | xr.DataArray, array: xr.DataArray) -> float:
    """Return the sampling rate of the selected lags, from the dataset or the lags.

    A lag selection with a step (``isel(lag=slice(None, None, 2))``) keeps
    every step-th sample, so the dataset's rate is divided by that step.
    """
    lags = array["lag"].values.astype("timedelta64[ns]").view(np.int64)
    if isinstance(data, xr.Dataset) and "sampling_rate" in data.attrs:
        rate = float(data.attrs["sampling_rate"])
        if lags.size < 2:
            return rate
        step = round(float(np.median(np.diff(lags))) * rate / 1e9)
        return rate / step if step > 1 else rate
    if lags.size < 2:
        raise InvalidRequestError(
            "invalid input to to_obspy: one lag gives no sampling rate; keep at "
            "least two samples or pass the dataset of open_windows"
        )
    return 1e9 * (lags.size - 1) / float(lags[-1] - lags[0])


def _window_offset(
    seed_id: SeedId, reference_ns: int, seconds: float, first: int, last: int
) -> int:
    """Return a window's time offset of one trace in ns, or raise where unknown."""
    if np.isfinite(seconds):
        return int(np.rint(seconds * 1e9))
    raise InvalidRequestError(
        f"invalid input to to_obspy(times='recorded'): {seed_id} has samples "
        f"in the window at {format_ns(reference_ns)} but no time_offset there; "
        "pass times='grid'"
    )


def _recorded_input(data: xr.Dataset | xr.DataArray, times: str) -> xr.Dataset | None:
    """Return the dataset whose offsets ``times`` requests, or None for the grid."""
    if times not in ("grid", "recorded"):
        raise InvalidRequestError(f"invalid times={times!r}: pass 'grid' or 'recorded'")
    if times == "grid":
        return None
    if not isinstance(data, xr.Dataset) or "time_offset" not in data:
        raise InvalidRequestError(
            "invalid input to to_obspy(times='recorded'): the time_offset "
            "variable is missing; pass a dataset of open_waveforms, "
            "open_windows, from_obspy or engine='miniseed' (or a selection of "
            "it), not its waveform alone"
        )
    return data


class _RecordedOffsets:
    """The ``time_offset`` of each trace (and day) in nanoseconds, NaN where unknown.

    ``day_starts`` is None for a dataset with one offset per trace.
    """

    def __init__(self, offsets_ns: np.ndarray, day_starts: np.ndarray | None) -> None:
        self.offsets_ns = offsets_ns
        self.day_starts = day_starts

    @classmethod
    def of(cls, data: xr.Dataset) -> _RecordedOffsets:
        """Return the offsets of a dataset with ``time_offset``."""
        offset = data["time_offset"]
        if "trace" not in offset.dims:
            offset = offset.expand_dims("trace")
        if "day" not in offset.coords:
            return cls(offset.values.reshape(-1, 1).astype(np.float64) * 1e9, None)
        # A day picked with isel is a scalar coordinate.
        days = np.atleast_1d(offset["day"].values.astype("datetime64[ns]"))
        day_starts = days.view(np.int64)
        if "day" not in offset.dims:
            seconds = offset.values.reshape(-1, 1)
        else:
            seconds = offset.transpose("trace", "day").values
            # A selection may reorder the days; the search needs them sorted.
            order = np.argsort(day_starts, kind="stable")
            day_starts, seconds = day_starts[order], seconds[:, order]
        return cls(np.asarray(seconds, dtype=np.float64) * 1e9, day_starts)

    def for_run(self, seed_id: SeedId, row: int, first_ns: int, last_ns: int) -> int:
        """Return the offset of a run of trace ``row`` from ``first_ns`` to ``last_ns``.

        That is the offset of the first day of the run that has one: the
        day it starts on, or a later one when that day's object is missing
        or the day is not in the selection.

        Raises
        ------
        InvalidRequestError
            If no day of the run has an offset.
        """
        known = self.offsets_ns[row]
        if self.day_starts is not None:
            first_day = first_ns - first_ns % NS_PER_DAY
            lo = np.searchsorted(self.day_starts, first_day, side="left")
            hi = np.searchsorted(self.day_starts, last_ns, side="right")
            known = known[lo:hi]
        known = known[np.isfinite(known)]
        if known.size:
            return int(np.rint(known[0]))
        raise InvalidRequestError(
            f"invalid input to to_obspy(times='recorded'): {seed_id} has samples "
            f"from {np.datetime64(first_ns, 'ns')} to {np.datetime64(last_ns, 'ns')} "
            "but no time_offset on their days (NaN where the day's object was "
            "not read, or the days are not in the selection); select the days "
            "along with the times, or pass times='grid'"
        )


def from_obspy(
    stream: Iterable[obspy.Trace],
    *,
    start: object = None,
    end: object = None,
    rate_tolerance: float = DEFAULT_RATE_TOLERANCE,
) -> xr.Dataset:
    """Build a waveform dataset, as :func:`open_waveforms` lays it out, from traces.

    Parameters
    ----------
    stream : obspy.Stream or iterable of obspy.Trace
        Traces of one sampling rate. Traces with one SEED id share a row.
        Masked samples (gaps that ``Stream.merge`` left) become NaN.
    start, end : str or datetime, optional
        First label of the time grid and the (exclusive) end. By default
        the grid starts at the earliest sample and ends after the latest.
    rate_tolerance : float
        Relative difference under which two rates count as one, from 0 to
        0.01. None takes the default.

    Returns
    -------
    xarray.Dataset
        ``waveform(trace, time)`` in float64 with NaN in gaps, the SEED code
        coordinates, a lazy ``time`` grid and per-trace ``overlap_count``,
        ``conflict_count``, ``max_shift`` (samples) and ``time_offset``
        (seconds, grid time minus recorded time of the first sample). The waveform's
        ``sample_dtype`` attribute names the traces' dtype.

    Raises
    ------
    MixedSamplingRateError
        If the traces do not share one rate; the message names them.
    InvalidRequestError
        If the stream is empty, a trace's samples are not real numbers
        (complex, strings, objects), a sampling rate is not positive, no
        sample lies in the window, or ``rate_tolerance`` is invalid.

    Notes
    -----
    Each Trace is placed as one record: its first sample goes to the
    nearest grid index and the rest follow. Where traces overlap, the
    sample placed first (earliest trace) wins and the overlap is counted,
    as in the reader. Traces whose sample times are off the grid's phase
    move by up to half a sample, so a round trip through
    :func:`to_obspy` returns their start times on the grid.
    """
    rate_tolerance = checked_tolerance(rate_tolerance)
    traces = [trace for trace in stream if trace.stats.npts > 0]
    for trace in traces:
        _check_trace(trace)
    segments: dict[SeedId, list[Segment]] = {}
    for trace in sorted(traces, key=lambda t: t.stats.starttime.ns):
        seed_id = SeedId(*trace.id.split("."))
        segments.setdefault(seed_id, []).extend(_segments(trace))
    # A trace whose samples are all masked adds an id without segments.
    if not any(segments.values()):
        raise InvalidRequestError(
            "invalid stream: it contains no samples, because every Trace is "
            "empty or masked; give an obspy Stream with at least one unmasked "
            "sample"
        )
    rate = _common_rate(traces, rate_tolerance)

    start_ns = None if start is None else parse_time(start, "start")
    end_ns = None if end is None else parse_time(end, "end")
    ids, grid, block = place_segments(segments, rate, rate_tolerance, start_ns, end_ns)
    if not block.written.any():
        raise InvalidRequestError(
            f"invalid window: no sample of the stream lies between start={start!r} "
            f"and end={end!r}; widen the window or leave start and end out"
        )
    dtype = np.result_type(*[trace.data.dtype for trace in traces])
    return waveform_dataset(
        ids,
        grid,
        block.data,
        rate,
        {SAMPLE_DTYPE_ATTR: dtype.name},
        placement_counts(block),
    )


def placement_counts(block: PlacedBlock) -> dict[str, np.ndarray]:
    """Return the per-trace placement counters of a block, by variable name."""
    return {
        "overlap_count": block.overlaps.copy(),
        "conflict_count": block.conflicts.copy(),
        "max_shift": block.max_shift.copy(),
        "time_offset": block.first_offset.copy(),
    }


def place_segments(
    segments: Mapping[SeedId, list[Segment]],
    rate: float,
    rate_tolerance: float,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> tuple[list[SeedId], Grid, PlacedBlock]:
    """Place the segments of each trace on one grid at ``rate``.

    The grid starts at ``start_ns`` (default: the earliest record start) and
    ends at ``end_ns`` (default: just after the latest sample). Rows are
    the SEED ids in sorted order.
    """
    ids = sorted(segments)
    first = min(int(s.record_starts[0]) for row in segments.values() for s in row)
    last = max(_last_sample_ns(s) for row in segments.values() for s in row)
    grid = span_grid(first, last, rate, start_ns, end_ns)

    block = PlacedBlock.empty(len(ids), 0, grid.size)
    block.reach = grid.size
    edges: EdgeList = []
    for row, seed_id in enumerate(ids):
        place_row(block, row, segments[seed_id], grid, rate_tolerance, edges)
    if edges:
        logger.debug("%d runs reach outside the window and were cut", len(edges))
    return ids, grid, block


def span_grid(
    first_ns: int,
    last_ns: int,
    rate: float,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> Grid:
    """Return the grid at ``rate`` from the first to the last sample time.

    ``start_ns`` and ``end_ns`` (exclusive) replace the span when given.

    Raises
    ------
    InvalidRequestError
        If no grid sample lies in the window.
    """
    step_ns = 1e9 / rate
    origin = first_ns if start_ns is None else start_ns
    # The span is taken in whole ns before any float64 arithmetic, because
    # float64 steps by 256 ns at the ns count of today's dates.
    if end_ns is None:
        span_ns = (last_ns - origin) + step_ns / 2
    else:
        span_ns = end_ns - origin
    size = max(int(np.ceil(span_ns / step_ns - 1e-9)), 0)
    if size == 0:
        end_text = "the last sample" if end_ns is None else format_ns(end_ns)
        fix = "swap them" if span_ns < 0 else "widen the window"
        raise InvalidRequestError(
            f"invalid window: no grid sample lies between start="
            f"{format_ns(origin)} and end={end_text}; {fix}"
        )
    return Grid(origin, step_ns, size)


def waveform_dataset(
    ids: list[SeedId],
    grid: Grid,
    waveform: Any,
    rate: float,
    waveform_attrs: Mapping[str, Any] | None = None,
    trace_vars: Mapping[str, np.ndarray] | None = None,
) -> xr.Dataset:
    """Wrap samples in the data model of :func:`open_waveforms`.

    ``waveform`` is a ``(trace, time)`` array (numpy, or a lazy array xarray
    accepts); ``trace_vars`` are per-trace variables.
    """
    coords = xr.Coordinates(
        {name: ("trace", values) for name, values in code_arrays(ids).items()}
    )
    coords = coords.merge(time_coords(grid.start_ns, grid.step_ns, grid.size)).coords
    data_vars: dict[str, Any] = {"waveform": (("trace", "time"), waveform)}
    for name, values in (trace_vars or {}).items():
        data_vars[name] = (("trace",), values)
    dataset = xr.Dataset(data_vars, coords=coords)
    dataset["waveform"].attrs.update(
        {"units": "counts", "long_name": "waveform", **(waveform_attrs or {})}
    )
    dataset.attrs.update(
        {
            "sampling_rate": rate,
            "time_placement": (
                "nearest grid index; no sample moves more than half a sample "
                "from its segment's timeline"
            ),
        }
    )
    return dataset


@xr.register_dataset_accessor("earthscope")
@xr.register_dataarray_accessor("earthscope")
class EarthScopeAccessor:
    """The ``earthscope`` accessor of waveform Datasets and DataArrays.

    Examples
    --------
    >>> stream = ds.earthscope.to_obspy()  # doctest: +SKIP
    """

    def __init__(self, data: xr.Dataset | xr.DataArray) -> None:
        self._data = data

    def to_obspy(self, times: str = "grid") -> obspy.Stream:
        """Convert to an ``obspy.Stream``; see :func:`to_obspy`."""
        return to_obspy(self._data, times)


def _waveform_of(data: xr.Dataset | xr.DataArray) -> xr.DataArray:
    array = data["waveform"] if isinstance(data, xr.Dataset) else data
    dims = set(array.dims)
    days = "time" in dims and dims <= {"trace", "time"}
    windows = "lag" in dims and dims <= {"window", "trace", "lag"}
    if not (days or windows):
        raise InvalidRequestError(
            f"invalid input to to_obspy: dims {array.dims} are not ('trace', "
            "'time') or ('time',) of open_waveforms, nor ('window', 'trace', "
            "'lag') or a part of them with 'lag' of open_windows; keep the "
            "'time' or 'lag' dimension (select a time range with slice(), not "
            "one label)"
        )
    if windows and "window" not in array.coords:
        raise InvalidRequestError(
            "invalid input to to_obspy: the window coordinate is missing; keep "
            "the reference times of open_windows"
        )
    missing = [kind for kind in _CODE_COORDS if kind not in array.coords]
    if missing:
        raise InvalidRequestError(
            f"invalid input to to_obspy: coordinate(s) {missing} missing; keep "
            "the network, station, location and channel coordinates"
        )
    return array


def _sampling_rate(array: xr.DataArray) -> float:
    index = array.xindexes.get("time")
    if isinstance(index, TimeGridIndex):
        return 1e9 / index.step_ns
    labels = array["time"].values.astype("datetime64[ns]").view(np.int64)
    if labels.size < 2:
        raise InvalidRequestError(
            "invalid input to to_obspy: one time label gives no sampling rate; "
            "keep at least two samples or the dataset's lazy time index"
        )
    # Stored labels are rounded to whole ns, so at 1024 Hz they step by 976562
    # and 976563 ns. Either step taken as the interval would move the last
    # sample of a day by 45 samples, so the rate comes from the whole span.
    span_ns = int(labels[-1]) - int(labels[0])
    if span_ns <= 0:
        raise _spacing_error("time")
    return 1e9 * (labels.size - 1) / span_ns


def _trace_ids(array: xr.DataArray) -> list[SeedId]:
    codes = [np.atleast_1d(array[kind].values) for kind in _CODE_COORDS]
    return [SeedId(*(str(c) for c in row)) for row in zip(*codes, strict=True)]


def _restore_dtype(
    samples: np.ndarray, dtype: str | None, attrs: Mapping[str, Any]
) -> np.ndarray:
    # xarray can keep attrs through arithmetic and reductions (xarray 2026.9
    # does by default), so the recorded dtype may describe samples that a
    # scale factor or a mean has changed.
    if dtype is not None and _fits(samples, np.dtype(dtype)):
        return samples.astype(dtype)
    unrecorded_counts = dtype is None and attrs.get("units") == "counts"
    if unrecorded_counts and _fits(samples, np.dtype(np.int32)):
        return samples.astype(np.int32)
    return np.ascontiguousarray(samples, dtype=np.float64)


def _fits(samples: np.ndarray, dtype: np.dtype) -> bool:
    """Return whether every float64 sample keeps its value in ``dtype``."""
    if dtype.kind in "iu":
        limits = np.iinfo(dtype)
        if not np.all((samples >= limits.min) & (samples <= limits.max)):
            return False
    with np.errstate(over="ignore", invalid="ignore"):
        cast = samples.astype(dtype)
    return bool(np.array_equal(cast.astype(np.float64), samples))


def _common_rate(traces: list[obspy.Trace], rate_tolerance: float) -> float:
    rates = sorted({float(trace.stats.sampling_rate) for trace in traces})
    first = rates[0]
    if all(abs(r - first) <= rate_tolerance * max(r, first) for r in rates):
        return nominal_rate(first, rate_tolerance)

    spans: dict[str, dict[float, tuple[int, int]]] = {}
    rates_seen: list[float] = []
    for trace in traces:
        rate = joined_rate(float(trace.stats.sampling_rate), rates_seen, rate_tolerance)
        first_ns, last_ns = trace.stats.starttime.ns, trace.stats.endtime.ns
        by_rate = spans.setdefault(trace.id, {})
        if rate in by_rate:
            known = by_rate[rate]
            first_ns, last_ns = min(first_ns, known[0]), max(last_ns, known[1])
        by_rate[rate] = (first_ns, last_ns)
    fix = (
        "select or resample the traces to one rate first (for example "
        "stream.select(sampling_rate=...))"
    )
    raise MixedSamplingRateError(mixed_rates_message(spans, "traces", fix))


def joined_rate(rate: float, known: list[float], rate_tolerance: float) -> float:
    """Return the rate of ``known`` that ``rate`` agrees with, else add the
    nominal rate of ``rate`` to ``known`` and return it.

    Header rates can differ by less than ``rate_tolerance`` without snapping
    to a whole rate or period (2.5 Hz and 2.50005 Hz), and such rates count
    as one, so that no message names a channel as changing rate over them.
    """
    nominal = nominal_rate(rate, rate_tolerance)
    for other in known:
        if abs(nominal - other) <= rate_tolerance * max(nominal, other):
            return other
    known.append(nominal)
    return nominal


def mixed_rates_message(
    spans: Mapping[str, Mapping[float, tuple[int, int]]], noun: str, fix: str
) -> str:
    """Return the message of a MixedSamplingRateError for ``spans``.

    ``spans`` maps each SEED id to the first and last sample time (ns) at
    each of its rates. ``noun`` names the items ("channels", "traces") and
    ``fix``, the advice on keeping one rate, ends the message. Channels
    that differ from each other are listed with their rates. A channel with
    several rates is named as changing rate, with the time span of each
    rate, so that the change shows.
    """
    parts = []
    if len({frozenset(by_rate) for by_rate in spans.values()}) > 1:
        listed = ", ".join(
            f"{name} at {rate:g} Hz"
            for name, by_rate in sorted(spans.items())
            for rate in sorted(by_rate)
        )
        parts.append(f"{noun} of several sampling rates: {listed}")
    for name, by_rate in sorted(spans.items()):
        if len(by_rate) > 1:
            parts.append(_rate_change(name, by_rate))
    return "; ".join([*parts, fix])


def _rate_change(name: str, by_rate: Mapping[float, tuple[int, int]]) -> str:
    """Name the rates of one channel in time order, each with its first and
    last sample time."""
    # NOTE: a channel that goes back to an earlier rate shows that rate's
    # span from its first to its last sample, across the other rate's span.
    in_order = sorted(by_rate.items(), key=lambda item: item[1])
    spans = ", ".join(
        f"{rate:g} Hz from {format_ns(first)} to {format_ns(last)}"
        for rate, (first, last) in in_order
    )
    return f"{name} changes sampling rate: {spans}"


def checked_tolerance(value: object) -> float:
    """Return ``rate_tolerance`` checked as open_waveforms checks it, or the
    default for None."""
    if value is None:
        return DEFAULT_RATE_TOLERANCE
    return _tolerance(value)


def _check_trace(trace: obspy.Trace) -> None:
    """Raise unless the trace has real samples, codes without dots and a
    positive finite rate."""
    dtype = np.asarray(trace.data).dtype
    if dtype.kind not in "biuf":
        raise InvalidRequestError(
            f"invalid trace {trace.id}: its samples have dtype {dtype}, not real "
            "numbers; convert them first (for example trace.data.real or "
            "numpy.abs(trace.data) for complex samples)"
        )
    for kind in _CODE_COORDS:
        code = str(trace.stats[kind])
        if "." in code:
            raise InvalidRequestError(
                f"invalid trace {trace.id}: its {kind} code {code!r} contains a "
                "dot, which SEED codes cannot, so the trace id is ambiguous; "
                f"set trace.stats.{kind} to a code without dots"
            )
    rate = float(trace.stats.sampling_rate)
    if not (np.isfinite(rate) and rate > 0):
        raise InvalidRequestError(
            f"invalid trace {trace.id}: sampling_rate={rate!r} Hz is not a "
            "positive number; set trace.stats.sampling_rate"
        )


def _segments(trace: obspy.Trace) -> list[Segment]:
    """Return one segment per run of unmasked samples of the trace."""
    rate = float(trace.stats.sampling_rate)
    samples = np.ma.filled(np.ma.asarray(trace.data, dtype=np.float64), np.nan)
    if not np.ma.is_masked(trace.data):
        runs = [(0, samples.size)]
    else:
        runs = contiguous_runs(samples)

    first_ns = trace.stats.starttime.ns
    segments = []
    for begin, end in runs:
        segments.append(
            Segment(
                rate=rate,
                pubversion=1,
                samples=samples[begin:end],
                record_starts=np.array(
                    [first_ns + round(begin * 1e9 / rate)], dtype=np.int64
                ),
                record_counts=np.array([end - begin], dtype=np.int64),
            )
        )
    return segments


def _last_sample_ns(segment: Segment) -> int:
    last_start = int(segment.record_starts[-1])
    return last_start + round((int(segment.record_counts[-1]) - 1) * 1e9 / segment.rate)
