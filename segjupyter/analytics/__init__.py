"""Analytics: what a segment looks like over a period, as pandas DataFrames (DESIGN.md §7).

Every function takes the workspace, a segment (a :class:`~segjupyter.rules.segment.Segment`,
rule text or tree; ``None`` for all customers) or several, and a period or an ``as_of``
date; it computes in DuckDB, the segment's own rule inside the same query, and returns a
DataFrame. Segment membership is evaluated as of the end of the period. See
``docs/analytics.md``.

>>> from segjupyter import analytics as an
>>> an.general_stats(ws, [vip, lapsed], "last 12 months")
>>> an.top_products(ws, vip, "2025", by="buyers", n=20)
"""

from .clv import clv_bands, clv_calibration, clv_params, predicted_values
from .demographics import DEFAULT_AGE_BANDS, age_band_labels, demographics
from .evolution import evolution
from .lifecycle import lifecycle, value_tiers
from .lift import campaign_lift, campaign_timeline
from .moment import WEEKDAYS, purchase_moment, purchase_moment_marginals
from .overlap import overlap, overlap_matrix
from .period import Period, resolve_as_of, resolve_period
from .population import ALL_CUSTOMERS
from .products import top_products
from .reach import reachability
from .rfm import rfm_summary, rfm_table
from .stats import general_stats

__all__ = ["ALL_CUSTOMERS", "DEFAULT_AGE_BANDS", "Period", "WEEKDAYS", "age_band_labels",
           "campaign_lift", "campaign_timeline", "clv_bands", "clv_calibration", "clv_params",
           "predicted_values",
           "demographics", "evolution", "general_stats", "lifecycle", "overlap",
           "overlap_matrix", "purchase_moment", "purchase_moment_marginals", "reachability",
           "resolve_as_of", "resolve_period", "rfm_summary", "rfm_table", "top_products",
           "value_tiers"]
