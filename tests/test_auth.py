"""EarthScope authorization: token sources, credentials, tiers, secrets.

The real earthscope-sdk talks to a loopback fake EarthScope API whose AWS
credentials are real STS sessions on a moto server that enforces IAM.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import numpy as np
import pytest
from clusters import process_cluster
from distributed import Client

from intake_earthscope import auth
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import (
    AccessDeniedError,
    AuthenticationError,
    CredentialsError,
    ObjectNotFoundError,
)
from intake_earthscope.s3http import http_route
from intake_earthscope.storage import clear_listing_cache
from intake_earthscope.testing import LoopbackS3
from intake_earthscope.timeutil import parse_time

import mseedgen
from conftest import OBSPY_MSEED_DATA, collection_spec, publish
from fake_earthscope import (
    IAM_ENFORCING_ENVIRONMENT,
    FakeEarthScopeAPI,
    RestrictedArchive,
    isolated_sdk_environment,
    restricted_archive,
    sdk_process_environment,
    write_tokens_file,
)
from loopback_http import LoopbackHttp, Reply, fake_jwt

DAY_NS = parse_time("2024-01-01", "start")
XX_KEYS = [f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}#1" for day in (1, 2, 3)]
YY_KEY = "miniseed/YY/2024/001/STA.YY.2024.001#1"


def day_object(day: int, network: str = "XX") -> bytes:
    start = DAY_NS + (day - 1) * 86_400_000_000_000
    values = np.arange(60) + 1000 * day
    return mseedgen.segment_bytes(f"{network}.STA.00.BHZ", start, values, 1.0)


OBJECTS = {key: day_object(day) for day, key in enumerate(XX_KEYS, start=1)}
OBJECTS[YY_KEY] = day_object(1, "YY")


@pytest.fixture(scope="module")
def iam_s3(aws_isolation: None) -> Iterator[LoopbackS3]:
    with LoopbackS3(environment=IAM_ENFORCING_ENVIRONMENT) as server:
        yield server


@pytest.fixture
def api() -> Iterator[FakeEarthScopeAPI]:
    with FakeEarthScopeAPI() as fake:
        yield fake


@pytest.fixture
def archive(
    iam_s3: LoopbackS3, api: FakeEarthScopeAPI, monkeypatch: pytest.MonkeyPatch
) -> RestrictedArchive:
    built = restricted_archive(iam_s3, api, OBJECTS)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", built.endpoint_url)
    clear_listing_cache()
    return built


@pytest.fixture
def sdk(api: FakeEarthScopeAPI, tmp_path: Path) -> Iterator[Path]:
    """The SDK of this process pointed at the fake API and a throw-away home."""
    home = tmp_path / "home"
    home.mkdir()
    auth.clear_process_state()
    with isolated_sdk_environment(api, home) as directory:
        yield directory
    auth.clear_process_state()


def restricted(**request):
    parameters = dict(
        network="XX",
        station="STA",
        location="00",
        channel="BHZ",
        start="2024-01-01",
        end="2024-01-02",
        tier="restricted",
    )
    parameters.update(request)
    return open_waveforms(collection_spec("sage"), **parameters)


# Token sources


def test_no_token_says_es_login(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("EARTHSCOPE_TOKEN", raising=False)
    with pytest.raises(AuthenticationError, match="run `es login`"):
        auth.resolve_token_source()


def test_token_file_from_variable(api, tmp_path) -> None:
    path = write_tokens_file(tmp_path / "elsewhere", api.issue_tokens())
    home = tmp_path / "home"
    home.mkdir()
    extra = {"ES_OAUTH2__REFRESH_TOKEN": None, "EARTHSCOPE_TOKEN": str(path)}

    with isolated_sdk_environment(api, home, extra):
        source = auth.resolve_token_source()
        token = auth.access_token(source)

    assert source.kind == "file"
    assert token in api.issued_secrets


def test_sdk_settings_win_over_variable(api, sdk, monkeypatch) -> None:
    monkeypatch.setenv("EARTHSCOPE_TOKEN", "/no/such/tokens.json")

    source = auth.resolve_token_source()

    assert source.kind == "sdk"


def test_explicit_token_wins(api, sdk) -> None:
    token = api.issue_tokens()["access_token"]

    source = auth.resolve_token_source(token=token)

    assert source.kind == "token"
    assert token not in repr(source)
    assert auth.access_token(source) == token


def test_unknown_profile_named(sdk) -> None:
    with pytest.raises(AuthenticationError, match="profile 'field' not found"):
        auth.resolve_token_source(profile="field")


def test_revoked_refresh_token_says_login(api, sdk) -> None:
    api.revoke_tokens()
    source = auth.resolve_token_source()

    with pytest.raises(AuthenticationError, match="expired or revoked"):
        auth.access_token(source)


# Restricted tier through the catalog's collection


def test_restricted_read_with_sdk_credentials(archive, sdk) -> None:
    dataset = restricted(end="2024-01-04").load()

    assert list(dataset.status.values[0]) == ["ok", "ok", "ok"]
    assert list(dataset.tier.values[0]) == ["restricted"] * 3
    assert dataset.waveform.values[0, 86400] == 2000


def test_ranged_reads_signed_for_moto(archive, sdk) -> None:
    """The ranged GETs sent with urllib3 carry signatures that moto checks."""
    from intake_earthscope.collection import Collection
    from intake_earthscope.storage import StorageSpec, read_bytes

    tier = Collection.from_yaml(collection_spec("sage")).tier("restricted")
    spec = StorageSpec.for_tier(tier, token_source=auth.resolve_token_source())
    spec = spec.with_scope("XX", 2024)

    assert http_route(spec) is not None
    assert read_bytes(spec, XX_KEYS[0], 100, 400) == OBJECTS[XX_KEYS[0]][100:400]
    assert read_bytes(spec, XX_KEYS[0], 0, None) == OBJECTS[XX_KEYS[0]]


def test_unreadable_token_says_login(archive, sdk) -> None:
    """A token that is no JWT is an authentication problem, not an outage."""
    with pytest.raises(AuthenticationError) as caught:
        restricted(token="a.b.c").load()
    message = str(caught.value)

    assert "not a readable JWT" in message
    assert "es login" in message
    assert "a.b.c" not in message


def test_scope_is_per_network(archive, sdk, api) -> None:
    restricted().load()
    restricted(network="YY").load()

    assert len(api.credential_requests("XX")) == 1
    assert len(api.credential_requests("YY")) == 1


@pytest.mark.parametrize(
    "options",
    [{"anon": True}, {"key": "AKIAWRONGWRONGWRONG", "secret": "wrong-secret-key"}],
)
@pytest.mark.parametrize("byte_range", [(None, None), (0, 100)])
def test_unsigned_or_wrong_key_refused(archive, options, byte_range) -> None:
    # Reads only: moto returns a server error for an unsigned LIST when it
    # enforces IAM, so the listing step cannot be exercised this way.
    from intake_earthscope.collection import Collection
    from intake_earthscope.storage import StorageSpec, read_bytes

    tier = Collection.from_yaml(collection_spec("sage")).tier("restricted")
    spec = StorageSpec.for_tier(tier, options)

    with pytest.raises(AccessDeniedError, match="access denied reading"):
        read_bytes(spec, XX_KEYS[0], *byte_range)


@pytest.mark.parametrize("byte_range", [(None, None), (0, 100)])
def test_wrong_signature_refused(archive, byte_range) -> None:
    """A known key with a wrong secret fails moto's signature check."""
    from intake_earthscope.collection import Collection
    from intake_earthscope.storage import StorageSpec, read_bytes

    tier = Collection.from_yaml(collection_spec("sage")).tier("restricted")
    options = {"key": archive.admin_access_key_id, "secret": "not-the-secret-key"}
    spec = StorageSpec.for_tier(tier, options)

    with pytest.raises(AccessDeniedError, match="access denied reading"):
        read_bytes(spec, XX_KEYS[0], *byte_range)


