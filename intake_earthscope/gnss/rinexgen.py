"""Write synthetic RINEX 2.11 and 3.04 observation text.

For tests, the benchmark and the guide's example: no recording is needed to
exercise the reader. Values are rounded to the RINEX resolution (0.001), a
NaN becomes a blank field, and a satellite whose values are all NaN at an
epoch is left out of that epoch.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["Observations", "rinex2_text", "rinex3_text", "synthetic_observations"]

Observations = dict[str, np.ndarray]


def synthetic_observations(
    start: dt.datetime,
    epochs: int,
    interval: float,
    sv: Sequence[str],
    codes: Sequence[str],
    seed: int = 0,
) -> tuple[np.ndarray, Observations]:
    """Return epoch times (int64 ns) and plausible values per code.

    Pseudoranges (``C``/``P``) are near 2e7 m, phases (``L``) near 1e8
    cycles and signal strengths (``S``) near 45 dB-Hz. About 2 % of the
    values are NaN.
    """
    rng = np.random.default_rng(seed)
    first = np.datetime64(start.replace(tzinfo=None), "ns").astype(np.int64)
    times = first + np.arange(epochs, dtype=np.int64) * round(interval * 1e9)
    base = {"C": 2.0e7, "P": 2.0e7, "L": 1.0e8, "S": 45.0, "D": 0.0}
    values: Observations = {}
    for code in codes:
        scale = base.get(code[0], 1.0e3)
        drift = rng.normal(0, 100.0, (1, len(sv))) * np.arange(epochs)[:, None]
        data = scale + rng.normal(0, scale * 0.01 + 1, (1, len(sv))) + drift * 1e-3
        data = np.round(data, 3)
        data[rng.random(data.shape) < 0.02] = np.nan
        values[code] = data
    return times, values


def rinex2_text(
    marker: str,
    times: np.ndarray,
    sv: Sequence[str],
    values: Mapping[str, np.ndarray],
    interval: float = 30.0,
) -> bytes:
    """Return RINEX 2.11 observation text (mixed systems allowed).

    Epoch lines list 12 satellites each and continue on further lines;
    records hold 5 fields per line.
    """
    codes = list(values)
    lines = [
        _label(
            f"{2.11:9.2f}           OBSERVATION DATA    M (MIXED)",
            "RINEX VERSION / TYPE",
        ),
        *_common_header(marker, interval, times),
    ]
    for offset in range(0, len(codes), 9):
        chunk = codes[offset : offset + 9]
        count = f"{len(codes):6d}" if offset == 0 else " " * 6
        lines.append(
            _label(count + "".join(f"{c:>6}" for c in chunk), "# / TYPES OF OBSERV")
        )
    lines.append(_label("", "END OF HEADER"))

    for row, ns in enumerate(times):
        present = _present(values, codes, row, len(sv))
        stamp = _moment(int(ns))
        head = (
            f" {stamp.year % 100:02d} {stamp.month:2d} {stamp.day:2d} {stamp.hour:2d}"
            f" {stamp.minute:2d}{stamp.second + stamp.microsecond / 1e6:11.7f}  0"
            f"{len(present):3d}"
        )
        ids = [sv[column] for column in present]
        for offset in range(0, max(len(ids), 1), 12):
            prefix = head if offset == 0 else " " * 32
            lines.append(prefix + "".join(ids[offset : offset + 12]))
        for column in present:
            fields = [_field(values[code][row, column], column) for code in codes]
            for offset in range(0, len(fields), 5):
                lines.append("".join(fields[offset : offset + 5]).rstrip())
    return ("\n".join(lines) + "\n").encode("ascii")


def rinex3_text(
    marker: str,
    times: np.ndarray,
    sv: Sequence[str],
    values: Mapping[str, np.ndarray],
    codes_by_system: Mapping[str, Sequence[str]],
    interval: float = 30.0,
) -> bytes:
    """Return RINEX 3.04 observation text; each system lists its own codes."""
    lines = [
        _label(f"{3.04:9.2f}           OBSERVATION DATA    M", "RINEX VERSION / TYPE"),
        *_common_header(marker, interval, times),
    ]
    for system, codes in codes_by_system.items():
        for offset in range(0, len(codes), 13):
            chunk = codes[offset : offset + 13]
            head = f"{system}  {len(codes):3d}" if offset == 0 else " " * 6
            lines.append(
                _label(head + "".join(f" {c}" for c in chunk), "SYS / # / OBS TYPES")
            )
    lines.append(_label("", "END OF HEADER"))

    for row, ns in enumerate(times):
        all_codes = sorted({c for codes in codes_by_system.values() for c in codes})
        present = _present(values, all_codes, row, len(sv))
        stamp = _moment(int(ns))
        lines.append(
            f"> {stamp.year:4d} {stamp.month:02d} {stamp.day:02d} {stamp.hour:02d}"
            f" {stamp.minute:02d}{stamp.second + stamp.microsecond / 1e6:11.7f}  0"
            f"{len(present):3d}"
        )
        for column in present:
            name = sv[column]
            codes = codes_by_system.get(name[0], [])
            fields = [_field(values[code][row, column], column) for code in codes]
            lines.append((name + "".join(fields)).rstrip())
    return ("\n".join(lines) + "\n").encode("ascii")


def _common_header(marker: str, interval: float, times: np.ndarray) -> list[str]:
    first = _moment(int(times[0])) if len(times) else dt.datetime(2000, 1, 1)
    seconds = first.second + first.microsecond / 1e6
    return [
        _label(f"{marker:<60}", "MARKER NAME"),
        _label(
            f"{'5001':<20}{'SYNTHETIC RECEIVER':<20}{'1.0':<20}", "REC # / TYPE / VERS"
        ),
        _label(f"{'7001':<20}{'SYNTHETIC ANTENNA':<20}", "ANT # / TYPE"),
        _label(
            f"{1122459.225:14.4f}{-4763243.007:14.4f}{4076945.547:14.4f}",
            "APPROX POSITION XYZ",
        ),
        _label(f"{interval:10.3f}", "INTERVAL"),
        _label(
            f"{first.year:6d}{first.month:6d}{first.day:6d}{first.hour:6d}"
            f"{first.minute:6d}{seconds:13.7f}     GPS",
            "TIME OF FIRST OBS",
        ),
    ]


def _present(
    values: Mapping[str, np.ndarray], codes: Sequence[str], row: int, count: int
) -> list[int]:
    return [
        column
        for column in range(count)
        if any(
            code in values and np.isfinite(values[code][row, column]) for code in codes
        )
    ]


def _field(value: float, column: int) -> str:
    if not np.isfinite(value):
        return " " * 16
    # A loss-of-lock digit on some satellites and a strength digit on all, so
    # the reader has to skip both.
    lli = "1" if column % 7 == 3 else " "
    return f"{value:14.3f}{lli}{5 + column % 4}"


def _label(text: str, label: str) -> str:
    return f"{text:<60}{label}"


def _moment(ns: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=ns // 1000)
