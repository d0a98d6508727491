"""When a segment buys: tickets by weekday and hour of the day."""

from __future__ import annotations

import pandas as pd

from .period import membership_as_of, resolve_period
from .population import as_segment, populations
from .shaping import empty_like, ratio

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MOMENT_COLUMNS = ["weekday", "day", "hour", "tickets", "revenue", "share"]


def purchase_moment(ws, segment=None, period=None) -> pd.DataFrame:
    """Tickets of the segment's members in ``period`` on the full 7 × 24 grid of weekday
    (0 = Monday, ``day`` its short name) and hour (0–23, the order's local time), with
    ``revenue`` and ``share`` (of the segment's tickets). 168 rows, Monday 0h first; no
    members gives no rows. :func:`purchase_moment_marginals` sums it by weekday and hour.

    >>> purchase_moment(ws, vip, "2025")
    """
    period = resolve_period(ws, period)
    seg = as_segment(ws, segment)
    select = """
        SELECT g.weekday, g.hour, coalesce(m.tickets, 0) AS tickets,
               coalesce(m.revenue, 0) AS revenue, (SELECT count(*) FROM pop0) AS members
        FROM (SELECT d.weekday, h.hour FROM range(7) AS d(weekday), range(24) AS h(hour)) AS g
        LEFT JOIN (
            SELECT isodow(ordered_at) - 1 AS weekday, hour(ordered_at) AS hour,
                   count(*) AS tickets, sum(total) AS revenue
            FROM orders
            WHERE ordered_at >= $start AND ordered_at <= $end
              AND customer_id IN (SELECT customer_id FROM pop0)
            GROUP BY 1, 2) AS m ON m.weekday = g.weekday AND m.hour = g.hour
        ORDER BY g.weekday, g.hour"""
    with populations(ws, [seg], membership_as_of(ws, period)) as scope:
        df = scope.run(select, {"start": period.start_at, "end": period.end_at})
    empty = df["members"].iloc[0] == 0
    df["weekday"] = df["weekday"].astype("int64")
    df["hour"] = df["hour"].astype("int64")
    df["day"] = df["weekday"].map(dict(enumerate(WEEKDAYS))).astype(str)
    df["tickets"] = df["tickets"].astype("int64")
    df["revenue"] = df["revenue"].astype(float)
    df["share"] = ratio(df["tickets"], df["tickets"].sum())
    df = df[MOMENT_COLUMNS]
    return empty_like(df) if empty else df.reset_index(drop=True)


def purchase_moment_marginals(moment: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(by_weekday, by_hour)`` sums of a :func:`purchase_moment` frame: columns
    ``weekday, day, tickets, revenue, share`` (7 rows) and ``hour, tickets, revenue, share``
    (24 rows); no rows when the grid has none."""
    if moment.empty:
        return (pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
                    ("weekday", "int64"), ("day", str), ("tickets", "int64"),
                    ("revenue", float), ("share", float))}),
                pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
                    ("hour", "int64"), ("tickets", "int64"), ("revenue", float),
                    ("share", float))}))
    total = moment["tickets"].sum()
    by_day = moment.groupby(["weekday", "day"], as_index=False, sort=True)[
        ["tickets", "revenue"]].sum()
    by_day["share"] = ratio(by_day["tickets"], total)
    by_hour = moment.groupby("hour", as_index=False, sort=True)[["tickets", "revenue"]].sum()
    by_hour["share"] = ratio(by_hour["tickets"], total)
    return by_day.reset_index(drop=True), by_hour.reset_index(drop=True)
