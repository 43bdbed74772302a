"""Browse a collection's stations as a table, search it, and load the matches.

:class:`StationBrowser` works like an intake-esm datastore: ``.df`` is the
table, ``.search(...)`` returns a new browser with the matching rows,
``.unique()`` lists the values of each column, and ``.to_dask(start, end)``
opens the matched channels (or GNSS stations) lazily. :func:`open_stations`
fetches the table of a ``stations:`` catalog mapping, and
:func:`search_stations` does both from an archive name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from intake_earthscope.codes import CODE_KINDS, has_wildcard, row_seed_ids
from intake_earthscope.errors import (
    CatalogError,
    EarthScopeError,
    InvalidRequestError,
    UnknownArgumentError,
)
from intake_earthscope.readerargs import FDSN_NAMES, short_repr
from intake_earthscope.request import check_options
from intake_earthscope.stationfetch import (
    fetch_station_table,
    normalised_selection,
    parse_seed_ids,
    seed_id_matches,
    station_kind,
)
from intake_earthscope.stationmatch import (
    CODE_CRITERIA,
    REGION_CRITERIA,
    SEISMIC_CODE_CRITERIA,
    check_criteria,
    criterion_masks,
    empty_search_hint,
    station_channels_hint,
    warn_at_caller,
)
from intake_earthscope.stationtable import DEFAULT_MAX_AGE, TableCache

__all__ = [
    "SEARCH_CRITERIA",
    "StationBrowser",
    "open_stations",
    "reject_seismic_codes",
    "search_stations",
    "station_source_lines",
]

logger = logging.getLogger(__name__)

SEARCH_CRITERIA = (*CODE_CRITERIA, *REGION_CRITERIA, "start", "end")

# Options of open_stations that are no search criteria.
_FETCH_OPTIONS = (
    "cache_dir",
    "max_age",
    "storage_options",
    "root",
    "token",
    "profile",
    "tier",
)


# Other libraries' names of search criteria: obspy and FDSN names, and the
# id= of obspy's Stream.select for a SEED id.
_RENAMED = {**FDSN_NAMES, "id": "seed_id"}


class StationBrowser:
    """A station table of one collection, searchable, that loads its matches.

    Build one with :func:`open_stations` or from the ``stations`` catalog
    entry; :meth:`search` returns new browsers.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of channel epochs (``kind="seismic"``) or GNSS stations.
    kind : {"seismic", "gnss"}
        What the rows are.
    name : str
        Name of the station source, for ``repr``.
    collection : mapping, optional
        The waveform collection that :meth:`to_dask` reads (seismic).
    options : mapping, optional
        Keyword arguments passed on to the loader (``storage_options``,
        ``root``, ``token``, ``profile``, ``tier``).
    """

    def __init__(
        self,
        table: pd.DataFrame,
        kind: str = "seismic",
        name: str = "stations",
        collection: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self._table = table.reset_index(drop=True)
        self.kind = kind
        self.name = name
        self.collection = dict(collection) if collection is not None else None
        self.options = dict(options or {})

    def __repr__(self) -> str:
        unit = "channel epochs" if self.kind == "seismic" else "stations"
        return f"<StationBrowser {self.name}: {len(self._table)} {unit}>"

    def __len__(self) -> int:
        return len(self._table)

    @property
    def df(self) -> pd.DataFrame:
        """The table: one row per channel epoch, or per GNSS station."""
        return self._table

    def search(self, **criteria: Any) -> StationBrowser:
        """Return a browser with the rows that meet every criterion.

        Parameters
        ----------
        seed_id : str or list of str, optional
            SEED ids as obspy writes them, ``NET.STA.LOC.CHA`` or ``NET.STA``
            (every location and channel of the station), with wildcards; a
            comma list or a list keeps the rows of any of them. Seismic
            tables only.
        network, station, location, channel : str or list of str, optional
            Codes, comma lists and ``?``/``*`` wildcards, matched without
            regard to case (GNSS tables have ``station`` only).
        minlatitude, maxlatitude : float, optional
            Latitude bounds in degrees, inclusive.
        minlongitude, maxlongitude : float, optional
            Longitude bounds in degrees, inclusive. A box whose
            ``minlongitude`` exceeds its ``maxlongitude`` crosses the
            antimeridian (170 to -170 keeps 175 and -175).
        latitude, longitude : float, optional
            Centre of a circle, with ``maxradius`` (and optionally
            ``minradius``) in great-circle degrees.
        minradius, maxradius : float, optional
            Distance bounds from the centre, in degrees, inclusive.
        start, end : str or datetime, optional
            Keep epochs that overlap ``[start, end)``; an epoch without an
            end is open.

        Returns
        -------
        StationBrowser
            An empty browser when no row meets the criteria. That is no
            error, but it warns once with what was searched and, where the
            criteria and the table show it, which criterion left no row and
            how to fix it.

        Raises
        ------
        InvalidRequestError
            If a criterion is unknown or its value is invalid.
        UnknownArgumentError
            If a GNSS table is searched by seismic codes or SEED ids.

        Warns
        -----
        IntakeEarthScopeWarning
            If no row meets the criteria.
        """
        matched, hint = self._match(criteria)
        if hint:
            warn_at_caller(hint)
        return matched

    def _match(self, criteria: Mapping[str, Any]) -> tuple[StationBrowser, str]:
        """Return the browser of the matching rows, and a hint if there are none."""
        unknown = set(criteria) - set(SEARCH_CRITERIA)
        if unknown:
            renamed = [
                f"{_RENAMED[name]}= in place of {name}="
                for name in sorted(unknown)
                if name in _RENAMED
            ]
            fix = f" (use {', '.join(renamed)})" if renamed else ""
            raise InvalidRequestError(
                f"invalid search criteria {sorted(unknown)}{fix}: valid criteria "
                f"are {list(SEARCH_CRITERIA)}"
            )
        criteria = {k: v for k, v in criteria.items() if v is not None and v != ""}
        _reject_seed_id_station(self.kind, criteria.get("station"))
        if self.kind == "gnss":
            reject_seismic_codes(self.name, criteria)

        table = self._table
        masks = criterion_masks(table, criteria)
        keep = pd.Series(True, index=table.index)
        for mask in masks.values():
            keep &= mask
        matched = self._with(table[keep.to_numpy()])
        if len(matched):
            return matched, ""
        return matched, empty_search_hint(self, criteria, masks)

    def unique(self, columns: str | list[str] | None = None) -> pd.Series:
        """Return the sorted unique values of each column (intake-esm style).

        Parameters
        ----------
        columns : str or list of str, optional
            Columns to report; every column when not given.

        Returns
        -------
        pandas.Series
            Indexed by column name, each value a list. Missing values are
            left out.

        Raises
        ------
        InvalidRequestError
            If a column is not in the table.
        """
        names = [columns] if isinstance(columns, str) else list(columns or self.df)
        unknown = [name for name in names if name not in self.df]
        if unknown:
            raise InvalidRequestError(
                f"invalid columns {unknown}: this table has columns {list(self.df)}"
            )
        values = {}
        for name in names:
            column = self.df[name].dropna()
            values[name] = sorted(column.unique().tolist())
        return pd.Series(values, dtype=object)

    def nunique(self) -> pd.Series:
        """Return the number of unique values of each column."""
        return self.df.nunique()

    def to_dask(self, start: object = None, end: object = None, **kwargs: Any) -> Any:
        """Open the matched channels (or GNSS stations) lazily over a window.

        Only the rows whose epochs overlap ``[start, end)`` are opened.

        Parameters
        ----------
        start, end : str or datetime
            UTC window, ``end`` exclusive.
        **kwargs
            Keyword arguments of
            :func:`intake_earthscope.dataset.open_waveforms` (seismic) or of
            :func:`~intake_earthscope.gnss.position_dataset.open_gage_positions`
            (GNSS); they override the browser's options.

        Returns
        -------
        xarray.Dataset
            Seismic: one trace per matched channel, NaN where it has no
            samples, with the reason in ``status`` (for example ``missing``
            or ``no_matching_channel``).

        Raises
        ------
        InvalidRequestError
            If the window is missing or no row overlaps it.
        """
        for name, value in (("start", start), ("end", end)):
            if value is None or value == "":
                raise InvalidRequestError(
                    f"missing {name}: give to_dask(start=..., end=...), for example "
                    "to_dask(start='2024-01-01', end='2024-01-02')"
                )
        matched = self._rows_in_window(start, end, "open")
        options = {**self.options, **kwargs}
        if self.kind == "gnss":
            return self._open_gnss(matched.df, start, end, options)
        return self._open_seismic(matched.df, start, end, options)

    def availability(
        self, start: object = None, end: object = None, **kwargs: Any
    ) -> pd.DataFrame:
        """List which objects of the matched channels exist, per day.

        See :func:`intake_earthscope.availability.availability`; the codes
        are the browser's, and ``kwargs`` override its options.
        """
        from intake_earthscope.availability import availability

        collection = self._waveform_collection()
        matched = self._rows_in_window(start, end, "list").df
        options = _loader_options({**self.options, **kwargs})
        return availability(
            collection, start=start, end=end, **_code_lists(matched), **options
        )

    def _rows_in_window(
        self, start: object, end: object, action: str
    ) -> StationBrowser:
        """Return the browser of the rows open in the window; raise if none is.

        Raises
        ------
        InvalidRequestError
            If the browser has no rows, or none of them is open in the window.
        """
        if len(self._table) == 0:
            raise InvalidRequestError(
                f"{self.name} has no rows, so there is nothing to {action}: the "
                "search that made it matched none, or the station table has no "
                "station with the codes it was fetched for. Search again with "
                "other criteria"
            )
        matched, hint = self._match({"start": start, "end": end})
        if len(matched) == 0:
            raise InvalidRequestError(f"{hint}. Widen the search or the window")
        return matched

    def _with(self, table: pd.DataFrame) -> StationBrowser:
        return StationBrowser(
            table, self.kind, self.name, self.collection, self.options
        )

    def _waveform_collection(self) -> Mapping[str, Any]:
        if self.kind != "seismic" or self.collection is None:
            raise InvalidRequestError(
                f"{self!r} has no waveform collection: open it from a seismic "
                "archive's stations entry (sage, scedc or ncedc)"
            )
        return self.collection

    def _open_gnss(
        self, table: pd.DataFrame, start: object, end: object, options: dict[str, Any]
    ) -> Any:
        from intake_earthscope.gnss.position_dataset import open_gage_positions

        if self.collection is None:
            raise InvalidRequestError(
                f"{self!r} has no positions product: open it from the gage "
                "catalog's stations entry"
            )
        stations = sorted(set(table["station"]))
        return open_gage_positions(
            self.collection,
            station=stations,
            start=start,
            end=end,
            **_loader_options(options),
        )

    def _open_seismic(
        self, table: pd.DataFrame, start: object, end: object, options: dict[str, Any]
    ) -> Any:
        from intake_earthscope.dataset import open_waveforms

        collection = self._waveform_collection()
        dataset = open_waveforms(
            collection,
            start=start,
            end=end,
            **_code_lists(table),
            **_loader_options(options),
        )

        # The four code lists also match combinations that no row names, such
        # as IU.ANMO.10.BHN beside IU.ANMO.00.BHZ and IU.COLA.10.BHN.
        wanted = set(row_seed_ids(table))
        keep = [trace for trace in dataset.trace.values if str(trace) in wanted]
        return dataset.sel(trace=keep)


def _code_lists(table: pd.DataFrame) -> dict[str, Any]:
    """Return the sorted codes of each kind in ``table``, as request keywords."""
    return {kind: sorted(set(table[kind])) for kind in CODE_KINDS}


def _loader_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the options that only the station table used, and empty values."""
    dropped = ("cache_dir", "max_age")
    return {
        k: v for k, v in options.items() if k not in dropped and v not in (None, "")
    }


