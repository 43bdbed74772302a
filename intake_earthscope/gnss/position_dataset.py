"""Daily GNSS position time series as a lazy ``xarray.Dataset``.

Layout of the dataset:

* ``north``, ``east``, ``up`` on ``(station, time)``: metres relative to each
  station's reference position, NaN on days without a solution.
* ``sigma_north``, ``sigma_east``, ``sigma_up`` (metres) and
  ``corr_north_east``, ``corr_north_up``, ``corr_east_up``: NaN where the
  format has none (GAGE CSV has no correlations).
* ``time``: one label per UTC day at 12:00, the epoch of the PBO ``.pos``
  rows; CSV and tenv3 rows, which carry a date only, get the same label.
* Per-station coordinates ``latitude``, ``longitude`` (-180 to 180),
  ``height`` and ``ref_x``, ``ref_y``, ``ref_z`` (NaN where the file gives
  no XYZ), plus ``url``, the file each station is read from.
* Outcome variables on ``station``: ``status`` (see :data:`POSITION_STATUSES`),
  ``days`` (days of the window with a solution) and ``message``. The message
  of an ``ok`` station names the days without a row between its first and
  last day in the window, where there are any (:func:`missing_days_notes`).

Every variable of one station comes from one dask task that reads and
parses that station's file, so each station is one chunk. Opening with
``start`` and ``end`` reads no position file (a station wildcard still lists
the archive). Without them the open reads each file's declared span,
concurrently, and applies the ``errors`` policy to those reads. It reads the
first 4 KB of a ``.pos`` or CSV file on S3 or a mirror, and the whole file
over HTTPS or for tenv3, whose header declares no span.
A failure that the open reported is not reported again when the data are
computed, unless the file then fails with another message.

A header span can be stale: a file may contain rows after its ``Last Epoch``
or before its ``First Epoch``. Such rows fall outside a grid that was taken
from the headers, so they are not read. The station then gets the status
``outside_span``, and its message gives the number of rows left out and the
span the header declares. Opening with ``start`` and ``end`` reads them. Rows
outside a ``start`` or ``end`` that the caller gave are not counted. A file
that also ends inside a row gets the status ``truncated``, and its message
has one line per fault, each after its status.

The outcome variables ``status`` and ``message`` are fixed-width strings
computed by the same task as the data, so computing or writing the whole
dataset reads each file once.
A message longer than :data:`MESSAGE_WIDTH` characters ends with a note of
the characters cut, and the whole message goes to this module's INFO log.
"""

from __future__ import annotations

import fnmatch
import glob
import logging
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from intake_earthscope.auth import TokenSource
from intake_earthscope.codes import has_wildcard
from intake_earthscope.collection import Tier
from intake_earthscope.errors import (
    AccessDeniedError,
    ArchiveLayoutError,
    CredentialsError,
    DecodeError,
    InvalidRequestError,
    ObjectNotFoundError,
    StorageUnavailableError,
    WebServiceError,
)
from intake_earthscope.gnss.archive import (
    ArchiveLocation,
    GnssProduct,
    fetch,
    list_names,
    location_for,
    long_name_hint,
    render_path,
)
from intake_earthscope.gnss.positions import (
    COMPONENTS,
    NOON_NS,
    PositionSeries,
    header_span,
    parse_positions,
)
from intake_earthscope.outcomes import add_policy_hint, task_hint, warn_read_outcome
from intake_earthscope.readerargs import reject_unknown_arguments
from intake_earthscope.request import check_options, request_end, request_time
from intake_earthscope.routing import Credentials
from intake_earthscope.stationtable import parse_gage_station_list
from intake_earthscope.storage import StorageSpec, read_bytes
from intake_earthscope.timeutil import NS_PER_DAY, check_window_order, day_start
from intake_earthscope.webservices import WebServiceSpec

__all__ = [
    "DEFAULT_CHOICES",
    "POSITION_STATUSES",
    "PositionPlan",
    "StationFile",
    "build_position_dataset",
    "missing_days_notes",
    "open_gage_positions",
    "open_positions",
    "plan_positions",
    "position_outcome_table",
]

logger = logging.getLogger(__name__)

#: Product choices of the GAGE position files and their defaults.
DEFAULT_CHOICES = {
    "analysis_center": "cwu",
    "solution": "final",
    "frame": "nam14",
    "format": "pos",
}

#: Outcome of each station file.
POSITION_STATUSES = {
    "ok": "the file was read; the message names days missing inside its data",
    "truncated": "the file ends inside a row; the rows before the cut were read",
    "no_data_in_window": "the file was read and has no day inside the window",
    "missing": "the file does not exist (404 or no such object)",
    "access_denied": "the archive refused the file (401 or 403)",
    "outside_span": (
        "the file has rows outside the span its header declares; they were not "
        "read (open with start= and end= to read them)"
    ),
    "unreadable": "the file is not a position time series that can be decoded",
    "unreachable": "the archive could not be reached or failed (5xx)",
}

