"""Intake v2 datatype and reader of daily RINEX observations.

intake imports :mod:`intake_earthscope.v2`, and so this module, on every
``import intake``: at import time it imports nothing beyond intake and the
standard library. The reader imports the core when it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from intake.readers.datatypes import BaseData
from intake.readers.readers import BaseReader

from intake_earthscope.readerargs import merge_request

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["RINEX_REQUEST_KEYS", "RinexObsProduct", "RinexObsReader"]

#: Keys of the ``request`` mapping, which are keyword arguments of
#: :func:`intake_earthscope.gnss.rinex_dataset.open_rinex_obs`.
RINEX_REQUEST_KEYS = ("station", "start", "end", "variant", "errors", "tier")


class RinexObsProduct(BaseData):
    """A RINEX observation product, described by its catalog mapping.

    Parameters
    ----------
    product : mapping
        The ``product:`` mapping of the catalog YAML (name, tiers, paths), as
        the v1 entries give it.
    metadata : dict, optional
        Intake metadata.

    Raises
    ------
    intake_earthscope.errors.CatalogError
        If the mapping lacks a required field.
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
        # Check the mapping now, so that a bad catalog fails when the entry is
        # opened.
        GnssProduct.from_yaml(product)
        self.product = dict(product)
        super().__init__(metadata)

    @property
    def name(self) -> str:
        """Product name, such as ``"noaa_cors.rinex_obs"``."""
        return str(self.product["name"])


class RinexObsReader(BaseReader):
    """Read one station's days from a :class:`RinexObsProduct` as a Dataset.

    The reader calls :func:`intake_earthscope.gnss.rinex_dataset.open_rinex_obs`;
    a catalog passes the request in a ``request`` mapping (keys
    :data:`RINEX_REQUEST_KEYS`), and arguments given by name override it.

    Notes
    -----
    ``read()`` and ``to_dask()`` both return the lazy dataset; opening it
    downloads and scans each day's file (see
    :mod:`intake_earthscope.gnss.rinex_dataset`).
    """

    implements = {RinexObsProduct}
    imports = {"xarray", "dask", "hatanaka"}
    func = "intake_earthscope.gnss.rinex_dataset:open_rinex_obs"
    output_instance = "xarray:Dataset"

    def _read(
        self,
        data: RinexObsProduct,
        request: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> xr.Dataset:
        from intake_earthscope.gnss.rinex_dataset import open_rinex_obs

        # The catalog default "" selects the product's default, as in v1.
        defaults = ("tier", "variant")
        arguments = merge_request(request, kwargs, RINEX_REQUEST_KEYS, defaults)
        return open_rinex_obs(data.product, **arguments)

    def to_dask(self, **kwargs: Any) -> xr.Dataset:
        """Return the lazy dataset; ``kwargs`` override the reader's arguments."""
        return self.read(**kwargs)
