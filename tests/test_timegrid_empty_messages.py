"""Messages of label selection on a lazy time grid without labels.

A positional slice such as ``isel(time=slice(0, 0))`` keeps the lazy index
with size 0. No ``method=`` finds a label there, so the KeyError must not
suggest one.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from intake_earthscope.timegrid import time_coords

START_NS = 1_704_067_200 * 10**9
LABEL = "2024-01-01T00:00:00.011"


@pytest.fixture
def empty() -> xr.Dataset:
    full = xr.Dataset(coords=time_coords(START_NS, 1e7, 100))
    return full.isel(time=slice(0, 0))


@pytest.mark.parametrize("method", [None, "nearest", "pad", "backfill"])
@pytest.mark.parametrize("label", [LABEL, np.array([LABEL], dtype="datetime64[ns]")])
def test_empty_grid_sel_message(
    empty: xr.Dataset, method: str | None, label: object
) -> None:
    with pytest.raises(KeyError) as caught:
        empty.sel(time=label, method=method)

    message = str(caught.value)
    assert "size=0" in message
    assert "has no labels" in message
    assert "method=" not in message
