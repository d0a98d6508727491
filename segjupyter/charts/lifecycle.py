"""Lifecycle stages and value tiers as bars."""

from __future__ import annotations

import bqplot as bq
import pandas as pd

from . import theme
from .bars import category_bars, set_bars
from .figure import bind, choose, numbers, require

TIER_METRICS = {"customers": ("Customers", "count"), "share": ("Share of customers", "share"),
                "revenue_365d": ("Revenue, last 365 days", "money"),
                "clv": ("CLV per customer", "money"),
                "avg_spend": ("Average spend, 365 days", "money")}


def lifecycle_bars(lifecycle: pd.DataFrame, metric: str = "customers",
                   title: str = "Lifecycle stage") -> bq.Figure:
    """Bars of a :func:`~segjupyter.analytics.lifecycle` frame, one per stage in lifecycle
    order, in the stage colours; ``metric`` customers or share.

    >>> lifecycle_bars(an.lifecycle(ws, vip))
    """
    choose(metric, ("customers", "share"), "metric")
    label, kind = TIER_METRICS[metric]
    fig = category_bars("lifecycle", title, "Stage", label, kind)
    return bind(fig, "lifecycle", title, _fill_lifecycle, lifecycle, metric=metric)


def _fill_lifecycle(fig, frame, metric):
    require(frame, ["lifecycle", metric], "lifecycle")
    names = list(frame["lifecycle"])
    set_bars(fig, names, numbers(frame[metric]), theme.colors_for(names, theme.LIFECYCLE_COLORS))
    return len(frame) == 0


def tier_bars(tiers: pd.DataFrame, metric: str = "customers",
              title: str | None = None) -> bq.Figure:
    """Bars of a :func:`~segjupyter.analytics.value_tiers` frame, one per tier (top first):
    ``metric`` customers, share, revenue_365d, avg_spend or clv.

    >>> tier_bars(an.value_tiers(ws, vip), "clv")
    """
    choose(metric, TIER_METRICS, "metric")
    label, kind = TIER_METRICS[metric]
    title = title if title is not None else f"Value tiers: {label}"
    fig = category_bars("tiers", title, "Tier", label, kind)
    return bind(fig, "tiers", title, _fill_tiers, tiers, metric=metric)


def _fill_tiers(fig, frame, metric):
    require(frame, ["tier", metric], "value_tiers")
    set_bars(fig, frame["tier"], numbers(frame[metric]), theme.colors_for(frame["tier"]))
    return len(frame) == 0
