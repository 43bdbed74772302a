"""Fake EarthScope API and an IAM-enforcing S3 archive for authorization tests.

:class:`FakeEarthScopeAPI` is an HTTP server on ``127.0.0.1`` that serves
the two endpoints the real earthscope-sdk (1.9.3) calls for S3 access: the
OAuth token endpoint and the temporary AWS credentials endpoint. The
credentials it hands out are real STS sessions of a moto server that
enforces IAM, made by :func:`restricted_archive`, so a reader with them can
GET and LIST the restricted bucket while anonymous and wrongly signed
requests are rejected.

How to point the real SDK at the fake server
--------------------------------------------
The SDK resolves its directory ``~/.earthscope`` (and the legacy
earthscope-cli directory) when ``earthscope_sdk.config.settings`` is first
imported, so setting ``HOME`` later changes nothing. Two ways work:

- In a child process: pass :func:`sdk_process_environment` as its whole
  environment. ``HOME`` is then set before the first import.
- In the test process: :func:`isolated_sdk_environment` sets the variables of
  :meth:`FakeEarthScopeAPI.sdk_environment` and also rebinds the SDK's
  private module globals ``_LOCAL_APP_DIR`` and ``_LEGACY_APP_DIR``. The
  SDK reads them at call time, and its source comments give test patching
  as the reason (checked for earthscope-sdk 1.9.3).

What moto 5.2.5 and 5.2.6 enforce with IAM on (read in
``moto/iam/access_control.py``, ``moto/core/authorization.py`` and
``moto/s3/responses.py``, and checked by ``tests/test_fake_earthscope.py``)
-----------------------------------------------------------------------------
- Signed requests are checked against the identity policies of the IAM user
  or assumed role, with ``*`` wildcards in ``Action`` and ``Resource``. So an
  ``s3:GetObject`` grant on ``BUCKET/miniseed/XX/*`` lets credentials read
  network XX and not YY. LIST is checked on the bucket only, because moto
  evaluates no ``Condition`` such as ``s3:prefix`` for S3 requests.
- The action checked differs between releases. moto 5.2.5 checks the IAM
  action that AWS checks: ``s3:GetObject`` for GET and HEAD of an object,
  ``s3:ListBucket`` for LIST. moto 5.2.6 checks the S3 operation name
  instead (``s3:HeadObject``, ``s3:ListObjectsV2``), because its
  ``BaseResponse._get_action`` no longer returns the IAM action that
  ``S3Response._set_action`` stores. The session policies therefore grant
  both names on the same resources.
- Bucket policies and ACLs are not consulted for signed requests, so even
  public-read objects need an identity-policy grant.
- A wrong secret gets 403 ``SignatureDoesNotMatch``, an unknown key gets 403
  ``InvalidAccessKeyId``, and a wrong session token gets 400
  ``InvalidToken`` (s3fs raises ``OSError`` for it, not ``PermissionError``).
- The ``Expiration`` of STS sessions is not enforced. This module enforces
  the lifetime it reports by removing the session role's policy at expiry.
- Deleting the role's inline policy rejects every session of that role at
  once (403 ``AccessDenied``), which is how revocation works here.
- Unsigned requests: a GET or HEAD of an object without the public-read ACL
  gets 403. Every other unsigned request, including a GET of a public-read
  object and any LIST, fails with HTTP 500 because moto reads the missing
  ``Authorization`` header (``KeyError: 'HTTP_AUTHORIZATION'``). So with IAM
  on, moto cannot serve anonymous open-data reads. Pass ``open_server`` (a
  server without IAM) to :func:`restricted_archive` for those.
- ``/moto-api/reset`` deletes IAM users and roles too, but keeps the count of
  unauthenticated actions, so :func:`restricted_archive` re-opens it through
  ``/moto-api/reset-auth`` before it creates the admin user.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import json
import logging
import math
import os
import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import yaml

from intake_earthscope.testing import (
    LOOPBACK_HOST,
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    LoopbackS3,
    create_bucket,
    isolated_aws_variables,
    put_public_object,
)

from loopback_http import LoopbackServer

if TYPE_CHECKING:
    from botocore.client import BaseClient

logger = logging.getLogger(__name__)

SAGE_CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "sage.yaml"

OPEN_BUCKET = "earthscope-geophysical-data"
ARCHIVE_REGION = "us-east-2"
DEFAULT_ROLE = "s3-miniseed-v2"

# The SDK's default OAuth client id and audience (earthscope-sdk 1.9.3).
DEFAULT_CLIENT_ID = "b9DtAFBd6QvMg761vI3YhYquNZbJX5G0"
DEFAULT_AUDIENCE = "https://api.earthscope.org"
TEST_SUBJECT = "auth0|intake-earthscope-test-user"

# Start the moto server with this, so it enforces IAM from its first request.
# restricted_archive() then allows the few unauthenticated actions it needs.
IAM_ENFORCING_ENVIRONMENT = {"INITIAL_NO_AUTH_ACTION_COUNT": "0"}

# create_user, put_user_policy and create_access_key of the admin user.
_BOOTSTRAP_ACTION_COUNT = 3
_ADMIN_USER = "earthscope-fixture-admin"

# STS rejects shorter and longer sessions. The reported expiration and the
# enforced one come from the configured lifetime instead.
_MIN_STS_DURATION_S = 900
_MAX_STS_DURATION_S = 43200

# Each tuple starts with the IAM action that AWS checks to read (GET and HEAD)
# or list objects. The others are the operation names moto 5.2.6 checks instead.
# NOTE: the operation names work around moto 5.2.6 and can go once moto
# checks S3 requests against IAM actions again.
_READ_ACTIONS = ("s3:GetObject", "s3:HeadObject")
_LIST_ACTIONS = ("s3:ListBucket", "s3:ListObjects", "s3:ListObjectsV2")

_ERROR_STATUSES = frozenset({400, 401, 403, 404})
_CREDENTIALS_PATH = re.compile(r"^/beta/user/credentials/aws/(?P<role>[^/]+)$")
_HTTP_TIMEOUT_S = 10.0

# ASCII characters whose base64 encoding can contain '-' or '_' (base64url)
# or '+' or '/' (standard).
_URL_ALPHABET_SOURCES = (">", "?", "~", "\x7f")

ScopeKey = tuple[str, str, int | None]


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake API received, with the status it returned."""

    method: str
    path: str
    query: Mapping[str, str]
    has_bearer: bool
    status: int


