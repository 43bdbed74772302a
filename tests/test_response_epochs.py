"""Tests of which response epoch corrects a run of samples.

A channel's StationXML may leave time between two epochs uncovered, for
example while an instrument was out of service. Strings stand in for the
obspy Response objects, since only the choice of epoch is tested.
"""

from __future__ import annotations

from intake_earthscope.response import ChannelResponse

HOUR_NS = 3_600 * 10**9

# Epoch "early" ends at hour 10, and epoch "late" starts at hour 14.
EPOCHS = ChannelResponse(
    "XX.ABC..BHZ",
    ((0, 10 * HOUR_NS, "early"), (14 * HOUR_NS, 24 * HOUR_NS, "late")),
)


def test_epoch_containing_time() -> None:
    assert EPOCHS.at(9 * HOUR_NS) == "early"
    assert EPOCHS.at(14 * HOUR_NS) == "late"


def test_gap_after_early_end_takes_early() -> None:
    assert EPOCHS.at(11 * HOUR_NS) == "early"


def test_gap_before_late_start_takes_late() -> None:
    assert EPOCHS.at(13 * HOUR_NS) == "late"


def test_before_first_epoch_takes_first() -> None:
    assert EPOCHS.at(-HOUR_NS) == "early"


def test_after_last_epoch_takes_last() -> None:
    assert EPOCHS.at(30 * HOUR_NS) == "late"
