"""RFM: per-customer scores and the named RFM segments, as the ``rfm_segment`` rule field
computes them (``rules/derived.py``), optionally attributed by email or phone."""

from __future__ import annotations

import pandas as pd
import sqlglot
from sqlglot import exp

from ..errors import AnalyticsError
from ..rules import derived
from ..rules.model import RFM_SEGMENTS
from .period import resolve_as_of
from .population import as_segment, has_column, populations
from .shaping import empty_like, ratio

ATTRIBUTIONS = ("customer_id", "email", "phone")
SCORE_COLUMNS = ["last_order_at", "recency_days", "frequency", "monetary", "r", "f", "m",
                 "rfm_segment"]
SUMMARY_COLUMNS = ["rfm_segment", "customers", "revenue_365d", "avg_revenue", "avg_trips",
                   "avg_recency_days", "customer_pct", "revenue_pct"]

# the key that groups customer records into one entity; NULL leaves a record on its own
_KEYS = {
    "email": "nullif(lower(trim(c.email)), '')",
    "phone": ("CASE WHEN length(regexp_replace(c.phone, '[^0-9]', '', 'g')) >= 6 "
              "THEN regexp_replace(c.phone, '[^0-9]', '', 'g') END"),
}


def _entity_rfm_sql() -> str:
    """:data:`derived.RFM_SQL` over ``ent_orders`` (orders keyed by entity) instead of
    ``orders``: the same scoring, one definition."""
    tree = sqlglot.parse_one(derived.RFM_SQL, read="duckdb")

    def swap(node):
        if isinstance(node, exp.Table) and node.name == "orders":
            return exp.to_table("ent_orders").as_(node.alias) if node.alias else \
                exp.to_table("ent_orders")
        return node

    return tree.transform(swap).sql(dialect="duckdb")


def _query(ws, attribution: str, restricted: bool) -> tuple[list[str], str]:
    """CTEs and the SELECT of the per-entity RFM table."""
    if attribution not in ATTRIBUTIONS:
        raise AnalyticsError(f"attribution must be one of {', '.join(ATTRIBUTIONS)}, "
                             f"not {attribution!r}")
    scores = ("r.last_order_at, date_diff('day', CAST(r.last_order_at AS DATE), "
              "CAST($as_of AS DATE)) AS recency_days, CAST(r.frequency AS BIGINT) AS frequency, "
              "r.monetary, r.r, r.f, r.m, r.rfm_segment")
    if attribution == "customer_id":
        where = "WHERE r.customer_id IN (SELECT customer_id FROM pop0)" if restricted else ""
        return ([f"rfm AS ({derived.RFM_SQL})"],
                f"SELECT r.customer_id, {scores} FROM rfm AS r {where} ORDER BY r.customer_id")
    key = _KEYS[attribution] if has_column(ws, attribution) else "NULL"
    ctes = [
        f"ent AS MATERIALIZED (SELECT c.customer_id, coalesce({key}, 'customer:' || "
        f"CAST(c.customer_id AS VARCHAR)) AS entity FROM customers AS c)",
        "ent_orders AS MATERIALIZED (SELECT e.entity AS customer_id, o.ordered_at, o.total "
        "FROM orders AS o JOIN ent AS e ON e.customer_id = o.customer_id)",
        f"rfm AS ({_entity_rfm_sql()})",
        "grp AS (SELECT entity, count(*) AS customers, "
        "list(customer_id ORDER BY customer_id) AS customer_ids"
        + (", bool_or(customer_id IN (SELECT customer_id FROM pop0)) AS in_pop"
           if restricted else "") + " FROM ent GROUP BY entity)",
    ]
    where = "WHERE g.in_pop" if restricted else ""
    return ctes, (f"SELECT g.entity, g.customers, g.customer_ids, {scores} "
                  f"FROM rfm AS r JOIN grp AS g ON g.entity = r.customer_id {where} "
                  f"ORDER BY g.entity")


