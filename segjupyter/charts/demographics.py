"""Demographics: the members by age band, gender, city, country, store or channel."""

from __future__ import annotations

import bqplot as bq
import pandas as pd

from ..analytics.demographics import DIMENSIONS
from .bars import category_bars, set_bars
from .figure import bind, choose, numbers, require

DEMOGRAPHIC_METRICS = {"customers": ("Customers", "count"), "share": ("Share", "share"),
                       "tickets": ("Tickets", "count"), "revenue": ("Revenue", "money")}
_TITLES = {"age": "Age band", "gender": "Gender", "city": "City", "country": "Country",
           "store": "Store", "channel": "Channel"}


def demographics_bars(demographics: pd.DataFrame, dimension: str = "age",
                      metric: str = "customers", top: int = 15,
                      title: str | None = None) -> bq.Figure:
    """Bars of one ``dimension`` of a :func:`~segjupyter.analytics.demographics` frame:
    age bands as vertical bars in band order, the others horizontal, the ``top`` values
    by ``metric`` (largest first).

    >>> demographics_bars(an.demographics(ws, vip), "city", top=10)
    """
    choose(dimension, DIMENSIONS, "dimension")
    choose(metric, DEMOGRAPHIC_METRICS, "metric")
    label, kind = DEMOGRAPHIC_METRICS[metric]
    title = title if title is not None else f"{_TITLES[dimension]}: {label.lower()}"
    horizontal = dimension != "age"
    fig = category_bars(f"demographics-{dimension}", title, _TITLES[dimension], label,
                        kind, horizontal=horizontal)
    return bind(fig, "demographics", title, _fill, demographics, dimension=dimension,
                metric=metric, top=int(top))


def _fill(fig, frame, dimension, metric, top):
    require(frame, ["dimension", "value", metric], "demographics")
    rows = frame[frame["dimension"] == dimension]
    if dimension != "age":  # the largest first by the metric shown
        rows = rows.sort_values(metric, ascending=False, kind="stable").head(top)
    set_bars(fig, rows["value"], numbers(rows[metric]))
    return len(frame) == 0
