"""A credentials or login service that accepts requests and never replies.

The real earthscope-sdk talks to the loopback fake API, whose token or
credentials endpoint keeps every request waiting without a reply. Each of this
package's attempts then waits for the SDK's read timeout, which must be no
longer than INTAKE_EARTHSCOPE_ATTEMPT_SECONDS or the read timeout set for
this package, so a read fails within the retry budget plus a few seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import test_auth
from test_auth import restricted
from test_credentials_service_outage import CREDENTIALS_PATH, TOKEN_PATH

from intake_earthscope import auth
from intake_earthscope.errors import EarthScopeError

import fake_earthscope

iam_s3 = test_auth.iam_s3
api = test_auth.api
archive = test_auth.archive
sdk = test_auth.sdk

# The SDK waits 5 s for a reply by default, so a read must give up well
# before two such waits.
SLACK_S = 4.0


@pytest.fixture
def hanging(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Hold requests to the paths put in the yielded list until the test ends."""
    paths: list[str] = []
    released = threading.Event()
    answer = fake_earthscope._Handler._answer

    def holding(handler: fake_earthscope._Handler) -> None:
        if any(path in handler.path for path in paths):
            released.wait(30)
            handler.close_connection = True
            return
        answer(handler)

    monkeypatch.setattr(fake_earthscope._Handler, "_answer", holding)
    yield paths
    released.set()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("variable", ["ATTEMPT_SECONDS", "READ_TIMEOUT"])
@pytest.mark.parametrize("path", [TOKEN_PATH, CREDENTIALS_PATH])
def test_hanging_service_fails_in_budget(
    archive, sdk, api, monkeypatch, hanging, path, variable
) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_SECONDS", "1")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_DELAY", "0.1")
    monkeypatch.setenv(f"INTAKE_EARTHSCOPE_{variable}", "0.5")
    if path == TOKEN_PATH:
        # Tokens that live under the SDK's 60 s threshold are refreshed
        # before every request.
        api.access_token_lifetime = 30
    dataset = restricted(end="2024-01-02")
    auth.clear_process_state()
    hanging.append(path)

    began = time.monotonic()
    with pytest.raises(EarthScopeError) as caught:
        dataset.load(scheduler="sync")
    took = time.monotonic() - began

    assert took < 1 + SLACK_S, f"failed after {took:.1f} s"
    message = str(caught.value)
    assert "EarthScope" in message
    for secret in api.issued_secrets:
        assert secret not in message
