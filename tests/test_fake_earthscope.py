"""Tests of the fake EarthScope API and the IAM-enforcing S3 archive.

The real earthscope-sdk talks to the fake API, and the credentials it gets
are used with s3fs against a moto server that enforces IAM.
"""

from __future__ import annotations

import datetime
import json
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import s3fs
from earthscope_sdk import EarthScopeClient
from earthscope_sdk.auth.error import (
    InvalidRefreshTokenError,
    UnauthenticatedError,
    UnauthorizedError,
)
from earthscope_sdk.config.models import Tokens
from earthscope_sdk.config.settings import SdkSettings

from intake_earthscope.testing import LoopbackS3

from fake_earthscope import (
    DEFAULT_ROLE,
    IAM_ENFORCING_ENVIRONMENT,
    OPEN_BUCKET,
    TEST_SUBJECT,
    FakeEarthScopeAPI,
    RestrictedArchive,
    isolated_sdk_environment,
    mint_unsigned_jwt,
    restricted_archive,
    sdk_process_environment,
    write_tokens_file,
)

XX_KEY = "miniseed/XX/2024/001/STA.XX.2024.001#1"
YY_KEY = "miniseed/YY/2024/001/STA.YY.2024.001#1"
OPEN_KEY = "miniseed/IU/2024/001/ANMO.IU.2024.001"
OBJECTS = {XX_KEY: b"restricted XX bytes", YY_KEY: b"restricted YY bytes"}
OPEN_OBJECTS = {OPEN_KEY: b"open IU bytes"}

# Runs in a child process whose environment sets HOME before the SDK is
# imported. Prints what the parent checks as one JSON line.
SDK_CHILD_SCRIPT = """
import json
from earthscope_sdk import EarthScopeClient

with EarthScopeClient() as client:
    client.ctx.auth_flow.refresh_if_necessary()
    credentials = client.user.get_aws_credentials(
        role="s3-miniseed-v2", network="FDSN:XX", year=2024
    )
    print(json.dumps({
        "access_token": client.ctx.auth_flow.access_token,
        "tokens_file": str(client.ctx.settings.tokens_file),
        "key": credentials.aws_access_key_id,
        "secret": credentials.aws_secret_access_key.get_secret_value(),
        "token": credentials.aws_session_token.get_secret_value(),
    }))
"""


@pytest.fixture(scope="module")
def iam_s3(aws_isolation: None) -> Iterator[LoopbackS3]:
    """One IAM-enforcing server for the module, because each start costs about 1 s."""
    with LoopbackS3(environment=IAM_ENFORCING_ENVIRONMENT) as server:
        yield server


@pytest.fixture
def api() -> Iterator[FakeEarthScopeAPI]:
    with FakeEarthScopeAPI() as fake:
        yield fake


@pytest.fixture
def archive(iam_s3: LoopbackS3, api: FakeEarthScopeAPI) -> RestrictedArchive:
    return restricted_archive(iam_s3, api, OBJECTS, OPEN_OBJECTS)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def sdk_dir(api: FakeEarthScopeAPI, home: Path) -> Iterator[Path]:
    """The SDK in this process pointed at ``api`` and a throw-away home."""
    with isolated_sdk_environment(api, home) as directory:
        yield directory


@pytest.fixture
def client(sdk_dir: Path) -> Iterator[EarthScopeClient]:
    with EarthScopeClient() as sdk_client:
        yield sdk_client


def signed_fs(
    archive: RestrictedArchive, key: str, secret: str, token: str | None
) -> s3fs.S3FileSystem:
    # A fresh instance, so no listing cached under the same key pair leaks in.
    options = archive.storage_options(key, secret, token)
    return s3fs.S3FileSystem(**options, skip_instance_cache=True)


def sdk_fs(
    client: EarthScopeClient, archive: RestrictedArchive, network: str = "XX"
) -> s3fs.S3FileSystem:
    credentials = client.user.get_aws_credentials(
        role=DEFAULT_ROLE, network=f"FDSN:{network}", year=2024, force=True
    )
    return signed_fs(
        archive,
        credentials.aws_access_key_id,
        credentials.aws_secret_access_key.get_secret_value(),
        credentials.aws_session_token.get_secret_value(),
    )


