"""Time parsing, and stations that a wildcard read leaves without rows."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from test_faults import DAY, ramp, segment

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError, ReadOutcomeWarning
from intake_earthscope.timeutil import parse_time

from conftest import collection_spec, mirror


def test_parse_time_day_of_year_lowercase_t() -> None:
    upper = parse_time("2024-060T12:00Z", "start")

    assert parse_time("2024-060t12:00z", "start") == upper


@pytest.mark.parametrize("number", [np.int64(5), np.int32(5), np.uint64(5)])
def test_parse_time_numpy_integer_refused(number) -> None:
    with pytest.raises(InvalidRequestError, match="bare number"):
        parse_time(number, "start")


# A station whose object lacks every channel of a wildcard has no row to carry
# a status, so a warning must name it.

STA_KEY = "miniseed/XX/2024/001/STA.XX.2024.001"
STB_KEY = "miniseed/XX/2024/001/STB.XX.2024.001"


def read_stations(tmp_path: Path, objects: dict[str, bytes], **request) -> object:
    """Mirror station-day objects and read stations STA and STB."""
    root = mirror(tmp_path / "mirror", objects)
    parameters = {
        "network": "XX",
        "station": "STA,STB",
        "location": "00",
        "channel": "BH?",
        "start": DAY,
        "end": "2024-01-01T00:01:00",
        "root": str(root),
    }
    parameters.update(request)
    return open_waveforms(collection_spec("sage"), **parameters).load()


def test_wildcard_station_without_channel_warns(tmp_path) -> None:
    objects = {
        STA_KEY: segment("XX.STA.00.BHZ", 0, ramp(6000), 100.0),
        STB_KEY: segment("XX.STB.00.HHZ", 0, ramp(6000), 100.0),
    }

    with pytest.warns(ReadOutcomeWarning, match="XX.STB.00.HHZ"):
        dataset = read_stations(tmp_path, objects)

    assert list(dataset.trace.values) == ["XX.STA.00.BHZ"]


def test_wildcard_station_without_object_warns(tmp_path) -> None:
    objects = {STA_KEY: segment("XX.STA.00.BHZ", 0, ramp(6000), 100.0)}

    with pytest.warns(ReadOutcomeWarning, match="XX.STB"):
        dataset = read_stations(tmp_path, objects)

    assert list(dataset.trace.values) == ["XX.STA.00.BHZ"]


def test_wildcard_station_without_channel_ignored(tmp_path) -> None:
    objects = {
        STA_KEY: segment("XX.STA.00.BHZ", 0, ramp(6000), 100.0),
        STB_KEY: segment("XX.STB.00.HHZ", 0, ramp(6000), 100.0),
    }

    with warnings.catch_warnings():
        warnings.simplefilter("error", ReadOutcomeWarning)
        dataset = read_stations(tmp_path, objects, errors="ignore")

    assert dataset.status.values.tolist() == [["ok"]]
