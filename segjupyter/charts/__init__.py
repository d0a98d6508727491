"""bqplot charts of the analytics frames: DataFrame in, Figure out, one theme.

Every factory returns a :class:`bqplot.Figure` with an explicit height, labelled axes,
tooltips and the CSS classes ``sj-chart`` and ``sj-chart-<kind>``; an empty frame gives the
empty state ("No customers" in the title, class ``sj-chart-empty``). :func:`update` refills a
figure in place from a new frame of the same analytic.

>>> from segjupyter import analytics as an, charts
>>> fig = charts.evolution_lines(an.evolution(ws, vip))
>>> charts.update(fig, an.evolution(ws, lapsed))
"""

from .demographics import demographics_bars
from .evolution import evolution_lines
from .figure import is_empty, update
from .lifecycle import lifecycle_bars, tier_bars
from .lift import calibration_lines, clv_bars, lift_lines
from .moment import moment_bars, moment_heatmap
from .overlap import overlap_heatmap
from .products import top_products_bars
from .reach import reach_bars
from .rfm import rfm_bubbles, rfm_pie
from .stats import comparison_bars, kpi_bars

__all__ = ["calibration_lines", "clv_bars", "lift_lines", "comparison_bars", "demographics_bars", "evolution_lines", "is_empty", "kpi_bars",
           "lifecycle_bars", "moment_bars", "moment_heatmap", "overlap_heatmap", "reach_bars",
           "rfm_bubbles", "rfm_pie", "tier_bars", "top_products_bars", "update"]
