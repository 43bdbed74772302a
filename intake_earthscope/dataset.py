"""Assemble a plan into a lazy ``xarray.Dataset`` backed by dask.

Layout of the dataset:

* ``waveform(trace, time)``: float64 counts, NaN where no sample landed.
* Outcome variables on ``(trace, day)``, one value per trace and object.
  The tasks that read the samples compute them too: ``status``,
  ``valid_fraction``, ``gap_count``, ``overlap_count``, ``conflict_count``,
  ``time_offset`` (seconds, grid time minus recorded time of the first
  sample), ``max_shift`` (samples), ``header_rate`` (Hz) and ``tier``.
* Coordinates: ``trace`` (SEED ids) with ``network``, ``station``,
  ``location``, ``channel``; a lazy regular ``time`` grid; ``day``; and
  ``object_key(trace, day)``, the key each chunk reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask._task_spec import TaskRef
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

# Imported for its side effect: the ``earthscope`` accessor (to_obspy).
import intake_earthscope.interop  # noqa: F401
from intake_earthscope.codes import code_arrays
from intake_earthscope.collection import TIER_DTYPE, Collection
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.graph import FieldLayer, UnitLayer
from intake_earthscope.outcomes import count_statuses
from intake_earthscope.plan import Plan
from intake_earthscope.readerargs import reject_unknown_arguments
from intake_earthscope.request import WaveformRequest, check_options
from intake_earthscope.response import (
    DEFAULT_WATER_LEVEL,
    ResponseRemoval,
    check_inventory_source,
    check_response_options,
    describe_inventory,
    finish_corrected_chunk,
    load_inventory,
    removal_for,
    units_attributes,
)
from intake_earthscope.routing import Credentials, plan_request
from intake_earthscope.tasks import (
    NEIGHBOUR_BYTES,
    finish_chunk,
    read_neighbour,
    read_unit,
)
from intake_earthscope.timeutil import NS_PER_DAY

__all__ = ["OUTCOME_VARIABLES", "build_dataset", "open_waveforms", "outcome_table"]

logger = logging.getLogger(__name__)

OUTCOME_VARIABLES: dict[str, tuple[Any, Any, str]] = {
    "status": ("<U24", "", "outcome of reading the trace from the object"),
    "valid_fraction": (np.float64, np.nan, "fraction of grid samples with data"),
    "gap_count": (np.int64, 0, "runs of missing samples in the chunk"),
    "overlap_count": (np.int64, 0, "grid samples delivered more than once"),
    "conflict_count": (np.int64, 0, "overlapping samples whose values differed"),
    "time_offset": (np.float64, np.nan, "grid time minus recorded time, seconds"),
    "max_shift": (np.float64, np.nan, "largest placement shift, in samples"),
    "header_rate": (np.float64, np.nan, "sampling rate in the record headers, Hz"),
    "tier": (
        TIER_DTYPE,
        "",
        "tier of the collection that served the chunk, or 'mirror' for root=",
    ),
}


@reject_unknown_arguments
def open_waveforms(
    collection: Collection | Mapping[str, Any],
    *,
    network: object = None,
    station: object = None,
    location: object = None,
    channel: object = None,
    start: object = None,
    end: object = None,
    sampling_rate: object = None,
    rate_tolerance: object = None,
    errors: object = "raise",
    tier: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    root: str | None = None,
    inventory: Any = None,
    neighbour_bytes: int | None = NEIGHBOUR_BYTES,
    token: Any = None,
    profile: str | None = None,
    remove_response: str | None = None,
    pre_filt: Any = "auto",
    water_level: float | None = DEFAULT_WATER_LEVEL,
) -> xr.Dataset:
    """Open waveforms of a collection as a lazy dataset.

    This is the core behind the intake sources; it imports no intake.

    Parameters
    ----------
    collection : Collection or mapping
        The collection, or its ``collection:`` mapping from the catalog YAML.
    network, station, location, channel : str or list of str
        SEED codes, comma lists and ``?``/``*`` wildcards. A blank location
        may be given as ``""``, ``"--"`` or two spaces. A one-dimensional
        array, Series or Index of codes counts as a list.
    start, end : str, datetime or obspy.UTCDateTime
        UTC window, end exclusive. obspy's ``starttime`` and ``endtime``.
    sampling_rate : float, optional
        Keep only channels at this rate (Hz) when the request mixes rates.
    rate_tolerance : float, optional
        Relative difference under which two rates count as one (1e-4).
    errors : {"raise", "warn", "ignore"}
        Policy for objects that are missing, unreadable or access-denied.
        Whatever the policy, each trace and object has a ``status``.
    tier : str, optional
        Tier of the collection to read, or ``"auto"`` to send each network to
        the tier that contains it (the collection's default otherwise).
    storage_options : dict, optional
        Passed to fsspec/s3fs untouched, on the client and on workers.
    root : str, optional
        A mirror with the same key layout: a local directory, ``file://``
        URL or another bucket (``s3://bucket/prefix``).
    inventory : obspy.Inventory, str or path-like, optional
        Station metadata (or a StationXML path or URL) that names the
        channels and rates, so no record headers are read at open. With
        ``remove_response`` it also supplies the responses.
    neighbour_bytes : int or None
        Bytes read from the end of the object of the day before ``start``
        for the records that cross midnight; ``None`` reads all of it.
    token : str or path, optional
        EarthScope token, or path to a ``tokens.json``, for tiers read with
        EarthScope credentials. Without it the earthscope-sdk settings and
        then ``EARTHSCOPE_TOKEN`` are tried.
    profile : str, optional
        earthscope-sdk profile whose tokens to use.
    remove_response : {"displacement", "velocity", "acceleration"}, optional
        Remove the instrument response, lazily per chunk, to this output
        (units m, m/s or m/s**2). None keeps counts. The responses come from
        ``inventory``, else from the station service of the collection's
        ``fdsn`` tier at level ``response``, fetched once here.
    pre_filt : four floats, "auto" or None
        Corner frequencies (Hz) of the pre-filter. ``"auto"`` derives them
        from the sampling rate with
        :func:`intake_earthscope.response.default_pre_filt`; None applies
        no pre-filter.
    water_level : float or None
        Water level in dB for the spectral division (obspy's default, 60);
        None for none.

    Returns
    -------
    xarray.Dataset
        Lazy dataset; see the module documentation for its variables.

    Raises
    ------
    InvalidRequestError
        Before any I/O, if a parameter is invalid. Its subclass
        :class:`~intake_earthscope.errors.UnknownArgumentError`, also a
        ``TypeError``, names an unknown argument (obspy's ``starttime=``,
        FDSN's ``net=``) and the name to use instead.

    Notes
    -----
    The response is removed from each run of samples without gaps inside
    one chunk (a day), with obspy's ``Trace.remove_response``. Gaps stay
    NaN, and each run is tapered over 5 % of its length at both ends, also
    where a chunk boundary cuts it at midnight.
    """
    if not isinstance(collection, Collection):
        collection = Collection.from_yaml(collection)

    request = WaveformRequest.build(
        network=network,
        station=station,
        location=location,
        channel=channel,
        start=start,
        end=end,
        sampling_rate=sampling_rate,
        errors=errors,
        **({} if rate_tolerance is None else {"rate_tolerance": rate_tolerance}),
    )
    check_options(root, storage_options, neighbour_bytes)
    options = check_response_options(remove_response, pre_filt, water_level)
    described = describe_inventory(inventory)
    if options is not None:
        check_inventory_source(collection, inventory)
        # Read a StationXML path once, for the plan and the responses.
        inventory = load_inventory(inventory)
    credentials = Credentials(token, profile)
    plan = plan_request(
        request, collection, tier, storage_options, root, credentials, inventory
    )
    removal = removal_for(options, plan, inventory, credentials, described)
    return build_dataset(plan, neighbour_bytes, removal)


def build_dataset(
    plan: Plan,
    neighbour_bytes: int | None = NEIGHBOUR_BYTES,
    removal: ResponseRemoval | None = None,
) -> xr.Dataset:
    """Build the lazy dataset of ``plan`` (no I/O happens here).

    With ``removal`` each chunk task also removes the instrument response
    (:func:`~intake_earthscope.response.finish_corrected_chunk`).
    """
    token = tokenize(plan, neighbour_bytes, removal)
    units = _unit_layer(plan, neighbour_bytes, token, removal)

    waveform = _field_array(plan, units, token, "waveform", np.float64)
    data_vars: dict[str, tuple[Any, ...]] = {"waveform": (("trace", "time"), waveform)}
    for name, (dtype, _, description) in OUTCOME_VARIABLES.items():
        array = _field_array(plan, units, token, name, dtype)
        data_vars[name] = (("trace", "day"), array, {"description": description})

    dataset = xr.Dataset(data_vars, coords=_coordinates(plan))
    dataset["waveform"].attrs.update(units_attributes(removal))
    dataset.attrs.update(_provenance(plan))
    if removal is not None:
        dataset.attrs.update(removal.attributes())
    return dataset


def outcome_table(dataset: xr.Dataset) -> pd.DataFrame:
    """Return one row per trace and object: key, status and counters.

    Computes the outcome variables if they are still lazy, which reads the
    objects; call ``dataset.load()`` (or ``source.read()``) first to read
    each object once. Each call logs one INFO record on the
    ``intake_earthscope.dataset`` logger with the count of each status.
    Window datasets (:func:`~intake_earthscope.windows.open_windows`) give
    one row per window and trace, with the window's reference time and its
    ``read_mode``. GNSS datasets get their own tables: one row per station
    for positions, one row per day for RINEX observations.
    """
    # A window or day picked with ``isel`` is a coordinate, not a dimension.
    if "window" in dataset.coords and "status" in dataset.variables:
        return _window_outcome_table(dataset)
    if "object_key" not in dataset.variables:
        return _gnss_outcome_table(dataset)
    names = [name for name in OUTCOME_VARIABLES if name in dataset]
    frame = _outcome_frame(dataset[names + ["object_key"]], ("trace", "day"))
    frame = frame[["trace", "day", "object_key", *names]]
    _log_statuses(frame, dataset, "trace-object units")
    return frame


def _window_outcome_table(dataset: xr.Dataset) -> pd.DataFrame:
    from intake_earthscope.windows import WINDOW_OUTCOMES

    names = [name for name in WINDOW_OUTCOMES if name in dataset]
    frame = _outcome_frame(dataset[names], ("window", "trace"))
    frame = frame[["window", "trace", *names]]
    _log_statuses(frame, dataset, "window traces")
    return frame


def _outcome_frame(subset: xr.Dataset, dims: tuple[str, str]) -> pd.DataFrame:
    """Compute ``subset`` into a frame with a row per cell of ``dims``.

    A dimension that ``isel`` reduced to a scalar coordinate becomes a
    dimension of length 1 again, so that each row still names its cell.
    Rows follow ``dims`` in order, whatever order the variables' dimensions
    are in.

    Raises
    ------
    InvalidRequestError
        If a variable has a dimension other than ``dims``.
    """
    extra = sorted(str(dim) for dim in subset.dims if dim not in dims)
    if extra:
        raise InvalidRequestError(
            f"invalid dataset for outcome_table: its outcome variables have the "
            f"dimension(s) {extra} besides {list(dims)}, as xr.concat(..., "
            "dim='time') gives them by copying each value along time. Join "
            "datasets of other days or traces with xr.merge(..., "
            "compat='no_conflicts', join='outer') instead"
        )
    for dim in dims:
        if dim not in subset.dims:
            subset = subset.expand_dims(dim)
    frame = subset.compute().to_dataframe(dim_order=list(dims))
    return frame.reset_index()


def _log_statuses(frame: pd.DataFrame, dataset: xr.Dataset, rows: str) -> None:
    """Log the count of each status of an outcome table in one INFO record."""
    if "status" not in frame:
        return
    counts = count_statuses(frame["status"])
    summary = ", ".join(f"{count} {status}" for status, count in counts.items())
    span = ""
    if "request_start" in dataset.attrs:
        span = f" {dataset.attrs['request_start']}..{dataset.attrs.get('request_end')}"
    logger.info(
        "outcomes of %d %s of %s%s: %s",
        len(frame),
        rows,
        dataset.attrs.get("collection", "the dataset"),
        span,
        summary or "none",
    )


class _UnitTasks:
    """Make the read, neighbour and finishing task of each unit of a plan."""

    def __init__(
        self,
        plan: Plan,
        neighbour_bytes: int | None,
        names: tuple,
        removal: ResponseRemoval | None = None,
    ) -> None:
        self.plan = plan
        self.neighbour_bytes = neighbour_bytes
        self.removal = removal
        self.read_name, self.neighbour_name, _ = names
        self.patterns = _patterns(plan.request)

    def __call__(
        self, kind: str, group: int, day: int | None
    ) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        plan = self.plan
        first, stop = plan.groups[group]
        traces = plan.traces[first:stop]
        arguments: tuple[Any, ...]
        if kind == "neighbour":
            arguments = (
                plan.unit_spec(group, plan.days[0] - NS_PER_DAY),
                plan.neighbour_keys[group],
                traces,
                plan.grid,
                plan.bounds[1],
                plan.request.rate_tolerance,
                self.neighbour_bytes,
            )
            return read_neighbour, arguments

        assert day is not None
        if kind == "read":
            arguments = (
                plan.unit_spec(group, plan.days[day]),
                plan.keys[group][day],
                traces,
                plan.grid,
                plan.bounds[day],
                plan.bounds[day + 1],
                plan.request.rate_tolerance,
                plan.request.errors,
                self.patterns,
                plan.fallback(group),
            )
            return read_unit, arguments

        previous = (
            (self.read_name, group, day - 1) if day else (self.neighbour_name, group)
        )
        following = (
            TaskRef((self.read_name, group, day + 1))
            if day + 1 < len(plan.days)
            else None
        )
        arguments = (
            TaskRef((self.read_name, group, day)),
            TaskRef(previous),
            following,
            plan.grid,
        )
        if self.removal is not None:
            removal = self.removal
            extra = (removal.groups[group], plan.bounds[day], removal.options)
            return finish_corrected_chunk, arguments + extra
        return finish_chunk, arguments


def _gnss_outcome_table(dataset: xr.Dataset) -> pd.DataFrame:
    if "station" in dataset.dims and "url" in dataset.variables:
        from intake_earthscope.gnss.position_dataset import position_outcome_table

        return position_outcome_table(dataset)
    if "day" in dataset.dims and "path" in dataset.variables:
        from intake_earthscope.gnss.rinex_dataset import rinex_outcome_table

        return rinex_outcome_table(dataset)
    raise InvalidRequestError(
        "dataset has no outcome variables of this package: pass a dataset "
        "opened by intake-earthscope (waveforms, GNSS positions or RINEX)"
    )


def _unit_layer(
    plan: Plan,
    neighbour_bytes: int | None,
    token: str,
    removal: ResponseRemoval | None = None,
) -> UnitLayer:
    names = (
        f"earthscope-read-{token}",
        f"earthscope-neighbour-{token}",
        f"earthscope-chunk-{token}",
    )
    tasks = _UnitTasks(plan, neighbour_bytes, names, removal)
    return UnitLayer(names, len(plan.groups), len(plan.days), tasks)


def _patterns(request: WaveformRequest) -> dict[str, tuple[str, ...]]:
    kinds = ("network", "station", "location", "channel")
    return {kind: request.codes(kind) for kind in kinds}


def _pick(result: Any, name: str) -> np.ndarray:
    return result.field(name)


def _field_array(
    plan: Plan, units: UnitLayer, token: str, field: str, dtype: Any
) -> da.Array:
    name = f"earthscope-{field.replace('_', '-')}-{token}"
    groups, days = len(plan.groups), len(plan.days)
    layer = FieldLayer(name, units.chunk_name, field, groups, days, _pick)
    hlg = HighLevelGraph(
        {units.chunk_name: units, name: layer},
        {units.chunk_name: set(), name: {units.chunk_name}},
    )
    widths = plan.chunk_widths if field == "waveform" else (1,) * days
    meta = np.empty((0, 0), dtype=dtype)
    return da.Array(hlg, name, (plan.group_sizes, widths), meta=meta)


def _coordinates(plan: Plan) -> xr.Coordinates:
    codes = {
        name: ("trace", values) for name, values in code_arrays(plan.traces).items()
    }
    coords = xr.Coordinates(
        {
            **codes,
            "day": ("day", np.array(plan.days, dtype="datetime64[ns]")),
            "object_key": (("trace", "day"), _key_table(plan)),
        }
    )
    return coords.merge(_time_coordinates(plan)).coords


def _time_coordinates(plan: Plan) -> xr.Coordinates:
    grid = plan.grid
    try:
        from intake_earthscope.timegrid import time_coords
    except ImportError:  # pragma: no cover - the module ships with the package
        values = grid.start_ns + np.rint(np.arange(grid.size) * grid.step_ns)
        return xr.Coordinates({"time": values.astype("datetime64[ns]")})
    return time_coords(grid.start_ns, grid.step_ns, grid.size)


def _key_table(plan: Plan) -> np.ndarray:
    """Return the URL each (trace, day) chunk reads, "" where it reads none.

    The table is fixed-width unicode, as the code coordinates are.
    """
    rows: list[list[str]] = []
    for group, (first, stop) in enumerate(plan.groups):
        spec = plan.group_specs[group]
        urls = [spec.url(key) if key else "" for key in plan.keys[group]]
        rows.extend(urls for _ in range(stop - first))
    return np.array(rows, dtype=str).reshape(len(plan.traces), len(plan.days))


def _provenance(plan: Plan) -> dict[str, Any]:
    return {
        "sampling_rate": plan.rate,
        "collection": plan.collection.name,
        **plan.storage_attrs(),
        # One key a line: netCDF writers take strings, not lists of them.
        "keys": "\n".join(
            plan.group_specs[group].url(key)
            for group, row in enumerate(plan.keys)
            for key in row
            if key
        ),
        "neighbour_keys": "\n".join(
            plan.group_specs[group].url(key)
            for group, key in enumerate(plan.neighbour_keys)
            if key
        ),
        "time_placement": (
            "nearest grid index; no sample moves more than half a sample "
            "from its segment's timeline"
        ),
        "request_start": str(np.datetime64(plan.request.start_ns, "ns")),
        "request_end": str(np.datetime64(plan.request.end_ns, "ns")),
    }
