"""S3 object GETs, whole and ranged, sent as plain HTTP requests with urllib3.

Through s3fs, botocore spends about 1.1 ms of CPU time on each request
(endpoint rules, event hooks, response parsing), and s3fs more on each
megabyte it receives. The same GET sent with urllib3 costs about 0.4 ms (measured on a
loopback S3 server with 100 kB ranges, 2-core Xeon). A window read
makes hundreds of ranged GETs, and a day read moves hundreds of megabytes,
so on two cores that difference bounds both.

This module sends a GET itself, signed with botocore's SigV4 signer where
the tier has credentials, and checks a whole object against the
full-object checksum S3 returns, as botocore does. It serves only specs
whose every setting it reproduces (:func:`http_route`); the others keep
going through s3fs, and so do listings and HEAD requests. The errors it
raises are the ones s3fs raises for the same replies, so retries,
credential refresh and messages behave the same on both paths. The
exception is :class:`InvalidResponseError`, for a ranged reply whose
Content-Range differs from the range requested or whose Content-Length
values conflict.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import ipaddress
import logging
import os
import re
import socket
import threading
import time
import urllib.request
import xml.etree.ElementTree as ElementTree
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import awscrt.checksums
import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.httpsession import get_cert_path
from s3fs.errors import translate_boto_error

from intake_earthscope.errors import ObjectChangedError
from intake_earthscope.redact import redact
from intake_earthscope.retry import AttemptTimeout
from intake_earthscope.settings import retry_settings

if TYPE_CHECKING:
    from intake_earthscope.storage import StorageSpec

__all__ = [
    "CLIENT_VARIABLE",
    "ChecksumMismatchError",
    "HttpRoute",
    "IncompleteReadError",
    "InvalidResponseError",
    "RedirectError",
    "Reply",
    "check_content_range",
    "check_part_length",
    "clear_routes",
    "config_file_sets_endpoint",
    "forget_route",
    "http_route",
]

logger = logging.getLogger(__name__)

# Environment variable that names the client of S3 GETs: "urllib3" (the
# default, used where a route exists) or "s3fs" (used for every GET).
CLIENT_VARIABLE = "INTAKE_EARTHSCOPE_S3_CLIENT"
_CLIENTS = ("urllib3", "s3fs")

# storage_options that leave a GET unchanged or that this module applies.
# Any other option (a profile, requester pays, config_kwargs, ...) sends the
# spec's reads through s3fs, which understands it.
_HANDLED_OPTIONS = frozenset(
    {
        "anon",
        "key",
        "secret",
        "token",
        "client_kwargs",
        "default_block_size",
        "max_concurrency",
        "skip_instance_cache",
        "use_listings_cache",
        "listings_expiry_time",
    }
)
_HANDLED_CLIENT_KWARGS = frozenset({"endpoint_url", "region_name"})

# Variables that change where or how botocore sends a request. With any of
# them set, s3fs sends the request.
_ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
# Variables that choose the AWS config profile botocore reads, and its
# region. botocore reads both profile variables.
_CONFIG_VARIABLES = (
    "AWS_CONFIG_FILE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_DEFAULT_REGION",
)
_PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)
# Keys of an AWS config profile that change the endpoint, its addressing or
# its certificates.
_ENDPOINT_CONFIG_KEYS = frozenset(
    {
        "endpoint_url",
        "services",
        "s3",
        "use_fips_endpoint",
        "use_dualstack_endpoint",
        "ca_bundle",
    }
)

# Regions of the commercial AWS partition, whose S3 endpoints are
# BUCKET.s3.REGION.amazonaws.com. China, GovCloud and the isolated regions
# have other domains.
_COMMERCIAL_REGION = re.compile(r"^(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$")
_VIRTUAL_HOST_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")

# Size of each read from the socket. Parts this small come from the heap
# and are reused. Parts of a MiB are mapped and unmapped each time, and they
# cost more system time in A/B runs of the fetch benchmark (an estimate
# from a few runs on a noisy 2-core VM).
READ_BYTES = 64 * 1024
# Largest Content-Length that a body buffer is allocated for before the
# body arrives. Longer bodies are read in parts, as before the single
# buffer, so a server that announces more bytes than it sends makes a read
# allocate at most this many bytes that it never fills.
PREALLOCATE_BYTES = 256 * 1024 * 1024
# Idle connections kept per host. The dask threads and the range readers of
# a process may all read at once, so more connections than this are opened
# when needed and closed after use.
_POOL_CONNECTIONS = 64

# Per thread, ``_attempt.deadline`` is the monotonic time at which the GET
# that the thread sends gives up. The replies of this module's pool read it.
_attempt = threading.local()

_routes: dict[tuple[Any, ...], HttpRoute | None] = {}
# Identities of specs whose GETs S3 redirected.
_redirected: set[str] = set()
_routes_lock = threading.Lock()
_pools: dict[tuple[int, str], urllib3.PoolManager] = {}
_pools_lock = threading.Lock()


class RedirectError(Exception):
    """S3 redirected a GET (a bucket in another region, for example).

    botocore follows such redirects, so the caller reads through s3fs.
    """


class ChecksumMismatchError(OSError):
    """The bytes received do not match the checksum S3 stored for the object.

    The name marks it as transient for
    :func:`intake_earthscope.storage.is_transient`, because the bytes were
    damaged on the way and a repeated read gets them whole.
    """


class IncompleteReadError(OSError):
    """The server closed the connection before the body was complete.

    The name marks it as transient for
    :func:`intake_earthscope.storage.is_transient`, as botocore's error of
    the same name is.
    """


class InvalidResponseError(OSError):
    """The server sent a reply that cannot be read as the object's bytes.

    Raised for a 206 reply whose Content-Range is missing or differs from the
    range requested, and for conflicting Content-Length values. The name
    marks it as permanent for :func:`intake_earthscope.storage.is_transient`,
    so the read fails without a retry. A server or proxy that replies to a
    range with other bytes does so because of its configuration, so the
    same GET sent again costs time and gets the same reply.

    Ranged GETs sent through s3fs get the same checks in
    :mod:`intake_earthscope.storage`, because s3fs returns the bytes of a
    206 reply whatever its Content-Range contains.
    """


# Content-Range of a 206 reply to one range: its first and last byte, then
# the object's size, or "*" where the server does not know the size. The
# unit is case-insensitive (RFC 9110, section 14.1). Numbers of more than 19
# digits (past any S3 object size) are rejected before int() is called,
# because int() raises ValueError beyond 4300 digits.
_CONTENT_RANGE = re.compile(r"(?i:bytes) ([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19}|\*)")
# urllib3 2.x names the conflicting values in brackets at the end of its
# InvalidHeader message.
_CONFLICTING_VALUES = re.compile(r"\(([^()]*)\)\s*$")


@dataclass(frozen=True)
class Reply:
    """The body of a GET and what its headers tell of the object.

    Attributes
    ----------
    body : bytes or bytearray
        The bytes requested.
    size : int or None
        Size of the whole object: the total of a 206 reply's Content-Range,
        or the length of a 200 reply's body. None where a 206 reply gives
        the total as ``*``.
    etag : str
        The reply's ETag header as sent, or ``""``.
    """

    body: bytes | bytearray
    size: int | None
    etag: str


@dataclass(frozen=True)
class HttpRoute:
    """Target URL and signing of the GETs of one spec.

    Attributes
    ----------
    prefix : str
        URL that an object key, quoted, is appended to.
    region : str
        Region the requests are signed for.
    signed : bool
        Whether requests carry a SigV4 signature.
    """

    prefix: str
    region: str
    signed: bool

    def get(
        self,
        spec: StorageSpec,
        key: str,
        start: int | None,
        end: int | None,
        if_match: str = "",
    ) -> bytes | bytearray:
        """Fetch ``key`` whole, or its bytes ``[start, end)``.

        As :meth:`fetch`, returning the body only.
        """
        return self.fetch(spec, key, start, end, if_match).body

    def fetch(
        self,
        spec: StorageSpec,
        key: str,
        start: int | None,
        end: int | None,
        if_match: str = "",
    ) -> Reply:
        """Fetch ``key`` whole, or its bytes ``[start, end)``, with the
        object's size and ETag as the reply gives them.

        Without ``end`` the range runs to the end of the object. A whole
        object is checked against its full-object checksum where S3 returns
        one (CRC64NVME, CRC32C, CRC32, SHA-1 or SHA-256). ``if_match``, a
        strong ETag as a reply sent it, is sent as ``If-Match``, so that the
        bytes come from that version of the object or not at all.

        Raises
        ------
        FileNotFoundError, PermissionError, OSError
            As s3fs raises them for the same S3 error reply, with the
            botocore ``ClientError`` as the cause.
        TimeoutError
            If a read timed out or the attempt ran past ``attempt_seconds``.
        ConnectionError
            If the connection failed or was reset.
        IncompleteReadError
            If the body ended before its ``Content-Length``.
        ChecksumMismatchError
            If a whole object's bytes do not match its checksum.
        InvalidResponseError
            If a 206 reply has no Content-Range, a Content-Range other than
            the range requested or a body of another length, or if the
            reply's Content-Length values conflict.
        ObjectChangedError
            If the object no longer has the ETag ``if_match``.
        """
        whole = start is None and end is None
        start = start or 0
        if end is not None and end <= start:
            return Reply(b"", None, "")

        url = self.prefix + quote(key, safe="/~")
        if whole:
            headers = {"x-amz-checksum-mode": "ENABLED"}
        else:
            last = "" if end is None else str(end - 1)
            headers = {"Range": f"bytes={start}-{last}"}
        if if_match:
            headers["If-Match"] = if_match
        if self.signed:
            headers = self._signed(spec, url, headers)

        settings = retry_settings()
        deadline = time.monotonic() + settings.attempt_seconds
        _attempt.deadline = deadline
        try:
            response = _send(
                url, headers, settings.connect_timeout, settings.read_timeout
            )
        except TimeoutError as error:
            if time.monotonic() >= deadline:
                raise AttemptTimeout(url, settings.attempt_seconds) from error
            raise
        except urllib3.exceptions.InvalidHeader as error:
            raise _conflicting_lengths(key, error) from error
        if 300 <= response.status < 400:
            response.close()
            raise RedirectError(
                f"GET {url} was redirected (HTTP {response.status}) to "
                f"{response.headers.get('Location') or 'another endpoint'}"
            )
        if response.status == HTTPStatus.PRECONDITION_FAILED and if_match:
            response.close()
            raise ObjectChangedError(
                f"{key} changed while it was read: it no longer has the ETag "
                f"{if_match} of its first read"
            )
        if response.status not in ((200,) if whole else (200, 206)):
            raise _error_for(response, url)

        sent_range = None
        if response.status == 206:
            sent_range = _check_content_range(response, key, start, end)

        largest = end - start if end is not None and response.status == 206 else None
        body = _read_body(response, url, deadline, settings.attempt_seconds, largest)
        etag = str(response.headers.get("ETag") or "")
        if whole:
            _verify_checksum(response, body, url)
            return Reply(body, len(body), etag)
        if sent_range is not None:
            first_byte, last_byte, size = sent_range
            check_part_length(body, (first_byte, last_byte), key)
            return Reply(body, size, etag)
        # The server ignored the range and sent the whole object.
        return Reply(body[start:end], len(body), etag)

    def _signed(
        self, spec: StorageSpec, url: str, headers: dict[str, str]
    ) -> dict[str, str]:
        """Return ``headers`` with a SigV4 signature of a GET of ``url``."""
        request = AWSRequest(method="GET", url=url, headers=headers)
        S3SigV4Auth(_credentials(spec), "s3", self.region).add_auth(request)
        return dict(request.headers.items())


def _check_content_range(
    response: urllib3.BaseHTTPResponse, key: str, start: int, end: int | None
) -> tuple[int, int, int | None]:
    """Check the Content-Range of a 206 reply as :func:`check_content_range`
    does, and close the connection where it fails, because the body is left
    unread."""
    try:
        return check_content_range(
            response.headers.get("Content-Range"), key, start, end
        )
    except InvalidResponseError:
        response.close()
        raise


def check_content_range(
    value: str | None, key: str, start: int, end: int | None
) -> tuple[int, int, int | None]:
    """Return the first and last byte of a 206 reply with the Content-Range
    ``value``, checked against the request of ``key``, and the object's size
    (None where the reply gives ``*``).

    The reply must start at ``start``. It must end at ``end - 1``, or at
    the object's last byte where the object ends before ``end``. A reply
    whose Content-Range gives the size as ``*`` may end earlier, because
    then the end of the object is unknown.

    Raises
    ------
    InvalidResponseError
        If the Content-Range is missing (``value`` is None), malformed or
        another range. The message names ``key`` and both ranges.
    """
    requested = f"bytes={start}-{'' if end is None else end - 1}"
    if value is None:
        # HTTP requires a Content-Range in a 206 reply to one range (RFC 9110),
        # because without it the offset of the bytes is unknown.
        raise InvalidResponseError(
            f"invalid response to GET {key}: the 206 reply to Range {requested} "
            "has no Content-Range header, so the position of its bytes is "
            "unknown. Check the server at the endpoint, or a proxy in between"
        )

    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None or not _range_agrees(match, start, end):
        # A header can be kilobytes long, so the message shows its start.
        # Secrets are replaced first, so none is cut into a part that no
        # later redaction recognises.
        redacted = redact(value)
        quoted = redacted if len(redacted) <= 80 else f"{redacted[:77]}..."
        raise InvalidResponseError(
            f"invalid response to GET {key}: Range {requested} was requested, "
            f"but the reply has Content-Range {quoted!r}. Reading it would "
            "place bytes at the wrong offsets, so check the server at the "
            "endpoint, or a proxy in between"
        )
    size = None if match[3] == "*" else int(match[3])
    return int(match[1]), int(match[2]), size


def _range_agrees(match: re.Match[str], start: int, end: int | None) -> bool:
    """Return whether a parsed Content-Range is the reply to ``[start, end)``."""
    first, last = int(match[1]), int(match[2])
    size = None if match[3] == "*" else int(match[3])
    if first != start or last < first:
        return False
    if size is not None and last >= size:
        return False

    if end is None:
        return size is None or last == size - 1
    if last == end - 1:
        return True
    # A range past the end of the object ends at its last byte.
    ends_object = size is not None and last == size - 1
    return last < end - 1 and (size is None or ends_object)


def check_part_length(
    body: bytes | bytearray, sent_range: tuple[int, int], key: str
) -> None:
    """Raise InvalidResponseError unless ``body`` fills its Content-Range."""
    first, last = sent_range
    if len(body) != last - first + 1:
        raise InvalidResponseError(
            f"invalid response to GET {key}: the reply has Content-Range bytes "
            f"{first}-{last} ({last - first + 1} bytes) but a body of "
            f"{len(body)} bytes. Check the server at the endpoint, or a proxy "
            "in between"
        )


def _conflicting_lengths(
    key: str, error: urllib3.exceptions.InvalidHeader
) -> InvalidResponseError:
    """Return the error for a reply with conflicting Content-Length values."""
    match = _CONFLICTING_VALUES.search(str(error))
    values = match[1] if match else str(error)
    return InvalidResponseError(
        f"invalid response to GET {key}: the reply has conflicting "
        f"Content-Length values ({values}), so the length of its body is "
        "unknown. Check the server at the endpoint, or a proxy in between"
    )


def http_route(spec: StorageSpec) -> HttpRoute | None:
    """Return the route of the spec's GETs, or None to use s3fs.

    A route exists for S3 specs read anonymously or with explicit or
    EarthScope credentials. The endpoint must be an IP address or the
    endpoint of a commercial AWS region. No proxy and no endpoint setting of
    the AWS configuration may apply, and ``INTAKE_EARTHSCOPE_S3_CLIENT``
    must not be ``s3fs``. The route is cached per spec and environment.

    Raises
    ------
    ValueError
        If ``INTAKE_EARTHSCOPE_S3_CLIENT`` names no known client.
    """
    if spec.protocol != "s3" or _chosen_client() == "s3fs":
        return None
    identity = spec.identity
    if identity in _redirected:
        return None

    cache_key = (
        identity,
        spec.token_source is not None,
        tuple(os.environ.get(name) for name in _PROXY_VARIABLES),
        tuple(os.environ.get(name) for name in _ENDPOINT_VARIABLES),
        _config_variables(),
    )
    with _routes_lock:
        if cache_key in _routes:
            return _routes[cache_key]

    route = _build_route(spec)
    logger.debug(
        "GETs of %s go through %s",
        spec.describe(),
        "urllib3" if route is not None else "s3fs",
    )
    with _routes_lock:
        _routes[cache_key] = route
    return route


def _chosen_client() -> str:
    """Return the client that ``INTAKE_EARTHSCOPE_S3_CLIENT`` names."""
    text = os.environ.get(CLIENT_VARIABLE, "").strip()
    if not text:
        return _CLIENTS[0]
    if text.lower() not in _CLIENTS:
        raise ValueError(
            f"invalid {CLIENT_VARIABLE}={text!r}: expected 'urllib3' (the "
            "default) or 's3fs'"
        )
    return text.lower()


def _build_route(spec: StorageSpec) -> HttpRoute | None:
    options = dict(spec.storage_options)
    client_kwargs = dict(options.get("client_kwargs") or {})
    if not set(options) <= _HANDLED_OPTIONS:
        return None
    if not set(client_kwargs) <= _HANDLED_CLIENT_KWARGS:
        return None

    region = client_kwargs.get("region_name") or spec.region
    endpoint = client_kwargs.get("endpoint_url") or spec.endpoint_url
    signed = _is_signed(spec, options)
    if signed is None or _endpoint_configured(bool(endpoint)):
        return None

    if endpoint:
        prefix = _path_style_prefix(str(endpoint), spec.root)
        # botocore signs for the region of the AWS configuration, else for
        # us-east-1.
        region = region or _configured_region(*_config_variables()) or "us-east-1"
    else:
        prefix = _aws_prefix(spec.root, region)
    if prefix is None or region is None or _proxied(prefix):
        return None
    return HttpRoute(prefix, str(region), signed)


def _is_signed(spec: StorageSpec, options: dict[str, Any]) -> bool | None:
    """Return whether requests are signed, or None for botocore's own lookup."""
    if options.get("anon"):
        # s3fs drops the credentials of a filesystem with anon=True.
        return False
    if spec.token_source is not None and spec.scope is not None:
        return True
    if options.get("key") and options.get("secret"):
        return True
    if "anon" not in options and spec.anonymous and "key" not in options:
        return False
    return None


