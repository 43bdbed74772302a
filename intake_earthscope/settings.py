"""Process-wide settings read from environment variables, checked once."""

from __future__ import annotations

import os

__all__ = ["float_setting", "int_setting"]


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
    if not value >= minimum:
        raise ValueError(
            f"invalid {name}={text!r}: expected a number of at least {minimum:g} "
            f"(default {default:g})"
        )
    return value
