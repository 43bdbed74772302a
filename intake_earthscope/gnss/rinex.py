"""Decode RINEX 2.11 and RINEX 3 observation files into numpy arrays.

:func:`unpack` undoes the outer compression (gzip, bzip2, Unix compress) and
Hatanaka compression (through the ``crx2rnx`` program of the ``hatanaka``
package), keeping what a stream cut short still yields. :func:`parse` makes
one pass over the lines. It copies each satellite's observation record, padded
to a fixed width, into a preallocated byte buffer that grows geometrically,
and notes the record's epoch and satellite. When the pass ends, every field is
converted at once (:func:`intake_earthscope.gnss.rinexfields.field_values`)
and scattered into one ``(epoch, satellite)`` float64 array per observation
code. No array is concatenated per epoch.

With ``values=False`` the same pass skips the copies and returns only the
header, the epoch times and the satellite ids. The dataset layer runs this
cheaper pass when it opens a request.
"""

from __future__ import annotations

import bz2
import datetime as dt
import functools
import logging
import subprocess
import zlib
from dataclasses import dataclass, field

import numpy as np

from intake_earthscope.errors import DecodeError
from intake_earthscope.gnss.rinexfields import FIELD_BYTES, field_values

logger = logging.getLogger(__name__)

__all__ = [
    "RinexHeader",
    "RinexObservations",
    "TruncatedStreamError",
    "Unpacked",
    "parse",
    "read_rinex",
    "unpack",
]

FIELDS_PER_LINE_V2 = 5
SATELLITES_PER_LINE_V2 = 12
_EPOCH_2000 = np.datetime64("2000-01-01T00:00:00", "ns").astype(np.int64)
# Satellite system letters of RINEX 3 (GPS, GLONASS, Galileo, BeiDou, QZSS,
# NavIC/IRNSS, SBAS). RINEX 2.11 also has T (Transit), and a blank letter is GPS.
SYSTEMS_V3 = frozenset("GRECJIS")
SYSTEMS_V2 = SYSTEMS_V3 | {"T"}


class WrongFormatError(DecodeError):
    """The bytes are not a RINEX observation file."""


class TruncatedStreamError(DecodeError):
    """The compressed stream ends before a first RINEX line could be read."""


@dataclass(frozen=True)
class Unpacked:
    """Plain RINEX text and whether its compressed stream ended early."""

    text: bytes
    truncated: bool = False
    message: str = ""


def unpack(data: bytes) -> Unpacked:
    """Undo gzip, bzip2, Unix compress and Hatanaka compression.

    A compressed stream cut short gives the text decoded before the cut and
    ``truncated=True``; so does a Hatanaka file cut short.

    Raises
    ------
    DecodeError
        If a compressed stream is invalid from its first bytes.
    TruncatedStreamError
        If a compressed stream is cut before the end of the first line (or
        of the Hatanaka header), so nothing before the cut can be read.
    WrongFormatError
        If the text is not a RINEX observation file.
    """
    text, truncated, message = _outer(data)
    if truncated and b"\n" not in text:
        raise TruncatedStreamError(
            f"{message}: it decodes to {len(text)} bytes, "
            "less than the first line of a RINEX file"
        )
    if b"COMPACT RINEX" in text[:80]:
        text, crx_truncated, crx_message = _hatanaka(text, truncated, message)
        truncated = truncated or crx_truncated
        message = message or crx_message
    _check_rinex(text)
    return Unpacked(text, truncated, message)


def _hatanaka(text: bytes, truncated: bool, message: str) -> tuple[bytes, bool, str]:
    try:
        return _crx2rnx(text)
    except DecodeError as error:
        if not truncated:
            raise
        raise TruncatedStreamError(f"{message}, so {error}") from None


def _outer(data: bytes) -> tuple[bytes, bool, str]:
    if data[:2] == b"\x1f\x8b":
        return _stream(zlib.decompressobj(wbits=31), data, "gzip")
    if data[:3] == b"BZh":
        return _stream(bz2.BZ2Decompressor(), data, "bzip2")
    if data[:2] == b"\x1f\x9d":
        return _unix_compress(data)
    return data, False, ""


