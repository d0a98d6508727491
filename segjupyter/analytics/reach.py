"""Can we reach a segment: subscription and contact details."""

from __future__ import annotations

import pandas as pd

from .period import resolve_as_of
from .population import as_segment, has_column, populations
from .shaping import empty_like, ratio

REACH_MEASURES = ("subscribed", "has email", "has phone", "subscribed with email",
                  "email or phone")
REACH_COLUMNS = ["measure", "customers", "share", "members"]


def reachability(ws, segment=None, as_of=None) -> pd.DataFrame:
    """How many members (as of ``as_of``; default now) are ``subscribed``, ``has email``,
    ``has phone``, ``subscribed with email`` (the campaign list) and reachable by ``email or
    phone``; ``share`` of the ``members``. An email or phone counts when it is not empty
    after trimming spaces; a workspace without the column counts nobody. No members gives
    no rows.

    >>> reachability(ws, vip)
    """
    at = resolve_as_of(ws, as_of)
    seg = as_segment(ws, segment)

    def present(col: str) -> str:
        if not has_column(ws, col):
            return "FALSE"
        return f"coalesce(trim(CAST(c.{col} AS VARCHAR)) <> '', FALSE)"

    sub = "coalesce(c.subscribed, FALSE)" if has_column(ws, "subscribed") else "FALSE"
    email, phone = present("email"), present("phone")
    select = f"""
        SELECT count(*) AS members,
               count(*) FILTER (WHERE {sub}) AS m0,
               count(*) FILTER (WHERE {email}) AS m1,
               count(*) FILTER (WHERE {phone}) AS m2,
               count(*) FILTER (WHERE {sub} AND {email}) AS m3,
               count(*) FILTER (WHERE {email} OR {phone}) AS m4
        FROM pop0 AS p JOIN customers AS c ON c.customer_id = p.customer_id"""
    with populations(ws, [seg], at) as scope:
        row = scope.run(select).iloc[0]
    members = int(row["members"])
    out = pd.DataFrame({"measure": pd.Series(REACH_MEASURES, dtype=str),
                        "customers": [int(row[f"m{i}"]) for i in range(len(REACH_MEASURES))]})
    out["customers"] = out["customers"].astype("int64")
    out["share"] = ratio(out["customers"], members)
    out["members"] = members
    out["members"] = out["members"].astype("int64")
    out = out[REACH_COLUMNS]
    return empty_like(out) if members == 0 else out
