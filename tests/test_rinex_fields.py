"""Conversion of RINEX observation fields, checked against Python's float parser."""

from __future__ import annotations

import random

import numpy as np
import pytest

from intake_earthscope.gnss.rinexfields import BLOCK_FIELDS, field_values


def as_fields(texts: list[bytes]) -> np.ndarray:
    """Pack 14-byte values plus two indicator bytes into a (n, 16) array."""
    padded = [text.ljust(14)[:14] + b"12" for text in texts]
    return np.frombuffer(b"".join(padded), np.uint8).reshape(-1, 16).copy()


def expected(text: bytes) -> float:
    """Return Python's float of a field, or NaN for a blank field or no number."""
    try:
        return float(text.ljust(14)[:14])
    except ValueError:
        return np.nan


def assert_same(texts: list[bytes]) -> None:
    got = field_values(as_fields(texts))
    want = np.array([expected(text) for text in texts])
    mismatched = [
        (text, value, reference)
        for text, value, reference in zip(texts, got, want, strict=True)
        if not (value == reference or (np.isnan(value) and np.isnan(reference)))
    ]
    assert not mismatched, mismatched[:5]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b"  23619095.450", 23619095.45),
        (b" -53875.632   ", -53875.632),
        (b"9999999999.999", 9999999999.999),
        (b"-999999999.999", -999999999.999),
        (b"        44.000", 44.0),
        (b"          .125", 0.125),
        (b"         -.125", -0.125),
        (b"        -0.000", 0.0),
        (b"   +12345.678 ", 12345.678),
        (b"  1.234500E+03", 1234.5),
    ],
)
def test_values_of_readable_fields(text: bytes, value: float) -> None:
    assert field_values(as_fields([text]))[0] == value


@pytest.mark.parametrize(
    "text",
    [
        b"              ",
        b"    12 45.678 ",
        b"    -12-4.000 ",
        b"   --1234.000 ",
        b"   1234-.000  ",
        b"    1234.5x7  ",
        b"   12\xff34.567 ",
        b"    - 12.000  ",
    ],
)
def test_unreadable_or_blank_fields_are_nan(text: bytes) -> None:
    assert np.isnan(field_values(as_fields([text]))[0])


def test_indicator_digits_do_not_change_the_value() -> None:
    fields = as_fields([b"  23619095.450"] * 3)
    fields[1, 14:] = ord(" ")
    fields[2, 14:] = (ord("7"), ord("9"))

    assert np.all(field_values(fields) == 23619095.45)


def test_random_standard_values_match_the_decimal_text() -> None:
    draw = random.Random(20261206)
    texts = [
        f"{draw.uniform(-9.99e8, 9.99e9):14.3f}".encode() for _ in range(5_000)
    ] + [f"{draw.uniform(-99, 99):14.3f}".encode() for _ in range(5_000)]

    assert_same(texts)


def test_random_damage_matches_the_float_parser() -> None:
    draw = random.Random(6)
    alphabet = b" 0123456789-.+eE,x"
    texts = []
    for _ in range(20_000):
        text = bytearray(f"{draw.uniform(-1e7, 1e8):14.3f}".encode())
        for _ in range(draw.randint(1, 2)):
            text[draw.randrange(14)] = draw.choice(alphabet)
        texts.append(bytes(text))

    assert_same(texts)


def test_second_block_and_shape() -> None:
    texts = [b"      1000.250"] * (BLOCK_FIELDS + 8)
    texts[BLOCK_FIELDS + 5] = b"   1.0000E+02 "
    texts[BLOCK_FIELDS + 6] = b"              "
    fields = as_fields(texts).reshape(-1, 4, 16)

    values = field_values(fields)

    assert values.shape == fields.shape[:2]
    want = np.full(len(texts), 1000.25)
    want[BLOCK_FIELDS + 5] = 100.0
    want[BLOCK_FIELDS + 6] = np.nan
    np.testing.assert_array_equal(values.ravel(), want)
