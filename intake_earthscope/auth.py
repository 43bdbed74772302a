"""EarthScope tokens and temporary AWS credentials, obtained per process.

Nothing secret crosses a process boundary. A dask graph carries a
:class:`TokenSource` (the profile, file or environment variable that
contains the token) and a :class:`CredentialScope` (role, network, year,
region), and each process builds its own earthscope-sdk client from them.
Credentials are cached per scope and refreshed before they expire. Refusals
are cached too, so a request that got a 4xx response is never sent again.

Token sources, in order:

1. an explicit ``token=`` (a token, or a path to a ``tokens.json``) or
   ``profile=``;
2. the earthscope-sdk settings: ``ES_*`` variables, ``~/.earthscope/config.toml``
   and ``~/.earthscope/<profile>/tokens.json``;
3. the ``EARTHSCOPE_TOKEN`` variable, holding a path to a ``tokens.json`` or a
   token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intake_earthscope.errors import (
    AccessDeniedError,
    AuthenticationError,
    CredentialsError,
    LoginServiceUnavailableError,
    StorageUnavailableError,
)
from intake_earthscope.redact import register_secrets
from intake_earthscope.retry import RetriesExhausted, call_with_retries
from intake_earthscope.settings import float_setting, retry_settings

__all__ = [
    "AwsCredentials",
    "CredentialScope",
    "TokenSource",
    "access_token",
    "aws_credentials",
    "forget_credentials",
    "resolve_token_source",
]

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "EARTHSCOPE_TOKEN"

# Prefix of a token reference, which stands for a token given to a process.
DIGEST_PREFIX = "sha256:"

# Credentials are refreshed when less than this remains of their lifetime
# (seconds in INTAKE_EARTHSCOPE_REFRESH_MARGIN), so a read that starts just
# before expiry still finishes with valid ones.
# A margin at least as long as the credentials' lifetime (STS allows at most
# 36 hours) renews them at every request, so a longer one is cut to a week,
# which fits a timedelta where 1e15 s does not.
REFRESH_MARGIN = dt.timedelta(
    seconds=min(
        float_setting("INTAKE_EARTHSCOPE_REFRESH_MARGIN", 300.0, 0.0), 7 * 86400.0
    )
)

# The SDK retries 429 by default. A fleet that retried 4xx responses of the
# credentials endpoint was reported as flooding it, so only 5xx are retried.
_RETRIED_STATUS_CODES = [500, 502, 503, 504]
# The SDK retries a failed token refresh for up to 30 s (5 attempts, pauses
# of 1 s plus up to 3 s), inside each attempt of this package's own retries,
# so INTAKE_EARTHSCOPE_RETRY_SECONDS would not bound it. One attempt each.
_TOKEN_RETRY = {"attempts": 1}


@dataclass(frozen=True)
class TokenSource:
    """Location of a process's EarthScope token, never the token itself.

    Attributes
    ----------
    kind : {"sdk", "profile", "file", "token", "variable"}
        ``sdk``: the SDK's own settings; ``profile``: a named SDK profile;
        ``file``: a ``tokens.json`` path; ``token``: a token handed to this
        process (it stays in this process's memory, identified by a digest);
        ``variable``: a token in ``EARTHSCOPE_TOKEN``, read by each process.
    profile : str or None
        Profile name for ``profile``.
    path : str or None
        File path for ``file``.
    digest : str or None
        First characters of the SHA-256 of a ``token``, to tell tokens apart.
    """

    kind: str
    profile: str | None = None
    path: str | None = None
    digest: str | None = None

    def describe(self) -> str:
        """Say where the token comes from, without revealing it."""
        if self.kind == "profile":
            return f"profile {self.profile!r}"
        if self.kind == "file":
            return f"token file {self.path}"
        if self.kind == "token":
            return f"token given to this process (sha256 {self.digest})"
        if self.kind == "variable":
            return f"{TOKEN_VARIABLE} (sha256 {self.digest})"
        profile = os.environ.get("ES_PROFILE", "default")
        return f"earthscope-sdk settings (profile {profile!r})"


@dataclass(frozen=True)
class CredentialScope:
    """Scope of a temporary AWS credentials request.

    ``network`` is the FDSN network code. ``year`` is sent for temporary
    networks (codes starting with a digit or X, Y, Z), because their codes
    are reused across years.
    """

    role: str
    network: str | None = None
    year: int | None = None
    region: str | None = None

    def params(self) -> dict[str, str | int]:
        """Return the query parameters of the credentials request."""
        params: dict[str, str | int] = {}
        if self.network:
            params["network"] = f"FDSN:{self.network}"
        if self.year is not None and self.network and _is_temporary(self.network):
            params["year"] = self.year
        return params

    def describe(self) -> str:
        """Name role, network, year and region for messages."""
        year = self.year if self.year is not None else "any"
        network = self.network or "any (the role covers every network)"
        return (
            f"role {self.role!r}, network {network}, year {year}, "
            f"region {self.region or 'unset'}"
        )


@dataclass(frozen=True)
class AwsCredentials:
    """Temporary AWS credentials (kept in process memory only)."""

    key: str
    secret: str
    token: str
    expiration: dt.datetime

    def __repr__(self) -> str:
        return f"AwsCredentials(expiration={self.expiration.isoformat()})"


def resolve_token_source(
    token: str | os.PathLike[str] | None = None, profile: str | None = None
) -> TokenSource:
    """Find the first token source that contains a token.

    Raises
    ------
    AuthenticationError
        If no source contains a token, saying how to log in.
    """
    if token is not None and profile is not None:
        raise AuthenticationError(
            "give token= or profile=, not both: a profile names where the SDK "
            "keeps its tokens"
        )
    if token is not None:
        return _explicit_token(str(token))
    if profile is not None:
        _check_profile(profile)
        return TokenSource("profile", profile=profile)

    if _sdk_has_token():
        return TokenSource("sdk")
    from_variable = os.environ.get(TOKEN_VARIABLE, "").strip()
    if from_variable:
        source = _explicit_token(from_variable)
        if source.kind == "token":
            # Each process reads the variable itself, so dask workers that
            # inherit it can use it too.
            return TokenSource("variable", digest=source.digest)
        return source

    raise AuthenticationError(
        "no EarthScope token found: run `es login` (pip install "
        "earthscope-cli), or on a headless machine set ES_OAUTH2__REFRESH_TOKEN, "
        "or set "
        f"{TOKEN_VARIABLE} to a token or to the path of a tokens.json"
    )


def access_token(source: TokenSource) -> str:
    """Return a fresh access token of ``source``, refreshing it if needed."""
    client = _client(source)

    def refresh() -> str:
        client.ctx.auth_flow.refresh_if_necessary()
        return str(client.ctx.auth_flow.access_token)

    try:
        token = _with_service_retries(
            refresh, f"refreshing the token of {source.describe()}"
        )
    except Exception as error:
        failure = _token_error(error, source)
    else:
        register_secrets([token])
        return token
    # Raised outside the handler, so no cause or context chains it to the
    # SDK's error, whose request carries the token (dask pickles chains).
    raise failure


def token_expiry(source: TokenSource) -> dt.datetime | None:
    """Return when the access token of ``source`` expires (refreshing first)."""
    access_token(source)
    return _client(source).ctx.auth_flow.expires_at


def aws_credentials(source: TokenSource, scope: CredentialScope) -> AwsCredentials:
    """Return temporary AWS credentials for ``scope``, cached per process.

    Raises
    ------
    AuthenticationError
        The token is missing, expired beyond refresh, or rejected (401).
    AccessDeniedError
        The account has no entitlement to the network (403).
    CredentialsError
        The API rejected the request otherwise (400, 404).
    """
    cache_key = (source, scope)
    # One request at a time per scope, so threads that start together wait
    # for the first response (or refusal) instead of sending another.
    with _scope_lock(cache_key):
        return _aws_credentials(source, scope, cache_key)


def _aws_credentials(
    source: TokenSource,
    scope: CredentialScope,
    cache_key: tuple[TokenSource, CredentialScope],
) -> AwsCredentials:
    with _lock:
        refusal = _refusals.get(cache_key)
    if refusal is not None:
        raise type(refusal)(str(refusal))

    client = _client(source)
    in_hand, force = _credentials_state(cache_key)

    def fetch() -> Any:
        return client.user.get_aws_credentials(
            role=scope.role,
            force=force,
            ttl_threshold=REFRESH_MARGIN,
            **scope.params(),
        )

    try:
        # With valid credentials in hand, one attempt suffices: where it
        # fails, they stay in use and the next read tries again.
        if in_hand is not None:
            model = fetch()
        else:
            model = _with_service_retries(
                fetch, f"credentials request for {scope.describe()}"
            )
    except Exception as error:
        failure = _credentials_error(error, source, scope)
        # A rejected token (401) may be renewed by `es login`; other
        # refusals stand for the life of the process.
        if not isinstance(failure, StorageUnavailableError | AuthenticationError):
            with _lock:
                _refusals[cache_key] = failure
        elif not _service_failed(error):
            in_hand = None
    else:
        with _lock:
            _renewals_failing.discard(cache_key)
            # Without force, the SDK may have returned from its cache the
            # credentials that another thread dropped meanwhile, so that drop
            # remains in force until a forced request succeeds.
            if force or cache_key not in _dropped:
                _dropped.discard(cache_key)
                _issued[cache_key] = model
        return _credentials_of(model)
    if in_hand is not None:
        _report_failed_renewal(cache_key, failure, in_hand.expiration)
        return _credentials_of(in_hand)
    # Raised outside the handler, because the SDK's error contains the bearer
    # token.
    raise failure


def _report_failed_renewal(
    cache_key: tuple[TokenSource, CredentialScope],
    failure: Exception,
    expiration: dt.datetime,
) -> None:
    """Log a renewal that failed while the credentials in hand stay valid,
    at WARNING the first time per scope and at DEBUG until one succeeds."""
    with _lock:
        first = cache_key not in _renewals_failing
        _renewals_failing.add(cache_key)
    # Renewal starts REFRESH_MARGIN before expiry, so the credentials in
    # hand still sign requests while the service is failing.
    logger.log(
        logging.WARNING if first else logging.DEBUG,
        "%s; until then, reads use the credentials that expire at %s",
        failure,
        expiration.isoformat(),
    )


# Credentials that expire sooner than this are not used while the service
# that renews them fails (the SDK's own threshold).
_LAST_VALID = dt.timedelta(seconds=30)


def _credentials_state(
    cache_key: tuple[TokenSource, CredentialScope],
) -> tuple[Any, bool]:
    """Return the valid credentials in hand for ``cache_key`` (or None) and
    whether they were dropped and not yet renewed."""
    # One lock section, so a drop by another thread lands before both reads
    # or after both. Between them, a request would force new credentials
    # and still fall back on the dropped ones.
    with _lock:
        model = _issued.get(cache_key)
        dropped = cache_key in _dropped
    if model is None or model.is_expired(_LAST_VALID):
        return None, dropped
    return model, dropped


def _with_service_retries(call: Any, operation: str) -> Any:
    """Call the SDK, again while the EarthScope service is out of reach or
    fails (5xx), within this process's retry budget.

    earthscope-sdk 1.9.3 retries a 5xx reply a few times (3 attempts by
    default) but no failed connection, so a moment's outage would fail every
    read that needs credentials then. Rejections (4xx) are raised at once.
    """
    try:
        return call_with_retries(call, _service_failed, operation)
    except RetriesExhausted as exhausted:
        last = exhausted.last
    raise last


def _service_failed(error: BaseException) -> bool:
    """Return whether an SDK call failed because the EarthScope service was
    out of reach or failing, not because it rejected the request."""
    return _service_failure_reason(error) is not None


def _service_failure_reason(error: BaseException) -> str | None:
    """Name a transport failure or 5xx reply behind an SDK error, else None.

    The SDK raises its own errors for a failed token refresh, with the
    transport error or the HTTP reply as their cause or context.
    """
    import httpx

    transient = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
    item: BaseException | None = error
    for _ in range(6):
        if item is None:
            break
        if isinstance(item, transient):
            return type(item).__name__
        status = _status_code(item)
        if status is not None:
            return f"HTTP {status}" if status >= 500 else None
        item = item.__cause__ or item.__context__
    return None


def _credentials_of(model: Any) -> AwsCredentials:
    credentials = AwsCredentials(
        key=model.aws_access_key_id,
        secret=model.aws_secret_access_key.get_secret_value(),
        token=model.aws_session_token.get_secret_value(),
        expiration=model.expiration,
    )
    register_secrets([credentials.key, credentials.secret, credentials.token])
    return credentials


def forget_credentials(source: TokenSource, scope: CredentialScope) -> None:
    """Drop cached credentials of ``scope`` so the next call fetches new ones.

    The next request passes ``force`` to the SDK, which skips its own cache.
    """
    cache_key = (source, scope)
    with _lock:
        _issued.pop(cache_key, None)
        _dropped.add(cache_key)
    logger.debug("dropped cached credentials for %s", scope.describe())


def clear_process_state(tokens: bool = False) -> None:
    """Forget every client, credential and refusal of this process.

    Tokens handed to the process with ``token=`` are kept unless ``tokens``
    is true.
    """
    with _lock:
        for client in _clients.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                logger.debug("closing an SDK client failed", exc_info=True)
        _clients.clear()
        _refusals.clear()
        _renewals_failing.clear()
        _issued.clear()
        _dropped.clear()
        if tokens:
            _tokens.clear()


# Process state: SDK clients per token source, cached refusals, and tokens
# handed to this process explicitly (by digest).
_lock = threading.RLock()
_scope_locks: dict[tuple[TokenSource, CredentialScope], threading.Lock] = {}


def _scope_lock(key: tuple[TokenSource, CredentialScope]) -> threading.Lock:
    with _lock:
        return _scope_locks.setdefault(key, threading.Lock())


_clients: dict[TokenSource, Any] = {}
_refusals: dict[tuple[TokenSource, CredentialScope], Exception] = {}
# Scopes whose last renewal failed while their credentials stayed valid.
_renewals_failing: set[tuple[TokenSource, CredentialScope]] = set()
# The credentials last issued per scope, used while a renewal fails, and the
# scopes whose cached credentials were dropped (see forget_credentials).
_issued: dict[tuple[TokenSource, CredentialScope], Any] = {}
_dropped: set[tuple[TokenSource, CredentialScope]] = set()
_tokens: dict[str, str] = {}


def _client(source: TokenSource) -> Any:
    with _lock:
        client = _clients.get(source)
        if client is None:
            client = _build_client(source)
            _clients[source] = client
        return client


def _build_client(source: TokenSource) -> Any:
    from earthscope_sdk import EarthScopeClient
    from earthscope_sdk.common._sync_runner import BackgroundSyncRunner
    from earthscope_sdk.common.context import SdkContext

    settings = _settings(source)
    _demote_refresh_errors()
    # One sync client shared by dask threads needs a background event loop.
    context = SdkContext(settings, runner=BackgroundSyncRunner())
    return EarthScopeClient(ctx=context)


class _RetriedRefreshFilter(logging.Filter):
    """Turn the SDK's error record of a failed token refresh into a DEBUG one.

    This package retries a refresh that failed for want of the service and
    then raises one error that names the failure, so an error record per
    attempt would only repeat it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and str(record.msg).startswith(
            "error during token refresh"
        ):
            record.levelno = logging.DEBUG
            record.levelname = logging.getLevelName(logging.DEBUG)
            # As a DEBUG record would, it passes only where DEBUG is enabled.
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def _demote_refresh_errors() -> None:
    sdk_logger = logging.getLogger("earthscope_sdk.auth.auth_flow")
    if not any(isinstance(f, _RetriedRefreshFilter) for f in sdk_logger.filters):
        sdk_logger.addFilter(_RetriedRefreshFilter())


def _settings(source: TokenSource) -> Any:
    from earthscope_sdk.config.settings import SdkSettings

    overrides: dict[str, Any] = {
        "http": {"retry": {"status_codes": _RETRIED_STATUS_CODES}, **_sdk_timeouts()}
    }
    oauth2: dict[str, Any] = {}
    if source.kind == "profile":
        overrides["profile_name"] = source.profile
    elif source.kind == "file":
        oauth2 = dict(_read_tokens_file(Path(source.path or "")))
    elif source.kind == "token":
        oauth2 = dict(_token_settings(source))
    elif source.kind == "variable":
        _explicit_token(os.environ.get(TOKEN_VARIABLE, "").strip())
        oauth2 = dict(_token_settings(source))
    overrides["oauth2"] = {**oauth2, "retry": _TOKEN_RETRY}
    return SdkSettings(**overrides)


def _sdk_timeouts() -> dict[str, dt.timedelta]:
    """Return the SDK's connect and read timeouts, lowered to this package's
    settings where those are shorter.

    Each of this package's attempts waits for the SDK's timeouts, so a
    service that accepts a request and never replies would otherwise hold
    each attempt for the SDK's 5 s, however short
    ``INTAKE_EARTHSCOPE_ATTEMPT_SECONDS`` or the connect and read timeouts
    were set.
    """
    from earthscope_sdk.config.models import HttpSettings

    sdk = HttpSettings()
    ours = retry_settings()
    connect = min(ours.connect_timeout, ours.attempt_seconds)
    read = min(ours.read_timeout, ours.attempt_seconds)
    return {
        "timeout_connect": _shorter(sdk.timeout_connect, connect),
        "timeout_read": _shorter(sdk.timeout_read, read),
    }


def _shorter(sdk_timeout: dt.timedelta, seconds: float) -> dt.timedelta:
    """Return the shorter of the SDK's timeout and ``seconds``.

    They are compared in seconds, because a setting above about 8.6e13 s
    (the largest timedelta) raises OverflowError as a timedelta.
    """
    if seconds >= sdk_timeout.total_seconds():
        return sdk_timeout
    return dt.timedelta(seconds=seconds)


def _token_settings(source: TokenSource) -> dict[str, str]:
    with _lock:
        token = _tokens.get(source.digest or "")
    if token is None:
        raise AuthenticationError(
            "the token given with token= is known only to the process it was "
            "given to (and EARTHSCOPE_TOKEN here holds another one); on a dask "
            "cluster give the workers EARTHSCOPE_TOKEN, a profile (run `es "
            "login` there) or ES_OAUTH2__REFRESH_TOKEN"
        )
    # An access token is a JWT (three dot-separated parts); anything else is
    # taken as a refresh token.
    kind = "access_token" if token.count(".") == 2 else "refresh_token"
    return {kind: token}


def _explicit_token(value: str) -> TokenSource:
    if value.startswith(DIGEST_PREFIX):
        # A reference to a token given to this process earlier.
        return TokenSource("token", digest=value[len(DIGEST_PREFIX) :])
    path = Path(value).expanduser()
    if _looks_like_path(value):
        if not path.is_file():
            raise AuthenticationError(
                f"token file not found: {path}; give token= (or "
                f"{TOKEN_VARIABLE}) an existing tokens.json, or run `es login`"
            )
        _read_tokens_file(path)
        return TokenSource("file", path=str(path.resolve()))

    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    with _lock:
        _tokens[digest] = value
    register_secrets([value])
    return TokenSource("token", digest=digest)


def _looks_like_path(value: str) -> bool:
    # Tokens may contain "/" (base64), so only an existing file, a .json
    # name or a home-relative path counts as a path.
    if value.endswith(".json") or value.startswith("~"):
        return True
    try:
        return Path(value).is_file()
    except OSError:
        return False


def token_reference(token: str) -> str:
    """Return a stand-in for ``token`` that names it without revealing it.

    The reference resolves only in the process that was given the token.
    """
    source = _explicit_token(token)
    if source.kind != "token":
        return token
    return f"{DIGEST_PREFIX}{source.digest}"


def _read_tokens_file(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        reason = type(error).__name__
    else:
        reason = "" if isinstance(data, dict) else "not a JSON object"
    if reason:
        # Raised outside the handler, because a JSON error contains the file.
        raise AuthenticationError(
            f"invalid token file {path} ({reason}): expected the JSON that "
            "`es login` writes (access_token, refresh_token)"
        )
    tokens = {
        name: data[name]
        for name in ("access_token", "refresh_token", "id_token")
        if isinstance(data.get(name), str)
    }
    if not tokens.get("access_token") and not tokens.get("refresh_token"):
        raise AuthenticationError(
            f"invalid token file {path}: it contains neither access_token nor "
            "refresh_token; run `es login` again"
        )
    register_secrets(tokens.values())
    return tokens


def _check_profile(profile: str) -> None:
    from earthscope_sdk.config.error import ProfileDoesNotExistError
    from earthscope_sdk.config.settings import SdkSettings

    try:
        SdkSettings(profile_name=profile)
    except ProfileDoesNotExistError as error:
        raise AuthenticationError(
            f"profile {profile!r} not found in ~/.earthscope/config.toml; run "
            f"`es login --profile {profile}` or pick an existing profile"
        ) from error


def _sdk_has_token() -> bool:
    from earthscope_sdk.config.settings import SdkSettings

    try:
        oauth2 = SdkSettings().oauth2
    except Exception:  # noqa: BLE001 - an unreadable config means no token here
        logger.debug("earthscope-sdk settings could not be read", exc_info=True)
        return False
    present = [oauth2.access_token, oauth2.refresh_token, oauth2.client_secret]
    secrets = [value.get_secret_value() for value in present if value is not None]
    register_secrets(secrets)
    return bool(secrets)


def is_temporary_network(network: str) -> bool:
    """Return whether a network code is temporary (reused across years)."""
    return _is_temporary(network)


def _is_temporary(network: str) -> bool:
    return bool(network) and (network[0].isdigit() or network[0] in "XYZ")


def _token_error(error: Exception, source: TokenSource) -> Exception:
    from earthscope_sdk.auth.error import (
        InvalidRefreshTokenError,
        NoTokensError,
    )

    reason = _service_failure_reason(error)
    if reason is not None or _unreachable(error):
        return LoginServiceUnavailableError(
            f"could not reach the EarthScope login service "
            f"({reason or type(error).__name__}) to refresh the token of "
            f"{source.describe()}: check the network (ES_OAUTH2__DOMAIN names "
            "the service), or try again later"
        )
    if isinstance(error, InvalidRefreshTokenError):
        return AuthenticationError(
            f"the refresh token of {source.describe()} is expired or revoked: "
            f"run `es login{_profile_flag(source)}` again"
        )
    if isinstance(error, NoTokensError):
        return AuthenticationError(
            f"no EarthScope token in {source.describe()}: run "
            f"`es login{_profile_flag(source)}`, or set ES_OAUTH2__REFRESH_TOKEN "
            "on a headless machine"
        )
    if isinstance(error, AuthenticationError):
        return error
    if isinstance(error, OSError):
        return CredentialsError(
            f"saving the refreshed EarthScope token of {source.describe()} failed "
            f"({type(error).__name__}); make ~/.earthscope writable on this machine"
        )
    # The SDK's messages about tokens name no secret ("Unable to decode
    # access token body").
    return AuthenticationError(
        f"the token from {source.describe()} is not usable: {error}; run "
        f"`es login{_profile_flag(source)}` again"
    )


def _unreachable(error: BaseException) -> bool:
    chain = [error, error.__cause__, error.__context__]
    names = {type(item).__name__ for item in chain if item is not None}
    return any("Connect" in name or "Timeout" in name for name in names)


def _credentials_error(
    error: Exception, source: TokenSource, scope: CredentialScope
) -> Exception:
    """Translate an SDK failure into this package's errors (no chain kept)."""
    from earthscope_sdk.auth.error import (
        AuthFlowError,
        UnauthenticatedError,
        UnauthorizedError,
    )

    status = _status_code(error)
    where = scope.describe()
    if isinstance(error, UnauthenticatedError) or status == 401:
        return AuthenticationError(
            f"EarthScope rejected the token (401) asking credentials for {where}: "
            f"run `es login{_profile_flag(source)}` again"
        )
    if isinstance(error, UnauthorizedError) or status == 403:
        return AccessDeniedError(
            f"EarthScope denied temporary credentials (403) for {where}: the "
            "account has no access to this network; read the open tier or "
            "request access from EarthScope"
        )
    if status == 404:
        return CredentialsError(
            f"EarthScope knows no such network or year (404) for {where}: check "
            "the network code and, for a temporary network, the year"
        )
    if status == 400:
        return CredentialsError(
            f"EarthScope rejected the credentials request (400) for {where}: a "
            "temporary network needs its year, and the role must exist"
        )
    if status is not None and 400 <= status < 500:
        return CredentialsError(
            f"EarthScope returned HTTP {status} to the credentials request for {where}"
        )
    if isinstance(error, AuthFlowError):
        return _token_error(error, source)
    if _malformed_reply(error):
        return StorageUnavailableError(
            f"the EarthScope service sent a reply that contains no token or "
            f"credentials ({type(error).__name__}) asking credentials for {where}: "
            "try again later, and check ES_OAUTH2__DOMAIN and "
            "ES_RESOURCES__API_URL, which name the services"
        )
    if isinstance(error, ValueError):
        # The SDK reads the access token's body (a JWT) before each request.
        # Its text is left out: a validation error may quote the token.
        return AuthenticationError(
            f"the EarthScope access token of {source.describe()} is not a "
            f"readable JWT ({type(error).__name__}) asking credentials for "
            f"{where}: run `es login{_profile_flag(source)}` again"
        )
    if _unreachable(error):
        return StorageUnavailableError(
            f"could not reach the EarthScope credentials service "
            f"({type(error).__name__}) for {where}: check the network "
            "(ES_RESOURCES__API_URL names the service)"
        )
    if isinstance(error, OSError):
        # The SDK saves refreshed tokens under the home directory.
        return CredentialsError(
            f"saving the refreshed EarthScope token failed ({type(error).__name__}: "
            f"{getattr(error, 'strerror', '') or error}); make ~/.earthscope "
            "writable on this machine"
        )
    reason = f"HTTP {status}" if status else type(error).__name__
    return StorageUnavailableError(
        f"the EarthScope credentials service failed ({reason}) for {where}: "
        "try again later"
    )


def _malformed_reply(error: Exception) -> bool:
    """Return whether the SDK failed on a reply body, not on the user's token.

    The SDK parses a token refresh reply with ``json()``, which raises a bare
    ``JSONDecodeError`` where the reply is no JSON. It parses a credentials
    reply into its ``AwsTemporaryCredentials`` model. A token it cannot
    decode fails as a ``Tokens`` validation error instead, which is the
    user's.
    """
    if isinstance(error, json.JSONDecodeError):
        return True
    return getattr(error, "title", None) == "AwsTemporaryCredentials"


def _status_code(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return int(status) if status is not None else None


def _profile_flag(source: TokenSource) -> str:
    if source.kind == "profile":
        return f" --profile {source.profile}"
    profile = os.environ.get("ES_PROFILE", "")
    if source.kind == "sdk" and profile and profile != "default":
        return f" --profile {profile}"
    return ""
