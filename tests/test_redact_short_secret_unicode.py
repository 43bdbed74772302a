"""A short secret inside a word with non-ASCII letters is left alone.

A secret of 3 to 7 characters is redacted only where it appears as a whole
token. Place names in station descriptions and messages contain letters
outside ASCII, such as ``Zürich`` or ``Genève``, and a secret that starts
or ends such a word is part of it, not a token.
"""

from __future__ import annotations

import pytest
from test_redact_short_secrets import fresh_secrets  # noqa: F401 - autouse

from intake_earthscope import redact
from intake_earthscope.redact import REDACTED, register_secrets


@pytest.mark.parametrize(
    ("secret", "text"),
    [
        ("rich", "station Zürich"),
        ("rich", "Ärich"),
        ("nève", "Genève"),
        ("Gen", "Genève"),
        ("abc", "abcß"),
        ("abc", "日本abc"),
    ],
)
def test_secret_inside_unicode_word_kept(secret: str, text: str) -> None:
    register_secrets([secret])

    assert redact.redact(text) == text


@pytest.mark.parametrize("text", ["Zürich rich", "rich, Zürich", "(rich)"])
def test_secret_beside_unicode_word_redacted(text: str) -> None:
    register_secrets(["rich"])

    redacted = redact.redact(text)

    assert "rich" not in redacted.replace("Zürich", "")
    assert REDACTED in redacted
