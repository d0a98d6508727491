"""Refreshing 50 varied saved segments: ``refresh_all`` (one shared pass, incremental after
the first run) against ``refresh_all(incremental=False)`` and against 50 separate full
``refresh`` calls, in the same run, on demo M or L.

    .venv/bin/python benchmarks/bench_refresh.py [--size M|L] [--workspace PATH]
                                                 [--segments 50] [--days 3]

While each ``refresh_all`` runs, a reader process (a Voila viewer) keeps listing the
segments (a catalog read): the figures printed are its slowest answer, and the longest
time any catalog write of the refresh kept readers out (target: both < 1 s). The peak
memory (RSS) of this process during ``refresh_all`` is printed too.

The demo is built into ``--workspace`` unless it already holds it (the analytics benchmark
uses the same folder). Three identical sets of segments are saved (``bench_refresh_a_*``,
``_b_*``, ``_c_*``) so every way does the same work: set A is refreshed with one
``refresh_all`` (daily runs re-evaluate only the customers whose answer can have changed,
``segments/incremental.py``), set C with one ``refresh_all(incremental=False)`` (everybody,
every time), set B with one full ``refresh`` per segment; first as of the demo's reference
date (every member enters: the largest write), then ``--days`` daily refreshes (as_of one,
two, three days later: few changes; the median is printed, as the machine may be noisy).
Timings include the catalog writes; before each way is timed, ``os.sync()`` flushes what
the previous one wrote (B's fifty copies of a large catalog would otherwise still be going
to disk while A runs). The members of A, B and C are compared at the end: the three ways
must agree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time

from segjupyter.rules.model import (Attribute, Behaviour, Derived, Group, MonthDay,
                                    RelativeDate, Window)

PREFIX = "bench_refresh_"


def varied_segments(ws, n: int = 50) -> list[Group]:
    """``n`` different rule trees over every kind of condition (attributes, behaviour
    over orders / lines / events with filters and windows, RFM and lifecycle, and / or /
    not), built from the values of the workspace's fields."""
    f = ws.fields
    cities = list(f.customer["city"].values) or ["Madrid"]
    brands = list(f.purchase["brand"].values)
    cats = list(f.purchase["category"].values)
    codes = list(f.purchase["offer_code"].values)
    channels = list(f.purchase["channel"].values)
    rfm = ["champions", "loyal", "at risk", "hibernating", "potential loyalist", "new"]
    life = ["new", "active", "at risk", "hibernating", "lost"]

    def last(k, unit):
        return Window("last", n=k, unit=unit)

    makers = [
        lambda i: Attribute("city", "=", cities[i % len(cities)]),
        lambda i: Group("and", (Attribute("subscribed", "is true"),
                                Behaviour("spend", ">=", 100 + 50 * (i % 7),
                                          window=last(6 + i % 7, "month")))),
        lambda i: Behaviour("orders", ">=", 2 + i % 5, window=last(90 + 30 * (i % 4), "day")),
        lambda i: Behaviour("bought", filter=Group("and", (
            Attribute("brand", "=", brands[i % len(brands)]),
            Attribute("category", "=", cats[i % len(cats)]))), window=last(6, "month")),
        lambda i: Group("and", (Attribute("city", "in", tuple(cities[i % 3: i % 3 + 3])),
                                Behaviour("units", ">=", 5 + i % 10, filter=Group("and", (
                                    Attribute("category", "=", cats[(i + 1) % len(cats)]),)),
                                          window=last(12, "month")))),
        lambda i: Derived("rfm_segment", "=", rfm[i % len(rfm)]),
        lambda i: Derived("lifecycle", "=", life[i % len(life)]),
        lambda i: Behaviour("last_order", "<=", RelativeDate(-(60 + 10 * (i % 9)))),
        lambda i: Group("and", (Attribute("subscribed", "is true"),
                                Behaviour("events", ">=", 1 + i % 3, window=last(90, "day"),
                                          event_type="email_open"))),
        lambda i: Behaviour("orders", ">=", 1 + i % 3, filter=Group("and", (
            Attribute("offer_code", "=", codes[i % len(codes)]),)), window=last(12, "month")),
        lambda i: Group("and", (
            Behaviour("bought", filter=Group("and", (Attribute("channel", "=",
                                                               channels[i % len(channels)]),)),
                      window=last(12, "month")),
            Behaviour("bought", filter=Group("and", (Attribute(
                "channel", "=", channels[(i + 1) % len(channels)]),)),
                      window=last(12, "month"))), negate=i % 2 == 1),
        lambda i: Group("or", (Behaviour("avg_ticket", ">=", 40 + 5 * (i % 6)),
                               Behaviour("distinct_products", ">=", 8 + i % 5,
                                         window=last(12, "month")))),
        lambda i: Attribute("birth_date", "between",
                            (MonthDay(1 + i % 12, 1), MonthDay(1 + (i + 1) % 12, 15)),
                            ignore_year=True),
        lambda i: Group("and", (Attribute("registered_at", ">=", RelativeDate(-365 * (1 + i % 3))),
                                Behaviour("orders", "=", 1))),
    ]
    return [Group("and", (makers[i % len(makers)](i),)) for i in range(n)]


