"""A position file row whose value is no number is named by row and column.

pandas raises "could not convert string to float" without a row, so the
reader finds the row and column itself, as it does for short rows.
"""

from __future__ import annotations

import pytest
from test_gnss_positions import pos_text

from intake_earthscope.errors import DecodeError
from intake_earthscope.gnss.positions import parse_positions


def damaged(old: str, new: str, row: int) -> bytes:
    """Replace ``old`` by ``new`` in data row ``row`` (1 is the first)."""
    lines = pos_text(days=3).splitlines(keepends=True)
    header = len(lines) - 3
    lines[header + row - 1] = lines[header + row - 1].replace(old, new, 1)
    return "".join(lines).encode()


@pytest.mark.parametrize("value", ["x.002", "0.002.0"])
def test_row_and_column_named(value: str) -> None:
    with pytest.raises(DecodeError) as raised:
        parse_positions(damaged("0.00200 ", f"{value} ", 2), "TEST.pos")

    message = str(raised.value)
    assert message.startswith("invalid data row 2 (after the header) of TEST.pos")
    assert repr(value) in message
    assert "is not a number" in message
    assert "could not convert" not in message


def test_good_rows_still_read() -> None:
    parsed = parse_positions(pos_text(days=3).encode(), "TEST.pos")

    assert parsed.time.size == 3
