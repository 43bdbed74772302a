"""HTTP layer of the EarthScope web services: token policy, redirects, GAGE files.

A :class:`WebServiceSpec` names the service URL, the hosts that may receive the
EarthScope bearer token and where the token comes from. It contains no secret,
so it pickles into dask graphs; each process fetches its own token with
:func:`intake_earthscope.auth.access_token` when a request needs one.

Token policy
------------
The ``Authorization: Bearer`` header goes to a URL only when its host matches
``allowed_hosts`` and the URL uses HTTPS. Plain HTTP is accepted only for
loopback hosts (``localhost``, ``127.0.0.1``, ``::1``), which tests use.

Redirects are followed here, at most :data:`MAX_REDIRECTS` of them, and never
by httpx. A redirect to a host outside ``allowed_hosts`` is followed without
the token, because archives may hand out downloads from other hosts (an object
store URL that carries its own signature, for example) that need no token and
must not see it. Once a redirect chain
has left the allowed hosts, the token is not sent again on that chain, even
if a later redirect points back to an allowed host. So a foreign server
cannot make this process send the token to a URL of its choosing.

Importing this module adds a filter to the httpx and httpcore loggers that
redacts secret query values (signatures, session tokens) in their records.

Each hop is retried on a transient failure (a 5xx response, a failed or reset
connection, a timeout, a body shorter than announced) with the backoff and
budget of :mod:`intake_earthscope.retry`; httpx itself never retries. A 4xx
response is never repeated. Connect and read timeouts come from
:func:`intake_earthscope.settings.retry_settings`, and ``WebServiceSpec.timeout``
overrides the read timeout.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

import httpx

from intake_earthscope import __version__
from intake_earthscope.auth import TokenSource, access_token
from intake_earthscope.errors import (
    AccessDeniedError,
    AuthenticationError,
    InvalidRequestError,
    ObjectNotFoundError,
    WebServiceError,
)
from intake_earthscope.redact import redact
from intake_earthscope.retry import RetriesExhausted, call_with_retries
from intake_earthscope.settings import retry_settings

__all__ = [
    "MAX_REDIRECTS",
    "WebServiceSpec",
    "close_client",
    "https_get",
]

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# Values of query parameters whose names contain one of these words are
# replaced by "[redacted]" in logs and messages: a signed download URL
# carries its signature and session token in the query.
_SECRET_PARAMETER = re.compile(
    r"(?P<name>[?&][^=&#\s]*"
    r"(?:auth|credential|key|password|policy|secret|sig|token)"
    r"[^=&#\s]*=)[^&#\s'\"]*",
    re.IGNORECASE,
)

# httpx logs every request URL at INFO, and httpcore's DEBUG traces include
# response headers such as a redirect's Location.
_LIBRARY_LOGGERS = ("httpx", "httpcore.http11", "httpcore.http2")

EXCERPT_LENGTH = 300


@dataclass(frozen=True)
class WebServiceSpec:
    """Location of one web service and the hosts that may receive the token.

    The spec contains no secret, so ``repr`` and ``pickle`` show only the URL,
    the host patterns, where the token comes from and the timeout.

    Attributes
    ----------
    base_url : str
        Service root ending in ``/``, such as
        ``"https://service.earthscope.org/fdsnws/dataselect/1/"``.
    allowed_hosts : tuple of str
        Host names, or ``*.domain`` patterns, that may receive the bearer
        token. A pattern matches subdomains only, so ``*.earthscope.org``
        does not match ``earthscope.org`` itself.
    token_source : TokenSource or None
        Where each process finds its EarthScope token; ``None`` sends no token.
    timeout : float or None
        Seconds to wait for each read; ``None`` takes
        ``INTAKE_EARTHSCOPE_READ_TIMEOUT`` (30 s by default).

    Raises
    ------
    InvalidRequestError
        If ``base_url`` is not an HTTP(S) URL ending in ``/``, a host pattern
        could match hosts of any owner (``*`` or ``*.org``), or ``timeout``
        is given and not positive.
    """

    base_url: str
    allowed_hosts: tuple[str, ...] = ("earthscope.org", "*.earthscope.org")
    token_source: TokenSource | None = None
    timeout: float | None = None

    def __post_init__(self) -> None:
        _check_base_url(self.base_url)

        hosts = _normalise_hosts(self.allowed_hosts)
        # YAML gives lists, and a tuple keeps the frozen spec hashable.
        object.__setattr__(self, "allowed_hosts", hosts)

        if self.timeout is None:
            return
        if not (isinstance(self.timeout, int | float) and self.timeout > 0):
            raise InvalidRequestError(
                f"invalid timeout={self.timeout!r}: give a positive number of seconds"
            )

    def allows_token(self, url: httpx.URL | str) -> bool:
        """Return whether the bearer token may be sent to ``url``."""
        url = httpx.URL(url)
        host = url.host.lower()
        secure = url.scheme == "https" or host in _LOOPBACK_HOSTS
        return secure and any(_host_matches(host, p) for p in self.allowed_hosts)


def https_get(spec: WebServiceSpec, path: str) -> bytes:
    """Fetch one file below ``spec.base_url``, such as a GAGE RINEX file.

    Parameters
    ----------
    spec : WebServiceSpec
        The file server, such as
        ``https://gage-data.earthscope.org/archive/gnss/``.
    path : str
        Relative path below ``base_url``, not percent-encoded, such as
        ``"rinex/obs/2024/001/p0010010.24d.Z"``. Characters such as ``#``
        and spaces are encoded here.

    Returns
    -------
    bytes
        The file contents.

    Raises
    ------
    InvalidRequestError
        If ``path`` is absolute, contains ``..`` or names another host.
    ObjectNotFoundError
        If the server has no such file (404).
    AuthenticationError
        If the server rejects the token or needs one (401): run ``es login``.
    AccessDeniedError
        If the account has no access to the file (403).
    WebServiceError
        On a server error (5xx), another unexpected status, more than
        :data:`MAX_REDIRECTS` redirects, a timeout or a failed connection.
    """
    url = service_url(spec, _quoted_path(path))
    return get(spec, url, None, accepted=(200,)).content


def close_client() -> None:
    """Close this process's HTTP connections; the next request opens new ones."""
    global _client
    with _client_lock:
        client, _client = _client, None
    if client is not None:
        client.close()


