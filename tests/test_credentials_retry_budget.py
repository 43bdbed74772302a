"""The retry budget bounds a failing EarthScope login or credentials service.

The real earthscope-sdk talks to the loopback fake API, whose token or
credentials endpoint fails every request (an empty 503, a dropped connection
or a reply that is no JSON). With INTAKE_EARTHSCOPE_RETRY_SECONDS=1 the read
must fail within a few seconds, not after the SDK's own retries of up to 30 s
per attempt, and its message must hold no secret the fake API issued.
"""

from __future__ import annotations

import time

import pytest
import test_auth
from test_auth import restricted
from test_credentials_service_outage import CREDENTIALS_PATH, TOKEN_PATH, outage

from intake_earthscope import auth
from intake_earthscope.errors import EarthScopeError

iam_s3 = test_auth.iam_s3
api = test_auth.api
archive = test_auth.archive
sdk = test_auth.sdk

# Seconds a failing read may take past INTAKE_EARTHSCOPE_RETRY_SECONDS=1: one
# attempt's requests to the loopback API and the dataset's own set-up.
SLACK_S = 4.0


@pytest.fixture
def short_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_SECONDS", "1")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_DELAY", "0.1")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", ["503", "drop"])
@pytest.mark.parametrize("path", [TOKEN_PATH, CREDENTIALS_PATH])
def test_failing_service_within_budget(
    archive, sdk, api, monkeypatch, short_budget, path, fault
) -> None:
    if path == TOKEN_PATH:
        # Tokens that live under the SDK's 60 s threshold are refreshed
        # before every request.
        api.access_token_lifetime = 30
    dataset = restricted(end="2024-01-02")
    auth.clear_process_state()
    outage(monkeypatch, path, 10_000, fault)

    began = time.monotonic()
    with pytest.raises(EarthScopeError) as caught:
        dataset.load(scheduler="sync")
    took = time.monotonic() - began

    assert took < 1 + SLACK_S, f"failed after {took:.1f} s"
    message = str(caught.value)
    for secret in api.issued_secrets:
        assert secret not in message