ERROR_POLICIES = ("raise", "warn", "ignore")

_STATION = re.compile(r"^[A-Z0-9]{4}$")

# Coordinates read from each file, after the components.
_REFERENCE_FIELDS = {
    "latitude": ("latitude", "degrees_north", "reference latitude (geodetic)"),
    "longitude": ("longitude", "degrees_east", "reference longitude, -180 to 180"),
    "height": ("height", "m", "reference height above the ellipsoid"),
    "ref_x": ("x", "m", "reference position X (Earth-centred)"),
    "ref_y": ("y", "m", "reference position Y (Earth-centred)"),
    "ref_z": ("z", "m", "reference position Z (Earth-centred)"),
}

_FRAME_DESCRIPTION = (
    "reference frame named in the file header, empty where the format names none"
)

_UNITS = {
    "north": ("m", "north offset from the reference position"),
    "east": ("m", "east offset from the reference position"),
    "up": ("m", "vertical offset from the reference position"),
    "sigma_north": ("m", "standard deviation of north"),
    "sigma_east": ("m", "standard deviation of east"),
    "sigma_up": ("m", "standard deviation of up"),
    "corr_north_east": ("1", "correlation of north and east"),
    "corr_north_up": ("1", "correlation of north and up"),
    "corr_east_up": ("1", "correlation of east and up"),
}

_OPEN_THREADS = 8

# Width of the message variable. Dask needs each variable's dtype before any
# file is read, and the export writes the outcome variables lazily at this
# width, so a longer message is cut (see _fit_message).
MESSAGE_WIDTH = 1024

# Days the note about a station's missing days names before it counts the rest.
LISTED_MISSING_DAYS = 10
# Width of the frame coordinate. Frame names are short, such as "IGS08" or "NAM14".
FRAME_WIDTH = 32

# Bytes read from the start of a file for its declared span. The real .pos
# and CSV headers declare it within their first 400 bytes.
HEAD_BYTES = 4096


@dataclass(frozen=True)
class StationFile:
    """Location of one station's position file, without secrets so it pickles small."""

    station: str
    location: ArchiveLocation
    path: str

    @property
    def url(self) -> str:
        """URL of the file for messages and provenance (never signed)."""
        return self.location.url(self.path)


@dataclass(frozen=True)
class PositionPlan:
    """Station files and the daily grid they are placed on.

    Attributes
    ----------
    files : tuple of StationFile
        One file per station, in dataset order.
    first_ns : int
        Label of the first day of the grid (12:00 UTC), nanoseconds.
    size : int
        Number of days.
    errors : str
        ``"raise"``, ``"warn"`` or ``"ignore"``.
    product : str
        Product name for provenance, such as ``"gage.positions"``.
    bounds_from_headers : tuple of bool
        Whether the first and the last day of the grid were taken from the
        files' declared spans rather than from ``start`` and ``end``. Rows
        beyond such a bound give the status ``outside_span``.
    reported : tuple of str
        For each file, the failure message that the open already warned or
        logged while it read the file's span, or ``""``. The read of the
        data does not report the same failure again.
    """

    files: tuple[StationFile, ...]
    first_ns: int
    size: int
    errors: str
    product: str = "positions"
    bounds_from_headers: tuple[bool, bool] = (False, False)
    reported: tuple[str, ...] = ()

    @property
    def time(self) -> np.ndarray:
        """Day labels of the grid as ``datetime64[ns]``."""
        steps = np.arange(self.size, dtype=np.int64) * NS_PER_DAY
        return (self.first_ns + steps).astype("datetime64[ns]")


