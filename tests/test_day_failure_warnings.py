"""Under errors="warn", a day whose own and previous-day objects both fail
warns once, naming both objects and stating a shared reason once.

The shared reason comes from a real case: a graph computed in a fresh
process that lacks the storage_options secrets. Every read there fails with
the same CredentialsError text. The objects are real station-days on the
session's loopback S3 server.
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

from conftest import publish

ADVICE = "stay in the process that opened the data"
HEADING = "the object of 2025-11-10 and the previous day's object both failed:"


@pytest.mark.timeout(300)
def test_one_warning_per_day(s3, tmp_path) -> None:
    publish(s3, "sage", balst_objects())
    dataset = open_balst(FLAT, errors="warn")

    outcome = compute_elsewhere(dataset, tmp_path)
    texts = outcome["warnings"]
    joint = [text for text in texts if text.startswith(HEADING)]

    assert set(outcome["status"]) == {"access_denied"}
    # 2025-11-11 reads the object of 2025-11-10 as its previous day, whose
    # failure the first day reported, so its warning names its own only.
    assert len(texts) == 2
    assert len(joint) == 1
    for text in texts:
        assert text.count(ADVICE) == 1
        assert "pass errors=" not in text
        assert_no_secret(text)


@pytest.mark.timeout(300)
def test_joint_warning_names_both(s3, tmp_path) -> None:
    publish(s3, "sage", balst_objects())
    dataset = open_balst(FLAT, errors="warn")

    outcome = compute_elsewhere(dataset, tmp_path)
    text = next(text for text in outcome["warnings"] if text.startswith(HEADING))
    lines = text.splitlines()

    assert len(lines) == 4
    assert lines[1].startswith("- access_denied: the storage_options credentials")
    assert lines[2].startswith("  for 2 objects (no request sent")
    assert "previous-day object miniseed/CH/2025/313/BALST" in lines[2]
    assert lines[2].endswith(
        "; the object of 2025-11-10, miniseed/CH/2025/314/BALST.CH.2025.314"
    )
    assert lines[3] == (
        "the traces of 2025-11-10 have status 'access_denied' and NaN where no "
        "other object had samples"
    )
