"""Intake v1 driver ``earthscope_miniseed``: a thin adapter over the core.

The source checks the request when it is built (before any I/O), plans on
first use, and hands the plan to :mod:`intake_earthscope.dataset`.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from intake.source.base import DataSource, Schema

from intake_earthscope import __version__
from intake_earthscope.auth import token_reference
from intake_earthscope.codes import codes_text
from intake_earthscope.collection import AUTO_TIER, Collection, check_tier
from intake_earthscope.dataset import build_dataset, outcome_table
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.plan import Plan
from intake_earthscope.readerargs import check_argument_names, keyword_names
from intake_earthscope.request import (
    DEFAULT_RATE_TOLERANCE,
    WaveformRequest,
    check_options,
    request_codes,
    request_time,
)
from intake_earthscope.response import (
    DEFAULT_WATER_LEVEL,
    check_inventory_source,
    check_response_options,
    describe_inventory,
    load_inventory,
    removal_for,
)
from intake_earthscope.routing import Credentials, plan_request
from intake_earthscope.storage import seal_init_options
from intake_earthscope.tasks import NEIGHBOUR_BYTES
from intake_earthscope.timeutil import format_ns
from intake_earthscope.windows import windows_dataset

__all__ = ["MiniseedSource", "check_tier"]

logger = logging.getLogger(__name__)

# Stands for a required argument of windows() that was not given.
_NOT_GIVEN: Any = object()


class MiniseedSource(DataSource):
    """Continuous miniSEED waveforms of one collection, as a lazy Dataset.

    Parameters
    ----------
    collection : dict
        The collection description from the catalog YAML (granularity, key
        template, tiers).
    network, station, location, channel : str or list of str
        SEED codes, comma lists and ``?``/``*`` wildcards. The blank location
        may be given as ``""``, ``"--"`` or two spaces.
    start, end : str or datetime
        UTC window; ``end`` is exclusive.
    sampling_rate : float, optional
        Keep the channels sampled at this rate (Hz); 0 or None takes the
        channels' common rate.
    rate_tolerance : float
        Relative difference under which two rates count as one.
    errors : {"raise", "warn", "ignore"}
        Policy for missing, unreadable or access-denied objects.
    tier : str, optional
        Collection tier to read; the collection's default when empty.
    storage_options : dict, optional
        Passed to fsspec/s3fs untouched.
    root : str, optional
        Mirror with the same key layout (local directory, ``file://`` URL,
        ``s3://bucket/prefix``).
    inventory : obspy.Inventory or str, optional
        Station metadata naming channels and rates.
    neighbour_bytes : int, optional
        Bytes read from the end of the object before ``start``; None reads it
        all, 0 skips it.
    token : str or path, optional
        EarthScope token or path to a ``tokens.json`` for tiers read with
        EarthScope credentials; never stored in the dataset or the graph.
    profile : str, optional
        earthscope-sdk profile whose tokens to use.
    remove_response : {"displacement", "velocity", "acceleration"}, optional
        Remove the instrument response to this output; empty keeps counts.
        See :func:`intake_earthscope.dataset.open_waveforms`.
    pre_filt : four floats, str or None
        Pre-filter corners in Hz (a comma list in the catalog), ``"auto"``
        or None.
    water_level : float or None
        Water level in dB; None for none.
    metadata : dict, optional
        Intake metadata.

    Examples
    --------
    >>> import intake  # doctest: +SKIP
    >>> cat = intake.open_catalog("catalogs/earthscope.yaml")  # doctest: +SKIP
    >>> src = cat.sage.miniseed(network="IU", station="ANMO", location="00",
    ...                         channel="BH?", start="2024-01-01",
    ...                         end="2024-01-02")  # doctest: +SKIP
    >>> ds = src.to_dask()  # doctest: +SKIP
    """

    name = "earthscope_miniseed"
    version = __version__
    container = "xarray"
    partition_access = True

    def __init__(
        self,
        collection: Mapping[str, Any],
        network: object = None,
        station: object = None,
        location: object = "*",
        channel: object = "*",
        start: object = None,
        end: object = None,
        sampling_rate: object = None,
        rate_tolerance: object = DEFAULT_RATE_TOLERANCE,
        errors: str = "raise",
        tier: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        root: str | None = None,
        inventory: Any = None,
        neighbour_bytes: int | None = NEIGHBOUR_BYTES,
        token: Any = None,
        profile: str | None = None,
        remove_response: str | None = None,
        pre_filt: Any = "auto",
        water_level: Any = DEFAULT_WATER_LEVEL,
        metadata: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        check_argument_names(
            "MiniseedSource",
            unknown,
            _PARAMETERS,
            "run describe() on the catalog entry for its parameters",
        )
        super().__init__(metadata=dict(metadata or {}))
        self.collection = Collection.from_yaml(collection)

        network, station, start, end = (
            _given("network", network),
            _given("station", station),
            _given("start", start),
            _given("end", end),
        )
        location = _given("location", location, "*")
        channel = _given("channel", channel, "*")
        sampling_rate = _given("sampling_rate", sampling_rate)
        tier = _given("tier", tier)
        remove_response = _given("remove_response", remove_response)
        pre_filt = _given("pre_filt", pre_filt)
        water_level = _given("water_level", water_level)

        self._arguments = {
            "network": _codes_argument(network),
            "station": _codes_argument(station),
            "location": _codes_argument(location),
            "channel": _codes_argument(channel),
            "start": start,
            "end": end,
            "sampling_rate": sampling_rate,
            "rate_tolerance": rate_tolerance,
            "errors": errors,
        }
        # intake builds the entry with its defaults when it is first looked
        # up, so missing values are reported on use, and bad ones right here.
        self._request = _checked_request(self._arguments)

        self.tier = check_tier(self.collection, tier)
        if self.tier != AUTO_TIER:
            self.collection.tier(self.tier)

        if isinstance(token, str) and token:
            # intake keeps the init arguments for yaml() and pickling, so a
            # reference replaces token text and neither shows it.
            token = token_reference(token)
            self._captured_init_kwargs["token"] = token
        self._credentials = Credentials(token, profile)

        check_options(root or None, storage_options, neighbour_bytes)
        # Secret values stay in this process, out of yaml() and pickles.
        self.storage_options = dict(
            seal_init_options(storage_options, self._captured_init_kwargs) or {}
        )
        self.root = root or None
        self._response_options = check_response_options(
            remove_response, pre_filt, water_level
        )
        self._inventory_name = describe_inventory(inventory)
        if self._response_options is not None:
            check_inventory_source(self.collection, inventory)
            # Read a StationXML path once, for the plan and the responses.
            inventory = load_inventory(inventory)
        self.inventory = inventory
        self.neighbour_bytes = neighbour_bytes
        self._plan: Plan | None = None
        self._dataset: xr.Dataset | None = None
        # What repr shows of a source without start and end: the windows of
        # the last windows() call, or what is still needed.
        self._windows_summary = _missing_summary(self._arguments)

    @property
    def request(self) -> WaveformRequest:
        """The checked request; raises if a required parameter is missing."""
        if self._request is None:
            missing = [
                name for name in _REQUIRED if self._arguments[name] in (None, "")
            ]
            if missing:
                named = [f"{name}=" for name in missing]
                listed = named[-1]
                if len(named) > 1:
                    listed = f"{', '.join(named[:-1])} and {named[-1]}"
                raise InvalidRequestError(
                    f"missing {listed}: a request needs network=, station=, "
                    "start= and end=, for example network='IU', station='ANMO', "
                    "start='2024-01-01', end='2024-01-02'"
                )
            self._request = WaveformRequest.build(**self._arguments)
        return self._request

    def __repr__(self) -> str:
        heading = f"<MiniseedSource {self.collection.name} tier={self.tier!r}"
        if self._request is None:
            return f"{heading} {self._given_codes()} {self._windows_summary}>"
        request = self._request
        codes = codes_text([request.codes(kind) for kind in _CODE_KINDS])
        return f"{heading} {codes} {self._window()}>"

    @property
    def plan(self) -> Plan:
        """The resolved plan (lists and reads headers on first access)."""
        if self._plan is None:
            self._plan = plan_request(
                self.request,
                self.collection,
                self.tier,
                self.storage_options,
                self.root,
                self._credentials,
                self.inventory,
            )
        return self._plan

    def _get_schema(self) -> Schema:
        plan = self.plan
        shape = (len(plan.traces), plan.grid.size)
        return Schema(
            datashape=None,
            dtype={"waveform": "float64"},
            shape=shape,
            npartitions=len(plan.groups) * len(plan.days),
            extra_metadata={
                "traces": [str(seed_id) for seed_id in plan.traces],
                "sampling_rate": plan.rate,
                "chunks": {
                    "trace": list(plan.group_sizes),
                    "time": list(plan.chunk_widths),
                },
                "collection": plan.collection.name,
                "tier": plan.spec.tier_label,
                "objects": len(plan.object_keys()),
            },
        )

    def to_dask(self, **unknown: Any) -> xr.Dataset:
        """Return the lazy dataset; no sample bytes are read.

        Raises
        ------
        UnknownArgumentError
            If given any argument: the request is set when the source opens.
        """
        check_argument_names("to_dask()", unknown, (), _OPEN_WITH_REQUEST)
        if self._dataset is None:
            removal = removal_for(
                self._response_options,
                self.plan,
                self.inventory,
                self._credentials,
                self._inventory_name,
            )
            self._dataset = build_dataset(self.plan, self.neighbour_bytes, removal)
        return self._dataset

    def read(self, **unknown: Any) -> xr.Dataset:
        """Return the dataset with every variable loaded into memory.

        Raises
        ------
        UnknownArgumentError
            If given any argument: the request is set when the source opens.
        """
        check_argument_names("read()", unknown, (), _OPEN_WITH_REQUEST)
        return self.to_dask().load()

    def outcome_table(self) -> pd.DataFrame:
        """Return one row per trace and object: key, status and counters.

        After :meth:`read` this reads nothing more; before it, the objects
        are read to compute the outcomes. See
        :func:`intake_earthscope.dataset.outcome_table`.
        """
        return outcome_table(self.to_dask())

    def read_partition(self, i: tuple[int, int]) -> xr.Dataset:
        """Load the chunk of trace group ``i[0]`` and day ``i[1]``."""
        group, day = i
        plan = self.plan
        first, stop = plan.groups[group]
        start, end = plan.bounds[day], plan.bounds[day + 1]
        subset = self.to_dask().isel(
            trace=slice(first, stop), time=slice(start, end), day=slice(day, day + 1)
        )
        return subset.load()

    def windows(
        self,
        times: Any,
        before: object = _NOT_GIVEN,
        after: object = _NOT_GIVEN,
        errors: object = None,
        **unknown: Any,
    ) -> xr.Dataset:
        """Return lazy windows around ``times`` with this source's codes and tier.

        ``start`` and ``end`` are not used. ``errors`` ("raise", "warn" or
        "ignore") overrides the source's policy for these windows. See
        :func:`~intake_earthscope.windows.open_windows` for the parameters and
        the dataset.

        Raises
        ------
        UnknownArgumentError
            If given another argument, such as codes or obspy's ``starttime``.
        """
        check_argument_names(
            "windows()",
            unknown,
            ("times", "before", "after", "errors"),
            "windows() reads the codes, tier and options of the source, so "
            "open another source for other ones",
        )
        # Checked after the names, so that obspy's starttime= gets its hint
        # where before and after are missing too.
        missing = [
            name
            for name, value in (("before", before), ("after", after))
            if value is _NOT_GIVEN
        ]
        if missing:
            raise TypeError(
                f"windows() missing required argument {' and '.join(missing)}: "
                "give the seconds of data before and after each time, such as "
                "windows(times, before=60, after=120)"
            )
        codes = {kind: self._arguments[kind] for kind in _CODE_KINDS}
        dataset = windows_dataset(
            self.collection,
            times,
            before,
            after,
            codes=codes,
            sampling_rate=self._arguments["sampling_rate"],
            rate_tolerance=self._arguments["rate_tolerance"],
            errors=self._arguments["errors"] if errors is None else errors,
            tier=self.tier,
            storage_options=self.storage_options,
            root=self.root,
            inventory=self.inventory,
            credentials=self._credentials,
        )
        self._windows_summary = _windows_summary(dataset)
        return dataset

    def _close(self) -> None:
        self._dataset = None

    def _window(self) -> str:
        request = self.request
        return f"{format_ns(request.start_ns)}..{format_ns(request.end_ns)}"

    def _given_codes(self) -> str:
        """Join the code patterns given so far as ``NET.STA.LOC.CHA``, the
        blank location empty as in SEED ids (``CH.BALST..LH?``)."""
        fields = []
        for kind in _CODE_KINDS:
            value = self._arguments[kind]
            # "" is the blank location code, but a missing network or station.
            if value is None or (value == "" and kind in _REQUIRED):
                fields.append(f"<no {kind}>")
                continue
            fields.append(",".join(request_codes(value, kind)))
        return ".".join(fields)


_REQUIRED = ("network", "station", "start", "end")
_CODE_KINDS = ("network", "station", "location", "channel")

# Names MiniseedSource takes, for the message about an unknown one.
_PARAMETERS = keyword_names(MiniseedSource.__init__)

_OPEN_WITH_REQUEST = (
    "give the request when opening the source, as in "
    "cat.sage.miniseed(network='IU', station='ANMO', start='2024-01-01', "
    "end='2024-01-02'), and call this method without arguments"
)


def _checked_request(arguments: dict[str, Any]) -> WaveformRequest | None:
    """Build the request, or check what was given when a value is missing."""
    missing = [name for name in _REQUIRED if arguments[name] in (None, "")]
    if not missing:
        return WaveformRequest.build(**arguments)

    for kind in ("network", "station", "location", "channel"):
        if kind not in missing and arguments[kind] is not None:
            request_codes(arguments[kind], kind)
    for name in ("start", "end"):
        if name not in missing:
            request_time(arguments[name], name)
    return None


def _missing_summary(arguments: Mapping[str, Any]) -> str:
    """Name the required parameters missing from a source without windows."""
    missing = [name for name in _REQUIRED if arguments[name] in (None, "")]
    return f"(no windows read; missing {', '.join(missing)})"


def _windows_summary(dataset: xr.Dataset) -> str:
    """Describe the windows of ``dataset``: their count, the span of their
    reference times, and the seconds before and after each."""
    references = dataset["window"].values.astype("datetime64[ns]").astype(np.int64)
    count = len(references)
    noun = "window" if count == 1 else "windows"
    span = format_ns(int(references.min()))
    if count > 1:
        span += f"..{format_ns(int(references.max()))}"
    before = dataset.attrs["before_seconds"]
    after = dataset.attrs["after_seconds"]
    return f"{count} {noun} at {span} before={before:g}s after={after:g}s"


def _given(name: str, value: Any, default: Any = None) -> Any:
    """Return ``value``, or ``default`` where the caller passed None through intake.

    intake 2.0.9 skips a user parameter given as None, so its template
    ``"{{ name }}"`` is rendered with itself and reaches the source as text.
    """
    template = r"\{\{\s*" + re.escape(name) + r"\s*\}\}"
    if isinstance(value, str) and re.fullmatch(template, value):
        return default
    return value


def _codes_argument(value: object) -> object:
    """Undo intake's rendering of a list parameter into its string form."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        if isinstance(parsed, list | tuple):
            return list(parsed)
    return value
