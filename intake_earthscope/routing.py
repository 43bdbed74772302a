"""Tier routing: which tier of a collection serves each network.

With ``tier="auto"`` a network goes to the anonymous tier when that tier's
listing of ``networks_prefix`` names it (one cached LIST), and to the
tier read with EarthScope credentials otherwise. Where the server lacks
the anonymous tier's bucket, every network goes to the other tier when a
token exists. Without a token, the error names the missing bucket. A tier
named explicitly serves every network. A mirror given with ``root=``
serves every network from its own files.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from typing import Any

from intake_earthscope.auth import TokenSource, resolve_token_source
from intake_earthscope.codes import has_wildcard, matches
from intake_earthscope.collection import AUTO_TIER, Collection, Tier, check_tier
from intake_earthscope.errors import (
    AuthenticationError,
    IntakeEarthScopeWarning,
    InvalidRequestError,
    ObjectNotFoundError,
    StorageUnavailableError,
)
from intake_earthscope.plan import Plan, Route, make_plan
from intake_earthscope.request import WaveformRequest
from intake_earthscope.storage import (
    StorageSpec,
    has_credentials,
    is_missing_bucket,
    list_directory,
)

__all__ = ["Credentials", "build_routes", "plan_request"]

logger = logging.getLogger(__name__)


class Credentials:
    """The caller's ``token=`` and ``profile=``, resolved on first need.

    Only tiers with ``access: earthscope`` need a token, so a request for
    open data never needs one.
    """

    def __init__(self, token: Any = None, profile: str | None = None) -> None:
        if token is not None and not isinstance(token, str | os.PathLike):
            raise InvalidRequestError(
                f"invalid token of type {type(token).__name__}: give the token "
                "text, or the path of a tokens.json"
            )
        if profile is not None and not isinstance(profile, str):
            raise InvalidRequestError(
                f"invalid profile={profile!r}: give the name of an earthscope-sdk "
                "profile, such as 'default'"
            )
        self._token = token or None
        self._profile = profile or None
        self._source: TokenSource | None = None

    def source(self) -> TokenSource:
        """Return the token source, raising if there is none."""
        if self._source is None:
            self._source = resolve_token_source(self._token, self._profile)
        return self._source

    def available(self) -> bool:
        """Return whether a token source exists (without raising)."""
        try:
            self.source()
        except AuthenticationError:
            return False
        return True


def plan_request(
    request: WaveformRequest,
    collection: Collection,
    tier: str | None,
    storage_options: Mapping[str, Any] | None,
    root: str | None,
    credentials: Credentials,
    inventory: Any = None,
) -> Plan:
    """Route the request's networks to tiers, then plan it."""
    routes = build_routes(request, collection, tier, storage_options, root, credentials)
    return make_plan(request, collection, routes, inventory=inventory)


def build_routes(
    request: WaveformRequest,
    collection: Collection,
    tier: str | None,
    storage_options: Mapping[str, Any] | None,
    root: str | None,
    credentials: Credentials,
) -> list[Route]:
    """Decide which tier serves each network of ``request``."""
    wanted = check_tier(collection, tier)
    if wanted != AUTO_TIER or root is not None:
        chosen = collection.tier(wanted)
        spec = _spec(chosen, storage_options, root, credentials)
        return [Route(request.network, spec, chosen.name)]

    return _auto_routes(request, collection, storage_options, credentials)


def _spec(
    tier: Tier,
    storage_options: Mapping[str, Any] | None,
    root: str | None,
    credentials: Credentials,
) -> StorageSpec:
    options = storage_options or {}
    needs_token = tier.access == "earthscope" and (
        tier.protocol == "fdsn" or (root is None and not has_credentials(options))
    )
    source = credentials.source() if needs_token else None
    return StorageSpec.for_tier(tier, storage_options, root, source)


