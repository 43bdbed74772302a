"""Arguments of the intake readers and sources: request merging and name checks.

Imported by the readers at ``import intake`` time, so it imports nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FDSN_NAMES", "check_fdsn_names", "merge_request"]

#: obspy and FDSN web-service names of request arguments, and the names to use.
FDSN_NAMES = {
    "starttime": "start= and end=",
    "endtime": "start= and end=",
    "net": "network=",
    "sta": "station=",
    "loc": "location=",
    "cha": "channel=",
}


def check_fdsn_names(names: Iterable[str]) -> None:
    """Reject obspy and FDSN argument names with the name to use instead.

    Raises
    ------
    TypeError
        If a name is a key of :data:`FDSN_NAMES`.
    """
    for name in names:
        if name in FDSN_NAMES:
            raise TypeError(f"unknown parameter {name}: use {FDSN_NAMES[name]}")


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
