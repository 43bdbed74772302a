"""Intake catalogs and drivers for EarthScope and peer seismic archives.

The package is imported on every ``import intake`` (through the
``intake.imports`` entry point), so this module stays light: the public names
below are loaded on first use.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

__version__ = "0.1.0"

# intake 2.0.9 warns "Shell command not executed" for every string parameter
# of a catalog entry, whether or not it names a shell command, so each entry
# opened printed two warnings per parameter with no use to the user.
warnings.filterwarnings(
    "ignore",
    message="Shell command not executed due to getshell=False",
    category=UserWarning,
    module="intake.catalog.utils",
)

_LAZY = {
    "MiniseedSource": "intake_earthscope.source",
    "availability": "intake_earthscope.availability",
    "catalog_path": "intake_earthscope.catalog",
    "from_obspy": "intake_earthscope.interop",
    "open_catalog": "intake_earthscope.catalog",
    "open_gage_positions": "intake_earthscope.gnss.position_dataset",
    "open_positions": "intake_earthscope.gnss.position_dataset",
    "open_rinex_obs": "intake_earthscope.gnss.rinex_dataset",
    "open_stations": "intake_earthscope.browse",
    "open_waveforms": "intake_earthscope.dataset",
    "open_windows": "intake_earthscope.windows",
    "outcome_table": "intake_earthscope.dataset",
    "plot_availability": "intake_earthscope.availability",
    "plot_positions": "intake_earthscope.plot",
    "plot_waveforms": "intake_earthscope.plot",
    "search_stations": "intake_earthscope.browse",
    "to_obspy": "intake_earthscope.interop",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'intake_earthscope' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
