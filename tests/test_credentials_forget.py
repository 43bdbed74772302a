"""Dropped credentials are fetched anew, and never used while renewal fails.

A read that S3 rejects for expired credentials drops them with
``forget_credentials``. The real earthscope-sdk talks to the loopback fake
API: the next request must reach the API even though the SDK's own cache
still contains credentials far from expiry, and when that request fails the
dropped credentials must not be handed out in their place.
"""

from __future__ import annotations

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


def test_forgotten_credentials_fetched_again(archive, sdk, api) -> None:
    source = auth.resolve_token_source()
    first = auth.aws_credentials(source, SCOPE)
    cached = auth.aws_credentials(source, SCOPE)

    auth.forget_credentials(source, SCOPE)
    renewed = auth.aws_credentials(source, SCOPE)

    assert cached.key == first.key
    assert renewed.key != first.key
    assert len(api.credential_requests("XX")) == 2


def test_forgotten_credentials_not_reused(archive, sdk, api, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_SECONDS", "0")
    source = auth.resolve_token_source()
    auth.aws_credentials(source, SCOPE)
    auth.forget_credentials(source, SCOPE)
    outage(monkeypatch, CREDENTIALS_PATH, 10, "503")

    with pytest.raises(StorageUnavailableError):
        auth.aws_credentials(source, SCOPE)