def open_stations(
    stations: Mapping[str, Any],
    collection: Mapping[str, Any] | None = None,
    *,
    seed_id: object = None,
    network: object = None,
    station: object = None,
    location: object = None,
    channel: object = None,
    start: object = None,
    end: object = None,
    cache_dir: str | os.PathLike[str] | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    storage_options: Mapping[str, Any] | None = None,
    root: str | None = None,
    token: Any = None,
    profile: str | None = None,
    tier: str | None = None,
) -> StationBrowser:
    """Fetch the station table of a collection and return its browser.

    Parameters
    ----------
    stations : mapping
        The ``stations:`` mapping of a catalog entry (its source of station
        metadata).
    collection : mapping, optional
        The waveform collection that the browser's ``to_dask`` reads.
    seed_id : str or list of str, optional
        SEED ids, ``NET.STA.LOC.CHA`` or ``NET.STA``, whose rows the table
        keeps (seismic stations only); see :meth:`StationBrowser.search`.
    network, station, location, channel : str or list of str, optional
        Codes that narrow the fetched table. A station service gets them
        in its query, and they pick the StationXML objects of a bucket.
        Every code when not given.
    start, end : str or datetime, optional
        Fetch only the epochs that overlap this window (station services).
    cache_dir : str or path, optional
        Directory of cached tables; see
        :func:`intake_earthscope.stationtable.cache_directory`.
    max_age : float
        Seconds a cached table stays fresh (one day by default).
    storage_options, root, token, profile, tier
        As for :func:`intake_earthscope.dataset.open_waveforms`; used to
        fetch the table and kept for ``to_dask``.

    Returns
    -------
    StationBrowser

    Raises
    ------
    UnknownArgumentError
        If GNSS stations get seismic codes or SEED ids.
    InvalidRequestError
        If ``root`` is no directory or object store URL, or
        ``storage_options`` is no mapping.

    Warns
    -----
    IntakeEarthScopeWarning
        If the StationXML object of a selected station is missing.

    Examples
    --------
    >>> import yaml  # doctest: +SKIP
    >>> entry = yaml.safe_load(open("catalogs/scedc.yaml"))["sources"]["stations"]
    >>> browser = open_stations(**entry["args"], station="WBM")  # doctest: +SKIP
    >>> browser.search(channel="LH?").df  # doctest: +SKIP
    """
    kind = station_kind(stations)
    name = str(stations.get("name", "stations"))
    # A local root that does not exist would read as stations without
    # objects, which only warn.
    check_options(root or None, storage_options, None)
    _reject_seed_id_station(kind, station)
    if kind == "gnss":
        seismic = {"seed_id": seed_id, "network": network}
        seismic.update(location=location, channel=channel)
        reject_seismic_codes(name, seismic)
    selection = normalised_selection(
        seed_id=seed_id,
        network=network,
        station=station,
        location=location,
        channel=channel,
    )
    table = fetch_station_table(
        stations,
        collection,
        selection=selection,
        start=start,
        end=end,
        cache=TableCache(cache_dir, max_age),
        storage_options=storage_options,
        root=root,
        token=token,
        profile=profile,
    )
    options = {
        "storage_options": storage_options,
        "root": root,
        "token": token,
        "profile": profile,
        "tier": tier,
    }
    options = {k: v for k, v in options.items() if v not in (None, "")}
    if seed_id not in (None, ""):
        table = table[seed_id_matches(table, parse_seed_ids(seed_id)).to_numpy()]
    return StationBrowser(table, kind, name, collection, options)