def _auto_routes(
    request: WaveformRequest,
    collection: Collection,
    storage_options: Mapping[str, Any] | None,
    credentials: Credentials,
) -> list[Route]:
    open_tier = _first(collection, "anonymous")
    restricted = _first(collection, "earthscope", storage=True)
    if open_tier is None or restricted is None:
        chosen = collection.tiers[0]
        spec = _spec(chosen, storage_options, None, credentials)
        return [Route(request.network, spec, chosen.name)]

    open_spec = _spec(open_tier, storage_options, None, credentials)
    held = set(_open_networks(open_spec, open_tier, restricted, credentials))
    networks = _request_networks(
        request, held, restricted, storage_options, credentials
    )

    in_open = tuple(network for network in networks if network in held)
    elsewhere = tuple(network for network in networks if network not in held)
    logger.info(
        "tier routing: %s from %s, %s from %s",
        ",".join(in_open) or "none",
        open_tier.name,
        ",".join(elsewhere) or "none",
        restricted.name,
    )

    routes = []
    if in_open:
        routes.append(Route(in_open, open_spec, open_tier.name))
    if elsewhere and not credentials.available():
        raise AuthenticationError(
            f"network(s) {', '.join(elsewhere)} are not in the open bucket "
            f"({open_spec.describe()}), and reading them from the {restricted.name} "
            "tier needs an EarthScope token: check the network codes, or run "
            "`es login` (or set EARTHSCOPE_TOKEN)"
        )
    if elsewhere:
        spec = _spec(restricted, storage_options, None, credentials)
        fallback = _fallback(collection, storage_options, credentials)
        routes.append(Route(elsewhere, spec, restricted.name, fallback))
    return routes


def _open_networks(
    open_spec: StorageSpec, open_tier: Tier, restricted: Tier, credentials: Credentials
) -> tuple[str, ...]:
    """List the networks of the open tier.

    A server without the open tier's bucket, such as a mirror of the
    restricted tier alone, lists none where a token can read the restricted
    tier. Without a token the missing bucket is the error to report.
    """
    try:
        return _networks(open_spec, open_tier)
    except StorageUnavailableError as error:
        if not is_missing_bucket(error) or not credentials.available():
            raise
        logger.warning(
            "every network is read from the %s tier, because the %s tier's "
            "bucket is missing: %s",
            restricted.name,
            open_tier.name,
            error,
        )
        return ()


def _fallback(
    collection: Collection,
    storage_options: Mapping[str, Any] | None,
    credentials: Credentials,
) -> StorageSpec | None:
    """Return the web-service tier that serves what S3 refuses, if any."""
    for tier in collection.tiers:
        if tier.protocol == "fdsn":
            return _spec(tier, storage_options, None, credentials)
    return None


def _request_networks(
    request: WaveformRequest,
    held: set[str],
    restricted: Tier,
    storage_options: Mapping[str, Any] | None,
    credentials: Credentials,
) -> list[str]:
    """Expand the request's network patterns into network codes."""
    if not any(has_wildcard(pattern) for pattern in request.network):
        return list(request.network)

    candidates = set(held)
    if credentials.available():
        spec = _spec(restricted, storage_options, None, credentials)
        candidates |= set(_networks(spec, restricted))
    else:
        message = (
            f"network={','.join(request.network)!r} is matched against the open "
            f"tier's networks only: listing the {restricted.name} tier needs an "
            "EarthScope token (run `es login`, or set EARTHSCOPE_TOKEN)"
        )
        logger.info(message)
        warnings.warn(message, IntakeEarthScopeWarning, stacklevel=4)
    found = sorted(code for code in candidates if matches(code, request.network))
    if not found:
        raise ObjectNotFoundError(
            f"no network matches network={','.join(request.network)!r} in "
            f"{', '.join(sorted(candidates)) or 'the archive'}; check the code"
        )
    return found


def _networks(spec: StorageSpec, tier: Tier) -> tuple[str, ...]:
    if not tier.networks_prefix:
        return ()
    return list_directory(spec, tier.networks_prefix)


def _first(collection: Collection, access: str, storage: bool = False) -> Tier | None:
    for tier in collection.tiers:
        if tier.access == access and not (storage and tier.protocol == "fdsn"):
            return tier
    return None
