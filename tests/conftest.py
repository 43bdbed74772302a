"""Shared fixtures: a loopback S3 server process, AWS isolation, real data paths.

The S3 server is moto's, run in a child process bound to 127.0.0.1 on a
port the operating system picks. Every test gets an empty server and an
empty listing cache.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import obspy
import pytest
import yaml

from intake_earthscope import storage
from intake_earthscope.auth import AwsCredentials, CredentialScope, TokenSource
from intake_earthscope.storage import StorageSpec, clear_listing_cache
from intake_earthscope.testing import (
    LoopbackS3,
    create_bucket,
    isolated_aws_environment,
    put_public_object,
)

import mseedgen
from faultproxy import FaultProxy
from loopbackguard import LoopbackGuard

REPO = Path(__file__).resolve().parent.parent
CATALOGS = REPO / "catalogs"
SHARED_DATA = REPO.parent / "shared" / "data"
OBSPY_MSEED_DATA = Path(obspy.__file__).parent / "io" / "mseed" / "tests" / "data"
OBSPY_CORE_DATA = Path(obspy.__file__).parent / "core" / "tests" / "data"

# intake 2.0.9 warns about shell commands for every string parameter default.
warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)

# earthscope-sdk resolves ~/.earthscope when its settings module is imported,
# so the throw-away home must be in place before any test imports it. No
# token of the machine's user may leak into a test either.
os.environ["HOME"] = tempfile.mkdtemp(prefix="intake-earthscope-home-")
for _name in [name for name in os.environ if name.startswith("ES_")]:
    del os.environ[_name]
os.environ.pop("EARTHSCOPE_TOKEN", None)

# No test may reach another host: name lookups and connections off the
# loopback fail as on an offline machine, and the run lists them at its end.
_GUARD = LoopbackGuard()
_GUARD.install()

# Python child processes install the guard too (tests/childguard), and log
# their blocked attempts to this file.
_CHILD_GUARD_LOG = Path(tempfile.mkdtemp(prefix="intake-earthscope-guard-")) / "log"
_CHILD_GUARD_LOG.touch()
os.environ["INTAKE_EARTHSCOPE_TEST_GUARD_LOG"] = str(_CHILD_GUARD_LOG)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(Path(__file__).parent / "childguard"), os.environ.get("PYTHONPATH", "")]
).rstrip(os.pathsep)


def pytest_runtest_setup(item: pytest.Item) -> None:
    _GUARD.current = item.nodeid


def pytest_terminal_summary(terminalreporter: Any) -> None:
    children = _CHILD_GUARD_LOG.read_text(encoding="utf-8").splitlines()
    if not _GUARD.attempts and not children:
        return
    terminalreporter.section("blocked attempts to leave the loopback")
    for test, address in _GUARD.attempts:
        terminalreporter.write_line(f"{test}: {address}")
    for line in children:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def aws_isolation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Throw-away AWS credentials, blank config files, no metadata lookups."""
    with isolated_aws_environment(tmp_path_factory.mktemp("aws")):
        yield


@pytest.fixture(scope="session")
def s3_process(aws_isolation: None) -> Iterator[LoopbackS3]:
    """One moto server process for the whole session."""
    with LoopbackS3() as server:
        yield server


@pytest.fixture
def s3(
    s3_process: LoopbackS3, monkeypatch: pytest.MonkeyPatch, _no_real_endpoints: None
) -> LoopbackS3:
    """An empty S3 server that every collection reaches through the endpoint
    variable ``AWS_ENDPOINT_URL_S3``, as a user's mirror would be reached."""
    s3_process.reset()
    clear_listing_cache()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_process.endpoint_url)
    return s3_process


@pytest.fixture(autouse=True)
def _fresh_listing_cache() -> None:
    clear_listing_cache()


# A closed loopback port: requests a test did not plan for fail at once here
# instead of reaching out to AWS or EarthScope.
CLOSED_PORT_URL = "http://127.0.0.1:9/"


