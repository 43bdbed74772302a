"""Parsers of daily GNSS position time series: PBO ``.pos``, GAGE CSV, NGL ``.tenv3``.

Every parser takes the text of one station file and returns a
:class:`PositionSeries`: one row per day, with north, east and up in metres
relative to the station's reference position, their standard deviations in
metres and the three correlations (NaN where the format has none).

Conventions shared by the three formats:

* Each row is labelled with its UTC day at 12:00, the epoch of the ``.pos``
  files. The CSV and tenv3 rows carry a date only, so they get the same noon
  label.
* Longitudes run from -180 to 180 degrees east, whatever the file writes
  (``.pos`` files write 0 to 360, NGL may write -268.896 for 91.104 E).
* The reference position of a ``.pos`` file is its ``NEU Reference position``
  (and ``XYZ Reference position``). A GAGE CSV contains values relative to its
  first epoch plus an ``Offset from source file``, the first epoch's offset
  from the ``Reference position``, so that offset is added back. A tenv3
  file has no reference position, so its first row is the reference (its
  latitude, longitude and height in 23-column files, unknown in 20-column
  files).

Every row must have the format's number of fields and a valid date. A row
with a field too many or too few, a non-numeric value, an MJD outside 1900 to
2100 or an MJD that disagrees with the row's calendar date raises
:class:`~intake_earthscope.errors.DecodeError` naming the row. Such a row is
never read shifted. Only a cut last row (no newline, too few fields) is
dropped, and the series is marked ``truncated``. A leading UTF-8 byte order
mark is ignored, and so are CRLF line endings.

The parsers read the rows with pandas' C reader, so a file of 10,000 days
parses in milliseconds.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from intake_earthscope.errors import DecodeError
from intake_earthscope.timeutil import NS_PER_DAY

__all__ = [
    "COMPONENTS",
    "FORMATS",
    "PositionSeries",
    "ReferencePosition",
    "detect_format",
    "header_span",
    "parse_csv",
    "parse_pos",
    "parse_positions",
    "parse_tenv3",
    "wrap_longitude",
]

logger = logging.getLogger(__name__)

#: Per-day variables of every series, in metres (sigmas) or unitless (corr).
COMPONENTS = (
    "north",
    "east",
    "up",
    "sigma_north",
    "sigma_east",
    "sigma_up",
    "corr_north_east",
    "corr_north_up",
    "corr_east_up",
)

FORMATS = ("pos", "csv", "tenv3")

NOON_NS = NS_PER_DAY // 2

# Lines of a .pos or CSV header that hold the declared span (lines 5-6 of a
# .pos file, 7-8 of a CSV).
_HEADER_LINES = 12
_MJD_UNIX_EPOCH = 40587

# Columns of a .pos data row, both format versions 1.0.2 and 1.1.0.
_POS_COLUMNS = (
    "ymd hms mjd x y z sx sy sz rxy rxz ryz lat lon height "
    "dn de du sn se su rne rnu reu soln"
).split()

# Columns of a tenv3 row; 23-column files add latitude, longitude, height.
_TENV3_COLUMNS = (
    "site date decyear mjd week weekday reflon e0 east n0 north u0 up ant "
    "sig_e sig_n sig_u corr_en corr_eu corr_nu lat lon height"
).split()

# Columns the parsers use; pandas skips converting the others.
_POS_USED = (
    "ymd",
    "mjd",
    "dn",
    "de",
    "du",
    "sn",
    "se",
    "su",
    "rne",
    "rnu",
    "reu",
    "soln",
)
_TENV3_USED = tuple(
    _TENV3_COLUMNS[1:2]
    + _TENV3_COLUMNS[3:4]
    + _TENV3_COLUMNS[7:13]
    + _TENV3_COLUMNS[14:]
)

# Days a row may carry: MJD 15020 is 1900-01-01 and MJD 88069 is 2100-01-01.
_MJD_RANGE = (15020.0, 88069.0)

# How many of each unit a metre is, for the units GAGE CSV columns name.
_UNITS_PER_METRE = {"mm": 1000.0, "m": 1.0}

_TENV3_ROW = re.compile(r"^\s*\S{4}\s+\d{2}[A-Z]{3}\d{2}\s")
_NUMBER = r"[-+]?\d+(?:\.\d*)?"


@dataclass(frozen=True)
class ReferencePosition:
    """Position that a station's north, east and up are measured from.

    Attributes
    ----------
    latitude, longitude : float
        Geodetic degrees; longitude from -180 to 180. NaN when unknown.
    height : float
        Ellipsoidal height in metres; NaN when unknown.
    x, y, z : float
        Earth-centred Cartesian metres; NaN where the file gives none.
    frame : str
        Reference frame the file names, such as ``"ITRF08"`` or ``"NAM08"``.
    """

    latitude: float = np.nan
    longitude: float = np.nan
    height: float = np.nan
    x: float = np.nan
    y: float = np.nan
    z: float = np.nan
    frame: str = ""


@dataclass
class PositionSeries:
    """The daily positions of one station file.

    Attributes
    ----------
    station : str
        Station id as the file writes it (upper case).
    format : str
        One of :data:`FORMATS`.
    time : numpy.ndarray
        ``datetime64[ns]`` day labels at 12:00 UTC, ascending, unique.
    values : dict of str to numpy.ndarray
        float64 arrays of :data:`COMPONENTS`, aligned with ``time``.
    reference : ReferencePosition
        Where north, east and up are measured from.
    truncated : bool
        Whether the file ended inside a row, which was dropped.
    span : tuple of numpy.datetime64 or None
        First and last epoch the header declares, if it declares them.
    """

    station: str
    format: str
    time: np.ndarray
    values: dict[str, np.ndarray]
    reference: ReferencePosition
    truncated: bool = False
    span: tuple[np.datetime64, np.datetime64] | None = None
    header: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.time.size)


def wrap_longitude(longitude: np.ndarray | float) -> np.ndarray | float:
    """Return ``longitude`` in degrees east folded into [-180, 180)."""
    return (np.asarray(longitude) + 180.0) % 360.0 - 180.0


def detect_format(text: str, name: str = "") -> str:
    """Return the format of a position file from its first lines.

    The content decides. The file name (``.pos``, ``.csv``, ``.tenv3``)
    breaks ties only when the content has no header, as for tenv3 rows.

    Raises
    ------
    DecodeError
        If the text is neither a PBO ``.pos``, a GAGE CSV nor an NGL tenv3.
    """
    lines = text[:4096].lstrip("\ufeff").splitlines()[:3]
    first = lines[0] if lines else ""
    second = lines[1] if len(lines) > 1 else ""

    if first.startswith("PBO Station Position Time Series"):
        if second.startswith("Format Version,"):
            return "csv"
        return "pos"
    if first.startswith("site") and "YYMMMDD" in first:
        return "tenv3"
    if _TENV3_ROW.match(first):
        return "tenv3"
    raise DecodeError(
        f"{name or 'the file'} is not a GNSS position time series: expected a "
        "PBO .pos or GAGE CSV header ('PBO Station Position Time Series') or "
        f"NGL tenv3 rows, got {first[:60]!r}"
    )


def header_span(
    head: bytes | bytearray | str,
) -> tuple[np.datetime64, np.datetime64] | None:
    """Return the first and last day label that a file's header declares.

    ``head`` may be the first few kilobytes of the file only. A ``.pos``
    header declares ``First Epoch`` and ``Last Epoch``, and a GAGE CSV
    header ``Begin Date`` and ``End Date``. tenv3 files, unknown text and a
    header without both lines give ``None``.
    """
    text = _decoded(head)
    try:
        kind = detect_format(text)
    except DecodeError:
        return None
    if kind == "tenv3":
        return None

    separator = ":" if kind == "pos" else ","
    header: dict[str, str] = {}
    for line in text.splitlines()[:_HEADER_LINES]:
        key, found, value = line.partition(separator)
        if found:
            header.setdefault(key.strip(), value.strip())
    return _pos_span(header) if kind == "pos" else _csv_span(header)


def parse_positions(data: bytes | str, name: str = "") -> PositionSeries:
    """Parse a position file in any of :data:`FORMATS`, detected from content.

    Parameters
    ----------
    data : bytes or str
        Contents of one station file (ASCII).
    name : str
        File name or URL, for messages.

    Raises
    ------
    DecodeError
        If the format is unknown or the header or rows cannot be read.
    """
    text = _decoded(data)
    kind = detect_format(text, name)
    parser = {"pos": parse_pos, "csv": parse_csv, "tenv3": parse_tenv3}[kind]
    try:
        return parser(text, name)
    except DecodeError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as error:
        # A damaged file must end as a DecodeError, which the dataset turns
        # into the station's "unreadable" outcome under errors="warn"/"ignore".
        raise DecodeError(
            f"invalid {kind} file {name or '(no name)'}: {_cut(str(error))}"
        ) from error


def _decoded(data: bytes | bytearray | str) -> str:
    """Return ``data`` as text without a leading UTF-8 byte order mark."""
    if isinstance(data, (bytes, bytearray)):
        # The files are ASCII. Decoding as UTF-8 turns a byte order mark into
        # the one character U+FEFF, which is stripped below.
        data = data.decode("utf-8", errors="replace")
    return data.lstrip("\ufeff")


def parse_pos(text: str, name: str = "") -> PositionSeries:
    """Parse a PBO ``.pos`` file, format version 1.1.0 or the older 1.0.2.

    Version 1.1.0 has a field description block and a ``*YYYYMMDD`` column
    header; 1.0.2 starts the rows right after the ``NEU Reference position``
    line.

    Raises
    ------
    DecodeError
        If the station id or reference position is missing, or the rows do
        not have the 25 columns of the format.
    """
    header, body = _split_pos(_decoded(text), name)
    station = _required(header, "4-character ID", name)
    reference = _pos_reference(header, name)

    rows, truncated = _read_rows(
        body, _POS_COLUMNS, name, minimum=len(_POS_COLUMNS), used=_POS_USED
    )
    _check_rows(rows, "soln", len(_POS_COLUMNS), name)
    time = _noon_from_mjd(rows["mjd"].to_numpy(dtype=np.float64), name)
    dates = pd.to_datetime(rows["ymd"], format="%Y%m%d", errors="coerce")
    _check_dates(time, dates, "YYYYMMDD", name)
    values = {
        "north": rows["dn"],
        "east": rows["de"],
        "up": rows["du"],
        "sigma_north": rows["sn"],
        "sigma_east": rows["se"],
        "sigma_up": rows["su"],
        "corr_north_east": rows["rne"],
        "corr_north_up": rows["rnu"],
        "corr_east_up": rows["reu"],
    }
    span = _pos_span(header)
    return _series(station, "pos", time, values, reference, truncated, span, header)


def parse_csv(text: str, name: str = "") -> PositionSeries:
    """Parse a GAGE position web-service CSV (format version 1.2.0).

    Values are in millimetres relative to the first epoch; the header's
    ``Offset from source file`` is added back so that they are relative to
    the ``Reference position``. A column whose name gives the unit ``(m)``
    is read as metres. Rows end with a comma, which is ignored.
    Correlation columns, where a ``report=long`` file has them, are read.

    Raises
    ------
    DecodeError
        If the station id, reference position or column header is missing,
        or the header lacks a position or standard deviation column or gives
        it a unit other than mm or m.
    """
    header, body = _split_csv(_decoded(text), name)
    station = _required(header, "4-character ID", name)
    reference = _csv_reference(header, name)
    offset = _csv_offset(header, name)

    columns = [column.strip() for column in body.splitlines()[0].split(",")]
    rows, truncated = _read_csv_rows(body, columns, name)
    time = _csv_noon(rows.iloc[:, 0], name)

    values: dict[str, object] = {}
    for component, axis in (("north", "north"), ("east", "east"), ("up", "vertical")):
        north_east_up, per_metre = _column(rows, columns, axis, name)
        # The offset is in millimetres, whatever unit the column has.
        offset_in_unit = offset[component] * per_metre / 1000
        values[component] = (north_east_up + offset_in_unit) / per_metre
        sigma, per_metre = _column(rows, columns, f"{axis} std", name)
        values[f"sigma_{component}"] = sigma / per_metre
    for pair, words in (
        ("north_east", ("north", "east")),
        ("north_up", ("north", "vertical")),
        ("east_up", ("east", "vertical")),
    ):
        values[f"corr_{pair}"] = _correlation(rows, columns, words, name)

    span = _csv_span(header)
    return _series(station, "csv", time, values, reference, truncated, span, header)


def parse_tenv3(text: str, name: str = "") -> PositionSeries:
    """Parse an NGL ``.tenv3`` file of 20 or 23 columns.

    East, north and up are the sums of the integer reference part and the
    fractional part, taken relative to the first row. The first row's
    latitude, longitude and height (23 columns) are the reference position.

    Raises
    ------
    DecodeError
        If a row has fewer than 20 columns (other than a cut last row).
    """
    body = _decoded(text)
    if body.startswith("site"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
    first_line = body[: body.find("\n") if "\n" in body else len(body)]
    # 20-column files lack latitude, longitude and height; pandas rejects
    # usecols beyond the columns it finds, so name only the columns present.
    names = _TENV3_COLUMNS[: max(20, min(23, len(first_line.split())))]
    rows, truncated = _read_rows(
        body, names, name, minimum=20, used=tuple(c for c in _TENV3_USED if c in names)
    )
    # A row without correlations keeps NaN there; one without sigmas is cut.
    _check_rows(rows, "sig_u", 17, name)
    if rows.empty:
        raise DecodeError(f"{name or 'tenv3 file'} has no rows")

    time = _noon_from_mjd(rows["mjd"].to_numpy(dtype=np.float64), name)
    dates = pd.to_datetime(rows["date"], format="%y%b%d", errors="coerce")
    _check_dates(time, dates, "YYMMMDD", name)
    values: dict[str, object] = {}
    for component, (whole, fraction) in {
        "east": ("e0", "east"),
        "north": ("n0", "north"),
        "up": ("u0", "up"),
    }.items():
        total = rows[whole].to_numpy(np.float64) + rows[fraction].to_numpy(np.float64)
        values[component] = total - total[0]
    values.update(
        sigma_north=rows["sig_n"],
        sigma_east=rows["sig_e"],
        sigma_up=rows["sig_u"],
        corr_north_east=rows["corr_en"],
        corr_north_up=rows["corr_nu"],
        corr_east_up=rows["corr_eu"],
    )

    first = rows.iloc[0]
    reference = ReferencePosition(
        latitude=float(first.get("lat", np.nan)),
        longitude=float(wrap_longitude(float(first.get("lon", np.nan)))),
        height=float(first.get("height", np.nan)),
    )
    station = body.split(None, 1)[0].upper()
    return _series(station, "tenv3", time, values, reference, truncated, None, {})


def _split_pos(text: str, name: str) -> tuple[dict[str, str], str]:
    header: dict[str, str] = {}
    start = 0
    # Walk the header line by line; the rows after it are left to pandas.
    while start < len(text):
        stop = text.find("\n", start)
        stop = len(text) if stop < 0 else stop + 1
        line = text[start:stop]
        if line.startswith("*"):
            start = stop
            break
        if line[:1] == " " and line.strip()[:1].isdigit():
            break
        key, colon, value = line.partition(":")
        if colon and key.strip() not in header:
            header[key.strip()] = value.strip()
        start = stop
    if "NEU Reference position" not in header:
        raise DecodeError(
            f"{name or '.pos file'} has no 'NEU Reference position' header line: "
            "the file is cut short or not a PBO .pos file"
        )
    return header, text[start:]


def _split_csv(text: str, name: str) -> tuple[dict[str, str], str]:
    header: dict[str, str] = {}
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith("Date,"):
            return header, "".join(lines[index:])
        key, comma, value = line.partition(",")
        if comma:
            header[key.strip()] = value.strip()
    raise DecodeError(
        f"{name or 'CSV file'} has no 'Date, North (mm), ...' column header: the "
        "file is cut short or not a GAGE position CSV"
    )


def _required(header: dict[str, str], key: str, name: str) -> str:
    value = header.get(key, "").split()
    if not value:
        raise DecodeError(f"{name or 'position file'} has no {key!r} header line")
    return value[0].upper()


def _numbers(text: str) -> list[float]:
    return [float(value) for value in re.findall(_NUMBER, text)]


def _pos_reference(header: dict[str, str], name: str) -> ReferencePosition:
    neu = _numbers(header["NEU Reference position"].split("(")[0])
    xyz = _numbers(header.get("XYZ Reference position", "").split("(")[0])
    if len(neu) < 3:
        raise DecodeError(
            f"invalid NEU Reference position in {name or '.pos file'}: "
            f"{_quoted(header['NEU Reference position'])}"
        )
    frame = header.get("PBO Station Position Time Series. Reference Frame", "")
    x, y, z = xyz[:3] if len(xyz) >= 3 else (np.nan, np.nan, np.nan)
    return ReferencePosition(
        latitude=neu[0],
        longitude=float(wrap_longitude(neu[1])),
        height=neu[2],
        x=x,
        y=y,
        z=z,
        frame=frame.strip(" :"),
    )


def _pos_span(header: dict[str, str]) -> tuple[np.datetime64, np.datetime64] | None:
    try:
        first, last = (
            np.datetime64(pd.Timestamp(header[key][:8]), "ns")
            for key in ("First Epoch", "Last Epoch")
        )
    except (KeyError, ValueError):
        return None
    noon = np.timedelta64(NOON_NS, "ns")
    return first + noon, last + noon


def _csv_reference(header: dict[str, str], name: str) -> ReferencePosition:
    values = _numbers(header.get("Reference position", ""))
    if len(values) < 3:
        raise DecodeError(
            f"{name or 'CSV file'} has no 'Reference position' header with "
            "latitude, longitude and height"
        )
    return ReferencePosition(
        latitude=values[0],
        longitude=float(wrap_longitude(values[1])),
        height=values[2],
        frame=header.get("Reference Frame", ""),
    )


def _csv_offset(header: dict[str, str], name: str) -> dict[str, float]:
    # "48.54 mm North, 60.55 mm East, -5.06 mm Vertical"; files without the
    # line are taken as relative to the reference position already.
    text = header.get("Offset from source file", "")
    if not text:
        return {"north": 0.0, "east": 0.0, "up": 0.0}
    values = _numbers(text)
    if len(values) != 3:
        raise DecodeError(
            f"invalid 'Offset from source file' in {name or 'CSV file'}: "
            f"{_quoted(text)}"
        )
    # NOTE: the sign (source value = CSV value + offset) follows the header's
    # wording; no matching .pos file was at hand to confirm it.
    return dict(zip(("north", "east", "up"), values, strict=True))


def _csv_span(header: dict[str, str]) -> tuple[np.datetime64, np.datetime64] | None:
    try:
        first, last = (
            np.datetime64(pd.Timestamp(header[key]), "ns")
            for key in ("Begin Date", "End Date")
        )
    except (KeyError, ValueError):
        return None
    noon = np.timedelta64(NOON_NS, "ns")
    return first + noon, last + noon


# Characters of a file's text that a message quotes, and of a parser's
# error, which quotes the text too, so that a damaged field of megabytes does
# not make a warning of megabytes.
_QUOTED_MAX = 80
_ERROR_MAX = 240


def _cut(text: str, limit: int = _ERROR_MAX) -> str:
    """Return ``text``, or its first ``limit`` characters and a count of the
    characters left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def _quoted(text: str) -> str:
    """Return ``text`` quoted as repr() does, cut as :func:`_cut` does."""
    if len(text) <= _QUOTED_MAX:
        return repr(text)
    return f"{text[:_QUOTED_MAX]!r}... ({len(text) - _QUOTED_MAX} more characters)"