def _path_style_prefix(endpoint: str, root: str) -> str | None:
    """Return ``endpoint/bucket/`` for an endpoint given as an IP address.

    botocore addresses such an endpoint path-style too. For a host name it
    may put the bucket into the host instead, so those go through s3fs.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or parts.hostname is None:
        return None
    if parts.path not in ("", "/") or parts.query:
        return None
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None
    bucket, _, folder = root.partition("/")
    prefix = f"{parts.scheme}://{parts.netloc}/{quote(bucket, safe='')}/"
    return prefix + (quote(folder.strip("/"), safe="/~") + "/" if folder else "")


def _aws_prefix(root: str, region: str | None) -> str | None:
    """Return ``https://bucket.s3.region.amazonaws.com/`` where it is valid."""
    bucket, _, folder = root.partition("/")
    if region is None or not _COMMERCIAL_REGION.match(region):
        return None
    if not _VIRTUAL_HOST_BUCKET.match(bucket) or "--" in bucket:
        return None
    prefix = f"https://{bucket}.s3.{region}.amazonaws.com/"
    return prefix + (quote(folder.strip("/"), safe="/~") + "/" if folder else "")


def _proxied(url: str) -> bool:
    """Return whether the environment sends requests to ``url`` through a proxy."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if parts.scheme not in proxies and "all" not in proxies:
        return False
    return not urllib.request.proxy_bypass(parts.netloc)


def _endpoint_configured(explicit: bool) -> bool:
    """Return whether a variable or the AWS config profile sets the endpoint.

    With an ``explicit`` endpoint, the endpoint variables do not count,
    because botocore lets the explicit one win.
    """
    variables = {name for name in _ENDPOINT_VARIABLES if os.environ.get(name)}
    if explicit:
        variables -= {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}
    if variables:
        return True
    return _profile_sets_endpoint()


def config_file_sets_endpoint() -> bool:
    """Return whether the AWS config profile sets an S3 endpoint URL.

    The URL may be the profile's ``endpoint_url`` or one in the section that
    its ``services`` key names.
    """
    keys = _profile_keys(*_config_variables())
    return keys is not None and bool({"endpoint_url", "services"} & keys)


def _config_variables() -> tuple[str | None, ...]:
    return tuple(os.environ.get(name) for name in _CONFIG_VARIABLES)


def _profile_sets_endpoint() -> bool:
    """Return whether the AWS config profile sets the endpoint, or is unreadable."""
    keys = _profile_keys(*_config_variables())
    return keys is None or bool(_ENDPOINT_CONFIG_KEYS & keys)


@lru_cache(maxsize=8)
def _profile_keys(*config_variables: str | None) -> frozenset[str] | None:
    """Return the keys of the AWS config profile, or None if it cannot be read.

    botocore reads the profile from the environment itself. The arguments,
    the values of ``_CONFIG_VARIABLES``, serve only as the cache key.
    """
    import botocore.session

    try:
        scoped = botocore.session.Session().get_scoped_config()
    except Exception as error:  # noqa: BLE001 - botocore will report it on its path
        logger.debug(
            "AWS config cannot be read (%s), so GETs go through s3fs",
            type(error).__name__,
        )
        return None
    return frozenset(scoped)


@lru_cache(maxsize=8)
def _configured_region(*config_variables: str | None) -> str | None:
    """Return the region botocore takes from the environment or the profile.

    The arguments, the values of ``_CONFIG_VARIABLES``, serve only as the
    cache key.
    """
    import botocore.session

    region = botocore.session.Session().get_config_variable("region")
    return str(region) if region else None


def _credentials(spec: StorageSpec) -> Credentials:
    """Return the signing credentials of the spec."""
    if spec.token_source is not None and spec.scope is not None:
        found = spec.earthscope_credentials()
        return Credentials(found.key, found.secret, found.token)
    # The spec contains digests of the storage_options secrets. The values are
    # registered for redaction wherever a process has them (botocore's signer
    # logs the session token at DEBUG level), and a process without them
    # gets CredentialsError here.
    options = spec.user_options()
    return Credentials(options["key"], options["secret"], options.get("token"))


class _DeadlineSocketReader(io.RawIOBase):
    """Socket reads that each wait at most the time the attempt has left.

    Socket timeouts bound each wait only. Without this, a server that sends
    its status line, headers or body a byte at a time, each within the read
    timeout, keeps the GET open for as long as it goes on sending.
    """

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._deadline = deadline
        # urllib3 sets the read timeout on the socket before the reply.
        self._read_timeout = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the attempt deadline passed")
        wait = left if self._read_timeout is None else min(self._read_timeout, left)
        self._sock.settimeout(wait)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """A reply read under the deadline of the attempt that this thread sends."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline = getattr(_attempt, "deadline", None)
        if deadline is not None:
            # detach() hands over the socket file that makefile() opened
            # without closing it, so the socket stays open while it is read.
            raw = self.fp.detach()
            self.fp = io.BufferedReader(_DeadlineSocketReader(raw, sock, deadline))


