"""gcsfs's token modes are not sealed or redacted as secrets.

gcsfs takes ``token="anon"`` (and "browser", "cache", "cloud",
"google_default") to choose how it authenticates. Sealed as secrets, those
words would be replaced in every later log record and message where they
stand alone. A real token under the same name is still sealed.
"""

from __future__ import annotations

import pytest

from intake_earthscope.redact import redact
from intake_earthscope.storage import SecretOption, seal_options


@pytest.mark.parametrize("mode", ["anon", "browser", "cache", "cloud"])
def test_token_mode_kept_in_clear(mode: str) -> None:
    sealed = seal_options({"token": mode})

    assert sealed == {"token": mode}
    assert redact(f"reading with {mode} access") == f"reading with {mode} access"


def test_real_token_still_sealed() -> None:
    sealed = seal_options({"token": "ya29.a0-real-looking-token"})

    assert isinstance(sealed["token"], SecretOption)
    assert "ya29.a0-real-looking-token" not in redact("ya29.a0-real-looking-token")


def test_unhashable_token_still_sealed() -> None:
    sealed = seal_options({"token": ["ya29.first", "ya29.second"]})

    assert all(isinstance(item, SecretOption) for item in sealed["token"])