def _stream(decoder: object, data: bytes, kind: str) -> tuple[bytes, bool, str]:
    try:
        text = decoder.decompress(data)  # type: ignore[attr-defined]
    except (OSError, ValueError, zlib.error) as error:
        raise DecodeError(f"invalid {kind} stream: {error}") from None
    if not decoder.eof:  # type: ignore[attr-defined]
        return text, True, f"{kind} stream ends before its end marker"
    return text, False, ""


def _unix_compress(data: bytes) -> tuple[bytes, bool, str]:
    import ncompress  # type: ignore[import-untyped]

    # NOTE: Unix compress has no end marker, so a .Z file cut short is seen
    # only when the cut falls inside an epoch (truncated) or inside the
    # header (corrupt, because END OF HEADER is missing).
    try:
        return ncompress.decompress(data), False, ""
    except (OSError, ValueError) as error:
        raise DecodeError(f"invalid Unix compress (.Z) stream: {error}") from None


def _crx2rnx(text: bytes) -> tuple[bytes, bool, str]:
    from hatanaka.hatanaka import executables

    # hatanaka.crx2rnx discards the output of a run that fails, so the
    # package's program runs here: the epochs before a cut stay readable.
    program = str(executables.joinpath("crx2rnx"))
    result = subprocess.run([program, "-"], input=text, capture_output=True)
    if result.returncode in (0, 2):
        return result.stdout, False, ""
    message = " ".join(result.stderr.decode("ascii", "replace").split())
    if not result.stdout:
        raise DecodeError(f"Hatanaka decoding failed: {message}")
    return result.stdout, True, f"Hatanaka decoding stopped: {message}"


def _check_rinex(text: bytes) -> None:
    first = text[:81].split(b"\n", 1)[0]
    if b"RINEX VERSION / TYPE" not in first:
        raise WrongFormatError(
            "not a RINEX file: the first line lacks 'RINEX VERSION / TYPE' "
            f"(it starts {first[:40]!r})"
        )
    if first[20:21] not in (b"O", b"o"):
        raise WrongFormatError(
            f"not a RINEX observation file: file type {first[20:21]!r}, expected 'O'"
        )


@dataclass
class RinexHeader:
    """Header facts of a RINEX observation file.

    ``codes`` maps a satellite system letter to its observation codes; a
    RINEX 2 file lists one set under ``"*"`` for every system.
    """

    version: float = 0.0
    system: str = ""
    marker: str = ""
    receiver: str = ""
    antenna: str = ""
    position: tuple[float, float, float] = (np.nan, np.nan, np.nan)
    interval: float = np.nan
    codes: dict[str, list[str]] = field(default_factory=dict)

    def codes_of(self, system: str) -> list[str]:
        """Return the observation codes of ``system`` (a satellite letter)."""
        return self.codes.get(system) or self.codes.get("*", [])

    def attrs(self) -> dict[str, object]:
        """Return the header facts as netCDF-safe attributes."""
        return {
            "rinex_version": self.version,
            "marker": self.marker,
            "receiver": self.receiver,
            "antenna": self.antenna,
            "approx_position_xyz": list(self.position),
            "interval": self.interval,
        }


