"""On an S3 tier, the error of a request without objects explains errors=."""

from __future__ import annotations

import numpy as np
import pytest

from intake_earthscope import open_waveforms
from intake_earthscope.errors import MissingObjectsError
from intake_earthscope.testing import LoopbackS3

import mseedgen
from conftest import collection_spec, publish

KEY = "miniseed/XX/2024/001/STA.XX.2024.001"


@pytest.mark.parametrize("station", ["STA", "ST?"])
def test_s3_note_names_policy(s3: LoopbackS3, station: str) -> None:
    start = int(np.datetime64("2024-01-01", "ns").astype(np.int64))
    data = mseedgen.segment_bytes("XX.STA.00.LHZ", start, np.arange(600), 1.0)
    publish(s3, "sage", {KEY: data})

    with pytest.raises(MissingObjectsError) as caught:
        open_waveforms(
            collection_spec("sage"),
            network="XX",
            station=station,
            location="00",
            channel="LHZ",
            start="2024-01-05",
            end="2024-01-05T12:00:00",
            storage_options=s3.anonymous_storage_options(),
            errors="ignore",
        )

    message = str(caught.value)
    assert "errors='ignore' applies to reads once the dataset opens" in message
    assert "tier 'open'" in message