@dataclass(frozen=True)
class IssuedAwsCredentials:
    """Temporary AWS credentials the fake API handed out.

    ``iam_role`` is the moto IAM role behind the STS session, empty when no
    archive was attached and the credentials work nowhere.
    """

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: dt.datetime
    role: str
    network: str
    year: int | None
    iam_role: str

    def response_body(self) -> dict[str, str]:
        """Return the JSON body of the credentials endpoint."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
            "expiration": self.expiration.isoformat(),
        }


@dataclass(frozen=True)
class RestrictedArchive:
    """Buckets of an IAM-enforcing moto server, made by :func:`restricted_archive`.

    ``admin_access_key_id`` and ``admin_secret_access_key`` belong to an IAM
    user allowed every action, for setting up more objects in a test.
    """

    endpoint_url: str
    open_endpoint_url: str
    bucket: str
    open_bucket: str
    region: str
    admin_arn: str
    admin_access_key_id: str
    admin_secret_access_key: str

    def admin_client(self, service: str = "s3") -> BaseClient:
        """Create a boto3 client signed with the admin user's key."""
        import boto3
        from botocore.config import Config

        region = self.region if service == "s3" else "us-east-1"
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region,
            aws_access_key_id=self.admin_access_key_id,
            aws_secret_access_key=self.admin_secret_access_key,
            config=Config(proxies={}, s3={"addressing_style": "path"}),
        )

    def storage_options(
        self, key: str, secret: str, token: str | None = None
    ) -> dict[str, Any]:
        """Return s3fs ``storage_options`` that sign with the given credentials."""
        return {
            "key": key,
            "secret": secret,
            "token": token,
            "client_kwargs": {
                "endpoint_url": self.endpoint_url,
                "region_name": self.region,
            },
        }


def restricted_bucket_name() -> str:
    """Return the bucket of the ``restricted`` SAGE tier in the shipped catalog."""
    catalog = yaml.safe_load(SAGE_CATALOG.read_text())
    collection = catalog["sources"]["miniseed"]["args"]["collection"]
    return str(collection["tiers"]["restricted"]["bucket"])


