"""Settings read from environment variables, each checked with its range."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

__all__ = ["RetrySettings", "float_setting", "int_setting", "retry_settings"]


def int_setting(name: str, default: int, minimum: int) -> int:
    """Read an integer variable; raise naming the variable and the range."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(
            f"invalid {name}={text!r}: expected a whole number of at least "
            f"{minimum} (default {default})"
        )
    return value


def float_setting(name: str, default: float, minimum: float) -> float:
    """Read a number variable; raise naming the variable and the range."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = minimum - 1
    if not (value >= minimum and math.isfinite(value)):
        raise ValueError(
            f"invalid {name}={text!r}: expected a finite number of at least "
            f"{minimum:g} (default {default:g})"
        )
    return value


@dataclass(frozen=True)
class RetrySettings:
    """Retry budget and timeouts of one storage or web-service read.

    Attributes
    ----------
    attempts : int
        Tries of one read, the first one included
        (``INTAKE_EARTHSCOPE_RETRY_ATTEMPTS``, default 5).
    budget_seconds : float
        Seconds after the first try within which a retry may start
        (``INTAKE_EARTHSCOPE_RETRY_SECONDS``, default 60).
    base_delay : float
        Seconds of the first backoff; each later one may double
        (``INTAKE_EARTHSCOPE_RETRY_DELAY``, default 0.5).
    max_delay : float
        Maximum backoff in seconds (``INTAKE_EARTHSCOPE_RETRY_MAX_DELAY``,
        default 20).
    connect_timeout : float
        Seconds to wait for a connection
        (``INTAKE_EARTHSCOPE_CONNECT_TIMEOUT``, default 10).
    read_timeout : float
        Seconds to wait for each read from a connection
        (``INTAKE_EARTHSCOPE_READ_TIMEOUT``, default 30).
    attempt_seconds : float
        Seconds one attempt may take in all, so that a server trickling its
        reply cannot hold a read forever (``INTAKE_EARTHSCOPE_ATTEMPT_SECONDS``,
        default 300).
    """

    attempts: int = 5
    budget_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 20.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    attempt_seconds: float = 300.0


def retry_settings() -> RetrySettings:
    """Read the retry settings from the environment of this process.

    They are read on each call, so a worker process applies its own
    environment, and a change takes effect with the next read.
    """
    default = RetrySettings()
    return RetrySettings(
        attempts=int_setting("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", default.attempts, 1),
        budget_seconds=float_setting(
            "INTAKE_EARTHSCOPE_RETRY_SECONDS", default.budget_seconds, 0.0
        ),
        base_delay=float_setting(
            "INTAKE_EARTHSCOPE_RETRY_DELAY", default.base_delay, 0.0
        ),
        max_delay=float_setting(
            "INTAKE_EARTHSCOPE_RETRY_MAX_DELAY", default.max_delay, 0.0
        ),
        connect_timeout=float_setting(
            "INTAKE_EARTHSCOPE_CONNECT_TIMEOUT", default.connect_timeout, 0.001
        ),
        read_timeout=float_setting(
            "INTAKE_EARTHSCOPE_READ_TIMEOUT", default.read_timeout, 0.001
        ),
        attempt_seconds=float_setting(
            "INTAKE_EARTHSCOPE_ATTEMPT_SECONDS", default.attempt_seconds, 0.001
        ),
    )
