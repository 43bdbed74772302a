"""GNSS product locations: tiers, path templates, fetching and listing.

A GNSS product (daily positions of a station, daily RINEX observations) is
described in catalog YAML by its tiers and by one or more path templates. A
tier is an S3 bucket (NOAA CORS, GeoNet), a local mirror, or an HTTPS file
server (GAGE) that takes the EarthScope bearer token. :func:`location_for`
turns a tier into an :class:`ArchiveLocation`, a picklable description without
secrets that any process can fetch from.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import string
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from intake_earthscope.auth import TokenSource
from intake_earthscope.collection import Tier
from intake_earthscope.errors import (
    CatalogError,
    InvalidRequestError,
    ObjectNotFoundError,
)
from intake_earthscope.storage import (
    LISTING_TTL_SECONDS,
    StorageSpec,
    list_directory,
    read_bytes,
)
from intake_earthscope.webservices import WebServiceSpec, https_get

logger = logging.getLogger(__name__)

__all__ = [
    "ArchiveLocation",
    "GnssProduct",
    "PATH_FIELDS",
    "fetch",
    "list_names",
    "location_for",
    "long_name_hint",
    "render_path",
]

# Fields every path template may use; products add their own choices (such
# as analysis_center) through the ``choices`` of :func:`render_path`.
PATH_FIELDS = ("station", "station_lower", "year", "yy", "doy")

_listing_cache: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {}
_listing_lock = threading.Lock()


@dataclass(frozen=True)
class GnssProduct:
    """One GNSS product of a catalog: its tiers and path templates.

    Attributes
    ----------
    name : str
        Dotted name such as ``"gage.rinex_obs"``, for messages.
    tiers : tuple of Tier
        Places that serve the product; ``protocol`` is ``s3``, ``file`` or
        ``https`` (``bucket`` then contains the base URL ending in ``/``).
    default_tier : str
        Tier read when the caller names none.
    paths : mapping of str to str
        Path templates by variant, such as ``{"rinex2": "rinex/obs/..."}``.
        Fields are :data:`PATH_FIELDS` plus the product's choices.
    description : str
        One line for listings.
    extra : mapping
        Every other key of the YAML mapping, for the product's own reader.
    """

    name: str
    tiers: tuple[Tier, ...]
    default_tier: str
    paths: Mapping[str, str]
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_yaml(cls, spec: Mapping[str, Any]) -> GnssProduct:
        """Build a product from its ``product:`` YAML mapping.

        Raises
        ------
        CatalogError
            If ``name``, ``tiers`` or ``paths`` is missing or malformed.
        """
        if not isinstance(spec, Mapping):
            raise CatalogError(
                f"invalid GNSS product {spec!r}: expected a mapping with name, "
                "tiers and paths"
            )
        name = str(spec.get("name") or "")
        if not name:
            raise CatalogError("GNSS product without a 'name'")

        tiers = _tiers(name, spec.get("tiers"))
        paths = _paths(name, spec.get("paths"))
        default_tier = str(spec.get("default_tier", tiers[0].name))
        product = cls(
            name=name,
            tiers=tiers,
            default_tier=default_tier,
            paths=paths,
            description=str(spec.get("description", "")),
            extra={k: v for k, v in spec.items() if k not in _KNOWN_KEYS},
        )
        product.tier()
        return product

    def tier(self, name: str | None = None) -> Tier:
        """Return the tier called ``name`` (the default tier for ``None``).

        Raises
        ------
        InvalidRequestError
            If ``name`` is no tier of the product.
        CatalogError
            If the product's default tier is not one of its tiers.
        """
        wanted = name or self.default_tier
        for tier in self.tiers:
            if tier.name == wanted:
                return tier
        choices = [tier.name for tier in self.tiers]
        if name:
            # The caller's value, not the catalog, is wrong.
            raise InvalidRequestError(
                f"invalid tier={name!r} for {self.name!r}: expected one of "
                f"{choices}, or '' for its default tier {self.default_tier!r}"
            )
        raise CatalogError(
            f"invalid tier {wanted!r} for {self.name!r}: expected one of {choices}"
        )

    def path(self, variant: str) -> str:
        """Return the path template of ``variant``.

        Raises
        ------
        CatalogError
            If the product has no such variant.
        """
        try:
            return self.paths[variant]
        except KeyError:
            raise CatalogError(
                f"invalid variant {variant!r} for {self.name!r}: expected one of "
                f"{sorted(self.paths)}"
            ) from None


_KNOWN_KEYS = {"name", "tiers", "paths", "default_tier", "description"}


def _tiers(name: str, spec: object) -> tuple[Tier, ...]:
    if not isinstance(spec, Mapping) or not spec:
        raise CatalogError(
            f"GNSS product {name!r} has no 'tiers' mapping; name at least one "
            "place that serves its files"
        )
    tiers = []
    for key, value in spec.items():
        if not isinstance(value, Mapping):
            raise CatalogError(
                f"invalid tier {key!r} of {name!r}: expected a mapping, got {value!r}"
            )
        tiers.append(Tier.from_yaml(str(key), value))
    return tuple(tiers)


def _paths(name: str, spec: object) -> dict[str, str]:
    if not isinstance(spec, Mapping) or not spec:
        raise CatalogError(
            f"GNSS product {name!r} has no 'paths' mapping of variant to template"
        )
    paths = {str(key): str(value) for key, value in spec.items()}
    for variant, template in paths.items():
        _template_fields(template, f"{name}.paths.{variant}")
    return paths


def _template_fields(template: str, where: str) -> set[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise CatalogError(
            f"invalid path template {template!r} in {where}: {error}"
        ) from None
    return {name for _, name, _, _ in parsed if name}


def render_path(
    template: str,
    station: str,
    day: dt.date,
    choices: Mapping[str, str] | None = None,
) -> str:
    """Fill a path template for one station and day.

    Parameters
    ----------
    template : str
        Template such as ``"rinex/obs/{year}/{doy}/{station_lower}{doy}0.{yy}d.Z"``.
    station : str
        Four-character station id as the archive spells it in upper case.
    day : datetime.date
        UTC day of the file.
    choices : mapping, optional
        Product choices such as ``{"analysis_center": "cwu"}``.

    Raises
    ------
    CatalogError
        If the template uses a field that is neither a standard field
        (:data:`PATH_FIELDS`) nor one of ``choices``.
    """
    values = {
        "station": station.upper(),
        "station_lower": station.lower(),
        "year": f"{day.year:04d}",
        "yy": f"{day.year % 100:02d}",
        "doy": f"{day.timetuple().tm_yday:03d}",
        **dict(choices or {}),
    }
    missing = _template_fields(template, "a path") - set(values)
    if missing:
        raise CatalogError(
            f"path template {template!r} uses unknown field(s) {sorted(missing)}; "
            f"known fields are {sorted(values)}"
        )
    return template.format_map(values)


@dataclass(frozen=True)
class ArchiveLocation:
    """A tier made ready to read: a storage spec or a web spec, no secrets.

    Exactly one of ``storage`` and ``web`` is set.
    """

    storage: StorageSpec | None = None
    web: WebServiceSpec | None = None

    def url(self, path: str) -> str:
        """Return the URL of ``path`` for messages and provenance (unsigned)."""
        if self.web is not None:
            return self.web.base_url + path
        assert self.storage is not None
        return self.storage.url(path)

    @property
    def tier(self) -> str:
        """Name of the tier, ``mirror LOCATION`` for a mirror given with
        ``root=``, or ``"https"`` for a web location."""
        return self.storage.tier_label if self.storage is not None else "https"

    @property
    def where(self) -> str:
        """Where the files are read from, as the ``storage`` attribute of a
        waveform dataset gives it (a mirror's as a URL that ``root=``
        reads), or the web location's base URL."""
        if self.web is not None:
            return self.web.base_url
        assert self.storage is not None
        return self.storage.describe()


