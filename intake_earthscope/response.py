"""Instrument response removal, applied lazily to each chunk of a dataset.

The inventory is read or fetched once when the dataset is opened. Only the
responses of the planned traces go into the dask graph, one small literal
per trace group. Each chunk task then removes the response with obspy's own
:meth:`obspy.core.trace.Trace.remove_response`, called on an obspy Trace
built around each contiguous run of samples.

Gaps and chunk edges: a run is a stretch of samples without NaN inside one
chunk (one day of the time axis). Each run is corrected on its own, with
obspy's defaults of that method: the mean is removed and a cosine taper
covers 5 % of the run at each end. NaN gaps therefore stay NaN and never
spread. The first and last 5 % of every run carry the taper and the edge
effects of the spectral division, and so do the runs cut at midnight by the
chunk boundaries. Near its ends, a run therefore differs from a correction
of the whole continuous record.
"""

from __future__ import annotations

import logging
import os
import pickle
import urllib.parse
import urllib.request
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from intake_earthscope.codes import SeedId
from intake_earthscope.errors import (
    IntakeEarthScopeWarning,
    InvalidRequestError,
    WebServiceError,
)
from intake_earthscope.place import Grid

__all__ = [
    "DEFAULT_WATER_LEVEL",
    "OUTPUT_UNITS",
    "ChannelResponse",
    "ResponseOptions",
    "ResponseRemoval",
    "check_inventory_source",
    "check_response_options",
    "default_pre_filt",
    "describe_inventory",
    "finish_corrected_chunk",
    "load_inventory",
    "remove_chunk_response",
    "removal_for",
    "response_removal",
]

logger = logging.getLogger(__name__)

#: Output quantity -> (obspy ``output`` code, SI units of the result).
OUTPUT_UNITS: dict[str, tuple[str, str]] = {
    "displacement": ("DISP", "m"),
    "velocity": ("VEL", "m/s"),
    "acceleration": ("ACC", "m/s**2"),
}

#: Water level of obspy's ``Trace.remove_response`` (dB), used by default.
DEFAULT_WATER_LEVEL = 60.0

# Status of a trace whose channel has no response in the inventory.
NO_RESPONSE = "no_response"

# Shortest run obspy's Trace.remove_response can process, in samples.
MIN_RUN = 2

_NS_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class ResponseOptions:
    """Checked user options of a response removal.

    Attributes
    ----------
    output : str
        ``"displacement"``, ``"velocity"`` or ``"acceleration"``.
    pre_filt : tuple of four float, "auto" or None
        Corner frequencies (Hz) of obspy's cosine pre-filter; ``"auto"``
        until :func:`default_pre_filt` sets them from the sampling rate;
        ``None`` for no pre-filter.
    water_level : float or None
        Water level in dB below the maximum of the spectrum; ``None`` for none.
    """

    output: str
    pre_filt: tuple[float, float, float, float] | str | None
    water_level: float | None

    @property
    def units(self) -> str:
        """SI units of the corrected samples."""
        return OUTPUT_UNITS[self.output][1]


@dataclass(frozen=True)
class ChannelResponse:
    """Response epochs of one channel: ``(start_ns, end_ns, Response)``."""

    seed_id: str
    epochs: tuple[tuple[int, int, Any], ...]

    def at(self, time_ns: int) -> Any:
        """Return the response of the epoch that contains ``time_ns``."""
        for start, end, response in self.epochs:
            if start <= time_ns < end:
                return response
        # NOTE: a run that starts outside every epoch (before the first, after
        # the last, or between two) takes the epoch whose span is nearest.
        nearest = min(self.epochs, key=lambda epoch: _distance_ns(epoch, time_ns))
        return nearest[2]


@dataclass(frozen=True)
class GroupResponses:
    """Responses of one trace group, in row order (None: no response)."""

    channels: tuple[ChannelResponse | None, ...]