def anonymous_fs(endpoint_url: str) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(
        anon=True,
        client_kwargs={"endpoint_url": endpoint_url, "region_name": "us-east-2"},
        # moto returns 500 to some unsigned requests, which botocore would retry.
        config_kwargs={"retries": {"max_attempts": 1}},
        skip_instance_cache=True,
    )


# Tokens ------------------------------------------------------------------


def test_refresh_yields_issued_access_token(
    client: EarthScopeClient, api: FakeEarthScopeAPI
) -> None:
    client.ctx.auth_flow.refresh_if_necessary()
    token = client.ctx.auth_flow.access_token

    assert token in api.issued_secrets
    assert client.ctx.auth_flow.access_token_body.subject == TEST_SUBJECT
    assert client.ctx.auth_flow.ttl.total_seconds() > 3000


def test_refresh_posts_token_endpoint(
    client: EarthScopeClient, api: FakeEarthScopeAPI
) -> None:
    client.ctx.auth_flow.refresh_if_necessary()

    (request,) = api.requests
    assert request.method == "POST"
    assert request.path == "/oauth/token"
    assert request.status == 200
    assert not request.has_bearer


def test_refresh_reads_scopes_field(api: FakeEarthScopeAPI, home: Path) -> None:
    extra = {"ES_OAUTH2__SCOPE": "openid offline_access"}
    with isolated_sdk_environment(api, home, extra), EarthScopeClient() as client:
        client.ctx.auth_flow.refresh_if_necessary()
        scope = client.ctx.auth_flow.scope

    assert scope == {"openid", "offline_access"}


def test_refresh_writes_tokens_under_home(
    client: EarthScopeClient, sdk_dir: Path, home: Path
) -> None:
    client.ctx.auth_flow.refresh_if_necessary()

    tokens_file = sdk_dir / "default" / "tokens.json"
    assert client.ctx.settings.tokens_file == tokens_file
    assert tokens_file.is_relative_to(home)
    assert tokens_file.is_file()


def test_unknown_refresh_token_rejected(api: FakeEarthScopeAPI, home: Path) -> None:
    extra = {"ES_OAUTH2__REFRESH_TOKEN": "fake-refresh-never-issued"}
    with isolated_sdk_environment(api, home, extra), EarthScopeClient() as client:
        with pytest.raises(InvalidRefreshTokenError):
            client.ctx.auth_flow.refresh_if_necessary()

    assert [r.status for r in api.requests] == [403]


def test_revoked_tokens_rejected(api: FakeEarthScopeAPI, sdk_dir: Path) -> None:
    api.revoke_tokens()

    with EarthScopeClient() as client, pytest.raises(InvalidRefreshTokenError):
        client.ctx.auth_flow.refresh_if_necessary()


def test_rotated_refresh_token_replaces_old(home: Path) -> None:
    with FakeEarthScopeAPI(rotate_refresh_tokens=True) as api:
        with isolated_sdk_environment(api, home), EarthScopeClient() as client:
            client.ctx.auth_flow.refresh()
            client.ctx.auth_flow.refresh()
            newest = client.ctx.auth_flow.refresh_token

        assert newest != api.refresh_token
        assert newest in api.issued_secrets
        assert [r.status for r in api.requests] == [200, 200]


def test_client_credentials_grant_issues_token(home: Path) -> None:
    with FakeEarthScopeAPI(client_secret="fake-client-secret") as api:
        extra = {"ES_OAUTH2__CLIENT_SECRET": "fake-client-secret"}
        with isolated_sdk_environment(api, home, extra), EarthScopeClient() as client:
            client.ctx.auth_flow.refresh_if_necessary()
            token = client.ctx.auth_flow.access_token

        assert token in api.issued_secrets
        assert "fake-client-secret" in api.issued_secrets


