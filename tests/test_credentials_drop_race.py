"""Credentials dropped while a request for them runs stay dropped.

A thread whose read S3 rejected drops the scope's credentials
(``forget_credentials``) while another thread's request for the same scope
runs. The SDK may return the rejected credentials from its own cache for
that request, so the next request must still skip the SDK's cache and
reach the API. The real earthscope-sdk talks to the loopback
fake API; the SDK method is wrapped only to start the dropping thread at
that moment.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import test_auth
from test_credentials_service_outage import CREDENTIALS_PATH, outage

from intake_earthscope import auth
from intake_earthscope.errors import StorageUnavailableError

iam_s3 = test_auth.iam_s3
api = test_auth.api
archive = test_auth.archive
sdk = test_auth.sdk

SCOPE = auth.CredentialScope("s3-miniseed-v2", "XX", 2024, "us-east-2")


def drop_during_next_request(
    monkeypatch: pytest.MonkeyPatch, source: auth.TokenSource
) -> None:
    """Make another thread drop the credentials of SCOPE while the next
    request for them runs."""
    service = auth._client(source).user
    request = service.get_aws_credentials
    dropped = threading.Event()

    def dropping(**kwargs: Any) -> Any:
        if not dropped.is_set():
            dropped.set()
            other = threading.Thread(
                target=auth.forget_credentials, args=(source, SCOPE)
            )
            other.start()
            other.join()
        return request(**kwargs)

    monkeypatch.setattr(service, "get_aws_credentials", dropping)


def test_drop_during_cached_request_kept(archive, sdk, api, monkeypatch) -> None:
    source = auth.resolve_token_source()
    first = auth.aws_credentials(source, SCOPE)
    drop_during_next_request(monkeypatch, source)

    auth.aws_credentials(source, SCOPE)
    renewed = auth.aws_credentials(source, SCOPE)

    assert renewed.key != first.key
    assert len(api.credential_requests("XX")) == 2


def test_drop_during_request_not_reused(archive, sdk, api, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_SECONDS", "0")
    source = auth.resolve_token_source()
    auth.aws_credentials(source, SCOPE)
    drop_during_next_request(monkeypatch, source)
    auth.aws_credentials(source, SCOPE)
    outage(monkeypatch, CREDENTIALS_PATH, 10, "503")

    # The credentials in hand were dropped, so a failed renewal cannot
    # fall back on them.
    with pytest.raises(StorageUnavailableError):
        auth.aws_credentials(source, SCOPE)
