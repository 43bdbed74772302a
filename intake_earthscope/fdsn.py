"""Queries to FDSN web services: dataselect for miniSEED, station for metadata.

The functions build FDSN query parameters from SEED codes and a time window in
nanoseconds since 1970 UTC. Requests go through
:func:`intake_earthscope.webservices.get`, so the token and redirect policy of
that module applies. The ``https_get`` named under Raises below is
:func:`intake_earthscope.webservices.https_get`.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import httpx

from intake_earthscope.codes import SeedId
from intake_earthscope.errors import InvalidRequestError, WebServiceError
from intake_earthscope.redact import redact
from intake_earthscope.timeutil import check_window_order
from intake_earthscope.webservices import (
    EXCERPT_LENGTH,
    WebServiceSpec,
    get,
    redacted_url,
    service_url,
)

if TYPE_CHECKING:
    import obspy
    import pandas as pd

__all__ = ["fdsn_dataselect", "fdsn_station", "fdsn_station_text"]

logger = logging.getLogger(__name__)

_STATION_LEVELS = ("network", "station", "channel", "response")

# Columns of the FDSN station text format (FDSN Web Service Specifications
# 1.2), used when the service returns no rows and so no header line.
_TEXT_COLUMNS = {
    "network": ("Network", "Description", "StartTime", "EndTime", "TotalStations"),
    "station": (
        "Network",
        "Station",
        "Latitude",
        "Longitude",
        "Elevation",
        "SiteName",
        "StartTime",
        "EndTime",
    ),
    "channel": (
        "Network",
        "Station",
        "Location",
        "Channel",
        "Latitude",
        "Longitude",
        "Elevation",
        "Depth",
        "Azimuth",
        "Dip",
        "SensorDescription",
        "Scale",
        "ScaleFreq",
        "ScaleUnits",
        "SampleRate",
        "StartTime",
        "EndTime",
    ),
}

_CODE_COLUMNS = ("Network", "Station", "Location", "Channel")

_TIME_COLUMNS = ("StartTime", "EndTime")

_EPOCH = dt.datetime(1970, 1, 1)


def fdsn_dataselect(
    spec: WebServiceSpec, ids: Sequence[SeedId], start_ns: int, end_ns: int
) -> bytes | None:
    """Fetch miniSEED records of ``ids`` from an FDSN dataselect service.

    Parameters
    ----------
    spec : WebServiceSpec
        The dataselect service, such as
        ``https://service.earthscope.org/fdsnws/dataselect/1/``.
    ids : sequence of SeedId
        Channels to fetch; codes may hold the wildcards ``?`` and ``*``.
    start_ns, end_ns : int
        Time window in nanoseconds since 1970 UTC, sent with microsecond
        precision (start rounded down, end rounded up).

    Returns
    -------
    bytes or None
        The miniSEED records, or ``None`` when the service has no data
        (204, 404 or an empty body).

    Raises
    ------
    InvalidRequestError
        If ``ids`` is empty or the window is empty.
    AuthenticationError, AccessDeniedError, WebServiceError
        See :func:`intake_earthscope.webservices.https_get`.

    Notes
    -----
    One GET carries comma lists of the network, station, location and
    channel codes, and the service returns every combination of them. For
    ``IU.ANMO.00.BHZ`` and ``IU.COLA.10.BHN`` it may also return
    ``IU.ANMO.10.BHN``, so callers select the channels they need.

    With ``nodata=404`` a service returns 404 when nothing matches, so a
    wrong ``base_url`` also reads as "no data".
    """
    params = _selection_params(ids)
    params.update(_time_params(start_ns, end_ns))
    params["nodata"] = "404"

    url = service_url(spec, "query")
    response = get(spec, url, params, accepted=(200, 204, 404))

    if response.status_code != 200 or not response.content:
        logger.debug("no data (%d) for %s", response.status_code, redacted_url(url))
        return None
    return response.content


def fdsn_station(
    spec: WebServiceSpec,
    selection: Sequence[SeedId] | Mapping[str, Sequence[str]],
    start_ns: int,
    end_ns: int,
    level: str = "channel",
) -> obspy.Inventory:
    """Fetch StationXML from an FDSN station service as an obspy Inventory.

    Parameters
    ----------
    spec : WebServiceSpec
        The station service, such as
        ``https://service.earthscope.org/fdsnws/station/1/``.
    selection : sequence of SeedId, or mapping of str to sequence of str
        Channels, or code patterns keyed by ``network``, ``station``,
        ``location`` and ``channel`` (a missing key means ``*``).
    start_ns, end_ns : int
        Time window in nanoseconds since 1970 UTC; epochs that overlap it
        are returned.
    level : {"network", "station", "channel", "response"}
        Depth of the metadata; ``response`` adds instrument responses.

    Returns
    -------
    obspy.Inventory
        The metadata, or an empty Inventory when nothing matches.

    Raises
    ------
    InvalidRequestError
        If the selection, window or level is invalid.
    WebServiceError
        If the body is not StationXML, or as listed in :func:`https_get`.
    """
    import obspy

    response = _station_query(spec, selection, start_ns, end_ns, level, "xml")
    if response is None:
        return obspy.Inventory(networks=[])

    try:
        return obspy.read_inventory(io.BytesIO(response.content), format="STATIONXML")
    except Exception as error:  # noqa: BLE001 - obspy raises many types here
        raise WebServiceError(
            f"invalid StationXML from {redacted_url(response.url)}: "
            f"{type(error).__name__}: {redact(str(error))[:EXCERPT_LENGTH]}"
        ) from error


def fdsn_station_text(
    spec: WebServiceSpec,
    selection: Sequence[SeedId] | Mapping[str, Sequence[str]],
    start_ns: int,
    end_ns: int,
    level: str = "channel",
) -> pd.DataFrame:
    """Fetch the FDSN station text format (``format=text``) as a DataFrame.

    Parameters
    ----------
    spec : WebServiceSpec
        The station service.
    selection : sequence of SeedId, or mapping of str to sequence of str
        As for :func:`fdsn_station`.
    start_ns, end_ns : int
        Time window in nanoseconds since 1970 UTC.
    level : {"network", "station", "channel"}
        Row per network, station or channel epoch.

    Returns
    -------
    pandas.DataFrame
        One column per field of the header line (``Network``, ``Station``,
        ``Location``, ``Channel``, ``Latitude``, ...). Codes are strings, so
        ``"00"`` stays ``"00"`` and the network ``NA`` is not a missing
        value. The blank location is ``""``. ``StartTime`` and ``EndTime``
        are UTC datetimes, with NaT for an open epoch. No match gives no rows.

    Raises
    ------
    InvalidRequestError
        If the selection, window or level is invalid.
    WebServiceError
        If the body is not pipe-separated text, or as listed in :func:`https_get`.
    """
    if level == "response":
        raise InvalidRequestError(
            "invalid level='response' for format=text: the text format has no "
            "responses; use fdsn_station(..., level='response')"
        )

    response = _station_query(spec, selection, start_ns, end_ns, level, "text")
    if response is None:
        return _parse_station_text("", level, "")
    return _parse_station_text(response.text, level, redacted_url(response.url))


def _station_query(
    spec: WebServiceSpec,
    selection: Sequence[SeedId] | Mapping[str, Sequence[str]],
    start_ns: int,
    end_ns: int,
    level: str,
    output_format: str,
) -> httpx.Response | None:
    if level not in _STATION_LEVELS:
        raise InvalidRequestError(
            f"invalid level={level!r}: expected one of {', '.join(_STATION_LEVELS)}"
        )

    params = _selection_params(selection)
    params.update(_time_params(start_ns, end_ns))
    params.update(level=level, format=output_format, nodata="404")

    url = service_url(spec, "query")
    response = get(spec, url, params, accepted=(200, 204, 404))
    if response.status_code != 200:
        logger.debug(
            "no station metadata (%d) for %s", response.status_code, redacted_url(url)
        )
        return None
    return response


def _parse_station_text(text: str, level: str, url_text: str) -> pd.DataFrame:
    import pandas as pd

    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return pd.DataFrame(columns=list(_TEXT_COLUMNS[level]))
    if not lines[0].startswith("#"):
        raise WebServiceError(
            f"invalid station text from {url_text}: expected a header line starting "
            f"with '#', got {redact(lines[0])[:80]!r}"
        )

    names = [name.strip() for name in lines[0].lstrip("#").split("|")]
    codes = [name for name in names if name in _CODE_COLUMNS]
    others = [name for name in names if name not in _CODE_COLUMNS]
    # Only an empty field counts as missing, because pandas would otherwise
    # read the network code "NA" as NaN. dtype=str keeps "00" from becoming 0.
    table = pd.read_csv(
        io.StringIO("\n".join(lines[1:])),
        sep="|",
        names=names,
        header=None,
        dtype=dict.fromkeys(codes, str),
        keep_default_na=False,
        na_values=dict.fromkeys(others, [""]),
    )

    for name in codes:
        table[name] = table[name].str.strip()
    for name in _TIME_COLUMNS:
        if name in table:
            table[name] = _parse_times(table[name])
    return table


def _parse_times(column: pd.Series) -> pd.Series:
    import pandas as pd

    try:
        return pd.to_datetime(column, utc=True, format="ISO8601")
    except (ValueError, OverflowError):
        # NOTE: pandas 2 parses into nanoseconds, which end in 2262, so a far
        # future end time such as 2599-12-31 leaves the column as text there.
        logger.debug("station text times kept as text", exc_info=True)
        return column


def _selection_params(
    selection: Sequence[SeedId] | Mapping[str, Sequence[str]],
) -> dict[str, str]:
    if isinstance(selection, Mapping):
        columns = _pattern_columns(selection)
    else:
        ids = list(selection)
        if not ids:
            raise InvalidRequestError(
                "invalid ids: give at least one SeedId such as "
                "SeedId('IU', 'ANMO', '00', 'BHZ')"
            )
        columns = {
            "network": [i.network for i in ids],
            "station": [i.station for i in ids],
            "location": [i.location for i in ids],
            "channel": [i.channel for i in ids],
        }

    return {
        "net": _comma_list(columns["network"]),
        "sta": _comma_list(columns["station"]),
        # FDSN services spell the blank location "--".
        "loc": _comma_list([code or "--" for code in columns["location"]]),
        "cha": _comma_list(columns["channel"]),
    }


def _pattern_columns(patterns: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    unknown = set(patterns) - {"network", "station", "location", "channel"}
    if unknown:
        raise InvalidRequestError(
            f"invalid selection keys {sorted(unknown)}: expected network, "
            "station, location and channel"
        )

    columns: dict[str, list[str]] = {}
    for kind in ("network", "station", "location", "channel"):
        value = patterns.get(kind, ("*",))
        if isinstance(value, str):
            value = value.split(",")
        columns[kind] = list(value)
        if not columns[kind]:
            raise InvalidRequestError(
                f"invalid {kind} patterns: empty list. Give '*' for every code"
            )
    return columns


def _comma_list(codes: Sequence[str]) -> str:
    return ",".join(dict.fromkeys(codes))


def _time_params(start_ns: int, end_ns: int) -> dict[str, str]:
    check_window_order(start_ns, end_ns)
    return {"start": _iso(start_ns, round_up=False), "end": _iso(end_ns, round_up=True)}


def _iso(ns: int, round_up: bool) -> str:
    """Format nanoseconds as FDSN time text (UTC, microseconds, no zone)."""
    microseconds = -(-ns // 1000) if round_up else ns // 1000
    moment = _EPOCH + dt.timedelta(microseconds=microseconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
