"""Read event reference times from a CSV file or from text, as UTC, and the
window offsets (before and after) around them.

The command line's window export takes its reference times from here, and
both ``windows()`` and the command line read window offsets with
:func:`window_offset_ns`. Every error names the file, the line, the column
or the value, and the fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.timeutil import (
    NS_PER_DAY,
    NS_PER_SECOND,
    is_utcdatetime,
    parse_time,
)

logger = logging.getLogger(__name__)

__all__ = [
    "LONGEST_WINDOW_NS",
    "OFFSET_FORMS",
    "ReferenceTimes",
    "parse_reference",
    "read_time_cells",
    "window_offset_ns",
]

# Maximum window length, before plus after. A longer window spans three
# objects: read it with open_waveforms.
LONGEST_WINDOW_NS = NS_PER_DAY

#: The forms of before and after that Python callers pass.
OFFSET_FORMS = (
    "seconds, a timedelta or duration text with a unit, such as '30s' or '2min'"
)


@dataclass
class ReferenceTimes:
    """Reference times in nanoseconds since 1970 UTC, each with where it was
    given (a line of the times file, or ``--time``)."""

    values: list[int] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)

    def add(self, value: int, origin: str) -> None:
        """Append ``value``, given at ``origin``."""
        self.values.append(value)
        self.origins.append(origin)


def read_time_cells(path: str, column: str) -> list[tuple[int, str]]:
    """Return the line number and text of each row's time in a CSV file.

    The file's first line with text is its header, which must name
    ``column``. Rows without text are skipped.

    Raises
    ------
    InvalidRequestError
        If the file cannot be read, is not UTF-8, has no header, or lacks
        the column or names it twice.
    """
    try:
        # utf-8-sig drops the byte order mark that spreadsheet programs write.
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream, skipinitialspace=True)
            return _time_cells(reader, path, column)
    except OSError as error:
        raise InvalidRequestError(
            f"cannot read times file {path!r}: {error.strerror or error}"
        ) from None
    except UnicodeDecodeError:
        raise InvalidRequestError(
            f"cannot read times file {path!r}: not UTF-8 text; save it as a "
            "UTF-8 CSV file"
        ) from None


def _time_cells(reader: Any, path: str, column: str) -> list[tuple[int, str]]:
    try:
        header = next((row for row in reader if _has_text(row)), None)
        if header is None:
            raise InvalidRequestError(
                f"times file {path!r} is empty: expected a header line naming "
                f"the column of reference times ({column!r}), then one row per "
                "time"
            )
        names = [name.strip() for name in header]
        if column not in names:
            raise _missing_column(path, column, names)
        if names.count(column) > 1:
            # csv.DictReader keeps the last such column and pandas renames the
            # second, so the first is not the obvious choice.
            raise InvalidRequestError(
                f"column {column!r} appears {names.count(column)} times in the "
                f"header of times file {path!r}: rename the columns that do not "
                "contain the reference times"
            )

        index = names.index(column)
        return [
            (reader.line_num, row[index].strip() if index < len(row) else "")
            for row in reader
            if _has_text(row)
        ]
    except csv.Error as error:
        raise InvalidRequestError(
            f"cannot read times file {path!r} on line {reader.line_num}: {error}"
        ) from None


def _has_text(row: list[str]) -> bool:
    return any(cell.strip() for cell in row)


def _missing_column(path: str, column: str, names: list[str]) -> InvalidRequestError:
    hint = "name the column of times with --time-column"
    if names and names[0].startswith("#"):
        hint = (
            "comment lines are not read as comments: remove the lines that "
            "start with '#' above the header"
        )
    elif len(names) == 1 and any(mark in names[0] for mark in "\t;|"):
        hint = "separate the columns with commas"
    elif any(_is_time(name) for name in names):
        hint = (
            "the first line looks like data, but must be a header: add a line "
            f"such as {column!r} above the times"
        )
    return InvalidRequestError(
        f"column {column!r} not found in times file {path!r}, whose header has "
        f"the columns {names}: {hint}"
    )


def _is_time(text: str) -> bool:
    try:
        parse_time(text, "time")
    except InvalidRequestError:
        return False
    return True


def parse_reference(text: str, where: str, fix: str) -> int:
    """Return the time ``text`` in nanoseconds since 1970 UTC.

    ``where`` names where the text was given and ``fix`` the action for an
    invalid text. Both go into the error.

    Raises
    ------
    InvalidRequestError
        If the text is blank or not a time.
    """
    if not text.strip():
        raise InvalidRequestError(f"missing time {where}: {fix}")
    try:
        return parse_time(text, "time")
    except InvalidRequestError as error:
        raise InvalidRequestError(
            f"invalid time {text!r} {where}: {_time_reason(error)}; {fix}"
        ) from None


def _time_reason(error: InvalidRequestError) -> str:
    # parse_time words its errors "invalid time='VALUE': REASON". The caller
    # names the value and where it was given, so only the reason is kept.
    message = str(error)
    _, separator, reason = message.rpartition("': ")
    return reason if separator else message


def window_offset_ns(
    value: object,
    name: str,
    *,
    forms: str = OFFSET_FORMS,
    number_text: bool = False,
) -> int:
    """Convert a window offset, ``before`` or ``after``, to nanoseconds.

    Parameters
    ----------
    value : float, int, timedelta, numpy.timedelta64 or str
        Seconds as a number, a timedelta, or duration text with a unit that
        pandas reads (``"30s"``, ``"2min"``, ``"PT1H"``).
    name : str
        ``"before"`` or ``"after"``, for the error message.
    forms : str
        The accepted forms, as the message of an unreadable value names them.
    number_text : bool
        Read text that is a plain number, such as ``"-60"``, as seconds, as
        the command line does. Python callers get an error for such text,
        because its unit is ambiguous. Errors echo ``value`` unchanged, so
        that the command line shows the text as typed.

    Returns
    -------
    int
        The offset in nanoseconds, with no upper limit: numbers of seconds
        past the int64 range stay exact as a Python int, so that callers can
        word their own limit.

    Raises
    ------
    InvalidRequestError
        If ``value`` is a time, negative, not finite, or not a duration.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidRequestError(f"invalid {name}={value!r}: expected {forms}")
    _check_not_nan(value, name)
    if _looks_like_time(value):
        raise InvalidRequestError(
            f"invalid {name}={value!r}: {name} is a duration, not a time; give "
            f"{forms}. {_OFFSETS_RULE}"
        )
    seconds = _seconds(value, name, number_text)
    if seconds is not None:
        return _seconds_ns(seconds, value, name)
    return _timedelta_ns(value, name, forms)


