"""Locate the objects a request needs, listing only where it must.

The key template is walked one path segment at a time. A segment whose
fields the request fixes exactly is rendered; a segment with a wildcard is
resolved by listing its parent directory (one LIST serves every day and code
that shares the directory), and so is the object segment of a tier whose keys
carry ``#N`` versions. Listings run concurrently and are cached per process.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from intake_earthscope.codes import has_wildcard, matches
from intake_earthscope.collection import Collection, KeyTemplate
from intake_earthscope.request import WaveformRequest
from intake_earthscope.storage import StorageSpec, list_directories
from intake_earthscope.timeutil import day_of_year, days_between

__all__ = ["ObjectRef", "locate_objects"]

logger = logging.getLogger(__name__)

_CODE_FIELDS = ("network", "station", "location", "channel")


@dataclass(frozen=True)
class ObjectRef:
    """One object the request touches.

    Attributes
    ----------
    key : str
        Object key relative to the tier's bucket or root.
    day_ns : int
        Start of the UTC day the object holds.
    codes : dict
        Codes the key fixes: network and station, and for channel-day objects
        location and channel too.
    listed : bool
        Whether a listing showed that the object exists. ``False`` means the
        key was rendered from exact codes and is tried when read.
    version : int or None
        The ``#N`` version suffix that won, if any.
    """

    key: str
    day_ns: int
    codes: dict[str, str] = field(hash=False, compare=False)
    listed: bool
    version: int | None = None


@dataclass
class _Candidate:
    day_ns: int
    values: dict[str, str]
    segments: list[str]
    listed: bool = False
    version: int | None = None


def locate_objects(
    request: WaveformRequest,
    collection: Collection,
    spec: StorageSpec,
    template: KeyTemplate,
) -> list[ObjectRef]:
    """Return every object of ``collection`` that may hold requested data.

    Days start one day before ``request.start_ns``: records are filed by their
    start time, so the previous day's object may hold the first samples.
    """
    days = days_between(request.start_ns - 86_400_000_000_000, request.end_ns)
    exact = _exact_objects(days, request, collection, template)
    if exact is not None:
        return exact

    candidates = [_Candidate(day, _day_values(day), []) for day in days]

    for index in range(len(template.segments)):
        candidates = _resolve_segment(
            candidates, index, request, collection, spec, template
        )

    return [
        ObjectRef(
            key="/".join(candidate.segments),
            day_ns=candidate.day_ns,
            codes={k: v for k, v in candidate.values.items() if k in _CODE_FIELDS},
            listed=candidate.listed,
            version=candidate.version,
        )
        for candidate in candidates
    ]


def _exact_objects(
    days: list[int],
    request: WaveformRequest,
    collection: Collection,
    template: KeyTemplate,
) -> list[ObjectRef] | None:
    """Render every key at once when no segment needs a listing.

    This is the common case of exact codes on a tier without versions, and
    the walk segment by segment would build one candidate per segment.
    Returns None when some field has a wildcard or keys carry versions.
    """
    if template.version_rule == "hash-suffix":
        return None
    fields = [name for name in _CODE_FIELDS if name in template.fields]
    choices = [request.codes(name) for name in fields]
    if any(has_wildcard(code) for codes in choices for code in codes):
        return None

    text = template.text
    day_values = [(day, _day_values(day)) for day in days]
    objects = []
    for combination in itertools.product(*choices):
        codes = dict(zip(fields, combination, strict=True))
        spelled = _key_values(codes, collection)
        for day, values in day_values:
            key = text.format(**spelled, **values)
            objects.append(ObjectRef(key, day, codes, listed=False))
    objects.sort(key=lambda ref: ref.day_ns)
    return objects


def _day_values(day_ns: int) -> dict[str, str]:
    year, doy = day_of_year(day_ns)
    return {"year": f"{year:04d}", "doy": f"{doy:03d}"}


def _resolve_segment(
    candidates: list[_Candidate],
    index: int,
    request: WaveformRequest,
    collection: Collection,
    spec: StorageSpec,
    template: KeyTemplate,
) -> list[_Candidate]:
    fields = template.segment_fields(index)
    last = index == len(template.segments) - 1
    versioned = last and template.version_rule == "hash-suffix"

    expanded: list[_Candidate] = []
    to_list: list[_Candidate] = []
    for candidate in candidates:
        exact = _exact_expansions(candidate, fields, request, collection)
        if exact is None or versioned:
            to_list.append(candidate)
        else:
            expanded.extend(exact)

    for candidate in expanded:
        values = _key_values(candidate.values, collection)
        candidate.segments.append(template.segments[index].format(**values))

    listed = _list_and_match(to_list, index, request, collection, spec, template)
    return expanded + listed


def _exact_expansions(
    candidate: _Candidate,
    fields: set[str],
    request: WaveformRequest,
    collection: Collection,
) -> list[_Candidate] | None:
    """Expand ``candidate`` over exact codes, or return None if listing is needed."""
    choices: list[list[tuple[str, str]]] = []
    for name in sorted(fields - set(candidate.values)):
        patterns = request.codes(name)
        if any(has_wildcard(pattern) for pattern in patterns):
            return None
        choices.append([(name, pattern) for pattern in patterns])

    result = [candidate]
    for options in choices:
        result = [
            _Candidate(item.day_ns, {**item.values, name: value}, list(item.segments))
            for item in result
            for name, value in options
        ]
    return result


def _key_values(values: dict[str, str], collection: Collection) -> dict[str, str]:
    """Spell codes as keys spell them (the blank location may differ)."""
    if values.get("location") == "":
        return {**values, "location": collection.blank_location}
    return values


def _list_and_match(
    candidates: list[_Candidate],
    index: int,
    request: WaveformRequest,
    collection: Collection,
    spec: StorageSpec,
    template: KeyTemplate,
) -> list[_Candidate]:
    if not candidates:
        return []

    prefixes = ["/".join(candidate.segments) for candidate in candidates]
    listings = list_directories(spec, prefixes)
    regex = template.segment_regex(index)
    logger.debug("matched %d listings against %s", len(listings), regex.pattern)

    matched: list[_Candidate] = []
    for candidate, prefix in zip(candidates, prefixes, strict=True):
        newest: dict[tuple, _Candidate] = {}
        for name in listings[prefix]:
            found = _match_entry(name, regex, candidate, request, collection, template)
            if found is None:
                continue
            identity = tuple(sorted(found.values.items()))
            current = newest.get(identity)
            if current is None or (found.version or 0) > (current.version or 0):
                newest[identity] = found
        matched.extend(newest.values())
    return matched


def _match_entry(
    name: str,
    regex,
    candidate: _Candidate,
    request: WaveformRequest,
    collection: Collection,
    template: KeyTemplate,
) -> _Candidate | None:
    match = regex.match(name)
    if match is None:
        return None

    values = dict(candidate.values)
    for field_name, raw in match.groupdict().items():
        if field_name == "version" or raw is None:
            continue
        value = template.strip_padding(field_name, raw)
        if field_name == "location" and value == collection.blank_location:
            value = ""
        if field_name in values and values[field_name] != value:
            return None
        if field_name in _CODE_FIELDS and not matches(value, request.codes(field_name)):
            return None
        values[field_name] = value

    version = match.groupdict().get("version")
    return _Candidate(
        candidate.day_ns,
        values,
        [*candidate.segments, name],
        listed=True,
        version=int(version) if version else None,
    )


def group_by(objects: list[ObjectRef], fields: tuple[str, ...]) -> dict:
    """Group objects by the values of ``fields`` (for example network, station)."""
    groups: dict[tuple[str, ...], list[ObjectRef]] = defaultdict(list)
    for ref in objects:
        groups[tuple(ref.codes.get(name, "") for name in fields)].append(ref)
    return dict(groups)
