"""Many processes, one workspace (issue 2, item 7): one process keeps writing (loads and
catalog writes) while four keep reading, for 20 s, with real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import segjupyter
from helpers import mp_worker

SECONDS = float(os.environ.get("SEGJUPYTER_MP_SECONDS", "20"))
READERS = 4
MAX_LATENCY = 2.0  # seconds any single read or write may take


def p95(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(0.95 * len(s)))] if s else 0.0


@pytest.mark.slow
def test_one_writer_and_four_readers_all_make_progress(tmp_path):
    path = tmp_path / "ws"
    ws = segjupyter.open(path)
    orders = mp_worker.customers(0)[["customer_id"]].assign(
        order_id=range(1, mp_worker.CUSTOMERS + 1), ordered_at="2024-01-01", total=9.99)
    assert ws.load(customers=mp_worker.customers(0), orders=orders).ok
    ws.set_setting("counter", 0)
    with ws.storage.write() as con:
        con.execute("CREATE TABLE catalog.mp_log (n INTEGER)")
    ws.close()

    script = Path(__file__).parent / "helpers" / "mp_worker.py"
    env = {**os.environ, "SEGJUPYTER_THREADS": "1", "SEGJUPYTER_MEMORY_LIMIT": "512MB",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    go = tmp_path / "go"
    roles = ["writer"] + ["reader"] * READERS
    procs = []
    for i, role in enumerate(roles):
        ready = tmp_path / f"ready-{i}"
        procs.append((ready, subprocess.Popen(
            [sys.executable, str(script), role, str(path), str(SECONDS), str(ready), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)))
    deadline = time.monotonic() + 120
    while not all(r.exists() for r, _ in procs):
        assert all(p.poll() is None for _, p in procs), [p.communicate() for _, p in procs]
        assert time.monotonic() < deadline, "workers did not start"
        time.sleep(0.05)
    go.touch()
    results = []
    for _, p in procs:
        out, err = p.communicate(timeout=SECONDS + 120)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    print(f"\n{len(roles)} processes for {SECONDS:.0f} s (1 writer, {READERS} readers)")
    print(f"{'process':<10}{'operation':<10}{'count':>7}{'p95 ms':>9}{'max ms':>9}")
    for i, res in enumerate(results):
        for kind, lat in res["latencies"].items():
            print(f"{res['role'] + str(i):<10}{kind:<10}{len(lat):>7}{p95(lat) * 1000:>9.1f}"
                  f"{max(lat, default=0) * 1000:>9.1f}")
    writer, readers = results[0], results[1:]
    print(f"writes committed: {writer['committed']}; busy errors: "
          f"{[r['busy'] for r in results]}; other errors: {[r['errors'] for r in results]}")

    for res in results:
        assert res["errors"] == {}, res["error_examples"]  # never a raw DuckDB lock error
        worst = max(max(lat, default=0) for lat in res["latencies"].values())
        assert worst < MAX_LATENCY, (res["role"], worst)
        assert res["busy"] == 0
    done = writer["committed"]
    assert min(done.values()) >= 5, done
    for res in readers:
        assert min(len(lat) for lat in res["latencies"].values()) >= 20, res["latencies"].keys()
        assert res["backwards"] == {"version": 0, "counter": 0, "log": 0, "torn": 0}

    ws = segjupyter.open(path)
    try:
        assert ws.setting("counter") == str(done["setting"])
        assert ws.sql("SELECT count(*), max(n) FROM catalog.mp_log").fetchone() == (
            done["insert"], done["insert"])
        assert ws.sql("SELECT min(version), max(version) FROM customers").fetchone() == (
            done["load"], done["load"])
        assert ws.sql("SELECT count(*) FROM orders").scalar() == mp_worker.CUSTOMERS
    finally:
        ws.close()