@pytest.mark.parametrize(
    ("status", "error", "asked"),
    [
        # A rejected token may be renewed by `es login`, so 401 is asked again.
        (401, AuthenticationError, 2),
        (403, AccessDeniedError, 1),
        (404, CredentialsError, 1),
        (400, CredentialsError, 1),
    ],
)
def test_refusal_named_and_cached(archive, sdk, api, status, error, asked) -> None:
    api.set_scope_status("XX", status)

    for _ in range(2):
        with pytest.raises(error) as caught:
            restricted(sampling_rate=1).load()
        message = str(caught.value)
        assert str(status) in message
        assert "role 's3-miniseed-v2'" in message
        assert "network XX" in message
        assert "region us-east-2" in message

    assert len(api.credential_requests("XX")) == asked


def test_temporary_network_sends_year(archive, sdk, api) -> None:
    scope = auth.CredentialScope("s3-miniseed-v2", "XA", 2024, "us-east-2")

    assert scope.params() == {"network": "FDSN:XA", "year": 2024}
    assert auth.CredentialScope("r", "IU", 2024).params() == {"network": "FDSN:IU"}


# Secrets


def test_no_secret_in_graph_logs_or_repr(archive, sdk, api, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("botocore").setLevel(logging.DEBUG)

    dataset = restricted(end="2024-01-03")
    graph = pickle.dumps(dict(dataset.__dask_graph__()))
    loaded = dataset.load()
    # The fake API's own threads log the STS responses it mints credentials
    # from; they stand in for EarthScope's servers and are left out.
    ours = [
        record.getMessage() + (record.exc_text or "")
        for record in caplog.records
        if "process_request_thread" not in record.threadName
    ]
    texts = ["\n".join(ours), repr(loaded), repr(loaded.attrs)]

    assert api.issued_secrets
    for secret in api.issued_secrets:
        assert secret.encode() not in graph
        for text in texts:
            assert secret not in text


def test_threaded_reads_share_client(archive, sdk, api) -> None:
    dataset = restricted(end="2024-01-04", station="STA")

    with dask.config.set(scheduler="threads", num_workers=4):
        values = dataset.waveform.values

    assert np.isfinite(values).sum() == 180
    assert len(api.credential_requests("XX")) == 1


def test_expired_token_retried_once(monkeypatch) -> None:
    # moto cannot return ExpiredToken, so a stand-in filesystem raises it
    # once, the way s3fs translates botocore's error.
    from botocore.exceptions import ClientError

    from intake_earthscope import storage

    calls = []

    class ExpiringFilesystem:
        def cat_file(self, path, start=None, end=None):
            calls.append(path)
            if len(calls) == 1:
                cause = ClientError({"Error": {"Code": "ExpiredToken"}}, "GetObject")
                raise PermissionError("expired") from cause
            return b"bytes"

    spec = storage.StorageSpec(
        "s3",
        "bucket",
        token_source=auth.TokenSource("sdk"),
        scope=auth.CredentialScope("role", "XX", 2024),
    )
    monkeypatch.setattr(
        storage.StorageSpec, "filesystem", lambda self: ExpiringFilesystem()
    )
    monkeypatch.setattr(storage.StorageSpec, "forget_credentials", lambda self: None)

    assert storage.read_bytes(spec, "key") == b"bytes"
    assert len(calls) == 2


@pytest.mark.cluster
def test_credentials_refresh_during_cluster_compute(
    archive, sdk, api, monkeypatch
) -> None:
    # Credentials live 8 s and are renewed 5 s before expiry; the compute
    # sleeps between chunks, so later reads need credentials issued after
    # the first ones expired (the fake API then revokes them in moto).
    api.set_scope_lifetime("XX", 8)
    monkeypatch.setenv("INTAKE_EARTHSCOPE_REFRESH_MARGIN", "5")
    dataset = restricted(end="2024-01-04")

    def slow(block):
        time.sleep(3)
        return block

    with (
        process_cluster(1) as cluster,
        Client(cluster),
    ):
        result = dataset.waveform.map_blocks(slow).compute()
        status = dataset.status.compute()

    assert np.isfinite(result.values).sum() == 180
    assert (status.values == "ok").all()
    assert len(api.credential_requests("XX")) >= 2


# Routing and the web-service tier


@pytest.fixture
def fdsn() -> Iterator[LoopbackHttp]:
    server = LoopbackHttp("127.0.0.1")
    server.start()
    yield server
    server.stop()


def fdsn_collection(server: LoopbackHttp) -> dict:
    spec = collection_spec("sage")
    tiers = dict(spec["tiers"])
    tiers["fdsn"] = dict(
        tiers["fdsn"],
        base_url=server.url("/fdsnws/dataselect/1/"),
        allowed_hosts=["127.0.0.1"],
    )
    return dict(spec, tiers=tiers)


STATION_TEXT = (
    "#Network|Station|Latitude|Longitude|Elevation|SiteName|StartTime|EndTime\n"
    "CH|BALST|47.3|7.7|863.0|Balsthal|2000-01-01T00:00:00|\n"
)


def balst_services(server: LoopbackHttp) -> None:
    data = (OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels").read_bytes()
    from obspy import read_inventory
    from obspy.core.inventory import Channel, Inventory, Network, Site, Station

    channels = [
        Channel(code, "", 47.3, 7.7, 863.0, 0.0, sample_rate=1.0)
        for code in ("LHE", "LHZ")
    ]
    station = Station(
        "BALST", 47.3, 7.7, 863.0, channels=channels, site=Site("Balsthal")
    )
    inventory = Inventory([Network("CH", stations=[station])], source="test")
    path = Path(os.environ["HOME"]) / "balst.xml"
    inventory.write(str(path), format="STATIONXML")
    assert read_inventory(str(path))
    xml = path.read_bytes()

    server.routes["/fdsnws/dataselect/1/query"] = lambda params: Reply(200, data)
    server.routes["/fdsnws/station/1/query"] = lambda params: (
        Reply(200, STATION_TEXT.encode())
        if params.get("format") == ["text"]
        else Reply(200, xml)
    )


def test_fdsn_tier_reads_with_bearer(fdsn) -> None:
    balst_services(fdsn)
    token = fake_jwt()

    dataset = open_waveforms(
        fdsn_collection(fdsn),
        network="CH",
        station="BALST",
        location="",
        channel="LH?",
        start="2025-11-10",
        end="2025-11-11",
        tier="fdsn",
        token=token,
    ).load()

    assert list(dataset.trace.values) == ["CH.BALST..LHE", "CH.BALST..LHZ"]
    assert (dataset.tier.values == "fdsn").all()
    assert float(dataset.valid_fraction.values.min()) > 0.99
    assert set(fdsn.tokens_seen()) == {f"Bearer {token}"}


def test_fdsn_no_data_names_query(fdsn) -> None:
    """The error of a day without data names the requested channels and day."""
    balst_services(fdsn)
    fdsn.routes["/fdsnws/dataselect/1/query"] = lambda params: Reply(204, b"")

    dataset = open_waveforms(
        fdsn_collection(fdsn),
        network="CH",
        station="BALST",
        location="",
        channel="LHZ",
        start="2025-11-10",
        end="2025-11-11",
        tier="fdsn",
        token=fake_jwt(),
    )

    with pytest.raises(ObjectNotFoundError, match=r"CH\.BALST\.\.LHZ from 2025-11-10"):
        dataset.load()


@pytest.mark.parametrize(
    "codes",
    [
        {"channel": "LHZ", "sampling_rate": 1},
        # Wildcards: the plan takes channels and rates from the station service.
        {"channel": "LH?"},
    ],
)
def test_denied_restricted_falls_back_to_fdsn(
    fdsn, s3, api, archive, sdk, monkeypatch, codes
) -> None:
    # Credentials are refused for CH, so S3 cannot serve: dataselect does.
    balst_services(fdsn)
    data = (OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels").read_bytes()
    publish(s3, "sage", {"miniseed/IU/2025/314/ANMO.IU.2025.314": data})
    publish(
        s3, "sage", {"miniseed/CH/2025/314/BALST.CH.2025.314#1": data}, "restricted"
    )
    api.set_scope_status("CH", 403)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)

    dataset = open_waveforms(
        fdsn_collection(fdsn),
        network="CH",
        station="BALST",
        location="",
        start="2025-11-10",
        end="2025-11-11",
        **codes,
    ).load()

    assert (dataset.tier.values == "fdsn").all()
    assert (dataset.status.values == "ok").all()


# The auth command


def test_auth_command_shows_no_secret(api, archive, tmp_path) -> None:
    home = tmp_path / "cli-home"
    home.mkdir()
    environment = sdk_process_environment(api, home)
    environment["AWS_ENDPOINT_URL_S3"] = archive.endpoint_url

    result = subprocess.run(
        [sys.executable, "-m", "intake_earthscope.cli", "auth", "--network", "XX"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "token source: earthscope-sdk settings" in output
    assert "access token expires:" in output
    assert "restricted (network XX" in output
    for secret in api.issued_secrets:
        assert secret not in output


def test_auth_command_without_token(tmp_path) -> None:
    environment = {
        "HOME": str(tmp_path),
        "PATH": os.environ["PATH"],
        "AWS_EC2_METADATA_DISABLED": "true",
    }

    result = subprocess.run(
        [sys.executable, "-m", "intake_earthscope.cli", "auth"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Exit code 3, as any command exits for a missing token.
    assert result.returncode == 3
    assert "es login" in result.stdout


# Errors that travel from workers carry no secret


def test_refused_token_error_has_no_chain(api, sdk) -> None:
    source = auth.resolve_token_source()
    api.revoke_tokens()

    with pytest.raises(AuthenticationError) as caught:
        auth.access_token(source)
    payload = pickle.dumps(caught.value)

    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    for secret in api.issued_secrets:
        assert secret.encode() not in payload


def test_credentials_refusal_has_no_chain(archive, sdk, api) -> None:
    api.set_scope_status("XX", 404)
    source = auth.resolve_token_source()
    scope = auth.CredentialScope("s3-miniseed-v2", "XX", 2024, "us-east-2")

    with pytest.raises(CredentialsError) as caught:
        auth.aws_credentials(source, scope)

    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_source_keeps_token_reference(api, sdk) -> None:
    import intake

    from conftest import CATALOGS

    token = api.issue_tokens()["access_token"]
    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    source = cat.sage.miniseed(
        network="XX", station="STA", start="2024-01-01", end="2024-01-02", token=token
    )

    assert token not in source.yaml()
    assert token.encode() not in pickle.dumps(source)


def test_token_with_slash_not_echoed(sdk) -> None:
    token = "v1.Mr5q/9kP2xZcW+Lq0aB3nYtR7sUeVdH4jKf1gOiXmNpQ"

    source = auth.resolve_token_source(token=token)

    assert source.kind == "token"
    assert token not in repr(source)


def test_variable_token_read_by_each_process(api, tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    token = api.issue_tokens()["access_token"]
    extra = {"ES_OAUTH2__REFRESH_TOKEN": None, "EARTHSCOPE_TOKEN": token}

    with isolated_sdk_environment(api, home, extra):
        source = auth.resolve_token_source()
        # A worker process starts with no token in memory, only the variable.
        auth.clear_process_state(tokens=True)
        fresh = auth.access_token(source)

    assert source.kind == "variable"
    assert fresh == token


def test_tokens_file_never_written(api, archive, sdk, tmp_path) -> None:
    path = write_tokens_file(tmp_path / "user", api.issue_tokens())
    path.chmod(0o444)
    before = (path.stat().st_mtime_ns, path.read_bytes())

    dataset = restricted(token=str(path)).load()

    assert (dataset.status.values == "ok").all()
    # The tests run as root, who may write a read-only file: compare too.
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before
