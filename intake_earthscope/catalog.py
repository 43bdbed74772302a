"""The shipped catalog: where it is, and the ``intake.cat.earthscope`` instance."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["catalog_path", "open_catalog"]


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


def __getattr__(name: str) -> Any:
    # intake builds intake.cat from this attribute; build it on first use.
    if name == "earthscope":
        return open_catalog()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
