"""Demo build figures: generation, validated load, end-to-end build and reuse, per size,
against two baselines on the same frames (plain DuckDB ``CREATE TABLE AS`` with no
validation, and writing Parquet with pyarrow).

    .venv/bin/python benchmarks/bench_build.py --sizes S,M

Each size is built in fresh temporary folders (removed afterwards unless ``--keep``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import segjupyter
from segjupyter.demo import build, generate

TABLES = ("customers", "stores", "products", "orders", "order_lines", "events")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


class PeakRSS:
    """Peak resident memory of this process during a block (sampled every 20 ms)."""

    def __enter__(self):
        import psutil
        self.proc, self.peak, self.stop = psutil.Process(), 0, False
        self.base = self.proc.memory_info().rss
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def baseline_duckdb(frames, file: Path) -> None:
    con = duckdb.connect(str(file))
    for t, df in frames.items():
        con.register("_src", df)
        con.execute(f"CREATE TABLE {t} AS SELECT * FROM _src")
        con.unregister("_src")
    con.execute("CHECKPOINT")
    con.close()


def baseline_parquet(frames, folder: Path) -> None:
    folder.mkdir()
    for t, df in frames.items():
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), folder / f"{t}.parquet")


def bench(size: str, seed: int, root: Path) -> dict:
    frames, t_gen = timed(lambda: generate(size, seed))
    rows = {t: len(frames[t]) for t in TABLES}

    ws_load = segjupyter.open(root / f"load-{size}")
    report, t_load = timed(lambda: ws_load.load(**frames, strict=True, progress=False))
    assert report.rows_rejected == 0
    ws_load.close()

    _, t_duck = timed(lambda: baseline_duckdb(frames, root / f"plain-{size}.duckdb"))
    _, t_parquet = timed(lambda: baseline_parquet(frames, root / f"parquet-{size}"))
    del frames

    path = root / f"build-{size}"
    with PeakRSS() as peak:
        ws, t_build = timed(lambda: build(path, size=size, seed=seed, progress=False))
    _, t_reuse = timed(lambda: build(path, size=size, seed=seed))
    exact = ws.sql("""SELECT count(*) FROM orders o LEFT JOIN
                      (SELECT order_id, sum(amount) s FROM order_lines GROUP BY 1) l
                      USING (order_id) WHERE l.s IS DISTINCT FROM o.total""").scalar() == 0
    ws.close()
    return {
        "size": size, "rows": rows, "generate": t_gen, "load": t_load, "build": t_build,
        "reuse": t_reuse, "duckdb_plain": t_duck, "parquet": t_parquet, "exact": exact,
        "build_peak_gb": peak.peak / 1e9, "build_base_gb": peak.base / 1e9,
        "retail_mb": (path / "retail.duckdb").stat().st_size / 1e6,
        "plain_mb": (root / f"plain-{size}.duckdb").stat().st_size / 1e6,
        "parquet_mb": folder_mb(root / f"parquet-{size}"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="S,M", help="comma-separated demo sizes (S, M, L)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", action="store_true", help="keep the built folders")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="segjupyter-bench-"))
    print(f"segjupyter {segjupyter.__version__}, duckdb {duckdb.__version__}, "
          f"{os.cpu_count()} cores; folders in {root}; load average "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    try:
        for size in [s.strip().upper() for s in args.sizes.split(",") if s.strip()]:
            r = bench(size, args.seed, root)
            print(f"\n== size {size} (seed {args.seed})")
            print("  rows: " + ", ".join(f"{t} {n:,}" for t, n in r["rows"].items())
                  + f"  (total {sum(r['rows'].values()):,})")
            print(f"  generate            {r['generate']:7.2f} s")
            print(f"  load (validated)    {r['load']:7.2f} s")
            print(f"  build (end to end)  {r['build']:7.2f} s   "
                  f"second call (reuse) {r['reuse'] * 1000:.0f} ms;  peak RSS during build "
                  f"{r['build_peak_gb']:.2f} GB (process at {r['build_base_gb']:.2f} GB before)")
            print(f"  baseline: DuckDB CREATE TABLE AS, no validation  {r['duckdb_plain']:6.2f} s"
                  f"  -> load is {r['load'] / r['duckdb_plain']:.1f}x")
            print(f"  baseline: pyarrow write Parquet                  {r['parquet']:6.2f} s"
                  f"  -> load is {r['load'] / r['parquet']:.1f}x")
            print(f"  files: retail.duckdb {r['retail_mb']:.1f} MB; plain DuckDB "
                  f"{r['plain_mb']:.1f} MB; Parquet {r['parquet_mb']:.1f} MB")
            print(f"  totals equal line sums exactly: {r['exact']}")
            print(f"  load average now {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\npeak memory of this process: {peak:.0f} MB")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
