"""Fetch a collection's station table from where its archive keeps it.

The ``stations:`` mapping of a catalog entry names the source:

* ``fdsn``: an FDSN station service (``base_url``, ``allowed_hosts``,
  ``format`` ``text`` or ``xml``), asked at ``level=channel``;
* ``stationxml``: one StationXML object per station in a tier of the
  waveform collection (``key_template`` with ``{network}`` and
  ``{station}``, ``tier``). A station without an object gets no rows and
  one warning;
* ``tiers`` and ``paths.station_list``: a GNSS station list, read like any
  GNSS product file (:mod:`intake_earthscope.gnss.archive`).

Tables are kept in a :class:`~intake_earthscope.stationtable.TableCache`.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from intake_earthscope.codes import (
    CODE_KINDS,
    codes_text,
    has_wildcard,
    matches,
    parse_codes,
)
from intake_earthscope.collection import Collection, KeyTemplate
from intake_earthscope.errors import (
    CatalogError,
    InvalidRequestError,
    ObjectNotFoundError,
    warn_at_caller,
)
from intake_earthscope.readerargs import short_repr
from intake_earthscope.routing import Credentials
from intake_earthscope.stationtable import (
    TableCache,
    empty_table,
    parse_gage_station_list,
    parse_stationxml,
    text_table,
)
from intake_earthscope.storage import (
    StorageSpec,
    drop_listings,
    list_directories,
    mirror_layout_hint,
    read_bytes,
)
from intake_earthscope.timeutil import parse_time

__all__ = [
    "SEED_ID_FORMS",
    "STATION_KINDS",
    "code_matches",
    "criterion_codes",
    "fetch_station_table",
    "normalised_selection",
    "parse_seed_ids",
    "seed_id_matches",
    "station_kind",
    "stationxml_keys",
]

logger = logging.getLogger(__name__)

# Key of DataFrame.attrs that names the selected stations without an object.
MISSING_STATIONS_ATTR = "missing_stations"

STATION_KINDS = ("seismic", "gnss")

# Window sent to a station service when the caller gives none: every epoch.
_EARLIEST = "1900-01-01"
_LATEST = "2200-01-01"

_FETCH_THREADS = 8
# Maximum number of missing StationXML objects that a warning lists by name.
_LISTED_MISSING = 10


def station_kind(stations: Mapping[str, Any]) -> str:
    """Return ``"seismic"`` or ``"gnss"``: the kind of rows a source gives.

    Raises
    ------
    CatalogError
        If the ``kind`` of the mapping is neither.
    """
    kind = str(stations.get("kind", "seismic"))
    if kind not in STATION_KINDS:
        raise CatalogError(
            f"invalid kind {kind!r} in stations {stations.get('name')!r}: "
            f"expected one of {STATION_KINDS}"
        )
    return kind


def fetch_station_table(
    stations: Mapping[str, Any],
    collection: Mapping[str, Any] | None = None,
    *,
    selection: Mapping[str, tuple[str, ...]] | None = None,
    start: object = None,
    end: object = None,
    cache: TableCache | None = None,
    storage_options: Mapping[str, Any] | None = None,
    root: str | None = None,
    token: Any = None,
    profile: str | None = None,
) -> pd.DataFrame:
    """Return the station table of the selection, from the cache when fresh.

    A table without rows is not cached, so stations added to a mirror or a
    service later show up at the next fetch.

    Parameters
    ----------
    stations : mapping
        The ``stations:`` mapping of the catalog entry.
    collection : mapping, optional
        The waveform collection; needed for the ``stationxml`` source, whose
        objects live in one of its tiers.
    selection : mapping of str to tuple of str, optional
        Normalised code patterns by kind (``network``, ``station``, ...);
        a missing kind means every code.
    start, end : str or datetime, optional
        Window sent to a station service (epochs overlapping it); every
        epoch when not given.
    cache : TableCache, optional
        Where tables are kept; a default :class:`TableCache` when not given.
    storage_options, root, token, profile
        As for :func:`intake_earthscope.dataset.open_waveforms`.

    Raises
    ------
    CatalogError
        If ``stations`` names no source this module reads.

    Warns
    -----
    IntakeEarthScopeWarning
        If the ``stationxml`` object of a selected station is missing. The
        table then has no rows for that station, and it is not cached, so
        the next fetch looks for the object again.
    """
    patterns = selection or {}
    selection = {kind: tuple(patterns.get(kind, ("*",))) for kind in CODE_KINDS}
    cache = cache or TableCache()
    if root and "fdsn" in stations:
        _warn_root_unused(stations)
    query = _query_text(stations, selection, start, end, root)
    missing: list[_MissingStation] = []

    def fetch() -> pd.DataFrame:
        # Listings cached in this process must be no older than the table.
        drop_listings(cache.max_age)
        table = _fetch(
            stations,
            collection,
            selection,
            start,
            end,
            storage_options,
            root,
            Credentials(token, profile),
            missing,
        )
        table = _select_codes(table, selection)
        if missing or not len(table):
            # A cached table would hide the missing stations, without a
            # warning, until it expires, and an empty one the stations added
            # to a mirror or a service later. A concurrent search can read
            # even a table that is stored and removed at once, so it is never
            # stored.
            raise _UncachedTable(table)
        return table

    try:
        return cache.get(query, fetch)
    except _UncachedTable as uncached:
        # An older entry, stored while the objects existed, is removed too.
        with contextlib.suppress(OSError):
            cache.path(query).unlink()
        table = uncached.table
        if missing:
            warn_at_caller(_missing_stations_message(stations, missing))
            # The search's own hint for an empty table would repeat the warning.
            table.attrs[MISSING_STATIONS_ATTR] = tuple(m.station for m in missing)
        return table


class _UncachedTable(Exception):
    """A fetched table, raised through :meth:`TableCache.get` so it is not stored."""

    def __init__(self, table: pd.DataFrame) -> None:
        super().__init__("station table not cached")
        self.table = table


def _query_text(
    stations: Mapping[str, Any],
    selection: Mapping[str, tuple[str, ...]],
    start: object,
    end: object,
    root: str | None,
) -> str:
    # The query names the table in the cache. It contains no storage options,
    # because they may carry credentials.
    described = {
        "stations": stations,
        "selection": selection,
        "start": str(start or ""),
        "end": str(end or ""),
        "root": root or "",
    }
    return json.dumps(described, sort_keys=True, default=str)


def _warn_root_unused(stations: Mapping[str, Any]) -> None:
    """Warn that a mirror contains no station metadata for a station service's
    entry, so the table comes from the service."""
    service = urlsplit(str(stations["fdsn"].get("base_url", ""))).netloc
    name = stations.get("name", "stations")
    warn_at_caller(
        f"root= does not apply to {name}: its station table comes from the FDSN "
        f"station service at {service or 'its base_url'}, which is queried now, "
        "because a mirror contains no station metadata for it. Give inventory= "
        "a StationXML file to the waveform reader to work offline"
    )


def _fetch(
    stations: Mapping[str, Any],
    collection: Mapping[str, Any] | None,
    selection: Mapping[str, tuple[str, ...]],
    start: object,
    end: object,
    storage_options: Mapping[str, Any] | None,
    root: str | None,
    credentials: Credentials,
    missing: list[_MissingStation],
) -> pd.DataFrame:
    name = stations.get("name", "stations")
    logger.info("fetching station table %s for %s", name, _describe(selection))
    if "fdsn" in stations:
        return _from_service(stations["fdsn"], selection, start, end, credentials)
    if "stationxml" in stations:
        if collection is None:
            raise CatalogError(
                f"stations {name!r} read StationXML objects of a waveform "
                "collection, but the entry gives no 'collection' mapping"
            )
        return _from_bucket(
            stations["stationxml"],
            collection,
            selection,
            storage_options,
            root,
            missing,
        )
    if "paths" in stations:
        return _from_station_list(stations, storage_options, root, credentials)
    raise CatalogError(
        f"stations {name!r} name no source: give 'fdsn' (a station service), "
        "'stationxml' (objects in the collection's bucket) or 'tiers' and "
        "'paths' (a GNSS station list)"
    )


def _describe(selection: Mapping[str, tuple[str, ...]]) -> str:
    # A kind without patterns is not restricted, and the blank location
    # prints empty, as in SEED ids.
    return codes_text([selection[kind] or ("*",) for kind in CODE_KINDS])


def _from_service(
    service: Mapping[str, Any],
    selection: Mapping[str, tuple[str, ...]],
    start: object,
    end: object,
    credentials: Credentials,
) -> pd.DataFrame:
    from intake_earthscope.fdsn import fdsn_station, fdsn_station_text
    from intake_earthscope.stationtable import inventory_table
    from intake_earthscope.webservices import WebServiceSpec

    # The station service accepts requests without a token, so a token is
    # sent only where one is found.
    source = credentials.source() if credentials.available() else None
    spec = WebServiceSpec(
        base_url=str(service["base_url"]),
        allowed_hosts=tuple(
            service.get("allowed_hosts") or WebServiceSpec.allowed_hosts
        ),
        token_source=source,
    )
    start_ns = parse_time(start or _EARLIEST, "start")
    end_ns = parse_time(end or _LATEST, "end")
    patterns = {kind: list(codes) for kind, codes in selection.items()}

    if service.get("format", "text") == "xml":
        inventory = fdsn_station(spec, patterns, start_ns, end_ns, level="channel")
        return inventory_table(inventory)
    frame = fdsn_station_text(spec, patterns, start_ns, end_ns, level="channel")
    return text_table(frame)


@dataclass(frozen=True)
class _MissingStation:
    """A selected station whose StationXML object does not exist.

    Attributes
    ----------
    station : str
        The codes of the station, such as ``"CI.WBM"``.
    url : str
        The URL of the missing object.
    hint : str
        Advice where a local ``root=`` is off the key layout, or ``""``.
    origin : str
        The tier or mirror that was read, such as ``"mirror /data/scedc"``.
    """

    station: str
    url: str
    hint: str
    origin: str


def _from_bucket(
    source: Mapping[str, Any],
    collection: Mapping[str, Any],
    selection: Mapping[str, tuple[str, ...]],
    storage_options: Mapping[str, Any] | None,
    root: str | None,
    missing: list[_MissingStation],
) -> pd.DataFrame:
    """Read the StationXML objects of the selection into one table.

    A missing object adds its station to ``missing`` and no rows. A missing
    bucket, a denied read or an unreadable object raises as
    :func:`~intake_earthscope.storage.read_bytes` raises.
    """
    waveforms = Collection.from_yaml(collection)
    tier = waveforms.tier(source.get("tier"))
    spec = StorageSpec.for_tier(tier, storage_options, root)
    template = KeyTemplate(str(source["key_template"]))

    candidates = _stationxml_candidates(spec, template, selection)
    if not candidates:
        return empty_table("seismic")

    def read(key: str) -> pd.DataFrame | None:
        try:
            data = read_bytes(spec, key)
        except ObjectNotFoundError:
            # A missing bucket raises BucketNotFoundError, which is no
            # ObjectNotFoundError, so it stays an error.
            return None
        return parse_stationxml(data, spec.url(key))

    keys = [key for _, key in candidates]
    with ThreadPoolExecutor(max_workers=min(_FETCH_THREADS, len(keys))) as pool:
        tables = list(pool.map(read, keys))

    found = []
    for (values, key), table in zip(candidates, tables, strict=True):
        if table is None:
            missing.append(_missing_station(spec, values, key))
        else:
            found.append(table)
    if not found:
        return empty_table("seismic")
    return pd.concat(found, ignore_index=True)


def _missing_station(
    spec: StorageSpec, values: Mapping[str, str], key: str
) -> _MissingStation:
    station = ".".join(values[kind] for kind in CODE_KINDS if kind in values)
    return _MissingStation(
        station, spec.url(key), mirror_layout_hint(spec, key), spec.origin
    )


def _missing_stations_message(
    stations: Mapping[str, Any], missing: list[_MissingStation]
) -> str:
    """Return the warning about stations whose StationXML object is missing."""
    name = stations.get("name", "stations")
    first = missing[0]
    if len(missing) == 1:
        message = (
            f"no StationXML object for station {first.station} in "
            f"{first.origin}: {first.url} not found, so the table of {name} "
            "has no rows for it"
        )
    else:
        listed = ", ".join(
            f"{item.station} ({item.url})" for item in missing[:_LISTED_MISSING]
        )
        if len(missing) > _LISTED_MISSING:
            listed += f" and {len(missing) - _LISTED_MISSING} more"
        message = (
            f"no StationXML object for {len(missing)} stations in "
            f"{first.origin}: {listed} not found, so the table of {name} has "
            "no rows for them"
        )

    hints = [item.hint for item in missing if item.hint]
    if hints:
        return f"{message}; {hints[0]}"
    prefix = first.station.rpartition(".")[2][:2]
    return (
        f"{message}. Check the codes, or give the station with a wildcard, "
        f"such as station='{prefix}*', to list the stations that have objects"
    )


def stationxml_keys(
    spec: StorageSpec,
    template: KeyTemplate,
    selection: Mapping[str, tuple[str, ...]],
) -> list[str]:
    """Return the StationXML keys of the selected networks and stations.

    A segment whose codes are exact is rendered; a segment with a wildcard is
    resolved by listing its parent. A rendered key is not checked here, so
    the object it names may be missing.
    """
    return [key for _, key in _stationxml_candidates(spec, template, selection)]


def _stationxml_candidates(
    spec: StorageSpec,
    template: KeyTemplate,
    selection: Mapping[str, tuple[str, ...]],
) -> list[tuple[dict[str, str], str]]:
    """Return the codes and the key of each StationXML object of the selection."""
    candidates: list[tuple[dict[str, str], list[str]]] = [({}, [])]
    for index, segment in enumerate(template.segments):
        fields = template.segment_fields(index)
        exact = all(
            not any(has_wildcard(code) for code in selection[name]) for name in fields
        )
        if exact:
            candidates = _render_segment(candidates, segment, fields, selection)
        else:
            candidates = _list_segment(candidates, spec, template, index, selection)
    return [(values, "/".join(segments)) for values, segments in candidates]


def _render_segment(
    candidates: list[tuple[dict[str, str], list[str]]],
    segment: str,
    fields: set[str],
    selection: Mapping[str, tuple[str, ...]],
) -> list[tuple[dict[str, str], list[str]]]:
    expanded = candidates
    for name in sorted(fields):
        expanded = [
            ({**values, name: code}, segments)
            for values, segments in expanded
            for code in selection[name]
            if values.get(name, code) == code
        ]
    return [
        (values, [*segments, segment.format(**values)]) for values, segments in expanded
    ]


def _list_segment(
    candidates: list[tuple[dict[str, str], list[str]]],
    spec: StorageSpec,
    template: KeyTemplate,
    index: int,
    selection: Mapping[str, tuple[str, ...]],
) -> list[tuple[dict[str, str], list[str]]]:
    prefixes = ["/".join(segments) for _, segments in candidates]
    listings = list_directories(spec, prefixes)
    regex = template.segment_regex(index)

    found = []
    for (values, segments), prefix in zip(candidates, prefixes, strict=True):
        for name in listings[prefix]:
            match = regex.match(name)
            if match is None:
                continue
            parsed = {**values, **match.groupdict()}
            agrees = all(values.get(k, v) == v for k, v in match.groupdict().items())
            if agrees and all(
                matches(parsed[kind], selection[kind]) for kind in match.groupdict()
            ):
                found.append((parsed, [*segments, name]))
    return found


def _from_station_list(
    stations: Mapping[str, Any],
    storage_options: Mapping[str, Any] | None,
    root: str | None,
    credentials: Credentials,
) -> pd.DataFrame:
    from intake_earthscope.gnss.archive import GnssProduct, fetch, location_for

    product = GnssProduct.from_yaml(stations)
    tier = product.tier()
    needs_token = tier.access == "earthscope" and root is None
    source = credentials.source() if needs_token else None
    location = location_for(tier, storage_options, root, source)

    data = fetch(location, product.path("station_list"))
    return parse_gage_station_list(data.decode("utf-8", errors="replace"))


def _select_codes(
    table: pd.DataFrame, selection: Mapping[str, tuple[str, ...]]
) -> pd.DataFrame:
    """Keep the rows whose codes match the selection.

    A service that ignores part of a query, or a StationXML object holding
    more channels than requested, would otherwise widen the table.
    """
    keep = pd.Series(True, index=table.index)
    for kind in CODE_KINDS:
        patterns = selection[kind]
        if kind not in table or patterns == ("*",):
            continue
        keep &= code_matches(table[kind], patterns)
    return table[keep].reset_index(drop=True)


def code_matches(codes: pd.Series, patterns: tuple[str, ...]) -> pd.Series:
    """Return which codes match any of the normalised (upper-case) patterns.

    Codes are compared in upper case, so a table that spells a code in lower
    case still matches.
    """
    upper = codes.astype(str).str.upper()
    return upper.map(lambda code: matches(code, patterns)).astype(bool)


def normalised_selection(
    seed_id: object = None, **codes: object
) -> dict[str, tuple[str, ...]]:
    """Normalise code parameters (``None`` or ``""`` meaning every code).

    A kind without codes takes the codes of the ``seed_id`` ids, so the
    selection contains every id. It may contain more, such as
    ``IU.ANMO.10.BHN`` beside ``IU.ANMO.00.BHZ`` and ``IU.COLA.10.BHN``, so
    callers keep the rows of the ids with :func:`seed_id_matches`.
    """
    ids = parse_seed_ids(seed_id) if seed_id not in (None, "") else ()
    selection = {}
    for position, kind in enumerate(CODE_KINDS):
        value = codes.get(kind)
        if value not in (None, ""):
            selection[kind] = criterion_codes(value, kind)
        elif ids:
            selection[kind] = _merged_patterns(code[position] for code in ids)
        else:
            selection[kind] = ("*",)
    return selection


def _merged_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    merged = tuple(dict.fromkeys(patterns))
    return ("*",) if "*" in merged else merged


def criterion_codes(value: object, kind: str) -> tuple[str, ...]:
    """Normalise the codes of one kind, as :func:`~intake_earthscope.codes.parse_codes`.

    Raises
    ------
    InvalidRequestError
        If a code is invalid. A SEED id given as a code is named as such,
        with ``seed_id=`` to give instead.
    """
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, list | tuple):
        dotted = [item for item in items if isinstance(item, str) and "." in item]
        if dotted:
            fix = f"give it as seed_id={dotted[0]!r}"
            station = dotted[0].split(".")[1]
            if kind == "station" and station:
                # GNSS station lists reject seed_id=, so name their form too.
                fix += f", or for GNSS stations as station={station!r}"
            raise InvalidRequestError(
                f"invalid {kind}={short_repr(value)}: {dotted[0]!r} is a SEED id, "
                f"not a {kind} code; {fix}"
            )
    return parse_codes(value, kind)


SEED_ID_FORMS = (
    "NET.STA.LOC.CHA or NET.STA, such as 'IU.ANMO.00.BHZ', 'IU.ANMO..BHZ' "
    "(blank location) or 'IU.ANMO'"
)


def parse_seed_ids(value: object) -> tuple[tuple[str, str, str, str], ...]:
    """Parse SEED ids into network, station, location and channel patterns.

    Parameters
    ----------
    value : str or sequence of str
        Ids as obspy writes them: ``NET.STA.LOC.CHA`` (``"IU.ANMO.00.BHZ"``,
        ``"IU.ANMO..BHZ"`` for the blank location) or ``NET.STA``, which
        means every location and channel of the station. Codes may hold the
        wildcards ``?`` and ``*``. Several ids go in a comma list or a list.

    Returns
    -------
    tuple of tuple of str
        One ``(network, station, location, channel)`` tuple of normalised
        patterns per id, in the order given, without duplicates.

    Raises
    ------
    InvalidRequestError
        If an id has neither two nor four dot-separated parts, or one of its
        codes is invalid.

    Examples
    --------
    >>> parse_seed_ids("IU.ANMO.00.BHZ,iu.cola")
    (('IU', 'ANMO', '00', 'BHZ'), ('IU', 'COLA', '*', '*'))
    """
    items = _seed_id_items(value)
    return tuple(dict.fromkeys(_parse_seed_id(item) for item in items))


def _seed_id_items(value: object) -> list[str]:
    if isinstance(value, np.ndarray | pd.Series | pd.Index) and value.ndim == 1:
        value = value.tolist()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise InvalidRequestError(
            f"invalid seed_id={short_repr(value)}: expected {SEED_ID_FORMS}, or a "
            "list of them"
        )
    for item in items:
        if not isinstance(item, str):
            raise InvalidRequestError(
                f"invalid seed_id {short_repr(item)} in {short_repr(value)}: "
                f"expected text in the form {SEED_ID_FORMS}"
            )
    return list(items)


def _parse_seed_id(item: str) -> tuple[str, str, str, str]:
    parts = item.strip().split(".")
    if len(parts) == 2:
        parts += ["*", "*"]
    if len(parts) != 4:
        raise InvalidRequestError(
            f"invalid seed_id={short_repr(item)}: expected {SEED_ID_FORMS}"
        )

    codes = []
    for kind, part in zip(CODE_KINDS, parts, strict=True):
        try:
            codes.append(parse_codes(part, kind)[0])
        except InvalidRequestError as error:
            # The reason, without the fix for a code given by name.
            reason = str(error).partition(": ")[2].split(". ")[0]
            raise InvalidRequestError(
                f"invalid seed_id={short_repr(item)}: its {kind} code {part!r} is "
                f"invalid ({reason}); expected {SEED_ID_FORMS}"
            ) from None
    network, station, location, channel = codes
    return network, station, location, channel


def seed_id_matches(
    table: pd.DataFrame, ids: tuple[tuple[str, str, str, str], ...]
) -> pd.Series:
    """Return which rows of a seismic table match any of the parsed ``ids``."""
    keep = pd.Series(False, index=table.index)
    for codes in ids:
        matched = pd.Series(True, index=table.index)
        for kind, pattern in zip(CODE_KINDS, codes, strict=True):
            if pattern != "*":
                matched &= code_matches(table[kind], (pattern,))
        keep |= matched
    return keep
