"""Secrets shorter than 8 characters are redacted where they appear as a token.

Longer secrets are replaced wherever they appear. A short one is replaced
only where no letter, digit or underscore touches it, so ordinary words
that contain its letters stay readable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from intake_earthscope import redact
from intake_earthscope.redact import REDACTED, register_secrets

LOGGER = "intake_earthscope.test_redact_short_secrets"


@pytest.fixture(autouse=True)
def fresh_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The registered secrets are process-wide, so each test starts from a
    # copy and leaves the others' unchanged.
    monkeypatch.setattr(redact, "_secrets", set(redact._secrets))
    short = set(getattr(redact, "_short_secrets", ()))
    monkeypatch.setattr(redact, "_short_secrets", short, raising=False)
    pattern = getattr(redact, "_short_pattern", None)
    monkeypatch.setattr(redact, "_short_pattern", pattern, raising=False)
    monkeypatch.setattr(redact, "_warned_too_short", False, raising=False)
    yield


@pytest.mark.parametrize(
    "text",
    [
        "token=Tk7q9",
        "Authorization: Bearer Tk7q9",
        "{'key': 'Tk7q9'}",
        "https://host/path?token=Tk7q9&x=1",
        "Tk7q9",
        "(Tk7q9)",
    ],
)
def test_short_secret_redacted(text: str) -> None:
    register_secrets(["Tk7q9"])

    redacted = redact.redact(text)

    assert "Tk7q9" not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize("text", ["Tk7q9x", "xTk7q9", "my_Tk7q9", "Tk7q90"])
def test_short_secret_inside_word_kept(text: str) -> None:
    register_secrets(["Tk7q9"])

    assert redact.redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "token%3DTk7q9",
        "token%3dTk7q9&x=1",
        "https://host/login?next=%2Fpath%3Ftoken%3DTk7q9%26x%3D1",
        "Bearer%20Tk7q9",
        "path%2FTk7q9",
        "token%253DTk7q9",
    ],
)
def test_short_secret_after_percent_escape(text: str) -> None:
    register_secrets(["Tk7q9"])

    redacted = redact.redact(text)

    assert "Tk7q9" not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        # %41 is "A" and %5F is "_", so the secret continues a word there.
        "x%41Tk7q9",
        "x%5FTk7q9",
        # %C3%A9 is "é" in UTF-8, a letter of another script.
        "caf%C3%A9Tk7q9",
        "token%3DTk7q9x",
        "token%3DxTk7q9",
    ],
)
def test_short_secret_in_escaped_word_kept(text: str) -> None:
    register_secrets(["Tk7q9"])

    assert redact.redact(text) == text


def test_short_secret_log_record(caplog: pytest.LogCaptureFixture) -> None:
    register_secrets(["abc1234"])

    with caplog.at_level(logging.INFO, logger=LOGGER):
        logging.getLogger(LOGGER).info("signed in with key %s", "abc1234")

    assert caplog.records[-1].getMessage() == f"signed in with key {REDACTED}"


def test_short_secret_exception_text(caplog: pytest.LogCaptureFixture) -> None:
    register_secrets(["abc1234"])

    with caplog.at_level(logging.INFO, logger=LOGGER):
        try:
            raise PermissionError("access denied for key abc1234")
        except PermissionError:
            logging.getLogger(LOGGER).exception("request failed")
    record = caplog.records[-1]

    assert record.exc_text is not None
    assert "abc1234" not in record.exc_text
    assert f"access denied for key {REDACTED}" in record.exc_text


def test_long_secret_inside_word_redacted() -> None:
    register_secrets(["Zq8w7e6r5t"])

    assert redact.redact("xZq8w7e6r5ty") == f"x{REDACTED}y"


def test_short_secrets_longest_first() -> None:
    register_secrets(["abc", "abc-12"])

    assert redact.redact("id abc-12 and abc") == f"id {REDACTED} and {REDACTED}"


def test_two_characters_not_redacted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="intake_earthscope.redact"):
        register_secrets(["on"])
        register_secrets(["is"])
    warnings = [r for r in caplog.records if r.name == "intake_earthscope.redact"]

    assert redact.redact("the file is on disk") == "the file is on disk"
    assert len(warnings) == 1
    assert "fewer than 3 characters" in warnings[0].getMessage()
    assert "on" not in warnings[0].getMessage().split()
