"""Break tests of failed previous-day reads, on a moto S3 server.

A request for a restricted network whose S3 credentials are rejected is
served by the fdsn tier. The dataselect query of the first day already
returns the records that cross midnight into it, so the previous day's
object on S3, whose read is denied too, loses no sample and is no failure.
"""

from __future__ import annotations

import warnings

import pytest
from test_auth import (  # noqa: F401 (fixtures)
    api,
    archive,
    balst_services,
    fdsn,
    fdsn_collection,
    iam_s3,
    sdk,
)

from intake_earthscope import open_waveforms
from intake_earthscope.errors import ReadOutcomeWarning

from conftest import OBSPY_MSEED_DATA, publish

# Both days of CH.BALST exist on S3, so the first day's read of the day
# before is attempted and denied.
KEYS = [f"miniseed/CH/2025/{day}/BALST.CH.2025.{day}#1" for day in (313, 314)]


@pytest.fixture
def denied_with_service(fdsn, s3, api, archive, sdk, monkeypatch):  # noqa: F811
    """The fdsn tier on loopback, and S3 credentials rejected for CH.

    It sets the S3 endpoint after ``archive`` has set its own.
    """
    balst_services(fdsn)
    data = (OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels").read_bytes()
    publish(s3, "sage", {key: data for key in KEYS}, "restricted")
    api.set_scope_status("CH", 403)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    return fdsn


def balst(server, **options):
    return open_waveforms(
        fdsn_collection(server),
        network="CH",
        station="BALST",
        location="",
        channel="LHZ",
        sampling_rate=1,
        start="2025-11-10",
        end="2025-11-11",
        **options,
    )


def test_service_day_ignores_denied_previous(denied_with_service) -> None:
    dataset = balst(denied_with_service).load()

    assert (dataset.tier.values == "fdsn").all()
    assert (dataset.status.values == "ok").all()


def test_service_day_warns_nothing(denied_with_service) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReadOutcomeWarning)
        dataset = balst(denied_with_service, errors="warn").load()

    assert (dataset.status.values == "ok").all()
