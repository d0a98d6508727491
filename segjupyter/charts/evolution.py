"""Evolution over time: lines of one or two measures per bucket."""

from __future__ import annotations

import bqplot as bq
import numpy as np
import pandas as pd

from . import theme
from .figure import axis, bind, choose, make_figure, numbers, require, tooltip

EVOLUTION_METRICS = {"sales": ("Sales", "money"), "tickets": ("Tickets", "count"),
                     "active_customers": ("Active customers", "count"),
                     "avg_ticket": ("Average ticket", "money")}


def evolution_lines(evolution: pd.DataFrame, metrics=("sales", "active_customers"),
                    title: str = "Evolution") -> bq.Figure:
    """Lines of an :func:`~segjupyter.analytics.evolution` frame over its buckets: the first
    metric on the left axis, a second one (optional) on its own right axis, each axis label
    in its line's colour; points carry tooltips.

    >>> evolution_lines(an.evolution(ws, vip, freq="week"), ("sales", "avg_ticket"))
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(choose(m, EVOLUTION_METRICS, "metric") for m in metrics)
    if not 1 <= len(metrics) <= 2:
        choose(str(metrics), ("one or two metrics",), "metrics")
    sx = bq.DateScale()
    marks, axes = [], [axis(sx, "Period", grid=False)]
    for i, m in enumerate(metrics):
        label, kind = EVOLUTION_METRICS[m]
        sy = bq.LinearScale(min=0)
        color = theme.PALETTE[i]
        marks.append(bq.Lines(x=np.array([], dtype="datetime64[ms]"), y=[],
                              scales={"x": sx, "y": sy}, colors=[color], stroke_width=2,
                              labels=[label]))
        marks.append(bq.Scatter(x=np.array([], dtype="datetime64[ms]"), y=[],
                                scales={"x": sx, "y": sy}, colors=[color], default_size=24,
                                tooltip=tooltip(["x", "y"], ["from", label],
                                                ["%Y-%m-%d", theme.FORMATS[kind]])))
        y_axis = axis(sy, label, vertical=True, fmt=theme.AXIS_FORMATS[kind],
                      side="left" if i == 0 else "right", grid=i == 0)
        if len(metrics) > 1:  # no legend over the lines: each axis wears its line's colour
            y_axis.label_color = color
        axes.append(y_axis)
    margin = dict(theme.MARGIN, right=70) if len(metrics) > 1 else None
    fig = make_figure("evolution", title, marks, axes, margin=margin)
    return bind(fig, "evolution", title, _fill, evolution, metrics=metrics)


def _fill(fig, evolution, metrics):
    require(evolution, ["bucket", *metrics], "evolution")
    x = pd.to_datetime(evolution["bucket"]).to_numpy().astype("datetime64[ms]")
    for i, m in enumerate(metrics):
        y = numbers(evolution[m])
        for mark in fig.marks[2 * i:2 * i + 2]:
            with mark.hold_sync():
                mark.x = x
                mark.y = y
    return len(evolution) == 0
