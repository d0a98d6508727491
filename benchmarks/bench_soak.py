"""Soak: one writer and eight readers on one workspace (demo M) for two minutes.

    python benchmarks/bench_soak.py [--seconds 120] [--readers 8] [--path /tmp/segjupyter-soak-M]

The writer loops over saves (a new segment each time), ``refresh_all`` and, every
``--load-every`` seconds, a load that replaces the retail data. Each reader process loops
over a count (``Segment.count()``), stored members, the segment list and an analytics call
(``general_stats``). Every process counts raw DuckDB errors (must be 0), other errors and
``WorkspaceBusyError``s, and times each operation and its lock waits (the time spent in the
workspace's writer gate / catalog lock). Afterwards every write the writer reports as
committed is checked in the workspace: saved rules, refresh runs and their counts, the
members of the last refresh, the last load.

The machine may be shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

BASE = {  # segments the readers use; the writer refreshes them
    "soak_madrid": 'city = "Madrid" and subscribed',
    "soak_spenders": "spend(last 12 months) >= 300",
    "soak_tea": 'bought(category = "Tea", last 6 months)',
    "soak_lapsed": "orders >= 2 and orders(last 180 days) = 0",
    "soak_champions": 'rfm_segment in ("champions")',
    "soak_engaged": 'subscribed and events("email_open", last 90 days) >= 1',
}
MARKER_CUSTOMER = 1


# -- worker processes ------------------------------------------------------------------------
def _instrument(ws) -> list[float]:
    """Record the lock wait of every catalog open of this process's storage."""
    st = ws.storage
    waits: list[float] = []
    orig = st._open_catalog

    def open_catalog(mode, deadline):
        orig(mode, deadline)
        waits.append(st.last_wait)

    st._open_catalog = open_catalog
    return waits


def _loop(ops, seconds: float, waits: list[float]) -> dict:
    import duckdb

    from segjupyter.errors import WorkspaceBusyError
    stats = {k: {"latency": [], "wait": []} for k, _ in ops}
    counts = {"raw_duckdb": 0, "busy": 0, "other": 0}
    examples: list[str] = []
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        kind, fn = ops[i % len(ops)]
        i += 1
        mark = len(waits)
        t0 = time.perf_counter()
        try:
            if isinstance(outcome := fn(), str) and outcome == "not due":
                continue
        except WorkspaceBusyError:
            counts["busy"] += 1
        except duckdb.Error as e:
            counts["raw_duckdb"] += 1
            examples.append(f"{kind}: {type(e).__name__}: {str(e)[:300]}")
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            counts["other"] += 1
            examples.append(f"{kind}: {''.join(traceback.format_exception_only(e))[:300]}")
        stats[kind]["latency"].append(time.perf_counter() - t0)
        stats[kind]["wait"].append(sum(waits[mark:]))
    return {"stats": stats, "counts": counts, "examples": examples[:5]}


def writer(ws, seconds: float, load_every: float) -> dict:
    cat = ws.segments
    committed = {"saves": {}, "runs": [], "loads": []}
    customers = ws.sql("SELECT * FROM customers ORDER BY customer_id").df()
    state = {"saves": 0, "loads": 0, "last_load": time.monotonic()}

    def save():
        k = state["saves"] + 1
        name, rule = f"soak_w{os.getpid()}_{k}", f"spend(last 12 months) >= {100 + k}"
        cat.save(rule, name=name)
        state["saves"] = k
        committed["saves"][name] = rule

    def refresh():
        out = cat.refresh_all(progress=False, names=list(BASE))
        committed["runs"] += [(r.segment, int(r.run_id), None if r.customers is None or
                               r.customers != r.customers else int(r.customers))
                              for r in out.itertuples() if r.error is None]

    def load():
        if time.monotonic() - state["last_load"] < load_every:
            return "not due"
        k = state["loads"] + 1
        frame = customers.copy()
        frame.loc[frame["customer_id"] == MARKER_CUSTOMER, "postal_code"] = f"soak-{k}"
        report = ws.load(customers=frame)
        assert report.ok, report
        state["loads"], state["last_load"] = k, time.monotonic()
        committed["loads"].append(k)

    waits = _instrument(ws)
    out = _loop([("save", save), ("refresh_all", refresh), ("load", load)], seconds, waits)
    return {**out, "committed": committed}