@dataclass
class RinexObservations:
    """Result of :func:`parse`.

    Attributes
    ----------
    header : RinexHeader
    times : numpy.ndarray
        Epoch times, int64 nanoseconds since 1970 (GNSS time scale of the
        file, no leap seconds applied).
    sv : list of str
        Satellite ids such as ``"G05"``, in order of first appearance.
    values : dict of str to numpy.ndarray
        One ``(epoch, sv)`` float64 array per observation code, NaN where
        missing; empty when parsed with ``values=False``.
    truncated : bool
        True when the text ends inside an epoch (that epoch is dropped) or
        the compressed stream was cut short.
    corrupt : bool
        True when the pass stopped at an unreadable epoch line or satellite
        id (the epochs before it are kept), when the header has no END OF
        HEADER line, or when a RINEX 3 body has satellites of a system that
        the header gives no codes for (their values are left out).
    message : str
        Reason the read ended early, if it did.
    indicators : dict of str to numpy.ndarray
        With ``indicators=True``: ``"{code}_lli"`` (loss of lock) and
        ``"{code}_ssi"`` (signal strength) digits per ``(epoch, sv)``, int8,
        -1 where blank.
    header_complete : bool
        False when the text ends before END OF HEADER; no epoch is read then.
    codes : tuple of str
        Every observation code the file declares, sorted, also the codes that
        an event (flag 3 or 4) later replaces in ``header.codes``.
    """

    header: RinexHeader
    times: np.ndarray
    sv: list[str]
    values: dict[str, np.ndarray]
    truncated: bool = False
    message: str = ""
    corrupt: bool = False
    indicators: dict[str, np.ndarray] = field(default_factory=dict)
    header_complete: bool = True
    codes: tuple[str, ...] = ()


def read_rinex(
    data: bytes, values: bool = True, indicators: bool = False
) -> RinexObservations:
    """Unpack and parse one RINEX observation file.

    Raises
    ------
    DecodeError
        If the bytes are not RINEX observations, cannot be decompressed or
        have a malformed header line.
    """
    unpacked = unpack(data)
    result = parse(unpacked.text, values=values, indicators=indicators)
    if unpacked.truncated:
        result.truncated = True
        result.message = unpacked.message
    if unpacked.truncated and not result.header_complete:
        # The cut, not a malformed file, is why END OF HEADER is missing.
        result.corrupt = False
        result.message = f"{unpacked.message} inside the RINEX header"
    return result


def parse(
    text: bytes, values: bool = True, indicators: bool = False
) -> RinexObservations:
    """Parse RINEX observation text in one pass over its lines.

    Parameters
    ----------
    text : bytes
        Plain RINEX 2.11 or 3.0x observation text.
    values : bool
        False reads epoch times and satellite ids only.
    indicators : bool
        True also returns the LLI and SSI digits of every field.

    Raises
    ------
    WrongFormatError
        If the text is not RINEX observations.
    DecodeError
        If a header line is malformed (a missing or non-numeric count, say),
        or the header declares no observation codes.
    """
    _check_rinex(text)
    lines = text.splitlines()
    header = RinexHeader()
    body = _read_header(lines, 0, header)
    if body is not None and not any(header.codes.values()):
        label = "SYS / # / OBS TYPES" if header.version >= 3 else "# / TYPES OF OBSERV"
        raise DecodeError(
            f"invalid RINEX header: no {label!r} line before END OF HEADER, so "
            "the observation fields cannot be assigned to codes"
        )
    parser = _BodyParser(header, lines, values)
    parser.indicators = indicators
    if body is None:
        parser.corrupt = True
        parser.message = (
            f"missing END OF HEADER line in the {len(lines)} lines of the file: "
            "the file is cut inside its header or is not valid RINEX"
        )
    else:
        parser.run(body)
    result = parser.result()
    result.header_complete = body is not None
    result.codes = tuple(sorted(parser.declared_codes()))
    return result


def _read_header(
    lines: list[bytes], start: int, header: RinexHeader, stop: int | None = None
) -> int | None:
    """Apply header lines from ``start`` to END OF HEADER (or ``stop``).

    Returns the index of the line after END OF HEADER, or None when the
    lines end (or reach ``stop``) before it.

    Raises
    ------
    DecodeError
        If a header line is malformed.
    """
    pending: list[str] = []
    stop = len(lines) if stop is None else min(stop, len(lines))
    for index in range(start, stop):
        line = lines[index].decode("ascii", "replace")
        label = line[60:].strip()
        if label == "END OF HEADER":
            return index + 1
        try:
            _apply_header_line(header, line, label, pending)
        except ValueError as error:
            raise DecodeError(
                f"invalid {label!r} header line {index + 1} "
                f"({line[:60].rstrip()!r}): {error}"
            ) from None
    return None


