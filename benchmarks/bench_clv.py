"""Fitting the customer-value models, and what rules on predicted fields cost once fitted.

    .venv/bin/python benchmarks/bench_clv.py [--workspace /tmp/segjupyter-bench-M]
                                             [--large /tmp/segjupyter-bench-L] [--runs 5]

Each workspace is opened **read-only** (the fit then stays in this process; nothing is
written). Printed per workspace: the purchase-summary query, the BG/NBD and Gamma-Gamma
fits, the per-customer value table of a new horizon (first use), and the median of
``--runs`` evaluations of segments on predicted fields against segments on the RFM and
lifecycle fields (all fitted / warm). ``--large`` is measured only when that folder holds a
complete demo (it opens, and its row counts match its build marker).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

RULES = [
    ("predicted", "p_alive < 0.3 and predicted_clv(12 months) >= 200"),
    ("predicted", "predicted_orders(90 days) >= 2"),
    ("derived", 'rfm_segment = "champions"'),
    ("derived", 'lifecycle in ("at risk", "hibernating")'),
    ("behaviour", "spend(last 12 months) >= 500"),
]


def _complete(path: str) -> bool:
    import segjupyter
    from segjupyter.demo import _holds_demo
    try:
        with segjupyter.open(path, read_only=True) as ws:
            size, seed = ws.setting("demo_size"), ws.setting("demo_seed")
            return bool(size) and _holds_demo(ws, size, int(seed))
    except Exception:
        return False


def _median(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def bench(path: str, runs: int) -> None:
    import datetime as dt

    import segjupyter
    from segjupyter.rules import predicted

    ws = segjupyter.open(path, read_only=True)
    at = ws.now()
    counts = ws.tables
    print(f"\n{path}: {counts.get('customers', 0):,} customers, {counts.get('orders', 0):,} "
          f"orders, as of {at:%Y-%m-%d %H:%M}")
    cutoff = dt.datetime.combine(at.date(), dt.time.min)
    with ws.storage.read() as con:
        t0 = time.perf_counter()
        summary = predicted.summaries(con, cutoff, at.date())
        t_summary = time.perf_counter() - t0
    fit = predicted.fit_summaries(summary, at.date())
    t0 = time.perf_counter()
    with ws.storage.read() as con:  # the path a rule takes: summary + fit, cached after
        predicted.get_fit(ws, con, at)
    t_get = time.perf_counter() - t0
    print(f"  purchase summaries (SQL)           {t_summary * 1000:9.1f} ms   "
          f"{len(summary):,} buyers, {fit.repeat_customers:,} with a repeat purchase")
    print(f"  BG/NBD + Gamma-Gamma fit (scipy)   {fit.seconds * 1000:9.1f} ms")
    print(f"  first fit through a rule (total)   {t_get * 1000:9.1f} ms")
    params = ", ".join(f"{k}={v:.4g}" for k, v in fit.params().items())
    print(f"  parameters: {params}")
    t0 = time.perf_counter()
    ws.segment("predicted_clv(12 months) >= 100").count()
    print(f"  first predicted rule, fitted       {(time.perf_counter() - t0) * 1000:9.1f} ms"
          "   (summaries as of as_of, values, temp table, query)")
    t0 = time.perf_counter()
    ws.segment("predicted_clv(6 months) >= 100").count()
    print(f"  then a new horizon                 {(time.perf_counter() - t0) * 1000:9.1f} ms"
          "   (numpy on the cached summaries, temp table, query)")
    print(f"\n  {'rule (warm, median of ' + str(runs) + ')':<58}{'ms':>9}{'customers':>11}")
    by_kind: dict[str, list[float]] = {}
    for kind, text in RULES:
        seg = ws.segment(text)
        seg.count()  # warm: fit, value tables, DuckDB caches
        t, n = _median(seg.count, runs)
        by_kind.setdefault(kind, []).append(t)
        print(f"  {kind + ': ' + text:<58}{t * 1000:9.1f}{n:>11,}")
    pred, der = max(by_kind["predicted"]), min(by_kind["derived"])
    print(f"  slowest predicted / fastest RFM-lifecycle rule: {pred / der:.2f}x")
    ws.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default="/tmp/segjupyter-bench-M")
    ap.add_argument("--large", default="/tmp/segjupyter-bench-L")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    if not _complete(args.workspace):
        print(f"{args.workspace} holds no complete demo: build it with "
              "benchmarks/bench_build.py --sizes M", file=sys.stderr)
        return 2
    bench(args.workspace, args.runs)
    if args.large:
        if _complete(args.large):
            bench(args.large, args.runs)
        else:
            print(f"\n{args.large}: no complete demo there; L not measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