def test_wrong_client_secret_rejected(home: Path) -> None:
    with FakeEarthScopeAPI(client_secret="fake-client-secret") as api:
        extra = {"ES_OAUTH2__CLIENT_SECRET": "wrong-secret"}
        with isolated_sdk_environment(api, home, extra), EarthScopeClient() as client:
            with pytest.raises(UnauthorizedError):
                client.ctx.auth_flow.refresh_if_necessary()


def test_profile_tokens_file_read(api: FakeEarthScopeAPI, home: Path) -> None:
    tokens = api.issue_tokens()
    path = write_tokens_file(home, tokens, profile="field-team")

    # The environment's refresh token outranks tokens.json, so it is removed.
    extra = {"ES_PROFILE": "field-team", "ES_OAUTH2__REFRESH_TOKEN": None}
    with isolated_sdk_environment(api, home, extra):
        settings = SdkSettings()
        # The SDK resolves tokens_file on first access, from patched globals.
        tokens_file = settings.tokens_file

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens_file == path
    assert settings.oauth2.refresh_token.get_secret_value() == tokens["refresh_token"]
    assert settings.oauth2.access_token.get_secret_value() == tokens["access_token"]


def test_minted_tokens_decode_in_sdk(api: FakeEarthScopeAPI) -> None:
    for _ in range(50):
        tokens = Tokens.model_validate(api.issue_tokens())
        assert tokens.access_token_body.subject == TEST_SUBJECT


@pytest.mark.parametrize("subject", [">", "?~", "a?b>c~d", "\x7f", "\u00e9?"])
def test_jwt_escapes_url_alphabet(subject: str) -> None:
    claims = {"aud": "a", "iss": "i", "iat": 0, "exp": 1, "sub": subject, "azp": "c"}
    token = mint_unsigned_jwt(claims)
    payload = token.split(".")[1]

    assert "-" not in payload
    assert "_" not in payload
    decoded = Tokens(access_token=token).access_token_body
    assert decoded.subject == subject


# Credentials endpoint ----------------------------------------------------


def test_credentials_require_bearer(api: FakeEarthScopeAPI) -> None:
    url = f"{api.url}beta/user/credentials/aws/{DEFAULT_ROLE}"
    params = {"network": "FDSN:XX", "year": "2024"}

    with httpx.Client(trust_env=False) as http:
        without = http.get(url, params=params)
        unknown = http.get(url, params=params, headers={"Authorization": "Bearer x"})

    assert without.status_code == 401
    assert unknown.status_code == 401
    assert [r.has_bearer for r in api.requests] == [False, True]


def test_expired_access_token_rejected() -> None:
    with FakeEarthScopeAPI(access_token_lifetime=1) as api:
        token = api.issue_tokens()["access_token"]
        url = f"{api.url}beta/user/credentials/aws/{DEFAULT_ROLE}"
        headers = {"Authorization": f"Bearer {token}"}
        params = {"network": "FDSN:IU"}

        with httpx.Client(trust_env=False, headers=headers) as http:
            fresh = http.get(url, params=params)
            time.sleep(1.2)
            expired = http.get(url, params=params)

    assert fresh.status_code == 200
    assert expired.status_code == 401


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, UnauthenticatedError),
        (403, UnauthorizedError),
        (400, httpx.HTTPStatusError),
        (404, httpx.HTTPStatusError),
    ],
)
def test_configured_status_reaches_sdk(
    client: EarthScopeClient,
    api: FakeEarthScopeAPI,
    status: int,
    error: type[Exception],
) -> None:
    api.set_scope_status("XX", status, year=2024)

    with pytest.raises(error):
        client.user.get_aws_credentials(role=DEFAULT_ROLE, network="FDSN:XX", year=2024)

    (request,) = api.credential_requests("XX", year=2024)
    assert request.status == status


def test_status_scoped_to_network_year(
    client: EarthScopeClient, api: FakeEarthScopeAPI
) -> None:
    api.set_scope_status("XX", 403, year=2023)

    client.user.get_aws_credentials(role=DEFAULT_ROLE, network="FDSN:XX", year=2024)

    assert api.credential_requests("XX", year=2024)[0].status == 200


