"""Synthetic miniSEED for tests, written with pymseed.

A miniSEED object is a concatenation of records. :func:`segment_bytes`
writes the records of one contiguous run of samples, :func:`join` and
:func:`interleave` combine runs into one object, and :func:`records` splits
an object into its records.

The builders at the end write the objects that show faults found in real
archives. Each returns a :class:`SyntheticObject`: the bytes, the segments
they were written from, and facts specific to the fault. Sample values are
the sample's index on its channel's time grid plus a per-channel offset, so
a decoded value shows where the sample belongs.

miniSEED 2 limits (libmseed 3.5.4, as bundled with pymseed 1.0.1):

- Record start times have microsecond resolution.
- libmseed stores the sample rate as a 16-bit factor and multiplier and adds
  Blockette 100 (a float32 rate) only when these are more than 0.0001 Hz
  off, so it would write 100.000008 Hz as 100 Hz. :func:`segment_bytes`
  forces a Blockette 100 for such rates, and decoders then report the
  float32 value (100.00000762939453 Hz). :func:`written_rate` returns it.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pymseed
from pymseed import DataEncoding

NS_PER_S = 1_000_000_000
DAY_NS = 86_400 * NS_PER_S
DAY_START = "2006-01-01T00:00:00Z"

Encoding = Literal["steim2", "int32", "float64"]

# Per encoding: libmseed code, pymseed sample type and numpy dtype.
_ENCODINGS: dict[str, tuple[DataEncoding, str, type[np.generic]]] = {
    "steim2": (DataEncoding.STEIM2, "i", np.int32),
    "int32": (DataEncoding.INT32, "i", np.int32),
    "float64": (DataEncoding.FLOAT64, "d", np.float64),
}

# A 64-byte Steim-2 frame stores at most 105 samples, more than 64 bytes of
# any other encoding written here, so this bounds the samples of a record.
_MAX_SAMPLES_PER_64_BYTES = 105

# libmseed writes Blockette 100 when the rate is more than 0.0001 Hz from
# its factor/multiplier. Packing at rate + 0.0015 Hz makes it write one, and
# _set_blockette_100() then replaces the value.
_CARRIER_OFFSET_HZ = 0.0015

# Fixed-header offsets of miniSEED 2, written big-endian by libmseed.
_V2_RATE_FIELDS = slice(32, 36)
_V2_FIRST_BLOCKETTE = 46
_MAX_BLOCKETTES = 64

# Added to the values of a record that differs from the one it overlaps.
_DIFFERING_OFFSET = 1_000_000

# Values of channel k of a multi-channel object start at k * this.
_CHANNEL_VALUE_STEP = 100_000_000


@dataclass(frozen=True, eq=False)
class Segment:
    """One contiguous run of samples of one channel, as written.

    Attributes
    ----------
    seed_id : str
        ``NET.STA.LOC.CHA``.
    start_ns : int
        Time of the first sample, nanoseconds since 1970-01-01 UTC.
    rate : float
        Sample rate in Hz that decoders report for the records' headers.
    values : numpy.ndarray
        The samples.
    clock_rate : float or None
        Rate used to time each record, when it differs from ``rate``.
    """

    seed_id: str
    start_ns: int
    rate: float
    values: np.ndarray
    clock_rate: float | None = None

    @property
    def source_id(self) -> str:
        """FDSN source identifier, ``FDSN:NET_STA_LOC_B_S_SS``."""
        return fdsn_source_id(self.seed_id)

    @property
    def end_ns(self) -> int:
        """Time of the last sample."""
        return int(self.times_ns()[-1])

    def times_ns(self) -> np.ndarray:
        """Return the true time of every sample, in nanoseconds.

        Times follow ``clock_rate`` when it is set, because the records of
        such a segment are timed by the clock rather than the header rate.
        """
        step_ns = NS_PER_S / (self.clock_rate or self.rate)
        offsets = np.round(np.arange(len(self.values)) * step_ns)
        return self.start_ns + offsets.astype(np.int64)


@dataclass(frozen=True, eq=False)
class SyntheticObject:
    """Bytes of one synthetic miniSEED object and what they contain.

    Attributes
    ----------
    data : bytes
        The object, a concatenation of records.
    segments : tuple of Segment
        The runs of samples the records were written from.
    facts : dict
        Expectations specific to the fault the object shows, described by
        the builder that made it.
    """

    data: bytes
    segments: tuple[Segment, ...]
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def seed_ids(self) -> list[str]:
        """Sorted ``NET.STA.LOC.CHA`` of the channels in the object."""
        return sorted({segment.seed_id for segment in self.segments})

    def samples(self, seed_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Return times (ns) and values of one channel, segment after segment."""
        chosen = [s for s in self.segments if s.seed_id == seed_id]
        if not chosen:
            raise KeyError(f"no segment of {seed_id!r}; channels: {self.seed_ids}")

        times = np.concatenate([segment.times_ns() for segment in chosen])
        values = np.concatenate([segment.values for segment in chosen])
        return times, values


