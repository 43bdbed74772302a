"""TableCache with an entry dated in the future and odd max_age numbers.

A stored table whose file time lies ahead of the clock (written by a host
whose clock runs fast, on a shared folder) has no known age, so it is
fetched anew, and max_age=0 must fetch every time. A max_age too large for a
float is rejected by name, and a NumPy integer counts as a number.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_table_cache_max_age import GAGE_LIST

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.stationtable import TableCache, parse_gage_station_list


def counting_fetch(fetched: list[int]):
    table = parse_gage_station_list(GAGE_LIST)

    def fetch() -> pd.DataFrame:
        fetched.append(1)
        return table.copy()

    return fetch


@pytest.mark.parametrize("max_age", [0, 3600])
def test_future_entry_fetched_again(tmp_path: Path, max_age: float) -> None:
    cache = TableCache(tmp_path, max_age=max_age)
    fetched: list[int] = []
    fetch = counting_fetch(fetched)
    cache.get("q", fetch)
    ahead = time.time() + 86400
    os.utime(cache.path("q"), (ahead, ahead))

    cache.get("q", fetch)

    assert len(fetched) == 2


def test_fresh_entry_still_used(tmp_path: Path) -> None:
    cache = TableCache(tmp_path, max_age=3600)
    fetched: list[int] = []
    fetch = counting_fetch(fetched)

    cache.get("q", fetch)
    cache.get("q", fetch)

    assert len(fetched) == 1


def test_cache_rejects_huge_max_age(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        TableCache(tmp_path, max_age=10**400)

    assert "finite number of seconds >= 0" in str(raised.value)


@pytest.mark.parametrize("value", [np.int64(60), np.float32(60.0), np.uint8(60)])
def test_cache_accepts_numpy_max_age(tmp_path: Path, value: object) -> None:
    cache = TableCache(tmp_path, max_age=value)  # type: ignore[arg-type]

    assert cache.max_age == 60.0
    assert type(cache.max_age) is float
