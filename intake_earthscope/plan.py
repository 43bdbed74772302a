"""Plan a request: traces, common sampling rate, time grid and read units.

The plan is computed once on the client, from listings and record headers
only, and contains everything the dask graph needs. Each unit is one object
key and the grid indices its chunk covers, so tasks carry keys, never files.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from intake_earthscope.codes import (
    CODE_KINDS,
    SeedId,
    codes_text,
    has_wildcard,
    matches,
)
from intake_earthscope.collection import Collection
from intake_earthscope.decode import Grid
from intake_earthscope.errors import (
    AccessDeniedError,
    ChannelNotFoundError,
    DecodeError,
    InvalidRequestError,
    MissingObjectsError,
    MixedSamplingRateError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
    warn_at_caller,
)
from intake_earthscope.locate import ObjectRef, group_by, locate_objects
from intake_earthscope.probe import scan_headers
from intake_earthscope.request import WaveformRequest
from intake_earthscope.storage import StorageSpec, mirror_layout_hint
from intake_earthscope.timeutil import NS_PER_DAY, day_of_year, days_between, format_ns

__all__ = [
    "Plan",
    "Route",
    "key_prefix",
    "locate_routes",
    "make_plan",
    "nominal_rate",
    "policy_note",
]

logger = logging.getLogger(__name__)

_PROBE_THREADS = 8


@dataclass(frozen=True)
class Route:
    """Networks read from one tier of a collection.

    Attributes
    ----------
    networks : tuple of str
        Network codes or patterns this tier serves in the request.
    spec : StorageSpec
        Where the tier's objects live.
    tier : str
        Tier name in the collection.
    fallback : StorageSpec or None
        Web-service tier that serves a chunk whose object the storage
        refuses to hand out (for example a GET denied outside its region).
    """

    networks: tuple[str, ...]
    spec: StorageSpec
    tier: str
    fallback: StorageSpec | None = None


@dataclass(frozen=True)
class Plan:
    """Everything needed to build the lazy dataset of one request.

    Attributes
    ----------
    collection : Collection
        The collection read.
    spec : StorageSpec
        Where its objects live (no secrets).
    request : WaveformRequest
        The normalised request.
    traces : tuple of SeedId
        Rows of the ``waveform`` variable, grouped by object.
    groups : tuple of (int, int)
        Row ranges of ``traces`` that share objects (one station for
        station-day objects, one channel for channel-day objects).
    header_rates : dict
        Header sampling rate per trace id (from headers or metadata).
    rate : float
        Grid sampling rate in Hz.
    grid : Grid
        The time grid.
    days : tuple of int
        Start of the UTC day of each time chunk.
    bounds : tuple of int
        Grid index where each time chunk starts, plus ``grid.size``.
    keys : tuple of tuple
        Object key per group and day; ``None`` where a listing showed that
        the object does not exist.
    neighbour_keys : tuple
        Key of the object of the day before the first chunk, per group.
    group_specs : tuple of StorageSpec
        Where the objects of each group live (the tier serving its network).
    """

    collection: Collection
    spec: StorageSpec
    request: WaveformRequest
    traces: tuple[SeedId, ...]
    groups: tuple[tuple[int, int], ...]
    header_rates: Mapping[str, float]
    rate: float
    grid: Grid
    days: tuple[int, ...]
    bounds: tuple[int, ...]
    keys: tuple[tuple[str | None, ...], ...]
    neighbour_keys: tuple[str | None, ...]
    group_specs: tuple[StorageSpec, ...] = ()
    group_fallbacks: tuple[StorageSpec | None, ...] = ()

    def storage_attrs(self) -> dict[str, str]:
        """Return the ``tier`` and ``storage`` attributes of the request's
        datasets: each tier (or mirror) and storage of its groups, once."""
        return {
            "tier": ",".join(sorted({spec.tier_label for spec in self.group_specs})),
            "storage": "; ".join(
                sorted({spec.describe() for spec in self.group_specs})
            ),
        }

    def fallback(self, group: int) -> StorageSpec | None:
        """Return the web-service tier that may serve the group's chunks."""
        return self.group_fallbacks[group] if self.group_fallbacks else None

    def unit_spec(self, group: int, day_ns: int) -> StorageSpec:
        """Return the storage spec of one object, with credentials scoped to
        the group's network and the object's year."""
        spec = self.group_specs[group] if self.group_specs else self.spec
        network = self.traces[self.groups[group][0]].network
        return spec.with_scope(network, day_of_year(day_ns)[0])

    @property
    def chunk_widths(self) -> tuple[int, ...]:
        """Number of grid samples in each time chunk."""
        return tuple(b - a for a, b in itertools.pairwise(self.bounds))

    @property
    def group_sizes(self) -> tuple[int, ...]:
        """Number of traces in each group (the chunks along ``trace``)."""
        return tuple(stop - start for start, stop in self.groups)

    def object_keys(self) -> list[str]:
        """List the object keys of the chunks (neighbours not included)."""
        return [key for row in self.keys for key in row if key]