def mint_unsigned_jwt(claims: Mapping[str, Any]) -> str:
    """Encode ``claims`` as an unsigned JWT (``alg: none``, empty signature).

    The SDK decodes the payload with the standard base64 alphabet, which
    silently drops the ``-`` and ``_`` of base64url and so corrupts the
    claims. Of the ASCII characters, only ``>``, ``?``, ``~`` and DEL encode
    to those (at some positions), and they can appear only inside JSON
    strings, so they are written as ``\\u`` escapes. Non-ASCII characters
    are escaped by ``json.dumps`` already. The payload therefore encodes the
    same in both alphabets.
    """
    header = _base64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    text = json.dumps(claims, separators=(",", ":"))
    for character in _URL_ALPHABET_SOURCES:
        text = text.replace(character, f"\\u{ord(character):04x}")
    return f"{header}.{_base64url(text.encode())}."


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FakeEarthScopeAPI:
    """EarthScope OAuth and credentials endpoints on a loopback port.

    Parameters
    ----------
    client_id : str
        OAuth client id put into the ``azp`` claim and required for the
        ``client_credentials`` grant.
    client_secret : str, optional
        Enables the ``client_credentials`` grant with this secret.
    access_token_lifetime : float
        Seconds until an access token expires.
    credential_lifetime : float
        Default seconds until issued AWS credentials expire. S3 rejects them
        from then on when an archive is attached.
    roles : tuple of str
        Roles the credentials endpoint serves. Others get 404.
    rotate_refresh_tokens : bool
        Return a new refresh token on every refresh and invalidate the old
        one, as Auth0 does with rotation on. By default the same one stays
        valid.

    Attributes
    ----------
    refresh_token : str
        A valid refresh token, issued at construction.

    Notes
    -----
    ``POST /oauth/token`` accepts the form of the SDK: ``grant_type`` is
    ``refresh_token`` (with ``refresh_token`` and ``scopes``) or
    ``client_credentials`` (with ``client_id`` and ``client_secret``). An
    unknown refresh token gets 403 ``invalid_grant``, a wrong client secret
    401 ``access_denied``. ``POST /oauth/revoke`` invalidates a refresh token.
    The ``client_id`` of a refresh request is not checked.

    ``GET /beta/user/credentials/aws/{role}?network=FDSN:XX&year=YYYY`` needs
    a bearer token this server issued and that has not expired (else 401).
    It returns 400 for a malformed network or year, or for a temporary
    network (code starting with a digit, X, Y or Z) without a year. A status
    set with :meth:`set_scope_status` wins over everything but the bearer
    check. Without ``network`` the credentials can only LIST.
    """

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str | None = None,
        access_token_lifetime: float = 3600.0,
        credential_lifetime: float = 3600.0,
        roles: tuple[str, ...] = (DEFAULT_ROLE,),
        rotate_refresh_tokens: bool = False,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token_lifetime = access_token_lifetime
        self.credential_lifetime = credential_lifetime
        self.roles = roles
        self.rotate_refresh_tokens = rotate_refresh_tokens

        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._secrets: set[str] = set()
        self._refresh_tokens: set[str] = set()
        self._access_tokens: dict[str, float] = {}
        self._scope_statuses: dict[ScopeKey, int] = {}
        self._scope_lifetimes: dict[ScopeKey, float] = {}
        self._issued: list[IssuedAwsCredentials] = []
        self._revoked_roles: set[str] = set()
        self._expiry_timers: list[threading.Timer] = []
        self._sequence = itertools.count(1)
        self._archive: RestrictedArchive | None = None
        self._iam: BaseClient | None = None
        self._sts: BaseClient | None = None
        self._httpd: LoopbackServer | None = None

        if client_secret is not None:
            self._secrets.add(client_secret)
        self.refresh_token = self.issue_refresh_token()

    def __enter__(self) -> FakeEarthScopeAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """TCP port the server listens on, 0 before :meth:`start`."""
        return 0 if self._httpd is None else self._httpd.port

    @property
    def url(self) -> str:
        """Base URL with a trailing slash, as the SDK's settings need it."""
        return f"http://{LOOPBACK_HOST}:{self.port}/"

    def start(self) -> FakeEarthScopeAPI:
        """Start serving in a background thread and return this object."""
        if self._httpd is not None:
            raise RuntimeError("the fake EarthScope API is already running")

        self._httpd = LoopbackServer(_Handler)
        self._httpd.server.api = self  # type: ignore[attr-defined]
        self._httpd.start()
        logger.info("started fake EarthScope API at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop the server and cancel pending expiry timers. Idempotent."""
        self._cancel_expiry_timers()
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return

        httpd.stop()
        logger.info("stopped fake EarthScope API")

    # Configuration -------------------------------------------------------

    def attach_archive(self, archive: RestrictedArchive) -> None:
        """Mint AWS credentials as STS sessions on ``archive`` from now on.

        Forgets credentials issued for an earlier archive, whose moto state
        a reset has deleted.
        """
        self._cancel_expiry_timers()
        with self._lock:
            self._archive = archive
            self._iam = archive.admin_client("iam")
            self._sts = archive.admin_client("sts")
            self._issued.clear()
            self._revoked_roles.clear()

    def set_scope_status(
        self,
        network: str,
        status: int | None,
        *,
        year: int | None = None,
        role: str = DEFAULT_ROLE,
    ) -> None:
        """Make credential requests for a scope fail with an error status.

        Parameters
        ----------
        network : str
            Network code without the ``FDSN:`` prefix, for example ``"XX"``.
        status : int or None
            400, 401, 403 or 404. None restores normal responses.
        year : int, optional
            Only this year. Without it, every year of the network that has
            no setting of its own.
        role : str
            Role of the scope.

        Raises
        ------
        ValueError
            If ``status`` is not one of the supported codes.
        """
        key = (role, network, year)
        if status is None:
            self._scope_statuses.pop(key, None)
            return
        if status not in _ERROR_STATUSES:
            raise ValueError(
                f"status must be one of {sorted(_ERROR_STATUSES)} or None; "
                f"got {status!r}"
            )
        self._scope_statuses[key] = status

    def set_scope_lifetime(
        self,
        network: str,
        seconds: float,
        *,
        year: int | None = None,
        role: str = DEFAULT_ROLE,
    ) -> None:
        """Set the lifetime of credentials issued for a scope from now on.

        ``network``, ``year`` and ``role`` match as in :meth:`set_scope_status`.
        """
        if seconds <= 0:
            raise ValueError(f"seconds must be positive; got {seconds!r}")
        self._scope_lifetimes[(role, network, year)] = seconds

    def issue_refresh_token(self) -> str:
        """Create another valid refresh token and return it."""
        token = "fake-refresh-" + secrets.token_urlsafe(24)
        with self._lock:
            self._refresh_tokens.add(token)
            self._secrets.add(token)
        return token

    def issue_tokens(self, scope: str = "openid offline_access") -> dict[str, str]:
        """Issue an access and a refresh token, keyed as in ``tokens.json``."""
        refresh_token = self.issue_refresh_token()
        return {
            "access_token": self._issue_access_token(scope),
            "refresh_token": refresh_token,
        }

    def revoke_tokens(self) -> None:
        """Invalidate every refresh and access token issued so far."""
        with self._lock:
            self._refresh_tokens.clear()
            self._access_tokens.clear()

    def revoke_aws_credentials(
        self,
        network: str | None = None,
        *,
        year: int | None = None,
        role: str | None = None,
    ) -> int:
        """Make issued AWS credentials stop working in S3.

        Deletes the inline policy of each matching session's IAM role, so S3
        returns 403 ``AccessDenied`` to them. Credentials issued later work.

        Parameters
        ----------
        network, year, role : optional
            Revoke only credentials of this scope; None matches any.

        Returns
        -------
        int
            Number of credentials revoked by this call.
        """
        with self._lock:
            matching = [
                issued
                for issued in self._issued
                if _matches(issued, network, year, role)
                and issued.iam_role not in self._revoked_roles
            ]
        for issued in matching:
            self._disable_iam_role(issued.iam_role)
        return len(matching)

    # Observation ---------------------------------------------------------

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Every request received so far, oldest first."""
        with self._lock:
            return tuple(self._requests)

    @property
    def issued_secrets(self) -> frozenset[str]:
        """Every secret ever issued or configured.

        Access and refresh tokens, the client secret, and the secret keys and
        session tokens of AWS credentials, for scanning pickles and logs.
        """
        with self._lock:
            return frozenset(self._secrets)

    @property
    def issued_aws_credentials(self) -> tuple[IssuedAwsCredentials, ...]:
        """AWS credentials issued since the archive was attached, oldest first."""
        with self._lock:
            return tuple(self._issued)

    def credential_requests(
        self,
        network: str | None = None,
        *,
        year: int | None = None,
        role: str | None = None,
    ) -> list[RecordedRequest]:
        """Return the recorded credential requests of a scope.

        ``network`` is the code without ``FDSN:``. Arguments left None match
        any value, and a ``year`` matches only requests that sent it.
        """
        found = []
        for request in self.requests:
            match = _CREDENTIALS_PATH.match(request.path)
            if match is None:
                continue
            if role is not None and match["role"] != role:
                continue
            if network is not None and request.query.get("network") != (
                f"FDSN:{network}"
            ):
                continue
            if year is not None and request.query.get("year") != str(year):
                continue
            found.append(request)
        return found

    def sdk_environment(self, home_dir: str | os.PathLike[str]) -> dict[str, str]:
        """Return the variables that point earthscope-sdk at this server.

        Parameters
        ----------
        home_dir : str or os.PathLike
            Throw-away home directory. The SDK writes ``.earthscope/`` there.

        Returns
        -------
        dict[str, str]
            ``ES_*`` settings (domain, API URL, allowed hosts, refresh token,
            one HTTP attempt), ``HOME``, and ``APP_DIRECTORY`` for the legacy
            earthscope-cli token file. ``HOME`` takes effect only before the
            first import of the SDK's settings module (see the module notes).
        """
        home = Path(home_dir)
        return {
            "ES_OAUTH2__DOMAIN": self.url,
            "ES_RESOURCES__API_URL": self.url,
            "ES_OAUTH2__ALLOWED_HOSTS": json.dumps([LOOPBACK_HOST]),
            "ES_OAUTH2__REFRESH_TOKEN": self.refresh_token,
            "ES_HTTP__RETRY__ATTEMPTS": "1",
            "HOME": str(home),
            "APP_DIRECTORY": str(home / ".config" / "earthscope-cli"),
        }

    # Request handling ----------------------------------------------------

    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> tuple[int, dict[str, Any]]:
        """Route one request, record it, and return the response.

        ``headers`` must have lower-case names.

        Returns
        -------
        tuple[int, dict]
            HTTP status and JSON body.
        """
        url = urlsplit(target)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        bearer = _bearer_token(headers)

        status, reply = self._route(method, url.path, query, bearer, body)
        with self._lock:
            self._requests.append(
                RecordedRequest(method, url.path, query, bearer is not None, status)
            )
        return status, reply

    def _route(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        bearer: str | None,
        body: bytes,
    ) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/oauth/token":
            return self._token(_parse_form(body))
        if method == "POST" and path == "/oauth/revoke":
            return self._revoke(body)

        match = _CREDENTIALS_PATH.match(path)
        if method == "GET" and match is not None:
            return self._aws_credentials(match["role"], query, bearer)
        return 404, {"detail": f"no route for {method} {path}"}

    def _token(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            return self._refresh_grant(form)
        if grant_type == "client_credentials":
            return self._client_credentials_grant(form)
        return 400, {
            "error": "unsupported_grant_type",
            "error_description": f"grant_type {grant_type!r} is not supported",
        }

    def _refresh_grant(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        refresh_token = form.get("refresh_token", "")
        with self._lock:
            valid = refresh_token in self._refresh_tokens
            if valid and self.rotate_refresh_tokens:
                self._refresh_tokens.discard(refresh_token)
        if not valid:
            return 403, {
                "error": "invalid_grant",
                "error_description": "Unknown or invalid refresh token.",
            }

        if self.rotate_refresh_tokens:
            refresh_token = self.issue_refresh_token()
        scope = form.get("scopes") or form.get("scope") or "offline_access"
        reply = self._token_reply(scope)
        reply["refresh_token"] = refresh_token
        return 200, reply

    def _client_credentials_grant(
        self, form: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]]:
        accepted = (
            self.client_secret is not None
            and form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        )
        if not accepted:
            return 401, {"error": "access_denied", "error_description": "Unauthorized"}
        return 200, self._token_reply("")

    def _token_reply(self, scope: str) -> dict[str, Any]:
        return {
            "access_token": self._issue_access_token(scope),
            "token_type": "Bearer",
            "expires_in": int(self.access_token_lifetime),
            "scope": scope,
        }

    def _issue_access_token(self, scope: str) -> str:
        issued_at = time.time()
        expires_at = issued_at + self.access_token_lifetime
        claims: dict[str, Any] = {
            "aud": DEFAULT_AUDIENCE,
            "iss": self.url,
            "iat": math.floor(issued_at),
            "exp": math.floor(expires_at),
            "sub": TEST_SUBJECT,
            "azp": self.client_id,
            "scope": scope,
        }

        # A random token id keeps tokens issued within one second distinct.
        claims["jti"] = secrets.token_hex(8)
        token = mint_unsigned_jwt(claims)

        with self._lock:
            self._access_tokens[token] = expires_at
            self._secrets.add(token)
        return token

    def _revoke(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            token = json.loads(body or b"{}").get("token")
        except (ValueError, AttributeError):
            return 400, {"error": "invalid_request"}
        with self._lock:
            self._refresh_tokens.discard(token)
        return 200, {}

    def _aws_credentials(
        self, role: str, query: Mapping[str, str], bearer: str | None
    ) -> tuple[int, dict[str, Any]]:
        if not self._access_token_valid(bearer):
            return 401, {"detail": "missing, unknown or expired bearer token"}
        if role not in self.roles:
            return 404, {"detail": f"unknown role {role!r}"}

        parsed = _parse_scope(query)
        if isinstance(parsed, str):
            return 400, {"detail": parsed}
        network, year = parsed

        status = self._scope_status(role, network, year)
        if status is not None:
            return status, {"detail": f"configured answer for {network} {year}"}
        if _is_temporary_network(network) and year is None:
            return 400, {"detail": f"temporary network {network} requires year"}

        issued = self._issue_aws_credentials(role, network, year)
        return 200, issued.response_body()

    def _access_token_valid(self, token: str | None) -> bool:
        with self._lock:
            expires_at = self._access_tokens.get(token or "")
        return expires_at is not None and time.time() < expires_at

    def _scope_status(self, role: str, network: str, year: int | None) -> int | None:
        for key in ((role, network, year), (role, network, None)):
            if key in self._scope_statuses:
                return self._scope_statuses[key]
        return None

    def _scope_lifetime(self, role: str, network: str, year: int | None) -> float:
        for key in ((role, network, year), (role, network, None)):
            if key in self._scope_lifetimes:
                return self._scope_lifetimes[key]
        return self.credential_lifetime

    # Credential minting --------------------------------------------------

    def _issue_aws_credentials(
        self, role: str, network: str, year: int | None
    ) -> IssuedAwsCredentials:
        lifetime = self._scope_lifetime(role, network, year)
        expiration = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime)

        with self._lock:
            sequence = next(self._sequence)
            if self._archive is None:
                key_id, secret, token, iam_role = _unbacked_credentials()
            else:
                key_id, secret, token, iam_role = self._assume_scope_role(
                    role, network, year, lifetime, sequence
                )
            issued = IssuedAwsCredentials(
                key_id, secret, token, expiration, role, network, year, iam_role
            )
            self._issued.append(issued)
            self._secrets.update((secret, token))

        if iam_role:
            self._schedule_expiry(iam_role, lifetime)
        return issued

    def _assume_scope_role(
        self,
        role: str,
        network: str,
        year: int | None,
        lifetime: float,
        sequence: int,
    ) -> tuple[str, str, str, str]:
        # One IAM role per issue, so that expiry and revocation of one set of
        # credentials leave the others working.
        assert self._archive is not None and self._iam is not None
        assert self._sts is not None
        iam_role = f"es-{sequence}-{role}-{network or 'all'}-{year or 'any'}"[:64]

        trust = _policy_document(
            [
                {
                    "Principal": {"AWS": self._archive.admin_arn},
                    "Action": "sts:AssumeRole",
                }
            ]
        )
        role_arn = self._iam.create_role(
            RoleName=iam_role, AssumeRolePolicyDocument=trust
        )["Role"]["Arn"]
        self._iam.put_role_policy(
            RoleName=iam_role,
            PolicyName="earthscope-scope",
            PolicyDocument=_scope_policy(self._archive, network),
        )

        duration = min(
            max(math.ceil(lifetime), _MIN_STS_DURATION_S), _MAX_STS_DURATION_S
        )
        session = self._sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName=f"earthscope-user-{sequence}",
            DurationSeconds=duration,
        )["Credentials"]
        return (
            session["AccessKeyId"],
            session["SecretAccessKey"],
            session["SessionToken"],
            iam_role,
        )

    def _schedule_expiry(self, iam_role: str, lifetime: float) -> None:
        timer = threading.Timer(lifetime, self._expire_iam_role, args=(iam_role,))
        timer.daemon = True
        timer.start()
        with self._lock:
            self._expiry_timers.append(timer)

    def _disable_iam_role(self, iam_role: str) -> None:
        with self._lock:
            if iam_role in self._revoked_roles or self._iam is None:
                return
            self._revoked_roles.add(iam_role)
            iam = self._iam

        try:
            iam.delete_role_policy(RoleName=iam_role, PolicyName="earthscope-scope")
        except iam.exceptions.NoSuchEntityException:
            # A reset of the moto server has deleted the role already.
            logger.debug("IAM role %s no longer exists", iam_role)

    def _expire_iam_role(self, iam_role: str) -> None:
        # Runs in a timer thread, where an exception would only be printed.
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._disable_iam_role(iam_role)
        except (BotoCoreError, ClientError) as error:
            logger.warning("failed to expire IAM role %s: %s", iam_role, error)

    def _cancel_expiry_timers(self) -> None:
        with self._lock:
            timers, self._expiry_timers = self._expiry_timers, []
        for timer in timers:
            timer.cancel()


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeEarthScopeAPI/1"

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake EarthScope API: %s", format % args)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        api: FakeEarthScopeAPI = self.server.api  # type: ignore[attr-defined]
        headers = {name.lower(): value for name, value in self.headers.items()}

        # A failure here is a bug or a moto error. Return 500 so the client
        # fails at once instead of waiting on a dropped connection.
        try:
            status, reply = api.handle(self.command, self.path, headers, body)
        except Exception as error:
            logger.exception("fake EarthScope API failed on %s", self.path)
            status, reply = 500, {"detail": f"fake API error: {error!r}"}

        data = json.dumps(reply).encode()
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def _parse_form(body: bytes) -> dict[str, str]:
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _parse_scope(query: Mapping[str, str]) -> tuple[str, int | None] | str:
    """Return ``(network code, year)``, or an error message for a 400."""
    network = query.get("network", "")
    if network and not re.fullmatch(r"FDSN:[A-Z0-9]{1,2}", network):
        return f"network must look like FDSN:XX; got {network!r}"

    year_text = query.get("year")
    if year_text is not None and not re.fullmatch(r"\d{4}", year_text):
        return f"year must have four digits; got {year_text!r}"

    year = None if year_text is None else int(year_text)
    return network.removeprefix("FDSN:"), year


def _is_temporary_network(network: str) -> bool:
    return bool(network) and (network[0].isdigit() or network[0] in "XYZ")


def _matches(
    issued: IssuedAwsCredentials,
    network: str | None,
    year: int | None,
    role: str | None,
) -> bool:
    return (
        (network is None or issued.network == network)
        and (year is None or issued.year == year)
        and (role is None or issued.role == role)
    )


def _unbacked_credentials() -> tuple[str, str, str, str]:
    # Shaped like STS credentials, but known to no S3 server.
    key_id = "ASIA" + secrets.token_hex(8).upper()
    return key_id, secrets.token_urlsafe(30), secrets.token_urlsafe(60), ""


def _policy_document(statements: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", **s} for s in statements],
        }
    )


def _scope_policy(archive: RestrictedArchive, network: str) -> str:
    """Return the identity policy of credentials for one network.

    LIST of both buckets, GET of the open bucket, and GET of the network's
    prefix of the restricted bucket. The open-data grant replaces the public
    bucket policy of AWS, which moto ignores for signed requests.
    """
    statements: list[dict[str, Any]] = [
        {
            "Action": list(_LIST_ACTIONS),
            "Resource": [
                f"arn:aws:s3:::{archive.bucket}",
                f"arn:aws:s3:::{archive.open_bucket}",
            ],
        },
        {
            "Action": list(_READ_ACTIONS),
            "Resource": f"arn:aws:s3:::{archive.open_bucket}/*",
        },
    ]
    if network:
        statements.append(
            {
                "Action": list(_READ_ACTIONS),
                "Resource": f"arn:aws:s3:::{archive.bucket}/miniseed/{network}/*",
            }
        )
    return _policy_document(statements)


# Archive setup -----------------------------------------------------------


def restricted_archive(
    server: LoopbackS3,
    api: FakeEarthScopeAPI,
    objects: Mapping[str, bytes],
    open_objects: Mapping[str, bytes] | None = None,
    *,
    open_server: LoopbackS3 | None = None,
) -> RestrictedArchive:
    """Empty ``server``, fill both buckets, and attach the result to ``api``.

    Parameters
    ----------
    server : LoopbackS3
        Server started with :data:`IAM_ENFORCING_ENVIRONMENT`. Everything it
        stores is deleted first.
    api : FakeEarthScopeAPI
        Receives the archive, so the credentials it issues from now on are
        STS sessions on ``server``.
    objects : Mapping[str, bytes]
        Keys and contents of the restricted bucket (named after the
        ``restricted`` tier of ``catalogs/sage.yaml``), stored private.
    open_objects : Mapping[str, bytes], optional
        Keys and contents of the open-data bucket, stored public-read.
    open_server : LoopbackS3, optional
        Server without IAM for the open-data bucket, so that anonymous reads
        work. It must not hold that bucket yet. By default the open-data
        bucket is on ``server``, where only signed requests can read it.

    Returns
    -------
    RestrictedArchive
        The buckets, endpoints and the admin user's key.

    Raises
    ------
    ValueError
        If ``server`` does not enforce IAM. It is left as it was.
    RuntimeError
        If the throw-away test key can still list the restricted bucket
        after the setup.
    """
    _open_bootstrap_window(server)
    _post_moto_api(server, "reset", b"")
    admin_arn, key_id, secret = _create_admin_user(server.endpoint_url)

    archive = RestrictedArchive(
        endpoint_url=server.endpoint_url,
        open_endpoint_url=(open_server or server).endpoint_url,
        bucket=restricted_bucket_name(),
        open_bucket=OPEN_BUCKET,
        region=ARCHIVE_REGION,
        admin_arn=admin_arn,
        admin_access_key_id=key_id,
        admin_secret_access_key=secret,
    )
    admin = archive.admin_client()
    create_bucket(admin, archive.bucket, ARCHIVE_REGION)
    for key, data in objects.items():
        admin.put_object(Bucket=archive.bucket, Key=key, Body=data)

    open_client = admin if open_server is None else open_server.client(ARCHIVE_REGION)
    create_bucket(open_client, OPEN_BUCKET, ARCHIVE_REGION)
    for key, data in (open_objects or {}).items():
        put_public_object(open_client, OPEN_BUCKET, key, data)

    _check_iam_enforced(server, archive.bucket)
    api.attach_archive(archive)
    return archive


def _open_bootstrap_window(server: LoopbackS3) -> None:
    # reset-auth returns the previous limit. "inf" means the server was
    # started without IAM. Other tests may rely on that, so it is restored.
    reply = _post_moto_api(server, "reset-auth", str(_BOOTSTRAP_ACTION_COUNT).encode())
    previous = json.loads(reply)["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
    if float(previous) == math.inf:
        _post_moto_api(server, "reset-auth", b"inf")
        raise ValueError(
            f"{server!r} does not enforce IAM. Start it with "
            "LoopbackS3(environment=IAM_ENFORCING_ENVIRONMENT)"
        )


def _create_admin_user(endpoint_url: str) -> tuple[str, str, str]:
    """Create an IAM user allowed everything, with the unauthenticated actions."""
    import boto3
    from botocore.config import Config

    iam = boto3.client(
        "iam",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=TEST_ACCESS_KEY_ID,
        aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
        config=Config(proxies={}),
    )
    arn = iam.create_user(UserName=_ADMIN_USER)["User"]["Arn"]
    iam.put_user_policy(
        UserName=_ADMIN_USER,
        PolicyName="everything",
        PolicyDocument=_policy_document([{"Action": "*", "Resource": "*"}]),
    )
    key = iam.create_access_key(UserName=_ADMIN_USER)["AccessKey"]
    return arn, key["AccessKeyId"], key["SecretAccessKey"]


def _check_iam_enforced(server: LoopbackS3, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        server.client(ARCHIVE_REGION).list_objects_v2(Bucket=bucket)
    except ClientError:
        return
    raise RuntimeError(
        f"{server!r} accepted the throw-away test key after the admin setup, "
        "so it does not enforce IAM as this fixture expects"
    )


def _post_moto_api(server: LoopbackS3, action: str, data: bytes) -> bytes:
    # text/plain keeps werkzeug from parsing the body as a form, which would
    # leave moto's reset-auth with an empty body.
    request = urllib.request.Request(
        f"{server.endpoint_url}/moto-api/{action}",
        data=data,
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=_HTTP_TIMEOUT_S) as response:
        return bytes(response.read())


# SDK environment ---------------------------------------------------------

# Inherited variables that could make the SDK read a developer's real
# tokens or settings.
_SDK_INHERITED_VARIABLES = ("APP_DIRECTORY", "EARTHSCOPE_TOKEN", "XDG_CONFIG_HOME")


def sdk_process_environment(
    api: FakeEarthScopeAPI, home_dir: str | os.PathLike[str]
) -> dict[str, str]:
    """Return a whole environment for a child process that runs the SDK.

    The parent's environment without any ``ES_*`` or ``AWS_*`` variable, nor
    ``APP_DIRECTORY``, ``EARTHSCOPE_TOKEN`` or ``XDG_CONFIG_HOME``, plus the
    isolated AWS variables (blank config files in ``home_dir``, metadata
    lookups off) and :meth:`FakeEarthScopeAPI.sdk_environment`.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ES_", "AWS_")) and name not in _SDK_INHERITED_VARIABLES
    }
    environment.update(isolated_aws_variables(home_dir))
    environment.update(api.sdk_environment(home_dir))
    return environment