@reject_unknown_arguments
def open_gage_positions(
    product: GnssProduct | Mapping[str, Any],
    *,
    station: object = None,
    start: object = None,
    end: object = None,
    analysis_center: str | None = None,
    solution: str | None = None,
    frame: str | None = None,
    format: str | None = None,
    errors: str = "raise",
    tier: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    root: str | None = None,
    token: Any = None,
    profile: str | None = None,
) -> xr.Dataset:
    """Open daily position time series of GAGE stations as a lazy dataset.

    This is the core behind the intake sources; it imports no intake.

    Parameters
    ----------
    product : GnssProduct or mapping
        The product, or its ``product:`` mapping from the catalog YAML.
    station : str or list of str
        Four-character station ids, a comma list, ``?``/``*`` wildcards.
        Wildcards are matched against the archive's station list (HTTPS) or
        the directories under ``products/position/`` (S3 or local mirrors).
    start, end : str or datetime, optional
        UTC window, end exclusive; a day is in it when its 12:00 label is.
        With both given, opening reads no position file. Without one of
        them, the open reads each file's declared span (see the module
        documentation).
    analysis_center : str
        ``"cwu"`` (default) or ``"pbo"`` for the older products.
    solution : str
        ``"final"`` (default) or ``"rapid"``.
    frame : str
        ``"nam14"`` (default) or ``"igs14"``, in any case (``NAM14`` and
        ``nam14`` read the same file). The ``frame`` coordinate contains the
        frame as each file's header spells it, such as ``NAM14``.
    format : str
        File variant of the product's ``paths``: ``"pos"`` (default),
        ``"csv"`` or ``"pbo_pos"``.
    errors : {"raise", "warn", "ignore"}
        Policy for files that are missing, denied or cannot be decoded.
        Whatever the policy, each station has a ``status``.
    tier : str, optional
        Tier of the product; its default tier otherwise.
    storage_options : dict, optional
        fsspec options for S3 and mirror tiers.
    root : str, optional
        A mirror with the archive's layout (local directory or fsspec URL).
    token : str or path, optional
        EarthScope token, or path to a ``tokens.json``, for the HTTPS tier.
        Without it the earthscope-sdk settings and then ``EARTHSCOPE_TOKEN``
        are tried. The token never enters the dataset or the graph.
    profile : str, optional
        earthscope-sdk profile whose tokens to use.

    Returns
    -------
    xarray.Dataset
        Lazy dataset; see the module documentation for its variables.
    """
    if not isinstance(product, GnssProduct):
        product = GnssProduct.from_yaml(product)
    errors = check_errors(errors)
    choices = product_choices(product, analysis_center, solution, frame, format)
    window = parse_window(start, end)
    check_options(root, storage_options, None)

    chosen_tier = product.tier(tier)
    location = location_for(
        chosen_tier,
        storage_options,
        root,
        _token_source(chosen_tier, root, token, profile),
    )
    stations = resolve_stations(product, location, station)
    template = product.path(choices["format"])
    files = tuple(
        StationFile(code, location, render_path(template, code, _EPOCH, choices))
        for code in stations
    )
    plan = plan_positions(files, window, errors, product.name)
    return build_position_dataset(plan)


