"""RINEX days of a missing bucket raise BucketNotFoundError, as waveform reads do.

No day of a bucket that does not exist can be read, so the message under
``errors="raise"`` names the bucket and offers no ``errors=`` policy.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from intake_earthscope.errors import BucketNotFoundError
from intake_earthscope.gnss.rinex_dataset import open_rinex_obs

from conftest import CATALOGS


def product() -> dict[str, Any]:
    text = (CATALOGS / "noaa_cors.yaml").read_text()
    return yaml.safe_load(text)["sources"]["rinex_obs"]["args"]["product"]


def test_rinex_missing_bucket_raises(s3: Any) -> None:
    with pytest.raises(BucketNotFoundError) as caught:
        open_rinex_obs(
            product(),
            "YORK",
            "2015-02-13",
            "2015-02-15",
            root="s3://nosuch/prefix",
            storage_options=s3.anonymous_storage_options(),
        )

    message = str(caught.value)
    assert "bucket 'nosuch' does not exist" in message
    assert "YORK 2015-02-13" in message
    assert "errors=" not in message