# One httpx client per process, because its connection pool is safe to share
# between threads. A forked child builds its own (see _http_client).
_client_lock = threading.Lock()
_client: httpx.Client | None = None
_client_pid: int | None = None


def _http_client() -> httpx.Client:
    global _client, _client_pid
    with _client_lock:
        if _client is None or _client_pid != os.getpid():
            # A child process must not close the parent's sockets, so a client
            # inherited through fork is dropped, not closed.
            _client = httpx.Client(
                follow_redirects=False,
                headers={"User-Agent": f"intake-earthscope/{__version__}"},
            )
            _client_pid = os.getpid()
        return _client


def get(
    spec: WebServiceSpec,
    url: httpx.URL,
    params: Mapping[str, str] | None,
    accepted: Collection[int],
) -> httpx.Response:
    """Send a GET, following redirects under the token policy of the module.

    Returns the final response when its status is in ``accepted`` and raises
    the matching error otherwise.
    """
    client = _http_client()
    target = httpx.URL(url, params=params) if params else url
    token: str | None = None
    trusted_chain = True

    for _ in range(MAX_REDIRECTS + 1):
        # Once a hop leaves the allowed hosts, no later hop gets the token.
        trusted_chain = trusted_chain and spec.allows_token(target)
        token_source = spec.token_source if trusted_chain else None
        if token_source is not None and token is None:
            token = access_token(token_source)
        send_token = token_source is not None

        headers = {"Authorization": f"Bearer {token}"} if send_token else {}
        response = _send_retried(client, target, headers, spec, send_token)
        if response.status_code not in _REDIRECT_STATUSES:
            break
        target = _redirect_target(response, target)
    else:
        raise WebServiceError(
            f"too many redirects (more than {MAX_REDIRECTS}) starting at "
            f"{redacted_url(url)}, last to {redacted_url(target)}"
        )

    if response.status_code not in accepted:
        _raise_for_status(response, spec, send_token)
    return response


