"""Station tables: parse station metadata into DataFrames, with a disk cache.

A station table has one row per channel epoch (seismic archives) or per
station (GNSS archives), in the columns :data:`SEISMIC_COLUMNS` or
:data:`GNSS_COLUMNS`. Tables come from the FDSN station service (text format
or StationXML), from StationXML objects in a bucket, or from the GAGE station
list. Fetched tables are kept on disk for ``max_age`` seconds, so browsing
a collection twice in a day sends one request to the archive.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import numbers
import os
import re
import reprlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from intake_earthscope.errors import ArchiveLayoutError, InvalidRequestError

if TYPE_CHECKING:
    import obspy

__all__ = [
    "CACHE_DIR_VARIABLE",
    "DEFAULT_MAX_AGE",
    "GNSS_COLUMNS",
    "SEISMIC_COLUMNS",
    "TableCache",
    "cache_directory",
    "empty_table",
    "inventory_table",
    "parse_gage_station_list",
    "parse_stationxml",
    "text_table",
]

logger = logging.getLogger(__name__)

SEISMIC_COLUMNS = (
    "network",
    "station",
    "location",
    "channel",
    "latitude",
    "longitude",
    "elevation",
    "sampling_rate",
    "start",
    "end",
)
GNSS_COLUMNS = ("station", "latitude", "longitude", "height", "start", "end")

#: Environment variable that overrides the platform's cache directory.
CACHE_DIR_VARIABLE = "INTAKE_EARTHSCOPE_CACHE_DIR"

#: Seconds a cached station table stays fresh (one day).
DEFAULT_MAX_AGE = 86_400.0

_CACHE_FORMAT = 1
_CODE_COLUMNS = ("network", "station", "location", "channel")


def empty_table(kind: str) -> pd.DataFrame:
    """Return a table of ``kind`` (``"seismic"`` or ``"gnss"``) with no rows."""
    columns = SEISMIC_COLUMNS if kind == "seismic" else GNSS_COLUMNS
    return _typed(pd.DataFrame({name: [] for name in columns}))


def inventory_table(inventory: obspy.Inventory) -> pd.DataFrame:
    """Flatten an obspy Inventory into one row per channel epoch.

    Station epochs without channels (StationXML at ``level=station``) give one
    row each, with empty location and channel codes.
    """
    rows = []
    for network in inventory:
        for station in network:
            channels = station.channels or [None]
            for channel in channels:
                rows.append(_inventory_row(network.code, station, channel))
    if not rows:
        return empty_table("seismic")
    return _typed(pd.DataFrame(rows, columns=list(SEISMIC_COLUMNS)))


def _inventory_row(network: str, station: Any, channel: Any) -> dict[str, Any]:
    epoch = channel if channel is not None else station
    return {
        "network": network,
        "station": station.code,
        "location": channel.location_code if channel is not None else "",
        "channel": channel.code if channel is not None else "",
        "latitude": epoch.latitude,
        "longitude": epoch.longitude,
        "elevation": epoch.elevation,
        "sampling_rate": channel.sample_rate if channel is not None else None,
        "start": _utc_text(epoch.start_date),
        "end": _utc_text(epoch.end_date),
    }


def _utc_text(moment: Any) -> str | None:
    return None if moment is None else str(moment)


def parse_stationxml(data: bytes | bytearray, where: str) -> pd.DataFrame:
    """Parse StationXML bytes into a station table.

    Raises
    ------
    ArchiveLayoutError
        If ``data`` is not StationXML; the message names ``where``.
    """
    import obspy

    try:
        inventory = obspy.read_inventory(io.BytesIO(data), format="STATIONXML")
    except Exception as error:  # noqa: BLE001 - obspy raises many types here
        raise ArchiveLayoutError(
            f"invalid StationXML at {where}: {type(error).__name__}: {str(error)[:200]}"
        ) from error
    return inventory_table(inventory)


def text_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename the columns of FDSN station text (``level=channel``) to ours.

    ``frame`` is what :func:`intake_earthscope.fdsn.fdsn_station_text`
    returns.
    """
    names = {
        "Network": "network",
        "Station": "station",
        "Location": "location",
        "Channel": "channel",
        "Latitude": "latitude",
        "Longitude": "longitude",
        "Elevation": "elevation",
        "SampleRate": "sampling_rate",
        "StartTime": "start",
        "EndTime": "end",
    }
    renamed = frame.rename(columns=names)
    for column in SEISMIC_COLUMNS:
        if column not in renamed:
            renamed[column] = None
    return _typed(renamed[list(SEISMIC_COLUMNS)].copy())


