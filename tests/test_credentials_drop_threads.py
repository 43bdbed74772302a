"""Threads that read and drop one scope's credentials at once.

Eight threads request the credentials of one scope while two others drop
them again and again, as reads that S3 rejected would. Every request must
return credentials, and the drops must reach the API as new requests.
After the threads end, a drop and a request must return the newest
credentials that the API issued. The real earthscope-sdk talks to the
loopback fake API.
"""

from __future__ import annotations

import threading
import time

import pytest
import test_auth

from intake_earthscope import auth

iam_s3 = test_auth.iam_s3
api = test_auth.api
archive = test_auth.archive
sdk = test_auth.sdk

SCOPE = auth.CredentialScope("s3-miniseed-v2", "XX", 2024, "us-east-2")
READERS = 8
DROPPERS = 2
SECONDS = 3.0


@pytest.mark.timeout(120)
def test_reads_and_drops_in_threads(archive, sdk, api) -> None:
    source = auth.resolve_token_source()
    auth.aws_credentials(source, SCOPE)
    stop = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        while not stop.is_set():
            try:
                auth.aws_credentials(source, SCOPE)
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)
                return

    def drop() -> None:
        while not stop.is_set():
            auth.forget_credentials(source, SCOPE)
            time.sleep(0.05)

    threads = [threading.Thread(target=read) for _ in range(READERS)]
    threads += [threading.Thread(target=drop) for _ in range(DROPPERS)]
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(30)
    final = auth.aws_credentials(source, SCOPE)
    auth.forget_credentials(source, SCOPE)
    renewed = auth.aws_credentials(source, SCOPE)

    assert failures == []
    assert not any(thread.is_alive() for thread in threads)
    assert len(api.credential_requests("XX")) > 2
    assert renewed.key != final.key
    assert renewed.key == api.issued_aws_credentials[-1].access_key_id
