"""The availability plot keeps the layout engine of a figure it is given.

``plot_availability(ax=...)`` draws on the caller's axes. Where the
caller's figure uses constrained layout, the plot must keep it (no
"layout has changed" warning), and the legend outside the axes must still
lie inside the figure and cover no bar.
"""

from __future__ import annotations

import warnings

from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from test_availability_legend import bar_boxes, day_table, drawn

from intake_earthscope.availability import plot_availability


def test_constrained_figure_keeps_engine() -> None:
    figure = Figure(figsize=(8, 3), layout="constrained")
    ax = figure.add_subplot()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_availability(day_table(["BHZ", "BHN"], 12, True), ax=ax)

    assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
    renderer = drawn(figure)
    legend = ax.get_legend().get_window_extent(renderer)
    assert figure.bbox.x1 >= legend.x1
    assert not any(legend.overlaps(box) for box in bar_boxes(ax))


def test_plain_figure_makes_room() -> None:
    figure = Figure(figsize=(8, 3))
    ax = figure.add_subplot()

    plot_availability(day_table(["BHZ"], 12, True), ax=ax)

    legend = ax.get_legend().get_window_extent(drawn(figure))
    assert figure.bbox.x1 >= legend.x1
