"""Category bars, vertical or horizontal: the building block of the distribution charts."""

from __future__ import annotations

import bqplot as bq
import numpy as np

from . import theme
from .figure import axis, labels_of, make_figure, nice_ticks, short_labels, tooltip


def category_bars(kind: str, title: str, category: str, value: str, number: str, *,
                  horizontal: bool = False, height: str = theme.HEIGHT) -> bq.Figure:
    """An unfilled figure with one :class:`bqplot.Bars` mark of categories (``category``
    axis) against numbers (``value`` axis) of the kind ``number`` (count, money, share,
    number). Horizontal bars list the first category at the top and leave room for long
    names."""
    sx = bq.OrdinalScale(reverse=horizontal)
    sy = bq.LinearScale(min=0)
    bars = bq.Bars(x=[], y=[], scales={"x": sx, "y": sy}, colors=[theme.PRIMARY],
                   orientation="horizontal" if horizontal else "vertical", padding=0.2,
                   tooltip=tooltip(["x", "y"], [category, value],
                                   ["", theme.FORMATS[number]]))
    fmt = theme.AXIS_FORMATS[number]
    if horizontal:
        axes = [axis(sx, "", vertical=True, grid=False), axis(sy, value, fmt=fmt)]
        margin = theme.WIDE_LEFT_MARGIN
    else:
        axes = [axis(sx, category, grid=False), axis(sy, value, vertical=True, fmt=fmt)]
        margin = theme.MARGIN
    return make_figure(kind, title, [bars], axes, height=height, margin=margin)


def set_bars(fig: bq.Figure, names, values, colors=None) -> None:
    """Replace the bars' categories, values and colours in one message; long names are
    shortened on the category axis only."""
    bars = fig.marks[0]
    names = labels_of(names)
    with bars.hold_sync():
        bars.x = names
        bars.y = np.asarray(values, dtype=float)
        bars.colors = list(colors) if colors else [theme.PRIMARY]
    category_axis = next(a for a in fig.axes if a.scale is bars.scales["x"])
    category_axis.tick_labels = short_labels(names)
    if bars.orientation == "horizontal":
        value_axis = next(a for a in fig.axes if a.scale is bars.scales["y"])
        top = bars.scales["y"].max or (float(np.nanmax(bars.y)) if len(bars.y) else 0.0)
        value_axis.tick_values = nice_ticks(top)