def _cut_last_line(body: str) -> tuple[str, str]:
    """Split off a last line that lacks its newline (a possibly cut row)."""
    if not body or body.endswith("\n"):
        return body, ""
    head, _, last = body.rpartition("\n")
    return (head + "\n" if head else ""), last


def _read_rows(
    body: str, names: list[str], name: str, minimum: int, used: tuple[str, ...]
) -> tuple[pd.DataFrame, bool]:
    """Read whitespace-separated rows, dropping a cut last row."""
    complete, last = _cut_last_line(body)
    truncated = False
    if last.strip():
        if len(last.split()) >= minimum:
            complete += last + "\n"
        else:
            truncated = True
    if not complete or complete.isspace():
        return pd.DataFrame({column: np.array([]) for column in used}), truncated

    # With usecols, pandas reads a row with surplus fields shifted instead of
    # failing, so the field counts are checked here.
    _check_field_counts(
        [len(line.split()) for line in complete.splitlines() if line.strip()],
        len(names),
        name,
    )
    text_columns = [column for column in used if column in ("ymd", "soln", "date")]
    types = {column: str if column in text_columns else np.float64 for column in used}
    try:
        rows = _whitespace_table(complete, names, used, types)
    except (ValueError, pd.errors.ParserError) as error:
        located = _unreadable_number(complete, names, used, text_columns, name)
        raise DecodeError(
            located or f"invalid rows in {name or 'position file'}: {_cut(str(error))}"
        ) from None
    return rows, truncated


