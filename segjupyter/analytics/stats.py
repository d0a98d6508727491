"""General statistics of segments over a period, side by side and against all customers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .period import membership_as_of, resolve_period
from .shaping import ratio
from .population import ALL_CUSTOMERS, has_table, labelled, populations

STATS_COLUMNS = ["segment", "customers", "active_customers", "tickets", "revenue", "units",
                 "avg_ticket", "units_per_ticket", "frequency", "customer_share",
                 "revenue_share"]


def general_stats(ws, segments=None, period=None) -> pd.DataFrame:
    """One row per segment, then an ``All customers`` row, over ``period``.

    Columns: ``customers`` (members as of the period end), ``active_customers`` (members who
    ordered in the period), ``tickets``, ``revenue`` (sum of order totals), ``units``,
    ``avg_ticket`` (revenue / tickets), ``units_per_ticket``, ``frequency`` (tickets per
    active customer), ``customer_share`` (customers / all customers) and ``revenue_share``
    (revenue / revenue of all customers). Ratios with a zero denominator are 0.

    >>> general_stats(ws, [vip, lapsed], "last 12 months")
    """
    period = resolve_period(ws, period)
    items = labelled(ws, segments) + [(ALL_CUSTOMERS, None)]
    lines = has_table(ws, "order_lines")
    ctes = ["ord AS MATERIALIZED (SELECT customer_id, count(*) AS tickets, sum(total) AS revenue "
            "FROM orders WHERE ordered_at >= $start AND ordered_at <= $end "
            "GROUP BY customer_id)"]
    if lines:
        ctes.append("lin AS MATERIALIZED (SELECT customer_id, sum(quantity) AS units "
                    "FROM order_lines WHERE ordered_at >= $start AND ordered_at <= $end "
                    "GROUP BY customer_id)")
    units = "CAST(coalesce(sum(l.units), 0) AS BIGINT)" if lines else "NULL"
    join = "LEFT JOIN lin AS l ON l.customer_id = p.customer_id" if lines else ""
    parts = [
        f"SELECT {i} AS k, count(*) AS customers, count(o.customer_id) AS active_customers, "
        f"CAST(coalesce(sum(o.tickets), 0) AS BIGINT) AS tickets, "
        f"coalesce(sum(o.revenue), 0) AS revenue, {units} AS units "
        f"FROM pop{i} AS p LEFT JOIN ord AS o ON o.customer_id = p.customer_id {join}"
        for i in range(len(items))]
    with populations(ws, [s for _, s in items], membership_as_of(ws, period)) as scope:
        df = scope.run(" UNION ALL ".join(parts) + " ORDER BY k",
                       {"start": period.start_at, "end": period.end_at}, tuple(ctes))
    df.insert(0, "segment", [label for label, _ in items])
    df = df.drop(columns="k")
    df["revenue"] = df["revenue"].astype(float)
    df["units"] = df["units"].astype(float) if not lines else df["units"].astype("int64")
    all_row = df.iloc[-1]
    df["avg_ticket"] = ratio(df["revenue"], df["tickets"])
    df["units_per_ticket"] = ratio(df["units"], df["tickets"]) if lines else np.nan
    df["frequency"] = ratio(df["tickets"], df["active_customers"])
    df["customer_share"] = ratio(df["customers"], all_row["customers"])
    df["revenue_share"] = ratio(df["revenue"], all_row["revenue"])
    return df[STATS_COLUMNS].reset_index(drop=True)

