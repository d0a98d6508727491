"""Campaign charts: the two arms over time, predicted value bands, model calibration."""

from __future__ import annotations

import bqplot as bq
import numpy as np
import pandas as pd

from . import theme
from .bars import category_bars, set_bars
from .figure import axis, bind, choose, make_figure, numbers, require, tooltip

LIFT_METRICS = {"spend": ("Spend per customer", "money"),
                "orders": ("Orders per customer", "number"),
                "conversion": ("Customers who ordered", "share")}
ARM_COLORS = {"target": theme.PRIMARY, "control": theme.REFERENCE}


def lift_lines(timeline: pd.DataFrame, metric: str = "spend",
               title: str = "Target vs control since the send") -> bq.Figure:
    """Lines of a :func:`~segjupyter.analytics.campaign_timeline` frame: the cumulative
    ``metric`` per customer of the target arm (blue) and the control arm (grey) per day
    after the send; the gap between them is the lift so far.

    >>> lift_lines(an.campaign_timeline(ws, "spring", "spend", 30), "spend")
    """
    choose(metric, LIFT_METRICS, "metric")
    label, kind = LIFT_METRICS[metric]
    sx, sy = bq.DateScale(), bq.LinearScale(min=0)
    marks = []
    for arm in ("target", "control"):
        marks.append(bq.Lines(x=np.array([], dtype="datetime64[ms]"), y=[],
                              scales={"x": sx, "y": sy}, colors=[ARM_COLORS[arm]],
                              stroke_width=2.5, labels=[arm], display_legend=True))
        marks.append(bq.Scatter(x=np.array([], dtype="datetime64[ms]"), y=[],
                                scales={"x": sx, "y": sy}, colors=[ARM_COLORS[arm]],
                                default_size=16,
                                tooltip=tooltip(["x", "y"], ["day", f"{arm}: {label}"],
                                                ["%Y-%m-%d", theme.FORMATS[kind]])))
    axes = [axis(sx, "Day", grid=False),
            axis(sy, label, vertical=True, fmt=theme.AXIS_FORMATS[kind])]
    fig = make_figure("lift", title, marks, axes, legend="top-left")
    return bind(fig, "lift", title, _fill_lift, timeline)


def _fill_lift(fig, frame):
    require(frame, ["day", "target", "control"], "campaign_timeline")
    x = pd.to_datetime(frame["day"]).to_numpy().astype("datetime64[ms]")
    for i, arm in enumerate(("target", "control")):
        y = numbers(frame[arm])
        for mark in fig.marks[2 * i:2 * i + 2]:
            with mark.hold_sync():
                mark.x, mark.y = x, y
    return "No campaign" if len(frame) == 0 else False


CLV_METRICS = {"customers": ("Customers", "count"), "share": ("Share of customers", "share"),
               "predicted_clv": ("Predicted value", "money"),
               "avg_p_alive": ("Average P(alive)", "share")}


def clv_bars(bands: pd.DataFrame, metric: str = "customers",
             title: str | None = None) -> bq.Figure:
    """Bars of a :func:`~segjupyter.analytics.clv_bands` frame: customers (or share, total
    predicted value, average P(alive)) per band of predicted CLV.

    >>> clv_bars(an.clv_bands(ws, vip, horizon="12 months"), "predicted_clv")
    """
    choose(metric, CLV_METRICS, "metric")
    label, kind = CLV_METRICS[metric]
    title = title if title is not None else f"Predicted CLV: {label.lower()}"
    fig = category_bars("clv", title, "Predicted CLV", label, kind)
    return bind(fig, "clv", title, _fill_clv, bands, metric=metric)


def _fill_clv(fig, frame, metric):
    require(frame, ["band", metric], "clv_bands")
    set_bars(fig, frame["band"], numbers(frame[metric]))
    return len(frame) == 0


def calibration_lines(calibration: pd.DataFrame,
                      title: str = "Hold-out: predicted vs actual orders") -> bq.Figure:
    """Predicted (blue) and actual (orange) purchases per customer in the hold-out period,
    by repeat purchases in the calibration period, from
    :func:`~segjupyter.analytics.clv_calibration`."""
    sx, sy = bq.OrdinalScale(), bq.LinearScale(min=0)
    marks = []
    for name, color in (("predicted", theme.PRIMARY), ("actual", theme.PALETTE[1])):
        marks.append(bq.Lines(x=[], y=[], scales={"x": sx, "y": sy}, colors=[color],
                              stroke_width=2.5, labels=[name], display_legend=True,
                              marker="circle",
                              tooltip=tooltip(["x", "y"], ["repeat purchases", name],
                                              ["", theme.FORMATS["number"]])))
    axes = [axis(sx, "Repeat purchases in the calibration period", grid=False),
            axis(sy, "Purchases per customer, hold-out", vertical=True,
                 fmt=theme.AXIS_FORMATS["number"])]
    fig = make_figure("calibration", title, marks, axes, legend="top-left")
    return bind(fig, "calibration", title, _fill_calibration, calibration)


def _fill_calibration(fig, frame):
    require(frame, ["repeat_purchases", "predicted", "actual"], "clv_calibration")
    x = np.asarray([str(v) for v in frame["repeat_purchases"]], dtype=str)
    for mark, col in zip(fig.marks, ("predicted", "actual")):
        with mark.hold_sync():
            mark.x, mark.y = x, numbers(frame[col])
    return len(frame) == 0
