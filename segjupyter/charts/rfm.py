"""RFM overview: pies of customer and revenue shares per named segment, and bubbles of
frequency against recency sized by monetary value."""

from __future__ import annotations

import bqplot as bq
import numpy as np
import pandas as pd

from . import theme
from .figure import axis, bind, choose, labels_of, make_figure, numbers, require, tooltip

PIE_VALUES = {"customer_pct": "Customers", "revenue_pct": "Revenue (365 days)",
              "customers": "Customers", "revenue_365d": "Revenue (365 days)"}
MAX_POINTS = 2000


def rfm_pie(summary: pd.DataFrame, value: str = "customer_pct",
            title: str | None = None) -> bq.Figure:
    """A :class:`bqplot.Pie` of an :func:`~segjupyter.analytics.rfm_summary` frame: one
    slice per named RFM segment (empty ones left out), sized by ``value`` (customer_pct or
    revenue_pct), in the fixed RFM colours.

    >>> rfm_pie(an.rfm_summary(ws), "revenue_pct")
    """
    choose(value, PIE_VALUES, "value")
    title = title if title is not None else f"{PIE_VALUES[value]} by RFM segment"
    fmt = theme.FORMATS["share" if value.endswith("pct") else
                        ("count" if value == "customers" else "money")]
    pie = bq.Pie(sizes=[], labels=[], display_labels="none", radius=105, inner_radius=45,
                 sort=False, x=0.3,
                 tooltip=tooltip(["label", "size"], ["segment", PIE_VALUES[value]], ["", fmt]))
    # bqplot 0.13 draws an empty Pie legend, and outside labels of small slices pile up:
    # the legend is drawn with marks instead (colour keys and "name share" texts)
    sx, sy = bq.LinearScale(min=0, max=1), bq.LinearScale(min=0, max=1)
    keys = bq.Scatter(x=[], y=[], marker="square", default_size=60, stroke="white",
                      scales={"x": sx, "y": sy})
    names = bq.Label(x=[], y=[], text=[], default_size=12, font_weight="normal",
                     align="start", y_offset=4, colors=["#333333"], scales={"x": sx, "y": sy})
    fig = make_figure("rfm-pie", title, [pie, keys, names], [],
                      margin={"top": 50, "bottom": 20, "left": 20, "right": 20})
    return bind(fig, "rfm-pie", title, _fill_pie, summary, value=value)


def _fill_pie(fig, summary, value):
    require(summary, ["rfm_segment", value], "rfm_summary")
    rows = summary[numbers(summary[value]) > 0]
    names = [str(n) for n in rows["rfm_segment"]]
    sizes = numbers(rows[value])
    colors = theme.colors_for(names, theme.RFM_COLORS) or [theme.EMPTY_COLOR]
    share = sizes / sizes.sum() if len(sizes) else sizes
    n = len(names)
    ys = 0.92 - np.arange(n) * min(0.085, 0.84 / max(n, 1))
    pie, keys, texts = fig.marks
    with pie.hold_sync():
        pie.sizes = sizes
        pie.labels = names
        pie.colors = colors
    with keys.hold_sync():
        keys.x, keys.y = np.full(n, 0.62), ys
        keys.colors = colors
    with texts.hold_sync():
        texts.x, texts.y = np.full(n, 0.645), ys
        texts.text = [f"{name}  {s:.1%}" for name, s in zip(names, share)]
    return n == 0


def rfm_bubbles(frame: pd.DataFrame, title: str = "RFM: frequency, recency and value"
                ) -> bq.Figure:
    """A bubble :class:`bqplot.Scatter`: frequency (orders in 365 days) on x, recency (days
    since the last order) on y, bubble size = monetary value, colour = RFM segment.

    From an :func:`~segjupyter.analytics.rfm_summary` frame: one bubble per named segment
    (average trips, average recency, size = its revenue). From an
    :func:`~segjupyter.analytics.rfm_table` frame: one point per customer (at most
    ``MAX_POINTS``, a fixed sample beyond that), size = monetary.

    >>> rfm_bubbles(an.rfm_summary(ws))
    """
    sx, sy = bq.LinearScale(min=0), bq.LinearScale(min=0)
    ss = bq.LinearScale()
    dots = bq.Scatter(x=[], y=[], size=[], scales={"x": sx, "y": sy, "size": ss},
                      default_size=1600, stroke="white", opacities=[0.8], names=[],
                      display_names=False,
                      tooltip=tooltip(["name", "x", "y", "size"],
                                      ["segment", "frequency", "recency (days)", "monetary"],
                                      ["", ",.1f", ",.0f", ",.2f"]))
    fig = make_figure("rfm-bubbles", title, [dots],
                      [axis(sx, "Frequency (orders in 365 days)"),
                       axis(sy, "Recency (days since last order)", vertical=True)],
                      height=theme.TALL_HEIGHT)
    return bind(fig, "rfm-bubbles", title, _fill_bubbles, frame)


def _fill_bubbles(fig, frame):
    if "avg_trips" in frame.columns:
        require(frame, ["rfm_segment", "avg_trips", "avg_recency_days", "revenue_365d",
                        "customers"], "rfm_summary")
        rows = frame[numbers(frame["customers"]) > 0]
        x, y = numbers(rows["avg_trips"]), numbers(rows["avg_recency_days"])
        size = numbers(rows["revenue_365d"])
        names = list(rows["rfm_segment"])
        display = True
    else:
        require(frame, ["rfm_segment", "frequency", "recency_days", "monetary"], "rfm_table")
        rows = frame if len(frame) <= MAX_POINTS else frame.sample(MAX_POINTS, random_state=0)
        x, y = numbers(rows["frequency"]), numbers(rows["recency_days"])
        size = np.clip(numbers(rows["monetary"]), 0, None)
        names = list(rows["rfm_segment"])
        display = False
    dots = fig.marks[0]
    scales = dots.scales
    # room for the names right of the last bubble; the smallest bubble stays visible
    scales["x"].max = float(x.max()) * 1.12 + 0.5 if len(x) else None
    scales["size"].min = -0.04 * float(size.max()) if len(size) else None
    with dots.hold_sync():
        dots.x, dots.y, dots.size = x, y, size
        dots.names = labels_of(names)
        dots.display_names = display
        dots.default_size = 1600 if display else 64
        dots.colors = theme.colors_for(names, theme.RFM_COLORS) or [theme.PRIMARY]
    return len(rows) == 0
