"""The availability plot's legend never covers a bar.

The legend sits outside the axes, so the last day's bars, which an
upper-right legend inside the axes would hide, stay visible. The check
draws with the Agg backend and compares the legend's box with the box of
each bar on the canvas.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from intake_earthscope.availability import plot_availability


def day_table(channels: list[str], days: int, missing_last: bool) -> pd.DataFrame:
    """Return an availability table of CI.WBM with every day present but,
    where ``missing_last`` is set, the last one."""
    rows = []
    for channel in channels:
        for number, day in enumerate(pd.date_range("2024-01-01", periods=days)):
            exists = not (missing_last and number == days - 1)
            rows.append(
                {
                    "network": "CI",
                    "station": "WBM",
                    "location": "",
                    "channel": channel,
                    "day": day,
                    "exists": exists,
                }
            )
    return pd.DataFrame(rows)


def bar_boxes(ax: Axes) -> list[Bbox]:
    """Return the box of each bar on the canvas, in pixels."""
    boxes = []
    for collection in ax.collections:
        transform = collection.get_transform()
        boxes.extend(path.get_extents(transform) for path in collection.get_paths())
    return boxes


def drawn(figure: Figure) -> Any:
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


@pytest.mark.parametrize(
    ("channels", "days", "missing_last"),
    [
        (["LHZ"], 3, False),
        (["LHZ"], 3, True),
        (["LHE", "LHN", "LHZ"], 10, False),
        (["BHZ", "LHZ"], 1, True),
        ([f"L{code}" for code in "ABCDEFGHIJ"], 30, True),
    ],
    ids=["one-trace", "last-missing", "three-traces", "one-day", "ten-traces"],
)
def test_legend_covers_no_bar(
    channels: list[str], days: int, missing_last: bool
) -> None:
    figure = plot_availability(day_table(channels, days, missing_last))
    renderer = drawn(figure)
    [ax] = figure.axes
    legend = ax.get_legend()

    box = legend.get_window_extent(renderer)
    bars = bar_boxes(ax)

    assert len(bars) == len(channels) * days
    for bar in bars:
        assert not box.overlaps(bar), (box, bar)


def test_legend_inside_figure() -> None:
    figure = plot_availability(day_table(["LHZ"], 3, True), title="CI.WBM")
    renderer = drawn(figure)
    [ax] = figure.axes

    box = ax.get_legend().get_window_extent(renderer)

    assert figure.bbox.contains(box.x0, box.y0)
    assert figure.bbox.contains(box.x1, box.y1)


def test_legend_on_given_axes() -> None:
    figure = Figure(figsize=(8, 3))
    ax = figure.add_subplot()

    plot_availability(day_table(["LHE", "LHZ"], 5, True), ax=ax)
    renderer = drawn(figure)

    box = ax.get_legend().get_window_extent(renderer)
    for bar in bar_boxes(ax):
        assert not box.overlaps(bar)