def fdsn_source_id(seed_id: str) -> str:
    """Convert ``NET.STA.LOC.CHA`` to an FDSN source identifier.

    Examples
    --------
    >>> fdsn_source_id("XX.STA.00.BHZ")
    'FDSN:XX_STA_00_B_H_Z'
    >>> fdsn_source_id("XX.STA..BHZ")
    'FDSN:XX_STA__B_H_Z'
    """
    codes = seed_id.split(".")
    if len(codes) != 4:
        raise ValueError(
            f"seed_id must have the form NET.STA.LOC.CHA with an empty LOC "
            f"allowed; got {seed_id!r}"
        )
    return pymseed.nslc2sourceid(*codes)


def nstime(value: str | int) -> int:
    """Convert an ISO 8601 time string or nanoseconds to nanoseconds."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"time must be str or int nanoseconds; got {value!r}")
    if isinstance(value, str):
        return pymseed.timestr2nstime(value)
    return value


def segment_bytes(
    seed_id: str,
    start: str | int,
    values: np.ndarray | Sequence[float],
    rate: float,
    *,
    record_length: int = 512,
    encoding: Encoding = "steim2",
    version: int = 2,
    pubversion: int = 1,
    clock_rate: float | None = None,
) -> bytes:
    """Write one contiguous run of samples as miniSEED records.

    Parameters
    ----------
    seed_id : str
        ``NET.STA.LOC.CHA``, for example ``"XX.STA.00.BHZ"`` or, with a
        blank location, ``"XX.STA..BHZ"``.
    start : str or int
        Time of the first sample: ISO 8601 (``"2006-01-01T00:00:00Z"``) or
        nanoseconds since 1970-01-01 UTC.
    values : array_like
        Samples. ``"steim2"`` and ``"int32"`` require integers in the int32
        range.
    rate : float
        Sample rate in Hz written to the headers, greater than 0.
    record_length : int
        Maximum record length in bytes; for version 2 a power of 2 from 128
        to 65536.
    encoding : {"steim2", "int32", "float64"}
        Data encoding.
    version : {2, 3}
        miniSEED format version.
    pubversion : int
        Publication version. Version 2 stores it as the quality code
        (1 is ``R``, 2 ``D``, 3 ``Q``, 4 ``M``).
    clock_rate : float, optional
        Rate that times the records: record k starts at ``start + n_k /
        clock_rate``, where n_k counts the samples before it, while the
        headers still carry ``rate``. This emulates a digitizer whose clock is
        right while its header rate is off. By default records are timed
        by ``rate``.

    Returns
    -------
    bytes
        The records, concatenated.

    Raises
    ------
    ValueError
        If an argument is invalid, for example a fractional value for an
        integer encoding.
    pymseed.MiniSEEDError
        If libmseed cannot pack the records, for example because
        ``record_length`` is not a power of 2 for version 2.
    """
    source_id = fdsn_source_id(seed_id)
    start_ns = nstime(start)
    samples = _samples_for(values, encoding)
    _check_rate("rate", rate)
    if clock_rate is not None:
        _check_rate("clock_rate", clock_rate)
    if version not in (2, 3):
        raise ValueError(f"version must be 2 or 3; got {version!r}")

    packer = _Packer(source_id, encoding, record_length, version, pubversion)
    if clock_rate is None and not _needs_blockette_100(rate, version):
        return b"".join(packer.pack(start_ns, samples, rate))
    return packer.pack_each_record(start_ns, samples, rate, clock_rate or rate)


def written_rate(rate: float, version: int = 2) -> float:
    """Return the sample rate decoders report for records written at ``rate``.

    This is ``rate`` itself, except for miniSEED 2 rates that need a
    Blockette 100, which stores a float32.
    """
    if _needs_blockette_100(rate, version):
        return float(np.float32(rate))
    return rate


def join(*parts: bytes) -> bytes:
    """Concatenate miniSEED objects or records into one object."""
    return b"".join(parts)


def records(data: bytes) -> list[bytes]:
    """Split a miniSEED object into its records.

    Raises
    ------
    ValueError
        If bytes follow the last complete record.
    pymseed.MiniSEEDError
        If the data is not miniSEED.
    """
    return [data[offset : offset + length] for _, offset, length in _record_spans(data)]


def interleave(*parts: bytes) -> bytes:
    """Merge the records of several objects into one, ordered by start time.

    Records that start at the same time keep the order of ``parts`` and, within
    a part, their original order. This emulates a station-day object in which
    the records of all channels are sorted by time.
    """
    keyed = []
    for part_index, part in enumerate(parts):
        for position, (start_ns, offset, length) in enumerate(_record_spans(part)):
            keyed.append(
                ((start_ns, part_index, position), part[offset : offset + length])
            )

    keyed.sort(key=lambda item: item[0])
    return b"".join(record for _, record in keyed)


# Builders of objects that show field faults.


def rate_jitter(
    *,
    rates: Sequence[float] = (100.0, 100.000008, 100.0),
    segment_seconds: float = 30.0,
    seed_id: str = "XX.STA.00.HHZ",
    start: str | int = DAY_START,
    version: int = 2,
) -> SyntheticObject:
    """Build contiguous segments of one channel whose header rates differ slightly.

    Segment k starts at ``start + k * segment_seconds`` and contains
    ``segment_seconds * rates[0]`` samples, so all samples lie on the grid of
    the first rate, while each segment's headers carry ``rates[k]``.

    Facts: ``nominal_rate`` (``rates[0]``) and ``header_rates`` (as decoders
    report them).
    """
    start_ns = nstime(start)
    nominal = rates[0]
    count = round(segment_seconds * nominal)

    parts, segments = [], []
    for k, rate in enumerate(rates):
        segment_start = start_ns + round(k * segment_seconds * NS_PER_S)
        values = _ramp(k * count, count)
        data, segment = _write(seed_id, segment_start, values, rate, version=version)
        parts.append(data)
        segments.append(segment)

    facts = {
        "nominal_rate": nominal,
        "header_rates": tuple(segment.rate for segment in segments),
    }
    return SyntheticObject(join(*parts), tuple(segments), facts)


def drifting_rate_day(
    *,
    header_rate: float = 199.999938,
    true_rate: float = 200.0,
    seconds: float = 86_400.0,
    seed_id: str = "XX.STA.00.HHZ",
    start: str | int = DAY_START,
    version: int = 2,
) -> SyntheticObject:
    """Build a day whose header rate is off while its record times are right.

    Every record starts on the ``true_rate`` grid, as a GPS-timed digitizer
    stamps it, and every header carries ``header_rate``. A reader that times
    all samples from the first record and the header rate ends up
    ``end_drift_ns`` late at the last sample (about 26 ms for a day of 200 Hz
    data with header rate 199.999938).

    Facts: ``true_rate``, ``header_rate`` (as decoders report it) and
    ``end_drift_ns``.
    """
    start_ns = nstime(start)
    count = round(seconds * true_rate)
    data, segment = _write(
        seed_id,
        start_ns,
        _ramp(0, count),
        header_rate,
        clock_rate=true_rate,
        version=version,
    )

    step_error_ns = NS_PER_S / segment.rate - NS_PER_S / true_rate
    facts = {
        "true_rate": true_rate,
        "header_rate": segment.rate,
        "end_drift_ns": round((count - 1) * step_error_ns),
    }
    return SyntheticObject(data, (segment,), facts)


def gap(
    *,
    seconds: float = 10.0,
    gap_seconds: float = 10.0,
    rate: float = 100.0,
    seed_id: str = "XX.STA.00.HHZ",
    start: str | int = DAY_START,
    version: int = 2,
) -> SyntheticObject:
    """Build two segments of ``seconds`` each, ``gap_seconds`` apart.

    Facts: ``gap_start_ns`` (time of the first missing sample),
    ``gap_end_ns`` (first sample after the gap) and ``missing_samples``.
    """
    start_ns = nstime(start)
    count = round(seconds * rate)
    missing = round(gap_seconds * rate)
    second_start = start_ns + round((count + missing) * NS_PER_S / rate)

    first_data, first = _write(
        seed_id, start_ns, _ramp(0, count), rate, version=version
    )
    second_data, second = _write(
        seed_id, second_start, _ramp(count + missing, count), rate, version=version
    )

    facts = {
        "gap_start_ns": start_ns + round(count * NS_PER_S / rate),
        "gap_end_ns": second_start,
        "missing_samples": missing,
    }
    return SyntheticObject(join(first_data, second_data), (first, second), facts)


def off_grid(
    *,
    offset_samples: float = 0.3,
    seconds: float = 10.0,
    rate: float = 100.0,
    seed_id: str = "XX.STA.00.HHZ",
    start: str | int = DAY_START,
    version: int = 2,
) -> SyntheticObject:
    """Build an on-grid segment and a later one that starts off the grid.

    The first segment starts at ``start``. The second starts
    ``2 * seconds`` later plus ``offset_samples`` of a sample period, which
    is 3 ms at 100 Hz by default. Its values continue the ramp from the
    grid point just before its start.

    Facts: ``offset_ns`` and ``offset_samples``.
    """
    start_ns = nstime(start)
    count = round(seconds * rate)
    offset_ns = round(offset_samples * NS_PER_S / rate)
    second_start = start_ns + round(2 * count * NS_PER_S / rate) + offset_ns

    first_data, first = _write(
        seed_id, start_ns, _ramp(0, count), rate, version=version
    )
    second_data, second = _write(
        seed_id, second_start, _ramp(2 * count, count), rate, version=version
    )

    facts = {"offset_ns": offset_ns, "offset_samples": offset_samples}
    return SyntheticObject(join(first_data, second_data), (first, second), facts)


def overlap(
    *,
    overlap_samples: int = 50,
    identical: bool = True,
    samples: int = 1_000,
    rate: float = 100.0,
    seed_id: str = "XX.STA.00.HHZ",
    start: str | int = DAY_START,
    version: int = 2,
) -> SyntheticObject:
    """Build two segments whose ends overlap by ``overlap_samples`` samples.

    The second segment starts ``overlap_samples`` before the first ends, on
    the same grid. With ``identical`` its overlapping values equal the
    first segment's; otherwise they are 1,000,000 higher.

    Facts: ``overlap_samples``, ``identical``, ``overlap_start_ns`` and
    ``overlap_end_ns`` (times of the first and last doubled sample).
    """
    if not 0 < overlap_samples <= samples:
        raise ValueError(
            f"overlap_samples must be between 1 and samples ({samples}); "
            f"got {overlap_samples}"
        )
    start_ns = nstime(start)
    first_index = samples - overlap_samples
    second_start = start_ns + round(first_index * NS_PER_S / rate)

    second_values = _ramp(first_index, samples)
    if not identical:
        second_values[:overlap_samples] += _DIFFERING_OFFSET

    first_data, first = _write(
        seed_id, start_ns, _ramp(0, samples), rate, version=version
    )
    second_data, second = _write(
        seed_id, second_start, second_values, rate, version=version
    )

    facts = {
        "overlap_samples": overlap_samples,
        "identical": identical,
        "overlap_start_ns": second_start,
        "overlap_end_ns": first.end_ns,
    }
    return SyntheticObject(join(first_data, second_data), (first, second), facts)


def only_hh_channels(
    *,
    seconds: float = 60.0,
    rate: float = 100.0,
    station: str = "XX.STA.00",
    start: str | int = DAY_START,
    version: int = 2,
) -> SyntheticObject:
    """Build an object with channels HHZ, HHN and HHE only, and no BH? channel.

    ``station`` is ``NET.STA.LOC``. Facts: ``channels``.
    """
    channels = {"HHZ": rate, "HHN": rate, "HHE": rate}
    built = _multichannel(station, channels, nstime(start), seconds, version)
    facts = {"channels": tuple(sorted(channels))}
    return SyntheticObject(built.data, built.segments, facts)


def many_gaps(
    *,
    segment_count: int = 5_000,
    samples: int = 1_700,
    gap_samples: int = 20,
    rate: float = 100.0,
    seed_id: str = "XX.STA.00.HHZ",
    start: str | int = DAY_START,
    version: int = 2,
) -> SyntheticObject:
    """Build ``segment_count`` segments of ``samples`` each, with gaps between.

    Segment k starts at grid index ``k * (samples + gap_samples)``. The
    defaults span 86,000 s, within one day.

    Facts: ``segment_count``, ``gap_samples`` and ``end_ns`` (last sample).
    """
    start_ns = nstime(start)
    stride = samples + gap_samples

    parts, segments = [], []
    for k in range(segment_count):
        first_index = k * stride
        segment_start = start_ns + round(first_index * NS_PER_S / rate)
        values = _ramp(first_index, samples)
        data, segment = _write(seed_id, segment_start, values, rate, version=version)
        parts.append(data)
        segments.append(segment)

    facts = {
        "segment_count": segment_count,
        "gap_samples": gap_samples,
        "end_ns": segments[-1].end_ns,
    }
    return SyntheticObject(join(*parts), tuple(segments), facts)


def station_day(
    *,
    channels: dict[str, float] | None = None,
    seconds: float = 86_400.0,
    station: str = "XX.STA.00",
    start: str | int = DAY_START,
    version: int = 2,
) -> SyntheticObject:
    """Build a multi-channel station-day with records sorted by start time.

    ``channels`` maps channel codes to rates; the default is BHZ, BHN and
    BHE at 40 Hz and HHZ at 100 Hz. ``station`` is ``NET.STA.LOC``.

    Facts: ``rates`` (channel code to rate).
    """
    rates = channels or {"BHZ": 40.0, "BHN": 40.0, "BHE": 40.0, "HHZ": 100.0}
    built = _multichannel(station, rates, nstime(start), seconds, version)
    return SyntheticObject(built.data, built.segments, {"rates": dict(rates)})


def midnight_crossing(
    *,
    rate: float = 40.0,
    lead_seconds: float = 290.0,
    last_record_seconds: float = 15.0,
    seed_id: str = "XX.STA.00.BHZ",
    day: str | int = DAY_START,
    version: int = 2,
) -> SyntheticObject:
    """Build the end of a day whose last record starts 23:59:50 and ends after 00:00.

    One segment covers the ``lead_seconds`` before 23:59:50; the last record
    contains the next ``last_record_seconds`` (to 00:00:04.975 at 40 Hz).
    ``day`` is 00:00 of the object's day.

    Facts: ``midnight_ns`` (00:00 of the next day), ``last_record_start_ns``
    and ``last_sample_ns``.

    Raises
    ------
    ValueError
        If the last run of samples does not fit one record.
    """
    midnight_ns = nstime(day) + DAY_NS
    last_start = midnight_ns - 10 * NS_PER_S
    lead_count = round(lead_seconds * rate)
    last_count = round(last_record_seconds * rate)
    lead_start = last_start - round(lead_count * NS_PER_S / rate)

    lead_data, lead = _write(
        seed_id, lead_start, _ramp(0, lead_count), rate, version=version
    )
    last_data, last = _write(
        seed_id, last_start, _ramp(lead_count, last_count), rate, version=version
    )
    if len(records(last_data)) != 1:
        raise ValueError(
            f"{last_count} samples at {rate} Hz do not fit one record; "
            "lower rate or last_record_seconds"
        )

    facts = {
        "midnight_ns": midnight_ns,
        "last_record_start_ns": last_start,
        "last_sample_ns": last.end_ns,
    }
    return SyntheticObject(join(lead_data, last_data), (lead, last), facts)


# Helpers.


class _Packer:
    """Header settings shared by the records of one segment."""

    def __init__(
        self,
        source_id: str,
        encoding: str,
        record_length: int,
        version: int,
        pubversion: int,
    ) -> None:
        if encoding not in _ENCODINGS:
            raise ValueError(
                f"encoding must be one of {sorted(_ENCODINGS)}; got {encoding!r}"
            )
        self.source_id = source_id
        self.encoding, self.sample_type, _ = _ENCODINGS[encoding]
        self.record_length = record_length
        self.version = version
        self.pubversion = pubversion

    def pack(self, start_ns: int, samples: np.ndarray, rate: float) -> list[bytes]:
        """Write samples with libmseed timing each record from ``rate``."""
        traces = pymseed.MS3TraceList()
        traces.add_data(
            sourceid=self.source_id,
            data_samples=samples,
            sample_type=self.sample_type,
            sample_rate=rate,
            starttime=start_ns,
            publication_version=self.pubversion,
        )
        generated = traces.generate(
            max_record_length=self.record_length,
            encoding=self.encoding,
            format_version=self.version,
        )
        return list(generated)

    def pack_each_record(
        self, start_ns: int, samples: np.ndarray, rate: float, clock_rate: float
    ) -> bytes:
        """Write one record at a time, timing each from ``clock_rate``.

        A miniSEED 2 rate that needs a Blockette 100 is packed at a carrier
        rate that makes libmseed write one, then set in each record.
        """
        blockette_100 = _needs_blockette_100(rate, self.version)
        pack_rate = rate + _CARRIER_OFFSET_HZ if blockette_100 else rate
        capacity = (self.record_length // 64) * _MAX_SAMPLES_PER_64_BYTES

        written = []
        first = 0
        while first < len(samples):
            record_start = start_ns + round(first * NS_PER_S / clock_rate)
            chunk = samples[first : first + capacity]
            record = self.pack(record_start, chunk, pack_rate)[0]
            if blockette_100:
                record = _set_blockette_100(record, rate)

            written.append(record)
            first += pymseed.MS3Record.parse(record).samplecnt
        return b"".join(written)


@dataclass(frozen=True)
class _Built:
    data: bytes
    segments: tuple[Segment, ...]


def _write(
    seed_id: str,
    start_ns: int,
    values: np.ndarray,
    rate: float,
    *,
    clock_rate: float | None = None,
    version: int = 2,
) -> tuple[bytes, Segment]:
    data = segment_bytes(
        seed_id, start_ns, values, rate, version=version, clock_rate=clock_rate
    )
    segment = Segment(
        seed_id, start_ns, written_rate(rate, version), values, clock_rate
    )
    return data, segment


def _multichannel(
    station: str,
    rates: dict[str, float],
    start_ns: int,
    seconds: float,
    version: int,
) -> _Built:
    parts, segments = [], []
    for k, (channel, rate) in enumerate(rates.items()):
        count = round(seconds * rate)
        values = _ramp(0, count, offset=k * _CHANNEL_VALUE_STEP)
        seed_id = f"{station}.{channel}"
        data, segment = _write(seed_id, start_ns, values, rate, version=version)
        parts.append(data)
        segments.append(segment)

    return _Built(interleave(*parts), tuple(segments))


def _ramp(first_index: int, count: int, *, offset: int = 0) -> np.ndarray:
    return np.arange(first_index, first_index + count, dtype=np.int32) + np.int32(
        offset
    )


def _samples_for(values: np.ndarray | Sequence[float], encoding: str) -> np.ndarray:
    if encoding not in _ENCODINGS:
        raise ValueError(
            f"encoding must be one of {sorted(_ENCODINGS)}; got {encoding!r}"
        )
    _, _, dtype = _ENCODINGS[encoding]
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"values must be a non-empty 1-D array; got shape {array.shape}"
        )

    if dtype is np.int32:
        _check_int32(array, encoding)
    return np.ascontiguousarray(array, dtype=dtype)


def _check_int32(array: np.ndarray, encoding: str) -> None:
    info = np.iinfo(np.int32)
    as_float = array.astype(np.float64)
    if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
        raise ValueError(f"{encoding} encoding requires integer values")
    if as_float.min() < info.min or as_float.max() > info.max:
        raise ValueError(
            f"{encoding} encoding requires values in the int32 range; "
            f"got {as_float.min():g} to {as_float.max():g}"
        )


def _check_rate(name: str, rate: float) -> None:
    if not np.isfinite(rate) or rate <= 0:
        raise ValueError(f"{name} must be a finite rate in Hz above 0; got {rate!r}")


@functools.lru_cache(maxsize=64)
def _needs_blockette_100(rate: float, version: int) -> bool:
    """Return True if libmseed would write a miniSEED 2 rate inexactly."""
    if version != 2:
        return False
    return _probe_record(rate)[1] != rate


@functools.lru_cache(maxsize=64)
def _probe_record(rate: float) -> tuple[bytes, float]:
    """Pack one sample at ``rate`` as miniSEED 2 and return it with its decoded rate."""
    packer = _Packer("FDSN:XX_PROBE__B_H_Z", "int32", 512, 2, 1)
    record = packer.pack(0, np.zeros(1, dtype=np.int32), rate)[0]
    return record, pymseed.MS3Record.parse(record).samprate


def _set_blockette_100(record: bytes, rate: float) -> bytes:
    """Set the Blockette 100 rate of a miniSEED 2 record to float32 ``rate``.

    The factor and multiplier of the fixed header are set to what libmseed
    writes for ``rate`` itself, the nominal rate that readers without
    Blockette 100 support see.
    """
    patched = bytearray(record)
    offset = _find_blockette(patched, 100)
    if offset is None:
        raise RuntimeError(
            f"libmseed wrote no Blockette 100 for {rate} Hz; write version 3, "
            "which stores the rate as float64"
        )

    struct.pack_into(">f", patched, offset + 4, rate)
    patched[_V2_RATE_FIELDS] = _probe_record(rate)[0][_V2_RATE_FIELDS]
    return bytes(patched)


def _find_blockette(record: bytes | bytearray, blockette_type: int) -> int | None:
    (offset,) = struct.unpack_from(">H", record, _V2_FIRST_BLOCKETTE)
    for _ in range(_MAX_BLOCKETTES):
        if offset == 0:
            return None
        found_type, next_offset = struct.unpack_from(">HH", record, offset)
        if found_type == blockette_type:
            return offset
        offset = next_offset
    return None


def _record_spans(data: bytes) -> list[tuple[int, int, int]]:
    """Return start time (ns), byte offset and length of every record."""
    spans = []
    offset = 0
    for record in pymseed.MS3Record.from_buffer(data):
        spans.append((record.starttime, offset, record.reclen))
        offset += record.reclen

    if offset != len(data):
        raise ValueError(
            f"{len(data) - offset} bytes after the last complete record at "
            f"offset {offset}"
        )
    return spans
