"""General statistics charts: one KPI across segments, and shares side by side."""

from __future__ import annotations

import bqplot as bq
import numpy as np
import pandas as pd

from . import theme
from .figure import (axis, bind, choose, labels_of, make_figure, numbers, require,
                     short_labels, tooltip)

#: metric -> (axis label, kind of number)
KPI_METRICS = {
    "customers": ("Customers", "count"), "active_customers": ("Active customers", "count"),
    "tickets": ("Tickets", "count"), "revenue": ("Revenue", "money"),
    "units": ("Units", "count"), "avg_ticket": ("Average ticket", "money"),
    "units_per_ticket": ("Units per ticket", "number"),
    "frequency": ("Tickets per active customer", "number"),
    "customer_share": ("Share of customers", "share"),
    "revenue_share": ("Share of revenue", "share"),
}
ALL_CUSTOMERS = "All customers"
_GROUP_WIDTH = 0.76  # share of a segment's slot that its group of bars fills


def kpi_bars(stats: pd.DataFrame, metric: str = "revenue", title: str | None = None
             ) -> bq.Figure:
    """One bar per segment of a :func:`~segjupyter.analytics.general_stats` frame for
    ``metric``; the ``All customers`` row is drawn grey as the reference.

    >>> kpi_bars(an.general_stats(ws, [vip, lapsed]), "avg_ticket")
    """
    choose(metric, KPI_METRICS, "metric")
    label, kind = KPI_METRICS[metric]
    sx, sy = bq.OrdinalScale(), bq.LinearScale(min=0)
    bars = bq.Bars(x=[], y=[], scales={"x": sx, "y": sy}, padding=0.3,
                   tooltip=tooltip(["x", "y"], ["segment", label],
                                   ["", theme.FORMATS[kind]]))
    fig = make_figure("kpi", title if title is not None else label, [bars],
                      [axis(sx, "Segment", grid=False),
                       axis(sy, label, vertical=True, fmt=theme.AXIS_FORMATS[kind])])
    return bind(fig, "kpi", fig.title, _fill_kpi, stats, metric=metric)


def _fill_kpi(fig, stats, metric):
    require(stats, ["segment", metric], "general_stats")
    bars = fig.marks[0]
    names = labels_of(stats["segment"])
    with bars.hold_sync():
        bars.x = names
        bars.y = numbers(stats[metric])
        bars.colors = [theme.REFERENCE if n == ALL_CUSTOMERS else theme.PRIMARY
                       for n in names] or [theme.PRIMARY]
    fig.axes[0].tick_labels = short_labels(names)
    return _no_members(stats)


def comparison_bars(stats: pd.DataFrame, metrics=("customer_share", "revenue_share"),
                    title: str = "Share of customers and revenue") -> bq.Figure:
    """Bars side by side: for each segment (the ``All customers`` row left out) one bar
    per metric of ``metrics`` (same unit, e.g. the two shares), one colour per metric.

    Each metric is its own :class:`bqplot.Bars` mark on a numeric x scale (segment ``i``
    at ``i``, its bars shifted around it): bqplot 0.13's ``type="grouped"`` draws nothing
    (bqplot issue 1646).

    >>> comparison_bars(an.general_stats(ws, [vip, lapsed, madrid]))
    """
    metrics = tuple(choose(m, KPI_METRICS, "metric") for m in metrics)
    kinds = {KPI_METRICS[m][1] for m in metrics}
    kind = kinds.pop() if len(kinds) == 1 else "number"
    sx, sy = bq.LinearScale(), bq.LinearScale(min=0)
    marks = [bq.Bars(x=[], y=[], scales={"x": sx, "y": sy}, colors=[theme.PALETTE[j]],
                     padding=1 - _GROUP_WIDTH / len(metrics), labels=[KPI_METRICS[m][0]],
                     display_legend=True,
                     tooltip=tooltip(["y"], [KPI_METRICS[m][0]], [theme.FORMATS[kind]]))
             for j, m in enumerate(metrics)]
    x_axis = axis(sx, "Segment", grid=False)
    fig = make_figure("comparison", title, marks,
                      [x_axis, axis(sy, "", vertical=True, fmt=theme.AXIS_FORMATS[kind])],
                      legend="top-right")
    return bind(fig, "comparison", title, _fill_comparison, stats, metrics=metrics)


def _fill_comparison(fig, stats, metrics):
    require(stats, ["segment", *metrics], "general_stats")
    rows = stats[stats["segment"] != ALL_CUSTOMERS]
    names = labels_of(rows["segment"])
    n, k = len(rows), len(metrics)
    slot = _GROUP_WIDTH / k
    base = np.arange(n, dtype=float)
    # bqplot sizes bars by the gap between a mark's points: one segment gets two empty
    # neighbours at -1 and +1 so its bars have a width
    pad = n == 1
    for j, (m, mark) in enumerate(zip(metrics, fig.marks)):
        shift = (j - (k - 1) / 2) * slot
        x, y = base + shift, numbers(rows[m])
        if pad:
            x, y = np.r_[x - 1, x, x + 1], np.r_[0.0, y, 0.0]
        with mark.hold_sync():
            mark.x, mark.y = x, y
    x_axis = fig.axes[0]
    with x_axis.hold_sync():
        x_axis.tick_values = base
        x_axis.tick_labels = {i: name if len(name) <= 30 else name[:29] + "…"
                              for i, name in enumerate(names)}
    scale = fig.marks[0].scales["x"]
    scale.min, scale.max = (-0.5, max(n, 1) - 0.5) if not pad else (-1.0, 1.0)
    top = max((float(numbers(rows[m]).max()) for m in metrics), default=0.0) if n else 0.0
    fig.marks[0].scales["y"].max = top * 1.5 if top > 0 else None  # room for the legend
    return n == 0 or _no_members(rows)


def _no_members(stats: pd.DataFrame) -> bool:
    """True when the segments compared have no customers (the ``All customers`` row only
    counts when it is the only row)."""
    if len(stats) == 0:
        return True
    if "customers" not in stats:
        return False
    segments = stats[stats["segment"] != ALL_CUSTOMERS]
    rows = segments if len(segments) else stats
    return float(numbers(rows["customers"]).sum()) == 0