# A date as the GAGE list may spell it: 2004-05-04, 2004/05/04, 20040504,
# with an optional time of day after "T" or a space.
_DATE = re.compile(r"^\d{4}[-/]?\d{2}[-/]?\d{2}(?:T[\d:.]+Z?)?$")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?$")
_STATION_ID = re.compile(r"^[A-Za-z0-9]{4}$")


def parse_gage_station_list(text: str) -> pd.DataFrame:
    """Parse the GAGE GNSS station list into a GNSS station table.

    Each data line starts with a four-character station id, followed by
    whitespace-separated fields. The first three numbers are latitude,
    longitude (east-positive, wrapped into -180..180) and ellipsoidal height
    in metres, and the first two dates are the start and end of the station's
    data. Lines starting with ``#``, ``*`` or ``%`` are comments, and lines
    that match none of this are skipped and logged.

    Raises
    ------
    ArchiveLayoutError
        If no line of ``text`` parses as a station.
    """
    # NOTE: the layout of products/position/gage_gps.igs14.txt is a guess
    # from the usual GNSS station lists, because no documentation of it was
    # at hand. The parser tolerates extra text columns.
    rows = []
    skipped = 0
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith(("#", "*", "%")):
            continue
        row = _gage_row(fields)
        if row is None:
            skipped += 1
            continue
        rows.append(row)

    if skipped:
        logger.debug(
            "GAGE station list: skipped %d lines that name no station", skipped
        )
    if not rows:
        raise ArchiveLayoutError(
            "invalid GAGE station list: no line starts with a four-character "
            "station id followed by latitude, longitude and height"
        )
    return _typed(pd.DataFrame(rows, columns=list(GNSS_COLUMNS)))


def _gage_row(fields: list[str]) -> dict[str, Any] | None:
    if not _STATION_ID.match(fields[0]):
        return None
    numbers = [float(item) for item in fields[1:] if _NUMBER.match(item)]
    dates = [
        item for item in fields[1:] if _DATE.match(item) and not _NUMBER.match(item)
    ]
    dates += [item for item in fields[1:] if len(item) == 8 and item.isdigit()]
    if len(numbers) < 3 or not -90 <= numbers[0] <= 90:
        return None

    longitude = (numbers[1] + 180.0) % 360.0 - 180.0
    return {
        "station": fields[0].upper(),
        "latitude": numbers[0],
        "longitude": longitude,
        "height": numbers[2],
        "start": dates[0] if dates else None,
        "end": dates[1] if len(dates) > 1 else None,
    }


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Give every column its dtype: codes as text, times as UTC datetimes."""
    for column in _CODE_COLUMNS:
        if column in table:
            table[column] = table[column].fillna("").astype(str).str.strip()
    for column in ("latitude", "longitude", "elevation", "height", "sampling_rate"):
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    for column in ("start", "end"):
        if column in table:
            table[column] = _utc_times(table[column])
    return table.reset_index(drop=True)


# Archives write an open epoch's end as a far-future date such as 2500-12-31
# or 2599-12-31 (IRIS), or leave it empty (SCEDC, NCEDC).
_OPEN_END = pd.Timestamp("2500-01-01", tz="UTC")


def _utc_times(column: pd.Series) -> pd.Series:
    """Convert times to UTC datetimes; a time from 2500 on becomes NaT (open).

    Times that do not parse also become NaT. Microseconds keep dates past
    2262, where nanoseconds since 1970 overflow int64.
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        times = column.dt.tz_convert("UTC")
    else:
        text = column.astype(object).where(column.notna(), None)
        text = text.map(lambda value: None if value is None else str(value))
        times = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
    times = times.astype("datetime64[us, UTC]")
    return times.where(times < _OPEN_END)


