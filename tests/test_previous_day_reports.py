"""Reports of the previous day's object in day reads.

The first half reads a local folder. The object of XX.STA for 2006-01-01
contains BHZ at 1 Hz, except for an hour at 2 Hz from 06:00 and a run at
3 Hz from 23:50 that crosses midnight and ends at 00:10. Its BHN is at
1 Hz all day. The object for 2006-01-02 contains both channels at 1 Hz
from midnight on, so its own records fit the 1 Hz grid. The 3 Hz records
that cross midnight do not fit it, and a day read must report them as it
reports such records of the day's own object.

The second half runs on a moto S3 server on loopback (LoopbackS3), with
the objects of test_missing_with_failed_previous.py. The day's own object
and the previous day's object both fail, and ``errors="raise"`` must name
both of them in one error.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from test_edge_shift import read_window
from test_missing_with_failed_previous import (
    BUCKET,
    GARBAGE,
    REGION,
    bucket,  # noqa: F401 (a fixture)
    days,
    key,
    statuses,
    store_previous,
)
from test_window_failures import load_warned
from test_windows import _index_cache  # noqa: F401 (an autouse fixture)

from intake_earthscope import open_waveforms
from intake_earthscope.errors import (
    AccessDeniedError,
    DecodeError,
    ReadOutcomeWarning,
)
from intake_earthscope.testing import LoopbackS3

from conftest import collection_spec, mirror, publish
from faultproxy import FaultProxy, FaultRule
from mseedgen import interleave, join, segment_bytes

PREVIOUS = "miniseed/XX/2006/001/STA.XX.2006.001"
OWN = "miniseed/XX/2006/002/STA.XX.2006.002"
LEFT_OUT = "records of XX.STA..BHZ at 3 Hz left out of the 1 Hz grid"
INTO_DAY = "read for the records that cross midnight into 2006-01-02"
NOT_MINISEED = b"this is not miniSEED\n" * 40


def ramp(count: int) -> np.ndarray:
    return np.arange(count, dtype=np.int32)


def previous_day(damaged: bool = False) -> bytes:
    """Build the previous day: BHZ at 1, 2, 1 and 3 Hz, the last run crossing
    midnight, and BHN at 1 Hz.

    ``damaged`` puts bytes that are not miniSEED after the records.
    """
    bhz = join(
        segment_bytes("XX.STA..BHZ", "2006-01-01T00:00:00Z", ramp(21_600), 1.0),
        segment_bytes("XX.STA..BHZ", "2006-01-01T06:00:00Z", ramp(7_200), 2.0),
        segment_bytes("XX.STA..BHZ", "2006-01-01T07:00:00Z", ramp(60_600), 1.0),
        segment_bytes("XX.STA..BHZ", "2006-01-01T23:50:00Z", ramp(3_600), 3.0),
    )
    bhn = segment_bytes("XX.STA..BHN", "2006-01-01T00:00:00Z", ramp(86_400), 1.0)
    data = interleave(bhz, bhn)
    return data + NOT_MINISEED if damaged else data


def own_day() -> bytes:
    bhz = segment_bytes("XX.STA..BHZ", "2006-01-02T00:00:00Z", ramp(86_400), 1.0)
    bhn = segment_bytes("XX.STA..BHN", "2006-01-02T00:00:00Z", ramp(86_400), 1.0)
    return interleave(bhz, bhn)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return mirror(tmp_path, {PREVIOUS: previous_day(), OWN: own_day()})


def read_days(root: Path, start: str = "2006-01-02", **options) -> xr.Dataset:
    return open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="",
        channel="BHZ,BHN",
        start=start,
        end="2006-01-03",
        root=str(root),
        **options,
    ).load()


def day_statuses(dataset: xr.Dataset, day: int = 0) -> dict[str, str]:
    status = dataset.status.values[:, day].tolist()
    return dict(zip(dataset.channel.values.tolist(), status, strict=True))


def outcome_texts(caught: list[warnings.WarningMessage]) -> list[str]:
    return [
        str(item.message)
        for item in caught
        if issubclass(item.category, ReadOutcomeWarning)
    ]


def read_warned(root: Path, **options) -> tuple[xr.Dataset, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = read_days(root, **options)
    return dataset, outcome_texts(caught)


# Previous-day records at a rate off the grid


@pytest.mark.parametrize("errors", ["raise", "warn"])
def test_day_warns_previous_rate(root: Path, errors: str) -> None:
    dataset, texts = read_warned(root, errors=errors)
    reports = [text for text in texts if LEFT_OUT in text]

    assert len(texts) == 1
    assert len(reports) == 1
    assert reports[0].startswith(f"previous-day object {PREVIOUS} of mirror {root}")
    assert INTO_DAY in reports[0]
    assert "sampling_rate=" in reports[0]
    assert "2 Hz" not in reports[0]
    assert day_statuses(dataset) == {"BHZ": "rate_mismatch", "BHN": "ok"}


def test_day_ignore_logs_previous_rate(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intake_earthscope")
    dataset, texts = read_warned(root, errors="ignore")
    logged = [r for r in caplog.records if LEFT_OUT in r.getMessage()]

    assert texts == []
    assert len(logged) == 1
    assert logged[0].levelno == logging.DEBUG
    assert PREVIOUS in logged[0].getMessage()
    assert day_statuses(dataset) == {"BHZ": "rate_mismatch", "BHN": "ok"}


@pytest.mark.parametrize(("damaged", "tail"), [(False, 64 * 1024), (True, None)])
def test_day_previous_rate_every_read_path(
    tmp_path: Path, damaged: bool, tail: int | None
) -> None:
    """A read of the object's end, and the read of a whole damaged object,
    report the crossing records, and not the 2 Hz hour before them."""
    objects = {PREVIOUS: previous_day(damaged), OWN: own_day()}
    root = mirror(tmp_path, objects)

    dataset, texts = read_warned(root, errors="warn", neighbour_bytes=tail)
    reports = [text for text in texts if LEFT_OUT in text]

    assert len(reports) == 1
    assert INTO_DAY in reports[0]
    assert not [text for text in texts if "2 Hz" in text]
    assert day_statuses(dataset) == {"BHZ": "rate_mismatch", "BHN": "ok"}


def test_days_previous_rate_in_request(root: Path) -> None:
    """Where the previous day is read as part of the request, its own report
    covers the crossing records, and the next day gets rate_mismatch too."""
    dataset, texts = read_warned(root, start="2006-01-01", errors="warn")

    assert len(texts) == 1
    assert texts[0].startswith(f"{PREVIOUS}: records of XX.STA..BHZ at 2, 3 Hz ")
    assert day_statuses(dataset, 0) == {"BHZ": "rate_mismatch", "BHN": "ok"}
    assert day_statuses(dataset, 1) == {"BHZ": "rate_mismatch", "BHN": "ok"}


def test_day_and_window_same_status(root: Path) -> None:
    """A window five minutes after midnight and the day read agree."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReadOutcomeWarning)
        window = read_window(root, "2006-01-02T00:05:00", 10.0, 10.0)
        day = read_days(root)

    in_window = dict(
        zip(
            window.channel.values.tolist(),
            window.status.values[0].tolist(),
            strict=True,
        )
    )
    assert in_window == {"BHZ": "rate_mismatch", "BHN": "ok"}
    assert day_statuses(day) == in_window


