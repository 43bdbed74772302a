"""Collections: what an archive is, read from the catalog YAML.

A collection names its storage (bucket or access point, region, endpoint,
or a local mirror), the key template of one object, the object granularity,
the version-suffix rule and the access rule. Python code contains none of these
values: moving a bucket is a YAML edit.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from intake_earthscope.errors import CatalogError, InvalidRequestError

__all__ = [
    "GRANULARITIES",
    "VERSION_RULES",
    "Collection",
    "KeyTemplate",
    "Tier",
    "check_tier",
]

GRANULARITIES = ("station-day", "channel-day")
VERSION_RULES = ("none", "hash-suffix")
ACCESS_RULES = ("anonymous", "earthscope", "storage-options")

# Tier name that routes each network to the tier that contains it.
AUTO_TIER = "auto"
# Tier names are stored per chunk in a fixed-width text variable.
TIER_NAME_WIDTH = 16
TIER_DTYPE = f"<U{TIER_NAME_WIDTH}"

_KEY_FIELDS = {"network", "station", "location", "channel", "year", "doy"}
_FIXED_WIDTH = {"year": r"\d{4}", "doy": r"\d{3}"}
_WIDTH_SPEC = re.compile(r"^(?P<fill>.)?(?P<align>[<>^])(?P<width>\d+)$")


@dataclass(frozen=True)
class KeyTemplate:
    """The key of one object, as a Python format string split at ``/``.

    Fields are ``network``, ``station``, ``location``, ``channel``, ``year``
    and ``doy`` (three digits). A field may carry a padding spec such as
    ``{station:_<5}`` (pad with ``_`` to five characters).
    """

    text: str
    version_rule: str = "none"

    def __post_init__(self) -> None:
        self._check_syntax()
        fields = self.fields
        unknown = fields - _KEY_FIELDS
        if unknown:
            raise CatalogError(
                f"invalid key_template {self.text!r}: unknown field(s) "
                f"{sorted(unknown)}; valid fields are {sorted(_KEY_FIELDS)}"
            )
        if self.version_rule not in VERSION_RULES:
            raise CatalogError(
                f"invalid version_rule {self.version_rule!r}: expected one of "
                f"{VERSION_RULES}"
            )

    def _check_syntax(self) -> None:
        try:
            parsed = list(string.Formatter().parse(self.text))
        except ValueError as error:
            raise CatalogError(
                f"invalid key_template {self.text!r}: {error}; write fields as "
                "{network}, and a literal brace as {{ or }}"
            ) from error
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if not name or name.isdigit() or conversion:
                raise CatalogError(
                    f"invalid key_template {self.text!r}: fields are named "
                    "({network}, {doy}) without conversions such as !r"
                )
            try:
                _field_regex(name, spec or "")
            except CatalogError as error:
                raise CatalogError(
                    f"invalid key_template {self.text!r}: {error}"
                ) from None

    @property
    def segments(self) -> tuple[str, ...]:
        """Path segments of the template (the text between slashes)."""
        return tuple(self.text.split("/"))

    @property
    def fields(self) -> set[str]:
        """Names of the fields the template uses."""
        return {name for _, name, _, _ in string.Formatter().parse(self.text) if name}

    def segment_fields(self, index: int) -> set[str]:
        """Names of the fields used by path segment ``index``."""
        segment = self.segments[index]
        return {name for _, name, _, _ in string.Formatter().parse(segment) if name}

    def render(self, values: Mapping[str, str], upto: int | None = None) -> str:
        """Fill the template (or its first ``upto`` segments) with ``values``."""
        segments = self.segments if upto is None else self.segments[:upto]
        return "/".join(segment.format(**values) for segment in segments)

    def segment_regex(self, index: int) -> re.Pattern[str]:
        """Compile a regex that parses path segment ``index`` into its fields.

        The last segment also accepts a ``#N`` version suffix when the version
        rule is ``hash-suffix``.
        """
        parts: list[str] = []
        seen: set[str] = set()
        for literal, name, spec, _ in string.Formatter().parse(self.segments[index]):
            parts.append(re.escape(literal))
            if name is None:
                continue
            if name in seen:
                parts.append(f"(?P={name})")
                continue
            seen.add(name)
            parts.append(f"(?P<{name}>{_field_regex(name, spec or '')})")

        last = index == len(self.segments) - 1
        if last and self.version_rule == "hash-suffix":
            parts.append(r"(?:#(?P<version>\d+))?")
        return re.compile("^" + "".join(parts) + "$")

    def strip_padding(self, name: str, value: str) -> str:
        """Remove the fill characters a padding spec added to a field value."""
        for _, field_name, spec, _ in string.Formatter().parse(self.text):
            if field_name != name or not spec:
                continue
            match = _WIDTH_SPEC.match(spec)
            if match:
                fill = match.group("fill") or " "
                return value.strip(fill)
        return value


def _field_regex(name: str, spec: str) -> str:
    match = _WIDTH_SPEC.match(spec) if spec else None
    if match:
        return ".{" + str(int(match.group("width"))) + "}"
    if spec:
        raise CatalogError(
            f"invalid format spec {spec!r} for field {name!r}: only padding "
            "specs such as '_<5' are supported in key templates"
        )
    return _FIXED_WIDTH.get(name, r"[^/]*?")


@dataclass(frozen=True)
class Tier:
    """One place that serves a collection's objects, with its access rule.

    Attributes
    ----------
    name : str
        Tier name, such as ``"open"`` or ``"restricted"``.
    protocol : str
        ``"s3"`` for buckets and access points, ``"file"`` for a local mirror.
    bucket : str
        Bucket name or access point alias (S3), or root directory (file).
    region : str or None
        Region the requests are signed for.
    access : str
        ``"anonymous"``, ``"earthscope"`` (temporary credentials bought with
        an EarthScope token) or ``"storage-options"`` (as the caller's
        ``storage_options`` set).
    version_rule : str
        ``"none"`` or ``"hash-suffix"`` (keys may end in ``#N``; newest wins).
    role : str or None
        EarthScope role for temporary credentials.
    networks_prefix : str or None
        Prefix whose listing (with delimiter ``/``) names the networks the
        tier holds; tier routing reads it to send each network to a tier.
    allowed_hosts : tuple of str
        Hosts that may receive the EarthScope bearer token (``fdsn`` tiers,
        whose ``bucket`` is the service's base URL).
    """

    name: str
    protocol: str
    bucket: str
    region: str | None = None
    access: str = "anonymous"
    version_rule: str = "none"
    role: str | None = None
    networks_prefix: str | None = None
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def from_yaml(cls, name: str, spec: Mapping[str, Any]) -> Tier:
        """Build a tier from its YAML mapping, checking every field."""
        if len(name) > TIER_NAME_WIDTH:
            raise CatalogError(
                f"invalid tier name {name!r}: at most {TIER_NAME_WIDTH} "
                "characters, because datasets store it in a text variable of "
                "that width; give the tier a shorter name"
            )
        protocol = str(spec.get("protocol", "s3"))
        bucket = spec.get("bucket") or spec.get("root") or spec.get("base_url")
        if not bucket:
            raise CatalogError(
                f"tier {name!r} is missing 'bucket' (S3), 'root' (local mirror) "
                "or 'base_url' (fdsn web service)"
            )
        access = str(spec.get("access", "anonymous"))
        if access not in ACCESS_RULES:
            raise CatalogError(
                f"invalid access {access!r} in tier {name!r}: expected one of "
                f"{ACCESS_RULES}"
            )
        version_rule = str(spec.get("version_rule", "none"))
        if version_rule not in VERSION_RULES:
            raise CatalogError(
                f"invalid version_rule {version_rule!r} in tier {name!r}: "
                f"expected one of {VERSION_RULES}"
            )
        return cls(
            name=name,
            protocol=protocol,
            bucket=str(bucket),
            region=spec.get("region"),
            access=access,
            version_rule=version_rule,
            role=spec.get("role"),
            networks_prefix=spec.get("networks_prefix"),
            allowed_hosts=tuple(spec.get("allowed_hosts", ())),
        )


@dataclass(frozen=True)
class Collection:
    """A waveform collection: granularity, key template and storage tiers.

    Build one with :meth:`from_yaml` from the ``collection:`` mapping of a
    catalog entry.
    """

    name: str
    granularity: str
    key_template: str
    tiers: tuple[Tier, ...]
    default_tier: str
    description: str = ""
    blank_location: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_yaml(cls, spec: Mapping[str, Any]) -> Collection:
        """Build a collection from its catalog YAML mapping.

        Raises
        ------
        CatalogError
            If a required field is missing or a value is not one of the
            supported choices.
        """
        if not isinstance(spec, Mapping):
            raise CatalogError(
                f"invalid collection {spec!r}: expected a mapping with name, "
                "granularity, key_template and tiers"
            )
        name = _required(spec, "name", "")
        granularity = _required(spec, "granularity", name)
        if granularity not in GRANULARITIES:
            raise CatalogError(
                f"invalid granularity {granularity!r} in collection {name!r}: "
                f"expected one of {GRANULARITIES}"
            )

        tiers_spec = spec.get("tiers")
        if not isinstance(tiers_spec, Mapping) or not tiers_spec:
            raise CatalogError(
                f"collection {name!r} has no 'tiers' mapping; name at least one "
                "place that serves its objects"
            )
        for key, value in tiers_spec.items():
            if not isinstance(value, Mapping):
                raise CatalogError(
                    f"invalid tier {key!r} in collection {name!r}: expected a "
                    f"mapping with protocol, bucket and access; got {value!r}"
                )
        tiers = tuple(Tier.from_yaml(key, value) for key, value in tiers_spec.items())
        default_tier = str(spec.get("default_tier", tiers[0].name))

        collection = cls(
            name=name,
            granularity=granularity,
            key_template=_required(spec, "key_template", name),
            tiers=tiers,
            default_tier=default_tier,
            description=str(spec.get("description", "")),
            blank_location=str(spec.get("blank_location", "")),
            extra={k: v for k, v in spec.items() if k not in _KNOWN_KEYS},
        )
        if default_tier != AUTO_TIER:
            collection.tier(default_tier)
        for tier in tiers:
            collection.template(tier)
        return collection

    def tier(self, name: str | None = None) -> Tier:
        """Return the tier called ``name`` (the default tier for ``None``).

        ``"auto"`` is no tier of its own: it stands for the first tier here,
        for callers that route networks themselves.
        """
        wanted = name or self.default_tier
        if wanted == AUTO_TIER:
            return self.tiers[0]
        for tier in self.tiers:
            if tier.name == wanted:
                return tier
        choices = [tier.name for tier in self.tiers] + [AUTO_TIER]
        raise CatalogError(
            f"invalid tier {wanted!r} for collection {self.name!r}: expected one "
            f"of {choices}"
        )

    def template(self, tier: Tier) -> KeyTemplate:
        """Return the key template with ``tier``'s version rule."""
        template = KeyTemplate(self.key_template, tier.version_rule)
        needed = {"network", "station", "year", "doy"}
        if self.granularity == "channel-day":
            needed |= {"location", "channel"}
        missing = needed - template.fields
        if missing:
            raise CatalogError(
                f"key_template {self.key_template!r} of collection {self.name!r} "
                f"lacks field(s) {sorted(missing)} needed for {self.granularity} "
                "objects"
            )
        return template

    @property
    def per_channel(self) -> bool:
        """Whether one object contains one channel (``channel-day``)."""
        return self.granularity == "channel-day"


_KNOWN_KEYS = {
    "name",
    "granularity",
    "key_template",
    "tiers",
    "default_tier",
    "description",
    "blank_location",
}


def _required(spec: Mapping[str, Any], key: str, name: str) -> str:
    value = spec.get(key)
    if not value:
        where = f" of collection {name!r}" if name else ""
        raise CatalogError(f"missing '{key}'{where} in the catalog YAML")
    return str(value)


def check_tier(collection: Collection, tier: str | None) -> str:
    """Return the name of the tier that ``tier`` selects in ``collection``.

    Parameters
    ----------
    collection : Collection
        The collection to read.
    tier : str or None
        A tier name of the collection, ``"auto"``, or empty (``""`` or
        ``None``) for the collection's default tier.

    Returns
    -------
    str
        ``tier``, or the collection's default tier where ``tier`` is empty.

    Raises
    ------
    InvalidRequestError
        If ``tier`` names no tier of the collection. An invalid default tier
        is the catalog's fault, which :meth:`Collection.tier` reports as a
        :class:`~intake_earthscope.errors.CatalogError`.
    """
    if not tier:
        return collection.default_tier
    choices = [item.name for item in collection.tiers] + [AUTO_TIER]
    if tier not in choices:
        raise InvalidRequestError(
            f"invalid tier={tier!r} for collection {collection.name!r}: expected "
            f"one of {choices}, or '' for its default tier "
            f"{collection.default_tier!r}"
        )
    return tier