def _whitespace_table(
    complete: str, names: list[str], used: tuple[str, ...], types: Any
) -> pd.DataFrame:
    """Read the whitespace-separated rows ``complete`` with pandas' C parser."""
    return pd.read_csv(
        io.StringIO(complete),
        sep=r"\s+",
        header=None,
        names=names,
        usecols=list(used),
        dtype=types,
        engine="c",
    )


def _unreadable_number(
    complete: str,
    names: list[str],
    used: tuple[str, ...],
    text_columns: list[str],
    name: str,
) -> str | None:
    """Name the first row and column of ``complete`` whose value is no
    number, or return None where the rows fail for another reason."""
    try:
        rows = _whitespace_table(complete, names, used, str)
    except (ValueError, pd.errors.ParserError):
        return None

    for column in used:
        if column in text_columns:
            continue
        values = rows[column]
        numbers = pd.to_numeric(values, errors="coerce")
        bad = np.flatnonzero((numbers.isna() & values.notna()).to_numpy())
        if bad.size:
            row = int(bad[0])
            return (
                f"invalid data row {row + 1} (after the header) of "
                f"{name or 'position file'}: {_quoted(values.iloc[row])} in column "
                f"{column!r} is not a number; the file is damaged"
            )
    return None


def _check_field_counts(counts: list[int], maximum: int, name: str) -> None:
    """Raise if a row has more than ``maximum`` fields."""
    surplus = np.flatnonzero(np.asarray(counts, dtype=np.int64) > maximum)
    if surplus.size:
        bad = int(surplus[0])
        raise DecodeError(
            f"invalid data row {bad + 1} (after the header) of "
            f"{name or 'position file'}: {counts[bad]} "
            f"fields, expected at most {maximum}; the file is damaged"
        )