READER = """
import json, sys, time
import segjupyter
ws = segjupyter.open(sys.argv[1], read_only=True)
print("ready", flush=True)
while True:
    t = time.monotonic()
    n = len(ws.segments.list())
    print(json.dumps([time.monotonic(), time.monotonic() - t, n]), flush=True)
    time.sleep(0.05)
"""


class Watch:
    """During a block: peak RSS of this process, and a reader process's catalog reads."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        import psutil
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self.stop = False
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        self.reader = subprocess.Popen([sys.executable, "-c", READER, self.path],
                                       stdout=subprocess.PIPE, text=True)
        assert self.reader.stdout.readline().strip() == "ready"
        self.reads: list[tuple[float, float]] = []
        self.lines = threading.Thread(target=self._read, daemon=True)
        self.lines.start()
        time.sleep(0.3)  # a few reads before the refresh starts
        self.start = time.monotonic()
        return self

    def _sample(self):
        while not self.stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def _read(self):
        for line in self.reader.stdout:
            at, took, _n = json.loads(line)
            self.reads.append((at, took))

    def __exit__(self, *exc):
        self.end = time.monotonic()
        time.sleep(0.3)
        self.stop = True
        self.reader.kill()
        self.reader.wait()
        self.lines.join(timeout=2)
        during = [took for at, took in self.reads if at >= self.start - 0.5]
        self.slowest_read = max(during, default=float("nan"))
        self.n_reads = len(during)


def _reset(ws) -> None:
    for name in [n for n in ws.segments.names() if n.startswith(PREFIX)][::-1]:
        ws.segments.delete(name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default=None, help="default /tmp/segjupyter-bench-SIZE")
    ap.add_argument("--size", default="M")
    ap.add_argument("--segments", type=int, default=50)
    ap.add_argument("--days", type=int, default=3, help="daily rounds after the first")
    ap.add_argument("--sample", type=int, default=0,
                    help="time only every k-th separate refresh (B) and scale the time to "
                         "all of them (at L, 50 separate refreshes take minutes); 0 = all")
    args = ap.parse_args(argv)
    args.size = args.size.upper()
    args.workspace = args.workspace or f"/tmp/segjupyter-bench-{args.size}"

    import segjupyter
    t = time.perf_counter()
    ws = segjupyter.demo.build(args.workspace, size=args.size)
    print(f"demo {args.size} ready at {args.workspace} in {time.perf_counter() - t:.1f} s "
          f"({ws.tables.get('customers', 0):,} customers, {ws.tables.get('orders', 0):,} "
          f"orders, {ws.tables.get('order_lines', 0):,} lines)")
    cat = ws.segments
    _reset(ws)
    trees = varied_segments(ws, args.segments)
    a = [f"{PREFIX}a_{i:03d}" for i in range(len(trees))]
    b = [f"{PREFIX}b_{i:03d}" for i in range(len(trees))]
    c = [f"{PREFIX}c_{i:03d}" for i in range(len(trees))]
    for names in (a, b, c):
        for name, tree in zip(names, trees):
            cat.save(tree, name=name)
    step = max(args.sample, 1)
    b_timed = b[::step]  # with --sample k, every k-th; the time is scaled to len(b)
    day0 = ws.now()
    ws.segment(trees[3]).count(as_of=day0)  # warm the file cache before timing

    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'round':<28}{'refresh_all (A)':>17}{'full (C)':>11}{'50 x full (B)':>15}"
          f"{'C/A':>7}{'B/A':>7}")
    rows = []
    watch_rows = []
    rounds = [("first evaluation", day0)] + [
        (f"daily (as_of + {d} day{'s' if d > 1 else ''})", day0 + dt.timedelta(days=d))
        for d in range(1, args.days + 1)]
    for label, as_of in rounds:
        ws.storage.lock_holds.clear()
        os.sync()  # each way is timed without the write-back of the gigabytes the last wrote
        with Watch(args.workspace) as w:
            t = time.perf_counter()
            res = cat.refresh_all(as_of=as_of, progress=False, names=a)
            t_all = time.perf_counter() - t
        holds = list(ws.storage.lock_holds)
        watch_rows.append((label, w.slowest_read, w.n_reads, max(holds, default=0.0),
                           len(holds), w.peak))
        if res["error"].notna().any():
            print(res[res["error"].notna()], file=sys.stderr)
            return 1
        os.sync()
        t = time.perf_counter()
        res_c = cat.refresh_all(as_of=as_of, progress=False, names=c, incremental=False)
        t_full = time.perf_counter() - t
        assert (res_c["customers"].to_numpy() == res["customers"].to_numpy()).all()
        os.sync()
        t = time.perf_counter()
        for name in b_timed:
            cat.refresh(name, as_of=as_of, incremental=False)
        t_sep = (time.perf_counter() - t) * len(b) / len(b_timed)
        moved = int(res["entered"].sum() + res["left"].sum())
        rows.append((label, t_all, t_sep, t_full))
        print(f"{label:<28}{t_all:>15.2f} s{t_full:>9.2f} s{t_sep:>13.2f} s"
              f"{t_full / t_all:>6.1f}x{t_sep / t_all:>6.1f}x"
              f"   ({int(res['customers'].sum()):,} memberships, {moved:,} entries+exits)")
    print(f"\n{'during refresh_all':<28}{'slowest read':>13}{'reads':>7}"
          f"{'longest lock':>14}{'writes':>8}{'peak RSS':>10}")
    for label, slow, n, hold, writes, peak in watch_rows:
        print(f"{label:<28}{slow:>11.3f} s{n:>7}{hold:>12.3f} s{writes:>8}"
              f"{peak / 1e9:>8.2f} GB")
    print("(a reader process lists the segments every 50 ms; 'longest lock' is the longest "
          "time a catalog write of refresh_all kept readers out; a bulk write on a copy "
          "of the catalog keeps none out)")
    daily = sorted(rows[1:], key=lambda r: r[2] / r[1])
    if daily:
        mid = daily[len(daily) // 2]
        print(f"{'daily, median B/A':<28}{mid[1]:>15.2f} s{mid[3]:>9.2f} s{mid[2]:>13.2f} s"
              f"{mid[3] / mid[1]:>6.1f}x{mid[2] / mid[1]:>6.1f}x")
    if step > 1:
        print(f"(B: {len(b_timed)} of the {len(b)} separate refreshes timed, scaled x"
              f"{len(b) / len(b_timed):.1f})")
    for x, y, z in zip(a, b, c):
        ids = cat.member_ids(x)
        if ids != cat.member_ids(z) or (y in b_timed and ids != cat.member_ids(y)):
            print(f"MISMATCH: {x}, {y}, {z} differ", file=sys.stderr)
            return 1
    print(f"members of A and C identical for all {len(a)} segments, and of B for the "
          f"{len(b_timed)} refreshed that way")
    threads = ws.sql("SELECT current_setting('threads')").scalar()
    print(f"cpu count {os.cpu_count()}, DuckDB threads {threads}")
    _reset(ws)
    ws.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