def test_sdk_does_not_retry_4xx(api: FakeEarthScopeAPI, home: Path) -> None:
    # The SDK's default of three attempts, to show that 4xx is not retried.
    extra = {"ES_HTTP__RETRY__ATTEMPTS": "3"}
    api.set_scope_status("XX", 404)
    with isolated_sdk_environment(api, home, extra), EarthScopeClient() as client:
        with pytest.raises(httpx.HTTPStatusError):
            client.user.get_aws_credentials(
                role=DEFAULT_ROLE, network="FDSN:XX", year=2024
            )

    assert len(api.credential_requests("XX")) == 1


def test_temporary_network_needs_year(
    client: EarthScopeClient, api: FakeEarthScopeAPI
) -> None:
    with pytest.raises(httpx.HTTPStatusError) as raised:
        client.user.get_aws_credentials(role=DEFAULT_ROLE, network="FDSN:XX")

    assert raised.value.response.status_code == 400


def test_unknown_role_not_found(client: EarthScopeClient) -> None:
    with pytest.raises(httpx.HTTPStatusError) as raised:
        client.user.get_aws_credentials(role="s3-miniseed", network="FDSN:IU")

    assert raised.value.response.status_code == 404


def test_sdk_caches_until_near_expiry(
    client: EarthScopeClient, api: FakeEarthScopeAPI
) -> None:
    # The SDK fetches again when less than 30 s are left, so 31 s lasts 1 s.
    api.set_scope_lifetime("XX", 31, year=2024)

    def fetch() -> str:
        return client.user.get_aws_credentials(
            role=DEFAULT_ROLE, network="FDSN:XX", year=2024
        ).aws_access_key_id

    first = fetch()
    cached = fetch()
    time.sleep(1.2)
    renewed = fetch()

    assert cached == first
    assert renewed != first
    assert len(api.credential_requests("XX", year=2024)) == 2


def test_issued_secrets_cover_credentials(
    client: EarthScopeClient, api: FakeEarthScopeAPI
) -> None:
    credentials = client.user.get_aws_credentials(role=DEFAULT_ROLE, network="FDSN:IU")
    issued = api.issued_secrets

    assert client.ctx.auth_flow.access_token in issued
    assert api.refresh_token in issued
    assert credentials.aws_secret_access_key.get_secret_value() in issued
    assert credentials.aws_session_token.get_secret_value() in issued


def test_expiration_has_time_zone(
    client: EarthScopeClient, api: FakeEarthScopeAPI
) -> None:
    credentials = client.user.get_aws_credentials(role=DEFAULT_ROLE, network="FDSN:IU")

    assert credentials.expiration.utcoffset() is not None
    assert credentials.ttl.total_seconds() > 3000


# S3 access ---------------------------------------------------------------


def test_sdk_credentials_read_restricted(
    client: EarthScopeClient, archive: RestrictedArchive
) -> None:
    fs = sdk_fs(client, archive)

    assert fs.cat_file(f"{archive.bucket}/{XX_KEY}") == OBJECTS[XX_KEY]


def test_sdk_credentials_list_restricted(
    client: EarthScopeClient, archive: RestrictedArchive
) -> None:
    fs = sdk_fs(client, archive)

    listing = fs.ls(f"{archive.bucket}/miniseed/XX/2024/001/")

    assert listing == [f"{archive.bucket}/{XX_KEY}"]


def test_credentials_scoped_to_network(
    client: EarthScopeClient, archive: RestrictedArchive
) -> None:
    fs = sdk_fs(client, archive, network="XX")

    with pytest.raises(PermissionError):
        fs.cat_file(f"{archive.bucket}/{YY_KEY}")


def test_credentials_list_other_network(
    client: EarthScopeClient, archive: RestrictedArchive
) -> None:
    # moto checks LIST against the bucket only, so no prefix scoping.
    fs = sdk_fs(client, archive, network="XX")

    assert fs.ls(f"{archive.bucket}/miniseed/YY/2024/001/")


