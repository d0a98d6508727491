"""segjupyter against the baselines a user would pick instead: an expert's hand-written
DuckDB SQL and idiomatic pandas, on the same demo data, in the same run.

    .venv/bin/python benchmarks/bench_baselines.py [--sizes M,L] [--repeat 7]

Per case it prints the time of the first ``Segment.count()`` (what *Calculate* runs:
compile + one query), the median of the next ones (the compiled statement is kept for the
same rule and instant, so these run the query alone, like the expert's fixed text), of the
expert SQL (same connection, same settings, bounds precomputed), and of
the pandas computation (tables loaded into DataFrames *before* timing, money as integer
cents so sums are exact), the ratios, and checks that the three member sets are equal (exit
1 otherwise). Demo M is built once into ``/tmp/segjupyter-bench-M`` and L into
``/tmp/segjupyter-bench-L`` (reused by the other benchmarks).

Targets (issue 10): segjupyter <= 1.2x expert SQL on every case; >= 3x faster than pandas
on M and >= 10x on L; Calculate median < 0.15 s on M.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

CASES = {
    "attribute only": 'city in ("Madrid", "Barcelona") and subscribed',
    "spend 12m + no order 90d": "spend(last 12 months) >= 500 and orders(last 90 days) = 0",
    "bought brand+category 6m": 'bought(brand = "Acme" and category = "Tea", last 6 months)',
    "RFM champions": 'rfm_segment = "champions"',
    "events in 30 days": 'events("email_open", last 30 days) >= 2',
    "nested tree, 6 conds, NOT": (
        'country = "Spain" and subscribed and (orders(last 90 days) >= 2 or '
        'spend(last 12 months) >= 300) and not (bought(category = "Gifts", last 12 months) '
        'or events("email_click", last 30 days) >= 1)'),
}


def bounds(as_of: dt.datetime) -> dict[str, dt.datetime]:
    """Window starts, exclusive (``t > start``): the 'last N' windows of the language."""
    from dateutil.relativedelta import relativedelta
    return {"as_of": as_of, "m12": as_of - relativedelta(months=12),
            "m6": as_of - relativedelta(months=6), "d90": as_of - dt.timedelta(days=90),
            "d30": as_of - dt.timedelta(days=30), "rfm": as_of - dt.timedelta(days=365)}


# -- expert SQL: what someone who knows DuckDB and this schema writes by hand ---------------
_RFM = """
WITH p AS (SELECT customer_id, max(ordered_at) AS r0, count(*) AS f0 FROM orders
           WHERE ordered_at > $rfm AND ordered_at <= $as_of GROUP BY 1),
s AS (SELECT customer_id,
        (5 * rank() OVER (ORDER BY r0) + count(*) OVER () - 1) // count(*) OVER () AS r,
        (5 * rank() OVER (ORDER BY f0) + count(*) OVER () - 1) // count(*) OVER () AS f
      FROM p)
