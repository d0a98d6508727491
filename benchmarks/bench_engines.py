"""Time per engine: the same segments on DuckDB, Spark (local) and PostgreSQL (local).

    .venv/bin/python benchmarks/bench_engines.py [--workspace /tmp/segjupyter-bench-M]
                                                 [--size M] [--segments 50] [--no-postgres]

Five typical segments are counted on each engine (best of 3, after one warm-up), then 50
varied saved segments are refreshed with ``refresh_all`` on each engine (one shared pass).
Set-up costs are printed apart: Spark start-up, Parquet export, PostgreSQL load. Every
engine's counts and members are compared with DuckDB's: a mismatch fails the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_refresh import varied_segments  # noqa: E402

SEGMENTS = {
    "attribute only": 'city = "Madrid"',
    "spend and orders in 6 months": "spend(last 6 months) >= 100 and orders(last 6 months) >= 2",
    "bought brand + category": 'bought(brand = "Acme" and category = "Tea", last 6 months)',
    "RFM champions": 'rfm_segment = "champions"',
    "lifecycle stage": 'lifecycle = "active"',
}


def best(fn, n: int = 3) -> tuple[float, object]:
    fn()  # warm-up
    times, out = [], None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default="/tmp/segjupyter-bench-M")
    ap.add_argument("--size", default="M")
    ap.add_argument("--segments", type=int, default=50)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args(argv)

    import segjupyter
    from segjupyter.engines import LocalPostgres, PostgresEngine, SparkEngine, load_postgres
    from segjupyter.engines import local_spark
    from segjupyter.engines.postgres import connect

    ws = segjupyter.demo.build(args.workspace, size=args.size)
    print(f"demo {args.size}: {ws.tables['customers']:,} customers, {ws.tables['orders']:,} "
          f"orders, {ws.tables['order_lines']:,} lines, {ws.tables.get('events', 0):,} events")
    scratch = Path(tempfile.mkdtemp(prefix="sj-bench-engines-"))
    pg = None
    try:
        t = time.perf_counter()
        paths = ws.export_parquet(scratch / "parquet")
        t_export = time.perf_counter() - t
        t = time.perf_counter()
        spark = SparkEngine(local_spark(), tables=paths)
        t_spark = time.perf_counter() - t
        print(f"set-up: Parquet export {t_export:.1f} s, Spark start {t_spark:.1f} s", end="")
        engines = {"duckdb": None, "spark": spark}
        if not args.no_postgres:
            t = time.perf_counter()
            pg = LocalPostgres().start()
            conn = connect(pg.conninfo)
            load_postgres(ws, conn)
            engines["postgres"] = PostgresEngine(conn)
            print(f", PostgreSQL start + COPY load {time.perf_counter() - t:.1f} s", end="")
        print()

        print(f"\n{'count() of one segment, best of 3':<36}" +
              "".join(f"{name:>12}" for name in engines))
        for label, text in SEGMENTS.items():
            seg = ws.segment(text)
            row, counts = [], set()
            for engine in engines.values():
                secs, n = best(lambda: seg.count(engine=engine))
                row.append(secs)
                counts.add(n)
            if len(counts) != 1:
                print(f"MISMATCH in {label}: counts {counts}", file=sys.stderr)
                return 1
            print(f"{label:<36}" + "".join(f"{s * 1000:>10.0f}ms" for s in row))

        print(f"\n{f'refresh_all of {args.segments} segments':<36}" +
              "".join(f"{name:>12}" for name in engines))
        trees = varied_segments(ws, args.segments)
        members, row = {}, []
        for name, engine in engines.items():
            copy = scratch / f"ws-{name}"
            shutil.copytree(ws.path, copy, ignore=shutil.ignore_patterns(".*lock"))
            w = segjupyter.open(copy)
            for i, tree in enumerate(trees):
                w.segments.save(tree, name=f"b{i:03d}")
            t = time.perf_counter()
            res = w.segments.refresh_all(progress=False, engine=engine)
            row.append(time.perf_counter() - t)
            if res["error"].notna().any():
                print(res[res["error"].notna()], file=sys.stderr)
                return 1
            members[name] = {n: w.segments.member_ids(n) for n in w.segments.names()}
            w.close()
        print(f"{'first evaluation (all enter)':<36}" + "".join(f"{s:>11.1f}s" for s in row))
        for name in engines:
            if members[name] != members["duckdb"]:
                print(f"MISMATCH: {name} members differ from DuckDB's", file=sys.stderr)
                return 1
        print(f"members identical on {', '.join(engines)} for all {args.segments} segments")
        print(f"cpu count {os.cpu_count()}; Spark local[2], 1 GB driver; PostgreSQL 1 "
              f"backend, shared_buffers 128MB")
        return 0
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
