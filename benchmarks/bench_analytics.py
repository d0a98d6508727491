"""The full set of analytics of one segment on demo M, with baselines from the same run.

    .venv/bin/python benchmarks/bench_analytics.py [--workspace /tmp/segjupyter-bench-M]
                                                   [--size M] [--repeat 5] [--segment TEXT]

The demo is built into ``--workspace`` unless it already holds it (about a minute for M; the
refresh benchmark uses the same folder). Every analytic of a segment dashboard runs once to
warm up, then ``--repeat`` times; the table shows the median per analytic for the segment and
for all customers (the same work without a rule), and their ratio. The baselines are scans
over the same data: ``count(*)`` and ``sum(amount)`` of order_lines and the lines ⋈ orders
aggregation per customer that every behaviour segment pays.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import segjupyter as sj
from segjupyter import analytics as an

DEFAULT_SEGMENT = 'city in ("Madrid", "Barcelona") and spend(last 12 months) >= 200'
PERIOD = "last 12 months"


def analytics_of(ws, seg, others) -> list[tuple[str, callable]]:
    """(name, call) for every analytic a segment dashboard shows."""
    return [
        ("general_stats", lambda: an.general_stats(ws, [seg] if seg is not None else None,
                                                   PERIOD)),
        ("evolution (month)", lambda: an.evolution(ws, seg, PERIOD, freq="month")),
        ("evolution (week)", lambda: an.evolution(ws, seg, PERIOD, freq="week")),
        ("purchase_moment", lambda: an.purchase_moment(ws, seg, PERIOD)),
        ("top_products (revenue)", lambda: an.top_products(ws, seg, PERIOD, by="revenue")),
        ("top_products (units)", lambda: an.top_products(ws, seg, PERIOD, by="units")),
        ("top_products (repeat_rate)",
         lambda: an.top_products(ws, seg, PERIOD, by="repeat_rate")),
        ("top_products (buyers)", lambda: an.top_products(ws, seg, PERIOD, by="buyers")),
        ("lifecycle", lambda: an.lifecycle(ws, seg)),
        ("value_tiers", lambda: an.value_tiers(ws, seg)),
        ("reachability", lambda: an.reachability(ws, seg)),
        ("demographics", lambda: an.demographics(ws, seg, PERIOD)),
        ("rfm_table (customer_id)", lambda: an.rfm_table(ws, segment=seg)),
        ("rfm_table (email)", lambda: an.rfm_table(ws, attribution="email", segment=seg)),
        ("rfm_summary", lambda: an.rfm_summary(ws, segment=seg)),
        ("overlap (3 segments)",
         lambda: an.overlap(ws, [seg if seg is not None else ws.segment("subscribed")]
                            + others)),
    ]


def median_ms(call, repeat: int) -> tuple[float, int]:
    frame = call()  # warm-up: page cache, registry
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        frame = call()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, len(frame) if hasattr(frame, "__len__") else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workspace", default="/tmp/segjupyter-bench-M")
    ap.add_argument("--size", default="M")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--segment", default=DEFAULT_SEGMENT)
    args = ap.parse_args(argv)

    t = time.perf_counter()
    ws = sj.demo.build(args.workspace, size=args.size)
    print(f"workspace {args.workspace} (demo {args.size}) ready in "
          f"{time.perf_counter() - t:.1f} s: " + ", ".join(
              f"{k} {v:,}" for k, v in ws.tables.items()))
    seg = ws.segment(args.segment, name="bench")
    others = [ws.segment("subscribed", name="subscribed"),
              ws.segment('rfm_segment = "champions"', name="champions")]
    print(f"segment: {args.segment} -> {seg.count():,} customers; period {PERIOD} = "
          f"{an.resolve_period(ws, PERIOD)}; median of {args.repeat} runs\n")

    base = []
    with ws.storage.read() as con:
        for name, sql in (
                ("count(*) order_lines", "SELECT count(*) FROM order_lines"),
                ("sum(amount) order_lines", "SELECT sum(amount) FROM order_lines"),
                ("lines ⋈ orders per customer",
                 "SELECT o.customer_id, sum(l.amount) FROM order_lines l "
                 "JOIN orders o ON o.order_id = l.order_id GROUP BY o.customer_id")):
            base.append((name, median_ms(lambda: con.execute(sql).fetchall(), args.repeat)[0]))
    seg_count = median_ms(lambda: seg.count(), args.repeat)[0]

    rows = []
    for (name, call), (_, call_all) in zip(analytics_of(ws, seg, others),
                                           analytics_of(ws, None, others)):
        ms, n = median_ms(call, args.repeat)
        ms_all, _ = median_ms(call_all, args.repeat)
        rows.append((name, n, ms, ms_all))

    w = max(len(r[0]) for r in rows) + 2
    print(f"{'analytic':<{w}}{'rows':>7}{'segment ms':>12}{'all ms':>10}{'seg/all':>9}")
    for name, n, ms, ms_all in rows:
        print(f"{name:<{w}}{n:>7,}{ms:>12.1f}{ms_all:>10.1f}{ms / ms_all:>9.2f}")
    total = sum(r[2] for r in rows)
    total_all = sum(r[3] for r in rows)
    print(f"{'total (full set)':<{w}}{'':>7}{total:>12.1f}{total_all:>10.1f}"
          f"{total / total_all:>9.2f}\n")
    print("baselines (same run)")
    print(f"{'segment.count()':<{w}}{seg_count:>19.1f} ms   full set = {total / seg_count:,.0f}x")
    for name, ms in base:
        print(f"{name:<{w}}{ms:>19.1f} ms   full set = {total / ms:,.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
