"""Intake catalogs and drivers for EarthScope and peer seismic archives.

The package is imported on every ``import intake`` (through the
``intake.imports`` entry point), so this module stays light: the public names
below are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "MiniseedSource",
    "catalog_path",
    "open_catalog",
    "open_waveforms",
    "open_windows",
    "outcome_table",
    "__version__",
]

_LAZY = {
    "MiniseedSource": "intake_earthscope.source",
    "catalog_path": "intake_earthscope.catalog",
    "open_catalog": "intake_earthscope.catalog",
    "open_waveforms": "intake_earthscope.dataset",
    "open_windows": "intake_earthscope.windows",
    "outcome_table": "intake_earthscope.dataset",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'intake_earthscope' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