class _TransientFailure(WebServiceError):
    """A failed connection, a timeout or a short body: worth another try."""


class _ServerError(Exception):
    """Internal: a 5xx response, raised so that the hop is retried."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _send_retried(
    client: httpx.Client,
    url: httpx.URL,
    headers: Mapping[str, str],
    spec: WebServiceSpec,
    send_token: bool,
) -> httpx.Response:
    """Send one hop; retry transient failures under the retry budget.

    After the budget, the last 5xx response is returned (the caller raises
    for its status), or the last transport failure is raised.
    """
    settings = retry_settings()
    read_timeout = spec.timeout or settings.read_timeout
    timeout = httpx.Timeout(
        read_timeout, connect=min(settings.connect_timeout, read_timeout)
    )

    def attempt() -> httpx.Response:
        response = _send(client, url, headers, timeout, send_token)
        if response.status_code >= 500:
            raise _ServerError(response)
        return response

    def transient(error: BaseException) -> bool:
        return isinstance(error, _ServerError | _TransientFailure)

    failure: WebServiceError | None = None
    operation = f"GET {redacted_url(url)}"
    try:
        return call_with_retries(attempt, transient, operation, settings)
    except RetriesExhausted as exhausted:
        last = exhausted.last
        if isinstance(last, _ServerError):
            return last.response
        failure = WebServiceError(
            f"{last} (failed on each of {exhausted.attempts} attempt(s) in "
            f"{exhausted.seconds:.1f} s; INTAKE_EARTHSCOPE_RETRY_ATTEMPTS and "
            "INTAKE_EARTHSCOPE_RETRY_SECONDS set the budget)"
        )
    # Raised outside the except block, so the error carries no context.
    raise failure


def _send(
    client: httpx.Client,
    url: httpx.URL,
    headers: Mapping[str, str],
    timeout: httpx.Timeout,
    send_token: bool,
) -> httpx.Response:
    url_text = redacted_url(url)
    logger.debug(
        "GET %s (bearer token %s)", url_text, "sent" if send_token else "not sent"
    )

    # An httpx error keeps the request, Authorization header included, and
    # dask pickles an exception with its cause and context (through tblib).
    # So the error is raised after the except block, chained to nothing.
    failure: WebServiceError | None = None
    try:
        response = _get_within_deadline(client, url, headers, timeout)
    except _DeadlineExceeded as error:
        failure = _TransientFailure(
            f"GET {url_text} took longer than {error.seconds:g} s in all; "
            "INTAKE_EARTHSCOPE_ATTEMPT_SECONDS sets that limit"
        )
    except httpx.TimeoutException as error:
        limit = timeout.connect if isinstance(error, httpx.ConnectTimeout) else None
        failure = _TransientFailure(
            f"GET {url_text} timed out after {limit or timeout.read:g} s "
            f"({type(error).__name__}). The service may be overloaded, so retry "
            "later or raise the timeout"
        )
    except httpx.TransportError as error:
        failure = _TransientFailure(
            f"GET {url_text} failed: {type(error).__name__}: {redact(str(error))}"
        )
    if failure is not None:
        raise failure

    logger.debug(
        "GET %s returned %d (%d bytes)",
        url_text,
        response.status_code,
        len(response.content),
    )
    return response


class _DeadlineExceeded(Exception):
    """One attempt took longer than the attempt deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _get_within_deadline(
    client: httpx.Client,
    url: httpx.URL,
    headers: Mapping[str, str],
    timeout: httpx.Timeout,
) -> httpx.Response:
    """GET ``url`` and read its body, giving up after ``attempt_seconds``.

    httpx's read timeout bounds each read from the socket, so a server that
    sends a byte now and then would hold the request for ever.
    """
    seconds = retry_settings().attempt_seconds
    deadline = time.monotonic() + seconds
    with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        parts = []
        for part in response.iter_bytes():
            parts.append(part)
            if time.monotonic() > deadline:
                raise _DeadlineExceeded(seconds)
    # The parts are decoded already, so the new response must not decode
    # them again, and its length is that of the decoded body.
    headers_kept = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower()
        not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers_kept,
        content=b"".join(parts),
        request=response.request,
    )