def _reject_seed_id_station(kind: str, station: object) -> None:
    """Reject a SEED id given as a station code, with the fix for ``kind``.

    Seismic stations take the id as ``seed_id=``. GNSS stations take no
    ``seed_id=``, so their fix is the id's station code alone.

    Raises
    ------
    InvalidRequestError
        If a code of ``station`` contains a dot.
    """
    items = station.split(",") if isinstance(station, str) else station
    if not isinstance(items, list | tuple):
        return
    dotted = [item for item in items if isinstance(item, str) and "." in item]
    if not dotted:
        return

    seed_id = dotted[0]
    if kind == "gnss":
        code = seed_id.split(".")[1] or "P123"
        fix = f"give the station id alone, such as station={code!r}"
    else:
        fix = f"give it as seed_id={seed_id!r}"
    raise InvalidRequestError(
        f"invalid station={short_repr(station)}: {seed_id!r} is a SEED id, "
        f"not a station code; {fix}"
    )


def reject_seismic_codes(name: str, codes: Mapping[str, object]) -> None:
    """Reject seismic codes and SEED ids given for the GNSS stations ``name``.

    The GAGE station list names each station by its four-character id
    alone: it has no network, location or channel codes to match.

    Raises
    ------
    UnknownArgumentError
        If ``codes`` gives a value for ``seed_id``, ``network``, ``location``
        or ``channel``. The message repeats the value and the ``station=``
        to give instead.
    """
    seismic = {
        kind: value
        for kind, value in codes.items()
        if kind in SEISMIC_CODE_CRITERIA and value not in (None, "")
    }
    if not seismic:
        return
    labels = ", ".join(f"{kind}={short_repr(value)}" for kind, value in seismic.items())
    plural = "s" if len(seismic) > 1 else ""
    raise UnknownArgumentError(
        f"unknown parameter{plural} {labels} for the GNSS stations of {name}: "
        "GNSS stations have four-character station ids and no network, "
        f"location or channel codes, so give {_gnss_station_fix(seismic)}"
    )


