"""xarray backend ``engine="miniseed"``: one miniSEED file as a waveform dataset.

``xr.open_dataset(path, engine="miniseed")`` opens one local file or fsspec
URL (miniSEED 2 or 3) with the data model of
:func:`~intake_earthscope.dataset.open_waveforms`: ``waveform(trace, time)``
in float64 with NaN in gaps, the SEED code coordinates and a lazy time grid
that starts at the earliest sample. Samples are placed by the reader's rule
(:mod:`intake_earthscope.place`): each record at the nearest grid index.

Laziness: opening reads the file once and parses the record headers only
(channels, rates, time span). The waveform is an xarray ``BackendArray``:
the first access reads the file again, decodes the samples and keeps the
placed array in that array object for later accesses.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pymseed
import xarray as xr
from pymseed.clib import clibmseed, ffi
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from intake_earthscope.codes import SeedId, seed_id_from_sourceid
from intake_earthscope.decode import check_structure, decode_and_place, intact_records
from intake_earthscope.errors import (
    DecodeError,
    IntakeEarthScopeWarning,
    InvalidRequestError,
    MixedSamplingRateError,
    NoMatchingChannelError,
    ObjectNotFoundError,
)
from intake_earthscope.interop import (
    checked_tolerance,
    joined_rate,
    mixed_rates_message,
    span_grid,
    waveform_dataset,
)
from intake_earthscope.place import Grid
from intake_earthscope.request import (
    DEFAULT_RATE_TOLERANCE,
    mirror_directory,
    optional_rate,
)
from intake_earthscope.storage import seal_options, unseal_options

__all__ = ["MINISEED_SUFFIXES", "MiniseedBackendEntrypoint", "open_miniseed"]

logger = logging.getLogger(__name__)

#: File name endings ``guess_can_open`` accepts (``.D`` and ``.M`` as in
#: SEED archive names such as ``IU.ANMO.00.BHZ.2010.058.M``).
MINISEED_SUFFIXES = (".mseed", ".ms", ".miniseed", ".mseed3", ".D", ".M")

# Bytes read to recognise a record: a miniSEED 2 fixed header is 48 bytes
# and a miniSEED 3 header at least 40 plus its identifier.
_MAGIC_BYTES = 512


class MiniseedBackendEntrypoint(BackendEntrypoint):
    """Open one miniSEED file with ``xr.open_dataset(path, engine="miniseed")``.

    Keyword arguments (given to ``open_dataset`` or in ``backend_kwargs``):
    ``storage_options`` for fsspec, ``sampling_rate`` to keep the channels
    at one rate when the file mixes rates, and ``rate_tolerance``.

    miniSEED has no CF encoding, so xarray's CF decoding options can only
    keep their defaults: ``decode_cf=False``, ``decode_times=False`` and
    the like raise :class:`~intake_earthscope.errors.InvalidRequestError`.
    """

    description = "Open one miniSEED 2 or 3 file as a waveform dataset"
    url = "https://github.com/earthscope/intake-earthscope"
    # xarray turns decode_cf=False into False for each of the decoding
    # options listed here, which is how the engine gets to see it.
    open_dataset_parameters = (
        "filename_or_obj",
        "drop_variables",
        "storage_options",
        "sampling_rate",
        "rate_tolerance",
        "mask_and_scale",
        "decode_times",
        "decode_timedelta",
        "concat_characters",
        "decode_coords",
    )

    def open_dataset(
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        storage_options: Mapping[str, Any] | None = None,
        sampling_rate: float | None = None,
        rate_tolerance: float = DEFAULT_RATE_TOLERANCE,
        **decoders: Any,
    ) -> xr.Dataset:
        """Open ``filename_or_obj``; see :func:`open_miniseed`.

        xarray passes its CF decoding options (``decode_times=`` and the
        like) where the caller gives them. miniSEED has no CF encoding, so
        ``True`` changes nothing, and any other value raises. So does
        ``decode_cf=False``, which xarray passes as ``False`` for each of
        those options: the time labels are computed from the record headers
        in either case, and no variable is left to keep encoded.
        """
        _check_decoders(decoders)
        return open_miniseed(
            filename_or_obj,
            drop_variables=drop_variables,
            storage_options=storage_options,
            sampling_rate=sampling_rate,
            rate_tolerance=rate_tolerance,
        )

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """Return whether the name ends like miniSEED or the bytes start a record."""
        if isinstance(filename_or_obj, str | os.PathLike):
            name = os.fspath(filename_or_obj)
            if name.endswith(MINISEED_SUFFIXES) or name.lower().endswith(
                MINISEED_SUFFIXES[:4]
            ):
                return True
        magic = xr.core.utils.try_read_magic_number_from_file_or_path(
            filename_or_obj, count=_MAGIC_BYTES
        )
        return magic is not None and starts_record(magic)


# The decoding options that xarray.open_dataset passes on to a backend.
_CF_DECODERS = (
    "mask_and_scale",
    "decode_times",
    "decode_timedelta",
    "concat_characters",
    "use_cftime",
    "decode_coords",
)


# The decoding options that decode_cf=False turns off (all but use_cftime).
_CF_SWITCHES = tuple(name for name in _CF_DECODERS if name != "use_cftime")

# The engine's own arguments, for the message about an unknown one.
_ENGINE_ARGUMENTS = tuple(
    name
    for name in MiniseedBackendEntrypoint.open_dataset_parameters[1:]
    if name not in _CF_DECODERS
)


def _check_decoders(decoders: Mapping[str, Any]) -> None:
    """Raise for keyword arguments other than CF decoding options left as read.

    miniSEED has no CF encoding, so the options that would turn decoding on
    change nothing, and turning it off cannot apply. ``use_cftime=False``
    requests the NumPy datetimes that the dataset has anyway. Every option
    but ``use_cftime`` set to False is how ``decode_cf=False`` arrives, and
    the message names it.

    Raises
    ------
    InvalidRequestError
        If a decoding option asks for what this engine cannot give.
    TypeError
        If an argument is neither a decoding option nor one of the backend's.
    """
    unknown = sorted(set(decoders) - set(_CF_DECODERS))
    if unknown:
        raise TypeError(
            f"open_dataset(engine='miniseed') got unexpected keyword arguments "
            f"{unknown}: it takes {list(_ENGINE_ARGUMENTS)}"
        )
    if all(decoders.get(name) is False for name in _CF_SWITCHES):
        raise InvalidRequestError(
            "invalid decode_cf=False (or False for each of "
            f"{', '.join(_CF_SWITCHES)}) for engine='miniseed': miniSEED has no "
            "CF-encoded variables to leave encoded, and the time labels are "
            "computed from the record headers. Leave decode_cf out; for integer "
            "nanoseconds use ds.time.values.astype('int64')"
        )
    for name, value in decoders.items():
        expected = name != "use_cftime"
        if value is expected:
            continue
        raise InvalidRequestError(
            f"invalid {name}={value!r} for engine='miniseed': "
            f"{_DECODER_REASONS[name]}. Leave the option out"
        )


_DECODER_REASONS = {
    "decode_times": "the time labels are computed from the record headers, not "
    "decoded; for integer nanoseconds use ds.time.values.astype('int64')",
    "use_cftime": "the time labels are NumPy datetime64 values, which cover "
    "the years 1678 to 2261",
    "decode_timedelta": "the dataset has no encoded time differences",
    "mask_and_scale": "the samples are counts without a fill value or scale "
    "factor; missing samples are NaN already",
    "concat_characters": "the codes are text already",
    "decode_coords": "the coordinates are set by the engine, not by CF attributes",
}


def starts_record(data: bytes) -> bool:
    """Return whether ``data`` starts with a miniSEED 2 or 3 record header."""
    if len(data) < 48:
        return False
    version = ffi.new("uint8_t *")
    return bool(clibmseed.ms3_detect(ffi.from_buffer(data), len(data), version) >= 0)


def open_miniseed(
    filename_or_obj: Any,
    *,
    drop_variables: str | Iterable[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    sampling_rate: float | None = None,
    rate_tolerance: float = DEFAULT_RATE_TOLERANCE,
) -> xr.Dataset:
    """Open one miniSEED file as a lazy waveform dataset.

    Parameters
    ----------
    filename_or_obj : str, path or file object
        Local path, fsspec URL (``s3://bucket/key``, ``https://...``) or an
        open binary file. A file object is read into memory at open.
    drop_variables : str or list of str, optional
        Variables or coordinates to leave out.
    storage_options : dict, optional
        Passed to ``fsspec.open`` untouched.
    sampling_rate : float, optional
        Keep the records at this rate (Hz) when the file mixes rates. None
        or 0 keeps the file's one rate.
    rate_tolerance : float
        Relative difference under which two rates count as one, from 0 to
        0.01. None takes the default.

    Returns
    -------
    xarray.Dataset
        ``waveform(trace, time)`` on a grid from the earliest sample to the
        latest, with the SEED code coordinates, a per-trace ``time_offset``
        (grid time minus recorded time of the trace's first sample, seconds)
        and a per-trace ``status``. The status is ``ok``, ``truncated``,
        ``damaged`` or ``rate_mismatch``. A truncated file ends inside a
        record, whose samples are left out. A damaged file has bytes that
        are not miniSEED, which are skipped. A channel with
        ``rate_mismatch`` also has records at another rate, which are left
        out. Any status other than ``ok`` also emits an
        :class:`IntakeEarthScopeWarning`.

    Raises
    ------
    InvalidRequestError
        If ``sampling_rate`` or ``rate_tolerance`` is invalid.
    ObjectNotFoundError
        If the file does not exist.
    DecodeError
        If the bytes are not miniSEED.
    MixedSamplingRateError
        If the channels, or the records of one channel, have several rates
        and ``sampling_rate`` is unset.
    NoMatchingChannelError
        If no channel has ``sampling_rate``.
    """
    sampling_rate = optional_rate(sampling_rate)
    rate_tolerance = checked_tolerance(rate_tolerance)
    location = _Location.of(filename_or_obj, storage_options)
    data = location.read()
    if not data:
        raise DecodeError(f"empty file (0 bytes): {location.name}")
    try:
        records, state, offset = _intact(data)
    except DecodeError as error:
        raise DecodeError(
            f"{error} in {location.name}: engine='miniseed' reads miniSEED 2 or 3 "
            "files only"
        ) from None
    try:
        spans = _channel_spans(records, rate_tolerance)
    except DecodeError as error:
        raise DecodeError(f"{error} in {location.name}") from None
    rate = _pick_rate(spans, sampling_rate, rate_tolerance)
    kept = [
        (seed_id, span)
        for seed_id, by_rate in spans.items()
        for span_rate, span in by_rate.items()
        if _same_rate(span_rate, rate, rate_tolerance)
    ]
    ids = sorted({seed_id for seed_id, _ in kept})
    first = min(span[0] for _, span in kept)
    last = max(span[1] for _, span in kept)
    grid = span_grid(first, last, rate)

    array = MiniseedBackendArray(location, tuple(ids), grid, rate_tolerance)
    waveform = indexing.LazilyIndexedArray(array)
    status = _trace_status(ids, spans, rate, rate_tolerance, state)
    offsets = _first_offsets(ids, kept, grid)
    trace_vars = {"status": status, "time_offset": offsets}
    dataset = waveform_dataset(ids, grid, waveform, rate, trace_vars=trace_vars)
    dataset["status"].attrs["long_name"] = "outcome of reading the trace from the file"
    dataset["time_offset"].attrs["long_name"] = "grid time minus recorded time, seconds"
    dataset.attrs["source"] = location.name
    _report_status(location.name, ids, status, rate, state, offset)
    return dataset.drop_vars(_dropped(dataset, drop_variables))


class MiniseedBackendArray(BackendArray):
    """The waveform of one file, decoded and placed on first access."""

    def __init__(
        self,
        location: _Location,
        ids: tuple[SeedId, ...],
        grid: Grid,
        rate_tolerance: float,
    ) -> None:
        self.location = location
        self.ids = ids
        self.grid = grid
        self.rate_tolerance = rate_tolerance
        self.shape = (len(ids), grid.size)
        self.dtype = np.dtype(np.float64)
        self._placed: np.ndarray | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Workers decode for themselves: no samples or locks in a pickle.
        state = self.__dict__.copy()
        state["_placed"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._raw_getitem
        )

    def _raw_getitem(self, key: tuple) -> np.ndarray:
        return self._samples()[key]

    def _samples(self) -> np.ndarray:
        with self._lock:
            if self._placed is None:
                self._placed = self._decode()
            return self._placed

    def _decode(self) -> np.ndarray:
        data, _, _ = _intact(self.location.read())
        logger.debug("decoding %d bytes of %s", len(data), self.location.name)
        block = decode_and_place(
            data, self.ids, self.grid, 0, self.grid.size, self.rate_tolerance
        )
        return block.data


class _Location:
    """A file path or URL and its storage options, or bytes read from a file object."""

    def __init__(
        self,
        name: str,
        storage_options: Mapping[str, Any] | None,
        data: bytes | None = None,
    ) -> None:
        self.name = name
        # Secret values stay in this process, out of pickled graphs.
        self.storage_options = seal_options(storage_options or {})
        # NOTE: bytes of a file object stay here, so the dataset keeps them in memory.
        self.data = data

    @classmethod
    def of(cls, target: Any, storage_options: Mapping[str, Any] | None) -> _Location:
        if isinstance(target, str | os.PathLike):
            return cls(os.fspath(target), storage_options)
        if hasattr(target, "read"):
            target.seek(0)
            return cls(str(getattr(target, "name", "file object")), None, target.read())
        described = f"a {type(target).__name__} object"
        if isinstance(target, bytes | bytearray | memoryview):
            described += f", {len(target):,} bytes long"
        raise TypeError(
            f"invalid filename_or_obj ({described}): expected a path, an fsspec "
            "URL or a binary file object, such as io.BytesIO(data) for bytes"
        )

    def __repr__(self) -> str:
        return f"_Location({self.name!r})"

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        import fsspec

        try:
            options = unseal_options(self.storage_options, self.name)
            with fsspec.open(_local_path(self.name), "rb", **options) as file:
                return bytes(file.read())
        except FileNotFoundError as error:
            raise ObjectNotFoundError(
                f"miniSEED file not found: {self.name}; check the path or URL "
                "(and storage_options for a bucket)"
            ) from error


def _local_path(name: str) -> str:
    """Return the percent-decoded path of a ``file:`` URL, else ``name``.

    fsspec opens a ``file://`` URL's path as it is written, but the URLs this
    package shows are percent-encoded (``file:///data/my%20mirror/...``), and
    ``root=`` decodes them the same way.
    """
    if not name.lower().startswith("file:"):
        return name
    return mirror_directory(name)


def _intact(data: bytes) -> tuple[bytes, str, int]:
    """Return the whole records of ``data``, the file's state and its offset.

    The state is ``check_structure``'s: ``ok``, ``truncated`` or ``damaged``.
    libmseed skips a record cut short at the end, so a truncated file's
    bytes are returned as they are.
    """
    state, offset = check_structure(data)
    if state == "not_miniseed":
        raise DecodeError(f"invalid miniSEED: no record starts at byte {offset}")
    if state == "damaged":
        return intact_records(data), state, offset
    return data, state, offset


def _channel_spans(
    data: bytes, rate_tolerance: float
) -> dict[SeedId, dict[float, tuple[int, int]]]:
    """Return ``(first_ns, last_ns)`` of each channel and rate from record headers.

    Header rates that agree within ``rate_tolerance`` share one entry (see
    :func:`~intake_earthscope.interop.joined_rate`).
    """
    try:
        traces = pymseed.MS3TraceList.from_buffer(data, unpack_data=False)
    except pymseed.MiniSEEDError as error:
        raise DecodeError(f"invalid miniSEED: {error}") from error

    spans: dict[SeedId, dict[float, tuple[int, int]]] = {}
    rates_seen: list[float] = []
    for trace in traces:
        try:
            seed_id = seed_id_from_sourceid(trace.sourceid)
        except ValueError:
            continue
        for segment in trace:
            if segment.samprate <= 0 or segment.samplecnt == 0:
                continue
            rate = joined_rate(float(segment.samprate), rates_seen, rate_tolerance)
            first, last = segment.starttime, segment.endtime
            by_rate = spans.setdefault(seed_id, {})
            if rate in by_rate:
                known = by_rate[rate]
                first, last = min(first, known[0]), max(last, known[1])
            by_rate[rate] = (first, last)
    if not spans:
        raise DecodeError("invalid miniSEED: no record contains numeric samples")
    return spans


def _first_offsets(
    ids: list[SeedId], kept: list[tuple[SeedId, tuple[int, int]]], grid: Grid
) -> np.ndarray:
    """Return the time offset of each trace's first sample, from record headers.

    The first sample goes to the nearest grid index, as placement puts it,
    so its offset needs its record's start time only and no decoding.
    """
    starts: dict[SeedId, int] = {}
    for seed_id, (first, _) in kept:
        starts[seed_id] = min(first, starts.get(seed_id, first))
    offsets = np.empty(len(ids))
    for row, seed_id in enumerate(ids):
        first = starts[seed_id]
        offsets[row] = grid.offset(round(float(grid.position(first))), first)
    return offsets


def _same_rate(rate: float, other: float, rate_tolerance: float) -> bool:
    return abs(rate - other) <= rate_tolerance * max(rate, other)


def _pick_rate(
    spans: Mapping[SeedId, Mapping[float, tuple[int, int]]],
    sampling_rate: float | None,
    rate_tolerance: float,
) -> float:
    rates = {rate for by_rate in spans.values() for rate in by_rate}
    if sampling_rate is not None:
        if not any(_same_rate(r, sampling_rate, rate_tolerance) for r in rates):
            raise NoMatchingChannelError(
                f"no channel at sampling_rate={sampling_rate!r} Hz; the file has "
                f"{sorted(rates)} Hz"
            )
        return float(sampling_rate)
    if len(rates) > 1:
        choices = " or ".join(f"sampling_rate={rate:g}" for rate in sorted(rates))
        fix = (
            f"pass {choices} (in backend_kwargs) to keep the records at one rate "
            "and leave out the others"
        )
        named = {str(seed_id): by_rate for seed_id, by_rate in spans.items()}
        raise MixedSamplingRateError(mixed_rates_message(named, "channels", fix))
    return rates.pop()


def _trace_status(
    ids: list[SeedId],
    spans: Mapping[SeedId, Mapping[float, tuple[int, int]]],
    rate: float,
    rate_tolerance: float,
    state: str,
) -> np.ndarray:
    """Return each trace's status, as the ``status`` of :func:`open_waveforms`."""
    status = []
    for seed_id in ids:
        other = [r for r in spans[seed_id] if not _same_rate(r, rate, rate_tolerance)]
        status.append("rate_mismatch" if other else state)
    return np.array(status, dtype="<U24")


def _report_status(
    name: str,
    ids: list[SeedId],
    status: np.ndarray,
    rate: float,
    state: str,
    offset: int,
) -> None:
    """Log and warn once when the file or some of its records were not read."""
    parts = []
    if state == "truncated":
        parts.append(f"the file ends inside the record at byte {offset}")
    elif state == "damaged":
        parts.append(f"bytes from byte {offset} on are not miniSEED")
    mismatched = [
        str(i) for i, s in zip(ids, status, strict=True) if s == "rate_mismatch"
    ]
    if mismatched:
        parts.append(
            f"records of {', '.join(mismatched)} at rates other than {rate:g} Hz"
        )
    if not parts:
        return

    message = (
        f"incomplete read of {name}: {'; '.join(parts)}; those samples are left "
        "out (see the status variable)"
    )
    logger.info("%s", message)
    # Level 5 is the caller of xr.open_dataset, through the entrypoint.
    warnings.warn(message, IntakeEarthScopeWarning, stacklevel=5)


def _dropped(dataset: xr.Dataset, drop_variables: str | Iterable[str] | None) -> list:
    if drop_variables is None:
        return []
    names = [drop_variables] if isinstance(drop_variables, str) else drop_variables
    return [name for name in names if name in dataset.variables]
