"""Availability tables from listings of the moto S3 server, and their plot.

Objects are synthetic miniSEED (tests/mseedgen.py) published at the keys of
the shipped SCEDC (channel-day) and SAGE (station-day) catalogs.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import s3fs

from intake_earthscope.availability import (
    AVAILABILITY_COLUMNS,
    availability,
    plot_availability,
)
from intake_earthscope.browse import StationBrowser
from intake_earthscope.errors import IntakeEarthScopeWarning

import mseedgen
from conftest import collection_spec, publish

matplotlib.use("Agg")

SCEDC_KEY = "continuous_waveforms/2022/2022_{doy}/CIWBM__{channel}___2022{doy}.ms"
SAGE_KEY = "miniseed/XX/2024/{doy}/STA.XX.2024.{doy}"


def channel_day(seed_id: str, day: str) -> bytes:
    samples = np.arange(120, dtype=np.int32)
    return mseedgen.segment_bytes(seed_id, f"{day}T00:00:00Z", samples, 1.0)


@pytest.fixture
def scedc_days(s3) -> dict[str, bytes]:
    """LHZ on 2022-01-01 and 01-03 (none on 01-02); LHN on 2022-01-01 only."""
    objects = {
        SCEDC_KEY.format(doy="001", channel="LHZ"): channel_day(
            "CI.WBM..LHZ", "2022-01-01"
        ),
        SCEDC_KEY.format(doy="003", channel="LHZ"): channel_day(
            "CI.WBM..LHZ", "2022-01-03"
        ),
        SCEDC_KEY.format(doy="001", channel="LHN"): channel_day(
            "CI.WBM..LHN", "2022-01-01"
        ),
    }
    publish(s3, "scedc", objects)
    return objects


def scedc_availability(**request: object) -> pd.DataFrame:
    return availability(
        collection_spec("scedc"),
        network="CI",
        station="WBM",
        start="2022-01-01",
        end="2022-01-04",
        **request,
    )


def test_columns(scedc_days: dict[str, bytes]) -> None:
    table = scedc_availability(location="", channel="LHZ")

    assert tuple(table.columns) == AVAILABILITY_COLUMNS


def test_exact_codes_missing_day(scedc_days: dict[str, bytes]) -> None:
    table = scedc_availability(location="", channel="LHZ")

    assert list(table["exists"]) == [True, False, True]
    assert list(table["day"].dt.strftime("%Y-%m-%d")) == [
        "2022-01-01",
        "2022-01-02",
        "2022-01-03",
    ]


def test_missing_day_key_rendered(scedc_days: dict[str, bytes]) -> None:
    table = scedc_availability(location="", channel="LHZ")

    assert table["key"][1] == SCEDC_KEY.format(doy="002", channel="LHZ")


def test_sizes_from_listing(scedc_days: dict[str, bytes]) -> None:
    table = scedc_availability(location="", channel="LHZ")

    first = SCEDC_KEY.format(doy="001", channel="LHZ")
    assert table["size"][0] == len(scedc_days[first])
    assert table["size"][1] is pd.NA


def test_wildcard_channel_rows(scedc_days: dict[str, bytes]) -> None:
    table = scedc_availability(channel="LH?")

    assert list(table["channel"]) == ["LHN"] * 3 + ["LHZ"] * 3
    assert list(table["exists"]) == [True, False, False, True, False, True]


def test_station_day_collection(s3) -> None:
    objects = {
        SAGE_KEY.format(doy=doy): channel_day("XX.STA.00.BHZ", day)
        for doy, day in (("001", "2024-01-01"), ("003", "2024-01-03"))
    }
    publish(s3, "sage", objects)

    table = availability(
        collection_spec("sage"),
        network="XX",
        station="STA",
        start="2024-01-01",
        end="2024-01-04",
        tier="open",
    )

    assert list(table["exists"]) == [True, False, True]
    assert set(table["channel"]) == {""}
    assert table["key"][1] == SAGE_KEY.format(doy="002")


def test_no_object_read(
    scedc_days: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A guard, not a stand-in: any GET of an object fails the test.
    def no_get(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("availability read an object")

    monkeypatch.setattr(s3fs.S3FileSystem, "_cat_file", no_get)

    table = scedc_availability(channel="LH?")

    assert int(table["exists"].sum()) == 3


def test_archive_name(scedc_days: dict[str, bytes]) -> None:
    table = availability(
        "scedc",
        network="CI",
        station="WBM",
        location="",
        channel="LHZ",
        start="2022-01-01",
        end="2022-01-04",
    )

    assert list(table["exists"]) == [True, False, True]


def test_unknown_archive_name() -> None:
    from intake_earthscope.errors import CatalogError

    with pytest.raises(CatalogError, match="'iris'"):
        availability(
            "iris", network="IU", station="ANMO", start="2024-01-01", end="2024-01-02"
        )


def test_nothing_published(s3) -> None:
    publish(s3, "scedc", {})

    with pytest.warns(IntakeEarthScopeWarning, match="no object of station") as caught:
        table = scedc_availability(channel="LH?")

    assert len(table) == 0
    assert "station(s) WBM exists on any day of the window in open" in str(
        caught[0].message
    )


def test_browser_availability(scedc_days: dict[str, bytes], shared_data: Path) -> None:
    import obspy

    from intake_earthscope.stationtable import inventory_table

    inventory = obspy.read_inventory(shared_data / "stationxml" / "CI_WBM.xml")
    browser = StationBrowser(
        inventory_table(inventory), collection=collection_spec("scedc")
    )

    table = browser.search(channel="LHZ").availability(
        start="2022-01-01", end="2022-01-04"
    )

    assert list(table["exists"]) == [True, False, True]


def test_plot_returns_figure(scedc_days: dict[str, bytes], tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    table = scedc_availability(channel="LH?")

    figure = plot_availability(table, path=tmp_path / "availability.png")

    assert isinstance(figure, Figure)
    assert (tmp_path / "availability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_marks_missing_days(scedc_days: dict[str, bytes]) -> None:
    table = scedc_availability(channel="LH?")

    figure = plot_availability(table)

    [ax] = figure.axes
    labels = [label.get_text() for label in ax.get_yticklabels()]
    bars = [len(collection.get_paths()) for collection in ax.collections]
    assert labels == ["CI.WBM..LHN", "CI.WBM..LHZ"]
    # Per trace: the days with an object, then the missing days.
    assert bars == [1, 2, 2, 1]
