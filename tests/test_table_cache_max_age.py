"""TableCache rejects a max_age that is no finite number of seconds >= 0."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.stationtable import TableCache, parse_gage_station_list

GAGE_LIST = """\
P123   40.123456  -111.654321  1523.456  2004-05-04  2024-01-01  Somewhere, UT
AB01   64.500000   209.250000   100.000  20050101    20250101
"""


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), -1, -0.5, True, "60"]
)
def test_cache_rejects_max_age(value: object, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        TableCache(tmp_path, max_age=value)
    message = str(raised.value)

    assert f"max_age={value!r}" in message
    assert "finite number of seconds >= 0" in message
    assert "0 to fetch the table anew" in message


@pytest.mark.parametrize("value", [0, 0.0, 1, 86400.5])
def test_cache_accepts_max_age(value: float, tmp_path: Path) -> None:
    cache = TableCache(tmp_path, max_age=value)

    assert cache.max_age == float(value)
    assert isinstance(cache.max_age, float)


def test_cache_zero_max_age_fetches(tmp_path: Path) -> None:
    table = parse_gage_station_list(GAGE_LIST)
    cache = TableCache(tmp_path, max_age=0)
    fetched = []

    def fetch() -> pd.DataFrame:
        fetched.append(1)
        return table.copy()

    cache.get("q", fetch)
    cache.get("q", fetch)

    assert len(fetched) == 2
