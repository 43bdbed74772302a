"""Quick-look plots on a real station-day and on a small position dataset."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.plot import _envelope, plot_positions, plot_waveforms
from intake_earthscope.windows import open_windows

from conftest import OBSPY_MSEED_DATA, collection_spec, mirror

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def waveforms(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    data = (OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels").read_bytes()
    root = mirror(
        tmp_path_factory.mktemp("plot"),
        {"miniseed/CH/2025/314/BALST.CH.2025.314": data},
    )
    return open_waveforms(
        collection_spec("sage"),
        network="CH",
        station="BALST",
        location="",
        channel="LH?",
        start="2025-11-10",
        end="2025-11-11",
        root=str(root),
    )


@pytest.fixture(scope="module")
def event_windows(waveforms: xr.Dataset) -> xr.Dataset:
    """Two windows of 10 minutes before and 20 after their times, at 1 Hz."""
    root = waveforms.attrs["storage"]
    times = ["2025-11-10T06:00:00", "2025-11-10T18:30:00"]
    return open_windows(
        collection_spec("sage"),
        times,
        before="10min",
        after="20min",
        network="CH",
        station="BALST",
        location="",
        channel="LH?",
        root=root,
    )


@pytest.fixture
def positions() -> xr.Dataset:
    time = pd.date_range("2024-01-01T12:00", periods=30, freq="D")
    north = np.linspace(0.0, 0.003, 30)
    values = np.stack([north, north * 2])
    sigma = np.full((2, 30), 0.001)
    return xr.Dataset(
        {
            "north": (("station", "time"), values),
            "east": (("station", "time"), -values),
            "up": (("station", "time"), values / 2),
            "sigma_north": (("station", "time"), sigma),
        },
        coords={"station": ["P156", "P403"], "time": time},
    )


def test_waveform_plot_draws_envelope_of_each_trace(waveforms: xr.Dataset) -> None:
    figure = plot_waveforms(waveforms, max_points=1000)

    axes = figure.get_axes()
    assert isinstance(figure, Figure)
    assert [axis.get_title(loc="left") for axis in axes] == [
        "CH.BALST..LHE",
        "CH.BALST..LHZ",
    ]
    low, high = axes[1].get_ylim()
    values = waveforms.waveform.sel(trace="CH.BALST..LHZ").values
    assert low <= np.nanmin(values)
    assert high >= np.nanmax(values)


def test_waveform_plot_short_window_draws_samples(waveforms: xr.Dataset) -> None:
    figure = plot_waveforms(
        waveforms,
        traces=["CH.BALST..LHZ"],
        start="2025-11-10T10:00",
        end="2025-11-10T10:09:59",
    )

    (axis,) = figure.get_axes()
    (line,) = axis.get_lines()
    expected = waveforms.waveform.sel(
        trace="CH.BALST..LHZ", time=slice("2025-11-10T10:00", "2025-11-10T10:09:59")
    ).values
    np.testing.assert_array_equal(line.get_ydata(), expected)


def test_waveform_plot_saves_png(waveforms: xr.Dataset, tmp_path: Path) -> None:
    path = tmp_path / "waveforms.png"

    plot_waveforms(waveforms.waveform, path=path)

    assert path.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"traces": ["CH.BALST..BHZ"]}, r"trace\(s\) \['CH.BALST..BHZ'\] not in"),
        ({"start": "2030-01-01"}, "no samples between"),
        ({"max_points": 1}, "invalid max_points=1"),
    ],
)
def test_waveform_plot_rejects_bad_selection(
    waveforms: xr.Dataset, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        plot_waveforms(waveforms, **kwargs)


def test_window_plot_draws_lag_in_seconds(event_windows: xr.Dataset) -> None:
    window = event_windows.isel(window=1)

    figure = plot_waveforms(window)

    axes = figure.get_axes()
    assert len(axes) == window.sizes["trace"]
    line = axes[0].get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), np.arange(-600.0, 1200.0))
    np.testing.assert_array_equal(line.get_ydata(), window.waveform.values[0])
    assert axes[-1].get_xlabel() == "seconds from 2025-11-10T18:30:00.000 UTC"


def test_window_plot_selects_lags(event_windows: xr.Dataset) -> None:
    figure = plot_waveforms(event_windows.isel(window=0), start="-10s", end="9s")

    assert figure.get_axes()[0].get_lines()[0].get_xdata().tolist() == list(
        np.arange(-10.0, 10.0)
    )


def test_window_plot_rejects_several_windows(event_windows: xr.Dataset) -> None:
    with pytest.raises(InvalidRequestError, match=r"2 event windows.*isel\(window=0\)"):
        plot_waveforms(event_windows)


@pytest.mark.parametrize(
    ("window", "start", "end", "message"),
    [
        (False, "2025-11-10T10", "2025-11-10T05", "end comes before the start; swap"),
        (False, "2030-01-01", None, "from 2025-11-10T00:00:00.000 to 2025-11-10T23:59"),
        (True, "30s", "-10s", "start=30s and end=-10s: the end comes before"),
        (True, 1500, None, "inside the data, from -600s to 1199s"),
    ],
)
def test_empty_stretch_message(
    waveforms: xr.Dataset,
    event_windows: xr.Dataset,
    window: bool,
    start: object,
    end: object,
    message: str,
) -> None:
    data = event_windows.isel(window=0) if window else waveforms

    with pytest.raises(InvalidRequestError, match=message):
        plot_waveforms(data, start=start, end=end)


@pytest.mark.parametrize("window", [False, True])
def test_one_trace_selection_plots(
    waveforms: xr.Dataset, event_windows: xr.Dataset, window: bool
) -> None:
    data = event_windows.isel(window=0) if window else waveforms
    trace = str(data.trace.values[1])

    figure = plot_waveforms(data.sel(trace=trace))

    assert len(figure.get_axes()) == 1
    assert figure.get_axes()[0].get_title(loc="left") == trace


def test_waveform_plot_needs_waveform_variable() -> None:
    with pytest.raises(InvalidRequestError, match="no 'waveform' variable"):
        plot_waveforms(xr.Dataset())


def test_position_plot_draws_three_components(positions: xr.Dataset) -> None:
    figure = plot_positions(positions)

    axes = figure.get_axes()
    assert [axis.get_ylabel() for axis in axes] == [
        "north (mm)",
        "east (mm)",
        "up (mm)",
    ]
    assert len(axes[0].get_lines()) == 2
    np.testing.assert_allclose(
        axes[0].get_lines()[1].get_ydata(), positions.north.values[1] * 1000.0
    )


def test_position_plot_one_station_saves_png(
    positions: xr.Dataset, tmp_path: Path
) -> None:
    path = tmp_path / "positions.png"

    figure = plot_positions(positions, stations=["P403"], path=path)

    assert len(figure.get_axes()[2].get_lines()) == 1
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_position_plot_needs_components(positions: xr.Dataset) -> None:
    with pytest.raises(InvalidRequestError, match=r"lacks position variable\(s\)"):
        plot_positions(positions.drop_vars("up"))


def test_envelope_gap_bins_nan_quietly(waveforms: xr.Dataset) -> None:
    """Bins without samples are NaN, with no NumPy warning about all-NaN
    slices (this day has bins of no sample)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, low, high = _envelope(waveforms.waveform, "time", max_points=4_000)

    values = waveforms.waveform.values
    width = -(-values.shape[1] // low.shape[1])
    padded = np.full((values.shape[0], low.shape[1] * width), np.nan)
    padded[:, : values.shape[1]] = values
    empty = np.isnan(padded.reshape(values.shape[0], low.shape[1], width)).all(axis=2)
    assert [str(warning.message) for warning in caught] == []
    assert empty.any()
    assert np.array_equal(np.isnan(low), empty)
    assert np.array_equal(np.isnan(high), empty)
