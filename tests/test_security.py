"""Secrets and transport security: TLS on by default, no token in retries.

Other checks of the same kind live beside the code they test: the bearer
token policy and redirects in test_webservices.py, secrets in graphs, logs,
reprs and the ``auth`` command in test_auth.py, unsigned anonymous requests
in test_retries.py.
"""

from __future__ import annotations

import logging
import pickle
import re
import ssl
from collections.abc import Iterator

import pytest

from intake_earthscope.auth import resolve_token_source
from intake_earthscope.collection import Collection
from intake_earthscope.errors import WebServiceError
from intake_earthscope.storage import StorageSpec
from intake_earthscope.webservices import (
    WebServiceSpec,
    _http_client,
    close_client,
    https_get,
)

from conftest import REPO, collection_spec
from faultproxy import FaultProxy, FaultRule
from loopback_http import LoopbackHttp, Reply, fake_jwt

TOKEN = fake_jwt()

# Settings that would turn TLS certificate checks off.
INSECURE = re.compile(
    r"verify\s*=\s*False|['\"]verify['\"]\s*:\s*False|use_ssl['\"]?\s*[:=]\s*False"
    r"|CERT_NONE|check_hostname\s*=\s*False|ssl\s*=\s*False"
)


@pytest.fixture
def guarded() -> Iterator[tuple[LoopbackHttp, FaultProxy]]:
    """A file server that wants the bearer token, behind a fault proxy."""
    server = LoopbackHttp("127.0.0.1")
    server.routes["/archive/day.bin"] = lambda params: Reply(200, b"day" * 100)
    server.start()
    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        yield server, proxy
    server.stop()
    close_client()


def guarded_spec(proxy: FaultProxy) -> WebServiceSpec:
    return WebServiceSpec(
        proxy.url + "/archive/",
        allowed_hosts=("127.0.0.1",),
        token_source=resolve_token_source(token=TOKEN),
        timeout=2.0,
    )


def test_retries_exhausted_error_has_no_token(guarded, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")
    _, proxy = guarded
    proxy.rules = [FaultRule("reset")]

    with pytest.raises(WebServiceError) as caught:
        https_get(guarded_spec(proxy), "day.bin")
    error = caught.value

    assert TOKEN not in str(error)
    assert TOKEN.encode() not in pickle.dumps(error)
    assert error.__cause__ is None
    assert error.__context__ is None


def test_retry_logs_have_no_token(guarded, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    _, proxy = guarded
    proxy.rules = [FaultRule("503", limit=1), FaultRule("truncate", limit=1)]

    data = https_get(guarded_spec(proxy), "day.bin")
    payload = TOKEN.split(".")[1]

    assert data == b"day" * 100
    assert "retrying" in caplog.text
    assert TOKEN not in caplog.text
    assert payload not in caplog.text
    assert {r.authorization for r in proxy.seen} == {f"Bearer {TOKEN}"}


def test_https_client_verifies_tls() -> None:
    context = _http_client()._transport._pool._ssl_context

    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_s3_client_verifies_tls(monkeypatch) -> None:
    # No request is sent: the client is only built.
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    tier = Collection.from_yaml(collection_spec("sage")).tier("open")
    fs = StorageSpec.for_tier(tier).filesystem()
    fs.connect()
    endpoint = fs.s3._endpoint

    assert endpoint.host.startswith("https://")
    assert endpoint.http_session._verify not in (False, None)


def test_no_setting_disables_tls() -> None:
    sources = sorted((REPO / "intake_earthscope").rglob("*.py"))
    found = [
        f"{path.name}: {match.group(0)}"
        for path in sources
        for match in INSECURE.finditer(path.read_text())
    ]

    assert len(sources) > 10
    assert found == []
