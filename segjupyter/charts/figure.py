"""What every chart factory shares: a themed :class:`bqplot.Figure` that remembers how to
refill its marks, the empty state, axes and tooltips.

A factory builds marks with no data, then fills them from the DataFrame through the same
function :func:`update` uses later, so a dashboard swaps a chart's data in place (one
``hold_sync`` message per mark) instead of building a new Figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import bqplot as bq
import numpy as np
import pandas as pd

from ..errors import AnalyticsError
from . import theme


@dataclass
class ChartState:
    kind: str
    title: str
    # fill returns True (or the message to show) when there is nothing to draw
    fill: Callable[[bq.Figure, pd.DataFrame], bool | str]
    options: dict = field(default_factory=dict)


def make_figure(kind: str, title: str, marks: list, axes: list, *, height: str = theme.HEIGHT,
                margin: dict | None = None, legend: str | None = None) -> bq.Figure:
    """A themed figure with the CSS classes ``sj-chart`` and ``sj-chart-<kind>``."""
    fig = bq.Figure(marks=marks, axes=axes, title=title,
                    fig_margin=dict(margin or theme.MARGIN),
                    layout=theme.figure_layout(height), title_style=dict(theme.TITLE_STYLE),
                    animation_duration=0,
                    legend_location=legend or "top-right")
    fig.add_class("sj-chart")
    fig.add_class(f"sj-chart-{kind}")
    return fig


def bind(fig: bq.Figure, kind: str, title: str, fill, frame: pd.DataFrame, **options
         ) -> bq.Figure:
    """Attach the refill function to ``fig`` and fill it from ``frame``."""
    fig._sj_chart = ChartState(kind, title, fill, options)
    update(fig, frame)
    return fig


def update(fig: bq.Figure, frame: pd.DataFrame) -> bq.Figure:
    """Replace the data of a segjupyter chart in place with ``frame`` (a frame of the same
    analytic that made it); an empty frame shows the empty state. Returns ``fig``.

    >>> fig = charts.evolution_lines(an.evolution(ws, vip))
    >>> charts.update(fig, an.evolution(ws, lapsed))
    """
    state = getattr(fig, "_sj_chart", None)
    if state is None:
        raise AnalyticsError("update() takes a figure made by a segjupyter.charts factory")
    if not isinstance(frame, pd.DataFrame):
        raise AnalyticsError(f"a {state.kind} chart is filled from a DataFrame, not "
                             f"{type(frame).__name__}")
    result = state.fill(fig, frame, **state.options)
    set_empty(fig, bool(result), result if isinstance(result, str) else theme.EMPTY_TITLE)
    return fig


def set_empty(fig: bq.Figure, empty: bool, message: str = theme.EMPTY_TITLE) -> None:
    """Show (or clear) the empty state: ``message`` ("No customers") in the title, the CSS
    class ``sj-chart-empty``, axes hidden."""
    title = fig._sj_chart.title
    if empty:
        fig.title = f"{title} — {message}" if title else message
        fig.add_class("sj-chart-empty")
    else:
        fig.title = title
        fig.remove_class("sj-chart-empty")
    for ax in fig.axes:  # axes of no data show made-up ticks: hide them
        ax.visible = not empty


def is_empty(fig: bq.Figure) -> bool:
    return "sj-chart-empty" in fig._dom_classes


def require(frame: pd.DataFrame, columns, what: str) -> None:
    """Raise a readable error when ``frame`` lacks ``columns`` (the wrong analytic's frame)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AnalyticsError(f"the {what} chart needs columns {', '.join(missing)}; pass the "
                             f"frame of analytics.{what}()")


def choose(value: str, allowed, what: str) -> str:
    if value not in allowed:
        raise AnalyticsError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def axis(scale, label: str, *, vertical: bool = False, fmt: str | None = None,
         grid: bool = True, side: str | None = None, rotate: int = 0) -> bq.Axis:
    kw = {"scale": scale, "label": label, "tick_style": dict(theme.TICK_STYLE),
          "grid_lines": "dashed" if grid else "none", "tick_rotate": rotate}
    # ``side`` sets the orientation too (``orientation=`` is not a constructor trait)
    kw["side"] = side or ("left" if vertical else "bottom")
    kw["label_offset"] = "55px" if vertical else "40px"
    if fmt is not None:
        kw["tick_format"] = fmt
    return bq.Axis(**kw)


def tooltip(fields, labels, formats=None) -> bq.Tooltip:
    return bq.Tooltip(fields=list(fields), labels=list(labels),
                      formats=list(formats or [""] * len(fields)))


def labels_of(values) -> np.ndarray:
    """Category labels as a plain string array (bqplot serialises it as a list)."""
    return np.asarray([str(v) for v in values], dtype=str)


def short_labels(names) -> dict:
    """``{name: shortened name}`` for the names longer than ``theme.MAX_LABEL``."""
    cut = theme.MAX_LABEL
    return {n: n[:cut - 1].rstrip() + "…" for n in names if len(n) > cut}


def nice_ticks(top: float, count: int = theme.VALUE_TICKS) -> np.ndarray:
    """Round tick values from 0 to at least ``top`` (1, 2 or 5 times a power of ten apart),
    as d3 picks them; used where bqplot's own ticks would crowd a narrow axis."""
    if not np.isfinite(top) or top <= 0:
        return np.array([0.0])
    raw = top / count
    step = 10.0 ** np.floor(np.log10(raw))
    for m in (1, 2, 5, 10):
        if step * m >= raw:
            step *= m
            break
    return np.arange(0.0, top + step * 1e-9, step)


def numbers(values) -> np.ndarray:
    return np.asarray(pd.to_numeric(pd.Series(values), errors="coerce").fillna(0.0),
                      dtype=float)
