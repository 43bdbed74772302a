"""Keep secrets out of log records, from any logger, and out of pickles.

botocore logs request headers at DEBUG (the session token among them) and
earthscope-sdk logs token objects. Filters on loggers would miss child
loggers, so the log record factory itself replaces every secret this process
has seen with ``[redacted]``. The factory is installed the first time a
secret is registered, and costs nothing before that. A secret of 8
characters or more is replaced wherever it appears, and one of 3 to 7
characters where it appears as a whole token. One of 1 or 2 characters is
not replaced at all, because such short strings are ordinary text.

Objects that travel to other processes contain a digest in place of a secret
(:func:`keep_secret`). The secret stays in this process's memory, where
:func:`kept_secret` finds it by that digest.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
import traceback
import uuid
from collections.abc import Iterable
from typing import Any

__all__ = [
    "REDACTED",
    "SECRET_NAME_PARTS",
    "install",
    "is_secret_name",
    "keep_secret",
    "kept_secret",
    "redact",
    "register_secrets",
    "secret_digest",
    "secret_texts",
]

REDACTED = "[redacted]"

# Parts of storage_options names whose string values are secrets: s3fs's
# key, secret and token, an HTTP Authorization header, aiohttp's auth pair,
# the passphrase of an SSH key (sshfs), and the credentials and connection
# strings of other fsspec filesystems. The storage specs seal these values,
# and the command line rejects them.
SECRET_NAME_PARTS = (
    "secret",
    "token",
    "password",
    "passphrase",
    "key",
    "auth",
    "credential",
    "connection_string",
)

# Secrets of this length or more are replaced wherever they appear. Shorter
# ones would also match inside ordinary words, so they are replaced only where
# they appear as a whole token, not next to a letter, digit or underscore of
# any script.
_SHORTEST_SECRET = 8
# Secrets shorter than this are not redacted at all, because one- and
# two-character tokens ("a", "on", "42") are ordinary text.
_SHORTEST_TOKEN = 3
# Characters that continue a token, so a short secret next to one is part of
# a longer word or number and is left alone: a letter or digit of any script
# (as in "Zürich"), or an underscore.
_TOKEN_CHARACTER = r"\w"
# Hex digits of a percent escape (RFC 3986) of an ASCII character that does
# not continue a token, such as "3D" in "%3D" ("=") or "20" in "%20" (space).
# A short secret after such an escape starts a new token, as in a URL encoded
# into a query value ("token%3Dabc123"), although the escape ends in a letter
# or digit. Escapes of letters, digits and "_" continue the word, and so do
# escapes of non-ASCII bytes ("caf%C3%A9"), even the few that encode
# punctuation. "%25" is "%" itself, so "%253D" is "=" encoded twice.
_SEPARATOR_HEX = "(?:[01][0-9A-Fa-f]|2[0-9A-Fa-f]|3[A-Fa-f]|40|5[B-Eb-e]|60|7[B-Fb-f])"

_lock = threading.Lock()
_secrets: set[str] = set()
_short_secrets: set[str] = set()
# One pattern that matches every short secret as a whole token.
_short_pattern: re.Pattern[str] | None = None
_warned_too_short = False
_installed = False
# Secrets of objects that contain only their digests, by digest: strings,
# bytes, or other objects (see keep_secret).
_kept_secrets: dict[str, Any] = {}
# The kept objects that are neither strings nor bytes, with their digests,
# by id(). Holding each object here keeps its id from being reused.
_object_digests: dict[int, tuple[object, str]] = {}
# Hex digits of the SHA-256 that name a kept secret: 64 bits, enough to tell
# the secrets of one job apart.
_DIGEST_LENGTH = 16


# A SigV4 signature after "Signature=" (Authorization headers, presigned
# URLs) or "Signature:" (botocore's signer at DEBUG level).
_SIGNATURE = re.compile(r"(Signature[=:]\s*)[0-9a-f]{64}")
# The value of an X-Amz-Security-Token header or query parameter, as botocore
# logs it: "'X-Amz-Security-Token': b'...'" with the request, and
# "x-amz-security-token:..." in the canonical request. Credentials that
# botocore refreshes by itself carry tokens that were never registered.
_SESSION_TOKEN = re.compile(
    r"""(x-amz-security-token(?:['"]?:[ \t]*b?['"]?|=))[^'"\s&,}]+""", re.IGNORECASE
)


def install() -> None:
    """Install the redaction of SigV4 signatures and registered secrets.

    It applies to every later log record of this process.
    """
    global _installed
    with _lock:
        if not _installed:
            _install_factory()
            _installed = True


def register_secrets(values: Iterable[str]) -> None:
    """Add secrets to redact from every later log record of this process.

    A secret of 8 characters or more is replaced wherever it appears. One
    of 3 to 7 characters is replaced where it appears as a whole token, so a
    short test token ``abc123`` is redacted from ``"token=abc123"`` and
    ``"token%3Dabc123"`` but kept inside ``"abc1234"``. A secret of 1 or 2 characters is
    not redacted, and the first such secret logs a WARNING.

    Registering installs the redaction, which then also removes SigV4
    signatures from every record.
    """
    global _short_pattern
    texts = [value for value in values if value]
    long = {value for value in texts if len(value) >= _SHORTEST_SECRET}
    short = {
        value for value in texts if _SHORTEST_TOKEN <= len(value) < _SHORTEST_SECRET
    }
    if any(len(value) < _SHORTEST_TOKEN for value in texts):
        _warn_too_short()
    if not long and not short:
        return
    with _lock:
        _secrets.update(long)
        if not short <= _short_secrets:
            _short_secrets.update(short)
            _short_pattern = _token_pattern(_short_secrets)
    install()


def _token_pattern(secrets: Iterable[str]) -> re.Pattern[str]:
    """Return a pattern that matches each of ``secrets`` as a whole token."""
    # Longer secrets first, so one that starts with a shorter one is replaced
    # whole.
    ordered = sorted(secrets, key=len, reverse=True)
    choices = "|".join(re.escape(secret) for secret in ordered)
    start = (
        rf"(?:(?<![{_TOKEN_CHARACTER}])"
        rf"|(?<=%{_SEPARATOR_HEX})"
        rf"|(?<=%25{_SEPARATOR_HEX}))"
    )
    return re.compile(rf"{start}(?:{choices})(?![{_TOKEN_CHARACTER}])")


def _warn_too_short() -> None:
    global _warned_too_short
    with _lock:
        if _warned_too_short:
            return
        _warned_too_short = True
    logging.getLogger(__name__).warning(
        "a secret of fewer than %d characters is not redacted from logs, "
        "because it would match ordinary text; use a longer secret",
        _SHORTEST_TOKEN,
    )


def is_secret_name(name: object) -> bool:
    """Return whether an option called ``name`` contains a secret (a part of
    :data:`SECRET_NAME_PARTS` in any case)."""
    lowered = str(name).lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


def secret_digest(value: str | bytes | bytearray) -> str:
    """Return the digest that names ``value`` without revealing it.

    It is the same in every process, and a string has the digest of its
    UTF-8 bytes. It does reveal whether a guessed value is the secret, which
    matters for a password but not for a random key.
    """
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return hashlib.sha256(raw).hexdigest()[:_DIGEST_LENGTH]


def keep_secret(value: Any) -> str:
    """Keep ``value`` in this process's memory and return its digest.

    A string or bytes value is named by :func:`secret_digest`, and bytearray
    is kept as an immutable copy. Any other object (a credential object of
    a cloud SDK) is named by the digest of a random name that it gets the
    first time, so only this process can find it. The text forms of the
    value are registered for redaction (:func:`secret_texts`).
    """
    if isinstance(value, str | bytes | bytearray):
        digest = secret_digest(value)
        stored = bytes(value) if isinstance(value, bytearray) else value
    else:
        digest = _object_digest(value)
        stored = value
    with _lock:
        _kept_secrets[digest] = stored
    register_secrets(secret_texts(value))
    return digest


def _object_digest(value: object) -> str:
    with _lock:
        known = _object_digests.get(id(value))
        if known is not None:
            return known[1]
        digest = secret_digest(f"object {uuid.uuid4()}")
        _object_digests[id(value)] = (value, digest)
        return digest


def kept_secret(digest: str) -> Any:
    """Return the secret kept under ``digest`` in this process, or None."""
    with _lock:
        return _kept_secrets.get(digest)


def secret_texts(value: Any) -> list[str]:
    """Return the forms in which ``value`` can appear in a log record.

    A string appears as itself and in base64 of its UTF-8 bytes. Bytes
    appear decoded as UTF-8, as the body of their ``repr`` and in base64,
    the form that S3 sends an SSE-C key in (botocore logs the header).
    Another object contributes the strings among its attributes whose names
    are secret names (:func:`is_secret_name`), such as the ``secret_key``
    and ``token`` of a botocore ``Credentials`` object.
    """
    if isinstance(value, str):
        return [value, base64.b64encode(value.encode()).decode()]
    if isinstance(value, bytes | bytearray):
        return _byte_texts(bytes(value))
    attributes = getattr(value, "__dict__", None)
    if not isinstance(attributes, dict):
        return []
    return [
        text
        for name, text in attributes.items()
        if isinstance(text, str) and is_secret_name(name)
    ]


def _byte_texts(value: bytes) -> list[str]:
    texts = [repr(value)[2:-1], base64.b64encode(value).decode()]
    try:
        texts.append(value.decode())
    except UnicodeDecodeError:
        pass
    return texts


def redact(text: str) -> str:
    """Replace every registered secret, SigV4 signature and session token header.

    Secrets shorter than 8 characters are replaced only where they appear as
    a whole token (see :func:`register_secrets`).

    A session token is found by name only where it follows
    ``X-Amz-Security-Token``, as botocore writes headers and query strings.
    """
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
        short_pattern = _short_pattern
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if short_pattern is not None:
        text = short_pattern.sub(REDACTED, text)
    if "Signature" in text:
        text = _SIGNATURE.sub(rf"\g<1>{REDACTED}", text)
    if "ecurity-" in text or "ECURITY-" in text:
        text = _SESSION_TOKEN.sub(rf"\g<1>{REDACTED}", text)
    return text


def _install_factory() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub(record)
        return record

    logging.setLogRecordFactory(factory)


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is the caller's bug
        message = str(record.msg)
    cleaned = redact(message)
    if cleaned != message or record.args:
        record.msg = cleaned
        record.args = None
    if record.exc_info and record.exc_info[1] is not None:
        # Formatters reuse exc_text when it is set, so the traceback they
        # print is this redacted one.
        lines = traceback.format_exception(*record.exc_info)
        record.exc_text = redact("".join(lines).rstrip("\n"))
