"""A damaged field of thousands of characters is quoted cut in messages.

A position file may contain a long run of junk in a number column, such as
a block of a disk image or rows that lost their line feeds. Its read failed
with a message that quoted the whole field, so each warning and log line
was as long as the field. The files are the synthetic GAGE CSV and .pos text of
test_gnss_positions with one field replaced.
"""

from __future__ import annotations

import pytest
from test_gnss_positions import CSV_TEXT, pos_text

from intake_earthscope.errors import DecodeError
from intake_earthscope.gnss.positions import parse_positions

JUNK = "Z" * 50_000
# The limit leaves room for the file name and the reason around the quote.
MESSAGE_MAX = 600


def pos_with_junk() -> str:
    lines = pos_text(5).splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith(" 2020"))
    fields = lines[row].split()
    fields[15] = JUNK
    lines[row] = " " + " ".join(fields) + "\n"
    return "".join(lines)


CASES = {
    "TEST.csv": CSV_TEXT.replace(" 5.0,", f" {JUNK},", 1),
    "TEST.pos": pos_with_junk(),
    "DATE.csv": CSV_TEXT.replace("2020-01-02,", f"{JUNK},", 1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_junk_field_quoted_cut(name: str) -> None:
    with pytest.raises(DecodeError) as raised:
        parse_positions(CASES[name], name)
    message = str(raised.value)

    assert len(message) < MESSAGE_MAX, message[:MESSAGE_MAX]
    assert "ZZZZ" in message
    assert "more characters" in message
    assert name in message
