"""Arguments of the intake v2 readers: a catalog request merged with overrides.

Imported by the readers at ``import intake`` time, so it imports nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["merge_request"]


def merge_request(
    request: Mapping[str, Any] | None,
    overrides: Mapping[str, Any],
    keys: Iterable[str],
    defaults: Iterable[str] = (),
) -> dict[str, Any]:
    """Merge a catalog's ``request`` mapping with arguments given by name.

    Parameters
    ----------
    request : mapping or None
        The request the catalog passes, with keys among ``keys``.
    overrides : mapping
        Arguments given to ``read()`` by name; they win over the request.
    keys : iterable of str
        Keys the request may contain.
    defaults : iterable of str
        Arguments whose empty value (the catalog default ``""``) means the
        reader's own default: they are left out when empty.

    Raises
    ------
    TypeError
        If the request contains a key outside ``keys``.
    """
    valid = list(keys)
    unknown = set(request or {}) - set(valid)
    if unknown:
        raise TypeError(
            f"invalid request key(s) {sorted(unknown)}: valid keys are {valid}"
        )

    arguments = {**(request or {}), **overrides}
    for name in defaults:
        if not arguments.get(name):
            arguments.pop(name, None)
    return arguments
