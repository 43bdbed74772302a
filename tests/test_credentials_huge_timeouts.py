"""Timeout settings too long for a timedelta still build the SDK client.

The SDK's timeouts are capped by INTAKE_EARTHSCOPE_ATTEMPT_SECONDS and the
connect and read timeouts. A user who sets those to a huge number to turn
them off must get the SDK's own timeouts, not an OverflowError from
``datetime.timedelta``, whose maximum is about 8.6e13 seconds. The same
holds for INTAKE_EARTHSCOPE_REFRESH_MARGIN, read when auth is imported.
The real earthscope-sdk talks to the loopback fake API.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import test_auth

from intake_earthscope import auth

iam_s3 = test_auth.iam_s3
api = test_auth.api
archive = test_auth.archive
sdk = test_auth.sdk

SCOPE = auth.CredentialScope("s3-miniseed-v2", "XX", 2024, "us-east-2")
VARIABLES = ("ATTEMPT_SECONDS", "READ_TIMEOUT", "CONNECT_TIMEOUT")
PRINT_MARGIN = (
    "from intake_earthscope import auth; print(auth.REFRESH_MARGIN.total_seconds())"
)


@pytest.mark.parametrize("seconds", ["1e15", "1e300"])
def test_huge_timeouts_fetch_credentials(
    archive, sdk, api, monkeypatch, seconds
) -> None:
    for variable in VARIABLES:
        monkeypatch.setenv(f"INTAKE_EARTHSCOPE_{variable}", seconds)
    auth.clear_process_state()
    source = auth.resolve_token_source()

    credentials = auth.aws_credentials(source, SCOPE)

    assert credentials.key
    assert len(api.credential_requests("XX")) == 1


@pytest.mark.parametrize("seconds", ["1e15", "1e300"])
def test_huge_refresh_margin_imports(seconds: str) -> None:
    # The margin is read when auth is imported, so a fresh process imports it.
    child = subprocess.run(
        [sys.executable, "-c", PRINT_MARGIN],
        env={**os.environ, "INTAKE_EARTHSCOPE_REFRESH_MARGIN": seconds},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert child.returncode == 0, child.stderr
    assert float(child.stdout) >= 36 * 3600
