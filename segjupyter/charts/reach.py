"""Reachability: how many members we can contact, as horizontal bars of shares."""

from __future__ import annotations

import bqplot as bq
import pandas as pd

from .bars import category_bars, set_bars
from .figure import bind, choose, numbers, require


def reach_bars(reach: pd.DataFrame, metric: str = "share",
               title: str = "Reachability") -> bq.Figure:
    """Horizontal bars of a :func:`~segjupyter.analytics.reachability` frame: subscribed,
    has email, has phone, ... as ``share`` of the members (or ``customers``).

    >>> reach_bars(an.reachability(ws, vip))
    """
    choose(metric, ("share", "customers"), "metric")
    label = "Share of members" if metric == "share" else "Customers"
    fig = category_bars("reach", title, "measure", label,
                        "share" if metric == "share" else "count", horizontal=True)
    if metric == "share":
        fig.marks[0].scales["y"].max = 1.0
    return bind(fig, "reach", title, _fill, reach, metric=metric)


def _fill(fig, reach, metric):
    require(reach, ["measure", metric], "reachability")
    set_bars(fig, reach["measure"], numbers(reach[metric]))
    return len(reach) == 0
