"""Demo build figures: generation, validated load, end-to-end build and reuse, per size,
against two baselines on the same frames (plain DuckDB ``CREATE TABLE AS`` with no
validation, and writing Parquet with pyarrow). The end-to-end build runs in a fresh process
(``demo.build(path, size, force=True)``), its peak RSS sampled every 20 ms.

    .venv/bin/python benchmarks/bench_build.py --sizes S,M

Each size is built in fresh temporary folders (removed afterwards unless ``--keep``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
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


# VmHWM is the peak RSS of the process's own memory since exec (ru_maxrss is not: it keeps
# the RSS of the forked parent, here the benchmark holding the L frames)
BUILD = """
import re, sys, time
from segjupyter.demo import build
from segjupyter.progress import Progress
steps, step = [], Progress.step
def timed_step(self, message, n=1):
    steps.append((time.perf_counter(), message))
    step(self, message, n)
Progress.step = timed_step
t0 = time.perf_counter()
build(sys.argv[1], size=sys.argv[2], seed=int(sys.argv[3]), force=True, progress=False).close()
t = time.perf_counter() - t0
for (a, _), (b, message) in zip([(t0, "")] + steps, steps):
    print("step", f"{b - a:.2f}", message)
hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read())
print(t, int(hwm.group(1)) * 1024 if hwm else 0)
"""


def fresh_build(path: Path, size: str, seed: int) -> tuple[float, float]:
    """Seconds and peak RSS (bytes) of ``build`` in a new Python process: its VmHWM, or
    where there is none its RSS sampled every 20 ms."""
    import psutil
    child = subprocess.Popen([sys.executable, "-c", BUILD, str(path), size, str(seed)],
                             stdout=subprocess.PIPE, text=True)
    proc, sampled = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            sampled = max(sampled, proc.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    out, _ = child.communicate()
    if child.returncode:
        raise RuntimeError(f"build failed (exit {child.returncode})")
    lines = out.strip().splitlines()
    seconds, hwm = lines[-1].split()
    steps = [line.split(" ", 2)[1:] for line in lines if line.startswith("step ")]
    return float(seconds), float(hwm) or sampled, steps


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
    os.sync()  # the baselines' files are written out first, not during the build
    load_before = os.getloadavg()
    t_build, peak, steps = fresh_build(path, size, seed)
    ws, t_reuse = timed(lambda: build(path, size=size, seed=seed, progress=False))
    exact = ws.sql("""SELECT count(*) FROM orders o LEFT JOIN
                      (SELECT order_id, sum(amount) s FROM order_lines GROUP BY 1) l
                      USING (order_id) WHERE l.s IS DISTINCT FROM o.total""").scalar() == 0
    ws.close()
    return {
        "size": size, "rows": rows, "generate": t_gen, "load": t_load, "build": t_build,
        "reuse": t_reuse, "duckdb_plain": t_duck, "parquet": t_parquet, "exact": exact,
        "build_peak_gb": peak / 1e9, "build_load": load_before, "build_steps": steps,
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
            print(f"  build (end to end)  {r['build']:7.2f} s   fresh process, peak RSS "
                  f"{r['build_peak_gb']:.2f} GB (load average before "
                  f"{', '.join(f'{x:.2f}' for x in r['build_load'])});  second call (reuse) "
                  f"{r['reuse'] * 1000:.0f} ms")
            print("    steps: " + "; ".join(f"{m} {s} s" for s, m in r["build_steps"]))
            rest = r["build"] - sum(float(s) for s, _ in r["build_steps"])
            print(f"    (after the last step: {rest:.2f} s)")
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
