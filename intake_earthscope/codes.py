"""SEED code parsing, normalisation and matching.

Codes arrive from users, YAML and CSV tables in many spellings. They are
normalised here, once, at the API boundary: upper case, comma lists split,
the blank location written as ``""`` (``"--"`` and two spaces are accepted
as input), and numbers rejected because a CSV round trip has already lost
their leading zeros.
"""

from __future__ import annotations

import fnmatch
import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pymseed

if TYPE_CHECKING:
    import pandas as pd

from intake_earthscope.errors import InvalidRequestError

__all__ = [
    "CODE_KINDS",
    "SeedId",
    "code_arrays",
    "codes_text",
    "has_wildcard",
    "lost_zero_message",
    "matches",
    "parse_codes",
    "record_selection",
    "row_seed_ids",
    "seed_id_from_sourceid",
]

CODE_KINDS = ("network", "station", "location", "channel")

# Maximum code lengths of the FDSN source identifier specification (1.0).
_MAX_LENGTH = {"network": 8, "station": 8, "location": 8, "channel": 3}

# A code of each kind for messages.
_EXAMPLES = {"network": "IU", "station": "ANMO", "location": "00", "channel": "BHZ"}

_VALID_CHARACTERS = re.compile(r"^[A-Z0-9?*_-]*$")

_BLANK_LOCATIONS = {"", "--", "  "}


@dataclass(frozen=True, order=True)
class SeedId:
    """A trace identifier made of network, station, location and channel codes."""

    network: str
    station: str
    location: str
    channel: str

    def __str__(self) -> str:
        return f"{self.network}.{self.station}.{self.location}.{self.channel}"

    @classmethod
    def parse(cls, text: str) -> SeedId:
        """Parse ``"NET.STA.LOC.CHA"`` into a :class:`SeedId`.

        Raises
        ------
        InvalidRequestError
            If ``text`` does not have four dot-separated parts.
        """
        parts = text.split(".")
        if len(parts) != 4:
            raise InvalidRequestError(
                f"invalid SEED id {text!r}: expected NET.STA.LOC.CHA, "
                "for example 'IU.ANMO.00.BHZ' or 'US.OXF..BHZ'"
            )
        network, station, location, channel = parts
        return cls(network, station, _blank_location(location), channel)

    @property
    def station_key(self) -> tuple[str, str]:
        """Network and station codes, the identity of a station-day object."""
        return (self.network, self.station)

    @property
    def sourceid(self) -> str:
        """FDSN source identifier, as miniSEED 3 and libmseed spell it."""
        return pymseed.nslc2sourceid(
            self.network, self.station, self.location, self.channel
        )


def parse_codes(value: object, kind: str) -> tuple[str, ...]:
    """Normalise one code parameter into a tuple of patterns.

    Parameters
    ----------
    value : str, sequence of str or None
        Codes as the user gave them: ``"ANMO,COLA"``, ``["ANMO", "COLA"]``,
        wildcards ``?`` and ``*``; ``None`` means every code.
    kind : {"network", "station", "location", "channel"}
        Which SEED code the value holds, for validation and messages.

    Returns
    -------
    tuple of str
        Upper-case patterns without duplicates, in the order given. The blank
        location is ``""``.

    Raises
    ------
    InvalidRequestError
        If a code is not a string, has invalid characters or is too long.
    """
    if value is None:
        return ("*",)

    items = _split_items(value, kind)
    patterns = [_normalise_one(item, kind) for item in items]
    if not patterns:
        raise InvalidRequestError(
            f"invalid {kind}={value!r}: give at least one code or '*' for all"
        )
    return tuple(dict.fromkeys(patterns))


def codes_text(codes: Sequence[Sequence[str]]) -> str:
    """Return a request's code patterns as one SEED id pattern, for messages.

    ``codes`` contains the patterns of each kind in the order of
    :data:`CODE_KINDS`. Several patterns of a kind are joined by commas, and
    the blank location is empty, as :class:`SeedId` prints it:
    ``CH.BALST..LH?``.
    """
    return ".".join(",".join(patterns) for patterns in codes)


