"""Quick-look plots: waveforms of a selection or an event window, and GNSS
position time series.

Each function returns the matplotlib ``Figure`` and saves it as PNG when given
``path=``. Long waveforms are drawn as a min/max envelope computed by dask, so
a day at 100 Hz costs a few thousand points on screen, not 8.64 million.
matplotlib is imported on first use (``pip install intake-earthscope[plot]``).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from intake_earthscope.errors import InvalidRequestError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

__all__ = ["plot_positions", "plot_waveforms"]

DEFAULT_MAX_POINTS = 4000
POSITION_COMPONENTS = ("north", "east", "up")


def plot_waveforms(
    data: xr.Dataset | xr.DataArray,
    traces: Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    max_points: int = DEFAULT_MAX_POINTS,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Plot traces of a waveform dataset or of one event window, one panel per
    trace.

    Parameters
    ----------
    data : xarray.Dataset or xarray.DataArray
        A dataset with a ``waveform(trace, time)`` variable, or that variable.
        One window of an event-window dataset, ``windows.isel(window=0)``
        with ``waveform(trace, lag)``, is drawn against its lag in seconds.
    traces : sequence of str, optional
        Trace ids (``NET.STA.LOC.CHA``) to draw, in order; all by default.
    start, end : str, datetime-like or timedelta-like, optional
        Stretch to draw (label selection on ``time``, or on ``lag`` for a
        window, such as ``start="-10s"``, or a number of seconds).
    max_points : int
        Above this many samples per trace, draw the min/max envelope of
        ``max_points // 2`` time bins instead of every sample.
    path : path, optional
        Also save the figure as a PNG here.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidRequestError
        If ``data`` has no waveform variable, contains several windows, a trace
        id is not in it, a window's ``start`` or ``end`` is no lag, or the
        selection is empty.
    """
    waveform = _waveform(data)
    waveform = _select_traces(waveform, traces)
    axis_dim = "lag" if "lag" in waveform.dims else "time"
    if axis_dim == "lag":
        start, end = _lag_bound(start, "start"), _lag_bound(end, "end")
    selected = waveform.sel({axis_dim: slice(start, end)})
    if selected.sizes[axis_dim] == 0:
        raise InvalidRequestError(_empty_stretch(waveform, axis_dim, start, end))
    waveform = selected
    times, lower, upper = _envelope(waveform, axis_dim, max_points)
    if axis_dim == "lag":
        times = times / np.timedelta64(1, "s")

    figure, axes = _figure(len(waveform["trace"]), share_x=True)
    units = waveform.attrs.get("units", "counts")
    for row, trace in enumerate(waveform["trace"].values):
        axis = axes[row]
        if upper is None:
            axis.plot(times, lower[row], linewidth=0.6, color="black")
        else:
            axis.fill_between(times, lower[row], upper[row], color="black", step="mid")
        axis.set_ylabel(units)
        axis.set_title(str(trace), loc="left", fontsize="small")
        if np.isnan(lower[row]).all():
            axis.text(0.5, 0.5, "no data", transform=axis.transAxes, ha="center")
    if len(times) > 1:
        # An empty row has no extent, so the axis shows the whole stretch.
        axes[-1].set_xlim(times[0], times[-1])
    if axis_dim == "lag":
        axes[-1].set_xlabel(f"seconds from {_reference_label(waveform)}")
    else:
        axes[-1].set_xlabel("time (UTC)")
        figure.autofmt_xdate()
    return _finish(figure, path)


def _empty_stretch(waveform: xr.DataArray, dim: str, start: Any, end: Any) -> str:
    """Return the message for a ``start``-``end`` stretch without samples."""
    empty = f"no samples between start={_label(start)} and end={_label(end)}"
    if start is not None and end is not None:
        first, last = _axis_value(start, dim), _axis_value(end, dim)
        if first is not None and last is not None and last < first:
            return f"{empty}: the end comes before the start; swap them"
    values = waveform[dim].values
    if not values.size:
        return f"{empty}: the data contain no samples"
    return (
        f"{empty}: choose a stretch inside the data, from {_label(values[0])} to "
        f"{_label(values[-1])}"
    )


