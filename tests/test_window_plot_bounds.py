"""plot_waveforms of one event window with odd lag bounds and traces.

The windows are read from a real station-day of obspy's test data in a local
mirror, at 1 Hz, 10 minutes before and 20 minutes after each time.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from test_plot import event_windows, waveforms  # noqa: F401 (fixtures)

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.plot import plot_waveforms


def lags_drawn(figure) -> list[float]:
    return figure.get_axes()[0].get_lines()[0].get_xdata().tolist()


@pytest.mark.parametrize(
    ("start", "end"),
    [(-10, 9), (-10.0, 9.0), (np.int64(-10), np.float64(9.0)), ("-10s", 9)],
)
def test_window_plot_number_bounds(
    event_windows: xr.Dataset,  # noqa: F811 (the fixture)
    start: object,
    end: object,
) -> None:
    figure = plot_waveforms(event_windows.isel(window=0), start=start, end=end)

    assert lags_drawn(figure) == list(np.arange(-10.0, 10.0))


@pytest.mark.parametrize("start", ["2025-11-10T06:00", "soon", [1, 2]])
def test_window_plot_rejects_time_bound(
    event_windows: xr.Dataset,  # noqa: F811 (the fixture)
    start: object,
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        plot_waveforms(event_windows.isel(window=0), start=start)

    message = str(caught.value)
    assert f"invalid start={start!r} for an event window" in message
    assert "such as '-10s'" in message


def test_window_plot_lags_outside_window(
    event_windows: xr.Dataset,  # noqa: F811 (the fixture)
) -> None:
    with pytest.raises(
        InvalidRequestError, match="inside the data, from -600s to 1199s"
    ):
        plot_waveforms(event_windows.isel(window=0), start=3600, end=7200)


def test_window_plot_one_window_list(
    event_windows: xr.Dataset,  # noqa: F811 (the fixture)
) -> None:
    figure = plot_waveforms(event_windows.isel(window=[1]), start=0, end=2)

    assert lags_drawn(figure) == [0.0, 1.0, 2.0]
    label = figure.get_axes()[-1].get_xlabel()
    assert label == "seconds from 2025-11-10T18:30:00.000 UTC"


def test_window_plot_nan_and_one_sample(
    event_windows: xr.Dataset,  # noqa: F811 (the fixture)
) -> None:
    window = event_windows.isel(window=0).copy(deep=True)
    window["waveform"][0] = np.nan

    figure = plot_waveforms(window, start=5, end=5)

    first, second = figure.get_axes()
    assert np.isnan(first.get_lines()[0].get_ydata()).all()
    assert second.get_lines()[0].get_xdata().tolist() == [5.0]


def test_window_plot_empty_window_spans_lags(
    event_windows: xr.Dataset,  # noqa: F811 (the fixture)
) -> None:
    window = event_windows.isel(window=0)
    empty = window.assign(waveform=window.waveform * np.nan)

    figure = plot_waveforms(empty)

    axis = figure.get_axes()[0]
    assert axis.get_xlim() == (-600.0, 1199.0)
    assert [text.get_text() for text in axis.texts] == ["no data"]
