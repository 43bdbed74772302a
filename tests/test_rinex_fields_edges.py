"""RINEX field conversion at its edges, bit for bit against Python's float.

Each field is compared with ``float`` of its 14 value bytes (NaN where float
raises). The comparison is on the bits, so -0.0 and 0.0 differ.
"""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from intake_earthscope.gnss.rinexfields import field_values


def fields_of(texts: list[bytes]) -> np.ndarray:
    """Pack 14-byte values and two indicator digits into an (n, 16) array."""
    assert all(len(text) == 14 for text in texts)
    packed = b"".join(text + b"12" for text in texts)
    return np.frombuffer(packed, np.uint8).reshape(-1, 16).copy()


def float_or_nan(text: bytes) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def bits(value: float) -> bytes:
    """Return the bytes of a double, with every NaN mapped to one pattern."""
    return b"nan" if value != value else struct.pack("<d", value)


def mismatches(texts: list[bytes]) -> list[tuple[bytes, float, float]]:
    got = field_values(fields_of(texts))
    return [
        (text, float(value), float_or_nan(text))
        for text, value in zip(texts, got, strict=True)
        if bits(float(value)) != bits(float_or_nan(text))
    ]


@pytest.mark.parametrize(
    "text",
    [
        b"        -0.000",
        b"-000000000.000",
        b"         -.000",
        b"  -0.00000E+00",
    ],
)
def test_negative_zero_keeps_its_sign(text: bytes) -> None:
    value = field_values(fields_of([text]))[0]

    assert value == 0.0
    assert np.signbit(value)


@pytest.mark.parametrize(
    "text",
    [
        b"3228936708.94\x00",
        b"   1.5\x00\x00\x00\x00\x00\x00\x00\x00",
        b"1.5" + b"\x00" * 11,
        b"\x00" * 14,
        b"  23619095.45\x00",
    ],
)
def test_nul_bytes_make_a_field_nan(text: bytes) -> None:
    assert np.isnan(field_values(fields_of([text]))[0])


def test_nul_field_among_readable_others() -> None:
    texts = [
        b"  1.0000E+02  ",
        b"   12.5\x00\x00\x00\x00\x00\x00\x00",
        b" +7.250       ",
    ]

    values = field_values(fields_of(texts))

    assert values[0] == 100.0
    assert np.isnan(values[1])
    assert values[2] == 7.25


@pytest.mark.parametrize(
    "text",
    [
        b"\t\t\t\t\t\t\t\t\t1.000",
        b"\x0b\x0c       1.000",
        b"   1_000.5    ",
        b"  1.0D+02     ",
        b"  0x10        ",
        b"   inf        ",
        b"  -nan        ",
        b"   1.5e       ",
        b"   .          ",
        b"   -          ",
        b"  1e400       ",
        b"  1e-400      ",
        b"   \xa01.000     ",
        b"9999999999.999",
        b"0000000000.001",
        b"  1.000\r\n     ",
    ],
)
def test_odd_text_matches_float(text: bytes) -> None:
    assert not mismatches([text])


def test_every_byte_in_every_place() -> None:
    texts = []
    for place in range(14):
        for code in range(256):
            text = bytearray(b"   -1234.567  ")
            text[place] = code
            texts.append(bytes(text))

    assert not mismatches(texts)


def test_random_text_matches_float() -> None:
    draw = random.Random(3)
    alphabet = b" 0123456789-+.eEdD\t\x00\x0b\x80\xff_nai"
    texts = []
    for _ in range(50_000):
        text = bytearray(f"{draw.uniform(-1e9, 1e10):14.3f}".encode())
        for _ in range(draw.randint(1, 3)):
            text[draw.randrange(14)] = draw.choice(alphabet)
        texts.append(bytes(text))

    assert not mismatches(texts)