@contextlib.contextmanager
def isolated_sdk_environment(
    api: FakeEarthScopeAPI,
    home_dir: str | os.PathLike[str],
    extra: Mapping[str, str | None] | None = None,
) -> Iterator[Path]:
    """Point the SDK in this process at ``api`` and a throw-away home.

    Removes inherited ``ES_*`` variables and those that select a developer's
    token files, sets :meth:`FakeEarthScopeAPI.sdk_environment` updated with
    ``extra`` (where None removes a variable), and rebinds the SDK's private
    globals ``_LOCAL_APP_DIR`` and ``_LEGACY_APP_DIR`` to directories under
    ``home_dir``. Restores everything on exit, also when the block raises.

    Yields
    ------
    pathlib.Path
        The SDK's directory, ``home_dir/.earthscope``.

    Notes
    -----
    The SDK reads its settings when a client or ``SdkSettings`` is created,
    so create them inside the block. Clients created before keep their
    settings.
    """
    import earthscope_sdk.config._compat as sdk_compat
    import earthscope_sdk.config.settings as sdk_settings

    home = Path(home_dir)
    variables: dict[str, str | None] = {**api.sdk_environment(home), **(extra or {})}
    removed = [n for n in os.environ if n.startswith("ES_")]
    removed += [n for n in _SDK_INHERITED_VARIABLES if n in os.environ]
    saved = {name: os.environ.get(name) for name in [*removed, *variables]}
    saved_dirs = (sdk_settings._LOCAL_APP_DIR, sdk_compat._LEGACY_APP_DIR)

    try:
        _update_environment(dict.fromkeys(removed))
        _update_environment(variables)
        sdk_settings._LOCAL_APP_DIR = home / ".earthscope"
        sdk_compat._LEGACY_APP_DIR = home / ".config" / "earthscope-cli"
        yield sdk_settings._LOCAL_APP_DIR
    finally:
        sdk_settings._LOCAL_APP_DIR, sdk_compat._LEGACY_APP_DIR = saved_dirs
        _update_environment(saved)