def _check_not_nan(value: object, name: str) -> None:
    """Reject a NaN or NaT offset, which often marks a missing value of a table."""
    if not _is_nan(value):
        return
    label = "NaN" if isinstance(value, str | float | np.floating) else "NaT"
    direction = "back" if name == "before" else "forward"
    raise InvalidRequestError(
        f"invalid {name}={value!r}: {label} is not a duration. Give the seconds "
        f"to count {direction} from each reference time, a number at or above 0 "
        f"such as {name}=60. A {label} in a table column marks a missing value, "
        "so fill or drop those rows first"
    )


def _is_nan(value: object) -> bool:
    """Return whether ``value`` is a NaN number, NaN text or a NaT duration."""
    if isinstance(value, str):
        return _is_number(value) and np.isnan(float(value))
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return value is pd.NaT or (isinstance(value, np.timedelta64) and np.isnat(value))


_OFFSETS_RULE = (
    "before counts back and after counts forward from each reference time, "
    "so before=60, after=30 opens windows from 60 s before to 30 s after "
    "each time"
)


def _seconds(value: object, name: str, number_text: bool) -> float | int | None:
    """Return a plain number of seconds, or None for a duration.

    Integers stay exact, because one such as 10**400 has no float.
    """
    if isinstance(value, str):
        if not _is_number(value):
            return None
        if number_text:
            return float(value)
        raise InvalidRequestError(
            f"invalid {name}={value!r}: text needs a unit, such as '{value.strip()}s'"
            ", or give the seconds as a number"
        )
    # NumPy counts timedelta64 as an integer type, and its unit must be kept.
    if isinstance(value, np.timedelta64):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return None


def _seconds_ns(seconds: float | int, value: object, name: str) -> int:
    if isinstance(seconds, int):
        finite = True
    else:
        finite = bool(np.isfinite(seconds))
    if not finite or seconds < 0:
        raise InvalidRequestError(
            f"invalid {name}={value!r}: expected seconds at or above 0. {_OFFSETS_RULE}"
        )
    # Whole seconds become an int first, because the nanoseconds of 1e300 s
    # are no finite float.
    whole = int(seconds)
    return whole * NS_PER_SECOND + round((seconds - whole) * NS_PER_SECOND)


def _timedelta_ns(value: object, name: str, forms: str) -> int:
    text = value.strip() if isinstance(value, str) else value
    try:
        duration = pd.Timedelta(text)
    except (TypeError, ValueError, OverflowError) as error:
        raise InvalidRequestError(
            f"invalid {name}={value!r}: expected {forms}"
        ) from error
    if duration is pd.NaT or duration.value < 0:
        raise InvalidRequestError(
            f"invalid {name}={value!r}: expected a duration at or above 0. "
            f"{_OFFSETS_RULE}"
        )
    return int(duration.value)


def _looks_like_time(value: object) -> bool:
    """Return whether ``value`` is a point in time: a datetime, UTCDateTime,
    ``numpy.datetime64`` or ISO 8601 date text."""
    if isinstance(value, dt.date | np.datetime64) or is_utcdatetime(value):
        return True
    return isinstance(value, str) and _ISO_DATE.match(value.strip()) is not None


# The start of ISO 8601 date text: durations never start with a year and month.
_ISO_DATE = re.compile(r"\d{4}-\d{2,3}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