def make_plan(
    request: WaveformRequest,
    collection: Collection,
    routes: StorageSpec | Sequence[Route],
    tier_name: str | None = None,
    inventory: Any = None,
) -> Plan:
    """Resolve ``request`` against ``collection`` into a :class:`Plan`.

    Parameters
    ----------
    routes : StorageSpec or sequence of Route
        One spec read for every network, or the tier serving each network.

    Raises
    ------
    InvalidRequestError
        If no trace matches, or the traces do not share one rate.
    MissingObjectsError
        If no object of the request exists, so the rate is unknown. It is an
        ``ObjectNotFoundError``.
    """
    if isinstance(routes, StorageSpec):
        tier = tier_name or routes.tier or collection.default_tier
        routes = [Route(request.network, routes, tier)]
    spec = routes[0].spec

    by_group, group_spec, fallbacks = locate_routes(request, collection, routes)
    if not by_group:
        message = _nothing_found_message(request, collection, spec)
        if spec.mirror:
            prefix = key_prefix(request, collection, routes[0].tier)
            message = _with_layout_hint(message, spec, prefix)
        raise MissingObjectsError(message + policy_note(request), spec.describe())
    if inventory is None and any(s.protocol == "fdsn" for s in group_spec.values()):
        inventory = _service_inventory(request, group_spec)

    traces, rates = _traces_and_rates(
        request, collection, group_spec, by_group, inventory, fallbacks
    )
    traces, rate = _pick_rate(request, traces, rates)
    grid = _make_grid(request, rate)

    ordered = sorted(
        traces, key=lambda seed_id: (_group_of(seed_id, collection), seed_id)
    )
    groups, group_keys = _row_groups(ordered, collection)
    days, bounds = _chunk_bounds(request, grid)
    keys, neighbours = _unit_keys(group_keys, by_group, days)

    logger.info(
        "planned %d traces at %s Hz over %d days from %d objects of %s",
        len(ordered),
        rate,
        len(days),
        sum(1 for row in keys for key in row if key),
        collection.name,
    )
    return Plan(
        collection=collection,
        spec=spec,
        request=request,
        traces=tuple(ordered),
        groups=groups,
        header_rates={str(seed_id): rates.get(seed_id, rate) for seed_id in ordered},
        rate=rate,
        grid=grid,
        days=days,
        bounds=bounds,
        keys=keys,
        neighbour_keys=neighbours,
        group_specs=tuple(_spec_of_group(key, group_spec) for key in group_keys),
        group_fallbacks=tuple(_spec_of_group(key, fallbacks) for key in group_keys),
    )


def locate_routes(
    request: WaveformRequest, collection: Collection, routes: Sequence[Route]
) -> tuple[
    dict[tuple[str, ...], list[ObjectRef]],
    dict[tuple[str, ...], StorageSpec],
    dict[tuple[str, ...], StorageSpec | None],
]:
    """Locate the objects of every route; remember which spec serves a group."""
    by_group: dict[tuple[str, ...], list[ObjectRef]] = {}
    group_spec: dict[tuple[str, ...], StorageSpec] = {}
    fallbacks: dict[tuple[str, ...], StorageSpec | None] = {}
    for route in routes:
        part = replace(request, network=route.networks)
        if route.spec.protocol == "fdsn":
            objects = _service_objects(part, route.spec)
        else:
            template = collection.template(collection.tier(route.tier))
            objects = locate_objects(part, collection, route.spec, template)
        for group, refs in _group_objects(objects, collection).items():
            by_group.setdefault(group, []).extend(refs)
            group_spec.setdefault(group, route.spec)
            fallbacks.setdefault(group, route.fallback)
    return by_group, group_spec, fallbacks