def _check_rows(rows: pd.DataFrame, needed: str, minimum: int, name: str) -> None:
    """Raise if a row lacks column ``needed``, which means it is short."""
    if needed not in rows or not rows[needed].isna().any():
        return
    bad = int(np.flatnonzero(rows[needed].isna().to_numpy())[0])
    raise DecodeError(
        f"invalid data row {bad + 1} (after the header) of "
        f"{name or 'position file'}: fewer than "
        f"{minimum} columns"
    )


def _read_csv_rows(
    body: str, columns: list[str], name: str
) -> tuple[pd.DataFrame, bool]:
    """Read the CSV rows after the column header, dropping a cut last row."""
    complete, last = _cut_last_line(body)
    # Complete rows end with a comma, so a last line without it was cut.
    truncated = bool(last.strip()) and not last.rstrip().endswith(",")
    if last.strip() and not truncated:
        complete += last + "\n"
    _check_csv_field_counts(complete, name)

    try:
        rows = pd.read_csv(
            io.StringIO(complete),
            header=0,
            index_col=False,
            skipinitialspace=True,
            dtype={columns[0]: str},
            engine="c",
        )
    except (ValueError, pd.errors.ParserError) as error:
        raise DecodeError(
            f"invalid rows in {name or 'CSV file'}: {_cut(str(error))}"
        ) from None
    rows.columns = [str(column).strip() for column in rows.columns]
    return rows, truncated