def cache_directory(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory of cached station tables.

    The order is: ``cache_dir``, then the environment variable
    ``INTAKE_EARTHSCOPE_CACHE_DIR``, then the platform's user cache directory
    (``platformdirs.user_cache_dir("intake-earthscope")``). Station tables sit
    in its ``stations`` subdirectory.
    """
    if cache_dir:
        base = Path(cache_dir)
    elif os.environ.get(CACHE_DIR_VARIABLE):
        base = Path(os.environ[CACHE_DIR_VARIABLE])
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("intake-earthscope"))
    return base.expanduser() / "stations"


def _checked_max_age(max_age: object) -> float:
    """Return ``max_age`` as float seconds, or raise if it is no finite
    number >= 0.

    NaN would keep every stored table fresh for ever, because no age compares
    as greater than or equal to it.
    """
    # numbers.Real admits NumPy's integers and floats, such as np.int64.
    if isinstance(max_age, bool) or not isinstance(max_age, numbers.Real):
        raise _invalid_max_age(max_age)
    try:
        seconds = float(max_age)
    except OverflowError:
        # An int beyond the float range, such as 10**400.
        raise _invalid_max_age(max_age) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise _invalid_max_age(max_age)
    return seconds


def _invalid_max_age(max_age: object) -> InvalidRequestError:
    return InvalidRequestError(
        f"invalid cache max_age={reprlib.repr(max_age)}: give a finite number of "
        "seconds >= 0, such as 86400 for a day, or 0 to fetch the table anew"
    )


class TableCache:
    """Station tables on disk, one JSON file per query, fresh for ``max_age``.

    Parameters
    ----------
    cache_dir : str or path, optional
        Base directory; see :func:`cache_directory` for the default.
    max_age : float
        Seconds a stored table stays fresh, a finite number >= 0; ``0``
        fetches every time (and still stores the result).

    Raises
    ------
    InvalidRequestError
        If ``max_age`` is negative, NaN, infinite, a bool or not a number.

    Notes
    -----
    Entries are written to a temporary file in the same directory and then
    renamed over the old one, so a process never reads a half-written entry.
    An entry that cannot be read or parsed, or whose columns are not those
    of a station table, counts as missing and is fetched again. When the
    cache directory cannot be read or written (it is a file, or lacks
    permissions), tables are fetched without caching and the problem is
    logged at WARNING once per directory.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        self.directory = cache_directory(cache_dir)
        self.max_age = _checked_max_age(max_age)

    def __repr__(self) -> str:
        return f"TableCache({str(self.directory)!r}, max_age={self.max_age})"

    def path(self, query: str) -> Path:
        """Return the file that stores the table of ``query``."""
        digest = hashlib.sha256(query.encode()).hexdigest()[:32]
        return self.directory / f"{digest}.json"

    def get(self, query: str, fetch: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """Return the stored table of ``query`` if fresh; else fetch and store it."""
        path = self.path(query)
        table = self._load(path, query)
        if table is not None:
            logger.debug("station table from cache %s", path)
            return table

        table = fetch()
        self._store(path, query, table)
        return table

    def _load(self, path: Path, query: str) -> pd.DataFrame | None:
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return None
        except OSError as error:
            # A cache directory that is a file or cannot be searched.
            _report_once(
                ("read", self.directory),
                "cannot read station cache %s (%s); fetching the table",
                path,
                error,
            )
            return None
        if not 0 <= age < self.max_age:
            # A file time ahead of the clock gives no age, so the table is
            # fetched anew.
            logger.debug("station table %s expired (%.0f s old)", path, age)
            return None

        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry.get("format") != _CACHE_FORMAT or entry.get("query") != query:
                logger.info("cache entry %s is for another query; fetching again", path)
                return None
            table = pd.read_json(io.StringIO(entry["table"]), orient="table")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            logger.info("unreadable cache entry %s (%s); fetching again", path, error)
            return None
        if tuple(table.columns) not in (SEISMIC_COLUMNS, GNSS_COLUMNS):
            logger.info(
                "invalid cache entry %s: columns %s are not a station table; "
                "fetching again",
                path,
                list(table.columns),
            )
            return None
        return _typed(table)

    def _store(self, path: Path, query: str, table: pd.DataFrame) -> None:
        entry = {
            "format": _CACHE_FORMAT,
            "query": query,
            "table": table.to_json(orient="table", date_format="iso", index=False),
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, json.dumps(entry))
        except OSError as error:
            # A read-only cache must not break browsing: the table is in hand.
            _report_once(
                ("write", self.directory),
                "cannot write station cache %s (%s); going on without caching",
                path,
                error,
            )


# Cache problems already logged at WARNING, by operation and directory.
_REPORTED: set[tuple[str, Path]] = set()


def _report_once(problem: tuple[str, Path], message: str, *args: object) -> None:
    """Log a cache problem at WARNING the first time, at DEBUG after that."""
    level = logging.DEBUG if problem in _REPORTED else logging.WARNING
    _REPORTED.add(problem)
    logger.log(level, message, *args)


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=path.name + ".", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
