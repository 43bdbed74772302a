"""max_shift is NaN for a trace with no samples, as time_offset is.

A missing day and a window without data place no sample, so no shift was
measured. They gave 0.0, which reads as samples that sat on the grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_windows import CODES, DAY, RATE, key, mirror, windows

from intake_earthscope.dataset import open_waveforms

import mseedgen
from conftest import collection_spec


def test_missing_day_and_empty_window(tmp_path: Path) -> None:
    values = np.arange(600 * 20, dtype=np.int32)
    data = mseedgen.segment_bytes("XX.STA.00.BHZ", DAY, values, RATE, encoding="int32")
    root = mirror(tmp_path / "mirror", {key(1): data})

    days = open_waveforms(
        collection_spec("sage"),
        root=str(root),
        **{**CODES, "channel": "BHZ"},
        start="2024-01-01",
        end="2024-01-03",
        sampling_rate=RATE,
        errors="ignore",
    ).load()
    empty = windows(root, ["2024-01-01T05:00:00"], 10.0, 10.0, channel="BHZ")

    assert days.status.values.ravel().tolist() == ["ok", "missing"]
    assert days.max_shift.values.ravel()[0] == 0.0
    assert np.isnan(days.max_shift.values.ravel()[1])
    assert empty.status.values[0, 0] == "no_data_in_window"
    assert np.isnan(empty.max_shift.values[0, 0])