class _HTTPConnection(urllib3.connection.HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = _DeadlineResponse


class _HTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def _pool() -> urllib3.PoolManager:
    """Return this process's connection pool (a forked child makes its own).

    HTTPS servers are verified against ``AWS_CA_BUNDLE`` where it is set,
    as botocore does, and against botocore's default bundle otherwise.
    """
    bundle = os.environ.get("AWS_CA_BUNDLE") or get_cert_path(True)
    pool_key = (os.getpid(), bundle)
    with _pools_lock:
        pool = _pools.get(pool_key)
        if pool is None:
            pool = urllib3.PoolManager(
                num_pools=16,
                maxsize=_POOL_CONNECTIONS,
                cert_reqs="CERT_REQUIRED",
                ca_certs=bundle,
            )
            pool.pool_classes_by_scheme = {
                "http": _HTTPConnectionPool,
                "https": _HTTPSConnectionPool,
            }
            _pools[pool_key] = pool
    return pool


def _send(
    url: str, headers: dict[str, str], connect_timeout: float, read_timeout: float
) -> urllib3.BaseHTTPResponse:
    """Send a GET; turn urllib3's transport errors into the builtin ones.

    The path goes out as it is. ``PoolManager.request`` would resolve "."
    and ".." segments, which are ordinary characters of S3 keys. The body
    is returned as stored, without decoding a Content-Encoding, as botocore
    returns it.
    """
    try:
        connection = _pool().connection_from_url(url)
        return connection.urlopen(
            "GET",
            urlsplit(url).path,
            headers=headers,
            preload_content=False,
            decode_content=False,
            retries=False,
            redirect=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        )
    except urllib3.exceptions.NewConnectionError as error:
        raise ConnectionRefusedError(
            f"cannot connect to {urlsplit(url).netloc}"
        ) from error
    except urllib3.exceptions.TimeoutError as error:
        raise TimeoutError(f"GET {url} timed out") from error
    except urllib3.exceptions.InvalidHeader:
        # urllib3 raises it for conflicting Content-Length values. The server
        # replied, so the caller reports an invalid response, not a failed
        # connection.
        raise
    except urllib3.exceptions.HTTPError as error:
        raise ConnectionError(f"GET {url} failed: {type(error).__name__}") from error


def _read_body(
    response: urllib3.BaseHTTPResponse,
    url: str,
    deadline: float,
    seconds: float,
    largest: int | None = None,
) -> bytes | bytearray:
    """Read the whole body, giving up at the deadline of the attempt.

    Each socket read waits at most the read timeout or the time the attempt
    has left, whichever is shorter (:class:`_DeadlineSocketReader`). A body
    of known length is read straight into one buffer of that length and
    returned as a ``bytearray``. Reading it in parts and joining them cost
    about twice the user CPU time (27 MB GETs from a loopback file server,
    2-core VM, an estimate from a few runs).

    The buffer is allocated before any byte arrives, so only a length of at
    most ``largest`` (the size of the range requested) and
    :data:`PREALLOCATE_BYTES` is trusted for it. A longer body is read in
    parts, and a false Content-Length then costs only the bytes received.
    """
    # urllib3 keeps http.client's reply as ``_fp``, and that reply stores
    # the parsed Content-Length as ``length``.
    source = getattr(response, "_fp", None)
    length = getattr(source, "length", None)
    if not isinstance(length, int) or not hasattr(source, "readinto"):
        # A chunked reply, or a urllib3 version without ``_fp``.
        return _read_parts(response, url, deadline, seconds)
    if length > min(largest or PREALLOCATE_BYTES, PREALLOCATE_BYTES):
        return _read_parts(response, url, deadline, seconds)

    body = bytearray(length)
    received = _read_into(source, memoryview(body), response, url, deadline, seconds)
    if received != length:
        response.close()
        raise IncompleteReadError(f"GET {url} ended after {received} of {length} bytes")
    response.release_conn()
    return body


def _read_into(
    source: Any,
    buffer: memoryview,
    response: urllib3.BaseHTTPResponse,
    url: str,
    deadline: float,
    seconds: float,
) -> int:
    """Fill ``buffer`` from http.client's reply ``source``; return the count.

    urllib3 is bypassed here, so its translations are made here: a socket
    timeout becomes :class:`TimeoutError` (or AttemptTimeout past the
    deadline) and a reset connection an :class:`IncompleteReadError`.
    """
    received = 0
    try:
        while received < len(buffer):
            count = source.readinto(buffer[received:])
            if not count:
                break
            received += count
            if time.monotonic() > deadline:
                raise AttemptTimeout(url, seconds)
    except AttemptTimeout:
        response.close()
        raise
    except TimeoutError as error:
        response.close()
        if time.monotonic() >= deadline:
            raise AttemptTimeout(url, seconds) from error
        raise TimeoutError(f"GET {url} timed out") from error
    except OSError as error:
        response.close()
        raise IncompleteReadError(
            f"GET {url} ended after {received} bytes: {type(error).__name__}"
        ) from error
    return received


def _read_parts(
    response: urllib3.BaseHTTPResponse, url: str, deadline: float, seconds: float
) -> bytes:
    """Read a body of unknown length in parts, giving up at the deadline."""
    parts = []
    received = 0
    try:
        while True:
            part = response.read1(READ_BYTES)
            if not part:
                break
            parts.append(part)
            received += len(part)
            if time.monotonic() > deadline:
                raise AttemptTimeout(url, seconds)
    except urllib3.exceptions.TimeoutError as error:
        response.close()
        if time.monotonic() >= deadline:
            raise AttemptTimeout(url, seconds) from error
        raise TimeoutError(f"GET {url} timed out") from error
    except urllib3.exceptions.HTTPError as error:
        response.close()
        raise IncompleteReadError(
            f"GET {url} ended after {received} bytes: {type(error).__name__}"
        ) from error
    except TimeoutError:
        response.close()
        raise

    # urllib3 parses the Content-Length as RFC 9110 allows ("10, 10" is 10),
    # ignores it in a chunked reply, and counts down what is left of it.
    left = response.length_remaining
    if left:
        response.close()
        raise IncompleteReadError(
            f"GET {url} ended after {received} of {received + left} bytes"
        )
    response.release_conn()
    # CPython returns a lone bytes part itself rather than a copy.
    return b"".join(parts)


def _verify_checksum(
    response: urllib3.BaseHTTPResponse, body: bytes | bytearray, url: str
) -> None:
    """Check ``body`` against the first full-object checksum S3 sent for it.

    A checksum of a multipart object ends in ``-N`` and covers the parts'
    checksums, not the bytes, so it is skipped, as botocore skips it.
    """
    for header, digest in _CHECKSUMS.items():
        sent = response.headers.get(header)
        if sent is None or "-" in sent:
            continue
        computed = base64.b64encode(digest(body)).decode()
        if computed != sent:
            raise ChecksumMismatchError(
                f"GET {url}: the {header.removeprefix('x-amz-checksum-')} of the "
                f"{len(body)} bytes received is {computed}, the object's is {sent}"
            )
        return


def _crc32(data: bytes | bytearray) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def _crc32c(data: bytes | bytearray) -> bytes:
    return awscrt.checksums.crc32c(data).to_bytes(4, "big")


def _crc64nvme(data: bytes | bytearray) -> bytes:
    return awscrt.checksums.crc64nvme(data).to_bytes(8, "big")


# Full-object checksums that S3 returns when asked with x-amz-checksum-mode,
# in botocore's order of preference. awscrt, which earthscope-sdk requires,
# computes CRC32C and CRC64NVME, as it does for botocore on the s3fs path.
_CHECKSUMS: dict[str, Callable[[bytes | bytearray], bytes]] = {
    "x-amz-checksum-crc64nvme": _crc64nvme,
    "x-amz-checksum-crc32c": _crc32c,
    "x-amz-checksum-crc32": _crc32,
    "x-amz-checksum-sha1": lambda data: hashlib.sha1(data).digest(),
    "x-amz-checksum-sha256": lambda data: hashlib.sha256(data).digest(),
}


def _error_for(response: urllib3.BaseHTTPResponse, url: str) -> OSError:
    """Return the error s3fs raises for this S3 error reply."""
    # An error body is small. The connection is closed rather than drained,
    # because error replies are rare and a new connection costs little.
    try:
        body = response.read(64 * 1024, decode_content=False) or b""
    except urllib3.exceptions.HTTPError:
        # The body broke off, so the status alone names the error.
        body = b""
    response.close()
    code, message = _error_fields(body, response.status, response.reason or "")
    logger.debug("GET %s: HTTP %d %s", url, response.status, code)
    client_error = ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": response.status},
        },
        "GetObject",
    )
    return translate_boto_error(client_error)


def _error_fields(body: bytes, status: int, reason: str) -> tuple[str, str]:
    """Return the code and message of an S3 error body, as botocore reads them.

    A body that is not S3's error XML gives the status as the code and the
    reason phrase as the message.
    """
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return str(status), reason
    code = root.findtext("Code") or str(status)
    message = root.findtext("Message") or reason
    return code, message


def forget_route(spec: StorageSpec) -> None:
    """Send the spec's GETs through s3fs for the rest of the process."""
    with _routes_lock:
        _redirected.add(spec.identity)


def clear_routes() -> None:
    """Forget the cached routes (after the environment changed in a test)."""
    with _routes_lock:
        _routes.clear()
        _redirected.clear()
    _profile_keys.cache_clear()
    _configured_region.cache_clear()
