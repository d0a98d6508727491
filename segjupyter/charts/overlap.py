"""Overlap between segments as a heat map."""

from __future__ import annotations

import bqplot as bq
import numpy as np
import pandas as pd

from . import theme
from .figure import axis, bind, choose, make_figure, numbers, require, tooltip

# bqplot squeezes a 1 x 1 colour array to a scalar and refuses it: fewer than two segments
# are drawn on a 2 x 2 grid padded with blank names, in the empty state
_PAD = ["", " "]

OVERLAP_VALUES = {"jaccard": ("Jaccard", "share"), "shared": ("Shared customers", "count"),
                  "share_of_a": ("Share of the row's customers", "share")}


def overlap_heatmap(overlap: pd.DataFrame, value: str = "jaccard",
                    title: str | None = None) -> bq.Figure:
    """A :class:`bqplot.GridHeatMap` of an :func:`~segjupyter.analytics.overlap` frame:
    segments on both axes, colour and cell text = ``value`` (jaccard, shared or
    share_of_a).

    >>> overlap_heatmap(an.overlap(ws, [vip, lapsed, madrid]), "shared")
    """
    choose(value, OVERLAP_VALUES, "value")
    label, kind = OVERLAP_VALUES[value]
    title = title if title is not None else f"Overlap: {label.lower()}"
    rows, cols = bq.OrdinalScale(reverse=True), bq.OrdinalScale()  # first segment on top
    color = bq.ColorScale(colors=list(theme.HEAT_COLORS), min=0)
    fmt = theme.FORMATS[kind]
    grid = bq.GridHeatMap(color=np.zeros((2, 2)), row=_PAD, column=_PAD,
                          scales={"row": rows, "column": cols, "color": color},
                          stroke="white", display_format=fmt, font_style={"font-size": "12px"},
                          tooltip=tooltip(["row", "column", "color"],
                                          ["segment", "with", label], ["", "", fmt]))
    axes = [axis(cols, "", grid=False), axis(rows, "", vertical=True, grid=False)]
    fig = make_figure("overlap", title, [grid], axes, height=theme.TALL_HEIGHT,
                      margin={"top": 50, "bottom": 60, "left": 160, "right": 30})
    return bind(fig, "overlap", title, _fill, overlap, value=value, fmt=fmt)


def _fill(fig, overlap, value, fmt):
    require(overlap, ["segment_a", "segment_b", "customers_a", value], "overlap")
    order = list(dict.fromkeys(overlap["segment_a"]))
    index = {s: i for i, s in enumerate(order)}
    k = len(order)
    size = max(k, 2)
    grid = np.zeros((size, size))
    for a, b, v in zip(overlap["segment_a"], overlap["segment_b"], numbers(overlap[value])):
        grid[index[a], index[b]] = v
    if k < 2:  # nothing to compare: the empty state, no cell coloured
        grid[:] = 0.0
    names = [str(s) for s in order] + _PAD[k:] if k < 2 else [str(s) for s in order]
    mark = fig.marks[0]
    with mark.hold_sync():
        mark.row = names
        mark.column = names
        mark.color = grid
        # padded cells have no value to print (bqplot draws NaN cells black)
        mark.display_format = fmt if k >= 2 else None
    mark.scales["color"].max = float(grid.max()) if grid.max() > 0 else 1.0
    if k < 2:
        return "needs two segments or more"
    return float(numbers(overlap["customers_a"]).sum()) == 0