def _service_objects(request: WaveformRequest, spec: StorageSpec) -> list[ObjectRef]:
    """Describe a web-service query for each station and day as an object.

    The station service names the stations; each dataselect query of one
    station and day then takes the place of an archive object.
    """
    stations = _service_stations(request, spec)
    days = days_between(request.start_ns - NS_PER_DAY, request.end_ns)
    return [
        ObjectRef(
            key=f"query?net={network}&sta={station}",
            day_ns=day,
            codes={"network": network, "station": station},
            listed=False,
        )
        for network, station in stations
        for day in days
    ]


def _service_stations(
    request: WaveformRequest, spec: StorageSpec
) -> list[tuple[str, str]]:
    from intake_earthscope.fdsn import fdsn_station_text

    patterns = {kind: request.codes(kind) for kind in CODE_KINDS}
    table = fdsn_station_text(
        _station_service(spec).web_spec(),
        patterns,
        request.start_ns,
        request.end_ns,
        level="station",
    )
    pairs = {(str(row.Network), str(row.Station)) for row in table.itertuples()}
    return sorted(pairs)


def _service_inventory(
    request: WaveformRequest, group_spec: dict[tuple[str, ...], StorageSpec]
) -> Any:
    """Ask the station service of an fdsn tier for channels and rates."""
    from intake_earthscope.fdsn import fdsn_station

    spec = next(s for s in group_spec.values() if s.protocol == "fdsn")
    patterns = {kind: request.codes(kind) for kind in CODE_KINDS}
    return fdsn_station(
        _station_service(spec).web_spec(),
        patterns,
        request.start_ns,
        request.end_ns,
        level="channel",
    )


def _station_service(spec: StorageSpec) -> StorageSpec:
    # The station service sits beside dataselect: .../fdsnws/station/1/.
    return replace(spec, root=spec.root.replace("/dataselect/", "/station/"))


def _spec_of_group(
    key: tuple[str, ...], group_spec: Mapping[tuple[str, ...], Any]
) -> Any:
    if key in group_spec:
        return group_spec[key]
    # Inventory traces of a channel-day collection group by channel, while
    # objects were located by station.
    for group, candidate in group_spec.items():
        if group[:2] == key[:2]:
            return candidate
    return next(iter(group_spec.values()))


def nominal_rate(rate: float, tolerance: float) -> float:
    """Snap a header rate to the whole rate or period it stands for.

    Header rates such as 199.999938 or 100.000008 come from the float
    representation in the record header. Within ``tolerance`` they snap to
    200 and 100 (and periods such as 10.0000003 s to 0.1 Hz).
    """
    if rate >= 1:
        candidate = float(round(rate))
    else:
        candidate = 1.0 / round(1.0 / rate)
    if candidate > 0 and abs(candidate - rate) <= tolerance * candidate:
        return candidate
    return rate


def _group_of(seed_id: SeedId, collection: Collection) -> tuple[str, ...]:
    if collection.per_channel:
        return (seed_id.network, seed_id.station, seed_id.location, seed_id.channel)
    return (seed_id.network, seed_id.station)


def _group_objects(
    objects: list[ObjectRef], collection: Collection
) -> dict[tuple[str, ...], list[ObjectRef]]:
    fields = CODE_KINDS if collection.per_channel else ("network", "station")
    groups = group_by(objects, fields)
    for refs in groups.values():
        refs.sort(key=lambda ref: ref.day_ns)
    return groups