def _apply_header_line(
    header: RinexHeader, line: str, label: str, pending: list[str]
) -> None:
    if label == "RINEX VERSION / TYPE":
        header.version = float(line[:9])
        header.system = line[40:41].strip() or "G"
    elif label == "MARKER NAME":
        header.marker = line[:60].strip()
    elif label == "REC # / TYPE / VERS":
        header.receiver = line[20:40].strip()
    elif label == "ANT # / TYPE":
        header.antenna = line[20:40].strip()
    elif label == "APPROX POSITION XYZ":
        parts = line[:42].split()
        if len(parts) == 3:
            header.position = (float(parts[0]), float(parts[1]), float(parts[2]))
    elif label == "INTERVAL":
        header.interval = float(line[:10])
    elif label == "# / TYPES OF OBSERV":
        _types_v2(header, line, pending)
    elif label == "SYS / # / OBS TYPES":
        _types_v3(header, line, pending)


def _types_v2(header: RinexHeader, line: str, pending: list[str]) -> None:
    # Up to 9 codes per line; continuation lines leave the count blank.
    if line[:6].strip():
        pending.clear()
        pending.append(str(_count(line[:6])))
    if not pending:
        raise ValueError("the number of observation types is missing")
    count = int(pending[0])
    codes = [line[6 + 6 * i : 12 + 6 * i].strip() for i in range(9)]
    pending.extend(code for code in codes if code)
    header.codes["*"] = pending[1 : 1 + count]


def _types_v3(header: RinexHeader, line: str, pending: list[str]) -> None:
    # Up to 13 codes per line; continuation lines leave the system blank.
    if line[:1].strip():
        if line[0] not in SYSTEMS_V3:
            raise ValueError(f"unknown satellite system {line[0]!r}")
        pending.clear()
        pending.extend([line[0], str(_count(line[3:6]))])
    if not pending:
        raise ValueError("the satellite system and number of types are missing")
    system, count = pending[0], int(pending[1])
    codes = [line[7 + 4 * i : 10 + 4 * i].strip() for i in range(13)]
    pending.extend(code for code in codes if code)
    header.codes[system] = pending[2 : 2 + count]


def _count(text: str) -> int:
    if not text.strip():
        raise ValueError("the number of observation types is missing")
    count = int(text)
    if count < 0:
        raise ValueError(f"negative number of observation types {count}")
    return count


class _Records:
    """Fixed-width observation records of one system, in a growing buffer.

    A record is ``width`` bytes: 16 per field, padded with spaces (RINEX 2
    records keep their 80-byte lines, so ``width`` may exceed the fields).
    """

    def __init__(self, codes: list[str], width: int, capacity: int) -> None:
        self.codes = codes
        self.width = width
        self.buffer = np.full(capacity * width, 32, dtype=np.uint8)
        self.epoch = np.empty(capacity, dtype=np.int64)
        self.sv = np.empty(capacity, dtype=np.int64)
        self.count = 0

    def add(self, record: bytes, epoch: int, sv: int) -> None:
        """Append one record (cut or padded to the width)."""
        if self.count == self.epoch.size:
            self._grow(self.count + 1)
        start = self.count * self.width
        size = min(len(record), self.width)
        self.buffer[start : start + size] = np.frombuffer(record, np.uint8, size)
        self.epoch[self.count] = epoch
        self.sv[self.count] = sv
        self.count += 1

    def add_block(self, block: bytes, epoch: int, columns: np.ndarray) -> None:
        """Append the records of one epoch, ``width`` bytes each."""
        stop = self.count + columns.size
        if stop > self.epoch.size:
            self._grow(stop)
        start = self.count * self.width
        self.buffer[start : start + len(block)] = np.frombuffer(block, np.uint8)
        self.epoch[self.count : stop] = epoch
        self.sv[self.count : stop] = columns
        self.count = stop

    def _cells(self) -> np.ndarray:
        """Return a view of the fields of the codes, shape (record, code, 16)."""
        cells = self.buffer[: self.count * self.width].reshape(
            self.count, self.width // FIELD_BYTES, FIELD_BYTES
        )
        return cells[:, : len(self.codes)]

    def _grow(self, needed: int) -> None:
        capacity = max(2 * self.epoch.size, needed)
        buffer = np.full(capacity * self.width, 32, dtype=np.uint8)
        buffer[: self.buffer.size] = self.buffer
        self.buffer = buffer
        self.epoch = np.resize(self.epoch, capacity)
        self.sv = np.resize(self.sv, capacity)

    def fields(self) -> np.ndarray:
        """Return the float value of every field, shape (record, code)."""
        return field_values(self._cells())

    def digits(self, column: int) -> np.ndarray:
        """Return the digit in ``column`` of every field (14: LLI, 15: SSI).

        Shape (record, code), int8, -1 where the column is blank.
        """
        codes = self._cells()[..., column].astype(np.int8) - 48
        codes[(codes < 0) | (codes > 9)] = -1
        return codes


