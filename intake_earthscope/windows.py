"""Event windows: minutes of waveforms around many reference times, lazily.

Layout of the dataset that :func:`open_windows` returns:

* ``waveform(window, trace, lag)``: float64 counts, NaN where no sample
  landed. Window ``w`` samples the times ``reference[w] + lag``.
* ``lag``: timedelta64 offsets from ``-before`` in steps of one sample at
  the channels' rate, so each window's grid starts at ``reference - before``.
* ``window``: the reference times (datetime64, UTC), in the order given.
* Outcome variables on ``(window, trace)``: those of
  :func:`~intake_earthscope.dataset.open_waveforms` (``status``,
  ``valid_fraction``, ``gap_count`` ...) plus ``read_mode``: ``"ranged"``
  when only byte ranges were read, ``"whole_object"`` when the layout of an
  object defeated the ranged search and it was read whole, ``""`` when no
  object could be read.
* Attributes: ``sampling_rate``, ``collection``, ``before_seconds``,
  ``after_seconds``, and the provenance ``tier``, ``storage`` and ``keys``.
  ``keys`` has the URL of each object the windows look for, one a line,
  with the previous day's objects looked for records that cross midnight.
  With exact codes the keys are built, not listed, so some may not exist.

One dask chunk holds a batch of consecutive windows whose reference times
share a UTC day, for one group of traces (a station for station-day
objects). Its task reads each object once for the whole batch.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from intake_earthscope.codes import CODE_KINDS, code_arrays, codes_text
from intake_earthscope.collection import TIER_DTYPE, Collection
from intake_earthscope.dataset import OUTCOME_VARIABLES
from intake_earthscope.errors import (
    InvalidRequestError,
    MissingObjectsError,
    ObjectNotFoundError,
)
from intake_earthscope.locate import ObjectRef
from intake_earthscope.place import Grid
from intake_earthscope.plan import (
    Plan,
    Route,
    locate_routes,
    make_plan,
    policy_note,
)
from intake_earthscope.readerargs import reject_unknown_arguments, short_repr
from intake_earthscope.request import WaveformRequest, check_options
from intake_earthscope.routing import Credentials, build_routes
from intake_earthscope.timesfile import LONGEST_WINDOW_NS, window_offset_ns
from intake_earthscope.timeutil import (
    NS_PER_DAY,
    NS_PER_SECOND,
    day_start,
    days_between,
    format_ns,
    is_utcdatetime,
    parse_time,
)
from intake_earthscope.windowread import (
    OUTCOME_FIELDS,
    BatchObject,
    read_window_batch,
    spill_reach_ns,
)

__all__ = [
    "WINDOW_OUTCOMES",
    "open_windows",
    "window_offsets",
    "window_times",
    "windows_dataset",
]

logger = logging.getLogger(__name__)

WINDOW_OUTCOMES: dict[str, tuple[Any, Any, str]] = {
    **{name: OUTCOME_VARIABLES[name] for name in OUTCOME_FIELDS},
    "gap_count": (np.int64, 0, "runs of missing samples in the window"),
    "tier": (
        TIER_DTYPE,
        "",
        "tier of the collection that served the window, or 'mirror' for root=",
    ),
    "read_mode": ("<U12", "", "ranged, whole_object, or empty if nothing was read"),
}

# Windows of one chunk: a batch reads each of its objects once.
BATCH_WINDOWS = 64

# Day runs tried in turn to learn channels and rates from record headers.
_PLANNING_TRIES = 5

# Maximum number of keys named in the error for windows on days without objects.
_MAX_NAMED_KEYS = 6


@reject_unknown_arguments
def open_windows(
    collection: Collection | Mapping[str, Any],
    times: Any,
    before: object,
    after: object,
    *,
    network: object = None,
    station: object = None,
    location: object = None,
    channel: object = None,
    sampling_rate: object = None,
    rate_tolerance: object = None,
    errors: object = "raise",
    tier: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    root: str | None = None,
    inventory: Any = None,
    token: Any = None,
    profile: str | None = None,
) -> xr.Dataset:
    """Open windows around reference times as a lazy dataset.

    Parameters
    ----------
    collection : Collection or mapping
        The collection, or its ``collection:`` mapping from the catalog YAML.
    times : sequence, pandas Series or DatetimeIndex
        Reference times (origin or arrival times of an event catalog) as
        datetimes, ``numpy.datetime64``, ``obspy.UTCDateTime`` or ISO 8601
        text; one time opens one window. Times without a zone are taken as
        UTC, like ``start`` and ``end`` everywhere in this package; times
        with a zone are converted to UTC.
    before, after : float, int or timedelta
        Seconds (or a ``datetime.timedelta``, ``numpy.timedelta64`` or
        ``pandas.Timedelta``) before and after each reference time.
    network, station, location, channel : str or list of str
        SEED codes, comma lists and ``?``/``*`` wildcards.
    sampling_rate, rate_tolerance, errors, tier, storage_options, root, \
