"""Session tokens that were never registered are redacted by their header name.

botocore refreshes the credentials of an assumed role or a
``credential_process`` by itself, so the new token reaches botocore's DEBUG
records before this package could register it.
"""

from __future__ import annotations

import logging

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from intake_earthscope.redact import REDACTED, install, redact

TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMiJHMEUCIQ+Refreshed/Token=="


def test_signer_records_hide_token(caplog: pytest.LogCaptureFixture) -> None:
    install()
    caplog.set_level(logging.DEBUG, logger="botocore")
    request = AWSRequest(method="GET", url="http://127.0.0.1:9/bucket/key")
    credentials = Credentials("AKIAREFRESHED", "refreshed-secret-key", TOKEN)

    S3SigV4Auth(credentials, "s3", "us-east-2").add_auth(request)
    logging.getLogger("botocore.endpoint").debug(
        "Sending http request: %s", request.prepare()
    )
    text = "\n".join(record.getMessage() for record in caplog.records)

    assert "x-amz-security-token:" in text
    assert "'X-Amz-Security-Token': '[redacted]'" in text
    assert TOKEN not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"x-amz-security-token:{TOKEN}\nx-amz-date",
            f"x-amz-security-token:{REDACTED}\nx-amz-date",
        ),
        (
            f"?X-Amz-Security-Token={TOKEN}&X-Amz-Date=1",
            f"?X-Amz-Security-Token={REDACTED}&X-Amz-Date=1",
        ),
        (
            f"{{'X-Amz-Security-Token': '{TOKEN}'}}",
            f"{{'X-Amz-Security-Token': '{REDACTED}'}}",
        ),
        (
            "SignedHeaders=host;x-amz-security-token",
            "SignedHeaders=host;x-amz-security-token",
        ),
        (
            # An empty header value: the next line is not the token.
            "x-amz-security-token:\nhost:127.0.0.1",
            "x-amz-security-token:\nhost:127.0.0.1",
        ),
    ],
)
def test_token_redacted_after_name(text: str, expected: str) -> None:
    assert redact(text) == expected