def _axis_value(value: Any, dim: str) -> np.timedelta64 | np.datetime64 | None:
    """Return ``value`` as a point of the ``dim`` axis, or None where it cannot
    be read as one."""
    import pandas as pd

    try:
        if dim == "lag":
            return np.timedelta64(pd.Timedelta(value).value, "ns")
        return np.datetime64(pd.Timestamp(value).tz_localize(None).value, "ns")
    except (TypeError, ValueError):
        return None


def _label(value: Any) -> str:
    """Write a plot bound as text: lags in seconds, times in ISO 8601."""
    import pandas as pd

    if value is None:
        return "None"
    if isinstance(value, pd.Timedelta | np.timedelta64):
        return f"{pd.Timedelta(value).total_seconds():g}s"
    if isinstance(value, np.datetime64):
        return str(np.datetime_as_string(value, unit="ms"))
    return repr(value)


def _reference_label(waveform: xr.DataArray) -> str:
    """Return the label of a window's reference time for the lag axis."""
    if "window" in waveform.coords and waveform["window"].ndim == 0:
        stamp = np.datetime_as_string(waveform["window"].values, unit="ms")
        return f"{stamp} UTC"
    return "the window's reference time"


def plot_positions(
    data: xr.Dataset,
    stations: Sequence[str] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Plot north, east and up of GNSS stations, with one-sigma bands.

    Parameters
    ----------
    data : xarray.Dataset
        A position dataset with dims ``("station", "time")`` and variables
        ``north``, ``east``, ``up`` in metres (``sigma_*`` drawn if present).
    stations : sequence of str, optional
        Stations to draw; all by default.
    path : path, optional
        Also save the figure as a PNG here.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidRequestError
        If a component is missing or a station is not in the dataset.
    """
    missing = [name for name in POSITION_COMPONENTS if name not in data.variables]
    if missing:
        raise InvalidRequestError(
            f"dataset lacks position variable(s) {missing}: plot_positions needs "
            "north, east and up, as GNSS position sources return"
        )
    if stations is not None:
        _check_labels(data, "station", stations)
        data = data.sel(station=list(stations))
    loaded = data[[*_present(data)]].compute()

    figure, axes = _figure(len(POSITION_COMPONENTS), share_x=True)
    for axis, component in zip(axes, POSITION_COMPONENTS, strict=True):
        _draw_component(axis, loaded, component)
    axes[0].legend(loc="upper left", fontsize="small")
    axes[-1].set_xlabel("time (UTC)")
    figure.autofmt_xdate()
    return _finish(figure, path)


def _waveform(data: xr.Dataset | xr.DataArray) -> xr.DataArray:
    if isinstance(data, xr.DataArray):
        waveform = data
    elif "waveform" in data.variables:
        waveform = data["waveform"]
    else:
        raise InvalidRequestError(
            "dataset has no 'waveform' variable: pass a waveform dataset or its "
            "waveform DataArray"
        )
    if set(waveform.dims) == {"window", "trace", "lag"}:
        if waveform.sizes["window"] == 1:
            return waveform.isel(window=0)
        raise InvalidRequestError(
            f"the data contain {waveform.sizes['window']} event windows: plot one at a "
            "time, for example plot_waveforms(windows.isel(window=0))"
        )
    if waveform.dims in (("time",), ("lag",)) and "trace" in waveform.coords:
        # One trace picked with sel(trace=...) keeps its id as a scalar.
        waveform = waveform.expand_dims("trace")
    if set(waveform.dims) not in ({"trace", "time"}, {"trace", "lag"}):
        raise InvalidRequestError(
            f"waveform dims are {waveform.dims}: expected ('trace', 'time'), or "
            "('trace', 'lag') for one event window"
        )
    return waveform


def _lag_bound(value: Any, name: str) -> Any:
    """Return the lag ``start`` or ``end`` as a ``pandas.Timedelta``; a number
    is seconds, as on the plot's axis."""
    import pandas as pd

    if value is None:
        return None
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool
    ):
        value = pd.Timedelta(seconds=float(value))
    try:
        return pd.Timedelta(value)
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(
            f"invalid {name}={value!r} for an event window: give a lag from the "
            "window's reference time, such as '-10s', a number of seconds or a "
            "timedelta"
        ) from error