def _gnss_station_fix(seismic: Mapping[str, object]) -> str:
    """Return the station= to give for SEED ids, or a general example."""
    try:
        ids = parse_seed_ids(seismic["seed_id"]) if "seed_id" in seismic else ()
    except InvalidRequestError:
        ids = ()
    stations = ",".join(dict.fromkeys(codes[1] for codes in ids))
    if stations:
        return f"station={stations!r}"
    return "station ids alone, such as station='P123' or station='P12?'"


def search_stations(collection: object, **criteria: Any) -> pd.DataFrame:
    """Return the stations of a collection that meet the criteria.

    Parameters
    ----------
    collection : str, StationBrowser or mapping
        A nested catalog of the shipped catalog (``"sage"``, ``"scedc"``,
        ``"ncedc"``, ``"gage"``) or its entry (``"sage.stations"``), a
        browser, or the
        ``args`` mapping of a ``stations`` catalog entry (with ``stations``
        and optionally ``collection``).
    **criteria
        Search criteria of :meth:`StationBrowser.search`, and the options of
        :func:`open_stations` (``cache_dir``, ``max_age``,
        ``storage_options``, ``root``, ``token``, ``profile``). The code
        criteria also narrow the fetch.

    Returns
    -------
    pandas.DataFrame
        The matching rows.

    Raises
    ------
    CatalogError
        If the name is no nested catalog with a ``stations`` entry.

    Warns
    -----
    IntakeEarthScopeWarning
        If no row meets the criteria, as :meth:`StationBrowser.search` does.
    """
    options = {k: criteria.pop(k) for k in _FETCH_OPTIONS if k in criteria}
    if isinstance(collection, StationBrowser):
        return collection.search(**criteria).df

    args = collection if isinstance(collection, Mapping) else shipped_entry(collection)
    if "stations" not in args:
        raise CatalogError(
            f"invalid collection {collection!r}: it has no 'stations' mapping; "
            "give an archive name such as 'scedc' or a stations entry"
        )
    # Values that no table can meet are rejected before the fetch.
    check_criteria({k: v for k, v in criteria.items() if v is not None and v != ""})
    codes = {k: criteria[k] for k in CODE_CRITERIA if k in criteria}
    browser = open_stations(
        args["stations"], args.get("collection"), **codes, **options
    )
    matched, hint = browser._match(criteria)
    if hint and browser.df.empty:
        hint = _station_channels_hint(args, browser, codes, options) or hint
    if hint:
        warn_at_caller(hint)
    return matched.df