def _traces_and_rates(
    request: WaveformRequest,
    collection: Collection,
    group_spec: dict[tuple[str, ...], StorageSpec],
    by_group: dict[tuple[str, ...], list[ObjectRef]],
    inventory: Any,
    fallbacks: dict[tuple[str, ...], StorageSpec | None] | None = None,
) -> tuple[list[SeedId], dict[SeedId, float]]:
    if inventory is not None:
        return _from_inventory(request, by_group, inventory)

    wanted = {group: _known_ids(group, request, collection) for group in by_group}
    exact = all(ids is not None for ids in wanted.values())
    if exact and request.sampling_rate is not None:
        traces = [seed_id for ids in wanted.values() for seed_id in ids or ()]
        return traces, dict.fromkeys(traces, request.sampling_rate)

    return _probe_groups(request, group_spec, by_group, wanted, fallbacks or {})


def _known_ids(
    group: tuple[str, ...], request: WaveformRequest, collection: Collection
) -> list[SeedId] | None:
    """Return the trace ids of a group without I/O, or None if headers must tell.

    A channel found through a wildcard is probed too, so that sampling_rate=
    can leave out the channels at other rates before any object is read.
    """
    patterns = request.location + request.channel
    if any(has_wildcard(pattern) for pattern in patterns):
        return None
    if collection.per_channel:
        return [SeedId(*group)]
    return [
        SeedId(group[0], group[1], location, channel)
        for location, channel in itertools.product(request.location, request.channel)
    ]


def _probe_groups(
    request: WaveformRequest,
    group_spec: dict[tuple[str, ...], StorageSpec],
    by_group: dict[tuple[str, ...], list[ObjectRef]],
    wanted: dict[tuple[str, ...], list[SeedId] | None],
    fallbacks: dict[tuple[str, ...], StorageSpec | None],
) -> tuple[list[SeedId], dict[SeedId, float]]:
    patterns = {kind: request.codes(kind) for kind in CODE_KINDS}
    groups = list(by_group)

    _unreadable_keys: set[str] = set()
    # Per group, its object without a matching channel and what that holds.
    _holdings: dict[tuple[str, ...], tuple[str, set[str]]] = {}

    def probe(group: tuple[str, ...]) -> dict[SeedId, float] | None:
        spec = group_spec[group]
        group_holdings: dict[str, set[str]] = {}
        try:
            rates = _probe_group(
                request,
                spec,
                by_group[group],
                patterns,
                wanted[group],
                _unreadable_keys,
                group_holdings,
            )
            if group_holdings:
                _holdings[group] = next(iter(group_holdings.items()))
            return rates
        except AccessDeniedError:
            fallback = fallbacks.get(group)
            if fallback is None:
                raise
            # The storage denies its objects, so the fallback service's
            # station metadata names the channels and rates instead.
            return _service_rates(request, fallback, group)

    with ThreadPoolExecutor(max_workers=min(_PROBE_THREADS, len(groups))) as pool:
        results = dict(zip(groups, pool.map(probe, groups), strict=True))

    if all(result is None for result in results.values()):
        unreadable = sorted(_unreadable_keys)
        if unreadable:
            raise DecodeError(
                f"the objects of the request exist but are not readable miniSEED: "
                f"{', '.join(unreadable[:3])}; check the archive, or pass "
                "sampling_rate= with exact channel codes and errors='warn' to "
                "read around them"
            )
        raise _no_object_error(request, group_spec, by_group)
    found = {group: result or {} for group, result in results.items()}
    if not any(found.values()) and _holdings:
        raise ChannelNotFoundError(_no_channel_message(request, _holdings))
    _report_empty_groups(request, found, wanted, _holdings)

    traces: list[SeedId] = []
    rates: dict[SeedId, float] = {}
    for group in groups:
        ids = wanted[group]
        rates.update(found[group])
        traces.extend(ids if ids is not None else sorted(found[group]))
    return traces, rates


def _no_channel_message(
    request: WaveformRequest, holdings: dict[tuple[str, ...], tuple[str, set[str]]]
) -> str:
    """Say which channels the probed objects hold instead of the requested ones."""
    url, channels = holdings[sorted(holdings)[0]]
    text = _no_channel_text(request, url, channels)
    if channels:
        return f"{text}; check the codes"
    # No record with samples was found, so the object may not be miniSEED.
    return (
        f"{text}; check the archive, or pass sampling_rate= with exact channel "
        "codes and errors='warn' to read around it"
    )


