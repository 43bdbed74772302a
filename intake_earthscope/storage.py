"""Storage access: picklable specs, filesystems, ranged reads and listings.

A :class:`StorageSpec` is what travels in the dask graph: protocol, bucket,
region and the caller's ``storage_options``, with digests in place of
their secrets. Each process turns it into an fsspec filesystem of its own.
Transport errors are translated to this package's exceptions here, and
nowhere else.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import quote, urlsplit

import fsspec
import yaml
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)
from dask.base import tokenize
from fsspec.asyn import AsyncFileSystem, sync
from fsspec.exceptions import FSTimeoutError

from intake_earthscope.auth import (
    AwsCredentials,
    CredentialScope,
    TokenSource,
    aws_credentials,
    forget_credentials,
    is_temporary_network,
)
from intake_earthscope.collection import Tier
from intake_earthscope.errors import (
    AccessDeniedError,
    AuthenticationError,
    BucketNotFoundError,
    CredentialsError,
    EarthScopeError,
    ObjectNotFoundError,
    StorageUnavailableError,
)
from intake_earthscope.redact import (
    is_secret_name,
    keep_secret,
    kept_secret,
    register_secrets,
    secret_digest,
)
from intake_earthscope.request import (
    check_root_query,
    mirror_directory,
    url_without_login,
)
from intake_earthscope.retry import AttemptTimeout, RetriesExhausted, call_with_retries
from intake_earthscope.s3http import (
    InvalidResponseError,
    RedirectError,
    Reply,
    check_content_range,
    check_part_length,
    config_file_sets_endpoint,
    forget_route,
    http_route,
)
from intake_earthscope.settings import retry_settings

if TYPE_CHECKING:
    from intake_earthscope.webservices import WebServiceSpec

__all__ = [
    "FirstBytes",
    "SecretOption",
    "StorageSpec",
    "seal_init_options",
    "clear_listing_cache",
    "drop_listings",
    "list_directories",
    "list_directory",
    "has_credentials",
    "is_missing_bucket",
    "mirror_layout_hint",
    "read_bytes",
    "read_first_bytes",
    "unexpected_failure",
]

logger = logging.getLogger(__name__)

LISTING_TTL_SECONDS = 3600.0

# S3 error codes of credentials that were valid once: fetch new ones and retry.
_EXPIRED_CODES = (
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "TokenRefreshRequired",
)
_LISTING_THREADS = 8

# Variables that set the S3 endpoint, in botocore's order of precedence.
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")

# Variables of botocore's credential chain. A process whose variables contain
# the same value as a storage_options secret may read with that secret.
_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)

# Parts of the class names of transient transport errors of aiohttp,
# botocore, s3fs and s3http (ClientPayloadError, IncompleteReadError,
# ServerDisconnectedError, ReadTimeoutError, ResponseParserError, ...). A
# checksum mismatch (FlexibleChecksumError, ChecksumMismatchError) means the
# bytes were damaged on the way, so it is retried too.
_TRANSIENT_NAME_PARTS = (
    "Connect",
    "Timeout",
    "Payload",
    "IncompleteRead",
    "Checksum",
    "Disconnected",
    "ResponseParser",
)

T = TypeVar("T")

_listing_cache: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {}
_listing_lock = threading.Lock()
# aiobotocore sessions of s3fs clients whose default-chain credentials are
# registered for redaction.
_registered_sessions: weakref.WeakSet[Any] = weakref.WeakSet()
_registration_lock = threading.Lock()


@dataclass(frozen=True)
class SecretOption:
    """Stand-in for a secret value of ``storage_options`` in a :class:`StorageSpec`.

    The process that built the spec keeps the value. Another process can
    read a string or bytes value only where one of its ``AWS_*`` credential
    variables contains the same value (as UTF-8 for bytes). It can never
    read another object.

    Attributes
    ----------
    digest : str
        Leading hex digits of the SHA-256 of the value, or for an object
        that is neither a string nor bytes, of a random name that this
        process gave it.
    kind : str
        Type of the value: ``"str"``, ``"bytes"``, ``"bytearray"`` or
        ``"object"``. :meth:`value` returns a value of that type.
    """

    digest: str
    kind: str = "str"

    def __repr__(self) -> str:
        if self.kind == "str":
            return f"<secret sha256:{self.digest}>"
        return f"<secret {self.kind} sha256:{self.digest}>"

    def value(self) -> Any:
        """Return the secret, or None where this process does not have it.

        A bytearray comes back as a new copy each time.
        """
        found = kept_secret(self.digest)
        if found is None and self.kind != "object":
            found = _secret_from_environment(self.digest)
        if found is None or self.kind == "object":
            return found
        return _as_kind(found, self.kind)


def _secret_from_environment(digest: str) -> str | None:
    for name in _CREDENTIAL_VARIABLES:
        candidate = os.environ.get(name)
        if candidate and secret_digest(candidate) == digest:
            keep_secret(candidate)
            return candidate
    return None


def _as_kind(value: str | bytes, kind: str) -> str | bytes | bytearray:
    """Return a kept string or bytes ``value`` as the type ``kind``.

    A string and bytes share a digest only where the bytes are the string's
    UTF-8 encoding, so the conversion loses nothing.
    """
    if kind == "str":
        return value if isinstance(value, str) else value.decode()
    raw = value.encode() if isinstance(value, str) else value
    return bytearray(raw) if kind == "bytearray" else raw


# yaml() of an intake source writes a SecretOption as its repr, a text that
# seal_options reads back as the same SecretOption.
_REFERENCE = re.compile(r"<secret (?:(bytes|bytearray|object) )?sha256:([0-9a-f]{16})>")


def _represent_secret(dumper: yaml.BaseDumper, value: SecretOption) -> yaml.Node:
    return dumper.represent_str(repr(value))


def _represent_tuple(dumper: yaml.BaseDumper, value: _SealedTuple) -> yaml.Node:
    return dumper.represent_list(list(value.items))


@dataclass(frozen=True)
class StorageSpec:
    """Everything a process needs to open a tier's objects; no secrets.

    Attributes
    ----------
    protocol : str
        fsspec protocol: ``"s3"`` or ``"file"`` (or any fsspec protocol for a
        mirror given with ``root=``).
    root : str
        Bucket (or access point alias) or directory that keys are relative to.
        A ``NAME:PASSWORD@`` login at its start is dropped when the spec is
        built (for every protocol but ``file``), so that URLs, reprs and
        pickles of the spec never contain the password. The filesystem is
        opened from ``storage_options`` only, so the login was never sent.
    region : str or None
        Region the S3 requests are signed for.
    anonymous : bool
        Whether S3 requests go unsigned.
    endpoint_url : str or None
        S3 endpoint taken from ``AWS_ENDPOINT_URL_S3`` (or else
        ``AWS_ENDPOINT_URL``) where the caller set it, so that workers
        without that variable reach the same server.
    storage_options : mapping
        The caller's options, passed to fsspec unchanged (they win over every
        default above). Each string under a secret's name
        (:func:`~intake_earthscope.redact.is_secret_name`), also in nested
        mappings such as ``client_kwargs`` and in lists or tuples, is replaced
        by a :class:`SecretOption` when the spec is built, so pickles, reprs
        and :attr:`identity` contain its digest only.
        :meth:`fsspec_options` puts the values back.
    tier : str
        Name of the tier, for messages and provenance.
    token_source : TokenSource or None
        Where a process finds the EarthScope token that buys temporary AWS
        credentials (tiers with ``access: earthscope``); never the token.
    scope : CredentialScope or None
        Role, network, year and region of those credentials.
    allowed_hosts : tuple of str
        For ``protocol="fdsn"`` (``root`` is the service URL): hosts that may
        receive the bearer token.
    mirror : bool
        Whether the spec reads a mirror given with ``root=`` instead of the
        tier's own bucket, for messages.
    """

    protocol: str
    root: str
    region: str | None = None
    anonymous: bool = True
    endpoint_url: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    tier: str = ""
    token_source: TokenSource | None = None
    scope: CredentialScope | None = None
    allowed_hosts: tuple[str, ...] = ()
    mirror: bool = False

    def __post_init__(self) -> None:
        # The spec travels in dask graphs, so the secrets stay in this
        # process's memory and the spec contains only their digests.
        object.__setattr__(self, "storage_options", seal_options(self.storage_options))
        if self.protocol != "file":
            object.__setattr__(self, "root", url_without_login(self.root))

    @classmethod
    def for_tier(
        cls,
        tier: Tier,
        storage_options: Mapping[str, Any] | None = None,
        root: str | None = None,
        token_source: TokenSource | None = None,
    ) -> StorageSpec:
        """Build the spec of ``tier``, or of a mirror at ``root`` with its layout.

        A tier with ``access: earthscope`` needs ``token_source`` unless the
        caller's ``storage_options`` carry credentials of their own.
        """
        options = dict(storage_options or {})
        if tier.protocol == "fdsn":
            return cls(
                protocol="fdsn",
                root=tier.bucket,
                anonymous=token_source is None,
                tier=tier.name,
                token_source=token_source,
                allowed_hosts=tier.allowed_hosts,
            )
        if root is not None:
            return cls._for_root(root, options, tier.name)

        endpoint = _environment_endpoint()
        uses_token = tier.access == "earthscope" and not has_credentials(options)
        return cls(
            protocol=tier.protocol,
            root=tier.bucket.rstrip("/"),
            region=tier.region,
            anonymous=tier.access == "anonymous",
            endpoint_url=endpoint if tier.protocol == "s3" else None,
            storage_options=options,
            tier=tier.name,
            token_source=token_source if uses_token else None,
            scope=CredentialScope(tier.role or "", region=tier.region)
            if uses_token
            else None,
        )

    def web_spec(self) -> WebServiceSpec:
        """Return the web-service description of an ``fdsn`` spec."""
        from intake_earthscope.webservices import WebServiceSpec

        return WebServiceSpec(
            base_url=self.root,
            allowed_hosts=self.allowed_hosts,
            token_source=self.token_source,
        )

    def with_scope(self, network: str, year: int) -> StorageSpec:
        """Return the spec whose credentials are scoped to a network and year."""
        if self.scope is None:
            return self
        # Only temporary networks are asked with a year, so the scope of a
        # permanent network is one cache entry for every year.
        scoped_year = year if is_temporary_network(network) else None
        scope = replace(self.scope, network=network, year=scoped_year)
        return replace(self, scope=scope)

    @classmethod
    def _for_root(cls, root: str, options: dict[str, Any], tier: str) -> StorageSpec:
        # The reads would drop a query string, which may carry a signature.
        check_root_query(root)
        # As check_root does, only "://" makes a URL: a folder name may
        # contain ":". The rest is kept whole, because S3 keys may contain
        # "#", which urlsplit would take for a fragment.
        scheme, separator, rest = root.partition("://")
        protocol = scheme.lower()
        if not separator or protocol == "file":
            directory = mirror_directory(root)
            return cls("file", directory, tier=tier, mirror=True)

        endpoint = _environment_endpoint()
        anonymous = not has_credentials(options)
        return cls(
            protocol=protocol,
            root=rest.rstrip("/"),
            anonymous=anonymous,
            endpoint_url=endpoint if protocol == "s3" else None,
            storage_options=options,
            tier=tier,
            mirror=True,
        )

    def path(self, key: str) -> str:
        """Return the full fsspec path of ``key`` (or URL of an fdsn query)."""
        if self.protocol == "fdsn":
            return self.root + key
        return f"{self.root}/{key}" if key else self.root

    def url(self, key: str) -> str:
        """Return a URL of ``key`` for provenance records (never signed).

        A ``file://`` URL is percent-encoded, so ``root=`` reads it back.
        """
        if self.protocol == "file":
            return _file_url(self.path(key))
        if self.protocol == "fdsn":
            return self.path(key)
        return f"{self.protocol}://{self.path(key)}"

    def filesystem(self) -> fsspec.AbstractFileSystem:
        """Return this process's filesystem for the spec (cached by fsspec).

        For a tier read with EarthScope credentials, the credentials are
        fetched (or taken from this process's cache) here, in the process
        that reads.
        """
        options = self.fsspec_options()
        fs = fsspec.filesystem(self.protocol, **options)
        if self.protocol == "s3":
            # This package retries (intake_earthscope.retry), so s3fs's own
            # loop makes one attempt; s3fs has no option for it.
            fs.retries = 1
            if not options.get("anon") and not options.get("secret"):
                _register_chain_credentials(fs)
        return fs

    def fsspec_options(self) -> dict[str, Any]:
        """Merge the defaults with the caller's ``storage_options``.

        Raises
        ------
        CredentialsError
            If ``storage_options`` contain secrets that this process does not
            have (see :meth:`user_options`).
        """
        if self.protocol != "s3":
            return self.user_options()

        # Credentials of botocore's default chain are registered for
        # redaction by filesystem(), once the client has resolved them.
        options: dict[str, Any] = {}
        if self.anonymous and not has_credentials(self.storage_options):
            options["anon"] = True
        if self.token_source is not None and self.scope is not None:
            # NOTE: fsspec caches one filesystem per credential set, so a job
            # that runs for many credential lifetimes keeps the expired ones.
            credentials = self.earthscope_credentials()
            options.update(
                key=credentials.key, secret=credentials.secret, token=credentials.token
            )
        client_kwargs: dict[str, Any] = {}
        if self.region:
            client_kwargs["region_name"] = self.region
        if self.endpoint_url and "endpoint_url" not in self.storage_options:
            client_kwargs["endpoint_url"] = self.endpoint_url

        user = self.user_options()
        client_kwargs.update(user.pop("client_kwargs", {}) or {})
        config_kwargs = _config_defaults()
        config_kwargs.update(user.pop("config_kwargs", {}) or {})
        options.update(user)
        options["client_kwargs"] = client_kwargs
        options["config_kwargs"] = config_kwargs
        return options

    def user_options(self) -> dict[str, Any]:
        """Return the caller's ``storage_options`` with their secret values.

        The process that built the spec has the values, and so does a
        process whose ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` or
        ``AWS_SESSION_TOKEN`` contains the same value.

        Raises
        ------
        CredentialsError
            If this process does not have every secret. The message names
            the options and the fixes, never a value.
        """
        return unseal_options(self.storage_options, self.describe_origin())

    def __getstate__(self) -> dict[str, Any]:
        # The identity computed in one process is left out of pickles, so
        # that dask graphs do not carry it once per spec.
        state = dict(self.__dict__)
        state.pop("identity", None)
        return state

    def __hash__(self) -> int:
        # The generated hash would hash the storage_options dict and raise
        # TypeError. Equal specs agree on these fields, so they hash alike.
        return hash((self.protocol, self.root, self.region, self.endpoint_url))

    @functools.cached_property
    def identity(self) -> str:
        """Deterministic token of the spec, used as a cache key.

        It is computed once per spec (tokenizing the options took about
        0.1 ms, and every GET looks up its route by it).
        """
        return tokenize(
            self.protocol,
            self.root,
            self.region,
            self.anonymous,
            self.endpoint_url,
            sorted(self.storage_options.items(), key=str),
        )

    @property
    def origin(self) -> str:
        """Name of what the spec reads, for messages: ``tier 'open'``, or
        ``mirror /data/sage`` for a mirror given with ``root=``."""
        if self.mirror:
            return f"mirror {self._mirror_location()}"
        return f"tier {self.tier!r}"

    @property
    def tier_label(self) -> str:
        """Value of ``tier`` columns and attributes: the tier's name, or
        ``mirror LOCATION`` for a mirror given with ``root=``."""
        return self.origin if self.mirror else self.tier

    @property
    def outcome_tier(self) -> str:
        """Value of the per-chunk ``tier`` variable: the tier's name, or
        ``mirror`` for a mirror given with ``root=``.

        The variable takes at most 16 characters, too few for a mirror's
        location, which the dataset's ``tier`` attribute contains.
        """
        return "mirror" if self.mirror else self.tier

    def _mirror_location(self) -> str:
        """Return the directory or URL of a mirror, without a password in it.

        The user part of an ``abfs://container@account`` URL is kept.
        """
        if self.protocol == "file":
            # The file system's top directory is stored as an empty root.
            return self.root or "/"
        return url_without_login(f"{self.protocol}://{self.root}")

    def describe_origin(self) -> str:
        """Describe the storage and the tier or mirror it holds, for messages."""
        if self.mirror:
            # A mirror's describe() shows its location, which origin names.
            return self.origin
        return f"{self.origin} at {self.describe()}"

    def describe(self) -> str:
        """Describe where the tier or mirror lives, for error messages."""
        if self.mirror and self.protocol != "file":
            where = self._mirror_location()
        elif self.protocol == "file":
            where = _file_url(self.root or "/")
        else:
            where = f"{self.protocol}://{self.root}"
        if self.region:
            where += f" (region {self.region})"
        if self.scope is not None:
            where += f" with EarthScope credentials for {self.scope.describe()}"
        return where

    def earthscope_credentials(self) -> AwsCredentials:
        """Return this process's temporary AWS credentials of the spec's scope.

        They are fetched with the EarthScope token where the process has
        none that are still valid. Both S3 clients sign with them.

        Raises
        ------
        ValueError
            If the spec has no token source or scope.
        """
        if self.token_source is None or self.scope is None:
            raise ValueError(
                f"{self.describe()} is not read with EarthScope credentials"
            )
        return aws_credentials(self.token_source, self.scope)

    def forget_credentials(self) -> None:
        """Drop this process's cached credentials of the spec's scope."""
        if self.token_source is not None and self.scope is not None:
            forget_credentials(self.token_source, self.scope)


def _environment_endpoint() -> str | None:
    """Return the S3 endpoint that botocore takes from the environment, if any."""
    for name in _ENDPOINT_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


def _register_chain_credentials(fs: fsspec.AbstractFileSystem) -> None:
    """Register the secret key and session token that the s3fs client signs with.

    Without a key or ``anon`` in its options, s3fs signs with what botocore's
    default chain resolves (variables, a profile, a ``credential_process``,
    a role). This builds the client where it does not exist yet, so the
    credentials are the ones the requests will carry, resolved once by s3fs
    itself. It runs once per client session; later calls cost a set lookup.
    """
    session = getattr(fs, "session", None)
    if session is not None and session in _registered_sessions:
        return
    with _registration_lock:
        try:
            fs.connect()
            session = fs.session
            if session in _registered_sessions:
                return
            credentials = sync(fs.loop, session.get_credentials)
            if credentials is not None:
                frozen = sync(fs.loop, credentials.get_frozen_credentials)
                register_secrets([frozen.secret_key or "", frozen.token or ""])
        except (BotoCoreError, ClientError) as error:
            # A credential_process, SSO login or AssumeRole that fails raises
            # again on the request. There s3fs turns an STS AccessDenied into
            # a PermissionError, and the retry loop and messages handle it.
            logger.debug("resolving S3 credentials failed: %s", type(error).__name__)
            return
        _registered_sessions.add(session)


def _config_defaults() -> dict[str, Any]:
    """Return the botocore settings of every S3 client: timeouts, no retries."""
    settings = retry_settings()
    return {
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.read_timeout,
        # One attempt per call: this package retries, so botocore's retries
        # would multiply with its own.
        "retries": {"total_max_attempts": 1, "mode": "standard"},
    }


def read_bytes(
    spec: StorageSpec,
    key: str,
    start: int | None = None,
    end: int | None = None,
    if_match: str = "",
) -> bytes | bytearray:
    """Fetch an object, or the byte range ``[start, end)`` of it.

    Reads over plain HTTP (:mod:`intake_earthscope.s3http`) return a
    ``bytearray`` that the body was read into, others ``bytes``. Those reads
    send ``if_match``, a strong ETag of :func:`read_first_bytes`, as
    ``If-Match``; reads through s3fs and of local files leave it out.

    Transient failures (5xx, throttling, resets, timeouts, short bodies) are
    retried within the budget of :func:`~intake_earthscope.settings.retry_settings`.

    Raises
    ------
    ObjectNotFoundError
        If the object does not exist.
    AccessDeniedError
        If the storage rejected the request for lack of permission.
    BucketNotFoundError
        If the S3 bucket does not exist on the server.
    StorageUnavailableError
        If the storage could not be reached, failed on every attempt,
        rejected the request otherwise (a 400 reply, for example), or sent
        a reply that does not fit the request (a Content-Range other than
        the range requested) or that botocore cannot decode (a header that
        is not UTF-8 text). Such a reply is not retried.
    ObjectChangedError
        If the object no longer has the ETag ``if_match``.
    """
    logger.debug("fetching %s bytes %s-%s", spec.url(key), start, end)
    # NOTE: a body shorter than its Content-Length is retried, and so is a
    # whole object whose bytes fail its S3 checksum. A ranged reply, or one
    # of an object stored without a checksum, that announces too few bytes
    # reads as a short object (status truncated).
    empty: bytes | bytearray = b""
    data = _sent_get(
        spec, key, lambda: _cat_once(spec, key, start, end, if_match), empty
    )
    logger.debug("received %d bytes of %s", len(data), spec.url(key))
    return data


class FirstBytes(NamedTuple):
    """The first bytes of an object, with the size and tags from their GET.

    ``version`` is the tag :func:`object_stat` gives, the ETag without quotes
    (``""`` where the reply had none). ``match`` is the ETag as the reply sent
    it where it is strong, for the ``if_match`` of :func:`read_bytes`, else
    ``""``: a weak tag (``W/"..."``) never matches in ``If-Match``.
    """

    body: bytes | bytearray
    size: int
    version: str
    match: str


def read_first_bytes(spec: StorageSpec, key: str, length: int) -> FirstBytes | None:
    """Fetch the first ``length`` bytes of an object with its size and version
    tag, all from one GET.

    A reader that needs both saves the HEAD request of :func:`object_stat`.
    Returns None where one GET does not give the size: reads through s3fs or of
    local files, a reply that gives the size as ``*``, and an empty object
    (S3 replies 416 to its ranges). The caller then calls
    :func:`object_stat`.

    Raises
    ------
    ObjectNotFoundError, AccessDeniedError, StorageUnavailableError
        As :func:`read_bytes` raises them.
    """
    route = http_route(spec) if spec.protocol != "file" else None
    if route is None or length <= 0:
        return None

    def send() -> Reply | None:
        try:
            return route.fetch(spec, key, 0, length)
        except RedirectError as redirect:
            _leave_route(spec, redirect)
            return None

    logger.debug("fetching %s bytes 0-%s with its size", spec.url(key), length)
    reply = _sent_get(spec, key, send, None)
    if reply is None or reply.size is None:
        return None
    logger.debug("received %d bytes of %s", len(reply.body), spec.url(key))
    tag = reply.etag.strip()
    strong = tag if tag.startswith('"') and tag.endswith('"') and len(tag) > 2 else ""
    return FirstBytes(reply.body, reply.size, _etag_version(tag), strong)


def unexpected_failure(
    spec: StorageSpec, key: str, error: OSError
) -> StorageUnavailableError:
    """Wrap a storage error that no other class covers, such as a 400 reply.

    Such an error is not retried. The wrapper names the object, so the
    read's outcome shows which one failed.
    """
    failure = StorageUnavailableError(
        f"reading {spec.url(key)} failed: {type(error).__name__}: {error}"
    )
    failure.__cause__ = error
    return failure


def read_local_ranges(
    spec: StorageSpec, key: str, ranges: Sequence[tuple[int, int]]
) -> list[bytes]:
    """Read the byte ranges ``[start, end)`` of a local file through one handle.

    Opening the file once per range would cost more than reading it.

    Raises
    ------
    ObjectNotFoundError
        If the file does not exist.
    AccessDeniedError
        If the file cannot be read for lack of permission.
    """
    logger.debug("reading %d ranges of %s", len(ranges), spec.url(key))
    parts = []
    with _named_failures(spec, key), spec.filesystem().open(spec.path(key)) as handle:
        for start, end in ranges:
            handle.seek(start)
            parts.append(handle.read(end - start))
    return parts


@contextmanager
def _named_failures(spec: StorageSpec, key: str) -> Iterator[None]:
    """Turn a missing or forbidden object into this package's errors."""
    try:
        yield
    except CredentialsError as error:
        named = _naming_object(error, spec, key)
        if named is error:
            # Raised as it is: an error that is its own cause makes dask
            # workers loop when they pickle it.
            raise
        raise named from error
    except (AccessDeniedError, StorageUnavailableError):
        # The retries are spent, or the storage refused the request. These
        # errors name the object or the endpoint already.
        raise
    except FileNotFoundError as error:
        raise _not_found(spec, "GET", key, error) from error
    except PermissionError as error:
        raise _access_denied(spec, f"reading {spec.url(key)}") from error


def _naming_object(
    error: CredentialsError, spec: StorageSpec, key: str
) -> CredentialsError:
    """Return ``error`` with the key of the object that could not be read
    added to its message.

    The ``reason`` stays the message without the key, so that a joint
    message about several objects states it once. An error that names the
    object already, or an AuthenticationError (no usable EarthScope token,
    which fails every read alike), is returned unchanged.
    """
    if error.key or key in str(error) or isinstance(error, AuthenticationError):
        return error
    named = type(error)(f"cannot read {key}: {error}", key, str(error))
    named.__cause__ = error
    return named


def _access_denied(spec: StorageSpec, request: str) -> AccessDeniedError:
    """Return the error for a ``request`` (such as "reading s3://bucket/key")
    that the storage rejected as forbidden.

    Where the request went unsigned, the message gives the reason and how to
    sign it.
    """
    where = f"access denied {request} on {spec.describe_origin()}"
    reason = _unsigned_reason(spec)
    if reason is None:
        kind = "mirror" if spec.mirror else "tier"
        return AccessDeniedError(
            f"{where}: check the credentials or storage_options for this {kind}"
        )
    return AccessDeniedError(
        f"{where}: the request was unsigned, because {reason}. {_SIGNING_ADVICE}"
    )


# How to make s3fs sign with botocore's credential chain. The command line
# respells storage_options={...} as its --storage-option.
_SIGNING_ADVICE = (
    "To sign it with the AWS credentials of this environment (AWS_* "
    "variables, AWS_PROFILE or ~/.aws), pass storage_options={'anon': False}, "
    "or storage_options={'profile': NAME} for a named profile"
)


def _unsigned_reason(spec: StorageSpec) -> str | None:
    """Return why the S3 requests of ``spec`` go unsigned, or None if signed."""
    if spec.protocol != "s3":
        return None
    anon = spec.storage_options.get("anon")
    if anon:
        return f"storage_options set anon={anon!r}"
    if not spec.anonymous or has_credentials(spec.storage_options):
        return None
    if spec.mirror:
        return (
            "a root= mirror is read anonymously unless storage_options choose "
            "credentials"
        )
    return (
        f"tier {spec.tier!r} is read anonymously unless storage_options choose "
        "credentials"
    )


def _retried(spec: StorageSpec, operation: str, action: Callable[[], T]) -> T:
    """Run one storage request under the retry budget of this process."""
    try:
        return call_with_retries(action, is_transient, operation)
    except RetriesExhausted as exhausted:
        raise _unavailable(spec, operation, exhausted) from exhausted.last
    except (NoCredentialsError, PartialCredentialsError, ProfileNotFound) as error:
        raise _no_aws_credentials(spec, operation, error) from error


def _no_aws_credentials(
    spec: StorageSpec, operation: str, error: BotoCoreError
) -> CredentialsError:
    """Return the error for a signed request that botocore had no credentials
    for: none in its chain, only part of a pair, or an unknown profile."""
    if isinstance(error, ProfileNotFound):
        reason = (
            f"{error}: check the profile's name in the AWS config files "
            "(`aws configure list-profiles`) or in storage_options"
        )
    else:
        reason = (
            f"{error}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
            "AWS_SESSION_TOKEN), or AWS_PROFILE, or give storage_options="
            "{'profile': NAME}; a public bucket needs none, so leave out "
            "storage_options={'anon': False} there"
        )
    return CredentialsError(
        f"cannot sign {operation} on {spec.describe_origin()}: {reason}"
    )


def is_transient(error: BaseException) -> bool:
    """Return whether a storage failure may go away when the request is repeated.

    Server errors (5xx, ``SlowDown``), failed or reset connections, timeouts
    and short bodies are transient; every 4xx response is not.
    """
    if isinstance(error, EarthScopeError | FileNotFoundError | PermissionError):
        return False
    status = _http_status(error)
    if status is not None:
        return status >= 500
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    names = {type(item).__name__ for item in _chain(error)}
    return any(part in name for name in names for part in _TRANSIENT_NAME_PARTS)


def _chain(error: BaseException) -> list[BaseException]:
    """Return ``error`` and the errors it was raised from, nearest first."""
    chain: list[BaseException] = []
    item: BaseException | None = error
    while item is not None and item not in chain and len(chain) < 8:
        chain.append(item)
        item = item.__cause__ or item.__context__
    return chain


def _http_status(error: BaseException) -> int | None:
    """Return the HTTP status of a botocore error in the chain, if any."""
    for item in _chain(error):
        response = getattr(item, "response", None)
        if isinstance(response, dict):
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if isinstance(status, int):
                return status
    return None


def _error_code(error: BaseException) -> str:
    """Name a failure for messages: the S3 error code, or the class name."""
    for item in _chain(error):
        response = getattr(item, "response", None)
        if isinstance(response, dict):
            code = str(response.get("Error", {}).get("Code", ""))
            status = _http_status(item)
            # A HEAD response has no body, so botocore gives the status.
            if code.isdigit():
                return f"HTTP {code}"
            if code and status:
                return f"{code} (HTTP {status})"
            if code:
                return code
    return type(error).__name__


def _unavailable(
    spec: StorageSpec, operation: str, exhausted: RetriesExhausted
) -> StorageUnavailableError:
    last = exhausted.last
    tries = f"{exhausted.attempts} attempt(s) in {exhausted.seconds:.1f} s"
    if _is_connection_failure(last):
        return _unreachable(spec, last, tries)
    if isinstance(last, AttemptTimeout):
        return StorageUnavailableError(
            f"{operation} on {spec.describe()} did not finish within "
            f"{last.seconds:g} s on {tries}: the storage is slow, so retry later "
            "or raise INTAKE_EARTHSCOPE_ATTEMPT_SECONDS"
        )
    return StorageUnavailableError(
        f"{operation} on {spec.describe()} failed with {_error_code(last)} on {tries}: "
        "the storage is failing or throttling requests, so retry later or raise "
        "INTAKE_EARTHSCOPE_RETRY_ATTEMPTS and INTAKE_EARTHSCOPE_RETRY_SECONDS"
    )


def _is_connection_failure(error: BaseException) -> bool:
    # botocore's EndpointConnectionError and aiohttp's errors arrive wrapped
    # in OSError by s3fs, or bare. Their class names show the kind.
    names = {type(item).__name__ for item in _chain(error)}
    if any("IncompleteRead" in name for name in names):
        # The server replied and its body broke off, perhaps with a reset.
        return False
    return isinstance(error, ConnectionRefusedError) or any(
        "Connect" in name for name in names
    )


def _unreachable(
    spec: StorageSpec, last: BaseException, tries: str
) -> StorageUnavailableError:
    if spec.protocol != "s3":
        # A mirror given as an http(s) URL with root=, which describe() shows.
        return StorageUnavailableError(
            f"cannot reach {spec.describe()}: {_error_code(last)} on {tries}. "
            "Check the network connection and the URL in root="
        )
    return StorageUnavailableError(
        f"cannot reach {spec.describe()} at {_describe_endpoint(spec, last)}: "
        f"{_error_code(last)} on {tries}. {_endpoint_advice(spec)}"
    )


def _describe_endpoint(spec: StorageSpec, failure: BaseException | None = None) -> str:
    """Name the endpoint of an S3 spec's requests, and the setting that chose it.

    ``storage_options`` win over the endpoint variables, as they do in
    :meth:`StorageSpec.fsspec_options`. Where neither sets an endpoint,
    botocore chose it, and the URL a failed connection went to names it.
    """
    chosen = _endpoint_setting(spec)
    if chosen is not None:
        url, setting = chosen
        return f"{url} ({setting})"

    tried = _endpoint_in_chain(failure) if failure is not None else None
    if tried is not None:
        return tried
    if config_file_sets_endpoint():
        return "the endpoint that the AWS config file sets"
    region = f" of region {spec.region}" if spec.region else ""
    return f"the AWS S3 endpoint{region}"


def _endpoint_setting(spec: StorageSpec) -> tuple[str, str] | None:
    """Return the endpoint URL that options or variables set, and the setting's name.

    Returns None where botocore chooses the endpoint (AWS S3, or the AWS
    config file).
    """
    options = spec.storage_options
    client_kwargs = options.get("client_kwargs") or {}
    if options.get("endpoint_url"):
        return str(options["endpoint_url"]), "storage_options endpoint_url"
    if client_kwargs.get("endpoint_url"):
        url = str(client_kwargs["endpoint_url"])
        return url, "storage_options client_kwargs endpoint_url"
    if spec.endpoint_url:
        return spec.endpoint_url, _variable_of(spec.endpoint_url)
    return None


def _variable_of(url: str) -> str:
    """Name the endpoint variable whose value is ``url``.

    A worker may lack the variable that the caller's process had.
    """
    for name in _ENDPOINT_VARIABLES:
        if os.environ.get(name) == url:
            return name
    return " or ".join(_ENDPOINT_VARIABLES) + " where the request was opened"


def _endpoint_in_chain(error: BaseException) -> str | None:
    """Return the scheme and host of the URL that a failed connection went to.

    botocore's connection errors carry the request URL as ``endpoint_url``.
    """
    for item in _chain(error):
        details = getattr(item, "kwargs", None)
        url = details.get("endpoint_url") if isinstance(details, dict) else None
        if isinstance(url, str) and url:
            parts = urlsplit(url)
            return f"{parts.scheme}://{parts.netloc}"
    return None


def _endpoint_advice(spec: StorageSpec) -> str:
    chosen = _endpoint_setting(spec)
    if chosen is not None:
        return f"Check that a server runs at that URL, or correct {chosen[1]}"
    return (
        "Check the network connection. To read another S3 server, set "
        "AWS_ENDPOINT_URL_S3 or storage_options={'client_kwargs': "
        "{'endpoint_url': URL}}"
    )


def _not_found(
    spec: StorageSpec, operation: str, key: str, error: BaseException
) -> Exception:
    """Return the error for a GET or HEAD of ``key`` that found nothing.

    That is a missing bucket where the server reports one, and otherwise
    ObjectNotFoundError.
    """
    missing = _missing_bucket(spec, f"{operation} {spec.url(key)}", error)
    if missing is not None:
        return missing
    message = f"object not found: {spec.url(key)} ({spec.origin})"
    hint = mirror_layout_hint(spec, key)
    return ObjectNotFoundError(f"{message}; {hint}" if hint else message)


def _missing_bucket(
    spec: StorageSpec, operation: str, error: BaseException
) -> BucketNotFoundError | None:
    """Return the error for a missing bucket where the S3 error code is NoSuchBucket.

    s3fs turns ``NoSuchBucket`` into the ``FileNotFoundError`` of a missing
    key, so the S3 error code is the only difference.
    """
    if spec.protocol != "s3" or not is_missing_bucket(error):
        return None
    bucket = spec.root.partition("/")[0]
    named_in = "root=" if spec.mirror else f"the catalog's tier {spec.tier!r}"
    return BucketNotFoundError(
        f"bucket {bucket!r} does not exist at {_describe_endpoint(spec)}: "
        f"{operation} failed with NoSuchBucket. Check the bucket name (in "
        f"{named_in}) and the endpoint"
    )


def is_missing_bucket(error: BaseException) -> bool:
    """Return whether ``error`` comes from an S3 reply that the bucket is missing."""
    return _s3_error_code(error) == "NoSuchBucket"


def _s3_error_code(error: BaseException) -> str | None:
    """Return the S3 error code of a botocore error in the chain, if any."""
    for item in _chain(error):
        response = getattr(item, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code", "")) or None
    return None


def _sent_get(spec: StorageSpec, key: str, send: Callable[[], T], empty: T) -> T:
    """Send a GET with ``send``, retried and with fresh credentials where they
    expired, and turn its failures into this package's errors.

    A range that starts at or past the end of the object (any range of an
    empty object) is empty, but S3 replies to it with 416 instead of an
    empty body, so that reply gives ``empty``. Whole reads send no Range
    header.
    """
    try:
        with _named_failures(spec, key):
            return _retried(
                spec,
                f"GET {spec.url(key)}",
                lambda: _with_fresh_credentials(spec, key, send),
            )
    except EarthScopeError:
        raise
    except OSError as error:
        if _http_status(error) == 416:
            return empty
        raise unexpected_failure(spec, key, error) from error
    except HTTPClientError as error:
        invalid = _undecodable_header("GET", key, error)
        if invalid is None:
            raise
        raise unexpected_failure(spec, key, invalid) from invalid


def _leave_route(spec: StorageSpec, redirect: RedirectError) -> None:
    """Send the spec's later reads through s3fs after a redirected GET."""
    logger.info("%s, so %s is read through s3fs from now on", redirect, spec.describe())
    forget_route(spec)


def _with_fresh_credentials(spec: StorageSpec, key: str, send: Callable[[], T]) -> T:
    """Send a GET, and send it again with new credentials where they expired."""
    try:
        return send()
    except (CredentialsError, AccessDeniedError):
        raise
    except OSError as error:
        # A GET's error body names the code (ExpiredToken, InvalidToken).
        # Whole-object reads send no HEAD, whose bare 400 would name none.
        if spec.token_source is None or not _credentials_expired(error):
            raise
        logger.debug("credentials expired reading %s; retrying once", spec.url(key))
        spec.forget_credentials()
        return send()


def _cat_once(
    spec: StorageSpec,
    key: str,
    start: int | None,
    end: int | None,
    if_match: str = "",
) -> bytes | bytearray:
    """Send one read: a GET over plain HTTP where a route exists, else s3fs.

    Negative offsets count from the end of the object. Only s3fs resolves
    them, with a HEAD request for the size where it needs one.
    """
    if end is not None and 0 <= end <= (start or 0):
        # s3fs would read the whole object for an empty range.
        return b""
    counted_from_start = (start is None or start >= 0) and (end is None or end >= 0)
    route = http_route(spec) if counted_from_start else None
    if route is not None:
        try:
            return route.get(spec, key, start, end, if_match)
        except RedirectError as redirect:
            _leave_route(spec, redirect)

    fs = spec.filesystem()
    ranged = start is not None or end is not None
    if spec.protocol == "s3" and counted_from_start and ranged:
        data = _s3fs_range(fs, spec, key, start or 0, end)
    else:
        data = _within_deadline(
            fs,
            "GET",
            spec.url(key),
            "cat_file",
            spec.path(key),
            start=start,
            end=end,
            **_single_request(fs, start, end),
        )
    if counted_from_start and end is not None and len(data) > end - (start or 0):
        # The server ignored the Range header and sent the whole object.
        data = data[start or 0 : end]
    return data


def _s3fs_range(
    fs: Any, spec: StorageSpec, key: str, start: int, end: int | None
) -> bytes:
    """GET the bytes ``[start, end)`` of ``key`` through s3fs's client, and
    check a 206 reply as the urllib3 path does.

    s3fs's ``cat_file`` returns the body of a 206 reply whatever its
    Content-Range gives, so this sends the same ``get_object`` call that
    ``cat_file`` sends and checks the reply's Content-Range before it reads
    the body. A 200 reply is the whole object, which is cut to the range.

    Raises
    ------
    InvalidResponseError
        If a 206 reply has no Content-Range, another range than the one
        requested, or a body of another length.
    """
    bucket, object_key, version = fs.split_path(spec.path(key))
    requested = f"bytes={start}-{'' if end is None else end - 1}"
    versions = {"VersionId": version} if version else {}

    async def get() -> bytes:
        # NOTE: _call_s3 is s3fs's own wrapper of client calls (s3fs
        # 2026.9), which adds its request options and translates S3 errors.
        response = await fs._call_s3(
            "get_object", Bucket=bucket, Key=object_key, Range=requested, **versions
        )
        try:
            if response["ResponseMetadata"]["HTTPStatusCode"] != 206:
                # A 200 reply to a Range is the whole object (RFC 9110).
                whole = await response["Body"].read()
                return whole[start:end]
            first, last, _ = check_content_range(
                response.get("ContentRange"), key, start, end
            )
            body = await response["Body"].read()
        finally:
            response["Body"].close()
        check_part_length(body, (first, last), key)
        return body

    return _run_within_deadline(fs.loop, "GET", spec.url(key), get)


def _single_request(
    filesystem: fsspec.AbstractFileSystem, start: int | None, end: int | None
) -> dict[str, int]:
    """Options that make s3fs read a whole object with one GET.

    s3fs sends a HEAD before each whole-object read, to split objects
    larger than its block size into concurrent ranged GETs. Chunks already
    read many objects at once, so the HEAD would only add a round trip per
    object.
    """
    whole = start is None and end is None
    if whole and getattr(filesystem, "max_concurrency", None) is not None:
        return {"max_concurrency": 1}
    return {}


def _file_url(path: str) -> str:
    """Return the ``file://`` URL of the absolute local ``path``.

    Characters that RFC 3986 does not allow in a path, such as spaces,
    ``%``, ``?``, ``#`` and non-ASCII ones, are percent-encoded as UTF-8.
    Bytes of a name that are not UTF-8 (which ``os.fsdecode`` keeps as
    surrogates) are encoded as those bytes. So ``root=`` reads the URL back
    as the same path (:func:`~intake_earthscope.request.mirror_directory`).
    """
    if _PLAIN_PATH.fullmatch(path):
        # Most paths need no quoting, and an open builds the URL of every
        # object of its request. Quoting them all made a year's open about a
        # third slower (measured with 36,500 objects).
        return "file://" + path
    return "file://" + quote(os.fsencode(path), safe=_PATH_CHARACTERS)


# Characters that RFC 3986 allows in a URL path besides letters, digits and
# "-._~": the separator, the sub-delimiters, ":" and "@".
_PATH_CHARACTERS = "/!$&'()*+,;=:@"
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~" + re.escape(_PATH_CHARACTERS) + "]*")


def _credentials_expired(error: BaseException) -> bool:
    cause = error.__cause__
    response = getattr(cause, "response", None) or {}
    code = (
        response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""
    )
    return code in _EXPIRED_CODES or any(name in str(error) for name in _EXPIRED_CODES)


# gcsfs takes these words as token= to choose how it authenticates. They are
# no secrets, and registered as secrets they would be redacted wherever the
# word appears alone in a log record or message.
_TOKEN_MODES = frozenset({"anon", "browser", "cache", "cloud", "google_default"})


def seal_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return fsspec ``options`` with each secret value replaced by a
    :class:`SecretOption`, so that pickles of them contain no secret.

    Under a secret name (:func:`~intake_earthscope.redact.is_secret_name`),
    strings, bytes and bytearrays are sealed (the reader gets back the same
    type), and so is any other object but None, booleans and numbers.
    Such an object, a botocore ``Credentials`` object for example, can then
    be read only in this process. A list or tuple under a secret name, such
    as aiohttp's ``auth`` pair of login and password, gets each of its items
    replaced. The values are kept in this process and registered for
    redaction (:func:`~intake_earthscope.redact.secret_texts`).
    """
    sealed: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, Mapping):
            sealed[name] = seal_options(value)
        elif name == "token" and isinstance(value, str) and value in _TOKEN_MODES:
            sealed[name] = value
        elif is_secret_name(name):
            sealed[name] = _sealed_value(value)
        else:
            sealed[name] = value
    return sealed


def _sealed_value(value: Any) -> Any:
    if isinstance(value, SecretOption | _SealedTuple):
        return value
    if isinstance(value, str):
        reference = _REFERENCE.fullmatch(value)
        if reference:
            return SecretOption(reference.group(2), reference.group(1) or "str")
        return SecretOption(keep_secret(value)) if value else value
    if isinstance(value, bytes | bytearray):
        kind = type(value).__name__
        return SecretOption(keep_secret(value), kind) if value else value
    if isinstance(value, list):
        return [_sealed_value(item) for item in value]
    if isinstance(value, tuple):
        items = tuple(_sealed_value(item) for item in value)
        # A named tuple such as aiohttp.BasicAuth checks its fields when it
        # is built, so it is built again from the values only.
        return _SealedTuple(type(value), items) if hasattr(value, "_fields") else items
    if value is None or isinstance(value, bool | int | float):
        return value
    # Any other object, such as a botocore Credentials object or an Azure
    # credential, stays in this process as a string would.
    return SecretOption(keep_secret(value), "object")


@dataclass(frozen=True)
class _SealedTuple:
    """A named tuple of :func:`seal_options`, with its items sealed."""

    kind: type
    items: tuple[Any, ...]


for _dumper in (yaml.Dumper, yaml.SafeDumper):
    yaml.add_representer(SecretOption, _represent_secret, Dumper=_dumper)
    yaml.add_representer(_SealedTuple, _represent_tuple, Dumper=_dumper)


def seal_init_options(storage_options: Any, init_kwargs: dict[str, Any]) -> Any:
    """Seal an intake source's ``storage_options``, also among its init arguments.

    intake keeps the init arguments (``_captured_init_kwargs``) for
    ``yaml()`` and pickles of the source, so the sealed options replace the
    caller's there. Returns the sealed options. None and values that are no
    mapping are returned unchanged, for the readers' own checks to reject.

    Raises
    ------
    CredentialsError
        If an option is a reference that ``yaml()`` wrote for a secret
        (``<secret sha256:...>``) and this process does not have the secret.
    """
    if not isinstance(storage_options, Mapping):
        return storage_options
    sealed = seal_options(storage_options)
    _check_references(sealed)
    if "storage_options" in init_kwargs:
        init_kwargs["storage_options"] = sealed
    return sealed


def _check_references(sealed: Mapping[str, Any]) -> None:
    """Raise if ``sealed`` options contain references that ``yaml()`` wrote
    for secrets that this process does not have.

    Secrets given as values were kept when they were sealed, so only such
    references can be missing.
    """
    written: list[str] = []
    _unsealed(sealed, written)
    if not written:
        return
    raise CredentialsError(
        f"the storage_options {', '.join(written)} are references "
        "(<secret sha256:...>) that yaml() of a source wrote in place of "
        "secrets, and this process does not have those secrets. Give the "
        "credentials again in storage_options, or in "
        f"{' and '.join(_CREDENTIAL_VARIABLES[:2])}, or replace them with "
        "storage_options={'profile': NAME} of an AWS profile"
    )


def unseal_options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Return sealed ``options`` (:func:`seal_options`) with their secret values.

    Raises
    ------
    CredentialsError
        If this process does not have every secret. The message names the
        options, ``where`` they read from and the fixes, never a value.
    """
    missing: list[str] = []
    unsealed = _unsealed(options, missing)
    if missing:
        raise _secrets_elsewhere(where, missing)
    return unsealed


def _unsealed(
    options: Mapping[str, Any], missing: list[str], prefix: str = ""
) -> dict[str, Any]:
    """Return ``options`` with the secret values this process has.

    The dotted names of the secrets it lacks are appended to ``missing``.
    """
    unsealed: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, Mapping):
            unsealed[name] = _unsealed(value, missing, f"{prefix}{name}.")
        else:
            unsealed[name] = _unsealed_value(value, missing, f"{prefix}{name}")
    return unsealed


def _unsealed_value(value: Any, missing: list[str], name: str) -> Any:
    if isinstance(value, SecretOption):
        secret = value.value()
        if secret is None:
            missing.append(name)
        return secret
    if isinstance(value, _SealedTuple):
        return value.kind(*_unsealed_items(value.items, missing, name))
    if isinstance(value, list | tuple) and any(
        isinstance(item, SecretOption) for item in value
    ):
        items = _unsealed_items(value, missing, name)
        return items if isinstance(value, list) else tuple(items)
    return value


def _unsealed_items(items: Sequence[Any], missing: list[str], name: str) -> list[Any]:
    return [
        _unsealed_value(item, missing, f"{name}[{index}]")
        for index, item in enumerate(items)
    ]


def _secrets_elsewhere(where: str, missing: Sequence[str]) -> CredentialsError:
    """Return the error for storage_options secrets that this process lacks."""
    names = ", ".join(missing)
    variables = " and ".join(_CREDENTIAL_VARIABLES[:2])
    return CredentialsError(
        f"the storage_options credentials ({names}) of {where} stay in the "
        "process that opened the data, so this "
        "process cannot read with them. Give the workers the same credentials "
        f"in {variables} (and {_CREDENTIAL_VARIABLES[2]}), which a "
        "LocalCluster's workers inherit where they are set before it starts. "
        "Or replace the keys with storage_options={'profile': NAME} of an AWS "
        "profile that the workers have, or start the cluster with "
        "processes=False"
    )


def has_credentials(options: Mapping[str, Any]) -> bool:
    """Return whether ``storage_options`` choose credentials themselves, at
    the top level as s3fs names them or in ``client_kwargs`` as botocore does."""
    if any(name in options for name in ("key", "secret", "token", "profile", "anon")):
        return True
    client_kwargs = options.get("client_kwargs") or {}
    return any(name in client_kwargs for name in _CLIENT_CREDENTIAL_NAMES)


# Credentials that botocore's client takes, which s3fs passes on from
# ``client_kwargs``.
_CLIENT_CREDENTIAL_NAMES = (
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
)


def object_size(spec: StorageSpec, key: str) -> int:
    """Return the size in bytes of an object (translating transport errors)."""
    return object_stat(spec, key)[0]


def object_stat(spec: StorageSpec, key: str) -> tuple[int, str]:
    """Return the size of an object and a tag that changes when it is rewritten.

    The tag is the ETag on S3 and HTTPS where the server sends one, the
    modification time in nanoseconds for local files, else ``""``. Both
    come from one HEAD request (translating transport errors).
    """
    path = spec.path(key)
    try:
        info = _retried(spec, f"HEAD {spec.url(key)}", lambda: _head(spec, key))
    except CredentialsError as error:
        named = _naming_object(error, spec, key)
        if named is error:
            # As in _named_failures, never an error raised from itself.
            raise
        raise named from error
    except EarthScopeError:
        # CredentialsError is a PermissionError too, and its message names
        # the scope or the missing storage_options secrets.
        raise
    except FileNotFoundError as error:
        raise _not_found(spec, "HEAD", key, error) from error
    except PermissionError as error:
        raise _access_denied(spec, f"reading {spec.url(key)}") from error
    except OSError as error:
        raise unexpected_failure(spec, key, error) from error
    except HTTPClientError as error:
        invalid = _undecodable_header("HEAD", key, error)
        if invalid is None:
            raise
        raise unexpected_failure(spec, key, invalid) from invalid
    return int(info["size"]), _version_tag(spec, path, info)


def _undecodable_header(
    method: str, key: str, error: HTTPClientError
) -> InvalidResponseError | None:
    """Return the error that names the object of a reply with a header that
    is not UTF-8 text, or None where ``error`` has another cause.

    aiobotocore (2.25) decodes every header of a reply as UTF-8 and wraps
    the UnicodeDecodeError in botocore's HTTPClientError, which names no
    object.
    """
    decoding = error.kwargs.get("error")
    if not isinstance(decoding, UnicodeDecodeError):
        return None
    invalid = InvalidResponseError(
        f"invalid response to {method} {key}: a header of the reply, such as "
        f"its ETag, is not UTF-8 text ({decoding}), so botocore cannot read "
        "the reply. Check the server at the endpoint, or a proxy in between"
    )
    invalid.__cause__ = error
    return invalid


def _head(spec: StorageSpec, key: str) -> dict[str, Any]:
    """Send a HEAD, renewing EarthScope credentials once after a bare 400.

    S3 rejects a HEAD signed with expired credentials with 400 and no body,
    so the reply cannot name the cause as a GET's does.
    """
    path, url = spec.path(key), spec.url(key)
    fs = spec.filesystem()
    # A listing may have cached an older size; ask the storage itself.
    fs.invalidate_cache(path)
    try:
        return _within_deadline(fs, "HEAD", url, "info", path)
    except OSError as error:
        if spec.token_source is None or _http_status(error) != 400:
            raise
    logger.debug("HEAD %s failed with 400; retrying with new credentials", path)
    spec.forget_credentials()
    fs = spec.filesystem()
    fs.invalidate_cache(path)
    return _within_deadline(fs, "HEAD", url, "info", path)


def _within_deadline(
    fs: fsspec.AbstractFileSystem,
    method: str,
    url: str,
    name: str,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """Call the filesystem method ``name``, giving up after ``attempt_seconds``.

    Socket timeouts bound each read from the connection only, so a server
    that trickles its reply could keep the request open indefinitely. An
    asynchronous filesystem (s3fs) runs the call on its loop, which cancels
    it at the deadline, and the HTTP ``method`` and ``url`` name the request
    in the resulting :class:`AttemptTimeout`. Other filesystems are called
    directly.
    """
    loop = getattr(fs, "loop", None)
    if not isinstance(fs, AsyncFileSystem) or loop is None:
        return getattr(fs, name)(*args, **kwargs)
    return _run_within_deadline(
        loop, method, url, getattr(fs, f"_{name}"), *args, **kwargs
    )


def _run_within_deadline(
    loop: Any,
    method: str,
    url: str,
    function: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> Any:
    """Run the coroutine function on ``loop``, cancelling it after
    ``attempt_seconds`` with an :class:`AttemptTimeout` that names the
    request."""
    seconds = retry_settings().attempt_seconds
    try:
        return sync(loop, function, *args, timeout=seconds, **kwargs)
    except FSTimeoutError as error:
        # fsspec's own error has no message.
        raise AttemptTimeout(url, seconds, method) from error


def _version_tag(spec: StorageSpec, path: str, info: Mapping[str, Any]) -> str:
    if spec.protocol == "file":
        try:
            return str(os.stat(path).st_mtime_ns)
        except OSError:
            return ""
    return _etag_version(info.get("ETag") or info.get("etag"))


def _etag_version(etag: object) -> str:
    """Return an ETag without its quotes and without the ``W/`` of a weak tag.

    A proxy may weaken the ETag of some replies only, such as those it
    compresses, and a GET's tag must match the HEAD's of the same object.
    """
    text = str(etag or "").strip()
    if text[:2] in ("W/", "w/"):
        text = text[2:]
    return text.strip('"')


def list_directory(spec: StorageSpec, prefix: str) -> tuple[str, ...]:
    """List the entry names directly under ``prefix`` (cached per process).

    A missing directory lists as empty, and a missing S3 bucket raises
    :class:`~intake_earthscope.errors.BucketNotFoundError`. Directory names
    come back without their trailing slash.
    """
    return _cached(
        _listing_cache,
        (spec.identity, prefix),
        lambda: _list_uncached(spec, prefix),
    )


def _cached(
    cache: dict[tuple[str, str], tuple[float, T]],
    key: tuple[str, str],
    compute: Callable[[], T],
) -> T:
    """Return the value of ``key`` stored less than LISTING_TTL_SECONDS ago,
    or compute and store it."""
    now = time.monotonic()
    with _listing_lock:
        cached = cache.get(key)
    if cached is not None and now - cached[0] < LISTING_TTL_SECONDS:
        return cached[1]

    value = compute()
    with _listing_lock:
        cache[key] = (now, value)
    return value


def list_directories(
    spec: StorageSpec, prefixes: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """List several prefixes concurrently; return names per prefix."""
    unique = list(dict.fromkeys(prefixes))
    if len(unique) <= 1:
        return {prefix: list_directory(spec, prefix) for prefix in unique}

    with ThreadPoolExecutor(max_workers=min(_LISTING_THREADS, len(unique))) as pool:
        results = pool.map(lambda prefix: list_directory(spec, prefix), unique)
        return dict(zip(unique, results, strict=True))


def drop_listings(older_than: float) -> None:
    """Forget the listings this process cached ``older_than`` seconds ago or
    earlier, so that a table fetched anew is built from listings no older."""
    now = time.monotonic()
    with _listing_lock:
        for key, (stored, _) in list(_listing_cache.items()):
            if now - stored >= older_than:
                del _listing_cache[key]


def clear_listing_cache() -> None:
    """Forget every cached listing and mirror layout hint of this process."""
    with _listing_lock:
        _listing_cache.clear()
        _layout_hints.clear()


# Maximum number of subdirectories of a local root= checked for the key
# layout, on each of the two levels below it. It covers a folder of a few
# mirrors, and a large tree costs no walk.
_LAYOUT_SUBDIRECTORIES = 100
# Maximum number of subdirectories of the root whose own subdirectories are
# listed, so the check lists at most this many directories plus the root.
_LAYOUT_LISTED_SUBDIRECTORIES = 10
# Directories of a key compared between the root and the directories near it.
_LAYOUT_DEPTH = 2

_layout_hints: dict[tuple[str, str], tuple[float, str]] = {}


def mirror_layout_hint(spec: StorageSpec, key: str) -> str:
    """Return advice where a local mirror's ``root=`` is a level off its layout.

    ``key`` is a key of the request, or a prefix of keys that ends in
    ``/``. The root is off where it lacks the leading directories of
    ``key``, such as ``miniseed/CH/``, but a directory near it contains
    them. Those checked are the two directories above the root, its first
    100 subdirectories by name, and then the first 100 subdirectories of
    its first 10 subdirectories. The advice names the directory found as
    the root to pass, and it is cached per process like listings.

    Returns
    -------
    str
        The advice, or ``""`` where the root contains the directories,
        nothing near it does, or the mirror is no local directory.

    Notes
    -----
    Only local directories are checked. On an object store the check would
    cost a listing per candidate prefix.
    """
    layout = "/".join(key.split("/")[:-1][:_LAYOUT_DEPTH])
    if not (spec.mirror and spec.protocol == "file" and layout):
        return ""

    return _cached(
        _layout_hints,
        (spec.root, layout),
        lambda: _layout_hint_uncached(spec.root or "/", layout),
    )


def _layout_hint_uncached(root: str, layout: str) -> str:
    if os.path.isdir(os.path.join(root, layout)):
        return ""
    for candidate in _layout_candidates(root):
        if os.path.isdir(os.path.join(candidate, layout)):
            logger.debug(
                "mirror layout %s/ found in %s, not %s", layout, candidate, root
            )
            return (
                f"the root {root} has no directory {layout}/, but {candidate} "
                f"has one, so pass root={candidate!r}"
            )
    return ""


def _layout_candidates(root: str) -> Iterator[str]:
    """Yield the directories near ``root``, nearest first, each once.

    These are the two directories above ``root``, then its first
    subdirectories, then the first subdirectories of those. Where ``root``
    is or passes through a symbolic link, the directories above its target
    are checked too, after those above the path as given. The second level
    is listed only when no nearer directory matched.
    """
    seen = {root}
    above = []
    for path in (root, os.path.realpath(root)):
        parent = os.path.dirname(path)
        above += [parent, os.path.dirname(parent)]
    children = _subdirectories(root)[:_LAYOUT_SUBDIRECTORIES]
    for path in [*above, *children]:
        if path not in seen:
            seen.add(path)
            yield path

    grandchildren: list[str] = []
    for child in children[:_LAYOUT_LISTED_SUBDIRECTORIES]:
        grandchildren += _subdirectories(child)
        if len(grandchildren) >= _LAYOUT_SUBDIRECTORIES:
            break
    for path in grandchildren[:_LAYOUT_SUBDIRECTORIES]:
        if path not in seen:
            seen.add(path)
            yield path


def _subdirectories(path: str) -> list[str]:
    """Return the subdirectories of ``path`` by name, or none if it cannot be read."""
    try:
        with os.scandir(path) as entries:
            return sorted(entry.path for entry in entries if entry.is_dir())
    except OSError:
        return []


def _list_uncached(spec: StorageSpec, prefix: str) -> tuple[str, ...]:
    # Fetching credentials may raise CredentialsError, which stays as it is.
    fs = spec.filesystem()
    path = spec.path(prefix.rstrip("/"))
    logger.debug("listing %s", spec.url(prefix))
    try:
        entries = _retried(
            spec,
            f"LIST {spec.url(prefix)}",
            lambda: _within_deadline(
                fs, "LIST", spec.url(prefix), "ls", path, detail=False, refresh=True
            ),
        )
    except FileNotFoundError as error:
        missing = _missing_bucket(spec, f"LIST {spec.url(prefix)}", error)
        if missing is not None:
            raise missing from error
        return ()
    except NotADirectoryError:
        return ()
    except PermissionError as error:
        raise _access_denied(spec, f"listing {spec.url(prefix)}") from error

    base = path.rstrip("/") + "/"
    names = []
    for entry in entries:
        entry = entry.rstrip("/")
        if entry.startswith(base):
            names.append(entry[len(base) :])
    return tuple(sorted(names))
