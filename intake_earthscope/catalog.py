"""The shipped catalog: its path, its nested catalogs and ``intake.cat.earthscope``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from intake.catalog.local import YAMLFileCatalog

from intake_earthscope.errors import CatalogFileNotFoundError, CatalogReadError

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
    intake_earthscope.errors.CatalogFileNotFoundError
        When the entry is opened and its file does not exist, such as in a
        copy of the catalog folder that lacks the file. The other entries of
        the top-level catalog keep working.
    intake_earthscope.errors.CatalogReadError
        From ``read()``, ``read_chunked()``, ``read_partition()`` and
        ``to_dask()`` (a ``NotImplementedError``).
    """

    def _load(self, reload: bool = False) -> None:
        try:
            super()._load(reload=reload)
        except FileNotFoundError as error:
            if isinstance(error, CatalogFileNotFoundError):
                raise
            message = missing_file_message(str(self.path), self.name)
            raise CatalogFileNotFoundError(message) from None

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


def missing_file_message(path: str, entry: str | None = None) -> str:
    """Return the message for the missing file ``path`` of a nested catalog.

    It names the file, the entry where known, and the fix: copy the shipped
    file of that name, or remove the entry.
    """
    if "://" not in path:
        path = os.path.normpath(path)
    folder, _, name = path.replace("\\", "/").rpartition("/")
    shipped = catalog_path().parent / name
    if shipped.is_file() and str(shipped) != path:
        fix = f"copy {name} from {str(shipped.parent)!r} into {folder or '.'!r}"
    else:
        fix = f"restore {name} in {folder or '.'!r}"
    named = f" of entry {entry!r}" if entry else ""
    its_entry = f"the entry {entry!r}" if entry else "its entry"
    return (
        f"nested catalog file {path!r}{named} not found: {fix}, or remove "
        f"{its_entry} from the catalog file that names it"
    )


def __getattr__(name: str) -> Any:
    # intake builds intake.cat from this attribute; build it on first use.
    if name == "earthscope":
        return open_catalog()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