def _select_traces(
    waveform: xr.DataArray, traces: Sequence[str] | None
) -> xr.DataArray:
    if traces is None:
        return waveform
    if isinstance(traces, str):
        traces = [traces]
    _check_labels(waveform, "trace", traces)
    return waveform.sel(trace=list(traces))


def _check_labels(data: xr.Dataset | xr.DataArray, dim: str, labels: Any) -> None:
    present = {str(label) for label in data[dim].values}
    unknown = [label for label in labels if label not in present]
    if unknown:
        raise InvalidRequestError(
            f"{dim}(s) {unknown} not in the dataset: expected some of {sorted(present)}"
        )


def _envelope(
    waveform: xr.DataArray, dim: str, max_points: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    if max_points < 2:
        raise InvalidRequestError(f"invalid max_points={max_points!r}: give at least 2")
    count = waveform.sizes[dim]
    if count <= max_points:
        values = np.asarray(waveform.transpose("trace", dim).values)
        return np.asarray(waveform[dim].values), values, None

    width = math.ceil(count / (max_points // 2))
    # A bin without samples gets +inf as its minimum and -inf as its maximum,
    # then NaN, so that NumPy has no all-NaN bin to warn about.
    ordered = waveform.transpose("trace", dim)
    lowest = ordered.fillna(np.inf).coarsen({dim: width}, boundary="pad").min()
    highest = ordered.fillna(-np.inf).coarsen({dim: width}, boundary="pad").max()
    low, high = _compute_pair(lowest, highest)
    low[low == np.inf] = np.nan
    high[high == -np.inf] = np.nan
    times = np.asarray(waveform[dim].values[::width][: low.shape[-1]])
    logger.debug("drawing %d samples as %d min/max bins", count, low.shape[-1])
    return times, low, high


def _compute_pair(
    lower: xr.DataArray, upper: xr.DataArray
) -> tuple[np.ndarray, np.ndarray]:
    import dask

    computed = dask.compute(lower.data, upper.data)
    return np.array(computed[0], dtype=float), np.array(computed[1], dtype=float)


def _present(data: xr.Dataset) -> list[str]:
    names = list(POSITION_COMPONENTS)
    names += [f"sigma_{c}" for c in POSITION_COMPONENTS if f"sigma_{c}" in data]
    return names


def _draw_component(axis: Any, data: xr.Dataset, component: str) -> None:
    times = data["time"].values
    for station in data["station"].values:
        values = data[component].sel(station=station).values * 1000.0
        (line,) = axis.plot(times, values, linewidth=0.8, label=str(station))
        sigma_name = f"sigma_{component}"
        if sigma_name in data:
            sigma = data[sigma_name].sel(station=station).values * 1000.0
            axis.fill_between(
                times,
                values - sigma,
                values + sigma,
                alpha=0.25,
                color=line.get_color(),
            )
    axis.set_ylabel(f"{component} (mm)")


def _figure(rows: int, share_x: bool) -> tuple[Figure, list[Any]]:
    from matplotlib.figure import Figure

    height = min(2.0 + 1.6 * rows, 24.0)
    figure = Figure(figsize=(10.0, height), layout="constrained")
    axes = figure.subplots(rows, 1, sharex=share_x, squeeze=False)[:, 0]
    return figure, list(axes)


def _finish(figure: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:
        figure.savefig(path, format="png", dpi=100)
        logger.info("saved plot to %s", path)
    return figure
