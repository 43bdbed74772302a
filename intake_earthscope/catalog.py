"""The shipped catalog: its path, its nested catalogs and ``intake.cat.earthscope``."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from intake.catalog.local import YAMLFileCatalog

from intake_earthscope.errors import CatalogReadError

__all__ = ["ArchiveCatalog", "catalog_path", "open_catalog"]


def catalog_path(version: int = 1) -> Path:
    """Return the path of the shipped catalog file.

    Parameters
    ----------
    version : {1, 2}
        The intake v1 catalog (``earthscope.yaml``) or its ``version: 2``
        twin (``earthscope_v2.yaml``).
    """
    name = "earthscope.yaml" if version == 1 else "earthscope_v2.yaml"
    installed = resources.files("intake_earthscope") / "catalogs" / name
    if installed.is_file():
        return Path(str(installed))
    # A source checkout keeps the catalogs beside the package.
    return Path(__file__).resolve().parent.parent / "catalogs" / name


def open_catalog(**kwargs: Any) -> Any:
    """Open the shipped v1 catalog with :func:`intake.open_catalog`."""
    import intake

    return intake.open_catalog(str(catalog_path()), **kwargs)


class ArchiveCatalog(YAMLFileCatalog):
    """A nested catalog of the shipped v1 catalog, such as ``sage``.

    It is intake's YAML file catalog, and keeps its driver name
    ``yaml_file_cat``. Only the data methods differ: intake raises a bare
    ``NotImplementedError`` for them, while this class names the catalog
    and the entries to call them on.

    Raises
    ------
    intake_earthscope.errors.CatalogReadError
        From ``read()``, ``read_chunked()``, ``read_partition()`` and
        ``to_dask()`` (a ``NotImplementedError``).
    """

    def read(self) -> NoReturn:
        raise self._read_error("read")

    def read_chunked(self) -> Iterator[Any]:
        raise self._read_error("read_chunked")

    def read_partition(self, i: Any) -> NoReturn:
        raise self._read_error("read_partition")

    def to_dask(self) -> NoReturn:
        raise self._read_error("to_dask")

    def _read_error(self, method: str) -> CatalogReadError:
        entries = ", ".join(sorted(self)) or "none"
        return CatalogReadError(
            f"{self.name!r} is a catalog, not a data source, so it has no "
            f"{method}(). Call it on one of its entries, as in "
            f"cat.{self.name}.<entry>.{method}(). Entries of {self.name!r}: "
            f"{entries}"
        )


def __getattr__(name: str) -> Any:
    # intake builds intake.cat from this attribute; build it on first use.
    if name == "earthscope":
        return open_catalog()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