def _check_csv_field_counts(body: str, name: str) -> None:
    """Raise if a row's field count differs from the column header's."""
    # pandas shifts a short row left and pads it with NaN, so every row must
    # have the column header's number of commas. Each field, the last one
    # too, is followed by a comma, so commas count fields.
    lines = [line for line in body.splitlines() if line.strip()]
    expected = lines[0].count(",")
    for index, line in enumerate(lines[1:]):
        if line.count(",") != expected:
            raise DecodeError(
                f"invalid data row {index + 1} (after the header) of "
                f"{name or 'CSV file'}: "
                f"{line.count(',')} fields, expected {expected} as in the column "
                "header; the file is damaged"
            )


def _column(
    rows: pd.DataFrame, columns: list[str], words: str, name: str
) -> tuple[np.ndarray, float]:
    """Return the first column whose lower-case name starts with ``words``.

    Also returns the column's units per metre (1000 for ``(mm)``, the
    format's unit, which a name without a unit gets too).

    Raises
    ------
    DecodeError
        If no column matches, or its unit is neither ``mm`` nor ``m``.
    """
    for column in columns:
        label = column.lower().replace("deviation", "").replace(".", "")
        if label.startswith(words) and ("std" in label) == ("std" in words):
            return _numeric(rows, column, name), _units_per_metre(column, name)
    raise DecodeError(
        f"{name or 'CSV file'} has no {words.title()!r} column: "
        f"expected the GAGE columns 'Date, North (mm), East (mm), Vertical (mm), "
        f"North Std. Deviation (mm), ...', got {columns}"
    )


