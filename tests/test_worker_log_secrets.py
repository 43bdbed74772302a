"""No secret in the DEBUG log records of dask worker processes.

Each worker of a LocalCluster refreshes the EarthScope token itself. The
access tokens live under the SDK's 60 s threshold, so every request
refreshes one. Each worker then fetches temporary AWS credentials and
signs its S3 requests, through urllib3 or through s3fs and botocore,
which log request headers at DEBUG. A handler installed on each worker
keeps every record of those libraries and of this package, formatted with
its traceback, and none may contain a token, key or session token that
the fake API issued.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from distributed import Client, LocalCluster
from test_auth import OBJECTS, restricted

from intake_earthscope import auth
from intake_earthscope.storage import clear_listing_cache
from intake_earthscope.testing import LoopbackS3

from fake_earthscope import (
    IAM_ENFORCING_ENVIRONMENT,
    FakeEarthScopeAPI,
    RestrictedArchive,
    isolated_sdk_environment,
    restricted_archive,
)

LOGGERS = (
    "intake_earthscope",
    "earthscope_sdk",
    "httpx",
    "httpcore",
    "urllib3",
    "botocore",
    "aiobotocore",
    "s3fs",
    "fsspec",
)


@pytest.fixture(scope="module")
def iam_s3(aws_isolation: None) -> Iterator[LoopbackS3]:
    with LoopbackS3(environment=IAM_ENFORCING_ENVIRONMENT) as server:
        yield server


@pytest.fixture
def api() -> Iterator[FakeEarthScopeAPI]:
    with FakeEarthScopeAPI(access_token_lifetime=30) as fake:
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
def sdk(api: FakeEarthScopeAPI, tmp_path) -> Iterator[None]:
    home = tmp_path / "home"
    home.mkdir()
    auth.clear_process_state()
    with isolated_sdk_environment(api, home):
        yield
    auth.clear_process_state()


@pytest.mark.cluster
@pytest.mark.timeout(120)
@pytest.mark.parametrize("client_name", ["urllib3", "s3fs"])
def test_worker_debug_logs_no_secret(
    archive, sdk, api, monkeypatch, client_name
) -> None:
    # Defined here, so that cloudpickle sends them by value: a worker that
    # imported this module would import conftest, which resets HOME there.
    def keep_records(names: tuple[str, ...]) -> None:
        import logging

        kept: list[str] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                kept.append(self.format(record))

        handler = Keep(logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().kept_records = kept
        for name in names:
            logging.getLogger(name).setLevel(logging.DEBUG)

    def kept_records() -> list[str]:
        import logging

        return list(logging.getLogger().kept_records)

    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", client_name)
    dataset = restricted(end="2024-01-04")
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(keep_records, LOGGERS)
        loaded = dataset.load()
        records = client.run(kept_records)

    text = "\n".join(line for lines in records.values() for line in lines)
    assert (loaded.status.values == "ok").all()
    assert "GET" in text
    assert api.issued_aws_credentials
    for secret in api.issued_secrets:
        assert secret not in text
