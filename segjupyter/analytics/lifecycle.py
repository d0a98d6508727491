"""Where a segment's customers are in their life with the shop: lifecycle stage and value
tier (with a simple CLV). Stage definitions live in ``rules/derived.py``, shared with the
``lifecycle`` rule field."""

from __future__ import annotations

import pandas as pd

from ..errors import AnalyticsError
from ..rules import derived
from ..rules.model import LIFECYCLE_STAGES
from .period import resolve_as_of
from .population import as_segment, populations
from .shaping import empty_like, ratio

LIFECYCLE_COLUMNS = ["lifecycle", "customers", "share"]

#: Value tiers by spend over the 365 days up to as_of, among all customers who spent:
#: (name, share of spenders up to and including this tier, from the top).
VALUE_TIERS: tuple[tuple[str, float], ...] = (
    ("top 10%", 0.10), ("next 20%", 0.30), ("middle 30%", 0.60), ("bottom 40%", 1.00))
NO_SPEND = "no spend"
TIER_NAMES = tuple(name for name, _ in VALUE_TIERS) + (NO_SPEND,)
TIER_COLUMNS = ["tier", "customers", "share", "revenue_365d", "avg_spend", "avg_orders", "clv"]


def lifecycle(ws, segment=None, as_of=None) -> pd.DataFrame:
    """Members per lifecycle stage as of ``as_of`` (a date, or a period: its end), in the
    order new, active, at risk, hibernating, lost, prospect; ``share`` of the members.
    Stages are those of the ``lifecycle`` rule field (``docs/evaluation.md``). No members
    gives no rows.

    >>> lifecycle(ws, vip, as_of="2025-12-31")
    """
    at = resolve_as_of(ws, as_of)
    seg = as_segment(ws, segment)
    select = """
        SELECT lc.lifecycle, count(*) AS customers
        FROM pop0 AS p JOIN lc ON lc.customer_id = p.customer_id
        GROUP BY lc.lifecycle"""
    with populations(ws, [seg], at) as scope:
        df = scope.run(select, derived.derived_bounds(at),
                       (f"lc AS ({derived.LIFECYCLE_SQL})",))
    counts = dict(zip(df["lifecycle"], df["customers"]))
    out = pd.DataFrame({"lifecycle": pd.Series(LIFECYCLE_STAGES, dtype=str),
                        "customers": [int(counts.get(s, 0)) for s in LIFECYCLE_STAGES]})
    out["customers"] = out["customers"].astype("int64")
    out["share"] = ratio(out["customers"], out["customers"].sum())
    return empty_like(out) if out["customers"].sum() == 0 else out


def value_tiers(ws, segment=None, as_of=None, lifetime_years: float = 3.0) -> pd.DataFrame:
    """Members per value tier as of ``as_of``.

    Every customer's spend over the 365 days up to ``as_of`` (sum of order totals) is ranked
    among **all** customers who spent more than 0, so a tier means the same in every
    segment: ``top 10%``, ``next 20%``, ``middle 30%``, ``bottom 40%`` (a customer is in the
    first tier whose cumulative share, counting every customer who spent at least as much,
    holds them; ties share a tier), and ``no spend``. Per tier: ``customers``, ``share`` of
    the members, ``revenue_365d``, ``avg_spend``, ``avg_orders`` and ``clv`` = average
    ticket × orders per year × ``lifetime_years``, i.e. ``avg_spend × lifetime_years``.

    >>> value_tiers(ws, vip, lifetime_years=5)
    """
    if not isinstance(lifetime_years, (int, float)) or lifetime_years <= 0:
        raise AnalyticsError(f"lifetime_years must be a positive number, not {lifetime_years!r}")
    at = resolve_as_of(ws, as_of)
    seg = as_segment(ws, segment)
    whens = " ".join(f"WHEN k * 100 <= n * {round(cut * 100)} THEN $tier{i}"
                     for i, (_, cut) in enumerate(VALUE_TIERS))
    ctes = (
        """spend AS (
            SELECT customer_id, sum(total) AS spend, count(*) AS orders
            FROM orders WHERE ordered_at >= $rfm_start AND ordered_at <= $as_of
            GROUP BY customer_id HAVING sum(total) > 0)""",
        f"""tiered AS (
            SELECT customer_id, spend, orders, CASE {whens} END AS tier
            FROM (SELECT customer_id, spend, orders,
                         count(*) OVER (ORDER BY spend DESC) AS k, count(*) OVER () AS n
                  FROM spend) AS ranked)""",
    )
    select = """
        SELECT coalesce(t.tier, $no_spend) AS tier, count(*) AS customers,
               coalesce(sum(t.spend), 0) AS revenue_365d, coalesce(sum(t.orders), 0) AS orders
        FROM pop0 AS p LEFT JOIN tiered AS t ON t.customer_id = p.customer_id
        GROUP BY 1"""
    params = {"rfm_start": derived.derived_bounds(at)["rfm_start"], "as_of": at,
              "no_spend": NO_SPEND, **{f"tier{i}": name for i, (name, _) in enumerate(VALUE_TIERS)}}
    with populations(ws, [seg], at) as scope:
        df = scope.run(select, params, ctes).set_index("tier")
    df = df.reindex(list(TIER_NAMES), fill_value=0)
    out = pd.DataFrame({"tier": pd.Series(TIER_NAMES, dtype=str),
                        "customers": df["customers"].to_numpy().astype("int64"),
                        "revenue_365d": df["revenue_365d"].to_numpy().astype(float)})
    orders = df["orders"].to_numpy().astype(float)
    out["share"] = ratio(out["customers"], out["customers"].sum())
    out["avg_spend"] = ratio(out["revenue_365d"], out["customers"])
    out["avg_orders"] = ratio(orders, out["customers"])
    out["clv"] = out["avg_spend"] * float(lifetime_years)
    out = out[TIER_COLUMNS]
    return empty_like(out) if out["customers"].sum() == 0 else out
