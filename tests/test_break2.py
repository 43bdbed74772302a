"""Edge cases found by attacking time parsing, RINEX outcomes and the probe."""

from __future__ import annotations

import numpy as np
import pytest

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.timeutil import parse_time


def test_parse_time_day_of_year_lowercase_t() -> None:
    upper = parse_time("2024-060T12:00Z", "start")

    assert parse_time("2024-060t12:00z", "start") == upper


@pytest.mark.parametrize("number", [np.int64(5), np.int32(5), np.uint64(5)])
def test_parse_time_numpy_integer_refused(number) -> None:
    with pytest.raises(InvalidRequestError, match="bare number"):
        parse_time(number, "start")