def reader(ws, seconds: float, index: int) -> dict:
    from segjupyter import analytics
    cat = ws.segments
    names = list(BASE)
    rules = list(BASE.values())
    n = {"i": index}

    def pick(seq):
        n["i"] += 1
        return seq[n["i"] % len(seq)]

    ops = [("count", lambda: ws.segment(pick(rules)).count()),
           ("members", lambda: cat.members(pick(names), columns=["city", "email"])),
           ("list", lambda: cat.list()),
           ("analytics", lambda: analytics.general_stats(ws, [cat.get(pick(names))],
                                                         "last 12 months"))]
    waits = _instrument(ws)
    return _loop(ops, seconds, waits)


def role_main(args) -> None:
    import segjupyter
    ws = segjupyter.open(args.path)
    ws.segments
    Path(args.ready).touch()
    while not Path(args.go).exists():
        time.sleep(0.01)
    if args.role == "writer":
        result = writer(ws, args.seconds, args.load_every)
    else:
        result = reader(ws, args.seconds, args.index)
    ws.close()
    print(json.dumps(result))


# -- the run ---------------------------------------------------------------------------------
def prepare(path: Path, size: str) -> None:
    import segjupyter
    if not (path / "retail.duckdb").exists():
        print(f"building demo {size} in {path} ...", flush=True)
        segjupyter.demo.build(str(path), size=size)
    ws = segjupyter.open(path)
    cat = ws.segments
    for name in [n for n in cat.names() if n.startswith("soak_w")]:
        cat.delete(name)
    for name, rule in BASE.items():
        if name not in cat:
            cat.save(rule, name=name)
    cat.refresh_all(progress=False, names=list(BASE))
    ws.close()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def verify(path: Path, committed: dict) -> dict:
    """Check every write the writer reported as committed; returns counts of checks."""
    import segjupyter
    ws = segjupyter.open(path)
    cat = ws.segments
    checks = {"saves": 0, "runs": 0, "latest_members": 0, "load": 0, "lost": []}
    try:
        for name, rule in committed["saves"].items():
            if name in cat and cat.get(name).tree == ws.segment(rule).tree:
                checks["saves"] += 1
            else:
                checks["lost"].append(f"save {name}")
        runs = ws.sql("SELECT run_id, segment, customers FROM catalog.refresh_runs").df()
        logged = {int(r.run_id): (r.segment, r.customers) for r in runs.itertuples()}
        last = {}
        for seg, run_id, customers in committed["runs"]:
            if logged.get(run_id) == (seg, customers):
                checks["runs"] += 1
            else:
                checks["lost"].append(f"refresh run {run_id} of {seg}")
            last[seg] = (run_id, customers)
        for seg, (run_id, customers) in last.items():
            info = cat.info(seg)
            stored = ws.sql("SELECT count(*) FROM catalog.segment_members WHERE "
                            "segment_id = ?", [info.id]).scalar()
            if info.last_run_id == run_id and info.customers == customers == stored:
                checks["latest_members"] += 1
            else:
                checks["lost"].append(f"members of {seg} after run {run_id}")
        if committed["loads"]:
            marker = ws.sql("SELECT postal_code FROM customers WHERE customer_id = ?",
                            [MARKER_CUSTOMER]).scalar()
            if marker == f"soak-{committed['loads'][-1]}":
                checks["load"] = len(committed["loads"])
            else:
                checks["lost"].append(f"load {committed['loads'][-1]} (marker {marker!r})")
    finally:
        ws.close()
    return checks


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--readers", type=int, default=8)
    p.add_argument("--path", default="/tmp/segjupyter-soak-M")
    p.add_argument("--size", default="M")
    p.add_argument("--load-every", dest="load_every", type=float, default=60.0,
                   help="seconds between two data loads of the writer")
    p.add_argument("--role", help=argparse.SUPPRESS)
    p.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--ready", help=argparse.SUPPRESS)
    p.add_argument("--go", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role:
        role_main(args)
        return 0

    path = Path(args.path).expanduser().resolve()
    prepare(path, args.size)
    sync = Path(f"/tmp/segjupyter-soak-sync-{os.getpid()}")
    shutil.rmtree(sync, ignore_errors=True)
    sync.mkdir()
    env = {**os.environ, "SEGJUPYTER_THREADS": "1", "SEGJUPYTER_MEMORY_LIMIT": "400MB"}
    roles = ["writer"] + ["reader"] * args.readers
    procs = []
    for i, role in enumerate(roles):
        procs.append(subprocess.Popen(
            [sys.executable, __file__, "--role", role, "--index", str(i), "--path", str(path),
             "--seconds", str(args.seconds), "--load-every", str(args.load_every),
             "--ready", str(sync / f"ready-{i}"), "--go", str(sync / "go")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    while not all((sync / f"ready-{i}").exists() for i in range(len(roles))):
        if any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            print([p.communicate()[1][-2000:] for p in procs])
            return 1
        time.sleep(0.05)
    load_before = os.getloadavg()
    (sync / "go").touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=args.seconds + 600)
        if p.returncode:
            print(err[-3000:])
            return 1
        results.append(json.loads(out.strip().splitlines()[-1]))
    load_after = os.getloadavg()
    shutil.rmtree(sync, ignore_errors=True)

    print(f"\nsoak: 1 writer + {args.readers} readers for {args.seconds:.0f} s on {path} "
          f"(load average {load_before[0]:.1f} before, {load_after[0]:.1f} / "
          f"{load_after[1]:.1f} after; {os.cpu_count()} cores)")
    print(f"{'role':<8}{'operation':<12}{'count':>7}{'wait p50':>10}{'p95':>8}{'max':>8}"
          f"{'time p50':>10}{'p95':>8}{'max':>8}   (seconds)")
    totals = {"raw_duckdb": 0, "busy": 0, "other": 0}
    pooled = {"writer": [], "reader": []}
    for role in ("writer", "reader"):
        group = [r for r, name in zip(results, roles) if name == role]
        kinds = group[0]["stats"].keys()
        for kind in kinds:
            lat = [x for r in group for x in r["stats"][kind]["latency"]]
            wait = [x for r in group for x in r["stats"][kind]["wait"]]
            pooled[role] += wait
            print(f"{role:<8}{kind:<12}{len(lat):>7}{pct(wait, .5):>10.3f}{pct(wait, .95):>8.3f}"
                  f"{max(wait, default=0):>8.3f}{pct(lat, .5):>10.3f}{pct(lat, .95):>8.3f}"
                  f"{max(lat, default=0):>8.3f}")
        for r in group:
            for k in totals:
                totals[k] += r["counts"][k]
            for e in r["examples"]:
                print(f"  {role} error: {e}")
    for role, wait in pooled.items():
        print(f"{role} waits, all operations: p50 {pct(wait, .5):.3f} s, p95 "
              f"{pct(wait, .95):.3f} s, max {max(wait, default=0):.3f} s")
    print(f"raw DuckDB errors: {totals['raw_duckdb']}; WorkspaceBusyErrors: {totals['busy']}; "
          f"other errors: {totals['other']}")
    committed = results[0]["committed"]
    checks = verify(path, committed)
    print(f"committed writes: {len(committed['saves'])} saves, {len(committed['runs'])} "
          f"refresh runs ({len(committed['runs']) // len(BASE)} refresh_all), "
          f"{len(committed['loads'])} loads; verified: {checks['saves']} saves, "
          f"{checks['runs']} runs, {checks['latest_members']} latest member sets, "
          f"{checks['load']} loads; lost: {len(checks['lost'])} {checks['lost'][:5]}")
    ok = totals["raw_duckdb"] == totals["other"] == 0 and not checks["lost"] \
        and pct(pooled["reader"], .95) < 0.5
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
