"""Learn channels and sampling rates from record headers, without samples.

A channel-day object starts with a record of its channel, so one small
ranged read gives the rate. A station-day object contains every channel of the
station in an order the archive chose, so its headers are scanned in growing
ranged reads until every exact channel the request names has shown up (or,
for wildcard channels, to the end of the object).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pymseed

from intake_earthscope.codes import SeedId, matches, seed_id_from_sourceid
from intake_earthscope.errors import DecodeError
from intake_earthscope.storage import StorageSpec, read_bytes

__all__ = ["HeaderScan", "scan_headers"]

logger = logging.getLogger(__name__)

FIRST_READ_BYTES = 16 * 1024
LARGEST_READ_BYTES = 8 * 1024 * 1024


@dataclass
class HeaderScan:
    """Channels and header rates found in one object, and the bytes it took."""

    rates: dict[SeedId, float]
    record_length: int | None
    bytes_read: int
    complete: bool
    others: set[str] = field(default_factory=set)


def scan_headers(
    spec: StorageSpec,
    key: str,
    patterns: dict[str, tuple[str, ...]],
    wanted: set[SeedId] | None,
) -> HeaderScan:
    """Scan record headers of ``key`` for channels matching ``patterns``.

    Parameters
    ----------
    spec : StorageSpec
        Where the object lives.
    key : str
        Object key.
    patterns : dict
        Code patterns per kind (``network`` ... ``channel``) to keep.
    wanted : set of SeedId or None
        Stop as soon as all of these have been seen; ``None`` scans to the end.

    Raises
    ------
    ObjectNotFoundError, AccessDeniedError
        From the ranged reads.
    DecodeError
        If the first bytes are not miniSEED.
    """
    scan = HeaderScan(rates={}, record_length=None, bytes_read=0, complete=False)
    pending = b""
    offset = 0
    size = FIRST_READ_BYTES

    while True:
        chunk = read_bytes(spec, key, offset, offset + size)
        scan.bytes_read += len(chunk)
        at_end = len(chunk) < size
        pending = _parse_complete_records(pending + chunk, patterns, scan, key)
        offset += len(chunk)

        if wanted is not None and wanted <= set(scan.rates):
            break
        if at_end:
            scan.complete = True
            break
        size = min(size * 2, LARGEST_READ_BYTES)

    logger.debug("scanned %d header bytes of %s", scan.bytes_read, key)
    return scan


def _parse_complete_records(
    data: bytes, patterns: dict[str, tuple[str, ...]], scan: HeaderScan, key: str
) -> bytes:
    """Parse every whole record in ``data``; return the incomplete remainder."""
    used = 0
    try:
        for record in pymseed.MS3Record.from_buffer(data):
            used += record.reclen
            if scan.record_length is None:
                scan.record_length = record.reclen
            _note_record(record, patterns, scan)
    except pymseed.MiniSEEDError as error:
        if used == 0 and scan.bytes_read <= len(data) and len(data) >= 4096:
            raise DecodeError(f"invalid miniSEED in {key}: {error}") from error
    return data[used:]


def _note_record(
    record: pymseed.MS3Record, patterns: dict[str, tuple[str, ...]], scan: HeaderScan
) -> None:
    try:
        seed_id = seed_id_from_sourceid(record.sourceid)
    except ValueError:
        return
    if seed_id in scan.rates or record.samplecnt == 0 or record.samprate <= 0:
        return
    for kind, kind_patterns in patterns.items():
        if not matches(getattr(seed_id, kind), kind_patterns):
            # Kept to name what the object holds when nothing matches.
            scan.others.add(str(seed_id))
            return
    scan.rates[seed_id] = record.samprate