def _redirect_target(response: httpx.Response, url: httpx.URL) -> httpx.URL:
    location = response.headers.get("Location")
    if not location:
        raise WebServiceError(
            f"redirect {response.status_code} from {redacted_url(url)} has no Location"
        )

    try:
        target = url.join(location)
    except httpx.InvalidURL as error:
        raise WebServiceError(
            f"invalid redirect Location from {redacted_url(url)}: {error}"
        ) from error
    if target.scheme not in ("http", "https"):
        raise WebServiceError(
            f"redirect from {redacted_url(url)} to a {target.scheme!r} URL. Only HTTP "
            "and HTTPS are followed"
        )

    logger.debug(
        "redirect %d from %s to %s",
        response.status_code,
        redacted_url(url),
        redacted_url(target),
    )
    return target


def _raise_for_status(
    response: httpx.Response, spec: WebServiceSpec, token_sent: bool
) -> NoReturn:
    status = response.status_code
    url_text = redacted_url(response.url)
    detail = _body_excerpt(response)

    if status == 401:
        hint = _token_hint(spec, response.url, token_sent)
        raise AuthenticationError(f"401 Unauthorized from {url_text}: {hint}")
    if status == 403:
        raise AccessDeniedError(
            f"403 Forbidden from {url_text}: the EarthScope account has no access to "
            f"these data; request access from EarthScope{detail}"
        )
    if status == 404:
        raise ObjectNotFoundError(f"404 Not Found: {url_text}{detail}")
    if status == 429:
        seconds = response.headers.get("Retry-After")
        wait = f"{seconds} seconds" if seconds else "a while"
        raise WebServiceError(
            f"429 Too Many Requests from {url_text}: retry after {wait}, "
            f"with fewer parallel requests{detail}"
        )
    if status >= 500:
        raise WebServiceError(
            f"server error {status} {response.reason_phrase} from {url_text}: the "
            f"service failed or is down, retry later{detail}"
        )
    raise WebServiceError(
        f"unexpected HTTP {status} {response.reason_phrase} from {url_text}{detail}"
    )


def _token_hint(spec: WebServiceSpec, url: httpx.URL, token_sent: bool) -> str:
    source = spec.token_source
    if source is None:
        return (
            "this service needs an EarthScope token and none was configured, "
            "so run `es login` and give a token source (token= or profile=)"
        )
    if token_sent:
        return (
            f"the token of {source.describe()} was rejected (expired or "
            "revoked), so run `es login` and retry"
        )
    return (
        f"no token was sent because {url.host} is not in allowed_hosts "
        f"{list(spec.allowed_hosts)}, or the URL is not HTTPS, or a redirect "
        "went through such a host. Add the host to allowed_hosts if it should "
        "get the token"
    )


def _body_excerpt(response: httpx.Response) -> str:
    """Return the start of a plain-text error body, as FDSN services send."""
    content_type = response.headers.get("Content-Type", "")
    if not content_type.startswith("text/plain"):
        return ""
    # Secrets are replaced before the cut, so no secret is cut in half and
    # its first part kept.
    text = redact(" ".join(response.text.split()))[:EXCERPT_LENGTH]
    return f" (service message: {text})" if text else ""