@dataclass(frozen=True)
class ResponseRemoval:
    """Everything the chunk tasks need to remove the response.

    Attributes
    ----------
    options : ResponseOptions
        Output, pre-filter (resolved) and water level.
    groups : tuple of GroupResponses
        Responses per trace group of the plan.
    source : str
        Where the inventory came from, for the dataset attributes.
    missing : tuple of str
        Trace ids without a response (their samples become NaN).
    """

    options: ResponseOptions
    groups: tuple[GroupResponses, ...]
    source: str
    missing: tuple[str, ...] = ()

    def __dask_tokenize__(self) -> object:
        # obspy Responses define no dask token, so their pickles are hashed.
        return (self.options, self.source, pickle.dumps(self.groups))

    def attributes(self) -> dict[str, Any]:
        """Return the dataset attributes that record the correction."""
        pre_filt = self.options.pre_filt
        return {
            "response_output": self.options.output,
            "response_pre_filt": (
                "none" if pre_filt is None else ", ".join(f"{f:g}" for f in pre_filt)
            ),
            "response_water_level": (
                "none"
                if self.options.water_level is None
                else f"{self.options.water_level:g}"
            ),
            "response_source": self.source,
            "response_method": (
                "obspy Trace.remove_response per run of samples without gaps "
                "within a chunk (one day): mean removed, 5 % cosine taper at "
                "each end of a run"
            ),
            "response_missing": ", ".join(self.missing),
        }


def check_response_options(
    remove_response: object, pre_filt: object, water_level: object
) -> ResponseOptions | None:
    """Check the response options before any I/O.

    Parameters
    ----------
    remove_response : {"displacement", "velocity", "acceleration"} or None
        Output quantity; ``None`` (or ``""``) keeps counts.
    pre_filt : sequence of four float, str, "auto" or None
        Four increasing corner frequencies in Hz, or a comma list of them
        such as ``"0.002,0.004,8,9"``. ``"auto"`` derives them from the
        sampling rate (see :func:`default_pre_filt`). ``None`` or ``"none"``
        applies no pre-filter.
    water_level : float or None
        Water level in dB; ``None`` or ``"none"`` for none.

    Returns
    -------
    ResponseOptions or None
        None when the response is not to be removed.

    Raises
    ------
    InvalidRequestError
        Naming the option, the bad value and what is expected.
    """
    if remove_response in (None, "", "none", "None", "counts"):
        return None
    if remove_response not in OUTPUT_UNITS:
        raise InvalidRequestError(
            f"invalid remove_response={remove_response!r}: expected one of "
            f"{sorted(OUTPUT_UNITS)}, or None to keep counts"
        )
    return ResponseOptions(
        output=str(remove_response),
        pre_filt=_pre_filt(pre_filt),
        water_level=_water_level(water_level),
    )


def default_pre_filt(rate: float) -> tuple[float, float, float, float]:
    """Return the pre-filter corners used for ``pre_filt="auto"``.

    The pass band runs from 0.004 Hz (250 s) to 80 % of the Nyquist
    frequency. The cosine flanks reach zero at 0.002 Hz and at 90 % of
    Nyquist. Below 0.04 Hz sampling the low corners scale down with the
    rate. For a 1 Hz channel the corners are ``(0.002, 0.004, 0.4, 0.45)``.
    """
    nyquist = rate / 2.0
    high = (0.8 * nyquist, 0.9 * nyquist)
    low = (min(0.002, high[0] / 8), min(0.004, high[0] / 4))
    return (low[0], low[1], high[0], high[1])


def load_inventory(inventory: Any) -> Any:
    """Return an obspy Inventory: ``inventory`` itself, or read from a path/URL.

    A path may be text, a path-like object such as :class:`pathlib.Path`, or
    a ``file://`` URL, which obspy's reader does not take itself.

    Raises
    ------
    InvalidRequestError
        If the path does not exist or is not StationXML, or ``inventory`` is
        neither a path, a URL nor an obspy Inventory.
    """
    if inventory is None:
        return None
    if isinstance(inventory, os.PathLike):
        inventory = os.fspath(inventory)
    if isinstance(inventory, str):
        from intake_earthscope.plan import _read_inventory

        return _read_inventory(_local_file(inventory))

    import obspy

    if not isinstance(inventory, obspy.Inventory):
        raise InvalidRequestError(
            f"invalid inventory={inventory!r:.80}: expected an obspy Inventory or "
            "a StationXML path or URL"
        )
    return inventory


