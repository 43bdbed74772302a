"""A missing bucket gets no advice to try another RINEX path variant."""

from __future__ import annotations

import warnings
from typing import Any

from test_gnss_rinex import product

from intake_earthscope.errors import ReadOutcomeWarning
from intake_earthscope.gnss.rinex_dataset import open_rinex_obs


def test_missing_bucket_names_no_variant(s3: Any) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        open_rinex_obs(
            product("gage"),
            "CEDA",
            "2018-07-29",
            "2018-07-30",
            errors="warn",
            root="s3://nosuch/prefix",
            storage_options=s3.anonymous_storage_options(),
        )
    texts = [str(w.message) for w in caught if w.category is ReadOutcomeWarning]

    assert any("bucket 'nosuch' does not exist" in text for text in texts)
    assert not any("variant=" in text for text in texts)