def location_for(
    tier: Tier,
    storage_options: Mapping[str, Any] | None = None,
    root: str | None = None,
    token_source: TokenSource | None = None,
) -> ArchiveLocation:
    """Return where a process reads ``tier``'s files.

    Parameters
    ----------
    tier : Tier
        The tier; ``protocol: https`` tiers are read with
        :func:`~intake_earthscope.webservices.https_get`.
    storage_options : mapping, optional
        fsspec options for S3 and mirror tiers.
    root : str, optional
        A mirror with the same layout (local directory or fsspec URL); it
        replaces the tier's own place.
    token_source : TokenSource, optional
        Where processes find the EarthScope token, for ``access: earthscope``
        HTTPS tiers. The token itself never enters the location.
    """
    if root is None and tier.protocol == "https":
        web = WebServiceSpec(
            base_url=tier.bucket,
            allowed_hosts=tier.allowed_hosts or WebServiceSpec.allowed_hosts,
            token_source=token_source if tier.access == "earthscope" else None,
        )
        return ArchiveLocation(web=web)
    return ArchiveLocation(
        storage=StorageSpec.for_tier(tier, storage_options, root, token_source)
    )


def fetch(location: ArchiveLocation, path: str) -> bytes:
    """Fetch one whole file.

    Raises
    ------
    ObjectNotFoundError
        If there is no such file.
    AccessDeniedError, AuthenticationError
        If the archive refuses the request.
    WebServiceError, StorageUnavailableError
        If the server fails or cannot be reached.
    """
    if location.web is not None:
        return https_get(location.web, path)
    assert location.storage is not None
    # The GNSS parsers and the file cache take bytes. These files are a few
    # MB, so the copy from a bytearray costs little.
    return bytes(read_bytes(location.storage, path))