SELECT customer_id FROM s WHERE r = 5 AND f >= 4"""

EXPERT = {
    "attribute only": "SELECT customer_id FROM customers "
                      "WHERE city IN ('Madrid', 'Barcelona') AND subscribed",
    "spend 12m + no order 90d": """
        SELECT customer_id FROM orders WHERE ordered_at > $m12 AND ordered_at <= $as_of
        GROUP BY 1 HAVING sum(total) >= 500
           AND count(*) FILTER (WHERE ordered_at > $d90) = 0""",
    "bought brand+category 6m": """
        SELECT DISTINCT l.customer_id FROM order_lines l JOIN products p USING (product_id)
        WHERE p.brand = 'Acme' AND p.category = 'Tea'
          AND l.ordered_at > $m6 AND l.ordered_at <= $as_of""",
    "RFM champions": _RFM,
    "events in 30 days": """
        SELECT customer_id FROM events WHERE event_type = 'email_open'
          AND occurred_at > $d30 AND occurred_at <= $as_of GROUP BY 1 HAVING count(*) >= 2""",
    "nested tree, 6 conds, NOT": """
        WITH o AS (SELECT customer_id, count(*) FILTER (WHERE ordered_at > $d90) AS n90,
                          sum(total) AS s12
                   FROM orders WHERE ordered_at > $m12 AND ordered_at <= $as_of GROUP BY 1),
        g AS (SELECT DISTINCT l.customer_id FROM order_lines l JOIN products p USING (product_id)
              WHERE p.category = 'Gifts' AND l.ordered_at > $m12 AND l.ordered_at <= $as_of),
        e AS (SELECT DISTINCT customer_id FROM events WHERE event_type = 'email_click'
              AND occurred_at > $d30 AND occurred_at <= $as_of)
        SELECT c.customer_id FROM customers c JOIN o USING (customer_id)
        WHERE c.country = 'Spain' AND c.subscribed AND (o.n90 >= 2 OR o.s12 >= 300)
          AND c.customer_id NOT IN (SELECT customer_id FROM g)
          AND c.customer_id NOT IN (SELECT customer_id FROM e)""",
}


# -- idiomatic pandas ------------------------------------------------------------------------
def load_frames(ws) -> dict[str, pd.DataFrame]:
    """The tables as a pandas user holds them (money in integer cents: exact sums)."""
    q = {
        "customers": "SELECT customer_id, city, country, subscribed FROM customers",
        "orders": "SELECT customer_id, ordered_at, CAST(total * 100 AS BIGINT) AS cents "
                  "FROM orders",
        "lines": "SELECT customer_id, ordered_at, product_id FROM order_lines",
        "products": "SELECT product_id, brand, category FROM products",
        "events": "SELECT customer_id, event_type, occurred_at FROM events",
    }
    return {k: ws.sql(v).df() for k, v in q.items()}


def _in(df, col, lo, hi):
    return df[(df[col] > lo) & (df[col] <= hi)]


def pandas_case(name: str, f: dict, b: dict) -> pd.Index:
    c, o, ln, p, e = f["customers"], f["orders"], f["lines"], f["products"], f["events"]
    as_of = b["as_of"]
    if name == "attribute only":
        return pd.Index(c.loc[c["city"].isin(["Madrid", "Barcelona"]) & c["subscribed"]
                              .fillna(False).astype(bool), "customer_id"])
    if name == "spend 12m + no order 90d":
        spend = _in(o, "ordered_at", b["m12"], as_of).groupby("customer_id")["cents"].sum()
        recent = _in(o, "ordered_at", b["d90"], as_of)["customer_id"].unique()
        return spend.index[spend >= 50_000].difference(pd.Index(recent))
    if name == "bought brand+category 6m":
        pid = p.loc[(p["brand"] == "Acme") & (p["category"] == "Tea"), "product_id"]
        x = _in(ln, "ordered_at", b["m6"], as_of)
        return pd.Index(x.loc[x["product_id"].isin(pid), "customer_id"].unique())
    if name == "RFM champions":
        g = _in(o, "ordered_at", b["rfm"], as_of).groupby("customer_id")["ordered_at"].agg(
            ["max", "size"])
        n = len(g)
        r = (5 * g["max"].rank(method="min").astype(np.int64) + n - 1) // n
        fq = (5 * g["size"].rank(method="min").astype(np.int64) + n - 1) // n
        return g.index[(r == 5) & (fq >= 4)]
    if name == "events in 30 days":
        x = _in(e, "occurred_at", b["d30"], as_of)
        k = x.loc[x["event_type"] == "email_open"].groupby("customer_id").size()
        return k.index[k >= 2]
    if name == "nested tree, 6 conds, NOT":
        o12 = _in(o, "ordered_at", b["m12"], as_of)
        s12 = o12.groupby("customer_id")["cents"].sum()
        n90 = o12.loc[o12["ordered_at"] > b["d90"]].groupby("customer_id").size()
        active = n90.index[n90 >= 2].union(s12.index[s12 >= 30_000])
        gift_ids = p.loc[p["category"] == "Gifts", "product_id"]
        l12 = _in(ln, "ordered_at", b["m12"], as_of)
        gifts = l12.loc[l12["product_id"].isin(gift_ids), "customer_id"].unique()
        e30 = _in(e, "occurred_at", b["d30"], as_of)
        clicks = e30.loc[e30["event_type"] == "email_click", "customer_id"].unique()
        base = c.loc[(c["country"] == "Spain") & c["subscribed"].fillna(False).astype(bool),
                     "customer_id"]
        keep = base.isin(active) & ~base.isin(gifts) & ~base.isin(clicks)
        return pd.Index(base[keep])
    raise KeyError(name)


# -- timing ----------------------------------------------------------------------------------
def medians(fns: list, repeats: list[int]) -> list[float]:
    """Median time of each function, the runs interleaved (a, b, c, a, b, c, ...) so that a
    busy spell of a shared machine hits all of them alike; one warm-up run each first."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for r in range(max(repeats)):
        for i, fn in enumerate(fns):
            if r < repeats[i]:
                t = time.perf_counter()
                fn()
                times[i].append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def bench_size(size: str, repeat: int) -> list[dict]:
    import segjupyter
    from segjupyter.rules.segment import _STATEMENTS
    path = f"/tmp/segjupyter-bench-{size}"
    t = time.perf_counter()
    ws = segjupyter.demo.build(path, size=size)
    print(f"\n== demo {size} at {path} (ready in {time.perf_counter() - t:.1f} s): "
          f"{ws.tables['customers']:,} customers, {ws.tables['orders']:,} orders, "
          f"{ws.tables['order_lines']:,} lines, {ws.tables['events']:,} events")
    as_of = ws.now()
    b = bounds(as_of)
    t = time.perf_counter()
    frames = load_frames(ws)
    print(f"   pandas DataFrames loaded in {time.perf_counter() - t:.1f} s (not timed below)")
    print(f"   load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    head = (f"   {'case':<27}{'members':>9}{'sj first':>12}{'segjupyter':>12}"
            f"{'expert SQL':>12}{'pandas':>10}{'sj/SQL':>8}{'pandas/sj':>11}")
    print(head)
    rows = []
    for name, text in CASES.items():
        seg = ws.segment(text)
        sql = EXPERT[name]
        params = {k: v for k, v in b.items() if f"${k}" in sql}

        def expert():
            with ws.storage.read() as con:
                return con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0]
        gc.collect()
        _STATEMENTS.clear()  # the first count compiles; the timed ones reuse its statement
        t = time.perf_counter()
        seg.count(as_of=as_of)
        t_first = time.perf_counter() - t
        t_sj, t_sql, t_pd = medians(
            [lambda: seg.count(as_of=as_of), expert, lambda: pandas_case(name, frames, b)],
            [repeat, repeat, max(3, repeat // 2)])
        sj_ids = set(seg.member_ids(as_of=as_of).tolist())
        with ws.storage.read() as con:
            sql_ids = {r[0] for r in con.execute(sql, params).fetchall()}
        pd_ids = set(pandas_case(name, frames, b).tolist())
        equal = sj_ids == sql_ids == pd_ids
        rows.append({"size": size, "case": name, "n": len(sj_ids), "sj": t_sj, "sql": t_sql,
                     "pandas": t_pd, "first": t_first, "equal": equal})
        print(f"   {name:<27}{len(sj_ids):>9,}{t_first * 1000:>9.1f} ms{t_sj * 1000:>9.1f} ms"
              f"{t_sql * 1000:>9.1f} ms{t_pd * 1000:>7.0f} ms{t_sj / t_sql:>7.2f}x"
              f"{t_pd / t_sj:>10.1f}x"
              + ("" if equal else f"   MEMBER SETS DIFFER: sj {len(sj_ids)}, sql "
                                  f"{len(sql_ids)}, pandas {len(pd_ids)}"))
    del frames
    ws.close()
    return rows


def summary(rows: list[dict]) -> bool:
    ok = True
    print("\n== targets")
    for size in dict.fromkeys(r["size"] for r in rows):
        rs = [r for r in rows if r["size"] == size]
        worst_sql = max(rs, key=lambda r: r["sj"] / r["sql"])
        least_pd = min(rs, key=lambda r: r["pandas"] / r["sj"])
        need = 3 if size == "M" else 10
        print(f"   {size}: worst segjupyter/expert SQL {worst_sql['sj'] / worst_sql['sql']:.2f}x "
              f"({worst_sql['case']}; target <= 1.2x) "
              f"{'OK' if worst_sql['sj'] <= 1.2 * worst_sql['sql'] else 'MISSED'}")
        print(f"   {size}: smallest pandas/segjupyter {least_pd['pandas'] / least_pd['sj']:.1f}x "
              f"({least_pd['case']}; target >= {need}x) "
              f"{'OK' if least_pd['pandas'] >= need * least_pd['sj'] else 'MISSED'}")
        if size == "M":
            slow = max(rs, key=lambda r: r["sj"])
            print(f"   M: slowest Calculate (count) median {slow['sj'] * 1000:.0f} ms "
                  f"({slow['case']}; target < 150 ms) {'OK' if slow['sj'] < 0.15 else 'MISSED'}")
        same = all(r["equal"] for r in rs)
        ok &= same
        print(f"   {size}: member sets of segjupyter, SQL and pandas equal in every case: {same}")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="M", help="comma-separated demo sizes (S, M, L)")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    import duckdb

    import segjupyter
    print(f"segjupyter {segjupyter.__version__}, duckdb {duckdb.__version__}, pandas "
          f"{pd.__version__}, {os.cpu_count()} cores")
    rows = []
    for size in [s.strip().upper() for s in args.sizes.split(",") if s.strip()]:
        rows += bench_size(size, args.repeat)
    return 0 if summary(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