def _local_file(location: str) -> str:
    """Return the local path of a ``file://`` URL, and other text unchanged."""
    parts = urllib.parse.urlsplit(location)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return location
    return urllib.request.url2pathname(parts.path)


def response_removal(
    options: ResponseOptions,
    plan: Any,
    inventory: Any,
    source: str,
) -> ResponseRemoval:
    """Collect the responses of the plan's traces from ``inventory``.

    Parameters
    ----------
    options : ResponseOptions
        Checked options; ``pre_filt="auto"`` is resolved with the plan's rate.
    plan : intake_earthscope.plan.Plan
        The planned traces, groups and window.
    inventory : obspy.Inventory
        Response-level station metadata.
    source : str
        Where the inventory came from.

    Raises
    ------
    InvalidRequestError
        If a ``pre_filt`` corner lies above the Nyquist frequency of the
        plan's rate. With ``errors="raise"``, when a trace has no response
        in the inventory over the request window (before any data is read).
    """
    if options.pre_filt == "auto":
        options = replace(options, pre_filt=default_pre_filt(plan.rate))
    _check_below_nyquist(options.pre_filt, plan.rate)

    request = plan.request
    found = channel_responses(inventory, plan.traces, request.start_ns, request.end_ns)
    missing = tuple(str(seed_id) for seed_id in plan.traces if seed_id not in found)
    if missing:
        _report_missing(missing, source, request.errors)

    groups = tuple(
        GroupResponses(tuple(found.get(s) for s in plan.traces[first:stop]))
        for first, stop in plan.groups
    )
    return ResponseRemoval(options, groups, source, missing)


def channel_responses(
    inventory: Any, traces: Sequence[SeedId], start_ns: int, end_ns: int
) -> dict[SeedId, ChannelResponse]:
    """Return the response epochs of ``traces`` that overlap ``[start, end)``.

    Epochs without response stages (channel-level metadata) are skipped.
    """
    requested = set(traces)
    epochs: dict[SeedId, list[tuple[int, int, Any]]] = {}
    for network in inventory:
        for station in network:
            for channel in station:
                seed_id = SeedId(
                    network.code, station.code, channel.location_code, channel.code
                )
                if seed_id not in requested or not _has_stages(channel.response):
                    continue
                first = channel.start_date.ns if channel.start_date else 0
                last = channel.end_date.ns if channel.end_date else _NS_MAX
                if first < end_ns and last > start_ns:
                    epochs.setdefault(seed_id, []).append(
                        (first, last, channel.response)
                    )
    return {
        seed_id: ChannelResponse(str(seed_id), tuple(sorted(found, key=_epoch_start)))
        for seed_id, found in epochs.items()
    }


def remove_chunk_response(
    result: Any,
    responses: GroupResponses,
    grid: Grid,
    lo: int,
    options: ResponseOptions,
) -> Any:
    """Remove the response from every run of samples of one chunk.

    ``result`` is the chunk's :class:`~intake_earthscope.tasks.ChunkResult`;
    a copy with corrected samples is returned. Rows without a response
    become NaN, with a ``valid_fraction`` of 0 and the status ``no_response``
    where they had samples.
    """
    waveform = result.waveform.copy()
    status = result.status.copy()
    valid_fraction = result.valid_fraction.copy()
    for row, channel in enumerate(responses.channels):
        if channel is None:
            # A row without samples keeps the status that explains why, such as
            # "missing", since no sample was discarded for want of a response.
            if not np.isnan(waveform[row]).all():
                status[row] = NO_RESPONSE
            waveform[row] = np.nan
            valid_fraction[row] = 0.0
            continue
        for begin, end in contiguous_runs(waveform[row]):
            if end - begin < MIN_RUN:
                # NOTE: obspy cannot correct a single sample; it becomes NaN
                # and is left out of the corrected data.
                logger.debug("%s: lone sample at %d set to NaN", channel.seed_id, lo)
                waveform[row, begin:end] = np.nan
                continue
            start_ns = grid.start_ns + round((lo + begin) * grid.step_ns)
            waveform[row, begin:end] = corrected_run(
                waveform[row, begin:end], channel, grid, start_ns, options
            )
    return replace(
        result, waveform=waveform, status=status, valid_fraction=valid_fraction
    )


