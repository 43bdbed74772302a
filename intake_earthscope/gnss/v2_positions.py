"""Intake v2 reader of daily GNSS position time series (``gage_positions``).

intake imports :mod:`intake_earthscope.v2` on every ``import intake``, and
that module imports this one, so at import time this module imports nothing
beyond intake and the standard library. The reader imports the core
(xarray, dask, pandas) when it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from intake.readers.datatypes import BaseData
from intake.readers.readers import BaseReader

from intake_earthscope.readerargs import merge_request

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["POSITION_REQUEST_KEYS", "GnssPositionProduct", "GnssPositionReader"]

#: Keys of the ``request`` mapping, which are keyword arguments of
#: :func:`intake_earthscope.gnss.position_dataset.open_gage_positions`.
POSITION_REQUEST_KEYS = (
    "station",
    "start",
    "end",
    "analysis_center",
    "solution",
    "frame",
    "format",
    "errors",
    "tier",
)


class GnssPositionProduct(BaseData):
    """A GNSS position product, described by its catalog mapping.

    Parameters
    ----------
    product : mapping
        The ``product:`` mapping of the catalog YAML (name, tiers, paths,
        choices), as the v1 entry gives it.
    metadata : dict, optional
        Intake metadata.

    Raises
    ------
    intake_earthscope.errors.CatalogError
        If the mapping lacks a name, tiers or paths.
    """

    structure = {"array", "timeseries"}

    def __init__(
        self,
        product: Mapping[str, Any],
        metadata: dict[str, Any] | None = None,
        **unknown: object,
    ) -> None:
        from intake_earthscope.gnss.archive import GnssProduct

        # v2.py imports this module, so its check is imported here.
        from intake_earthscope.v2 import check_catalog_arguments

        check_catalog_arguments(unknown)
        # Check the mapping now, so that a bad catalog fails when the entry
        # is opened. The reader hands the plain mapping to the core.
        GnssProduct.from_yaml(product)
        self.product = dict(product)
        super().__init__(metadata)


class GnssPositionReader(BaseReader):
    """Read a request from a :class:`GnssPositionProduct` into a lazy Dataset.

    The catalog passes the request in a ``request`` mapping (keys in
    :data:`POSITION_REQUEST_KEYS`); keyword arguments such as ``root``,
    ``storage_options`` or ``token`` override it.

    Examples
    --------
    >>> import intake  # doctest: +SKIP
    >>> cat = intake.open_catalog("catalogs/earthscope_v2.yaml")  # doctest: +SKIP
    >>> reader = cat(station="P156", start="2020-01-01",
    ...              end="2021-01-01").gage_positions  # doctest: +SKIP
    >>> ds = reader.to_dask()  # doctest: +SKIP
    """

    implements = {GnssPositionProduct}
    imports = {"xarray", "dask", "pandas"}
    func = "intake_earthscope.gnss.position_dataset:open_gage_positions"
    output_instance = "xarray:Dataset"

    def _read(
        self,
        data: GnssPositionProduct,
        request: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> xr.Dataset:
        from intake_earthscope.gnss.position_dataset import open_gage_positions

        # The catalog default "" selects the default tier and choices, as in v1.
        defaults = ("tier", "analysis_center", "solution", "frame", "format")
        arguments = merge_request(request, kwargs, POSITION_REQUEST_KEYS, defaults)
        return open_gage_positions(data.product, **arguments)

    def to_dask(self, **kwargs: Any) -> xr.Dataset:
        """Return the lazy dataset; ``kwargs`` override the reader's arguments."""
        return self.read(**kwargs)