def _no_channel_text(request: WaveformRequest, url: str, channels: set[str]) -> str:
    codes = (
        f"location={','.join(request.location)!r} channel={','.join(request.channel)!r}"
    )
    listed = ", ".join(sorted(channels)[:12]) or "no channel with samples"
    more = f" and {len(channels) - 12} more" if len(channels) > 12 else ""
    return f"no channel matches {codes} in {url}, which holds {listed}{more}"


def _report_empty_groups(
    request: WaveformRequest,
    found: dict[tuple[str, ...], dict[SeedId, float]],
    wanted: dict[tuple[str, ...], list[SeedId] | None],
    holdings: dict[tuple[str, ...], tuple[str, set[str]]],
) -> None:
    """Warn of stations that get no row because their codes had wildcards.

    Exact codes keep their rows, whose status gives the outcome; a wildcard
    station without a matching channel or a readable object has no row.
    """
    for group, rates in found.items():
        if rates or wanted[group] is not None:
            continue
        station = ".".join(group[:2])
        if group in holdings:
            reason = _no_channel_text(request, *holdings[group])
        else:
            reason = "none of its objects in the window exists or is readable"
        message = f"{station} has no trace in the dataset: {reason}"
        level = logging.DEBUG if request.errors == "ignore" else logging.INFO
        logger.log(level, "empty station: %s", message)
        if request.errors != "ignore":
            warn_at_caller(message, ReadOutcomeWarning)


def _probe_group(
    request: WaveformRequest,
    spec: StorageSpec,
    refs: list[ObjectRef],
    patterns: dict[str, tuple[str, ...]],
    wanted: list[SeedId] | None,
    unreadable: set[str],
    holdings: dict[str, set[str]],
) -> dict[SeedId, float] | None:
    """Scan headers of the group's objects, in day order, until one of them exists.

    Returns None when none of the objects exists or is readable; the keys of
    unreadable ones are added to ``unreadable``. An object without a
    matching channel goes into ``holdings`` with the channels it holds.
    """
    # The previous day's object is read for its records that cross midnight
    # but does not give the rate. So exact codes and wildcards alike raise at
    # open when none of the request's own days exists.
    in_request = [ref for ref in refs if ref.day_ns + NS_PER_DAY > request.start_ns]
    for ref in in_request:
        network = ref.codes.get("network", "")
        scoped = spec.with_scope(network, day_of_year(ref.day_ns)[0])
        try:
            scan = scan_headers(scoped, ref.key, patterns, set(wanted or ()) or None)
        except ObjectNotFoundError:
            logger.debug("probe: %s not found, trying the next day", ref.key)
            continue
        except DecodeError as error:
            # The read reports this object as unreadable; the plan looks on.
            logger.info("probe: %s skipped: %s", ref.key, error)
            unreadable.add(ref.key)
            continue
        except AccessDeniedError:
            raise
        # The first object that exists lists the channels. Scanning later
        # days for a channel it lacks would read the archive for a typo.
        if not scan.rates:
            holdings[scoped.url(ref.key)] = scan.others
        return scan.rates
    return None


def _service_rates(
    request: WaveformRequest, fallback: StorageSpec, group: tuple[str, ...]
) -> dict[SeedId, float]:
    from intake_earthscope.fdsn import fdsn_station

    selection = {
        "network": (group[0],),
        "station": (group[1],),
        "location": request.location,
        "channel": request.channel,
    }
    inventory = fdsn_station(
        _station_service(fallback).web_spec(),
        selection,
        request.start_ns,
        request.end_ns,
        level="channel",
    )
    rates: dict[SeedId, float] = {}
    for network in inventory:
        for station in network:
            for channel in station:
                seed_id = SeedId(
                    network.code, station.code, channel.location_code, channel.code
                )
                if channel.sample_rate and all(
                    matches(getattr(seed_id, kind), request.codes(kind))
                    for kind in CODE_KINDS
                ):
                    rates.setdefault(seed_id, float(channel.sample_rate))
    return rates


