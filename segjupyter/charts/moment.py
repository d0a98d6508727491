"""Purchase moment: weekday × hour heat map and its marginal bars."""

from __future__ import annotations

import bqplot as bq
import numpy as np
import pandas as pd

from ..analytics.moment import WEEKDAYS, purchase_moment_marginals
from . import theme
from .figure import axis, bind, choose, labels_of, make_figure, numbers, require, tooltip

HOURS = tuple(range(24))


def moment_heatmap(moment: pd.DataFrame, value: str = "tickets",
                   title: str = "Tickets by weekday and hour") -> bq.Figure:
    """A :class:`bqplot.GridHeatMap` of a :func:`~segjupyter.analytics.purchase_moment`
    frame: rows Monday..Sunday, columns 0..23 h, colour = ``value`` (tickets, revenue or
    share). The empty state keeps the 7 × 24 grid at zero, in the lightest colour.

    >>> moment_heatmap(an.purchase_moment(ws, vip))
    """
    choose(value, ("tickets", "revenue", "share"), "value")
    fmt = {"tickets": theme.FORMATS["count"], "revenue": theme.FORMATS["money"],
           "share": theme.FORMATS["share"]}[value]
    rows, cols = bq.OrdinalScale(reverse=True), bq.OrdinalScale()  # Monday on top
    color = bq.ColorScale(colors=list(theme.HEAT_COLORS), min=0)
    grid = bq.GridHeatMap(color=np.zeros((7, 24)), row=list(WEEKDAYS), column=list(HOURS),
                          scales={"row": rows, "column": cols, "color": color},
                          stroke="white",
                          tooltip=tooltip(["row", "column", "color"],
                                          ["day", "hour", value], ["", "", fmt]))
    # no colour axis: bqplot squeezes it to a few pixels at this height; tooltips tell values
    axes = [axis(cols, "Hour of the day", grid=False),
            axis(rows, "", vertical=True, grid=False)]
    fig = make_figure("moment", title, [grid], axes, margin=dict(theme.MARGIN, right=20,
                                                                  left=55))
    return bind(fig, "moment", title, _fill_grid, moment, value=value)


def _fill_grid(fig, moment, value):
    require(moment, ["weekday", "hour", value], "purchase_moment")
    grid = np.zeros((7, 24))
    if len(moment):
        w = moment["weekday"].to_numpy(dtype=int)
        h = moment["hour"].to_numpy(dtype=int)
        np.add.at(grid, (w, h), numbers(moment[value]))
    mark = fig.marks[0]
    with mark.hold_sync():
        mark.color = grid
    top = float(grid.max())
    # zeros would take the middle colour of a 0..0 scale: keep them the lightest
    mark.scales["color"].max = top if top > 0 else 1.0
    return len(moment) == 0


def moment_bars(moment: pd.DataFrame, by: str = "hour", value: str = "tickets",
                title: str | None = None) -> bq.Figure:
    """Marginal bars of a purchase-moment frame (the 7 × 24 grid, or a marginal of
    :func:`~segjupyter.analytics.purchase_moment_marginals`): ``value`` by ``hour`` (24
    bars) or ``weekday`` (7 bars).

    >>> moment_bars(an.purchase_moment(ws, vip), by="weekday")
    """
    choose(by, ("hour", "weekday"), "by")
    choose(value, ("tickets", "revenue", "share"), "value")
    kind = {"tickets": "count", "revenue": "money", "share": "share"}[value]
    label = {"tickets": "Tickets", "revenue": "Revenue", "share": "Share of tickets"}[value]
    title = title if title is not None else f"{label} by {'hour' if by == 'hour' else 'weekday'}"
    sx, sy = bq.OrdinalScale(), bq.LinearScale(min=0)
    bars = bq.Bars(x=[], y=[], scales={"x": sx, "y": sy}, colors=[theme.PRIMARY],
                   padding=0.15,
                   tooltip=tooltip(["x", "y"], [by, label], ["", theme.FORMATS[kind]]))
    fig = make_figure(f"moment-{by}", title, [bars],
                      [axis(sx, "Hour of the day" if by == "hour" else "Weekday", grid=False),
                       axis(sy, label, vertical=True, fmt=theme.AXIS_FORMATS[kind])])
    return bind(fig, f"moment-{by}", title, _fill_bars, moment, by=by, value=value)


def _fill_bars(fig, moment, by, value):
    require(moment, [by, value], "purchase_moment")
    if "hour" in moment and "weekday" in moment:  # the full grid: sum it
        by_day, by_hour = purchase_moment_marginals(moment)
        frame = by_hour if by == "hour" else by_day
    else:
        frame = moment
    keys = list(HOURS) if by == "hour" else list(range(7))
    names = [str(h) for h in HOURS] if by == "hour" else list(WEEKDAYS)
    if len(frame) == 0:
        keys, names = [], []
    values = dict(zip(frame[by].astype(int), numbers(frame[value]))) if len(frame) else {}
    bars = fig.marks[0]
    with bars.hold_sync():
        bars.x = labels_of(names)
        bars.y = np.asarray([values.get(k, 0.0) for k in keys], dtype=float)
    return len(moment) == 0
