"""Intake v1 driver ``earthscope_gnss_positions``: daily GNSS positions.

A thin adapter over :func:`intake_earthscope.gnss.position_dataset.open_gage_positions`.
The arguments are checked when the source is built. The archive is read
only on first use: a station listing for wildcards, and each file's span
when ``start`` or ``end`` is empty.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import xarray as xr
from intake.source.base import DataSource, Schema

from intake_earthscope import __version__
from intake_earthscope.auth import token_reference
from intake_earthscope.catalog import shown_path
from intake_earthscope.errors import CatalogError
from intake_earthscope.gnss.archive import GnssProduct
from intake_earthscope.gnss.position_dataset import (
    check_errors,
    open_gage_positions,
    parse_window,
    product_choices,
    station_patterns,
)
from intake_earthscope.readerargs import check_argument_names, keyword_names
from intake_earthscope.request import check_options
from intake_earthscope.source import _codes_argument
from intake_earthscope.storage import seal_init_options

__all__ = ["GnssPositionSource"]

logger = logging.getLogger(__name__)


class GnssPositionSource(DataSource):
    """Daily GNSS position time series of GAGE stations, as a lazy Dataset.

    Parameters
    ----------
    product : dict
        The product description from the catalog YAML (tiers, path
        templates, choices).
    station : str or list of str
        Four-character station ids, comma list, ``?``/``*`` wildcards.
    start, end : str or datetime, optional
        UTC window, end exclusive. Empty reads each file's declared span at
        open: its header on S3 or a mirror, the whole file over HTTPS.
    analysis_center, solution, frame, format : str
        Product choices; defaults ``cwu``, ``final``, ``nam14``, ``pos``.
        :func:`~intake_earthscope.gnss.position_dataset.open_gage_positions`
        matches them in any case. Of the catalog parameters, ``frame`` takes
        any case and the others the lower-case spellings. The ``frame``
        coordinate contains the
        frame as each file's header spells it, such as ``NAM14``.
    errors : {"raise", "warn", "ignore"}
        Policy for missing, unreadable or access-denied files.
    tier : str, optional
        Product tier; the default tier when empty.
    storage_options : dict, optional
        fsspec options for S3 and mirror tiers.
    root : str, optional
        Mirror with the archive's layout (local directory or fsspec URL).
    token : str or path, optional
        EarthScope token or path to a ``tokens.json``; never stored in the
        dataset or the graph.
    profile : str, optional
        earthscope-sdk profile whose tokens to use.
    metadata : dict, optional
        Intake metadata.

    Examples
    --------
    >>> import intake  # doctest: +SKIP
    >>> cat = intake.open_catalog("catalogs/earthscope.yaml")  # doctest: +SKIP
    >>> src = cat.gage.positions(station="P156,P157", start="2020-01-01",
    ...                          end="2021-01-01")  # doctest: +SKIP
    >>> ds = src.to_dask()  # doctest: +SKIP
    """

    name = "earthscope_gnss_positions"
    version = __version__
    container = "xarray"
    partition_access = True

    def __init__(
        self,
        product: Mapping[str, Any],
        station: object = None,
        start: object = None,
        end: object = None,
        analysis_center: str | None = None,
        solution: str | None = None,
        frame: str | None = None,
        format: str | None = None,
        errors: str = "raise",
        tier: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        root: str | None = None,
        token: Any = None,
        profile: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        check_argument_names(
            "GnssPositionSource",
            unknown,
            _PARAMETERS,
            "run describe() on the catalog entry for its parameters",
        )
        super().__init__(metadata=dict(metadata or {}))
        self.product = GnssProduct.from_yaml(product)

        station = _codes_argument(station)
        # intake builds the entry with its defaults when it is first looked
        # up, so a missing station is reported on use, and bad values here.
        if station not in (None, "", []):
            station_patterns(station)
        parse_window(start, end)
        check_errors(errors)
        product_choices(self.product, analysis_center, solution, frame, format)
        self.product.tier(tier or None)
        check_options(root or None, storage_options, None)

        if isinstance(token, str) and token:
            # intake keeps the init arguments for yaml() and pickling, so a
            # reference replaces token text and neither shows it.
            token = token_reference(token)
            self._captured_init_kwargs["token"] = token

        # Secret values stay in this process, out of yaml() and pickles.
        storage_options = seal_init_options(storage_options, self._captured_init_kwargs)
        self.storage_options = storage_options
        self._arguments: dict[str, Any] = {
            "station": station,
            "start": start,
            "end": end,
            "analysis_center": analysis_center,
            "solution": solution,
            "frame": frame,
            "format": format,
            "errors": errors,
            "tier": tier or None,
            "storage_options": storage_options,
            "root": root or None,
            "token": token,
            "profile": profile,
        }
        self._dataset: xr.Dataset | None = None

    def __repr__(self) -> str:
        station = self._arguments["station"] or "(station needed)"
        return f"<GnssPositionSource {self.product.name} station={station!r}>"

    def _get_schema(self) -> Schema:
        dataset = self.to_dask()
        return Schema(
            datashape=None,
            dtype={"north": "float64"},
            shape=(dataset.sizes["station"], dataset.sizes["time"]),
            npartitions=dataset.sizes["station"],
            extra_metadata={
                "stations": [str(code) for code in dataset.station.values],
                "product": self.product.name,
            },
        )

    def to_dask(self) -> xr.Dataset:
        """Return the lazy dataset; with start and end given, nothing is read."""
        if self._dataset is None:
            try:
                self._dataset = open_gage_positions(self.product, **self._arguments)
            except CatalogError as error:
                where = self._catalog_entry()
                if where is None:
                    raise
                raise CatalogError(
                    f"{where}: {error}. Fix the entry in the catalog file"
                ) from None
        return self._dataset

    def _catalog_entry(self) -> str | None:
        """Name the catalog file and the entry this source was built from, or
        return ``None`` for a source built without a catalog.

        intake sets ``cat`` and ``name`` when it builds the source of an entry.
        An entry of the shipped catalog has its templates checked when it is
        opened, but one of a nested catalog file opened alone with
        ``intake.open_catalog`` fails on a template only here.
        """
        path = getattr(getattr(self, "cat", None), "path", None)
        if not isinstance(path, str) or not self.name:
            return None
        return f"catalog file {shown_path(path)!r}, entry {self.name!r}"

    def read(self) -> xr.Dataset:
        """Return the dataset with every variable loaded into memory."""
        return self.to_dask().load()

    def read_partition(self, i: int) -> xr.Dataset:
        """Load station ``i``."""
        return self.to_dask().isel(station=slice(i, i + 1)).load()

    def _close(self) -> None:
        self._dataset = None


# Names GnssPositionSource takes, for the message about an unknown one.
_PARAMETERS = keyword_names(GnssPositionSource.__init__)