class _BodyParser:
    """One pass over the body lines of a RINEX 2 or 3 observation file."""

    def __init__(self, header: RinexHeader, lines: list[bytes], values: bool) -> None:
        self.header = header
        self.lines = lines
        self.values = values
        self.version3 = header.version >= 3
        capacity = max(16, len(lines) // 2)
        self.capacity = capacity
        self.times = np.empty(max(16, capacity // 8), dtype=np.int64)
        self.epochs = 0
        self.sv_index: dict[str, int] = {}
        self.sv_names: list[str] = []
        self.raw_index: dict[bytes, int] = {}
        self.epoch_columns: dict[bytes, np.ndarray] = {}
        self.records: dict[str, _Records] = {}
        # Code lists that events replaced; their epochs still hold values.
        self.replaced_codes: set[str] = set()
        # Systems of satellites met in the body without a code list.
        self.undeclared: set[str] = set()
        self.indicators = False
        self.truncated = False
        self.corrupt = False
        self.message = ""

    def run(self, index: int) -> None:
        lines = self.lines
        while index < len(lines):
            line = lines[index]
            if not line.strip():
                index += 1
                continue
            try:
                index = self._epoch(index, line)
            except _Stop as stop:
                self.truncated = isinstance(stop, _Cut)
                self.corrupt = isinstance(stop, _BadLine)
                self.message = str(stop)
                return

    def _epoch(self, index: int, line: bytes) -> int:
        if self.version3:
            if line[:1] != b">":
                raise _BadLine(f"line {index + 1} is not an epoch line: {line[:40]!r}")
            flag, count = _int(line[31:32], 0), _int(line[32:35], -1)
        else:
            flag, count = _int(line[28:29], 0), _int(line[29:32], -1)
        if count < 0:
            raise _BadLine(f"line {index + 1} is not an epoch line: {line[:40]!r}")

        if flag > 1:
            return self._special(index, flag, count)
        if self.version3:
            return self._epoch_v3(index, line, count)
        return self._epoch_v2(index, line, count)

    def _special(self, index: int, flag: int, count: int) -> int:
        # Flags 2-5 are followed by `count` header-type lines; flag 6 by
        # `count` cycle-slip records, which are not observations.
        end = index + 1 + count
        if flag in (3, 4):
            self.replaced_codes.update(self._current_codes())
            try:
                _read_header(self.lines, index + 1, self.header, end)
            except DecodeError as error:
                raise _BadLine(f"event at line {index + 1}: {error}") from None
        if flag == 6 and not self.version3:
            per_sv = self._lines_per_sv_v2()
            sv_lines = (count - 1) // SATELLITES_PER_LINE_V2
            end = index + 1 + sv_lines + count * per_sv
        if end > len(self.lines):
            raise _Cut(f"the text ends inside the event at line {index + 1}")
        return end

    def _epoch_v2(self, index: int, line: bytes, count: int) -> int:
        sv_lines = (count - 1) // SATELLITES_PER_LINE_V2 if count else 0
        per_sv = self._lines_per_sv_v2()
        end = index + 1 + sv_lines + count * per_sv
        if end > len(self.lines):
            raise _Cut(f"the text ends inside the epoch at line {index + 1}")

        ids = [line[32:68]]
        ids.extend(self.lines[index + 1 + k][32:68] for k in range(sv_lines))
        columns = self._columns(b"".join(ids), count, index)
        epoch = self._add_time(_time_v2(line, index))

        if self.values and count:
            first = index + 1 + sv_lines
            block = _padded_format(end - first) % tuple(self.lines[first:end])
            self._system_records("*").add_block(block, epoch, columns)
        return end

    def _epoch_v3(self, index: int, line: bytes, count: int) -> int:
        end = index + 1 + count
        if end > len(self.lines):
            raise _Cut(f"the text ends inside the epoch at line {index + 1}")
        time = _time_v3(line, index)
        rows = range(index + 1, end)
        self._check_ids([self.lines[row][:3] for row in rows], index)
        epoch = self._add_time(time)
        for row in rows:
            data = self.lines[row]
            column = self._sv(data[:3])
            if self.values:
                records = self._system_records(self.sv_names[column][0])
                records.add(data[3:], epoch, column)
        return end

    def _current_codes(self) -> set[str]:
        return {code for codes in self.header.codes.values() for code in codes}

    def declared_codes(self) -> set[str]:
        """Return the codes of the header and of every event that changed them."""
        return self.replaced_codes | self._current_codes()

    def _lines_per_sv_v2(self) -> int:
        count = len(self.header.codes_of("*"))
        return max(1, -(-count // FIELDS_PER_LINE_V2))

    def _system_records(self, system: str) -> _Records:
        records = self.records.get(system)
        if records is None or records.codes != self.header.codes_of(system):
            # A flag-4 event may change the code list; keep the old records
            # under a private key and start a new set.
            if records is not None:
                self.records[f"{system}#{len(self.records)}"] = records
            codes = self.header.codes_of(system)
            if self.version3:
                width = FIELD_BYTES * len(codes)
                capacity = max(16, self.capacity // 4)
            else:
                width = 80 * self._lines_per_sv_v2()
                capacity = self.capacity
            records = _Records(codes, width, capacity)
            self.records[system] = records
        return records

    def _check_ids(self, raws: list[bytes], index: int) -> None:
        # Every id of an epoch is checked before any is registered, so an
        # epoch that stops at an invalid id adds no satellite to the axis.
        for raw in raws:
            if raw in self.raw_index:
                continue
            try:
                _sv_name(raw, self.version3)
            except _BadLine as error:
                raise _BadLine(f"epoch at line {index + 1}: {error}") from None

    def _sv(self, raw: bytes) -> int:
        column = self.raw_index.get(raw)
        if column is None:
            name = _sv_name(raw, self.version3)
            column = self.sv_index.get(name)
            if column is None:
                column = self.sv_index[name] = len(self.sv_names)
                self.sv_names.append(name)
                if self.version3 and not self.header.codes_of(name[0]):
                    self.undeclared.add(name[0])
            self.raw_index[raw] = column
        return column

    def _columns(self, ids: bytes, count: int, index: int) -> np.ndarray:
        # Consecutive epochs mostly list the same satellites: look the whole
        # id text up once.
        key = ids[: 3 * count]
        columns = self.epoch_columns.get(key)
        if columns is None:
            raws = [key[3 * k : 3 * k + 3] for k in range(count)]
            self._check_ids(raws, index)
            columns = np.array([self._sv(raw) for raw in raws], dtype=np.int64)
            self.epoch_columns[key] = columns
        return columns

    def _add_time(self, ns: int) -> int:
        if self.epochs == self.times.size:
            self.times = np.resize(self.times, 2 * self.times.size)
        self.times[self.epochs] = ns
        self.epochs += 1
        return self.epochs - 1

    def result(self) -> RinexObservations:
        if self.undeclared and not (self.corrupt or self.truncated):
            # The epochs stay, but the satellites of these systems have values
            # that no code names, so the file is damaged.
            systems = "".join(sorted(self.undeclared))
            self.corrupt = True
            self.message = (
                f"the header has no 'SYS / # / OBS TYPES' line for the systems "
                f"{systems!r} of satellites in the body; their values are left out"
            )
        times = self.times[: self.epochs].copy()
        sv = list(self.sv_names)
        shape = (len(times), len(sv))
        values: dict[str, np.ndarray] = {}
        indicators: dict[str, np.ndarray] = {}
        for records in self.records.values():
            if records.count == 0:
                continue
            rows = records.epoch[: records.count]
            columns = records.sv[: records.count]
            fields = records.fields()
            for position, code in enumerate(records.codes):
                if code not in values:
                    values[code] = np.full(shape, np.nan)
                values[code][rows, columns] = fields[:, position]
            if not self.indicators:
                continue
            for suffix, column in (("lli", 14), ("ssi", 15)):
                digits = records.digits(column)
                for position, code in enumerate(records.codes):
                    name = f"{code}_{suffix}"
                    if name not in indicators:
                        indicators[name] = np.full(shape, -1, dtype=np.int8)
                    indicators[name][rows, columns] = digits[:, position]
        return RinexObservations(
            self.header,
            times,
            sv,
            values,
            self.truncated,
            self.message,
            self.corrupt,
            indicators,
        )


@functools.lru_cache(maxsize=64)
def _padded_format(lines: int) -> bytes:
    """Return a format that pads or cuts each of ``lines`` lines to 80 bytes."""
    return b"%-80.80s" * lines


class _Stop(Exception):
    """The pass stops here; the epochs before stay."""


class _Cut(_Stop):
    """The body ends inside an epoch or an event."""


class _BadLine(_Stop):
    """A line that has to be an epoch line or a satellite id is unreadable."""


def _int(text: bytes, default: int) -> int:
    text = text.strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        return -1


def _sv_name(raw: bytes, version3: bool) -> str:
    text = raw.decode("ascii", "replace")
    number = text[1:3].strip()
    if len(text) < 3 or not number.isdigit():
        raise _BadLine(f"invalid satellite id {text!r}")
    system = text[0]
    if not system.strip() and not version3:
        system = "G"
    if system not in (SYSTEMS_V3 if version3 else SYSTEMS_V2):
        raise _BadLine(
            f"invalid satellite id {text!r}: the system letter is not one of "
            f"{''.join(sorted(SYSTEMS_V3 if version3 else SYSTEMS_V2))}"
        )
    return f"{system}{int(number):02d}"


def _time_v2(line: bytes, index: int) -> int:
    try:
        year = int(line[1:3])
        year += 2000 if year < 80 else 1900
        return _ns(year, line[4:6], line[7:9], line[10:12], line[13:15], line[15:26])
    except ValueError:
        raise _BadLine(f"line {index + 1} has an unreadable epoch time") from None


def _time_v3(line: bytes, index: int) -> int:
    try:
        return _ns(
            int(line[2:6]),
            line[7:9],
            line[10:12],
            line[13:15],
            line[16:18],
            line[18:29],
        )
    except ValueError:
        raise _BadLine(f"line {index + 1} has an unreadable epoch time") from None


def _ns(
    year: int, month: bytes, day: bytes, hour: bytes, minute: bytes, second: bytes
) -> int:
    days = (dt.date(year, int(month), int(day)) - dt.date(2000, 1, 1)).days
    whole = (days * 86400 + int(hour) * 3600 + int(minute) * 60) * 10**9
    return int(_EPOCH_2000) + whole + round(float(second) * 1e9)