def _station_channels_hint(
    args: Mapping[str, Any],
    browser: StationBrowser,
    codes: Mapping[str, Any],
    options: Mapping[str, Any],
) -> str:
    """Describe the channels of the named stations, which the location or
    channel codes of a search that found no row did not match.

    The station table is fetched again with the network and station codes
    alone. Returns ``""`` where that would not help: GNSS stations, station
    codes with wildcards (which could fetch a whole archive), no location or
    channel code, or no station under those codes.
    """
    selection = normalised_selection(**codes)
    named = [selection[kind] for kind in ("network", "station")]
    narrowed = any(selection[kind] != ("*",) for kind in ("location", "channel"))
    if browser.kind != "seismic" or not narrowed:
        return ""
    if any(has_wildcard(code) for code in named[1]):
        return ""
    try:
        wider = open_stations(
            args["stations"],
            args.get("collection"),
            network=list(named[0]),
            station=list(named[1]),
            **options,
        )
    except EarthScopeError as error:
        # The hint is extra: the search itself succeeded.
        logger.info("could not fetch the channels of %s: %s", named[1], error)
        return ""
    if wider.df.empty:
        return ""
    return station_channels_hint(browser.name, codes, wider.df)


def shipped_entry(name: object, entry: str = "stations") -> dict[str, Any]:
    """Return the ``args`` of an entry of a nested catalog of the shipped catalog.

    Parameters
    ----------
    name : str
        ``"catalog"`` or ``"catalog.entry"``, such as ``"scedc"`` or
        ``"sage.miniseed"``.
    entry : str
        Entry used when ``name`` names none.

    Raises
    ------
    CatalogError
        If ``name`` is no nested catalog of the shipped catalog, or the
        nested catalog has no such entry.
    """
    import yaml

    from intake_earthscope.catalog import catalog_path

    text = str(name)
    nested, _, named = text.partition(".")
    entry = named or entry
    path = catalog_path().parent / f"{nested}.yaml"
    if not nested.isidentifier() or not path.is_file():
        raise CatalogError(
            f"invalid collection {text!r}: expected a nested catalog of the "
            "shipped catalog such as 'sage', 'scedc', 'ncedc' or 'gage'"
        )
    sources = yaml.safe_load(path.read_text()).get("sources") or {}
    if entry not in sources:
        raise CatalogError(
            f"invalid collection {text!r}: {nested}.yaml has no {entry!r} entry; "
            f"its entries are {sorted(sources)}"
        )
    return dict(sources[entry].get("args") or {})


