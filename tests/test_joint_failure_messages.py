"""One error for several failed objects states a shared reason once.

A graph computed in a process without the storage_options secrets fails
for the day's own object and for the previous-day object with the same
CredentialsError text. The joint error names both objects and their
status, gives the advice once, and does not claim that the storage
refused objects it was never asked for.
"""

from __future__ import annotations

import pytest
from test_graph_secrets import (
    FLAT,
    assert_no_secret,
    balst_objects,
    compute_elsewhere,
    open_balst,
)

from intake_earthscope.errors import (
    AccessDeniedError,
    BucketNotFoundError,
    CredentialsError,
    DecodeError,
)
from intake_earthscope.outcomes import joint_failure, previous_day_error

from conftest import publish

ADVICE = "stay in the process that opened the data"
PREVIOUS_KEY = "miniseed/CH/2025/313/BALST.CH.2025.313"
OWN_KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
DAY_NS = 1_762_732_800_000_000_000  # 2025-11-10T00:00Z


def credentials_error() -> CredentialsError:
    return CredentialsError(f"the secrets {ADVICE}; give the workers the keys")


def day_failure(previous: Exception, own: Exception) -> str:
    previous = previous_day_error(
        previous,
        PREVIOUS_KEY,
        "tier 'open'",
        DAY_NS,
        "; neighbour_bytes=0 skips that read",
    )
    failures = [("access_denied", previous), ("access_denied", own)]
    heading = "the object of 2025-11-10 and the previous day's object both failed:"
    return str(joint_failure(heading, failures, own="the object of 2025-11-10"))


def test_shared_reason_stated_once() -> None:
    message = day_failure(credentials_error(), credentials_error())

    assert message.count(ADVICE) == 1
    assert "- access_denied: the secrets" in message
    assert f"previous-day object {PREVIOUS_KEY} of tier 'open'" in message
    assert "the object of 2025-11-10\npass errors='warn'" in message
    assert "(neighbour_bytes=0 skips that read)" in message
    assert "for 2 objects" in message


def test_unsent_reads_not_called_refused() -> None:
    message = day_failure(credentials_error(), credentials_error())

    assert "no request sent, so whether these objects exist is not known" in message


def test_different_reasons_keep_own_lines() -> None:
    own = AccessDeniedError("access denied reading s3://bucket/own")
    message = day_failure(AccessDeniedError("access denied reading s3://b/x"), own)

    assert "- access_denied: previous-day object" in message
    assert "- access_denied: access denied reading s3://bucket/own" in message
    assert "for 2 objects" not in message
    assert "not known" not in message


def test_unnamed_objects_counted() -> None:
    error = BucketNotFoundError("bucket 'nosuch' does not exist")
    failures = [
        ("missing", error),
        ("missing", error),
        ("unreadable", DecodeError("x")),
    ]

    message = str(joint_failure("3 objects failed:", failures))

    assert message.count("bucket 'nosuch' does not exist") == 1
    assert "- missing: bucket 'nosuch' does not exist" in message
    assert "for 2 objects: 2 more whose keys the error does not give" in message
    assert "- unreadable: x" in message


@pytest.mark.timeout(300)
@pytest.mark.parametrize("previous", ["absent", "present"])
def test_worker_error_short(s3, tmp_path, previous) -> None:
    objects = balst_objects()
    if previous == "absent":
        del objects[PREVIOUS_KEY]
    publish(s3, "sage", objects)
    dataset = open_balst(FLAT)

    outcome = compute_elsewhere(dataset.waveform.data, tmp_path)

    assert outcome.get("error") == "CredentialsError", outcome
    message = outcome["message"]
    assert message.count(ADVICE) == 1
    # Both keys and the advice once; the advice twice would pass 1500.
    assert len(message) < 1100, message
    assert f"previous-day object {PREVIOUS_KEY}" in message
    assert f"the object of 2025-11-10, {OWN_KEY}" in message
    assert "- access_denied: " in message
    assert "whether these objects exist is not known" in message
    assert "pass errors='warn' or errors='ignore'" in message
    assert_no_secret(message)