def _from_inventory(
    request: WaveformRequest,
    by_group: dict[tuple[str, ...], list[ObjectRef]],
    inventory: Any,
) -> tuple[list[SeedId], dict[SeedId, float]]:
    """Take trace ids and rates from an obspy Inventory (or StationXML path)."""
    from intake_earthscope.response import load_inventory

    inventory = load_inventory(inventory)
    rates: dict[SeedId, float] = {}
    for network in inventory:
        for station in network:
            for channel in station:
                seed_id = SeedId(
                    network.code, station.code, channel.location_code, channel.code
                )
                if _inventory_match(seed_id, channel, request, by_group):
                    rates.setdefault(seed_id, float(channel.sample_rate))
    if not rates:
        raise ChannelNotFoundError(_inventory_lacks_message(request, inventory))
    return sorted(rates), rates


def _inventory_lacks_message(request: WaveformRequest, inventory: Any) -> str:
    """Describe a request the inventory has no channel for, with its nearest ones."""
    listed = sorted(
        {
            SeedId(network.code, station.code, channel.location_code, channel.code)
            for network in inventory
            for station in network
            for channel in station
        }
    )
    same_network = [
        seed_id
        for seed_id in listed
        if matches(seed_id.network, request.codes("network"))
    ]
    same_station = [
        seed_id
        for seed_id in same_network
        if matches(seed_id.station, request.codes("station"))
    ]
    near = same_station or same_network or listed
    shown = ", ".join(str(seed_id) for seed_id in near[:10])
    if len(near) > 10:
        shown += f" and {len(near) - 10} more"

    codes = " ".join(f"{kind}={','.join(request.codes(kind))!r}" for kind in CODE_KINDS)
    window = f"{format_ns(request.start_ns)} to {format_ns(request.end_ns)}"
    return (
        f"the inventory lacks the channel {codes}: it has no such channel with a "
        f"sampling rate and an epoch in {window} at a station whose objects were "
        f"found. Its channels nearest the request: {shown or 'none'}. Check the "
        "codes, or pass an inventory that contains the channel."
    )


def _read_inventory(path: str) -> Any:
    import obspy

    try:
        return obspy.read_inventory(path)
    except FileNotFoundError as error:
        raise InvalidRequestError(
            f"invalid inventory={path!r}: file not found; give a StationXML path "
            "or an obspy Inventory"
        ) from error
    except Exception as error:
        raise InvalidRequestError(
            f"invalid inventory={path!r}: not readable as StationXML ({error})"
        ) from error


def _inventory_match(
    seed_id: SeedId, channel: Any, request: WaveformRequest, by_group: dict
) -> bool:
    for kind in CODE_KINDS:
        if not matches(getattr(seed_id, kind), request.codes(kind)):
            return False
    if not channel.sample_rate:
        return False
    if channel.start_date is not None and channel.start_date.ns >= request.end_ns:
        return False
    if channel.end_date is not None and channel.end_date.ns <= request.start_ns:
        return False
    return any(group[:2] == seed_id.station_key for group in by_group)


def _pick_rate(
    request: WaveformRequest, traces: list[SeedId], rates: dict[SeedId, float]
) -> tuple[list[SeedId], float]:
    known = {seed_id: rates[seed_id] for seed_id in traces if seed_id in rates}
    if not traces:
        raise ChannelNotFoundError(
            f"no channel matches location={','.join(request.location)!r} "
            f"channel={','.join(request.channel)!r} in the objects found; "
            "check the codes"
        )
    if not known:
        raise ObjectNotFoundError(
            "none of the objects of the request could be read to learn the "
            f"sampling rate of {', '.join(map(str, traces))}; pass "
            "sampling_rate= or check that data exist"
        )

    clusters = _rate_clusters(known, request)
    if request.sampling_rate is not None:
        return _select_rate(request, traces, known, clusters)
    if len(clusters) > 1:
        raise MixedSamplingRateError(
            _rates_message(
                "the requested channels have different sampling rates", clusters
            )
        )

    rate = nominal_rate(next(iter(clusters)), request.rate_tolerance)
    return traces, rate


