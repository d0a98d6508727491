"""How segments overlap: shared customers and Jaccard index for every pair."""

from __future__ import annotations

import pandas as pd

from ..errors import AnalyticsError
from .period import resolve_as_of
from .population import labelled, populations
from .shaping import ratio

OVERLAP_COLUMNS = ["segment_a", "segment_b", "customers_a", "customers_b", "shared",
                   "jaccard", "share_of_a"]


def overlap(ws, segments, as_of=None) -> pd.DataFrame:
    """Every ordered pair of ``segments`` (a list, or ``{label: segment}``) as of ``as_of``:
    ``shared`` customers, ``jaccard`` = shared / customers in either, ``share_of_a`` =
    shared / customers of ``segment_a``. N segments give N × N rows (the diagonal included),
    in the order given; 0 when a segment is empty. :func:`overlap_matrix` pivots it.

    >>> overlap(ws, {"vip": vip, "lapsed": lapsed, "madrid": madrid})
    """
    items = labelled(ws, segments)
    if not items:
        raise AnalyticsError("overlap needs at least one segment")
    at = resolve_as_of(ws, as_of)
    k = len(items)
    members = " UNION ALL ".join(f"SELECT customer_id, {i} AS k FROM pop{i}" for i in range(k))
    select = f"""
        SELECT a.k AS a, b.k AS b, count(*) AS shared
        FROM m AS a JOIN m AS b ON a.customer_id = b.customer_id
        GROUP BY a.k, b.k"""
    with populations(ws, [s for _, s in items], at) as scope:
        df = scope.run(select, {}, (f"m AS MATERIALIZED ({members})",))
    shared = {(int(a), int(b)): int(n) for a, b, n in df.itertuples(index=False)}
    rows = []
    for i, (la, _) in enumerate(items):
        for j, (lb, _) in enumerate(items):
            rows.append((la, lb, shared.get((i, i), 0), shared.get((j, j), 0),
                         shared.get((i, j), 0)))
    out = pd.DataFrame(rows, columns=OVERLAP_COLUMNS[:5])
    for col in OVERLAP_COLUMNS[2:5]:
        out[col] = out[col].astype("int64")
    out["segment_a"] = out["segment_a"].astype(str)
    out["segment_b"] = out["segment_b"].astype(str)
    out["jaccard"] = ratio(out["shared"], out["customers_a"] + out["customers_b"] - out["shared"])
    out["share_of_a"] = ratio(out["shared"], out["customers_a"])
    return out[OVERLAP_COLUMNS]


def overlap_matrix(frame: pd.DataFrame, value: str = "shared") -> pd.DataFrame:
    """An :func:`overlap` frame as a square matrix of ``value`` (shared, jaccard or
    share_of_a), rows and columns in the segments' order."""
    if value not in ("shared", "jaccard", "share_of_a"):
        raise AnalyticsError(f"value must be shared, jaccard or share_of_a, not {value!r}")
    order = list(dict.fromkeys(frame["segment_a"]))
    m = frame.pivot(index="segment_a", columns="segment_b", values=value)
    m = m.reindex(index=order, columns=order)
    m.index.name, m.columns.name = None, None
    return m