# Own object and previous-day object both failed


def store_own(s3: LoopbackS3, state: str) -> None:
    """Store STA's day 2 as ``state``: denied or garbage."""
    if state == "denied":
        # Without the public-read ACL moto returns 403 to anonymous reads.
        client = s3.client(REGION)
        client.put_object(Bucket=BUCKET, Key=key(2), Body=GARBAGE)
    else:
        publish(s3, "sage", {key(2): GARBAGE})


BOTH_FAILED = [
    # own, previous, error class, own status, previous status
    ("garbage", "denied", AccessDeniedError, "unreadable", "access_denied"),
    ("denied", "garbage", AccessDeniedError, "access_denied", "unreadable"),
    ("garbage", "garbage", DecodeError, "unreadable", "unreadable"),
]


@pytest.mark.parametrize(
    ("own", "previous", "error", "own_status", "previous_status"), BOTH_FAILED
)
def test_raise_names_own_and_previous(
    bucket: LoopbackS3,  # noqa: F811 (the fixture imported above)
    own: str,
    previous: str,
    error: type,
    own_status: str,
    previous_status: str,
) -> None:
    store_previous(bucket, previous)
    store_own(bucket, own)

    with pytest.raises(error) as raised:
        days(sampling_rate=20.0).load()

    message = str(raised.value)
    assert "the object of 2024-01-02 and the previous day's object both failed" in (
        message
    )
    assert f"- {previous_status}: previous-day object {key(1)}" in message
    assert f"- {own_status}: " in message
    assert f"s3://{BUCKET}/{key(2)}" in message
    assert message.index("previous-day object") < message.index(key(2))
    assert "neighbour_bytes=0 skips that read" in message
    assert "pass errors='warn' or errors='ignore'" in message


def test_raise_unreachable_own_previous_garbage(
    bucket: LoopbackS3,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unreachable own object comes after an unreadable previous one."""
    store_previous(bucket, "garbage")
    store_own(bucket, "garbage")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    with FaultProxy(bucket.endpoint_url, [FaultRule("500", key=key(2))]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        with pytest.raises(DecodeError) as raised:
            days(sampling_rate=20.0).load()

    message = str(raised.value)
    assert f"- unreadable: previous-day object {key(1)}" in message
    assert "- unreachable: " in message
    assert "HTTP 500" in message
    assert "(status 'unreadable')" in message


def test_warn_own_and_previous_once(
    bucket: LoopbackS3,  # noqa: F811 (the fixture imported above)
) -> None:
    store_previous(bucket, "denied")
    store_own(bucket, "garbage")

    dataset, texts = load_warned(days(errors="warn"))
    lines = texts[0].splitlines()

    assert len(texts) == 1
    assert lines[1].startswith(f"- access_denied: previous-day object {key(1)}")
    assert lines[2].startswith("- unreadable: ")
    assert key(2) in lines[2]
    assert "status 'unreadable'" in lines[3]
    assert statuses(dataset) == {"STA": "unreadable", "STB": "ok"}
