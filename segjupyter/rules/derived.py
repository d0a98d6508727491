"""Derived per-customer fields: RFM scores, named RFM segments and lifecycle stage.

The definitions live here once; the compiler uses them for ``rfm_segment = "champions"`` and
the analytics layer for the RFM dashboard. Everything is computed as of ``as_of``:

* **RFM** looks at the orders of the ``RFM_DAYS`` (365) days up to ``as_of``. Recency is the
  last order time, frequency the number of orders, monetary the spend. Each is scored 1..5 by
  its cumulative distribution among the customers who ordered in that period:
  ``score = ceil(5 * k / n)`` with ``k`` the number of customers whose value is lower, plus one
  (its rank; ties get the same score, the lowest their group reaches, and the result is
  deterministic). Higher is better (recent, frequent, big spender).
* **Named RFM segments** use the standard R × F map (``RFM_MAP``); customers who ordered before
  the period but not in it are ``lost``; customers who never ordered have none.
* **Lifecycle**: ``prospect`` (never ordered), ``new`` (first order in the last 90 days),
  ``active`` (last order in the last 180 days), ``at risk`` (180–365), ``hibernating``
  (365–730), ``lost`` (more than 730 days ago).

The "lost" rows use ``NOT EXISTS``, not ``NOT IN (subquery)``: the same rows (customer ids
are never NULL), but PostgreSQL runs a large ``NOT IN`` as a nested loop.

SQL is written for DuckDB with named placeholders ``$as_of`` and ``$rfm_start`` /
``$lc_new`` / ... which :func:`derived_bounds` fills.
"""

from __future__ import annotations

import datetime as dt

from .windows import shift

RFM_DAYS = 365

#: (R scores, F scores) -> segment name; covers all 25 combinations.
RFM_MAP: list[tuple[str, str, str]] = [
    ("12", "12", "hibernating"),
    ("12", "34", "at risk"),
    ("12", "5", "can't lose them"),
    ("3", "12", "about to sleep"),
    ("3", "3", "need attention"),
    ("34", "45", "loyal"),
    ("4", "1", "promising"),
    ("5", "1", "new"),
    ("45", "23", "potential loyalist"),
    ("5", "45", "champions"),
]

LIFECYCLE_DAYS = {"new": 90, "active": 180, "at risk": 365, "hibernating": 730}


def rfm_segment_name(r: int, f: int) -> str:
    """The named segment for scores ``r`` and ``f`` (1..5)."""
    for rs, fs, name in RFM_MAP:
        if str(r) in rs and str(f) in fs:
            return name
    raise ValueError(f"no RFM segment for R={r} F={f}")


def _segment_case() -> str:
    whens = []
    for rs, fs, name in RFM_MAP:
        rin = ", ".join(rs)
        fin = ", ".join(fs)
        lit = name.replace("'", "''")
        whens.append(f"WHEN r IN ({rin}) AND f IN ({fin}) THEN '{lit}'")
    return "CASE " + " ".join(whens) + " END"


def _score(col: str) -> str:
    # RANK() = customers with a lower value + 1: a large tie at the bottom (one-time buyers)
    # scores 1, where "lower or equal" would lift it to 2 and leave F = 1 (new, promising)
    # empty on any shop where more than a fifth of customers ordered once
    return (f"CAST((5 * RANK() OVER (ORDER BY {col}) + COUNT(*) OVER () - 1) "
            f"// COUNT(*) OVER () AS INTEGER)")


def rfm_sql(lost: bool = True, monetary: bool = True) -> str:
    """:data:`RFM_SQL`, optionally without the ``lost`` rows (customers who ordered only
    before the period) and without the M score: a condition like
    ``rfm_segment = "champions"`` needs neither, and they are a third of its cost."""
    m = f"{_score('monetary')}" if monetary else "CAST(NULL AS INTEGER)"
    sql = _RFM_PERIOD.replace("{m}", m)
    return sql + _RFM_LOST if lost else sql


_RFM_PERIOD = f"""
SELECT customer_id, last_order_at, frequency, monetary, r, f, m,
       {_segment_case()} AS rfm_segment
FROM (
  SELECT customer_id, last_order_at, frequency, monetary,
         {_score('last_order_at')} AS r,
         {_score('frequency')} AS f,
         {{m}} AS m
  FROM (
    SELECT customer_id, MAX(ordered_at) AS last_order_at, COUNT(*) AS frequency,
           SUM(total) AS monetary
    FROM orders
    WHERE ordered_at >= $rfm_start AND ordered_at <= $as_of
    GROUP BY customer_id
  ) AS period
) AS scored
"""

_RFM_LOST = """UNION ALL
SELECT customer_id, MAX(ordered_at), 0, CAST(0 AS DECIMAL(18,2)), NULL, NULL, NULL, 'lost'
FROM orders AS lo
WHERE ordered_at < $rfm_start
  AND NOT EXISTS (SELECT 1 FROM orders AS rec WHERE rec.customer_id = lo.customer_id
                  AND rec.ordered_at >= $rfm_start AND rec.ordered_at <= $as_of)
GROUP BY customer_id
"""

RFM_SQL = rfm_sql()

_LIFECYCLE = """
SELECT c.customer_id,
       CASE WHEN o.first_at IS NULL THEN 'prospect'
            WHEN o.first_at >= $lc_new THEN 'new'
            WHEN o.last_at >= $lc_active THEN 'active'
            WHEN o.last_at >= $lc_at_risk THEN 'at risk'
            WHEN o.last_at >= $lc_hibernating THEN 'hibernating'
            ELSE 'lost' END AS lifecycle
FROM customers AS c
LEFT JOIN (SELECT customer_id, MIN(ordered_at) AS first_at, MAX(ordered_at) AS last_at
           FROM orders WHERE ordered_at <= $as_of{inner} GROUP BY customer_id) AS o
  ON o.customer_id = c.customer_id{outer}
"""


def lifecycle_sql(only: str | None = None) -> str:
    """:data:`LIFECYCLE_SQL`, or its rows for the customers of the subquery ``only`` alone
    (an incremental refresh needs nobody else's)."""
    if only is None:
        return _LIFECYCLE.format(inner="", outer="")
    return _LIFECYCLE.format(inner=f" AND customer_id IN ({only})",
                             outer=f"\nWHERE c.customer_id IN ({only})")


LIFECYCLE_SQL = lifecycle_sql()


def derived_bounds(as_of: dt.datetime) -> dict[str, dt.datetime]:
    """Values of the placeholders of :data:`RFM_SQL` and :data:`LIFECYCLE_SQL`."""
    eps = dt.timedelta(microseconds=1)
    out = {"as_of": as_of, "rfm_start": shift(as_of, -RFM_DAYS, "day") + eps}
    for stage, days in LIFECYCLE_DAYS.items():
        out["lc_" + stage.replace(" ", "_")] = shift(as_of, -days, "day") + eps
    return out
