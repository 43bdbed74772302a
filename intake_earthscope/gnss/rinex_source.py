"""Intake v1 driver ``earthscope_rinex_obs``: daily RINEX observations.

A thin adapter over :mod:`intake_earthscope.gnss.rinex_dataset`: the source
checks its arguments when it is built and opens the dataset on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import xarray as xr
from intake.source.base import DataSource, Schema

from intake_earthscope import __version__
from intake_earthscope.auth import token_reference
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.gnss.archive import GnssProduct
from intake_earthscope.gnss.rinex_dataset import (
    ERROR_POLICIES,
    RinexPlan,
    build_rinex_dataset,
    plan_rinex,
    rinex_window,
)
from intake_earthscope.readerargs import check_argument_names, keyword_names
from intake_earthscope.request import check_options
from intake_earthscope.storage import seal_init_options

__all__ = ["RinexObsSource"]

logger = logging.getLogger(__name__)


class RinexObsSource(DataSource):
    """Daily RINEX observations of one station, as a lazy Dataset.

    Parameters
    ----------
    product : dict
        The ``product:`` mapping from the catalog YAML (tiers, paths).
    station : str
        Four-character station id, such as ``"YORK"``.
    start, end : str or datetime
        UTC window; ``end`` is exclusive.
    variant : str, optional
        Path variant (``rinex2`` or ``rinex3``); the product's default when
        empty.
    errors : {"raise", "warn", "ignore"}
        Policy for missing, refused or unreadable day files.
    tier : str, optional
        Product tier; its default when empty.
    storage_options : dict, optional
        fsspec options for S3 and mirror tiers.
    root : str, optional
        Mirror with the same layout.
    token : str or path, optional
        EarthScope token or ``tokens.json`` path (GAGE file server).
    profile : str, optional
        earthscope-sdk profile whose tokens to use.
    indicators : bool
        Also read the LLI and SSI digits as int8 variables ``{code}_lli`` and
        ``{code}_ssi``.
    metadata : dict, optional
        Intake metadata.

    Examples
    --------
    >>> import intake  # doctest: +SKIP
    >>> cat = intake.open_catalog("catalogs/earthscope.yaml")  # doctest: +SKIP
    >>> ds = cat.noaa_cors.rinex_obs(station="YORK", start="2015-02-13",
    ...                              end="2015-02-14").to_dask()  # doctest: +SKIP
    """

    name = "earthscope_rinex_obs"
    version = __version__
    container = "xarray"
    partition_access = True

    def __init__(
        self,
        product: Mapping[str, Any],
        station: str = "",
        start: object = None,
        end: object = None,
        variant: str = "",
        errors: str = "raise",
        tier: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        root: str | None = None,
        token: Any = None,
        profile: str | None = None,
        indicators: bool = False,
        metadata: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        check_argument_names(
            "RinexObsSource",
            unknown,
            _PARAMETERS,
            "run describe() on the catalog entry for its parameters",
        )
        super().__init__(metadata=dict(metadata or {}))
        self.product = GnssProduct.from_yaml(product)
        if errors not in ERROR_POLICIES:
            raise InvalidRequestError(
                f"invalid errors={errors!r}: expected one of {list(ERROR_POLICIES)}"
            )
        self.tier = tier or self.product.default_tier
        self.product.tier(self.tier)
        self.variant = variant or str(
            self.product.extra.get("default_variant", "rinex2")
        )
        self.product.path(self.variant)
        check_options(root or None, storage_options, None)
        # intake builds the entry with its defaults when it is first looked
        # up, so missing times are reported on use, and bad ones right here.
        if start not in (None, "") and end not in (None, ""):
            rinex_window(start, end)

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
            "variant": self.variant,
            "errors": errors,
            "tier": self.tier,
            "storage_options": dict(storage_options or {}),
            "root": root or None,
            "token": token or None,
            "profile": profile or None,
            "indicators": bool(indicators),
        }
        self._plan: RinexPlan | None = None
        self._dataset: xr.Dataset | None = None

    def __repr__(self) -> str:
        arguments = self._arguments
        return (
            f"<RinexObsSource {self.product.name} tier={self.tier!r} "
            f"station={arguments['station']!r} {arguments['start']}.."
            f"{arguments['end']}>"
        )

    @property
    def plan(self) -> RinexPlan:
        """The scanned plan (downloads and scans each day on first access)."""
        if self._plan is None:
            missing = [
                name
                for name in ("station", "start", "end")
                if self._arguments[name] in (None, "")
            ]
            if missing:
                raise InvalidRequestError(
                    f"missing {', '.join(missing)}: for example "
                    "cat.noaa_cors.rinex_obs(station='YORK', start='2015-02-13', "
                    "end='2015-02-14')"
                )
            self._plan = plan_rinex(self.product, **self._arguments)
        return self._plan

    def _get_schema(self) -> Schema:
        plan = self.plan
        days = [day for day in plan.days if day.times.size]
        return Schema(
            datashape=None,
            dtype={code: "float64" for code in plan.codes},
            shape=(sum(day.times.size for day in days), len(plan.sv)),
            npartitions=len(days),
            extra_metadata={
                "product": plan.product,
                "station": plan.station,
                "sv": plan.sv,
                "codes": plan.codes,
                "statuses": {str(day.day): day.status for day in plan.days},
            },
        )

    def to_dask(self) -> xr.Dataset:
        """Return the lazy dataset (open downloads and scans each day)."""
        if self._dataset is None:
            self._dataset = build_rinex_dataset(self.plan)
        return self._dataset

    def read(self) -> xr.Dataset:
        """Return the dataset with every variable loaded into memory."""
        return self.to_dask().load()

    def read_partition(self, i: int) -> xr.Dataset:
        """Load the chunk of the ``i``-th day that has epochs."""
        dataset = self.to_dask()
        sizes = [day.times.size for day in self.plan.days if day.times.size]
        start = sum(sizes[:i])
        return dataset.isel(time=slice(start, start + sizes[i])).load()

    def _close(self) -> None:
        self._dataset = None


# Names RinexObsSource takes, for the message about an unknown one.
_PARAMETERS = keyword_names(RinexObsSource.__init__)