def _rate_clusters(
    known: dict[SeedId, float], request: WaveformRequest
) -> dict[float, list[SeedId]]:
    clusters: dict[float, list[SeedId]] = {}
    for seed_id, rate in sorted(known.items(), key=lambda item: item[1]):
        for representative in clusters:
            if request.rates_agree(representative, rate):
                clusters[representative].append(seed_id)
                break
        else:
            clusters[rate] = [seed_id]
    return clusters


def _select_rate(
    request: WaveformRequest,
    traces: list[SeedId],
    known: dict[SeedId, float],
    clusters: dict[float, list[SeedId]],
) -> tuple[list[SeedId], float]:
    picked = request.sampling_rate
    assert picked is not None
    kept = [
        seed_id
        for seed_id in traces
        if seed_id not in known or request.rates_agree(known[seed_id], picked)
    ]
    if not any(seed_id in known for seed_id in kept):
        rate_text = _number_text(picked)
        raise InvalidRequestError(
            f"no channel of the request is sampled at {rate_text} Hz "
            f"(sampling_rate={rate_text}); "
            + _rates_message("the channels found are sampled at", clusters)
        )
    dropped = len(traces) - len(kept)
    if dropped:
        logger.info("sampling_rate=%s left out %d channels", picked, dropped)
    return kept, nominal_rate(picked, request.rate_tolerance)


def _number_text(value: float) -> str:
    """Return a number given by the user as they would write it: 40 for 40.0,
    0.1 for 0.1, with every digit that the float keeps."""
    text = repr(float(value))
    return text.removesuffix(".0")


def _rates_message(heading: str, clusters: dict[float, list[SeedId]]) -> str:
    lines = [
        f"  {rate:g} Hz: {', '.join(map(str, ids[:6]))}"
        + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")
        for rate, ids in clusters.items()
    ]
    choices = " or ".join(f"sampling_rate={rate:g}" for rate in clusters)
    advice = f"pick one with {choices}"
    if len(clusters) > 1:
        advice += ", or narrow channel= (for example 'BH?')"
    return f"{heading}:\n" + "\n".join(lines) + "\n" + advice


def _make_grid(request: WaveformRequest, rate: float) -> Grid:
    step_ns = 1e9 / rate
    size = math.ceil((request.end_ns - request.start_ns) / step_ns - 1e-9)
    return Grid(request.start_ns, step_ns, max(size, 1))


def _row_groups(
    traces: Sequence[SeedId], collection: Collection
) -> tuple[tuple[tuple[int, int], ...], list[tuple[str, ...]]]:
    groups: list[tuple[int, int]] = []
    keys: list[tuple[str, ...]] = []
    for key, members in itertools.groupby(
        enumerate(traces), key=lambda item: _group_of(item[1], collection)
    ):
        rows = [row for row, _ in members]
        groups.append((rows[0], rows[-1] + 1))
        keys.append(key)
    return tuple(groups), keys


