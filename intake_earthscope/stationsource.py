"""Intake v1 driver ``earthscope_stations``: a collection's searchable station table.

The source fetches the table on first use (through the disk cache) and hands
the work to :class:`intake_earthscope.browse.StationBrowser`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd
from intake.source.base import DataSource, Schema

from intake_earthscope import __version__
from intake_earthscope.browse import (
    StationBrowser,
    open_stations,
    reject_seismic_codes,
)
from intake_earthscope.collection import Collection, check_tier
from intake_earthscope.readerargs import check_argument_names, keyword_names
from intake_earthscope.request import check_options
from intake_earthscope.stationfetch import station_kind
from intake_earthscope.stationmatch import SEISMIC_CODE_CRITERIA
from intake_earthscope.stationtable import DEFAULT_MAX_AGE
from intake_earthscope.storage import seal_init_options

__all__ = ["StationsSource"]

logger = logging.getLogger(__name__)


class StationsSource(DataSource):
    """Stations of one collection as a table, the way intake-esm browses.

    ``read()`` returns the table; ``.df``, ``.search(...)``, ``.unique()``
    and ``.to_dask(start=..., end=...)`` work as on
    :class:`~intake_earthscope.browse.StationBrowser`.

    Parameters
    ----------
    stations : dict
        Where the station metadata lives (the ``stations:`` catalog mapping).
    collection : dict, optional
        The waveform collection that ``to_dask`` reads.
    seed_id : str or list of str, optional
        SEED ids, ``NET.STA.LOC.CHA`` or ``NET.STA``, that narrow the
        fetched table (seismic stations only).
    network, station, location, channel : str, optional
        Codes that narrow the fetched table; ``*`` for every code. GNSS
        stations take ``station`` only.
    max_age : float
        Seconds a cached table stays fresh.
    cache_dir : str, optional
        Directory of cached tables.
    storage_options, root, token, profile, tier
        As for :class:`~intake_earthscope.source.MiniseedSource`.
    metadata : dict, optional
        Intake metadata.

    Examples
    --------
    >>> import intake  # doctest: +SKIP
    >>> cat = intake.open_catalog("catalogs/earthscope.yaml")  # doctest: +SKIP
    >>> stations = cat.scedc.stations(station="WBM")  # doctest: +SKIP
    >>> stations.search(channel="LHZ").df  # doctest: +SKIP
    """

    name = "earthscope_stations"
    version = __version__
    container = "dataframe"
    partition_access = False

    def __init__(
        self,
        stations: Mapping[str, Any],
        collection: Mapping[str, Any] | None = None,
        seed_id: str | list[str] | None = None,
        network: str | None = None,
        station: str | None = None,
        location: str | None = None,
        channel: str | None = None,
        max_age: float | str = DEFAULT_MAX_AGE,
        cache_dir: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        root: str | None = None,
        token: Any = None,
        profile: str | None = None,
        tier: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        check_argument_names(
            "StationsSource",
            unknown,
            _PARAMETERS,
            "run describe() on the catalog entry for its parameters, and give "
            "times to search(start=..., end=...)",
        )
        check_options(root or None, storage_options, None)
        super().__init__(metadata=dict(metadata or {}))
        # Check the mapping now, so that a bad catalog fails on lookup.
        self.kind = station_kind(stations)
        self.stations = dict(stations)
        self.collection = dict(collection) if collection is not None else None
        if tier and self.collection is not None:
            # The tier is used only when the browser opens waveforms, so a
            # wrong one is rejected here, before any station is fetched.
            check_tier(Collection.from_yaml(self.collection), tier)
        # Secret values stay in this process, out of yaml() and pickles.
        storage_options = seal_init_options(storage_options, self._captured_init_kwargs)
        self.storage_options = storage_options
        self._arguments = {
            "seed_id": seed_id,
            "network": network,
            "station": station,
            "location": location,
            "channel": channel,
            # intake renders the float parameter into the text of the args.
            "max_age": float(max_age),
            "cache_dir": cache_dir or None,
            "storage_options": storage_options,
            "root": root or None,
            "token": token,
            "profile": profile or None,
            "tier": tier or None,
        }
        if self.kind == "gnss":
            # Rejected now, as the command line rejects them, not on first read.
            codes = {kind: self._arguments.pop(kind) for kind in SEISMIC_CODE_CRITERIA}
            reject_seismic_codes(str(self.stations.get("name", "stations")), codes)
        self._browser: StationBrowser | None = None

    def __repr__(self) -> str:
        return f"<StationsSource {self.stations.get('name', 'stations')}>"

    @property
    def browser(self) -> StationBrowser:
        """The browser of the fetched table (fetched on first access)."""
        if self._browser is None:
            self._browser = open_stations(
                self.stations, self.collection, **self._arguments
            )
        return self._browser

    @property
    def df(self) -> pd.DataFrame:
        """The station table."""
        return self.browser.df

    def search(self, **criteria: Any) -> StationBrowser:
        """Return a browser of the matching rows; see ``StationBrowser.search``."""
        return self.browser.search(**criteria)

    def unique(self, columns: str | list[str] | None = None) -> pd.Series:
        """Return the unique values of each column."""
        return self.browser.unique(columns)

    def availability(
        self, start: object = None, end: object = None, **kwargs: Any
    ) -> pd.DataFrame:
        """List which objects exist per trace and day; see ``StationBrowser``."""
        return self.browser.availability(start, end, **kwargs)

    def _get_schema(self) -> Schema:
        table = self.browser.df
        return Schema(
            datashape=None,
            dtype={name: str(dtype) for name, dtype in table.dtypes.items()},
            shape=table.shape,
            npartitions=1,
            extra_metadata={"kind": self.kind},
        )

    def read(self) -> pd.DataFrame:
        """Return the station table."""
        return self.browser.df

    def to_dask(self, start: object = None, end: object = None, **kwargs: Any) -> Any:
        """Open every channel (or GNSS station) of the table lazily.

        See :meth:`StationBrowser.to_dask`; search first to narrow it.
        """
        return self.browser.to_dask(start, end, **kwargs)

    def _close(self) -> None:
        self._browser = None


_PARAMETERS = keyword_names(StationsSource.__init__)