inventory, token, profile
        As for :func:`~intake_earthscope.dataset.open_waveforms`.

    Returns
    -------
    xarray.Dataset
        Lazy dataset on ``(window, trace, lag)``; see the module
        documentation for its variables.

    Raises
    ------
    InvalidRequestError
        If a time, ``before`` or ``after`` is invalid, or the codes match
        nothing. Its subclass
        :class:`~intake_earthscope.errors.UnknownArgumentError`, also a
        ``TypeError``, names an unknown argument, such as obspy's
        ``starttime=``, and what to give instead.
    ObjectNotFoundError
        If no object exists for the days of the first five groups of windows
        (windows on consecutive days form one group), so the channels and
        rate cannot be read from a record header. The message names the keys
        tried.

    Notes
    -----
    The windows may lie any number of years apart: only the days they touch
    are located and read, so the span limit of a start-end request does not
    apply.

    Reading a window fetches only the byte ranges of the records around it
    (see :mod:`intake_earthscope.rangedread`), and the record indexes built
    on the way are cached on disk (:mod:`intake_earthscope.recordindex`).
    Placement follows the rules of :mod:`intake_earthscope.place`, so a
    window whose start lies on the grid of a day read by ``open_waveforms``
    gets the same samples.

    When several objects of a window fail, ``errors="raise"`` raises one
    error whose message names each of them, and ``errors="warn"`` warns once
    per object. The window's ``status`` (and the error's class) is the first
    of its failures in the order ``access_denied``, ``unreadable``,
    ``unreachable``, ``missing``: the previous day's records may fill the
    part of a missing object. The outcome table has no column for the other
    failures. A failed object of the day before, read only for records that
    cross midnight into a window whose own objects were read, leaves the
    window's ``status`` to those objects and is reported all the same,
    unless it is missing.
    """
    if not isinstance(collection, Collection):
        collection = Collection.from_yaml(collection)
    check_options(root, storage_options, None)
    return windows_dataset(
        collection,
        times,
        before,
        after,
        codes={
            "network": network,
            "station": station,
            "location": location,
            "channel": channel,
        },
        sampling_rate=sampling_rate,
        rate_tolerance=rate_tolerance,
        errors=errors,
        tier=tier,
        storage_options=storage_options,
        root=root,
        inventory=inventory,
        credentials=Credentials(token, profile),
    )


def windows_dataset(
    collection: Collection,
    times: Any,
    before: object,
    after: object,
    *,
    codes: Mapping[str, object],
    sampling_rate: object,
    rate_tolerance: object,
    errors: object,
    tier: str | None,
    storage_options: Mapping[str, Any] | None,
    root: str | None,
    inventory: Any,
    credentials: Credentials,
) -> xr.Dataset:
    """Plan and build the windows dataset (the shared core of the entry points)."""
    references = window_times(times)
    before_ns, after_ns = window_offsets(before, after)
    _check_window_range(references, before_ns, after_ns)
    starts = references - before_ns
    ends = references + after_ns

    # The request carries the codes and options, and each run of days the
    # windows touch replaces its span. It is built on the first window, so
    # windows decades apart are not held to the span limit of a start-end
    # request.
    request = WaveformRequest.build(
        **codes,
        start=np.datetime64(int(starts[0]), "ns"),
        end=np.datetime64(int(ends[0]), "ns"),
        sampling_rate=sampling_rate,
        errors=errors,
        **({} if rate_tolerance is None else {"rate_tolerance": rate_tolerance}),
    )
    request = replace(request, start_ns=int(starts.min()), end_ns=int(ends.max()))
    routes = build_routes(request, collection, tier, storage_options, root, credentials)
    _check_routes(routes)

    rate = request.sampling_rate
    reach = spill_reach_ns(1e9 / rate) if rate else spill_reach_ns(0.0)
    plan = _plan_traces(
        request, collection, routes, _day_runs(starts, ends, reach), inventory
    )
    # The plan's rate sets how far records of the day before may reach.
    runs = _day_runs(starts, ends, spill_reach_ns(1e9 / plan.rate))
    keys = _object_keys(request, collection, routes, runs, plan)
    return _build(plan, references, before_ns, after_ns, keys)


def window_times(times: Any) -> np.ndarray:
    """Convert reference times to int64 nanoseconds since 1970 UTC.

    Raises
    ------
    InvalidRequestError
        If ``times`` is empty or one of them is not a time.
    """
    if times is None:
        raise InvalidRequestError(
            "missing times: give the reference times, such as a column of "
            "event origin times"
        )
    if _is_one_time(times):
        if _is_zero_dimensional(times):
            # A 0-d NumPy or xarray array contains one time and cannot be iterated.
            times = np.asarray(times)[()]
        return np.array([_reference_ns(times, "times")], dtype=np.int64)
    _check_time_container(times)

    if _is_datetime_array(times):
        values = _datetime_values(times)
    else:
        values = np.array(
            [_reference_ns(item, f"times[{i}]") for i, item in enumerate(times)],
            dtype=np.int64,
        )
    if values.size == 0:
        raise InvalidRequestError("invalid times: no reference time given")
    return values


def window_offsets(before: object, after: object) -> tuple[int, int]:
    """Convert ``before`` and ``after`` to nanoseconds and check them."""
    before_ns = _duration_ns(before, "before")
    after_ns = _duration_ns(after, "after")
    total = before_ns + after_ns
    if total <= 0:
        raise InvalidRequestError(
            f"invalid window: before={before!r} and after={after!r} leave no "
            "time; give a positive number of seconds for at least one"
        )
    if total > LONGEST_WINDOW_NS:
        raise InvalidRequestError(
            f"invalid window: before + after is {total / NS_PER_SECOND:g} s, "
            "longer than one day; read long spans with open_waveforms"
        )
    return before_ns, after_ns


# Windows must lie in whole years that int64 nanoseconds since 1970 cover
# (1677-09-21T00:12:43 to 2262-04-11T23:47:16), so that the days they read,
# and the day before each, are times too.
_EARLIEST_WINDOW_NS = int(pd.Timestamp("1678-01-01").value)
_LATEST_WINDOW_NS = int(pd.Timestamp("2262-01-01").value)


def _check_window_range(references: np.ndarray, before_ns: int, after_ns: int) -> None:
    # The bounds are compared with the references, because a window start or
    # end outside the range would wrap around in int64.
    outside = (references < _EARLIEST_WINDOW_NS + before_ns) | (
        references >= _LATEST_WINDOW_NS - after_ns
    )
    if outside.any():
        position = int(np.flatnonzero(outside)[0])
        raise InvalidRequestError(
            f"invalid times[{position}]={format_ns(int(references[position]))}: "
            "its window reaches outside the years 1678 to 2261 that nanosecond "
            "times cover; remove this time"
        )


def _is_one_time(times: Any) -> bool:
    """Return whether ``times`` is one time rather than a collection of them."""
    if isinstance(times, str | bytes | dt.date | np.datetime64):
        return True
    if is_utcdatetime(times) or _is_zero_dimensional(times):
        return True
    return not isinstance(times, Iterable)


def _is_zero_dimensional(times: Any) -> bool:
    """Return whether ``times`` is a 0-d array, such as a NumPy or xarray scalar."""
    return hasattr(times, "shape") and np.ndim(times) == 0


def _check_time_container(times: Any) -> None:
    shape = getattr(times, "shape", None)
    if isinstance(shape, tuple) and len(shape) > 1:
        raise InvalidRequestError(
            f"invalid times: got an array of shape {shape}; pass one time per "
            "window in one dimension, for example times.ravel()"
        )
    if isinstance(times, pd.DataFrame):
        raise InvalidRequestError(
            "invalid times: got a DataFrame; pass its column of times, for "
            "example times=catalog['time']"
        )
    if _is_obspy_event_object(times):
        raise InvalidRequestError(
            f"invalid times: got an obspy {type(times).__name__}. {_ORIGIN_TIMES_FIX}"
        )


def _is_obspy_event_object(value: object) -> bool:
    """Return whether ``value`` is an obspy Catalog, Event or Origin."""
    return type(value).__module__.startswith("obspy.core.event")


_ORIGIN_TIMES_FIX = (
    "Pass the origin time of each event, as in "
    "times=[(event.preferred_origin() or event.origins[0]).time "
    "for event in catalog]"
)


def _reference_ns(item: object, name: str) -> int:
    if _is_obspy_event_object(item):
        raise InvalidRequestError(
            f"invalid {name}: got an obspy {type(item).__name__}, not a time. "
            f"{_ORIGIN_TIMES_FIX}"
        )
    if _is_missing(item):
        # parse_time would call a NaN a bare number, but in a column of an
        # event catalog it is an empty cell.
        raise InvalidRequestError(
            f"invalid {name}={short_repr(item)}: the time is missing, as where a "
            "cell of an event catalog is empty; drop the entries without a time, "
            "for example times=catalog['time'].dropna()"
        )
    return parse_time(item, name)


def _is_missing(item: object) -> bool:
    """Return whether ``item`` is None, NaN, NaT or ``pd.NA``."""
    try:
        missing = pd.isna(item)
    except (TypeError, ValueError):
        return False
    # pd.isna returns an array for a list or an array, which is not one time.
    return isinstance(missing, bool | np.bool_) and bool(missing)


def _is_datetime_array(times: Any) -> bool:
    dtype = getattr(times, "dtype", None)
    return dtype is not None and pd.api.types.is_datetime64_any_dtype(dtype)


def _datetime_values(times: Any) -> np.ndarray:
    stamps = pd.DatetimeIndex(times)
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    missing = np.flatnonzero(stamps.isna())
    if missing.size:
        raise InvalidRequestError(
            f"invalid times[{missing[0]}]: not a time (NaT); drop the entries "
            "without a time (the rows of an event catalog)"
        )
    try:
        return stamps.as_unit("ns").asi8.astype(np.int64)
    except pd.errors.OutOfBoundsDatetime as error:
        raise _outside_nanoseconds(stamps) from error


def _outside_nanoseconds(stamps: pd.DatetimeIndex) -> InvalidRequestError:
    """Return the error for datetimes of a coarser unit, such as seconds or
    days, that int64 nanoseconds cannot hold, naming the first of them."""
    earliest = pd.Timestamp(_EARLIEST_WINDOW_NS)
    latest = pd.Timestamp(_LATEST_WINDOW_NS)
    outside = np.flatnonzero((stamps < earliest) | (stamps >= latest))
    position = int(outside[0]) if outside.size else 0
    return InvalidRequestError(
        f"invalid times[{position}]={stamps[position]}: outside the years 1678 "
        "to 2261 that nanosecond times cover; remove this time"
    )


def _duration_ns(value: object, name: str) -> int:
    duration = window_offset_ns(value, name)
    if duration > LONGEST_WINDOW_NS:
        # Checked per offset, so that the message names the one offset that
        # is too long by itself, such as 1e300 s.
        try:
            length = f"{duration / NS_PER_SECOND:g} s is"
        except OverflowError:
            # An integer number of seconds that no float holds, such as 10**400.
            length = "that is"
        raise InvalidRequestError(
            f"invalid {name}={short_repr(value)}: {length} longer than one day, "
            "the most that before plus after may span; read long spans with "
            "open_waveforms"
        )
    return duration


def _check_routes(routes: Sequence[Route]) -> None:
    services = [route.tier for route in routes if route.spec.protocol == "fdsn"]
    if services:
        raise NotImplementedError(
            f"windows are read with ranged reads of archive objects, and tier "
            f"{services[0]!r} is a web service; choose an archive tier with "
            "tier=, or read the windows with open_waveforms"
        )


def _day_runs(
    starts: np.ndarray, ends: np.ndarray, reach_ns: int
) -> list[tuple[int, int]]:
    """Return ``[start, end)`` runs of consecutive days the windows touch,
    counting the day before where a window starts within ``reach_ns`` of it."""
    days: set[int] = set()
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        days.update(days_between(start - reach_ns, end + 1))

    runs: list[tuple[int, int]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + NS_PER_DAY)
        else:
            runs.append((day, day + NS_PER_DAY))
    return runs


def _plan_traces(
    request: WaveformRequest,
    collection: Collection,
    routes: Sequence[Route],
    runs: list[tuple[int, int]],
    inventory: Any,
) -> Plan:
    """Plan traces and rate from the first run of days whose objects exist.

    Raises
    ------
    ObjectNotFoundError
        If no object exists for the first ``_PLANNING_TRIES`` runs of days.
    """
    failures: list[MissingObjectsError] = []
    for start, end in runs[:_PLANNING_TRIES]:
        part = replace(request, start_ns=start, end_ns=end)
        try:
            return make_plan(part, collection, routes, inventory=inventory)
        except MissingObjectsError as missing:
            failures.append(missing)
            logger.info("no object for %s: %s", format_ns(start)[:10], missing)

    # The message contains what each failure found, and the failures repeat
    # a fix worded for start-end requests, so they are logged, not chained.
    message = _no_object_message(request, collection, len(runs), failures)
    raise ObjectNotFoundError(message + policy_note(request, "the windows")) from None


def _no_object_message(
    request: WaveformRequest,
    collection: Collection,
    run_count: int,
    failures: list[MissingObjectsError],
) -> str:
    """Describe the runs of days without objects, with their keys and the fix."""
    days = "the windows' days"
    if run_count > 1:
        days = f"the days of the first {len(failures)} groups of windows"
    later = run_count - len(failures)
    unsearched = f" The {later} later groups were not searched." if later else ""
    storage = failures[0].storage

    # No key means that no object matches the codes, so sampling_rate= would
    # not help.
    keys = list(dict.fromkeys(key for failure in failures for key in failure.keys))
    if not keys:
        codes = codes_text([request.codes(kind) for kind in CODE_KINDS])
        return (
            f"no object exists for {days}: no object of {collection.name} "
            f"matches {codes} on {storage}.{unsearched} Check the codes, the "
            "times and the tier (or root=)"
        )

    named = ", ".join(keys[:_MAX_NAMED_KEYS])
    if len(keys) > _MAX_NAMED_KEYS:
        named += f" and {len(keys) - _MAX_NAMED_KEYS} more"
    return (
        f"no object exists for {days}, so their channels and sampling rate "
        f"cannot be read from a record header: tried {named} on {storage}."
        f"{unsearched} Check the codes, the times and the tier (or root=), or "
        "pass sampling_rate= with exact channel codes, or inventory=, to open "
        "the windows anyway"
    )


def _object_keys(
    request: WaveformRequest,
    collection: Collection,
    routes: Sequence[Route],
    runs: list[tuple[int, int]],
    plan: Plan,
) -> list[dict[int, str]]:
    """Return, per group of the plan, the object key of each day."""
    found: dict[tuple[str, ...], dict[int, str]] = {}
    for start, end in runs:
        part = replace(request, start_ns=start, end_ns=end)
        by_group, _, _ = locate_routes(part, collection, routes)
        for group, refs in by_group.items():
            days = found.setdefault(group, {})
            days.update(_listed_days(refs))

    keys = []
    for first, _ in plan.groups:
        trace = plan.traces[first]
        group = (
            (trace.network, trace.station, trace.location, trace.channel)
            if collection.per_channel
            else (trace.network, trace.station)
        )
        keys.append(found.get(group, {}))
    return keys


def _listed_days(refs: list[ObjectRef]) -> dict[int, str]:
    return {ref.day_ns: ref.key for ref in refs}


def _batches(references: np.ndarray) -> list[tuple[int, int]]:
    """Split windows into runs of at most BATCH_WINDOWS that share a UTC day."""
    batches: list[tuple[int, int]] = []
    first = 0
    for number in range(1, references.size + 1):
        end_of_run = number == references.size or (
            day_start(int(references[number])) != day_start(int(references[first]))
        )
        if end_of_run or number - first == BATCH_WINDOWS:
            batches.append((first, number))
            first = number
    return batches


def _build(
    plan: Plan,
    references: np.ndarray,
    before_ns: int,
    after_ns: int,
    keys: list[dict[int, str]],
) -> xr.Dataset:
    step_ns = 1e9 / plan.rate
    width = max(1, int(np.ceil((before_ns + after_ns) / step_ns - 1e-9)))
    grids = [Grid(int(ref) - before_ns, step_ns, width) for ref in references]
    batches = _batches(references)

    token = tokenize(plan, references, before_ns, after_ns, keys)
    read_name = f"earthscope-windows-read-{token}"
    graph, objects = _read_tasks(read_name, plan, grids, batches, keys)

    window_chunks = tuple(stop - first for first, stop in batches)
    data_vars: dict[str, Any] = {
        "waveform": (
            ("window", "trace", "lag"),
            _array(
                graph,
                read_name,
                token,
                "waveform",
                np.float64,
                window_chunks,
                plan,
                width,
            ),
        )
    }
    for name, (dtype, _, description) in WINDOW_OUTCOMES.items():
        array = _array(graph, read_name, token, name, dtype, window_chunks, plan, None)
        data_vars[name] = (("window", "trace"), array, {"description": description})

    dataset = xr.Dataset(
        data_vars, coords=_coordinates(plan, references, width, step_ns, before_ns)
    )
    dataset["waveform"].attrs.update({"units": "counts", "long_name": "waveform"})
    dataset.attrs.update(
        {
            "sampling_rate": plan.rate,
            "collection": plan.collection.name,
            "before_seconds": before_ns / NS_PER_SECOND,
            "after_seconds": after_ns / NS_PER_SECOND,
            "time_placement": (
                "nearest index of each window's grid, anchored at the reference "
                "time minus before; no sample moves more than half a sample"
            ),
            **_provenance(plan, objects),
        }
    )
    return dataset


def _read_tasks(
    read_name: str,
    plan: Plan,
    grids: list[Grid],
    batches: list[tuple[int, int]],
    keys: list[dict[int, str]],
) -> tuple[dict, set[tuple[int, int, str]]]:
    """Build the read task of each batch and group.

    Returns the tasks and, per object they read, its group, day and URL.
    """
    graph = {}
    objects: set[tuple[int, int, str]] = set()
    for batch, (first, stop) in enumerate(batches):
        batch_grids = tuple(grids[first:stop])
        for group, (low, high) in enumerate(plan.groups):
            batch_objects = _batch_objects(plan, group, batch_grids, keys[group])
            graph[(read_name, batch, group)] = (
                read_window_batch,
                batch_objects,
                plan.traces[low:high],
                batch_grids,
                plan.request.rate_tolerance,
                plan.request.errors,
            )
            objects.update(
                (group, item.day_ns, item.spec.url(item.key))
                for item in batch_objects
                if item.key is not None
            )
    return graph, objects


def _provenance(plan: Plan, objects: set[tuple[int, int, str]]) -> dict[str, str]:
    """Name the tier, the storage and each object the windows read, once."""
    return {
        **plan.storage_attrs(),
        # One URL a line, by group and day, as in day datasets: netCDF
        # attributes take strings, not lists of them.
        "keys": "\n".join(url for _, _, url in sorted(objects)),
    }


def _batch_objects(
    plan: Plan, group: int, grids: tuple[Grid, ...], days: dict[int, str]
) -> tuple[BatchObject, ...]:
    needed: set[int] = set()
    for grid in grids:
        end = grid.start_ns + int(np.ceil(grid.size * grid.step_ns))
        reach = spill_reach_ns(grid.step_ns)
        needed.update(days_between(grid.start_ns - reach, end + 1))
    return tuple(
        BatchObject(plan.unit_spec(group, day), days.get(day), day)
        for day in sorted(needed)
    )


def _pick(result: Any, name: str) -> np.ndarray:
    return result.field(name)


def _array(
    graph: dict,
    read_name: str,
    token: str,
    field: str,
    dtype: Any,
    window_chunks: tuple[int, ...],
    plan: Plan,
    width: int | None,
) -> da.Array:
    name = f"earthscope-windows-{field.replace('_', '-')}-{token}"
    layer: dict = {
        (name, batch, group, *([0] if width is not None else [])): (
            _pick,
            (read_name, batch, group),
            field,
        )
        for batch in range(len(window_chunks))
        for group in range(len(plan.groups))
    }
    chunks: tuple = (window_chunks, plan.group_sizes)
    if width is not None:
        chunks += ((width,),)
    hlg = HighLevelGraph(
        {read_name: graph, name: layer}, {read_name: set(), name: {read_name}}
    )
    meta = np.empty((0,) * len(chunks), dtype=dtype)
    return da.Array(hlg, name, chunks, meta=meta)


def _coordinates(
    plan: Plan, references: np.ndarray, width: int, step_ns: float, before_ns: int
) -> dict[str, Any]:
    traces = plan.traces
    lags = np.rint(np.arange(width) * step_ns).astype(np.int64) - before_ns
    return {
        "window": ("window", references.astype("datetime64[ns]")),
        "lag": ("lag", lags.astype("timedelta64[ns]")),
        **{name: ("trace", values) for name, values in code_arrays(traces).items()},
    }