def _chunk_bounds(
    request: WaveformRequest, grid: Grid
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    days = days_between(request.start_ns, request.end_ns)
    bounds = [0]
    for day in days[1:]:
        bounds.append(grid.first_index_at_or_after(day))
    bounds.append(grid.size)

    # A rate coarser than a day can leave a chunk empty: drop those days.
    kept = [i for i in range(len(days)) if bounds[i + 1] > bounds[i]]
    return (
        tuple(days[i] for i in kept),
        tuple([bounds[i] for i in kept] + [grid.size]),
    )


def _unit_keys(
    group_keys: list[tuple[str, ...]],
    by_group: dict[tuple[str, ...], list[ObjectRef]],
    days: tuple[int, ...],
) -> tuple[tuple[tuple[str | None, ...], ...], tuple[str | None, ...]]:
    keys = []
    neighbours = []
    for group in group_keys:
        refs = {ref.day_ns: ref.key for ref in by_group.get(group[:4], [])}
        if not refs and len(group) == 2:
            # Inventory traces of a station-day collection share the
            # station's objects. A channel-day trace without objects has none.
            refs = _station_refs(group, by_group)
        keys.append(tuple(refs.get(day) for day in days))
        neighbours.append(refs.get(days[0] - NS_PER_DAY))
    return tuple(keys), tuple(neighbours)


def _station_refs(
    group: tuple[str, ...], by_group: dict[tuple[str, ...], list[ObjectRef]]
) -> dict[int, str]:
    for key, refs in by_group.items():
        if key[:2] == group[:2]:
            return {ref.day_ns: ref.key for ref in refs}
    return {}


def _no_object_error(
    request: WaveformRequest,
    group_spec: dict[tuple[str, ...], StorageSpec],
    by_group: dict[tuple[str, ...], list[ObjectRef]],
) -> MissingObjectsError:
    # The previous day's object is read for its records that cross midnight
    # but cannot give the rate, so only the request's own days are named.
    tried = [
        ref.key
        for refs in by_group.values()
        for ref in refs
        if ref.day_ns + NS_PER_DAY > request.start_ns
    ]
    spec = next(iter(group_spec.values()))
    where = spec.describe()
    shown = ", ".join(tried[:3]) + (
        f" and {len(tried) - 3} more" if len(tried) > 3 else ""
    )
    # A listing for wildcards finds no key of a missing day.
    found = f"tried {shown}" if tried else "only the day before it has objects"
    keys = tried or [ref.key for refs in by_group.values() for ref in refs]
    # A root off the mirror's layout explains every miss, so its advice
    # replaces the advice to open the request without objects.
    advice = mirror_layout_hint(spec, keys[0]) if keys else ""
    if not advice:
        advice = (
            "check the codes, the dates and the tier (or root=), or pass "
            "sampling_rate= with exact channel codes, or inventory=, to open "
            "the request anyway"
        )
    message = (
        f"no object of the request exists on {spec.describe_origin()}: {found}; "
        f"{advice}"
    )
    return MissingObjectsError(message + policy_note(request), where, tried)


def policy_note(request: WaveformRequest, opened: str = "the dataset") -> str:
    """Return why ``errors=`` other than "raise" did not prevent an error of
    a request without objects, for its message.

    ``opened`` names what the request opens: the dataset, or the windows.
    """
    verb = "open" if opened.endswith("s") else "opens"
    if request.errors == "raise":
        return ""
    # A given sampling_rate= leaves only the channels of a wildcard unknown.
    unknown = "the channels and the rate are"
    if request.sampling_rate is not None:
        unknown = "the channels are"
    return (
        f" (errors={request.errors!r} applies to reads once {opened} {verb}; "
        f"without an object {unknown} unknown, so {opened} cannot open)"
    )


def _with_layout_hint(message: str, spec: StorageSpec, key: str) -> str:
    """Add the advice of a local mirror whose root= is a level off its layout."""
    hint = mirror_layout_hint(spec, key)
    return f"{message}; {hint}" if hint else message


def key_prefix(request: WaveformRequest, collection: Collection, tier: str) -> str:
    """Return the leading directories that every key of the request shares.

    Those are the directories of the tier's key template, up to the first
    one whose fields the request gives as a wildcard or a list, such as
    ``miniseed/CH/`` for network ``CH``. The result is ``""`` where the
    first directory already varies.
    """
    template = collection.template(collection.tier(tier))
    values: dict[str, str] = {}
    for kind in CODE_KINDS:
        codes = request.codes(kind)
        if len(codes) == 1 and not has_wildcard(codes[0]):
            # Keys spell the blank location as the collection's blank_location.
            values[kind] = codes[0] or collection.blank_location

    prefix = ""
    for index, segment in enumerate(template.segments[:-1]):
        if not template.segment_fields(index) <= values.keys():
            break
        prefix += segment.format(**values) + "/"
    return prefix


def _nothing_found_message(
    request: WaveformRequest, collection: Collection, spec: StorageSpec
) -> str:
    codes = codes_text([request.codes(kind) for kind in CODE_KINDS])
    return (
        f"no object of {collection.name} matches {codes} between "
        f"{format_ns(request.start_ns)} and {format_ns(request.end_ns)} on "
        f"{spec.describe_origin()}; check the codes and dates, or "
        f"{'root=' if spec.mirror else 'the tier'}"
    )