def station_source_lines(entry_args: Mapping[str, Any]) -> list[str]:
    """Describe where a stations entry reads its station table, for
    ``intake-earthscope describe``.

    Parameters
    ----------
    entry_args : mapping
        The ``args`` of a catalog entry.

    Returns
    -------
    list of str
        Lines that name the station service, the key template of the
        StationXML objects or the GNSS station list, and a last line that
        introduces the waveform layout printed after them. Empty for an
        entry without a ``stations`` mapping.
    """
    stations = entry_args.get("stations")
    if not isinstance(stations, Mapping):
        return []
    lines = [f"station table: {_station_source(stations)}"]
    if entry_args.get("collection") or entry_args.get("product"):
        lines.append("data that to_dask() reads for the matched stations:")
    return lines


def _station_source(stations: Mapping[str, Any]) -> str:
    """Name the station service, StationXML objects or station list."""
    if isinstance(stations.get("fdsn"), Mapping):
        service = stations["fdsn"]
        form = service.get("format", "text")
        return f"FDSN station service {service.get('base_url')} (format {form})"
    if isinstance(stations.get("stationxml"), Mapping):
        objects = stations["stationxml"]
        return (
            f"StationXML objects {objects.get('key_template')} in tier "
            f"{objects.get('tier')!r} of the waveform collection below"
        )
    paths = stations.get("paths") or {}
    tiers = stations.get("tiers") or {}
    tier = stations.get("default_tier") or next(iter(tiers), "")
    place = (tiers.get(tier) or {}).get("base_url", "")
    return f"station list {paths.get('station_list')} under {place} (tier {tier!r})"