@pytest.fixture(autouse=True)
def _no_real_endpoints(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point S3 and the EarthScope SDK at a closed loopback port.

    The ``s3`` fixture and the fake EarthScope API replace these with their
    servers' addresses. Credentials, SDK clients and S3 routes cached by one
    test are forgotten before the next.
    """
    from intake_earthscope import auth, s3http

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", CLOSED_PORT_URL.rstrip("/"))
    monkeypatch.setenv("ES_OAUTH2__DOMAIN", CLOSED_PORT_URL)
    monkeypatch.setenv("ES_RESOURCES__API_URL", CLOSED_PORT_URL)
    monkeypatch.setenv("ES_OAUTH2__ALLOWED_HOSTS", '["127.0.0.1"]')
    monkeypatch.setenv("ES_HTTP__RETRY__ATTEMPTS", "1")
    # Short pauses between retries keep tests of failing reads quick.
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_DELAY", "0.01")
    auth.clear_process_state()
    s3http.clear_routes()
    yield
    auth.clear_process_state()
    s3http.clear_routes()


@pytest.fixture
def shared_data() -> Path:
    """The real recordings beside the repository; skip where they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real recordings not found at {SHARED_DATA}: these tests read the "
            "shared/ folder that sits beside the repository in CI"
        )
    return SHARED_DATA


def collection_spec(archive: str) -> dict[str, Any]:
    """Return the ``collection:`` mapping of an archive's shipped catalog."""
    text = (CATALOGS / f"{archive}.yaml").read_text()
    return yaml.safe_load(text)["sources"]["miniseed"]["args"]["collection"]


def bucket_of(archive: str, tier: str = "open") -> tuple[str, str]:
    """Return (bucket, region) of an archive tier from the shipped catalog."""
    spec = collection_spec(archive)["tiers"][tier]
    return spec["bucket"], spec["region"]


def publish(
    server: LoopbackS3, archive: str, objects: dict[str, bytes], tier: str = "open"
) -> None:
    """Create the archive's bucket on ``server`` and store public objects."""
    bucket, region = bucket_of(archive, tier)
    client = server.client(region)
    existing = {entry["Name"] for entry in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        create_bucket(client, bucket, region)
    for key, data in objects.items():
        put_public_object(client, bucket, key, data)


def mirror(root: Path, objects: dict[str, bytes]) -> Path:
    """Write objects under a local directory with the archive's key layout."""
    for key, data in objects.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def hour_mirror(root: Path) -> Path:
    """Write a mirror of one hour of XX.STA at the blank location, LHZ at 1 Hz.

    The hour starts 2024-01-01T00:00Z, in the day object :data:`HOUR_KEY`.
    """
    station_day = mseedgen.station_day(
        channels={"LHZ": 1.0},
        seconds=3600.0,
        station="XX.STA.",
        start="2024-01-01T00:00:00Z",
    )
    return mirror(root, {HOUR_KEY: station_day.data})


HOUR_KEY = "miniseed/XX/2024/001/STA.XX.2024.001"


def environment_without_endpoint() -> dict[str, str]:
    """Return the current environment minus the S3 endpoint variable."""
    return {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL_S3"}


@contextlib.contextmanager
def proxied_object(
    server: LoopbackS3, bucket: str, region: str, key: str, data: bytes
) -> Iterator[FaultProxy]:
    """Store one public object on ``server`` and yield a fault proxy before it."""
    client = server.client(region)
    create_bucket(client, bucket, region)
    put_public_object(client, bucket, key, data)
    with FaultProxy(server.endpoint_url) as proxy:
        yield proxy


def s3_spec(url: str, bucket: str, region: str | None, **options: Any) -> StorageSpec:
    """Return the spec of ``bucket`` at ``url``: anonymous without ``options``,
    else read with them (``key`` and ``secret``, for example)."""
    return StorageSpec(
        "s3",
        bucket,
        region=region,
        anonymous=not options,
        endpoint_url=url,
        storage_options=options or {"anon": True},
    )


def stand_in_credentials(monkeypatch: pytest.MonkeyPatch) -> list[CredentialScope]:
    """Replace the EarthScope credentials service of every spec with a stub.

    Each lookup returns new one-hour credentials with the key ids ASIA1,
    ASIA2, ..., and forgetting credentials does nothing. The list returned
    receives the scope of each lookup. Tests of what a reader does with
    the credentials use it; the real SDK path is tested in test_auth.py.
    """
    issued: list[CredentialScope] = []

    def credentials(source: TokenSource, scope: CredentialScope) -> AwsCredentials:
        issued.append(scope)
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        return AwsCredentials(f"ASIA{len(issued)}", "secret", "token", expiry)

    monkeypatch.setattr(storage, "aws_credentials", credentials)
    monkeypatch.setattr(storage, "forget_credentials", lambda source, scope: None)
    return issued
