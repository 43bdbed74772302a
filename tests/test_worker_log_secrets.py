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

import pytest
import test_auth
from clusters import process_cluster
from distributed import Client
from test_auth import restricted

# The restricted archive behind the fake EarthScope API, as test_auth builds it.
iam_s3 = test_auth.iam_s3
api = test_auth.api
archive = test_auth.archive
sdk = test_auth.sdk

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

        captured: list[str] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                captured.append(self.format(record))

        handler = Keep(logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().kept_records = captured
        for name in names:
            logging.getLogger(name).setLevel(logging.DEBUG)

    def kept_records() -> list[str]:
        import logging

        return list(logging.getLogger().kept_records)

    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", client_name)
    api.access_token_lifetime = 30
    dataset = restricted(end="2024-01-04")
    with (
        process_cluster() as cluster,
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