def service_url(spec: WebServiceSpec, path: str) -> httpx.URL:
    return httpx.URL(spec.base_url).join(path)


def _quoted_path(path: str) -> str:
    if not path or path.startswith("/") or "://" in path:
        raise InvalidRequestError(
            f"invalid path {path!r}: give a path relative to the base URL, such "
            "as 'rinex/obs/2024/001/p0010010.24d.Z'"
        )
    if ".." in path.split("/"):
        raise InvalidRequestError(
            f"invalid path {path!r}: '..' would leave the base URL"
        )
    return urllib.parse.quote(path, safe="/")


def _check_base_url(base_url: str) -> None:
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as error:
        raise InvalidRequestError(f"invalid base_url={base_url!r}: {error}") from error

    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidRequestError(
            f"invalid base_url={base_url!r}: expected an http or https URL, such "
            "as 'https://service.earthscope.org/fdsnws/dataselect/1/'"
        )
    if url.userinfo or url.query or url.fragment:
        raise InvalidRequestError(
            f"invalid base_url={redacted_url(url)!r}: it must not hold a user name, "
            "password, query or fragment"
        )
    if not url.path.endswith("/"):
        raise InvalidRequestError(
            f"invalid base_url={base_url!r}: it must end with '/', because "
            "paths are joined to it"
        )


def _normalise_hosts(hosts: object) -> tuple[str, ...]:
    if isinstance(hosts, str) or not isinstance(hosts, Sequence | set | frozenset):
        raise InvalidRequestError(
            f"invalid allowed_hosts={hosts!r}: expected a list of host names "
            "such as ['earthscope.org', '*.earthscope.org']"
        )

    if isinstance(hosts, set | frozenset):
        hosts = sorted(hosts)

    normalised = []
    for host in hosts:
        if not isinstance(host, str) or not _is_safe_pattern(host):
            raise InvalidRequestError(
                f"invalid allowed_hosts entry {host!r}: give a host name, or "
                "'*.' followed by a domain with a dot, such as '*.earthscope.org'"
            )
        normalised.append(host.lower())
    return tuple(normalised)


def _is_safe_pattern(pattern: str) -> bool:
    """Accept exact host names and ``*.domain.tld``, but not ``*`` or ``*.org``."""
    if pattern.startswith("*."):
        domain = pattern[2:]
        return "." in domain and not any(c in domain for c in "*?[]")
    return bool(pattern) and not any(c in pattern for c in "*?[]/:@")


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return fnmatch.fnmatchcase(host, pattern)
    return host == pattern


def redacted_url(url: httpx.URL | str) -> str:
    """Format ``url`` for logs and messages, without user info or secret values."""
    url = httpx.URL(url)
    bare = str(url.copy_with(query=None, userinfo=b"", fragment=None))
    pairs = [f"{name}={value}" for name, value in url.params.multi_items()]
    url_text = f"{bare}?{'&'.join(pairs)}" if pairs else bare
    return redact(_redact_query_secrets(url_text))


def _redact_query_secrets(text: str) -> str:
    return _SECRET_PARAMETER.sub(r"\g<name>[redacted]", text)


class _QuerySecretFilter(logging.Filter):
    """Redact secret query values in the log records of httpx and httpcore.

    The bearer token travels in a header, which httpx 0.29 and httpcore 1.0.9
    do not log. A signed redirect target carries its secrets in the URL.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _redact_query_secrets(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def _install_log_filter() -> None:
    for name in _LIBRARY_LOGGERS:
        library_logger = logging.getLogger(name)
        if not any(isinstance(f, _QuerySecretFilter) for f in library_logger.filters):
            library_logger.addFilter(_QuerySecretFilter())


_install_log_filter()