def _fix_types(df: pd.DataFrame) -> pd.DataFrame:
    df["monetary"] = df["monetary"].astype(float)
    for col in ("r", "f", "m"):
        df[col] = df[col].astype("Int64")
    for col in ("recency_days", "frequency"):
        df[col] = df[col].astype("int64")
    df["rfm_segment"] = df["rfm_segment"].astype(str)
    return df


def rfm_table(ws, as_of=None, attribution: str = "customer_id", segment=None) -> pd.DataFrame:
    """RFM scores as of ``as_of`` per customer (``attribution="customer_id"``) or per person
    recognised by ``email`` or ``phone``.

    Customers sharing an email (compared trimmed and lower-cased) or a phone (its digits, when
    there are at least six) are one entity whose orders are pooled; records without one stay
    on their own as ``customer:<id>``. Scores are computed over every entity of the workspace
    (``docs/evaluation.md``: orders of the 365 days up to ``as_of``, quintiles 1–5, named
    segment from R × F, ``lost`` for those who ordered only before); customers who never
    ordered have no row. With ``segment``, only entities with a member (as of ``as_of``)
    are kept, with their workspace-wide scores.

    Columns: ``customer_id`` (or ``entity``, ``customers``, ``customer_ids``), then
    ``last_order_at, recency_days`` (days from the last order's day to as_of's day),
    ``frequency`` (orders in the 365 days), ``monetary`` (their spend), ``r, f, m`` (null for
    ``lost``) and ``rfm_segment``.

    >>> rfm_table(ws, "2025-12-31", attribution="email", segment=vip)
    """
    at = resolve_as_of(ws, as_of)
    seg = as_segment(ws, segment)
    ctes, select = _query(ws, attribution, seg is not None)
    with populations(ws, [seg], at) as scope:
        df = scope.run(select, derived.derived_bounds(at), tuple(ctes))
    if attribution != "customer_id":
        df["entity"] = df["entity"].astype(str)
        df["customers"] = df["customers"].astype("int64")
    return _fix_types(df).reset_index(drop=True)


def rfm_summary(ws, as_of=None, attribution: str = "customer_id", segment=None
                ) -> pd.DataFrame:
    """Per named RFM segment (all eleven, in the standard order): ``customers`` (entities,
    see :func:`rfm_table`), ``revenue_365d`` (their spend over the 365 days up to
    ``as_of``), ``avg_revenue``, ``avg_trips`` (orders in those days), ``avg_recency_days``,
    ``customer_pct`` and ``revenue_pct`` (shares of the scored entities' customers and
    revenue). With ``segment``, only entities with a member; an empty segment gives no rows.

    >>> rfm_summary(ws, segment=vip)
    """
    at = resolve_as_of(ws, as_of)
    seg = as_segment(ws, segment)
    ctes, inner = _query(ws, attribution, seg is not None)
    inner = inner[:inner.rindex(" ORDER BY")]
    select = f"""
        SELECT rfm_segment, count(*) AS customers, sum(monetary) AS revenue_365d,
               sum(frequency) AS trips, sum(recency_days) AS recency
        FROM ({inner}) AS t GROUP BY rfm_segment"""
    with populations(ws, [seg], at) as scope:
        df = scope.run(select, derived.derived_bounds(at), tuple(ctes))
    df = df.set_index("rfm_segment").reindex(list(RFM_SEGMENTS), fill_value=0)
    out = pd.DataFrame({"rfm_segment": pd.Series(RFM_SEGMENTS, dtype=str),
                        "customers": df["customers"].to_numpy().astype("int64"),
                        "revenue_365d": df["revenue_365d"].to_numpy().astype(float)})
    out["avg_revenue"] = ratio(out["revenue_365d"], out["customers"])
    out["avg_trips"] = ratio(df["trips"].to_numpy(dtype=float), out["customers"])
    out["avg_recency_days"] = ratio(df["recency"].to_numpy(dtype=float), out["customers"])
    out["customer_pct"] = ratio(out["customers"], out["customers"].sum())
    out["revenue_pct"] = ratio(out["revenue_365d"], out["revenue_365d"].sum())
    out = out[SUMMARY_COLUMNS]
    return empty_like(out) if out["customers"].sum() == 0 else out
