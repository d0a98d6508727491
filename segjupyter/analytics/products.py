"""What a segment buys: top products with propensity and lift against all customers."""

from __future__ import annotations

import pandas as pd

from ..errors import AnalyticsError, UnavailableFieldError
from .period import membership_as_of, resolve_period
from .population import as_segment, has_table, populations
from .shaping import empty_like, ratio

RANKINGS = ("revenue", "units", "repeat_rate", "buyers")
PRODUCT_COLUMNS = ["rank", "product_id", "sku", "product", "brand", "category", "revenue",
                   "units", "tickets", "buyers", "repeat_buyers", "repeat_rate", "propensity",
                   "lift"]
# ties are broken the same way every time, so the top n is stable
_ORDER = {"revenue": "revenue DESC, units DESC",
          "units": "units DESC, revenue DESC",
          "repeat_rate": "repeat_rate DESC, buyers DESC, revenue DESC",
          "buyers": "buyers DESC, revenue DESC"}


def top_products(ws, segment=None, period=None, by: str = "revenue", n: int = 100
                 ) -> pd.DataFrame:
    """The ``n`` products the segment's members bought most in ``period``, ranked ``by``
    revenue, units, repeat_rate or buyers.

    Per product: ``revenue`` (sum of line amounts), ``units``, ``tickets`` (orders with
    it), ``buyers`` (members who bought it), ``repeat_buyers`` / ``repeat_rate`` (buyers
    who bought it on two or more orders), ``propensity`` (buyers / members of the segment)
    and ``lift`` (propensity / the same propensity among all customers; 1 = as likely as
    anyone). Members are taken as of the period end. Needs order lines.

    >>> top_products(ws, vip, "last 12 months", by="repeat_rate", n=20)
    """
    if by not in RANKINGS:
        raise AnalyticsError(f"by must be one of {', '.join(RANKINGS)}, not {by!r}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise AnalyticsError(f"n must be a positive whole number, not {n!r}")
    if not has_table(ws, "order_lines"):
        raise UnavailableFieldError("top products need order lines; this workspace has no "
                                    "order_lines table (load one with ws.load(order_lines=...))")
    period = resolve_period(ws, period)
    seg = as_segment(ws, segment)
    if has_table(ws, "products"):
        names = ("pr.sku, pr.name AS product, pr.brand, pr.category",
                 "LEFT JOIN products AS pr ON pr.product_id = a.product_id")
    else:
        names = ("NULL AS sku, NULL AS product, NULL AS brand, NULL AS category", "")
    ctes = (
        # the members' lines of the period, to one row per (product, customer, order) and
        # then per (product, customer): counting orders without count(DISTINCT), 2x faster
        """po AS (
            SELECT product_id, customer_id, order_id, sum(amount) AS revenue,
                   sum(quantity) AS units
            FROM order_lines
            WHERE ordered_at >= $start AND ordered_at <= $end
              AND customer_id IN (SELECT customer_id FROM pop0)
            GROUP BY product_id, customer_id, order_id)""",
        """pc AS (
            SELECT product_id, customer_id, count(*) AS orders, sum(revenue) AS revenue,
                   sum(units) AS units
            FROM po GROUP BY product_id, customer_id)""",
        f"""top AS MATERIALIZED (
            SELECT *, row_number() OVER (ORDER BY {_ORDER[by]}, product_id) AS rank
            FROM (SELECT product_id, sum(revenue) AS revenue, sum(units) AS units,
                         sum(orders) AS tickets, count(*) AS buyers,
                         count(*) FILTER (WHERE orders >= 2) AS repeat_buyers,
                         count(*) FILTER (WHERE orders >= 2) / count(*) AS repeat_rate
                  FROM pc GROUP BY product_id) AS agg
            QUALIFY rank <= $n)""",
        # buyers among all customers, only for the products kept
        """everyone AS (
            SELECT product_id, count(DISTINCT customer_id) AS all_buyers
            FROM order_lines
            WHERE ordered_at >= $start AND ordered_at <= $end
              AND product_id IN (SELECT product_id FROM top)
            GROUP BY product_id)""",
    )
    select = f"""
        SELECT a.product_id, {names[0]}, a.revenue, CAST(a.units AS BIGINT) AS units,
               CAST(a.tickets AS BIGINT) AS tickets, a.buyers, a.repeat_buyers,
               a.repeat_rate, e.all_buyers,
               (SELECT count(*) FROM pop0) AS members,
               (SELECT count(*) FROM customers) AS all_customers
        FROM top AS a JOIN everyone AS e ON e.product_id = a.product_id {names[1]}
        ORDER BY a.rank"""
    with populations(ws, [seg], membership_as_of(ws, period)) as scope:
        df = scope.run(select, {"start": period.start_at, "end": period.end_at, "n": n},
                       ctes)
    df.insert(0, "rank", range(1, len(df) + 1))  # the same as top.rank: 1..n in order
    df["rank"] = df["rank"].astype("int64")
    df["revenue"] = df["revenue"].astype(float)
    df["repeat_rate"] = df["repeat_rate"].astype(float)
    for col in ("buyers", "repeat_buyers", "all_buyers"):
        df[col] = df[col].astype("int64")
    df["propensity"] = ratio(df["buyers"], df["members"])
    df["lift"] = ratio(df["propensity"], ratio(df["all_buyers"], df["all_customers"]))
    df = df[PRODUCT_COLUMNS]
    return empty_like(df) if df.empty else df.reset_index(drop=True)