def row_seed_ids(table: pd.DataFrame) -> pd.Series:
    """Return the SEED id ``NET.STA.LOC.CHA`` of each row of a seismic table."""
    return (
        table["network"]
        + "."
        + table["station"]
        + "."
        + table["location"]
        + "."
        + table["channel"]
    )


def has_wildcard(pattern: str) -> bool:
    """Return whether ``pattern`` contains a ``?`` or ``*`` wildcard."""
    return "?" in pattern or "*" in pattern


def matches(code: str, patterns: Iterable[str]) -> bool:
    """Return whether ``code`` matches any of the normalised ``patterns``."""
    return any(_compiled(pattern).match(code) is not None for pattern in patterns)


def seed_id_from_sourceid(sourceid: str) -> SeedId:
    """Convert an FDSN source identifier (``FDSN:IU_ANMO_00_B_H_Z``) to a SeedId."""
    network, station, location, channel = pymseed.sourceid2nslc(sourceid)
    return SeedId(network, station, location, channel)


def record_selection(
    ids: Sequence[SeedId], patterns: Mapping[str, Sequence[str]] | None = None
) -> str:
    """Build one libmseed source-id glob that selects every record of ``ids``.

    The glob keeps each character the ids share and puts ``?`` where they
    differ, so libmseed skips the records of other channels without decoding
    their samples. It may select a few more channels than ``ids`` (``BH1``
    beside ``BHZ`` and ``BHN``); callers ignore those. Where ``patterns``
    (the request's codes) hold a wildcard for the location or channel, the
    glob widens to the request, so channels the plan lacks can be reported.
    """
    if not ids:
        raise ValueError("record_selection needs at least one SEED id")

    merged = [_merge_codes([getattr(i, kind) for i in ids]) for kind in CODE_KINDS]
    if patterns is not None:
        for position, kind in ((2, "location"), (3, "channel")):
            requested = patterns.get(kind, ())
            if any(has_wildcard(pattern) for pattern in requested):
                merged[position] = requested[0] if len(requested) == 1 else "*"
    network, station, location, channel = merged
    if len(channel) == 3 and "*" not in channel:
        channel_part = "_".join(channel)
    else:
        channel_part = "*"
    return f"FDSN:{network}_{station}_{location}_{channel_part}"


def code_arrays(ids: Sequence[SeedId]) -> dict[str, np.ndarray]:
    """Build the ``trace`` ids and the four code arrays of ``ids``.

    The arrays are fixed-width unicode (``"<U.."``, as wide as the longest
    code), not object arrays, because dask cannot size object arrays for
    ``chunks="auto"``. Zarr exports keep the dtype.
    """
    # dtype=str sizes each array to its longest code, and makes an empty list
    # "<U1" where NumPy would make it float64.
    arrays = {"trace": np.array([str(seed_id) for seed_id in ids], dtype=str)}
    for kind in CODE_KINDS:
        arrays[kind] = np.array([getattr(seed_id, kind) for seed_id in ids], dtype=str)
    return arrays


def _merge_codes(codes: list[str]) -> str:
    """Merge codes position by position into a glob (``?`` where they differ)."""
    lengths = {len(code) for code in codes}
    if len(lengths) != 1:
        return "*"
    return "".join(
        chars[0] if len(set(chars)) == 1 else "?" for chars in zip(*codes, strict=True)
    )


def _split_items(value: object, kind: str) -> list[str]:
    if isinstance(value, str):
        # Two spaces are a valid blank location, so split before stripping.
        return value.split(",")
    if _is_number(value):
        raise InvalidRequestError(lost_zero_message(kind, value))
    if isinstance(value, list | tuple):
        items = list(value)
        for item in items:
            if _is_number(item):
                raise InvalidRequestError(lost_zero_message(kind, item))
            if not isinstance(item, str):
                raise InvalidRequestError(
                    f"invalid {kind} code {item!r} in {value!r}: every code must "
                    "be a string such as '00'"
                )
        return items
    raise InvalidRequestError(
        f"invalid {kind}={value!r}: expected a string such as 'BHZ,BHN' or a "
        "list or tuple of strings"
    )


