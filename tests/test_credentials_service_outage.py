"""A moment's outage of the EarthScope API while reads need credentials.

The real earthscope-sdk talks to the loopback fake API, whose credentials
are STS sessions on an IAM-enforcing moto server. The fake API's handler is
wrapped so that its next requests to one endpoint get a dropped connection
(no reply at all) or a bare 503. The SDK retries neither a dropped
connection nor, past its own few tries, a failed token refresh. So this
package retries them within its budget and keeps reading with credentials
that are still valid. A failing service is never reported as a revoked
login.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pytest
import test_auth
from clusters import process_cluster
from distributed import Client
from test_auth import restricted

from intake_earthscope import auth
from intake_earthscope.errors import AuthenticationError

import fake_earthscope

# The restricted archive behind the fake EarthScope API, as test_auth builds it.
iam_s3 = test_auth.iam_s3
api = test_auth.api
archive = test_auth.archive
sdk = test_auth.sdk

CREDENTIALS_PATH = "/beta/user/credentials/aws/"
TOKEN_PATH = "/oauth/token"


def outage(
    monkeypatch: pytest.MonkeyPatch, path: str, count: int, fault: str = "drop"
) -> list[int]:
    """Make the next ``count`` requests to ``path`` fail; return the count left.

    ``drop`` closes the connection without a reply, ``503`` replies with an
    empty 503.
    """
    left = [count]
    answer = fake_earthscope._Handler._answer

    def failing(handler: fake_earthscope._Handler) -> None:
        if path not in handler.path or left[0] <= 0:
            answer(handler)
            return
        left[0] -= 1
        handler.close_connection = True
        if fault == "503":
            handler.send_response(503)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

    monkeypatch.setattr(fake_earthscope._Handler, "_answer", failing)
    return left


@pytest.mark.parametrize("fault", ["drop", "503"])
def test_failed_credentials_requests_retried(archive, sdk, api, monkeypatch, fault):
    dataset = restricted(end="2024-01-04")
    auth.clear_process_state()
    left = outage(monkeypatch, CREDENTIALS_PATH, 2, fault)

    loaded = dataset.load(scheduler="sync")

    assert left == [0]
    assert (loaded.status.values == "ok").all()
    assert np.isfinite(loaded.waveform.values).sum() == 180


def test_dropped_token_refresh_retried(archive, sdk, api, monkeypatch) -> None:
    # Access tokens that live under the SDK's 60 s threshold are refreshed
    # before every request.
    api.access_token_lifetime = 30
    dataset = restricted(end="2024-01-04")
    auth.clear_process_state()
    left = outage(monkeypatch, TOKEN_PATH, 1)

    loaded = dataset.load(scheduler="sync")

    assert left == [0]
    assert (loaded.status.values == "ok").all()


def test_login_outage_not_called_revoked(archive, sdk, api, monkeypatch) -> None:
    api.access_token_lifetime = 30
    dataset = restricted(end="2024-01-04")
    auth.clear_process_state()
    outage(monkeypatch, TOKEN_PATH, 100)

    with pytest.raises(AuthenticationError) as caught:
        dataset.load(scheduler="sync")

    message = str(caught.value)
    assert "could not reach the EarthScope login service" in message
    assert "RemoteProtocolError" in message
    assert "revoked" not in message
    for secret in api.issued_secrets:
        assert secret not in message


def test_failing_service_keeps_valid_credentials(
    archive, sdk, api, monkeypatch, caplog
) -> None:
    # Every call wants new credentials, as one does within REFRESH_MARGIN
    # of their expiry; those in hand stay valid for an hour.
    monkeypatch.setattr(auth, "REFRESH_MARGIN", dt.timedelta(hours=2))
    dataset = restricted(end="2024-01-04")
    outage(monkeypatch, CREDENTIALS_PATH, 100, "503")

    with caplog.at_level(logging.WARNING, logger="intake_earthscope.auth"):
        loaded = dataset.load(scheduler="sync")

    warned = [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING
        and "reads use the credentials that expire at" in record.getMessage()
    ]
    assert (loaded.status.values == "ok").all()
    assert len(warned) == 1
    # Only the package's record: the fake API's own threads log the STS
    # replies that it mints credentials from.
    for secret in api.issued_secrets:
        assert secret not in warned[0].getMessage()


@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_workers_ride_out_credentials_outage(archive, sdk, api, monkeypatch) -> None:
    """Each worker process requests credentials of its own, and the first
    two requests the workers send are dropped."""
    dataset = restricted(end="2024-01-04")
    left = outage(monkeypatch, CREDENTIALS_PATH, 2)
    with (
        process_cluster() as cluster,
        Client(cluster),
    ):
        loaded = dataset.load()

    assert left == [0]
    assert (loaded.status.values == "ok").all()
    assert np.isfinite(loaded.waveform.values).sum() == 180
