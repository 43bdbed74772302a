"""Browse a collection's stations as a table, search it, and load the matches.

:class:`StationBrowser` works like an intake-esm datastore: ``.df`` is the
table, ``.search(...)`` returns a new browser with the matching rows,
``.unique()`` lists the values of each column, and ``.to_dask(start, end)``
opens the matched channels (or GNSS stations) lazily. :func:`open_stations`
fetches the table of a ``stations:`` catalog mapping, and
:func:`search_stations` does both from an archive name.
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
import warnings
from collections.abc import Mapping
from types import FrameType
from typing import Any

import numpy as np
import pandas as pd

from intake_earthscope.codes import CODE_KINDS
from intake_earthscope.errors import (
    CatalogError,
    IntakeEarthScopeWarning,
    InvalidRequestError,
    UnknownArgumentError,
)
from intake_earthscope.readerargs import FDSN_NAMES, short_repr
from intake_earthscope.stationfetch import (
    code_matches,
    criterion_codes,
    fetch_station_table,
    normalised_selection,
    parse_seed_ids,
    seed_id_matches,
    station_kind,
)
from intake_earthscope.stationtable import DEFAULT_MAX_AGE, TableCache
from intake_earthscope.timeutil import check_window_order, format_ns, parse_time

__all__ = [
    "SEARCH_CRITERIA",
    "StationBrowser",
    "open_stations",
    "reject_seismic_codes",
    "search_stations",
    "station_source_lines",
]

logger = logging.getLogger(__name__)

SEARCH_CRITERIA = (
    "seed_id",
    "network",
    "station",
    "location",
    "channel",
    "minlatitude",
    "maxlatitude",
    "minlongitude",
    "maxlongitude",
    "latitude",
    "longitude",
    "minradius",
    "maxradius",
    "start",
    "end",
)

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
            _warn(hint)
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
        if self.kind == "gnss":
            reject_seismic_codes(self.name, criteria)

        table = self._table
        masks = _criterion_masks(table, criteria)
        keep = pd.Series(True, index=table.index)
        for mask in masks.values():
            keep &= mask
        matched = self._with(table[keep.to_numpy()])
        if len(matched):
            return matched, ""
        return matched, _empty_search_hint(self, criteria, masks)

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
        matched, hint = self._match({"start": start, "end": end})
        if len(matched) == 0:
            raise InvalidRequestError(f"{hint}. Widen the search or the window")
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
        matched = self._match({"start": start, "end": end})[0].df
        options = _loader_options({**self.options, **kwargs})
        return availability(
            collection, start=start, end=end, **_code_lists(matched), **options
        )

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
        wanted = set(
            table["network"]
            + "."
            + table["station"]
            + "."
            + table["location"]
            + "."
            + table["channel"]
        )
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


def _criterion_masks(
    table: pd.DataFrame, criteria: Mapping[str, Any]
) -> dict[str, pd.Series]:
    """Return which rows meet each given group of criteria, by group name."""
    masks = {}
    if any(name in criteria for name in _CODE_CRITERIA):
        masks["codes"] = _code_mask(table, criteria)
    if any(name in criteria for name in _REGION_CRITERIA):
        masks["region"] = _box_mask(table, criteria) & _radius_mask(table, criteria)
    if "start" in criteria or "end" in criteria:
        masks["time"] = _time_mask(table, criteria)
    return masks


_CODE_CRITERIA = ("seed_id", *CODE_KINDS)
_REGION_CRITERIA = (
    "minlatitude",
    "maxlatitude",
    "minlongitude",
    "maxlongitude",
    "latitude",
    "longitude",
    "minradius",
    "maxradius",
)


def _code_mask(table: pd.DataFrame, criteria: Mapping[str, Any]) -> pd.Series:
    keep = pd.Series(True, index=table.index)
    for kind in CODE_KINDS:
        if kind not in criteria:
            continue
        if kind not in table:
            raise InvalidRequestError(
                f"invalid criterion {kind}={criteria[kind]!r}: this table has "
                f"columns {list(table)}"
            )
        keep &= code_matches(table[kind], criterion_codes(criteria[kind], kind))
    if "seed_id" in criteria:
        keep &= seed_id_matches(table, parse_seed_ids(criteria["seed_id"]))
    return keep


def _empty_search_hint(
    browser: StationBrowser,
    criteria: Mapping[str, Any],
    masks: Mapping[str, pd.Series],
) -> str:
    """Describe a search that matched no row, and the likely fix.

    Parameters
    ----------
    browser : StationBrowser
        The browser that was searched.
    criteria : mapping
        The criteria given, without empty values.
    masks : mapping of str to pandas.Series
        Which rows meet each group of criteria (``codes``, ``region``,
        ``time``), as the search computed them.

    Returns
    -------
    str
        What was searched, then for each group that keeps none of the rows
        meeting the other groups, the range of those rows and a fix.
    """
    searched = ", ".join(f"{k}={short_repr(v)}" for k, v in criteria.items())
    text = f"no row of {browser.name} matches {searched or 'the search'}"
    table = browser.df
    if table.empty:
        return (
            f"{text}: the station table has no rows, because the archive has no "
            "station with the codes it was fetched for. Check those codes, or "
            "widen them with the wildcards ? and *"
        )

    reasons = []
    for group in masks:
        others = pd.Series(True, index=table.index)
        for name, other in masks.items():
            if name != group:
                others &= other
        if others.any():
            rows = table[others.to_numpy()]
            reasons.append(_HINTS[group](rows, criteria, len(masks) > 1))
    if not reasons:
        return (
            f"{text}: each criterion keeps some rows, but no row meets them "
            "together; search with fewer criteria to see which rows each keeps"
        )
    return f"{text}: " + ". ".join(reasons)


def _code_hint(rows: pd.DataFrame, criteria: Mapping[str, Any], others: bool) -> str:
    """Name the first code that no row has, narrowing kind by kind."""
    where = "rows that meet the other criteria" if others else "rows"
    named = [
        (kind, criterion_codes(criteria[kind], kind))
        for kind in CODE_KINDS
        if kind in criteria
    ]
    rows, where, reason = _narrow_codes(rows, named, where)
    reasons = [reason] if reason else []
    if not reason:
        # The codes given by name keep rows, so the SEED ids leave none.
        for codes in parse_seed_ids(criteria["seed_id"])[:_SHOWN_IDS]:
            named = list(zip(CODE_KINDS, ((code,) for code in codes), strict=True))
            reasons.append(_narrow_codes(rows, named, where)[2])
    return "; ".join(reasons) + " (codes match case-insensitively)"


# SEED ids whose missing code a hint names.
_SHOWN_IDS = 3


def _narrow_codes(
    rows: pd.DataFrame, named: list[tuple[str, tuple[str, ...]]], where: str
) -> tuple[pd.DataFrame, str, str]:
    """Keep the rows of each code in turn, and describe the first that keeps none.

    Returns the rows kept, what they are, and the description, which is
    ``""`` if every code keeps some rows.
    """
    narrowed: list[str] = []
    for kind, patterns in named:
        if patterns == ("*",):
            continue
        matching = rows[code_matches(rows[kind], patterns).to_numpy()]
        if narrowed:
            where = f"rows with {', '.join(narrowed)}"
        if matching.empty:
            return rows, where, _missing_code(rows, kind, patterns, where)
        rows = matching
        narrowed.append(f"{kind} {','.join(patterns) or '--'}")
    return rows, where, ""


def _missing_code(
    rows: pd.DataFrame, kind: str, patterns: tuple[str, ...], where: str
) -> str:
    known = sorted(set(rows[kind]))
    listed = [code or "--" for code in known]
    text = f"no {kind} code of the {where} matches {','.join(patterns) or '--'}"
    close = difflib.get_close_matches(
        patterns[0].replace("*", "").replace("?", ""), known, n=3
    )
    if len(known) <= 12:
        text += f"; their {kind} codes are {', '.join(listed)}"
    elif close:
        text += f"; close codes are {', '.join(close)}"
    for other in CODE_KINDS:
        if (
            other != kind
            and other in rows
            and code_matches(rows[other], patterns).any()
        ):
            text += f"; {patterns[0]} is a {other} code here, so give {other}="
            break
    return text


def _region_hint(rows: pd.DataFrame, criteria: Mapping[str, Any], others: bool) -> str:
    """Say where the rows lie, and which sign flip of the region would keep them."""
    latitudes, longitudes = rows["latitude"], rows["longitude"]
    where = f"the {len(rows)} rows"
    if others:
        where += " that meet the other criteria"
    text = (
        f"the region keeps none of {where}, which lie at latitudes "
        f"{latitudes.min():g} to {latitudes.max():g} and longitudes "
        f"{longitudes.min():g} to {longitudes.max():g}"
    )
    flipped = _flipped_region(rows, criteria)
    if flipped:
        text += f"; did you mean {flipped}? South and west are negative"
    elif _box_in_east(criteria) and (longitudes < 0).all():
        text += "; longitudes 180 to 360 east are written -180 to 0 here (subtract 360)"
    return text


def _flipped_region(rows: pd.DataFrame, criteria: Mapping[str, Any]) -> str:
    """Return the region criteria, with one sign flipped, that keep some rows.

    Returns ``""`` if no such flip keeps a row.
    """
    for low, high in (
        ("minlatitude", "maxlatitude"),
        ("minlongitude", "maxlongitude"),
    ):
        if low in criteria and high in criteria:
            # Negating a pair of bounds swaps them: -north is the new minimum.
            # Subtracting from 0.0 writes 0 as 0, where negating gives -0.
            flipped = {
                low: 0.0 - float(criteria[high]),
                high: 0.0 - float(criteria[low]),
            }
            if _region_keeps(rows, {**criteria, **flipped}):
                return f"{low}={flipped[low]:g}, {high}={flipped[high]:g}"
    for name in ("latitude", "longitude"):
        if name in criteria:
            value = 0.0 - float(criteria[name])
            if _region_keeps(rows, {**criteria, name: value}):
                return f"{name}={value:g}"
    return ""


def _region_keeps(rows: pd.DataFrame, criteria: Mapping[str, Any]) -> bool:
    try:
        keep = _box_mask(rows, criteria) & _radius_mask(rows, criteria)
    except InvalidRequestError:
        return False
    return bool(keep.any())


def _box_in_east(criteria: Mapping[str, Any]) -> bool:
    bounds = [criteria.get(name) for name in ("minlongitude", "maxlongitude")]
    given = [float(value) for value in bounds if value is not None]
    return bool(given) and min(given) >= 0


def _time_hint(rows: pd.DataFrame, criteria: Mapping[str, Any], others: bool) -> str:
    """Say whether the window ends before the rows start or starts after they end."""
    where = "rows that meet the other criteria" if others else "rows"
    starts, ends = rows["start"], rows["end"]
    start = _window_bound(criteria, "start")
    end = _window_bound(criteria, "end")
    first = starts.min()
    if end is not None and starts.notna().all() and end <= first:
        return (
            f"the window ends at {_text(end)}, before the first of the {where} "
            f"starts, at {_text(first)}; give an end after {_text(first)}"
        )
    last = ends.max()
    if start is not None and ends.notna().all() and start >= last:
        return (
            f"the window starts at {_text(start)}, after the last of the {where} "
            f"ends, at {_text(last)}; give a start before {_text(last)}"
        )
    span_end = "open" if ends.isna().any() else _text(last)
    return (
        f"no epoch of the {where} overlaps the window; they span "
        f"{_text(first)} to {span_end}, with gaps"
    )


def _window_bound(criteria: Mapping[str, Any], name: str) -> pd.Timestamp | None:
    if name not in criteria:
        return None
    return pd.Timestamp(parse_time(criteria[name], name), unit="ns", tz="UTC")


def _text(moment: pd.Timestamp) -> str:
    if pd.isna(moment):
        return "unknown"
    return format_ns(int(moment.as_unit("ns").value))


_HINTS = {"codes": _code_hint, "region": _region_hint, "time": _time_hint}


def _warn(hint: str) -> None:
    """Warn with ``hint``, pointing at the first caller outside this package."""
    level = 2
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(hint, IntakeEarthScopeWarning, stacklevel=level)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _number(criteria: Mapping[str, Any], name: str, low: float, high: float) -> float:
    value = criteria[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidRequestError(
            f"invalid {name}={value!r}: expected a number of degrees"
        ) from None
    if not low <= number <= high:
        hint = ""
        if name.endswith("longitude") and 180 < number <= 360:
            # GNSS files give longitudes from 0 to 360 degrees east.
            hint = f"; {number:g} degrees east is {number - 360:g}"
        raise InvalidRequestError(
            f"invalid {name}={value!r}: expected degrees from {low:g} to {high:g}{hint}"
        )
    return number


def _bounds(
    criteria: Mapping[str, Any], names: tuple[str, str], low: float, high: float
) -> tuple[float | None, float | None]:
    """Return the given ones of a minimum and maximum, rejecting a reversed pair."""
    values = []
    for name in names:
        values.append(_number(criteria, name, low, high) if name in criteria else None)
    lower, upper = values
    if lower is not None and upper is not None and lower > upper:
        raise InvalidRequestError(
            f"invalid bounds {names[0]}={criteria[names[0]]!r} and "
            f"{names[1]}={criteria[names[1]]!r}: the minimum is above the maximum; "
            "swap them"
        )
    return lower, upper


def _box_mask(table: pd.DataFrame, criteria: Mapping[str, Any]) -> pd.Series:
    keep = pd.Series(True, index=table.index)
    south, north = _bounds(criteria, ("minlatitude", "maxlatitude"), -90, 90)
    if south is not None:
        keep &= table["latitude"] >= south
    if north is not None:
        keep &= table["latitude"] <= north

    west = (
        _number(criteria, "minlongitude", -180, 180)
        if ("minlongitude" in criteria)
        else None
    )
    east = (
        _number(criteria, "maxlongitude", -180, 180)
        if ("maxlongitude" in criteria)
        else None
    )
    longitude = table["longitude"]
    if west is not None and east is not None and west > east:
        # The box crosses the antimeridian: keep both sides of it.
        keep &= (longitude >= west) | (longitude <= east)
    else:
        if west is not None:
            keep &= longitude >= west
        if east is not None:
            keep &= longitude <= east
    return keep


def _radius_mask(table: pd.DataFrame, criteria: Mapping[str, Any]) -> pd.Series:
    keep = pd.Series(True, index=table.index)
    radius = {"minradius", "maxradius"} & set(criteria)
    centre = {"latitude", "longitude"} & set(criteria)
    if not radius and not centre:
        return keep
    if len(centre) != 2 or not radius:
        raise InvalidRequestError(
            "invalid radius search: give latitude, longitude and maxradius (and "
            f"optionally minradius) together; got {sorted(radius | centre)}"
        )

    inner, outer = _bounds(criteria, ("minradius", "maxradius"), 0, 180)
    distance = great_circle_degrees(
        _number(criteria, "latitude", -90, 90),
        _number(criteria, "longitude", -180, 180),
        table["latitude"].to_numpy(dtype=float),
        table["longitude"].to_numpy(dtype=float),
    )
    if inner is not None:
        keep &= distance >= inner
    if outer is not None:
        keep &= distance <= outer
    return keep


def great_circle_degrees(
    latitude: float, longitude: float, latitudes: np.ndarray, longitudes: np.ndarray
) -> np.ndarray:
    """Return great-circle distances in degrees on a sphere (haversine)."""
    lat1, lon1 = np.radians(latitude), np.radians(longitude)
    lat2, lon2 = np.radians(latitudes), np.radians(longitudes)
    term = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(term, 0.0, 1.0))))


def _time_mask(table: pd.DataFrame, criteria: Mapping[str, Any]) -> pd.Series:
    keep = pd.Series(True, index=table.index)
    start_ns = parse_time(criteria["start"], "start") if "start" in criteria else None
    end_ns = parse_time(criteria["end"], "end") if "end" in criteria else None
    if start_ns is not None and end_ns is not None:
        check_window_order(start_ns, end_ns)

    if start_ns is not None:
        start = pd.Timestamp(start_ns, unit="ns", tz="UTC")
        keep &= table["end"].isna() | (table["end"] > start)
    if end_ns is not None:
        end = pd.Timestamp(end_ns, unit="ns", tz="UTC")
        keep &= table["start"].isna() | (table["start"] < end)
    return keep


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

    Examples
    --------
    >>> import yaml  # doctest: +SKIP
    >>> entry = yaml.safe_load(open("catalogs/scedc.yaml"))["sources"]["stations"]
    >>> browser = open_stations(**entry["args"], station="WBM")  # doctest: +SKIP
    >>> browser.search(channel="LH?").df  # doctest: +SKIP
    """
    kind = station_kind(stations)
    name = str(stations.get("name", "stations"))
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
        if kind in _CODE_CRITERIA and kind != "station" and value not in (None, "")
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
        An archive name of the shipped catalog (``"sage"``, ``"scedc"``,
        ``"ncedc"``, ``"gage"``, or ``"sage.stations"``), a browser, or the
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
        If the name is no archive with a ``stations`` entry.

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
    codes = {k: criteria[k] for k in _CODE_CRITERIA if k in criteria}
    browser = open_stations(
        args["stations"], args.get("collection"), **codes, **options
    )
    return browser.search(**criteria).df


def shipped_entry(name: object, entry: str = "stations") -> dict[str, Any]:
    """Return the ``args`` of an entry of an archive in the shipped catalog.

    Parameters
    ----------
    name : str
        ``"archive"`` or ``"archive.entry"``, such as ``"scedc"`` or
        ``"sage.miniseed"``.
    entry : str
        Entry used when ``name`` names none.

    Raises
    ------
    CatalogError
        If ``name`` is no archive of the catalog, or the archive has no such
        entry.
    """
    import yaml

    from intake_earthscope.catalog import catalog_path

    text = str(name)
    archive, _, named = text.partition(".")
    entry = named or entry
    path = catalog_path().parent / f"{archive}.yaml"
    if not archive.isidentifier() or not path.is_file():
        raise CatalogError(
            f"invalid collection {text!r}: expected an archive of the shipped "
            "catalog such as 'sage', 'scedc', 'ncedc' or 'gage'"
        )
    sources = yaml.safe_load(path.read_text()).get("sources") or {}
    if entry not in sources:
        raise CatalogError(
            f"invalid collection {text!r}: {archive}.yaml has no {entry!r} entry; "
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