def test_credentials_without_network_list_only(
    client: EarthScopeClient, archive: RestrictedArchive
) -> None:
    credentials = client.user.get_aws_credentials(role=DEFAULT_ROLE)
    fs = signed_fs(
        archive,
        credentials.aws_access_key_id,
        credentials.aws_secret_access_key.get_secret_value(),
        credentials.aws_session_token.get_secret_value(),
    )

    assert fs.ls(f"{archive.bucket}/miniseed/XX/2024/001/")
    with pytest.raises(PermissionError):
        fs.cat_file(f"{archive.bucket}/{XX_KEY}")


def test_credentials_read_open_bucket(
    client: EarthScopeClient, archive: RestrictedArchive
) -> None:
    fs = sdk_fs(client, archive)

    assert fs.cat_file(f"{OPEN_BUCKET}/{OPEN_KEY}") == OPEN_OBJECTS[OPEN_KEY]


def test_anonymous_get_restricted_rejected(archive: RestrictedArchive) -> None:
    fs = anonymous_fs(archive.endpoint_url)

    with pytest.raises(PermissionError):
        fs.cat_file(f"{archive.bucket}/{XX_KEY}")


def test_anonymous_list_restricted_fails(archive: RestrictedArchive) -> None:
    # moto 5.2.5 with IAM on returns 500 to an unsigned LIST, not 403.
    fs = anonymous_fs(archive.endpoint_url)

    with pytest.raises(OSError) as raised:
        fs.ls(f"{archive.bucket}/miniseed/XX/2024/001/")

    assert not isinstance(raised.value, PermissionError)


def test_anonymous_open_read_fails_with_iam(archive: RestrictedArchive) -> None:
    # The reason for open_server: moto 5.2.5 with IAM on returns 500 here.
    fs = anonymous_fs(archive.endpoint_url)

    with pytest.raises(OSError):
        fs.cat_file(f"{OPEN_BUCKET}/{OPEN_KEY}")


def test_wrong_secret_rejected(
    client: EarthScopeClient, archive: RestrictedArchive
) -> None:
    credentials = client.user.get_aws_credentials(
        role=DEFAULT_ROLE, network="FDSN:XX", year=2024
    )
    session_token = credentials.aws_session_token.get_secret_value()
    fs = signed_fs(archive, credentials.aws_access_key_id, "wrong", session_token)

    with pytest.raises(PermissionError):
        fs.cat_file(f"{archive.bucket}/{XX_KEY}")


def test_unknown_key_rejected(archive: RestrictedArchive) -> None:
    fs = signed_fs(archive, "testing", "testing", None)

    with pytest.raises(PermissionError):
        fs.cat_file(f"{archive.bucket}/{XX_KEY}")


def test_unknown_key_list_rejected(archive: RestrictedArchive) -> None:
    fs = signed_fs(archive, "testing", "testing", None)

    with pytest.raises(PermissionError):
        fs.ls(f"{archive.bucket}/miniseed/XX/2024/001/")


def test_revocation_rejects_old_credentials(
    client: EarthScopeClient, api: FakeEarthScopeAPI, archive: RestrictedArchive
) -> None:
    old = client.user.get_aws_credentials(
        role=DEFAULT_ROLE, network="FDSN:XX", year=2024
    )
    old_options = (
        old.aws_access_key_id,
        old.aws_secret_access_key.get_secret_value(),
        old.aws_session_token.get_secret_value(),
    )
    path = f"{archive.bucket}/{XX_KEY}"
    assert signed_fs(archive, *old_options).cat_file(path) == OBJECTS[XX_KEY]

    assert api.revoke_aws_credentials() == 1

    with pytest.raises(PermissionError):
        signed_fs(archive, *old_options).cat_file(path)
    with pytest.raises(PermissionError):
        signed_fs(archive, *old_options).ls(f"{archive.bucket}/miniseed/")
    assert sdk_fs(client, archive).cat_file(path) == OBJECTS[XX_KEY]


