"""Time parsing and day arithmetic, in integer nanoseconds since 1970 UTC.

Integers keep sample placement exact: a float64 of seconds since 1970 has a
resolution of about 0.2 microseconds, which is not enough to state sub-sample
offsets at 1 kHz with confidence.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.readerargs import short_repr

__all__ = [
    "NS_PER_DAY",
    "NS_PER_SECOND",
    "check_window_order",
    "day_of_year",
    "day_start",
    "days_between",
    "format_ns",
    "is_utcdatetime",
    "parse_time",
]

NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND

# Examples of accepted time text, which every time error shows.
_TIME_EXAMPLES = "'2024-01-01', '2024-001' (day of year) or '2024-01-01T12:30:00Z'"

# ISO 8601 text: a year, then month and day or day of year, then time and
# zone. Other forms ("10/11/2025") are refused, because pandas would read
# them month first without a word.
_ISO_TEXT = re.compile(
    r"\d{4}(-\d{2}(-\d{2})?|-\d{3}|\d{4})?([T ][0-9:.,]*)?(Z|[+-][0-9:]+)?", re.I
)
_ORDINAL_DATE = re.compile(r"(\d{4})-(\d{3})(?=$|[T ])", re.I)

# Second 60 of a minute, in the extended (23:59:60) or basic (235960) form.
_LEAP_SECOND = re.compile(r"([T ]\d{2}:?\d{2}:?)60(?=$|[.,Z+-])", re.I)


def is_utcdatetime(value: object) -> TypeGuard[Any]:
    """Return whether ``value`` is an ``obspy.UTCDateTime``.

    It is recognised by its ``ns`` and ``datetime`` attributes, so obspy is
    not imported.
    """
    return hasattr(value, "ns") and hasattr(value, "datetime")


def parse_time(value: object, name: str) -> int:
    """Convert a user time to integer nanoseconds since 1970-01-01 UTC.

    Parameters
    ----------
    value : str, datetime, numpy.datetime64, pandas.Timestamp or UTCDateTime
        ISO 8601 text (``"2024-01-01"``, ``"2024-01-01T12:00:00.5Z"``) or a
        time object. Times without a zone are taken as UTC; times with a zone
        are converted to UTC.
    name : str
        Parameter name, for the error message.

    Raises
    ------
    InvalidRequestError
        If ``value`` is missing or cannot be read as a time.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidRequestError(
            f"missing {name}: give an ISO 8601 time such as {_TIME_EXAMPLES}"
        )

    if is_utcdatetime(value):
        # obspy.UTCDateTime keeps integer nanoseconds itself.
        return int(value.ns)
    if isinstance(value, bool | int | float | np.number | np.bool_):
        raise InvalidRequestError(
            f"invalid {name}={short_repr(value)}: a bare number is ambiguous "
            "(seconds or nanoseconds?); give an ISO 8601 time such as "
            f"{_TIME_EXAMPLES}, or a datetime"
        )

    if isinstance(value, str):
        value = _iso_text(value, name)
    try:
        stamp = pd.Timestamp(value)
        if stamp is not pd.NaT and stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as error:
        raise _outside_range(value, name) from error
    except (TypeError, ValueError) as error:
        raise _invalid_time(value, name) from error
    return _checked_ns(stamp, value, name)


def _invalid_time(value: object, name: str) -> InvalidRequestError:
    """Return the error for a value of ``name`` that is not a time.

    Every entry point words unreadable time text this way, with the value and
    examples of accepted text.
    """
    accepted = f"an ISO 8601 time such as {_TIME_EXAMPLES}"
    if not isinstance(value, str):
        accepted += ", or a datetime"
    return InvalidRequestError(
        f"invalid {name}={short_repr(value)}: expected {accepted}"
    )


def _outside_range(value: object, name: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"invalid {name}={short_repr(value)}: outside the years 1678 to 2261 that "
        "nanosecond times cover"
    )


def _iso_text(text: str, name: str) -> str:
    """Check that ``text`` is ISO 8601 and write a day of year as a date."""
    stripped = text.strip()
    if not _ISO_TEXT.fullmatch(stripped):
        raise _invalid_time(text, name)
    _check_not_leap_second(stripped, name)
    ordinal = _ORDINAL_DATE.match(stripped)
    if ordinal is None:
        return stripped

    year, day = int(ordinal.group(1)), int(ordinal.group(2))
    days_in_year = 366 if calendar.isleap(year) else 365
    if not 1 <= day <= days_in_year:
        raise InvalidRequestError(
            f"invalid {name}={short_repr(text)}: day of year {day} is not in {year} "
            f"(1 to {days_in_year})"
        )
    date = dt.date(year, 1, 1) + dt.timedelta(days=day - 1)
    return date.isoformat() + stripped[ordinal.end() :]


def _check_not_leap_second(text: str, name: str) -> None:
    leap = _LEAP_SECOND.search(text)
    if leap is None:
        return
    # The same text with second 59, plus one second, is the time after it.
    before = text[: leap.start()] + leap.group(1) + "59" + text[leap.end() :]
    after = format_ns(parse_time(before, name) + NS_PER_SECOND)
    raise InvalidRequestError(
        f"invalid {name}={short_repr(text)}: second 60 is a leap second, which "
        "times here cannot hold, because they count seconds since 1970 without leap "
        f"seconds; give the time after the leap second, {after}"
    )


def _checked_ns(stamp: pd.Timestamp, value: object, name: str) -> int:
    if stamp is pd.NaT:
        raise _invalid_time(value, name)
    try:
        return int(stamp.as_unit("ns").value)
    except (OverflowError, ValueError) as error:
        raise _outside_range(value, name) from error


def check_window_order(start_ns: int, end_ns: int) -> None:
    """Reject a time window whose end is not after its start.

    Every entry point and the command line word this error the same way.

    Raises
    ------
    InvalidRequestError
        If ``end_ns`` is not after ``start_ns``. The message gives the fix:
        swap the times when the end comes first, or give a later end when
        the two are equal.
    """
    if end_ns > start_ns:
        return
    fix = "swap them" if end_ns < start_ns else "give a later end"
    raise InvalidRequestError(
        f"invalid time window: end={format_ns(end_ns)} is not after "
        f"start={format_ns(start_ns)} (end is exclusive); {fix}"
    )


def day_start(ns: int) -> int:
    """Return the start (00:00 UTC) of the day holding ``ns``."""
    return ns - ns % NS_PER_DAY


def days_between(start_ns: int, end_ns: int) -> list[int]:
    """List the day starts of every day that overlaps ``[start_ns, end_ns)``."""
    first = day_start(start_ns)
    return list(range(first, end_ns, NS_PER_DAY))


def day_of_year(ns: int) -> tuple[int, int]:
    """Return ``(year, day_of_year)`` of the UTC day holding ``ns``."""
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=ns // 1000)
    return moment.year, moment.timetuple().tm_yday


def format_ns(ns: int) -> str:
    """Format nanoseconds as ISO 8601 text with the zone marker ``Z``."""
    text = str(np.datetime64(ns, "ns"))
    if ns % NS_PER_SECOND == 0:
        text = text[:19]
    elif ns % 1000 == 0:
        text = text[:26]
    return text + "Z"