def finish_corrected_chunk(
    unit: Any,
    previous: Any,
    following: Any,
    grid: Grid,
    responses: GroupResponses,
    lo: int,
    options: ResponseOptions,
) -> Any:
    """Finish a chunk with ``finish_chunk``, then remove the response from it."""
    from intake_earthscope.tasks import finish_chunk

    result = finish_chunk(unit, previous, following, grid)
    return remove_chunk_response(result, responses, grid, lo, options)


def contiguous_runs(values: np.ndarray) -> list[tuple[int, int]]:
    """Return ``(begin, end)`` of each run of non-NaN values in a 1-D array."""
    present = np.concatenate(([False], ~np.isnan(values), [False]))
    edges = np.flatnonzero(np.diff(present.astype(np.int8)))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def corrected_run(
    samples: np.ndarray,
    channel: ChannelResponse,
    grid: Grid,
    start_ns: int,
    options: ResponseOptions,
) -> np.ndarray:
    """Return one run with the response removed by obspy's Trace method."""
    import obspy

    code = channel.seed_id.split(".")
    trace = obspy.Trace(
        np.array(samples, dtype=np.float64),
        header={
            "network": code[0],
            "station": code[1],
            "location": code[2],
            "channel": code[3],
            "sampling_rate": 1e9 / grid.step_ns,
            "starttime": obspy.UTCDateTime(ns=start_ns),
        },
    )
    # NOTE: a run that crosses a change of response epoch is corrected with
    # the response of the epoch at its first sample.
    trace.stats.response = channel.at(start_ns)
    trace.remove_response(
        output=OUTPUT_UNITS[options.output][0],
        pre_filt=options.pre_filt,
        water_level=options.water_level,
    )
    return np.asarray(trace.data, dtype=np.float64)


def _report_missing(missing: Sequence[str], source: str, errors: str) -> None:
    message = (
        f"no instrument response for {', '.join(missing)} in the inventory from "
        f"{source}; pass inventory= with response-level StationXML for these "
        "channels, drop them from the request, or set errors='warn' to read "
        "them as NaN with status 'no_response'"
    )
    if errors == "raise":
        raise InvalidRequestError(message)
    if errors == "warn":
        warnings.warn(message, IntakeEarthScopeWarning, stacklevel=4)
    logger.info("%s", message)


def _has_stages(response: Any) -> bool:
    return response is not None and bool(response.response_stages)


def _epoch_start(epoch: tuple[int, int, Any]) -> int:
    return epoch[0]


def _distance_ns(epoch: tuple[int, int, Any], time_ns: int) -> int:
    """Return how far ``time_ns`` lies outside the span ``[start, end)``."""
    start, end = epoch[0], epoch[1]
    return max(start - time_ns, time_ns - end, 0)


def _pre_filt(value: object) -> tuple[float, float, float, float] | str | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return None
    if isinstance(value, str) and value.strip().lower() in ("auto", ""):
        return "auto"

    parts = value.split(",") if isinstance(value, str) else value
    try:
        corners = tuple(float(part) for part in parts)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(_pre_filt_message(value)) from error
    increasing = all(a < b for a, b in zip(corners, corners[1:], strict=False))
    finite = all(np.isfinite(corner) for corner in corners)
    if len(corners) != 4 or not increasing or not finite or corners[0] <= 0:
        raise InvalidRequestError(_pre_filt_message(value))
    return (corners[0], corners[1], corners[2], corners[3])


def _check_below_nyquist(pre_filt: object, rate: float) -> None:
    """Raise if a pre-filter corner lies above the Nyquist frequency."""
    if not isinstance(pre_filt, tuple):
        return
    nyquist = rate / 2.0
    if max(pre_filt) > nyquist:
        corners = ", ".join(f"{corner:g}" for corner in pre_filt)
        raise InvalidRequestError(
            f"invalid pre_filt=({corners}): corners above the Nyquist frequency "
            f"{nyquist:g} Hz of the {rate:g} Hz channels; give corners up to "
            f"{nyquist:g} Hz, or pre_filt='auto'"
        )