def _normalise_one(item: str, kind: str) -> str:
    if kind == "location" and item in _BLANK_LOCATIONS:
        return ""

    code = item.strip()
    if not code.isascii():
        raise InvalidRequestError(
            f"invalid {kind} code {item!r}: SEED codes use ASCII letters, digits "
            "and the wildcards '?' and '*'"
        )
    code = code.upper()
    if kind == "location":
        code = _blank_location(code)
    elif code == "":
        raise InvalidRequestError(
            f"invalid {kind}: empty code in {item!r}; only the location code may "
            "be blank. Use '*' to select every code"
        )

    if not _VALID_CHARACTERS.match(code):
        raise InvalidRequestError(
            f"invalid {kind} code {item!r}: SEED codes use letters, digits and "
            "the wildcards '?' and '*'"
        )

    if kind == "location" and len(code) == 1 and code.isdigit():
        raise InvalidRequestError(lost_zero_message(kind, item))

    length = len(code.replace("*", ""))
    if length > _MAX_LENGTH[kind]:
        raise InvalidRequestError(
            f"invalid {kind} code {item!r}: longer than {_MAX_LENGTH[kind]} characters"
        )
    if kind == "channel" and not has_wildcard(code) and len(code) < 3:
        raise InvalidRequestError(
            f"invalid channel code {item!r}: channel codes have three characters "
            f"(band, instrument, orientation); give '{code}?' or '{code}*' to "
            "select several"
        )
    return code


def lost_zero_message(kind: str, value: object) -> str:
    """Return the message for a SEED code given as a number, or for a location
    code of one digit, which is usually a code that lost its leading zero.

    Every reader (the v1 and v2 catalogs and :func:`open_waveforms`) uses
    this message, so ``location=0`` reads the same everywhere. It ends with
    "Pass location='00' as text", which the command line respells as its
    option.
    NumPy numbers read as Python's. NaN, an infinity or a fraction gets a
    message that names no code to pass, and NaN as a location names the
    blank code ``''``.

    Parameters
    ----------
    kind : str
        The parameter: ``network``, ``station``, ``location`` or ``channel``.
    value : object
        The value as the caller gave it, a number or a text.
    """
    if isinstance(value, np.generic):
        # A cell of a pandas table, such as np.int64(0), echoed as 0.
        value = value.item()
    # A number is never a channel code, whose band and instrument are letters.
    fraction = isinstance(value, float) and not value.is_integer()
    if fraction or (kind == "channel" and not isinstance(value, str)):
        return _not_code_message(kind, value)
    text = str(value).strip()
    if isinstance(value, float):
        text = str(int(value))
    if kind == "location" and len(text) == 1 and text.isdigit():
        return (
            f"invalid {kind}={value!r}: location codes have two characters, and "
            "a number, or a table read without dtype=str, drops the leading "
            f"zero. Pass {kind}='0{text}' as text"
        )
    return (
        f"invalid {kind}={value!r}: SEED codes are text, and a number, or a table "
        f"read without dtype=str, drops leading zeros. Pass {kind}='{text}' as text"
    )


def _not_code_message(kind: str, value: object) -> str:
    """Return the message for a number that no code turns into: NaN, an
    infinity, a fraction, or any number as a channel."""
    if isinstance(value, float) and math.isnan(value) and kind == "location":
        return (
            f"invalid {kind}={value!r}: a table read without dtype=str holds a "
            f"blank location code as NaN. Pass {kind}='' for the blank code, or "
            f"the code as text, such as {kind}='00'"
        )
    return (
        f"invalid {kind}={value!r}: SEED codes are text, not numbers. Pass "
        f"{kind} as text, such as {kind}={_EXAMPLES[kind]!r}, or '*' for every code"
    )


def _is_number(value: object) -> bool:
    """Return whether ``value`` is a number of Python or NumPy, not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _blank_location(code: str) -> str:
    return "" if code.strip() in ("", "--") else code


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))