def list_names(location: ArchiveLocation, directory: str) -> tuple[str, ...]:
    """List the file names in ``directory`` (cached per process for a while).

    ``directory`` is relative to the tier and ends in ``/``. A directory the
    archive does not have lists as empty.
    """
    if location.storage is not None:
        return list_directory(location.storage, directory.rstrip("/"))

    assert location.web is not None
    cache_key = (location.web.base_url, directory)
    now = time.monotonic()
    with _listing_lock:
        cached = _listing_cache.get(cache_key)
    if cached is not None and now - cached[0] < LISTING_TTL_SECONDS:
        return cached[1]

    names = _list_web_directory(location.web, directory)
    with _listing_lock:
        _listing_cache[cache_key] = (now, names)
    return names


def clear_web_listing_cache() -> None:
    """Forget every cached HTTPS directory listing of this process."""
    with _listing_lock:
        _listing_cache.clear()


def _list_web_directory(web: WebServiceSpec, directory: str) -> tuple[str, ...]:
    # NOTE: the GAGE file server's index pages are read as HTML links; a JSON
    # listing, if the server offers one, would be sturdier.
    try:
        page = https_get(web, directory)
    except ObjectNotFoundError:
        logger.debug("no directory %s%s", web.base_url, directory)
        return ()
    parser = _LinkParser()
    parser.feed(page.decode("utf-8", errors="replace"))
    return tuple(sorted(set(parser.names)))


_FILE_NAME = re.compile(r"^[^/?#]+$")


class _LinkParser(HTMLParser):
    """Collect the file names that an HTML directory index links to."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        href = dict(attrs).get("href") or ""
        name = href.rsplit("/", 1)[-1] if not href.endswith("/") else ""
        if name and _FILE_NAME.match(name) and not href.startswith(("?", "..")):
            self.names.append(name)


def long_name_hint(code: str) -> str:
    """Return the advice for a RINEX 3 long station name, or "" for other codes.

    Long names such as ``YORK00USA`` add a monument number, a receiver number
    and a country code to the four-character id that the archives file by.
    """
    if re.fullmatch(r"[A-Z0-9]{4}[0-9]{2}[A-Z]{3}", code.upper()):
        return f"; the RINEX 3 long name {code!r} is filed under {code[:4].upper()!r}"
    return ""