def test_revocation_scoped_to_network(
    client: EarthScopeClient, api: FakeEarthScopeAPI, archive: RestrictedArchive
) -> None:
    xx_fs = sdk_fs(client, archive, network="XX")
    yy_fs = sdk_fs(client, archive, network="YY")

    assert api.revoke_aws_credentials("YY") == 1

    assert xx_fs.cat_file(f"{archive.bucket}/{XX_KEY}") == OBJECTS[XX_KEY]
    with pytest.raises(PermissionError):
        yy_fs.cat_file(f"{archive.bucket}/{YY_KEY}")


def test_expired_credentials_rejected(
    client: EarthScopeClient, api: FakeEarthScopeAPI, archive: RestrictedArchive
) -> None:
    # Six seconds leave room for the first read on a loaded machine.
    api.set_scope_lifetime("XX", 6, year=2024)
    fs = sdk_fs(client, archive)
    path = f"{archive.bucket}/{XX_KEY}"
    assert fs.cat_file(path) == OBJECTS[XX_KEY]

    (issued,) = api.issued_aws_credentials
    # The server compares the expiration with the wall clock, which on a
    # loaded virtual machine can fall behind the monotonic clock that
    # time.sleep counts, so the wait watches the wall clock itself.
    limit = time.monotonic() + 60
    expired = issued.expiration + datetime.timedelta(seconds=0.5)
    while datetime.datetime.now(datetime.UTC) < expired:
        assert time.monotonic() < limit, "the wall clock did not pass the expiration"
        time.sleep(0.1)

    with pytest.raises(PermissionError):
        fs.cat_file(path)


def test_open_server_serves_anonymous(
    s3: LoopbackS3, iam_s3: LoopbackS3, api: FakeEarthScopeAPI
) -> None:
    archive = restricted_archive(iam_s3, api, OBJECTS, OPEN_OBJECTS, open_server=s3)
    fs = anonymous_fs(archive.open_endpoint_url)

    assert archive.open_endpoint_url == s3.endpoint_url
    assert fs.cat_file(f"{OPEN_BUCKET}/{OPEN_KEY}") == OPEN_OBJECTS[OPEN_KEY]


def test_archive_rejects_server_without_iam(
    s3: LoopbackS3, api: FakeEarthScopeAPI
) -> None:
    with pytest.raises(ValueError, match="does not enforce IAM"):
        restricted_archive(s3, api, OBJECTS, OPEN_OBJECTS)

    # The server still serves without IAM.
    s3.client().create_bucket(Bucket="still-open")
    assert anonymous_fs(s3.endpoint_url).ls("still-open") == []


def test_archive_repeatable_on_one_server(
    iam_s3: LoopbackS3, api: FakeEarthScopeAPI, client: EarthScopeClient
) -> None:
    restricted_archive(iam_s3, api, OBJECTS)
    archive = restricted_archive(iam_s3, api, {XX_KEY: b"second"})

    assert sdk_fs(client, archive).cat_file(f"{archive.bucket}/{XX_KEY}") == b"second"


def test_restricted_bucket_from_catalog(archive: RestrictedArchive) -> None:
    assert archive.bucket.endswith("-s3alias")
    assert archive.region == "us-east-2"


# SDK in a child process --------------------------------------------------


def test_child_process_sdk_reads(
    api: FakeEarthScopeAPI, archive: RestrictedArchive, home: Path
) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SDK_CHILD_SCRIPT],
        env=sdk_process_environment(api, home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    reply = json.loads(completed.stdout)

    fs = signed_fs(archive, reply["key"], reply["secret"], reply["token"])
    assert fs.cat_file(f"{archive.bucket}/{XX_KEY}") == OBJECTS[XX_KEY]
    assert reply["access_token"] in api.issued_secrets
    assert Path(reply["tokens_file"]) == home / ".earthscope/default/tokens.json"
    assert Path(reply["tokens_file"]).is_file()
