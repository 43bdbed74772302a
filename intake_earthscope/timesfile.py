"""Read event reference times from a CSV file or from text, as UTC.

The command line's window export takes its reference times from here. Every
error names the file, the line, the column or the value, and the fix.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from typing import Any

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.timeutil import parse_time

logger = logging.getLogger(__name__)

__all__ = ["ReferenceTimes", "parse_reference", "read_time_cells"]


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