def _pre_filt_message(value: object) -> str:
    return (
        f"invalid pre_filt={value!r}: expected four increasing, positive and "
        "finite corner frequencies in Hz such as (0.002, 0.004, 8, 9), 'auto', or None"
    )


def _water_level(value: object) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return None
    try:
        level = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(
            f"invalid water_level={value!r}: expected decibels such as 60, or None"
        ) from error
    if not np.isfinite(level) or level < 0:
        raise InvalidRequestError(
            f"invalid water_level={value!r}: expected decibels of at least 0, or None"
        )
    return level


def describe_inventory(inventory: Any) -> str:
    """Name the caller's inventory for the dataset attributes.

    A URL loses its query string, which may carry a signature.
    """
    if isinstance(inventory, os.PathLike):
        return os.fspath(inventory)
    if isinstance(inventory, str):
        return inventory.split("?", 1)[0]
    return "obspy Inventory passed as inventory="


def inventory_for(
    collection: Any, plan: Any, inventory: Any, credentials: Any, described: str
) -> tuple[Any, str]:
    """Return the inventory that contains the responses, and its source.

    An inventory given by the caller is used as is, and ``described`` names
    it. Otherwise the station service beside the collection's ``fdsn`` tier
    is asked for the planned traces at level ``response``, once.

    Raises
    ------
    InvalidRequestError
        If no inventory is given and the collection has no ``fdsn`` tier.
    """
    if inventory is not None:
        return load_inventory(inventory), described

    check_inventory_source(collection, inventory)
    tier = next(t for t in collection.tiers if t.protocol == "fdsn")
    return _fetch_inventory(tier, plan, credentials)


def check_inventory_source(collection: Any, inventory: Any) -> None:
    """Check, before any I/O, that responses can come from somewhere.

    Raises
    ------
    InvalidRequestError
        If no inventory is given and the collection has no ``fdsn`` tier.
    """
    if inventory is not None:
        return
    if not any(tier.protocol == "fdsn" for tier in collection.tiers):
        raise InvalidRequestError(
            f"remove_response needs an inventory: collection {collection.name!r} "
            "has no FDSN station service; pass inventory= with an obspy "
            "Inventory or a StationXML path or URL at level=response"
        )


def _fetch_inventory(tier: Any, plan: Any, credentials: Any) -> tuple[Any, str]:
    from intake_earthscope.fdsn import fdsn_station
    from intake_earthscope.plan import _station_service
    from intake_earthscope.storage import StorageSpec

    # The station service accepts requests without a token; one is sent
    # when the caller has one.
    needs_token = tier.access == "earthscope" and credentials.available()
    source = credentials.source() if needs_token else None
    spec = _station_service(StorageSpec.for_tier(tier, None, None, source))
    request = plan.request
    try:
        inventory = fdsn_station(
            spec.web_spec(), plan.traces, request.start_ns, request.end_ns, "response"
        )
    except WebServiceError as error:
        raise WebServiceError(
            f"{error}; to remove responses without the station service (offline, "
            "or with a mirror), pass inventory= with an obspy Inventory or a "
            "StationXML path at level=response"
        ) from error
    logger.info("fetched responses of %d traces from %s", len(plan.traces), spec.root)
    return inventory, f"FDSN station service {spec.root}"


def removal_for(
    options: ResponseOptions | None,
    plan: Any,
    inventory: Any,
    credentials: Any,
    described: str = "",
) -> ResponseRemoval | None:
    """Build the response removal of a plan, or None when counts are kept.

    ``described`` names the caller's inventory (see :func:`describe_inventory`).
    """
    if options is None:
        return None
    found, source = inventory_for(
        plan.collection, plan, inventory, credentials, described
    )
    return response_removal(options, plan, found, source)


def units_attributes(removal: ResponseRemoval | None) -> Mapping[str, str]:
    """Return ``units`` and ``long_name`` of the waveform variable."""
    if removal is None:
        return {"units": "counts", "long_name": "waveform"}
    output = removal.options.output
    return {"units": removal.options.units, "long_name": f"ground {output}"}