@reject_unknown_arguments
def open_positions(
    paths: str | Sequence[str],
    *,
    start: object = None,
    end: object = None,
    errors: str = "raise",
    storage_options: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Open position files in any format (``.pos``, GAGE CSV, NGL tenv3).

    Parameters
    ----------
    paths : str or list of str
        Local paths, ``http(s)://`` URLs (read without the EarthScope
        token) or other fsspec URLs such as ``s3://``, one file per
        station. A local path with the wildcards ``*``, ``?`` or ``[`` that
        names no file stands for the files it matches, in sorted order, as in
        :func:`xarray.open_mfdataset`. Opening reads no file, so the
        ``station`` labels are the first four characters of each file name in
        upper case. The id written inside the file is not compared with that
        label.
    start, end : str or datetime, optional
        UTC window as for :func:`open_gage_positions`.
    errors : {"raise", "warn", "ignore"}
        Policy for files that are missing or cannot be decoded.
    storage_options : dict, optional
        fsspec options for remote paths.

    Returns
    -------
    xarray.Dataset
        Lazy dataset; see the module documentation for its variables.
    """
    if isinstance(paths, str):
        paths = [paths]
    if not paths:
        raise InvalidRequestError("missing paths: give at least one position file")
    errors = check_errors(errors)
    window = parse_window(start, end)

    expanded = [name for path in paths for name in _expand_local(str(path))]
    files = tuple(_path_file(path, storage_options) for path in expanded)
    _check_unique_stations(files)
    plan = plan_positions(files, window, errors, "positions")
    return build_position_dataset(plan)


def _expand_local(path: str) -> list[str]:
    """Return the files a local pattern matches, or ``[path]``.

    Raises
    ------
    InvalidRequestError
        If a pattern matches no file, or ``path`` is a folder.
    """
    if urlsplit(path).scheme not in ("", "file"):
        return [path]
    local = path.removeprefix("file://")
    if os.path.isfile(local):
        # A file named as typed, such as "P[1]23.pos", is no pattern.
        return [path]
    if glob.has_magic(local):
        found = sorted(name for name in glob.glob(local) if not os.path.isdir(name))
        if not found:
            raise InvalidRequestError(
                f"invalid paths={path!r}: no file matches the pattern; check the "
                "folder and the file names, such as '/data/pos/*.pos'"
            )
        return found
    if os.path.isdir(local):
        pattern = os.path.join(local, "*.pos")
        raise InvalidRequestError(
            f"invalid paths={path!r}: a folder, not a position file; give its "
            f"files as a list or a pattern, such as paths={pattern!r}"
        )
    return [path]


# Name of the tier of the files that open_positions gets by path.
_PATHS_TIER = "paths"


def _path_file(path: str, storage_options: Mapping[str, Any] | None) -> StationFile:
    directory, _, name = path.rpartition("/")
    if urlsplit(path).scheme in ("http", "https"):
        # Web files are read without the EarthScope token; GAGE files that
        # need it go through open_gage_positions and the catalog tier.
        web = WebServiceSpec(base_url=directory + "/", token_source=None)
        return StationFile(name[:4].upper(), ArchiveLocation(web=web), name)
    tier = Tier(name=_PATHS_TIER, protocol="file", bucket=".")
    spec = StorageSpec.for_tier(tier, storage_options, root=directory or ".")
    return StationFile(name[:4].upper(), ArchiveLocation(storage=spec), name)


def _check_unique_stations(files: tuple[StationFile, ...]) -> None:
    """Raise if two files get the same station id from their names."""
    urls: dict[str, list[str]] = {}
    for station_file in files:
        urls.setdefault(station_file.station, []).append(station_file.url)
    repeated = {station: found for station, found in urls.items() if len(found) > 1}
    if repeated:
        listed = "; ".join(
            f"{station}: {', '.join(found)}" for station, found in repeated.items()
        )
        raise InvalidRequestError(
            f"invalid paths: station ids come from the first four characters of "
            f"each file name, and several files give the same id ({listed}); "
            "rename the files so that each starts with its station id, or open "
            "them separately"
        )


def plan_positions(
    files: tuple[StationFile, ...],
    window: tuple[int | None, int | None],
    errors: str,
    product: str,
) -> PositionPlan:
    """Fix the daily grid of ``files``; fetch them only if the window is open."""
    start_ns, end_ns = window
    bounds_from_headers = (start_ns is None, end_ns is None)
    reported: tuple[str, ...] = ()
    if start_ns is None or end_ns is None:
        first, last, reported = _data_span(files, errors, product)
        start_ns = first if start_ns is None else start_ns
        end_ns = last + 1 if end_ns is None else end_ns

    first_label = day_start(start_ns) + NOON_NS
    if first_label < start_ns:
        first_label += NS_PER_DAY
    size = max(0, -(-(end_ns - first_label) // NS_PER_DAY))
    return PositionPlan(
        files, first_label, size, errors, product, bounds_from_headers, reported
    )


def resolve_stations(
    product: GnssProduct, location: ArchiveLocation, station: object
) -> tuple[str, ...]:
    """Return the station ids of ``station``, with wildcards resolved.

    Raises
    ------
    InvalidRequestError
        If no station is given, a code is not four letters or digits, or a
        wildcard matches no station of the archive.
    """
    patterns = station_patterns(station)
    if not any(has_wildcard(pattern) for pattern in patterns):
        return patterns

    known = _known_stations(product, location)
    found: list[str] = []
    for pattern in patterns:
        if has_wildcard(pattern):
            found.extend(fnmatch.filter(known, pattern))
        else:
            found.append(pattern)
    if not found:
        raise InvalidRequestError(
            f"station={station!r} matches none of the {len(known)} stations of "
            f"{product.name} at {location.url('')}; check the pattern"
        )
    return tuple(dict.fromkeys(found))


def build_position_dataset(plan: PositionPlan) -> xr.Dataset:
    """Build the lazy dataset of ``plan`` (no I/O happens here)."""
    token = tokenize(plan)
    read_name = f"gnss-positions-read-{token}"
    graph = {
        (read_name, index): (
            read_station,
            station_file,
            plan.first_ns,
            plan.size,
            plan.errors,
            plan.bounds_from_headers,
            plan.reported[index] if plan.reported else "",
            plan.product,
        )
        for index, station_file in enumerate(plan.files)
    }
    count = len(plan.files)

    data_vars: dict[str, Any] = {}
    for component in COMPONENTS:
        array = _field_array(graph, read_name, token, component, count, plan.size)
        units, description = _UNITS[component]
        attrs = {"units": units, "long_name": description}
        data_vars[component] = (("station", "time"), array, attrs)
    outcome_types = (
        ("status", "<U24"),
        ("days", np.int64),
        ("message", f"<U{MESSAGE_WIDTH}"),
    )
    for name, dtype in outcome_types:
        array = _field_array(graph, read_name, token, name, count, None, dtype)
        data_vars[name] = (("station",), array)

    coords: dict[str, Any] = {
        "station": ("station", np.array([f.station for f in plan.files], dtype=str)),
        "time": ("time", plan.time),
        "url": ("station", np.array([f.url for f in plan.files], dtype=str)),
    }
    for name, (_, units, description) in _REFERENCE_FIELDS.items():
        array = _field_array(graph, read_name, token, name, count, None)
        coords[name] = ("station", array, {"units": units, "long_name": description})
    frames = _field_array(
        graph, read_name, token, "frame", count, None, f"<U{FRAME_WIDTH}"
    )
    coords["frame"] = ("station", frames, {"long_name": _FRAME_DESCRIPTION})

    dataset = xr.Dataset(data_vars, coords=coords)
    dataset.attrs.update(_provenance(plan))
    return dataset


def position_outcome_table(dataset: xr.Dataset) -> pd.DataFrame:
    """Return one row per station: file URL, status, days read and message.

    Computes the outcome variables if they are still lazy, which reads the
    files; call ``dataset.load()`` first to read each file once.
    """
    subset = dataset[["status", "days", "message"]].compute()
    frame = subset.to_dataframe().reset_index()
    return frame[["station", "url", "status", "days", "message"]]


def read_station(
    station_file: StationFile,
    first_ns: int,
    size: int,
    errors: str,
    bounds_from_headers: tuple[bool, bool] = (False, False),
    reported: str = "",
    product: str = "positions",
) -> dict[str, Any]:
    """Fetch and parse one station file and place it on the daily grid.

    Returns a mapping of each component to a ``(size,)`` array plus the
    reference coordinates and the outcome (``status``, ``days``,
    ``message``). Under ``errors="raise"`` a failed read raises.
    ``bounds_from_headers`` marks the grid bounds that came from declared
    spans, and rows beyond those bounds give the status ``outside_span``.
    ``reported`` is the failure message that the open already reported for
    this file; a read that fails with the same message only logs it at DEBUG.
    ``product`` names the dataset in a warning raised in a dask worker thread.
    """
    try:
        series = _fetch_series(station_file)
    except _READ_ERRORS as raised:
        error = _file_error(station_file, raised)
        status = _failure_status(error)
        result = _failed_result(size, status, error, errors)
        if str(error) == reported:
            logger.debug("%s: %s (reported when the dataset was opened)", status, error)
        else:
            _report_failure(station_file, status, error, errors, product)
        return result

    result = _placed(series, first_ns, size)
    faults = _faults(station_file, series, first_ns, size, bounds_from_headers)
    if faults:
        result["status"] = faults[0][0]
        result["message"] = _faults_message(faults)
        hint = _task_hint(product, station_file)
        _report(result["message"], result["status"], errors, hint)
    elif result["days"] == 0:
        result["status"] = "no_data_in_window"
        result["message"] = f"{station_file.url} has no day inside the window"
    else:
        result["message"] = _missing_days_message(station_file, series, first_ns, size)
    return result


def _missing_days_message(
    station_file: StationFile, series: PositionSeries, first_ns: int, size: int
) -> str:
    """Return the message naming the days of the grid without a row between
    the file's first and last row in the grid, or ``""`` where there are none.

    Days before the first row or after the last are left out, because the
    grid spans every station's data, not this station's.
    """
    index = (series.time.astype(np.int64) - first_ns) // NS_PER_DAY
    present = np.unique(index[(index >= 0) & (index < size)])
    if len(present) == 0:
        return ""
    interior = np.setdiff1d(np.arange(present[0], present[-1] + 1), present)
    if len(interior) == 0:
        return ""

    days = [
        str(np.datetime64(first_ns + int(i) * NS_PER_DAY, "ns"))[:10]
        for i in interior[:LISTED_MISSING_DAYS]
    ]
    listed = ", ".join(days)
    if len(interior) > LISTED_MISSING_DAYS:
        listed += f" and {len(interior) - LISTED_MISSING_DAYS} more"
    return (
        f"{station_file.url} has no row for {len(interior)} day(s) between its "
        f"first and last day in the window: {listed}"
    )


def missing_days_notes(dataset: xr.Dataset) -> list[tuple[str, str]]:
    """List the stations of a position dataset that lack days inside their data.

    Parameters
    ----------
    dataset : xarray.Dataset
        A dataset of :func:`open_positions` or :func:`open_gage_positions`,
        or the NetCDF or Zarr output written from one. Other datasets give
        an empty list.

    Returns
    -------
    list of (str, str)
        The station and its message, for each station whose ``status`` is
        ``ok`` and whose message names missing days. Computes the outcome
        variables if they are still lazy, which reads the files.
    """
    if any(name not in dataset.variables for name in ("north", "status", "message")):
        return []
    subset = dataset[["status", "message"]].compute()
    stations = _texts(subset["station"])
    statuses = _texts(subset["status"])
    messages = _texts(subset["message"])
    return [
        (station, message)
        for station, status, message in zip(stations, statuses, messages, strict=True)
        if status == "ok" and message
    ]


def _texts(variable: xr.DataArray) -> list[str]:
    """Return the values of a text variable of one station or of many."""
    # Zarr text may come back as NumPy's StringDType, so compare Python
    # strings. One station selected with isel(station=0) gives 0-d arrays.
    return [str(value) for value in np.ravel(variable.values).tolist()]


def _faults(
    station_file: StationFile,
    series: PositionSeries,
    first_ns: int,
    size: int,
    bounds_from_headers: tuple[bool, bool],
) -> list[tuple[str, str]]:
    """Return the status and message of each fault of a parsed file.

    A cut row comes first, because reading again with ``start`` and ``end``
    recovers rows outside the span but not the rows after the cut.
    """
    faults = []
    if series.truncated:
        message = f"{station_file.url} ends inside a row; the rows before it were read"
        faults.append(("truncated", message))
    outside = _rows_outside(series, first_ns, size, bounds_from_headers)
    if outside:
        message = _outside_message(station_file, series, outside)
        faults.append(("outside_span", message))
    return faults


def _faults_message(faults: list[tuple[str, str]]) -> str:
    """Join the messages of a file's faults, each after its status where
    there are several, because the ``status`` variable contains only the first."""
    if len(faults) == 1:
        return faults[0][1]
    return "\n".join(f"{status}: {message}" for status, message in faults)


def _rows_outside(
    series: PositionSeries,
    first_ns: int,
    size: int,
    bounds_from_headers: tuple[bool, bool],
) -> int:
    """Count rows before or after the grid bounds that came from headers."""
    labels = series.time.astype(np.int64)
    before = int(np.count_nonzero(labels < first_ns)) if bounds_from_headers[0] else 0
    last_ns = first_ns + size * NS_PER_DAY
    after = int(np.count_nonzero(labels >= last_ns)) if bounds_from_headers[1] else 0
    return before + after


def _outside_message(
    station_file: StationFile, series: PositionSeries, outside: int
) -> str:
    declared = "no span"
    if series.span is not None:
        first, last = (str(label)[:10] for label in series.span)
        declared = f"the span {first} to {last}"
    return (
        f"{station_file.url} has {outside} of {len(series)} rows outside the "
        f"grid, which was taken from the file headers ({station_file.station} "
        f"declares {declared}); they were not read, so open with start= and "
        "end= to read them"
    )


def _placed(series: PositionSeries, first_ns: int, size: int) -> dict[str, Any]:
    labels = series.time.astype(np.int64)
    index = (labels - first_ns) // NS_PER_DAY
    inside = (index >= 0) & (index < size)
    result: dict[str, Any] = {}
    for component in COMPONENTS:
        row = np.full(size, np.nan)
        row[index[inside]] = series.values[component][inside]
        result[component] = row
    for name, (attribute, _, _) in _REFERENCE_FIELDS.items():
        result[name] = float(getattr(series.reference, attribute))
    result["frame"] = series.reference.frame[:FRAME_WIDTH]
    result.update(status="ok", days=int(inside.sum()), message="")
    return result


def _failed_result(
    size: int, status: str, error: Exception, errors: str
) -> dict[str, Any]:
    """Return the all-NaN result of a failed read; raise under ``errors="raise"``."""
    _raise_under_policy(error, status, errors)
    result: dict[str, Any] = {name: np.full(size, np.nan) for name in COMPONENTS}
    result.update({name: np.nan for name in _REFERENCE_FIELDS})
    result.update(frame="", status=status, days=0, message=str(error))
    return result


def _raise_under_policy(error: Exception, status: str, errors: str) -> None:
    """Raise ``error`` with the policy hint under ``errors="raise"``."""
    if errors == "raise":
        add_policy_hint(error, status, "stations")
        raise error


def _report_failure(
    station_file: StationFile,
    status: str,
    error: Exception,
    errors: str,
    product: str = "positions",
) -> None:
    message = f"{error}; station {station_file.station} is NaN"
    _report(message, status, errors, _task_hint(product, station_file))


def _report(message: str, status: str, errors: str, task_hint: str) -> None:
    # With errors="ignore" the status variable is the record; keep the log
    # quiet unless the caller turned DEBUG on.
    level = logging.DEBUG if errors == "ignore" else logging.INFO
    logger.log(level, "%s: %s", status, message)
    if errors != "ignore":
        warn_read_outcome(f"{message} (status {status!r})", task_hint)


def _task_hint(product: str, station_file: StationFile) -> str:
    """Name the dataset and the outcome row of a warning from a dask task."""
    return task_hint(
        f"the {product} dataset",
        "outcome_table(dataset) gives the status and message of station "
        f"{station_file.station}",
    )


def _pick(result: Mapping[str, Any], name: str, shaped: bool, dtype: Any) -> np.ndarray:
    value = result[name]
    if name == "message":
        value = _fit_message(value)
    if shaped:
        return np.asarray(value, dtype=dtype)[None, :]
    return np.array([value], dtype=dtype)


def _fit_message(message: str) -> str:
    """Return ``message``, or its start with a note of the characters cut
    where it is longer than :data:`MESSAGE_WIDTH`.

    The whole message goes to the INFO log of this module, which the note
    names, so the cut part stays readable.
    """
    if len(message) <= MESSAGE_WIDTH:
        return message
    # The note's count needs the kept length, which needs the note's length,
    # so the note is sized with the count of its longest form.
    note = _cut_note(len(message))
    length = MESSAGE_WIDTH - len(note)
    logger.info("whole message, cut in the dataset: %s", message)
    return message[:length] + _cut_note(len(message) - length)


def _cut_note(count: int) -> str:
    return (
        f" ... [{count} more characters; the INFO log of {logger.name} "
        "contains the whole message]"
    )


def _field_array(
    graph: dict,
    read_name: str,
    token: str,
    field: str,
    count: int,
    size: int | None,
    dtype: Any = np.float64,
) -> da.Array:
    name = f"gnss-positions-{field.replace('_', '-')}-{token}"
    layer: dict[Any, Any] = {
        ((name, index, 0) if size is not None else (name, index)): (
            _pick,
            (read_name, index),
            field,
            size is not None,
            dtype,
        )
        for index in range(count)
    }
    chunks: tuple = ((1,) * count, (size,)) if size is not None else ((1,) * count,)
    hlg = HighLevelGraph(
        {read_name: graph, name: layer}, {read_name: set(), name: {read_name}}
    )
    meta = np.empty((0,) * len(chunks), dtype=dtype)
    return da.Array(hlg, name, chunks, meta=meta)


def _data_span(
    files: tuple[StationFile, ...], errors: str, product: str
) -> tuple[int, int, tuple[str, ...]]:
    """Read every file's span concurrently.

    Returns the first and last day label, and for each file the failure
    message reported here or ``""``. Failures are reported after the threads
    finish, in file order, so that each warning is raised in the caller's
    thread.
    """
    with ThreadPoolExecutor(max_workers=min(_OPEN_THREADS, len(files) or 1)) as pool:
        reads = list(pool.map(_read_span, files))

    reported = []
    for station_file, (_, error) in zip(files, reads, strict=True):
        if error is None:
            reported.append("")
            continue
        status = _failure_status(error)
        _raise_under_policy(error, status, errors)
        _report_failure(station_file, status, error, errors, product)
        reported.append(str(error))

    spans = [found for found, _ in reads if found is not None]
    if not spans:
        raise InvalidRequestError(
            "no station file could be read to find the span of the data; give "
            "start= and end= to open the window without reading"
        )
    first = min(first for first, _ in spans)
    last = max(last for _, last in spans)
    return first, last, tuple(reported)


def _read_span(
    station_file: StationFile,
) -> tuple[tuple[int, int] | None, Exception | None]:
    """Return a file's span as day labels, or the error that its read raised."""
    try:
        declared = _declared_span(station_file)
        if declared is None:
            series = _fetch_series(station_file)
            declared = series.span
            if declared is None and len(series):
                declared = series.time[0], series.time[-1]
    except _READ_ERRORS as error:
        return None, _file_error(station_file, error)
    if declared is None:
        return None, None
    first, last = declared
    return (int(first.astype(np.int64)), int(last.astype(np.int64))), None


def _declared_span(
    station_file: StationFile,
) -> tuple[np.datetime64, np.datetime64] | None:
    """Return the span a file's header declares, reading only its first bytes."""
    location = station_file.location
    if location.storage is None:
        # NOTE: the HTTPS fetch has no byte-range option, so files on the GAGE
        # file server are fetched whole here and again when computed.
        return None
    head = read_bytes(location.storage, station_file.path, 0, HEAD_BYTES)
    return header_span(head)


def _file_error(station_file: StationFile, error: Exception) -> Exception:
    """Return ``error``, or for a local file that does not exist, the same
    error calling it a file at its path.

    The storage layer calls every missing key an object, as object stores
    name them. A position file given by path, or under a local mirror, is a
    file, and its path is what the user can check.
    """
    storage = station_file.location.storage
    if storage is None or storage.protocol != "file":
        return error
    if type(error) is not ObjectNotFoundError:
        return error
    # The storage layer's message starts with the file URL and the origin,
    # and may end with a hint about the mirror's layout, which is kept.
    start = f"object not found: {storage.url(station_file.path)} ({storage.origin})"
    message = str(error)
    if not message.startswith(start):
        return error
    path = storage.path(station_file.path)
    rest = message.removeprefix(start)
    if storage.tier != _PATHS_TIER:
        # A mirror given with root=; files given by path have none.
        rest = f" ({storage.origin}){rest}"
    return ObjectNotFoundError(f"position file not found: {path}{rest}")


def _fetch_series(station_file: StationFile) -> PositionSeries:
    data = fetch(station_file.location, station_file.path)
    return parse_positions(data, station_file.url)


# Read failures by outcome status, most specific first.
_FAILURE_STATUSES: tuple[
    tuple[type[Exception] | tuple[type[Exception], ...], str], ...
] = (
    ((ObjectNotFoundError, FileNotFoundError), "missing"),
    ((AccessDeniedError, CredentialsError, PermissionError), "access_denied"),
    (DecodeError, "unreadable"),
    ((StorageUnavailableError, WebServiceError, ConnectionError), "unreachable"),
)
_READ_ERRORS = (
    ObjectNotFoundError,
    FileNotFoundError,
    AccessDeniedError,
    CredentialsError,
    PermissionError,
    DecodeError,
    StorageUnavailableError,
    WebServiceError,
    ConnectionError,
)


def _failure_status(error: Exception) -> str:
    for kinds, status in _FAILURE_STATUSES:
        if isinstance(error, kinds):
            return status
    return "unreadable"


def _known_stations(product: GnssProduct, location: ArchiveLocation) -> list[str]:
    directory = str(product.extra.get("station_directory", "products/position/"))
    names = [name for name in list_names(location, directory) if _STATION.match(name)]
    station_list = product.extra.get("station_list")
    if not names and station_list and location.web is not None:
        names = _stations_in_list(location, str(station_list))
    return sorted(set(names))


def _stations_in_list(location: ArchiveLocation, path: str) -> list[str]:
    """Return the station ids of the archive's station list (none if absent)."""
    try:
        text = fetch(location, path).decode("ascii", "replace")
        table = parse_gage_station_list(text)
    except (ObjectNotFoundError, ArchiveLayoutError) as error:
        logger.info("no station ids from %s: %s", location.url(path), error)
        return []
    return [str(code) for code in table["station"]]


def station_patterns(station: object) -> tuple[str, ...]:
    if station is None or station == "" or station == []:
        raise InvalidRequestError(
            "missing station: give four-character ids such as 'P156' or 'P15?,P40*'"
        )
    items = station.split(",") if isinstance(station, str) else station
    if not isinstance(items, Sequence):
        raise InvalidRequestError(
            f"invalid station={station!r}: give a string or a list of strings"
        )
    patterns = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidRequestError(
                f"invalid station {item!r}: give station ids as strings"
            )
        code = item.strip().upper()
        if not re.fullmatch(r"[A-Z0-9?*]{1,4}|[A-Z0-9?]*\*[A-Z0-9?*]*", code):
            raise InvalidRequestError(
                f"invalid station {item!r}: expected four letters or digits, "
                f"with ? and * as wildcards{long_name_hint(code)}"
            )
        if not has_wildcard(code) and len(code) != 4:
            raise InvalidRequestError(
                f"invalid station {item!r}: GNSS station ids have four characters"
                f"{long_name_hint(code)}"
            )
        patterns.append(code)
    return tuple(dict.fromkeys(patterns))


def product_choices(
    product: GnssProduct,
    analysis_center: str | None,
    solution: str | None,
    frame: str | None,
    format: str | None,
) -> dict[str, str]:
    given = {
        "analysis_center": analysis_center,
        "solution": solution,
        "frame": frame,
        "format": format,
    }
    defaults = {**DEFAULT_CHOICES, **dict(product.extra.get("defaults", {}))}
    options = dict(product.extra.get("choices", {}))
    choices = {}
    for name, value in given.items():
        allowed = [str(option) for option in options.get(name, [])]
        choices[name] = _matching_choice(
            product, name, value, str(value or defaults[name]), allowed
        )
    product.path(choices["format"])
    return choices


def _matching_choice(
    product: GnssProduct, name: str, value: object, chosen: str, allowed: list[str]
) -> str:
    """Return the entry of ``allowed`` that ``chosen`` names in any case.

    The catalog's spelling fills the path templates. Without a list of
    choices, ``chosen`` is returned in lower case, as GAGE paths spell it.
    """
    if not allowed:
        return chosen.lower()
    for option in allowed:
        if option.lower() == chosen.lower():
            return option
    message = (
        f"invalid {name}={value!r} for {product.name}: expected one of "
        f"{allowed} (in any case)"
    )
    if name == "frame":
        # Files of older frames, such as igs08, are still in use.
        message += "; read a file of another frame with open_positions(paths=[...])"
    raise InvalidRequestError(message)


def parse_window(start: object, end: object) -> tuple[int | None, int | None]:
    start_ns = None if start in (None, "") else request_time(start, "start")
    end_ns = None
    if end not in (None, ""):
        # Without a start, a duration given as end cannot become a time.
        if start_ns is None:
            end_ns = request_time(end, "end")
        else:
            end_ns = request_end(end, start_ns)
    if start_ns is not None and end_ns is not None:
        check_window_order(start_ns, end_ns)
    return start_ns, end_ns


def check_errors(errors: object) -> str:
    if errors not in ERROR_POLICIES:
        raise InvalidRequestError(
            f"invalid errors={errors!r}: expected one of {list(ERROR_POLICIES)}"
        )
    return str(errors)


def _token_source(
    tier: Tier, root: str | None, token: Any, profile: str | None
) -> TokenSource | None:
    # Only the HTTPS tier takes the bearer token, and a mirror needs none.
    if root is not None or tier.access != "earthscope":
        return None
    return Credentials(token, profile).source()


def _provenance(plan: PositionPlan) -> dict[str, Any]:
    return {
        "product": plan.product,
        "time_label": "each UTC day is labelled at 12:00",
        "reference": (
            "north, east and up are metres from each station's reference "
            "position (latitude, longitude, height coordinates)"
        ),
        "files": "\n".join(station_file.url for station_file in plan.files),
        "storage": "; ".join(
            sorted({station_file.location.where for station_file in plan.files})
        ),
    }


# Position files hold a whole series, so their paths use no day fields; any
# date fills them.
_EPOCH = pd.Timestamp("2000-01-01").date()
