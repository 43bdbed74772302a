"""RINEX observations of one station over a span of days, as a lazy Dataset.

The satellites, the observation codes and the epoch times of a RINEX file are
known only once it is read, so :func:`plan_rinex` reads them first: it
fetches each day's file concurrently, decodes it and scans its epoch lines
(``values=False``). The fetched bytes stay in a small per-process cache, so
the chunk task of that day, run later in the same process, decodes them
without a second download. Open therefore costs one download and one
Hatanaka decode per day; the values are converted only by the chunk tasks.
A chunk task in another process (a distributed worker) downloads its file
again.

One dataset contains one station. A ``station`` dimension would share one time
axis between stations that log at different epochs and rates, so each
station is opened on its own.

Dataset layout: dims ``("time", "sv")``, one float64 variable per
observation code (NaN where a satellite or a system lacks the code), one
dask chunk per day, and per-day outcome variables on the ``day`` dimension
(``status``, ``path``, ``epochs``, ``message``).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.base import tokenize

from intake_earthscope.auth import TokenSource, resolve_token_source
from intake_earthscope.errors import (
    AccessDeniedError,
    BucketNotFoundError,
    CredentialsError,
    DecodeError,
    EarthScopeError,
    InvalidRequestError,
    ObjectNotFoundError,
    StorageUnavailableError,
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
from intake_earthscope.gnss.rinex import (
    RinexHeader,
    TruncatedStreamError,
    WrongFormatError,
    read_rinex,
)
from intake_earthscope.outcomes import task_hint, warn_read_outcome
from intake_earthscope.readerargs import reject_unknown_arguments
from intake_earthscope.request import check_options, request_end, request_time
from intake_earthscope.timeutil import NS_PER_DAY, check_window_order, days_between

logger = logging.getLogger(__name__)

__all__ = [
    "RINEX_STATUSES",
    "DayFile",
    "RinexPlan",
    "build_rinex_dataset",
    "open_rinex_obs",
    "plan_rinex",
    "rinex_outcome_table",
    "rinex_window",
]

# The statuses of the waveform and position datasets, where they apply.
RINEX_STATUSES = (
    "ok",
    "truncated",
    "damaged",
    "no_data_in_window",
    "missing",
    "unreadable",
    "access_denied",
    "unreachable",
)
ERROR_POLICIES = ("raise", "warn", "ignore")
CACHE_BYTES = 256 * 2**20
OPEN_WORKERS = 8
_EMPTY_WINDOW = "the file contains no epoch inside the window"


@dataclass(frozen=True)
class DayFile:
    """Result of the open step for one day: path, outcome, epochs, satellites."""

    day: dt.date
    path: str
    status: str
    message: str
    times: np.ndarray
    sv: tuple[str, ...]
    codes: tuple[str, ...]
    header: RinexHeader | None = None
    # The day is missing because its bucket does not exist, so no policy of
    # errors= can read it.
    bucket_missing: bool = False


@dataclass(frozen=True)
class RinexPlan:
    """Everything the lazy dataset needs; picklable and free of secrets."""

    product: str
    station: str
    variant: str
    location: ArchiveLocation
    start_ns: int
    end_ns: int
    errors: str
    days: tuple[DayFile, ...]
    indicators: bool = False
    other_variants: tuple[str, ...] = ()

    @property
    def sv(self) -> list[str]:
        """Satellites seen in any day, sorted by system and number."""
        return sorted({sv for day in self.days for sv in day.sv})

    @property
    def codes(self) -> list[str]:
        """Observation codes of any day, sorted."""
        return sorted({code for day in self.days for code in day.codes})


@dataclass(frozen=True)
class _ChunkSpec:
    location: ArchiveLocation
    path: str
    times: np.ndarray
    sv: tuple[str, ...]
    codes: tuple[str, ...]
    errors: str
    indicators: bool = False
    # The product and station, which a warning from the dask task names.
    dataset: str = ""


@reject_unknown_arguments
def open_rinex_obs(
    product: Mapping[str, Any] | GnssProduct,
    station: str,
    start: object,
    end: object,
    variant: str | None = None,
    errors: str = "raise",
    tier: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    root: str | None = None,
    token: Any = None,
    profile: str | None = None,
    indicators: bool = False,
) -> xr.Dataset:
    """Open daily RINEX observations of one station as a lazy Dataset.

    Parameters
    ----------
    product : mapping or GnssProduct
        The ``product:`` mapping of the catalog entry.
    station : str
        Four-character station id, such as ``"YORK"`` (any case).
    start, end : str or datetime
        UTC window; ``end`` is exclusive. Every day it touches is opened.
    variant : str, optional
        Path variant such as ``"rinex2"`` or ``"rinex3"``; the product's
        ``default_variant`` when empty.
    errors : {"raise", "warn", "ignore"}
        Policy for days whose file is missing, refused or unreadable. A
        truncated file keeps its epochs before the cut and its status is
        ``truncated`` (with a warning unless ``"ignore"``). It raises under
        ``"raise"`` only when no epoch inside the window comes before the cut.
    tier : str, optional
        Tier of the product; its default when empty.
    storage_options : dict, optional
        fsspec options for S3 and mirror tiers.
    root : str, optional
        Mirror with the same layout (local directory or fsspec URL).
    token : str or path, optional
        EarthScope token or ``tokens.json`` path for the GAGE file server.
    profile : str, optional
        earthscope-sdk profile whose tokens to use.
    indicators : bool
        Also read the loss-of-lock and signal-strength digits, as int8
        variables ``{code}_lli`` and ``{code}_ssi`` (-1 where blank).

    Returns
    -------
    xarray.Dataset
        Dims ``("time", "sv")`` plus the per-day outcome variables.

    Notes
    -----
    Open downloads and scans each day's file (see the module docstring); the
    observation values are converted when the dataset is computed.
    """
    plan = plan_rinex(
        product,
        station,
        start,
        end,
        variant=variant,
        errors=errors,
        tier=tier,
        storage_options=storage_options,
        root=root,
        token=token,
        profile=profile,
        indicators=indicators,
    )
    return build_rinex_dataset(plan)


def plan_rinex(
    product: Mapping[str, Any] | GnssProduct,
    station: str,
    start: object,
    end: object,
    variant: str | None = None,
    errors: str = "raise",
    tier: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    root: str | None = None,
    token: Any = None,
    profile: str | None = None,
    indicators: bool = False,
) -> RinexPlan:
    """Scan each day's file of the request; see :func:`open_rinex_obs`."""
    if not isinstance(product, GnssProduct):
        product = GnssProduct.from_yaml(product)
    station = _checked_station(station)
    if errors not in ERROR_POLICIES:
        raise InvalidRequestError(
            f"invalid errors={errors!r}: expected one of {list(ERROR_POLICIES)}"
        )
    start_ns, end_ns = rinex_window(start, end)
    variant = variant or str(product.extra.get("default_variant", "rinex2"))
    template = product.path(variant)
    check_options(root, storage_options, None)

    chosen = product.tier(tier)
    source = _token_source(chosen.access, token, profile, root)
    location = location_for(chosen, storage_options, root, source)
    days = [
        (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=ns // 1000)).date()
        for ns in days_between(start_ns, end_ns)
    ]
    pattern = str(product.extra.get("name_patterns", {}).get(variant, "*"))

    def scan(day: dt.date) -> DayFile:
        return _scan_day(location, template, pattern, station, day, start_ns, end_ns)

    with ThreadPoolExecutor(max_workers=min(OPEN_WORKERS, len(days))) as pool:
        scanned = tuple(pool.map(scan, days))

    plan = RinexPlan(
        product=product.name,
        station=station,
        variant=variant,
        location=location,
        start_ns=start_ns,
        end_ns=end_ns,
        errors=errors,
        days=scanned,
        indicators=indicators,
        other_variants=tuple(sorted(set(product.paths) - {variant})),
    )
    _report(plan)
    return plan


def rinex_window(start: object, end: object) -> tuple[int, int]:
    """Convert ``start`` and ``end`` to nanoseconds since 1970 UTC.

    Raises
    ------
    InvalidRequestError
        If a time is missing or invalid, or ``end`` is not after ``start``.
    """
    start_ns = request_time(start, "start")
    end_ns = request_end(end, start_ns)
    check_window_order(start_ns, end_ns)
    return start_ns, end_ns


def _checked_station(station: object) -> str:
    text = str(station or "").strip()
    if len(text) != 4 or not text.isalnum():
        raise InvalidRequestError(
            f"invalid station {station!r}: give one four-character station id "
            f"such as 'YORK'; open each station on its own{long_name_hint(text)}"
        )
    return text.upper()


def _token_source(
    access: str, token: Any, profile: str | None, root: str | None
) -> TokenSource | None:
    if access != "earthscope" or root:
        return None
    return resolve_token_source(token or None, profile or None)


def _scan_day(
    location: ArchiveLocation,
    template: str,
    pattern: str,
    station: str,
    day: dt.date,
    start_ns: int,
    end_ns: int,
) -> DayFile:
    """Fetch, cache and scan the file of one day.

    A read error becomes the status of the returned day. Errors of other
    kinds (bugs) propagate.
    """
    path = render_path(template, station, day)
    try:
        if path.endswith("/"):
            name = _pick_file(location, path, render_path(pattern, station, day))
            path += name
        data = fetch(location, path)
        if not data:
            raise DecodeError(f"{location.url(path)} is empty (0 bytes)")
        _cache_put(location, path, data)
        found = read_rinex(data, values=False)
    except Exception as error:  # noqa: BLE001 - each kind becomes a status
        status = _status_of(error)
        bucket_missing = isinstance(error, BucketNotFoundError)
        return DayFile(
            day, path, status, str(error), _no_times(), (), (), None, bucket_missing
        )

    # A daily file may hold the next day's first epoch; each day keeps only
    # its own, so no time appears twice.
    day_ns = (day - dt.date(1970, 1, 1)).days * NS_PER_DAY
    low, high = max(start_ns, day_ns), min(end_ns, day_ns + NS_PER_DAY)
    keep = (found.times >= low) & (found.times < high)
    times = np.unique(found.times[keep])
    codes = found.codes
    if found.corrupt:
        # Epochs before the bad line are kept, as intact records are.
        status = "damaged" if times.size else "unreadable"
        message = found.message
    elif found.truncated:
        status, message = "truncated", found.message
    elif times.size == 0:
        status, message = "no_data_in_window", _EMPTY_WINDOW
    else:
        status, message = "ok", ""
    return DayFile(
        day, path, status, message, times, tuple(found.sv), codes, found.header
    )


def _pick_file(location: ArchiveLocation, directory: str, pattern: str) -> str:
    names = [n for n in list_names(location, directory) if fnmatch.fnmatch(n, pattern)]
    if not names:
        raise ObjectNotFoundError(
            f"no file matching {pattern!r} in {location.url(directory)}"
        )
    # NOTE: several matches (two rates of one day) take the first in name
    # order; a rate choice would need a parameter.
    return sorted(names)[0]


def _status_of(error: Exception) -> str:
    # A bucket that does not exist contains no object, as for waveform reads.
    if isinstance(error, ObjectNotFoundError | BucketNotFoundError):
        return "missing"
    if isinstance(error, AccessDeniedError | CredentialsError):
        return "access_denied"
    if isinstance(error, TruncatedStreamError):
        return "truncated"
    if isinstance(error, WrongFormatError | DecodeError | ValueError):
        return "unreadable"
    if isinstance(error, EarthScopeError | OSError):
        return "unreachable"
    raise error


def _no_times() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


def _report(plan: RinexPlan) -> None:
    """Apply the ``errors=`` policy to the days that were not loaded."""
    for day in plan.days:
        if day.status == "ok":
            continue
        text = f"{plan.station} {day.day}: {day.status}: {day.message}"
        if day.path not in day.message:
            text += f" ({day.path})"
        # A truncated day fails only when no epoch inside the window comes
        # before the cut.
        partly_loaded = day.status == "truncated" and day.times.size > 0
        failed = not partly_loaded and day.status != "no_data_in_window"
        if failed and plan.errors == "raise" and day.bucket_missing:
            raise BucketNotFoundError(text)
        if day.status == "missing" and plan.other_variants and not day.bucket_missing:
            # A station may file its days in one format only, but no variant
            # helps where the bucket itself does not exist.
            others = " or ".join(f"variant={name!r}" for name in plan.other_variants)
            text += f"; the product also files days as {others}"
        if failed and plan.errors == "raise":
            raise _error_for(day.status, text)
        if plan.errors == "ignore":
            logger.debug("%s", text)
            continue
        logger.info("%s", text)
        warn_read_outcome(text)


def _error_for(status: str, text: str) -> Exception:
    hint = "; pass errors='warn' or errors='ignore' to read the other days"
    if status == "missing":
        return ObjectNotFoundError(text + hint)
    if status == "access_denied":
        return AccessDeniedError(text + "; check your EarthScope login" + hint)
    if status == "unreachable":
        return StorageUnavailableError(text + "; retry later" + hint)
    return DecodeError(text + hint)


# -- the per-process byte cache ------------------------------------------------

_cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_cache_lock = threading.Lock()


def _cache_key(location: ArchiveLocation, path: str) -> tuple[str, str]:
    return (location.tier, location.url(path))


def _cache_put(location: ArchiveLocation, path: str, data: bytes) -> None:
    with _cache_lock:
        _cache[_cache_key(location, path)] = data
        total = sum(len(value) for value in _cache.values())
        while total > CACHE_BYTES and len(_cache) > 1:
            _, dropped = _cache.popitem(last=False)
            total -= len(dropped)


def _cache_take(location: ArchiveLocation, path: str) -> bytes | None:
    with _cache_lock:
        return _cache.pop(_cache_key(location, path), None)


def clear_rinex_cache() -> None:
    """Forget every file the open step kept for the chunk tasks."""
    with _cache_lock:
        _cache.clear()


# -- the lazy dataset ----------------------------------------------------------


def build_rinex_dataset(plan: RinexPlan) -> xr.Dataset:
    """Build the lazy dataset of ``plan``: one dask chunk per day with epochs."""
    sv, codes = plan.sv, plan.codes
    days = [day for day in plan.days if day.times.size]
    token = tokenize(
        plan.product,
        plan.station,
        plan.variant,
        plan.location,
        [(day.path, day.times) for day in days],
        sv,
        codes,
    )
    chunk_name = f"rinex-day-{token}"
    graph: dict[Any, Any] = {}
    for index, day in enumerate(days):
        spec = _ChunkSpec(
            plan.location,
            day.path,
            day.times,
            tuple(sv),
            tuple(codes),
            plan.errors,
            plan.indicators,
            f"{plan.product} dataset of station {plan.station}",
        )
        graph[(chunk_name, index)] = (_load_day, spec)

    rows = tuple(day.times.size for day in days)
    data_vars: dict[str, Any] = {}
    for variable, dtype in _variables(codes, plan.indicators):
        name = f"rinex-{variable}-{token}"
        layer = {
            (name, index, 0): (_pick, (chunk_name, index), variable)
            for index in range(len(days))
        }
        array = da.Array(
            {**graph, **layer}, name, chunks=(rows, (len(sv),)), dtype=dtype
        )
        data_vars[variable] = (("time", "sv"), array)

    times = np.concatenate([day.times for day in days]) if days else _no_times()
    dataset = xr.Dataset(
        data_vars,
        coords={
            "time": times.astype("datetime64[ns]"),
            "sv": np.array(sv, dtype=str),
            "day": np.array([np.datetime64(d.day, "D") for d in plan.days]).astype(
                "datetime64[ns]"
            ),
        },
    )
    _add_outcomes(dataset, plan)
    dataset.attrs.update(_attributes(plan))
    return dataset


def _variables(
    codes: list[str] | tuple[str, ...], indicators: bool
) -> list[tuple[str, type]]:
    """Return the name and dtype of each data variable."""
    variables: list[tuple[str, type]] = [(code, np.float64) for code in codes]
    if indicators:
        for suffix in ("lli", "ssi"):
            variables.extend((f"{code}_{suffix}", np.int8) for code in codes)
    return variables


def _pick(arrays: dict[str, np.ndarray], code: str) -> np.ndarray:
    return arrays[code]


def _load_day(spec: _ChunkSpec) -> dict[str, np.ndarray]:
    """Decode one day's file into ``(time, sv)`` arrays of every code."""
    shape = (spec.times.size, len(spec.sv))
    out: dict[str, np.ndarray] = {
        name: np.full(shape, -1 if dtype is np.int8 else np.nan, dtype=dtype)
        for name, dtype in _variables(spec.codes, spec.indicators)
    }
    data = _cache_take(spec.location, spec.path)
    try:
        if data is None:
            data = fetch(spec.location, spec.path)
        found = read_rinex(data, indicators=spec.indicators)
    except (EarthScopeError, OSError, ValueError) as error:
        if spec.errors == "raise":
            raise
        # The file read at open time can no longer be read; its chunk stays NaN.
        message = f"{spec.path}: {error}; its epochs are NaN"
        logger.info("%s", message)
        if spec.errors == "warn":
            warn_read_outcome(message, _task_hint(spec))
        return out

    rows = np.searchsorted(spec.times, found.times)
    rows_ok = rows < spec.times.size
    rows_ok[rows_ok] = spec.times[rows[rows_ok]] == found.times[rows_ok]
    column_of = {name: index for index, name in enumerate(spec.sv)}
    columns = np.array([column_of.get(name, -1) for name in found.sv], dtype=np.int64)
    columns_ok = columns >= 0
    for code, values in found.values.items():
        if code not in out:
            continue
        block = values[rows_ok][:, columns_ok]
        epoch, column = _last_present(block, rows[rows_ok])
        cells = (rows[rows_ok][epoch], columns[columns_ok][column])
        out[code][cells] = block[epoch, column]
        for suffix in ("lli", "ssi"):
            digits = found.indicators.get(f"{code}_{suffix}")
            if digits is not None and f"{code}_{suffix}" in out:
                picked = digits[rows_ok][:, columns_ok][epoch, column]
                out[f"{code}_{suffix}"][cells] = picked
    return out


def _task_hint(spec: _ChunkSpec) -> str:
    """Name the dataset of a warning from a dask task, and state where the
    day's outcome is recorded."""
    return task_hint(
        f"the {spec.dataset}",
        "the status in outcome_table(dataset) was set when the dataset was "
        "opened, so this warning and the log are the record of this failure",
    )


def _last_present(block: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return the (record, column) indices of the values that ``block`` places.

    A file may write one epoch time in several records (one per system, say,
    or twice where two files were joined). Of the values that land on one
    cell, the last non-blank one is kept, so a blank field in a later record
    never erases a value of an earlier one.
    """
    epoch, column = np.nonzero(~np.isnan(block))
    cell = rows[epoch] * block.shape[1] + column
    # np.unique returns the first occurrence; reversing keeps the last one.
    _, last = np.unique(cell[::-1], return_index=True)
    keep = np.sort(epoch.size - 1 - last)
    return epoch[keep], column[keep]


def _add_outcomes(dataset: xr.Dataset, plan: RinexPlan) -> None:
    outcomes: dict[str, tuple[list[Any], Any, str]] = {
        "status": ([d.status for d in plan.days], "<U24", "outcome of the day's file"),
        "path": ([d.path for d in plan.days], str, "path of the day's file"),
        "epochs": ([d.times.size for d in plan.days], np.int64, "epochs read"),
        "message": ([d.message for d in plan.days], str, "what went wrong, if any"),
    }
    for name, (values, dtype, description) in outcomes.items():
        dataset[name] = xr.DataArray(
            np.array(values, dtype=dtype),
            dims="day",
            attrs={"description": description},
        )


def _attributes(plan: RinexPlan) -> dict[str, Any]:
    headers = [day.header for day in plan.days if day.header is not None]
    attrs: dict[str, Any] = headers[0].attrs() if headers else {}
    attrs.update(
        {
            "station": plan.station,
            "product": plan.product,
            "variant": plan.variant,
            "tier": plan.location.tier,
            "storage": plan.location.where,
            "time_scale": "GNSS time of the files (no leap seconds applied)",
        }
    )
    return attrs


def rinex_outcome_table(dataset: xr.Dataset) -> pd.DataFrame:
    """Return one row per day: path, status, epochs read and message.

    The outcome of a day is settled when the dataset is opened, so this reads
    no file.
    """
    frame = dataset[["path", "status", "epochs", "message"]].to_dataframe()
    return frame.reset_index()[["day", "path", "status", "epochs", "message"]]
