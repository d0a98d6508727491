"""How a segment's buying evolves over a period, per day, week or month."""

from __future__ import annotations

import pandas as pd

from ..errors import AnalyticsError
from .period import membership_as_of, resolve_period
from .population import as_segment, populations
from .shaping import empty_like, ratio

FREQUENCIES = ("day", "week", "month")
EVOLUTION_COLUMNS = ["bucket", "active_customers", "tickets", "sales", "avg_ticket"]


def evolution(ws, segment=None, period=None, freq: str = "month") -> pd.DataFrame:
    """Per bucket of ``freq`` (day, week starting Monday, month) over ``period``: the
    members who ordered (``active_customers``), ``tickets``, ``sales`` (sum of order totals)
    and ``avg_ticket``. Every bucket of the period is present, with zeros when nothing was
    sold; ``bucket`` is the bucket's first day (the first and last buckets may be cut by
    the period). Members are taken as of the period end; no members gives no rows.

    >>> evolution(ws, vip, "last 12 months", freq="week")
    """
    if freq not in FREQUENCIES:
        raise AnalyticsError(f"freq must be one of {', '.join(FREQUENCIES)}, not {freq!r}")
    period = resolve_period(ws, period)
    seg = as_segment(ws, segment)
    # freq comes from the fixed list above, so writing it into the SQL text is safe
    select = f"""
        SELECT b.bucket, coalesce(o.active_customers, 0) AS active_customers,
               coalesce(o.tickets, 0) AS tickets, coalesce(o.sales, 0) AS sales,
               (SELECT count(*) FROM pop0) AS members
        FROM (SELECT CAST(generate_series AS TIMESTAMP) AS bucket
              FROM generate_series(date_trunc('{freq}', CAST($start AS TIMESTAMP)),
                                   CAST($end AS TIMESTAMP), INTERVAL 1 {freq})) AS b
        LEFT JOIN (
            SELECT date_trunc('{freq}', ordered_at) AS bucket,
                   count(DISTINCT customer_id) AS active_customers, count(*) AS tickets,
                   sum(total) AS sales
            FROM orders
            WHERE ordered_at >= $start AND ordered_at <= $end
              AND customer_id IN (SELECT customer_id FROM pop0)
            GROUP BY 1) AS o ON o.bucket = b.bucket
        ORDER BY b.bucket"""
    with populations(ws, [seg], membership_as_of(ws, period)) as scope:
        df = scope.run(select, {"start": period.start_at, "end": period.end_at})
    empty = df["members"].iloc[0] == 0 if len(df) else True
    df = df.drop(columns="members")
    df["active_customers"] = df["active_customers"].astype("int64")
    df["tickets"] = df["tickets"].astype("int64")
    df["sales"] = df["sales"].astype(float)
    df["avg_ticket"] = ratio(df["sales"], df["tickets"])
    df = df[EVOLUTION_COLUMNS]
    return empty_like(df) if empty else df.reset_index(drop=True)
