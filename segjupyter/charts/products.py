"""Top products: horizontal bars of the first products of a ranking."""

from __future__ import annotations

import bqplot as bq
import pandas as pd

from . import theme
from .bars import category_bars, set_bars
from .figure import bind, choose, numbers, require

PRODUCT_METRICS = {"revenue": ("Revenue", "money"), "units": ("Units", "count"),
                   "buyers": ("Buyers", "count"), "repeat_rate": ("Repeat rate", "share"),
                   "propensity": ("Propensity", "share"), "lift": ("Lift", "number"),
                   "tickets": ("Tickets", "count")}


def top_products_bars(products: pd.DataFrame, metric: str = "revenue", n: int = 20,
                      title: str | None = None) -> bq.Figure:
    """Horizontal bars of the first ``n`` rows of a
    :func:`~segjupyter.analytics.top_products` frame (its ranking order), length =
    ``metric``; bars are named ``rank. product`` so equal names stay apart.

    >>> top_products_bars(an.top_products(ws, vip, by="buyers"), "buyers", n=15)
    """
    choose(metric, PRODUCT_METRICS, "metric")
    label, kind = PRODUCT_METRICS[metric]
    title = title if title is not None else f"Top products by {label.lower()}"
    fig = category_bars("products", title, "product", label, kind,
                        horizontal=True, height=theme.TALL_HEIGHT)
    return bind(fig, "products", title, _fill, products, metric=metric, n=int(n))


def _fill(fig, products, metric, n):
    require(products, ["rank", "product", metric], "top_products")
    top = products.head(n)
    names = [f"{r}. {p}" if isinstance(p, str) and p else f"{r}. product {i}"
             for r, p, i in zip(top["rank"], top["product"], top.get("product_id", top["rank"]))]
    set_bars(fig, names, numbers(top[metric]))
    return len(top) == 0
