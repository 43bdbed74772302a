"""A drop that lands while a request reads the credentials in hand.

``aws_credentials`` reads the credentials it holds for a scope and whether
they were dropped (``forget_credentials``). A drop by another thread must
land before both reads or after both. Otherwise the request forces a new
issue, because it saw the drop, and still falls back on the dropped
credentials when the API fails.

The real earthscope-sdk talks to the loopback fake API. The SDK's
``is_expired`` method of the credentials model, which the package calls on
the credentials in hand, is wrapped to run the drop in another thread at that
moment. The thread and its join order the steps, without sleeps. The SDK's
request method is wrapped only to record the ``force`` it receives.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import test_auth
from earthscope_sdk.client.user.models import AwsTemporaryCredentials
from test_credentials_service_outage import CREDENTIALS_PATH, outage

from intake_earthscope import auth
from intake_earthscope.errors import StorageUnavailableError

iam_s3 = test_auth.iam_s3
api = test_auth.api
archive = test_auth.archive
sdk = test_auth.sdk

SCOPE = auth.CredentialScope("s3-miniseed-v2", "XX", 2024, "us-east-2")


def drop_at_next_expiry_check(
    monkeypatch: pytest.MonkeyPatch, source: auth.TokenSource
) -> threading.Event:
    """Make another thread drop SCOPE's credentials at the next expiry check.

    The returned event is set once the drop has run.
    """
    check = AwsTemporaryCredentials.is_expired
    dropped = threading.Event()

    def dropping(self: AwsTemporaryCredentials, *args: Any, **kwargs: Any) -> bool:
        if not dropped.is_set():
            other = threading.Thread(
                target=auth.forget_credentials, args=(source, SCOPE)
            )
            other.start()
            # A drop blocked on a lock that this thread holds could only end
            # after the request, so the wait is bounded and checked.
            other.join(timeout=30)
            assert not other.is_alive()
            dropped.set()
        return check(self, *args, **kwargs)

    monkeypatch.setattr(AwsTemporaryCredentials, "is_expired", dropping)
    return dropped


def record_forced_requests(
    monkeypatch: pytest.MonkeyPatch, source: auth.TokenSource
) -> list[bool]:
    """Record the ``force`` of every later credentials request to the SDK."""
    service = auth._client(source).user
    request = service.get_aws_credentials
    forced: list[bool] = []

    def recording(**kwargs: Any) -> Any:
        forced.append(bool(kwargs.get("force")))
        return request(**kwargs)

    monkeypatch.setattr(service, "get_aws_credentials", recording)
    return forced


@pytest.mark.timeout(60)
def test_drop_between_reads_consistent(archive, sdk, api, monkeypatch) -> None:
    # Every request wants new credentials, so the SDK never returns them
    # from its own cache and each request reaches the failing API.
    monkeypatch.setattr(auth, "REFRESH_MARGIN", dt.timedelta(hours=2))
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_SECONDS", "0")
    source = auth.resolve_token_source()
    first = auth.aws_credentials(source, SCOPE)
    outage(monkeypatch, CREDENTIALS_PATH, 100, "503")
    forced = record_forced_requests(monkeypatch, source)
    dropped = drop_at_next_expiry_check(monkeypatch, source)

    in_hand = auth.aws_credentials(source, SCOPE)

    # The request read its credentials in hand and their drop state before
    # the drop. So it did not force, and it rightly falls back on the
    # credentials in hand.
    assert dropped.is_set()
    assert forced == [False]
    assert in_hand.key == first.key

    # The next request reads the drop, so it forces and cannot fall back.
    with pytest.raises(StorageUnavailableError):
        auth.aws_credentials(source, SCOPE)
    assert len(forced) >= 2
    assert forced[1:] == [True] * (len(forced) - 1)
