"""Match station table rows against search criteria, and explain no match.

:class:`~intake_earthscope.browse.StationBrowser` searches with
:func:`criterion_masks`, one mask per group of criteria (codes, region,
time). Where no row meets them all, :func:`empty_search_hint` names the
group that keeps none of the rows the others keep, with the range of those
rows and a fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from intake_earthscope.codes import CODE_KINDS, row_seed_ids
from intake_earthscope.errors import InvalidRequestError, warn_at_caller
from intake_earthscope.readerargs import short_repr
from intake_earthscope.stationfetch import (
    MISSING_STATIONS_ATTR,
    code_matches,
    criterion_codes,
    normalised_selection,
    parse_seed_ids,
    seed_id_matches,
)
from intake_earthscope.stationtable import empty_table
from intake_earthscope.timeutil import check_window_order, format_ns, parse_time

if TYPE_CHECKING:
    from intake_earthscope.browse import StationBrowser

__all__ = [
    "CODE_CRITERIA",
    "check_criteria",
    "REGION_CRITERIA",
    "SEISMIC_CODE_CRITERIA",
    "criterion_masks",
    "empty_search_hint",
    "great_circle_degrees",
    "station_channels_hint",
    "warn_at_caller",
]


def criterion_masks(
    table: pd.DataFrame, criteria: Mapping[str, Any]
) -> dict[str, pd.Series]:
    """Return which rows meet each given group of criteria, by group name."""
    masks = {}
    if any(name in criteria for name in CODE_CRITERIA):
        masks["codes"] = _code_mask(table, criteria)
    if any(name in criteria for name in REGION_CRITERIA):
        masks["region"] = _box_mask(table, criteria) & _radius_mask(table, criteria)
    if "start" in criteria or "end" in criteria:
        masks["time"] = _time_mask(table, criteria)
    return masks


def check_criteria(criteria: Mapping[str, Any]) -> None:
    """Raise InvalidRequestError for an invalid region or time criterion.

    The checks are those of :func:`criterion_masks`, run on a table without
    rows, so that a search rejects such a value before it fetches a table.
    """
    checked = {
        name: value
        for name, value in criteria.items()
        if name in REGION_CRITERIA or name in ("start", "end")
    }
    if checked:
        criterion_masks(empty_table("seismic"), checked)


CODE_CRITERIA = ("seed_id", *CODE_KINDS)
# The code criteria that GNSS station lists, named by station id alone, reject.
SEISMIC_CODE_CRITERIA = tuple(kind for kind in CODE_CRITERIA if kind != "station")
REGION_CRITERIA = (
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


def empty_search_hint(
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
    if table.empty and table.attrs.get(MISSING_STATIONS_ATTR):
        # A warning already named the stations whose objects are missing.
        return ""
    if table.empty:
        seismic = (
            " (a station may exist without the channel or location given)"
            if browser.kind == "seismic"
            else ""
        )
        return (
            f"{text}: the station table fetched for these codes has no rows, so "
            f"at least one of them matches nothing in the archive{seismic}. "
            "Search with fewer codes to see which, or widen them with the "
            "wildcards ? and *"
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


def station_channels_hint(
    name: str, codes: Mapping[str, Any], table: pd.DataFrame
) -> str:
    """Describe a search by codes that found no row, with the channels that
    the named stations do have.

    Parameters
    ----------
    name : str
        Name of the station source, such as ``sage.stations``.
    codes : mapping
        The code criteria of the search, as given.
    table : pandas.DataFrame
        The rows of the named stations, fetched without location and channel
        codes.

    Returns
    -------
    str
        What was searched, the stations, and the SEED ids of their channels,
        those closest to the codes searched first (at most
        :data:`LISTED_CHANNELS`, then how many more).
    """
    searched = ", ".join(f"{k}={short_repr(v)}" for k, v in codes.items())
    stations = sorted(set(table["network"] + "." + table["station"]))
    ids = _closest_ids(table, normalised_selection(**codes))
    listed = ", ".join(ids[:LISTED_CHANNELS])
    if len(ids) > LISTED_CHANNELS:
        listed += f" and {len(ids) - LISTED_CHANNELS} more"
    if len(stations) == 1:
        found = f"station {stations[0]} exists, but none of its {len(ids)} channels"
        owner = "Its"
    else:
        found = (
            f"stations {', '.join(stations)} exist, but none of their "
            f"{len(ids)} channels"
        )
        owner = "Their"
    return (
        f"no row of {name} matches {searched}: {found} has the location and "
        f"channel codes searched. {owner} channels, closest first: {listed} "
        "(NET.STA.LOC.CHA, where an empty LOC is the blank location code)"
    )


# SEED ids that a hint about a station's channels names before it counts
# the rest.
LISTED_CHANNELS = 12


def _closest_ids(
    table: pd.DataFrame, selection: Mapping[str, tuple[str, ...]]
) -> list[str]:
    """Return the table's distinct SEED ids, those whose location and channel
    codes are most like the first ones of ``selection`` first."""
    searched = ".".join(
        selection[kind][0].replace("*", "").replace("?", "")
        for kind in ("location", "channel")
    )
    ids = set(row_seed_ids(table))

    def likeness(seed_id: str) -> float:
        codes = seed_id.split(".", 2)[2]
        return difflib.SequenceMatcher(None, searched, codes).ratio()

    return sorted(ids, key=lambda seed_id: (-likeness(seed_id), seed_id))


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
        narrowed.append(f"{kind} {_shown_codes(patterns, ',')}")
    return rows, where, ""


def _missing_code(
    rows: pd.DataFrame, kind: str, patterns: tuple[str, ...], where: str
) -> str:
    known = sorted(set(rows[kind]))
    text = f"no {kind} code of the {where} matches {_shown_codes(patterns, ',')}"
    close = difflib.get_close_matches(
        patterns[0].replace("*", "").replace("?", ""), known, n=3
    )
    if len(known) <= 12:
        text += f"; their {kind} codes are {_shown_codes(known, ', ')}"
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


def _shown_codes(codes: Sequence[str], separator: str) -> str:
    """Join codes for a message, the blank location code as ``''``, as
    ``location=''`` gives it."""
    return separator.join(code or "''" for code in codes)


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


def _and(names: set[str]) -> str:
    """Join names in sorted order as text: "a", "a and b", "a, b and c"."""
    ordered = sorted(names)
    if len(ordered) < 2:
        return "".join(ordered)
    return f"{', '.join(ordered[:-1])} and {ordered[-1]}"


def _radius_mask(table: pd.DataFrame, criteria: Mapping[str, Any]) -> pd.Series:
    keep = pd.Series(True, index=table.index)
    radius = {"minradius", "maxradius"} & set(criteria)
    centre = {"latitude", "longitude"} & set(criteria)
    if not radius and not centre:
        return keep
    if len(centre) != 2 or not radius:
        named = _and({f"{name}=" for name in radius | centre})
        raise InvalidRequestError(
            "invalid radius search: give latitude=, longitude= and maxradius= "
            f"(and optionally minradius=) together; got only {named}"
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
