"""The message of a missing RINEX day names the product's other path variants."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_gnss_rinex import product

from intake_earthscope.errors import ObjectNotFoundError
from intake_earthscope.gnss.rinex_dataset import open_rinex_obs


def test_missing_rinex2_day_names_rinex3(tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError) as caught:
        open_rinex_obs(
            product("gage"), "CEDA", "2018-07-29", "2018-07-30", root=str(tmp_path)
        )

    assert "variant='rinex3'" in str(caught.value)
    assert "errors='warn'" in str(caught.value)


def test_product_of_one_variant_names_none(tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError) as caught:
        open_rinex_obs(
            product("noaa_cors"), "YORK", "2015-02-13", "2015-02-14", root=str(tmp_path)
        )

    assert "variant=" not in str(caught.value)
