"""Availability: which objects of a request exist per day, from listings.

A row is an object and day: a channel-day object, or a station-day object
with a blank channel where the archive stores all channels of a station in
one object.

Objects are found the way :mod:`intake_earthscope.locate` finds them for a
read, and each one is then checked against the listing of its directory, so
the table costs LIST requests (cached per process) and no GET. A trace seen
on any day of the window gets a row for every day, with ``exists=False`` on
the days without an object.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from intake_earthscope.codes import has_wildcard, row_seed_ids
from intake_earthscope.collection import Collection, KeyTemplate
from intake_earthscope.errors import (
    InvalidRequestError,
    MirrorLayoutWarning,
    warn_at_caller,
)
from intake_earthscope.locate import ObjectRef, locate_objects
from intake_earthscope.plan import Route, key_prefix
from intake_earthscope.request import WaveformRequest, check_options
from intake_earthscope.routing import Credentials, build_routes
from intake_earthscope.storage import (
    StorageSpec,
    list_directories,
    mirror_layout_hint,
)
from intake_earthscope.timeutil import day_of_year, day_start, days_between

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["AVAILABILITY_COLUMNS", "availability", "plot_availability"]

logger = logging.getLogger(__name__)

AVAILABILITY_COLUMNS = (
    "network",
    "station",
    "location",
    "channel",
    "day",
    "key",
    "exists",
    "size",
    "tier",
)

_TRACE_FIELDS = ("network", "station", "location", "channel")


def availability(
    collection: Collection | Mapping[str, Any] | str,
    *,
    network: object = None,
    station: object = None,
    location: object = None,
    channel: object = None,
    start: object = None,
    end: object = None,
    tier: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    root: str | None = None,
    token: Any = None,
    profile: str | None = None,
) -> pd.DataFrame:
    """List which objects of a request exist, one row per trace and day.

    Parameters
    ----------
    collection : Collection, mapping or str
        The waveform collection, its ``collection:`` catalog mapping, or an
        archive of the shipped catalog (``"scedc"``, ``"sage.miniseed"``).
    network, station, location, channel : str or list of str
        SEED codes, comma lists and ``?``/``*`` wildcards, as for
        :func:`intake_earthscope.dataset.open_waveforms`.
    start, end : str or datetime
        UTC window, ``end`` exclusive; each UTC day it touches gets a row.
    tier, storage_options, root, token, profile
        As for :func:`intake_earthscope.dataset.open_waveforms`.

    Returns
    -------
    pandas.DataFrame
        Columns ``network``, ``station``, ``location``, ``channel``,
        ``day`` (UTC midnight as naive ``datetime64[ns]``, the dtype of a
        dataset's ``day`` coordinate), ``key``, ``exists``, ``size`` (bytes, as
        pandas' nullable ``Int64``: ``<NA>`` where the listing gives none or
        the object is missing) and ``tier`` (the tier's name, or ``mirror``
        and the directory or URL given with ``root=``).
        For station-day collections ``location`` and ``channel`` are empty,
        because one object contains every channel of the station. A trace
        appears when an object of it exists on some day of the window, or
        when its codes are exact.

    Raises
    ------
    InvalidRequestError
        If the request is invalid, or a network is served by a web service
        (which has no objects to list).

    Warns
    -----
    MirrorLayoutWarning
        If no object exists under a local ``root=`` whose key layout starts
        a directory above or below it. The message names the root to pass.
    IntakeEarthScopeWarning
        Otherwise, if a trace of exact codes has no object on any day of the
        window (all its rows show ``exists=False``), or exact station codes
        find no object at all. The message names the traces and suggests a
        wildcard.
    """
    if isinstance(collection, str):
        from intake_earthscope.browse import shipped_entry

        collection = shipped_entry(collection, "miniseed").get("collection") or {}
    if not isinstance(collection, Collection):
        collection = Collection.from_yaml(collection)
    check_options(root, storage_options, None)
    request = WaveformRequest.build(
        network=network,
        station=station,
        location=location,
        channel=channel,
        start=start,
        end=end,
    )
    routes = build_routes(
        request, collection, tier, storage_options, root, Credentials(token, profile)
    )

    tables = []
    for route in routes:
        if route.spec.protocol == "fdsn":
            raise InvalidRequestError(
                f"no availability for tier {route.tier!r}: it is a web service "
                "without objects to list; give a tier backed by S3 or a mirror"
            )
        template = collection.template(collection.tier(route.tier))
        part = replace(request, network=route.networks)
        refs = locate_objects(part, collection, route.spec, template)
        tables.append(_route_table(part, collection, route.spec, template, refs))

    table = pd.concat(tables, ignore_index=True) if tables else _empty()
    table = table.sort_values(list(_TRACE_FIELDS) + ["day"], ignore_index=True)
    hint = _layout_hint(request, collection, routes, table)
    if hint:
        warn_at_caller(
            f"no object of the request exists on the mirror: {hint}",
            MirrorLayoutWarning,
        )
        return table

    absent = _absent_message(request, routes, table)
    if absent:
        warn_at_caller(absent)
    return table


def _layout_hint(
    request: WaveformRequest,
    collection: Collection,
    routes: Sequence[Route],
    table: pd.DataFrame,
) -> str:
    """Return the advice for a local root= a level off its layout, where the
    table shows no object.

    A root= request has one route, whose spec is the mirror's.
    """
    route = routes[0] if routes else None
    if route is None or not route.spec.mirror or table["exists"].any():
        return ""
    if len(table):
        key = str(table["key"].iloc[0])
    else:
        key = key_prefix(request, collection, route.tier)
    return mirror_layout_hint(route.spec, key)


# Traces an absent-object warning names before it counts the rest.
_LISTED_ABSENT = 5


def _absent_message(
    request: WaveformRequest, routes: Sequence[Route], table: pd.DataFrame
) -> str:
    """Return the warning for traces without an object on any day of the
    window, or ``""`` where every trace has one.

    Such traces come from exact codes, which get rows whether or not an
    object exists, so every one of their days shows as missing.
    """
    if table.empty:
        if not routes or any(has_wildcard(code) for code in request.station):
            return ""
        origins = ", ".join(sorted({route.spec.tier_label for route in routes}))
        stations = _listed(list(request.station))
        return (
            f"no object of station(s) {stations} exists on any day of the window "
            f"in {origins}. {_absent_fix(request.station[0])}"
        )

    labels = _trace_labels(table)
    seen = table["exists"].groupby(labels, sort=True).any()
    absent = [str(label) for label, exists in seen.items() if not exists]
    if not absent:
        return ""

    first = table[labels == absent[0]].iloc[0]
    named = _listed(absent)
    their = "its" if len(absent) == 1 else "their"
    return (
        f"no object of {named} exists on any day of the window in "
        f"{first['tier']} (such as {first['key']}), so all {their} days are "
        f"listed as missing. {_absent_fix(str(first['station']), table)}"
    )


def _listed(names: list[str]) -> str:
    """Join the first names of an absent-object warning and count the rest."""
    text = ", ".join(names[:_LISTED_ABSENT])
    if len(names) > _LISTED_ABSENT:
        text += f" and {len(names) - _LISTED_ABSENT} more"
    return text


def _absent_fix(station: str, table: pd.DataFrame | None = None) -> str:
    """Return the advice of an absent-object warning for ``station``.

    Where the station has objects in other networks of the request, the
    network code is the likely fault, so the advice names those networks.
    """
    if table is not None:
        found = table[table["exists"] & (table["station"] == station)]
        networks = sorted(set(found["network"]))
        if networks:
            return (
                f"Station {station} has objects in network {', '.join(networks)}, "
                f"so check the network code, such as network='{networks[0]}'"
            )
    return (
        "Check the codes, or give a code with a wildcard, such as "
        f"station='{station[:2]}*', to list the traces that have objects"
    )


def _empty() -> pd.DataFrame:
    table = pd.DataFrame({name: [] for name in AVAILABILITY_COLUMNS})
    table["day"] = table["day"].astype("datetime64[ns]")
    table["exists"] = table["exists"].astype(bool)
    table["size"] = table["size"].astype("Int64")
    return table


def _route_table(
    request: WaveformRequest,
    collection: Collection,
    spec: StorageSpec,
    template: KeyTemplate,
    refs: Sequence[ObjectRef],
) -> pd.DataFrame:
    days = days_between(day_start(request.start_ns), request.end_ns)
    # locate_objects adds the day before start, for records crossing midnight.
    refs = [ref for ref in refs if ref.day_ns >= days[0]]
    found = {(_trace(ref.codes), ref.day_ns): ref.key for ref in refs}

    traces = sorted({trace for trace, _ in found})
    rows = []
    for trace in traces:
        for day in days:
            key = found.get((trace, day)) or _render(template, collection, trace, day)
            rows.append((*trace, day, key))

    sizes = _listed_sizes(spec, [row[-1] for row in rows])
    table = pd.DataFrame(rows, columns=[*_TRACE_FIELDS, "day", "key"])
    # Naive UTC midnights, the dtype of a dataset's day coordinate.
    table["day"] = pd.to_datetime(table["day"], unit="ns").astype("datetime64[ns]")
    # map() gives an empty table object dtype, and pandas 3 concatenates that
    # with another route's booleans into object, where ~True is -2.
    table["exists"] = table["key"].map(lambda key: key in sizes).astype(bool)
    # pandas' nullable integers keep whole byte counts and missing sizes.
    table["size"] = pd.array([sizes.get(key) for key in table["key"]], dtype="Int64")
    table["tier"] = spec.tier_label
    return table


def _trace(codes: Mapping[str, str]) -> tuple[str, str, str, str]:
    network, station, location, channel = (
        codes.get(name, "") for name in _TRACE_FIELDS
    )
    return network, station, location, channel


def _render(
    template: KeyTemplate, collection: Collection, trace: tuple[str, ...], day: int
) -> str:
    year, doy = day_of_year(day)
    values = dict(zip(_TRACE_FIELDS, trace, strict=True))
    if values["location"] == "":
        values["location"] = collection.blank_location
    return template.render({**values, "year": f"{year:04d}", "doy": f"{doy:03d}"})


def _listed_sizes(spec: StorageSpec, keys: Sequence[str]) -> dict[str, int | None]:
    """Map each key that the listing of its directory shows to its size.

    Names come from :func:`list_directories` (cached per process). Sizes come
    from the filesystem's own listing cache where it has one, and are
    ``None`` where it does not.
    """
    parents = sorted({key.rpartition("/")[0] for key in keys})
    listings = list_directories(spec, parents)

    present: dict[str, int | None] = {}
    for parent, names in listings.items():
        details = _details(spec, parent)
        for name in names:
            key = f"{parent}/{name}" if parent else name
            present[key] = details.get(name)
    return {key: present[key] for key in keys if key in present}


def _details(spec: StorageSpec, parent: str) -> dict[str, int | None]:
    try:
        entries = spec.filesystem().ls(spec.path(parent), detail=True)
    except (OSError, ValueError) as error:
        logger.debug("no sizes for %s: %s", spec.url(parent), error)
        return {}
    sizes = {}
    for entry in entries:
        name = str(entry.get("name", "")).rstrip("/").rpartition("/")[2]
        size = entry.get("size")
        sizes[name] = (
            int(size) if entry.get("type") == "file" and size is not None else None
        )
    return sizes


def plot_availability(
    table: pd.DataFrame,
    path: str | os.PathLike[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Draw availability as a Gantt chart: one bar per trace, missing days red.

    The legend sits to the right of the axes, so it covers no bar.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`availability`.
    path : str or path, optional
        Where to save the figure as PNG.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when not given.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install intake-earthscope[demo]``).
    """
    try:
        import matplotlib.dates as mdates
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as error:
        raise ImportError(
            "plot_availability needs matplotlib: pip install 'intake-earthscope[demo]'"
        ) from error

    labels = _trace_labels(table)
    if ax is None:
        figure = Figure(figsize=(10, 1.5 + 0.35 * max(len(labels.unique()), 1)))
        ax = figure.add_subplot()
    else:
        figure = cast("Figure", ax.get_figure(root=True))

    day_width = 1.0  # matplotlib date units are days
    rows = sorted(labels.unique())
    for position, label in enumerate(rows):
        part = table[labels == label]
        starts = mdates.date2num(_naive_utc(part["day"]).to_numpy())
        for exists, color in ((True, "tab:green"), (False, "tab:red")):
            chosen = starts[part["exists"].to_numpy() == exists]
            bars = [(start, day_width) for start in chosen]
            ax.broken_barh(bars, (position - 0.4, 0.8), facecolors=color)

    ax.set_yticks(range(len(rows)), rows)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator())
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(ax.xaxis.get_major_locator())
    )
    # Outside the axes, to the right, the legend covers no day's bar. The
    # figure's layout engine, or else tight_layout, makes room for it.
    ax.legend(
        handles=[
            Patch(color="tab:green", label="object"),
            Patch(color="tab:red", label="missing"),
        ],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
    )
    if title:
        ax.set_title(title)
    if figure.get_layout_engine() is None:
        # tight_layout would replace a caller's engine (constrained layout),
        # and warn that it did.
        figure.tight_layout()

    if path is not None:
        figure.savefig(os.fspath(path), format="png")
    return figure


def _naive_utc(days: pd.Series) -> pd.Series:
    """Return ``days`` as naive UTC, also from a table that kept a time zone."""
    if isinstance(days.dtype, pd.DatetimeTZDtype):
        return days.dt.tz_convert("UTC").dt.tz_localize(None)
    return days


def _trace_labels(table: pd.DataFrame) -> pd.Series:
    """Label rows NET.STA.LOC.CHA, or NET.STA for station-day objects."""
    full = row_seed_ids(table)
    short = table["network"] + "." + table["station"]
    return full.where(table["channel"] != "", short)
