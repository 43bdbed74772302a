"""A reply of the EarthScope API that is no token or credentials.

The real earthscope-sdk talks to the loopback fake API, whose token or
credentials endpoint returns 200 with a body that is no JSON or JSON of
another shape (a proxy's page, a changed API). The user's token is
fine, so the error must blame the reply, not tell the user to log in again,
and it must hold no secret the fake API issued.
"""

from __future__ import annotations

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

BODIES = {
    "html": b"<html><body>Service paused</body></html>",
    "other json": b'{"status": "maintenance"}',
}


def answer_with(monkeypatch: pytest.MonkeyPatch, path: str, body: bytes) -> None:
    """Make every request to ``path`` get 200 with ``body``."""
    answer = fake_earthscope._Handler._answer

    def garbage(handler: fake_earthscope._Handler) -> None:
        if path not in handler.path:
            answer(handler)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    monkeypatch.setattr(fake_earthscope._Handler, "_answer", garbage)


# A token reply of JSON without tokens is left out: the SDK then reports that
# it has no token at all, which this package cannot tell from a logout.
CASES = [
    (CREDENTIALS_PATH, "html"),
    (CREDENTIALS_PATH, "other json"),
    (TOKEN_PATH, "html"),
]


@pytest.mark.parametrize(("path", "body"), CASES)
def test_garbage_reply_blames_the_reply(
    archive, sdk, api, monkeypatch, path, body
) -> None:
    if path == TOKEN_PATH:
        # Tokens that live under the SDK's 60 s threshold are refreshed
        # before every request.
        api.access_token_lifetime = 30
    dataset = restricted(end="2024-01-02")
    auth.clear_process_state()
    answer_with(monkeypatch, path, BODIES[body])

    with pytest.raises(EarthScopeError) as caught:
        dataset.load(scheduler="sync")

    message = str(caught.value)
    assert "reply" in message, message
    assert "not a readable JWT" not in message
    assert "es login" not in message
    for secret in api.issued_secrets:
        assert secret not in message