def _update_environment(variables: Mapping[str, str | None]) -> None:
    for name, value in variables.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def write_tokens_file(
    home_dir: str | os.PathLike[str],
    tokens: Mapping[str, str],
    profile: str = "default",
) -> Path:
    """Write ``home_dir/.earthscope/<profile>/tokens.json`` as ``es login`` does.

    A profile other than ``default`` is also added to
    ``home_dir/.earthscope/config.toml`` as an empty ``[profile.NAME]``
    table, because the SDK raises ``ProfileDoesNotExistError`` for a profile
    that the file does not name.

    Parameters
    ----------
    home_dir : str or os.PathLike
        Throw-away home directory.
    tokens : Mapping[str, str]
        ``access_token``, ``refresh_token`` and optionally ``id_token``, for
        example from :meth:`FakeEarthScopeAPI.issue_tokens`.
    profile : str
        Profile name, the directory below ``.earthscope``.

    Returns
    -------
    pathlib.Path
        The tokens file, created with mode 0600.
    """
    directory = Path(home_dir) / ".earthscope"
    path = directory / profile / "tokens.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(dict(tokens), file, indent=2)

    if profile != "default":
        _add_profile_table(directory / "config.toml", profile)
    return path


def _add_profile_table(config_file: Path, profile: str) -> None:
    # A JSON string is also a valid TOML basic string for the table name.
    header = f"[profile.{json.dumps(profile)}]"
    text = config_file.read_text() if config_file.exists() else ""
    if header not in text.splitlines():
        config_file.write_text(f"{text}\n{header}\n")