def _units_per_metre(column: str, name: str) -> float:
    unit = re.search(r"\(([^)]*)\)", column)
    text = unit.group(1).strip().lower() if unit else "mm"
    if text not in _UNITS_PER_METRE:
        raise DecodeError(
            f"invalid unit {text!r} of column {column!r} in "
            f"{name or 'CSV file'}: expected mm or m"
        )
    return _UNITS_PER_METRE[text]


def _correlation(
    rows: pd.DataFrame, columns: list[str], words: tuple[str, str], name: str
) -> np.ndarray:
    for column in columns:
        label = column.lower()
        if "corr" in label and all(word in label for word in words):
            return _numeric(rows, column, name)
    return np.full(len(rows), np.nan)


def _numeric(rows: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """Return CSV ``column`` as float64; an empty field or ``NaN`` is NaN."""
    raw = rows[column]
    values = pd.to_numeric(raw, errors="coerce")
    invalid = np.flatnonzero((values.isna() & raw.notna()).to_numpy())
    if invalid.size:
        bad = int(invalid[0])
        raise DecodeError(
            f"invalid data row {bad + 1} (after the header) of "
            f"{name or 'CSV file'}: column {column!r} "
            f"has {_quoted(str(raw.iloc[bad]).strip())}, expected a number"
        )
    return values.to_numpy(np.float64)


def _csv_noon(dates: pd.Series, name: str) -> np.ndarray:
    """Return the noon labels of the CSV date column (``YYYY-MM-DD``)."""
    days = pd.to_datetime(dates.str.strip(), format="%Y-%m-%d", errors="coerce")
    invalid = np.flatnonzero(days.isna().to_numpy())
    if invalid.size:
        bad = int(invalid[0])
        raise DecodeError(
            f"invalid data row {bad + 1} (after the header) of "
            f"{name or 'CSV file'}: date "
            f"{_quoted(str(dates.iloc[bad]))} is not a valid YYYY-MM-DD date"
        )
    return days.to_numpy(dtype="datetime64[ns]") + np.timedelta64(NOON_NS, "ns")


def _noon_from_mjd(mjd: np.ndarray, name: str) -> np.ndarray:
    low, high = _MJD_RANGE
    invalid = np.flatnonzero(~((mjd >= low) & (mjd < high)))
    if invalid.size:
        bad = int(invalid[0])
        raise DecodeError(
            f"invalid data row {bad + 1} (after the header) of "
            f"{name or 'position file'}: MJD {mjd[bad]} "
            f"is not a day between 1900 and 2100 (MJD {low:.0f} to {high:.0f})"
        )
    days = np.floor(mjd).astype(np.int64) - _MJD_UNIX_EPOCH
    return (days * NS_PER_DAY + NOON_NS).astype("datetime64[ns]")


def _check_dates(time: np.ndarray, dates: pd.Series, layout: str, name: str) -> None:
    """Raise if a row's MJD and its calendar date name different days."""
    days = dates.to_numpy(dtype="datetime64[ns]") + np.timedelta64(NOON_NS, "ns")
    mismatch = np.flatnonzero(days != time)
    if mismatch.size:
        bad = int(mismatch[0])
        raise DecodeError(
            f"invalid data row {bad + 1} (after the header) of "
            f"{name or 'position file'}: its MJD is "
            f"{str(time[bad])[:10]} but its {layout} date is "
            f"{str(dates.iloc[bad])[:10]}; the file is damaged"
        )


def _series(
    station: str,
    kind: str,
    time: np.ndarray,
    values: dict[str, object],
    reference: ReferencePosition,
    truncated: bool,
    span: tuple[np.datetime64, np.datetime64] | None,
    header: dict[str, str],
) -> PositionSeries:
    arrays = {
        component: np.asarray(values[component], dtype=np.float64)
        for component in COMPONENTS
    }
    order = np.argsort(time, kind="stable")
    time = time[order]
    # A day written twice keeps its last row.
    keep = np.ones(time.size, dtype=bool)
    keep[:-1] = time[1:] != time[:-1]
    return PositionSeries(
        station=station,
        format=kind,
        time=time[keep],
        values={key: array[order][keep] for key, array in arrays.items()},
        reference=reference,
        truncated=truncated,
        span=span,
        header=header,
    )
