"""One process of the multi-process workspace test (tests/test_multiprocess.py).

    python mp_worker.py writer|reader WORKSPACE SECONDS READY_FILE GO_FILE

Opens the workspace, touches READY_FILE, waits for GO_FILE, then works for SECONDS and prints
one JSON object: operations done, per-kind latencies, errors by type, and (writer) how many
writes of each kind were committed, or (reader) how often a value went backwards.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

import pandas as pd

import segjupyter
from segjupyter.errors import WorkspaceBusyError

CUSTOMERS = 500


def customers(version: int) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": range(1, CUSTOMERS + 1),
                         "city": ["Madrid", "Lisboa"] * (CUSTOMERS // 2), "version": version})


def writer(ws, seconds: float) -> dict:
    done = {"load": 0, "setting": 0, "insert": 0}
    state = {"committed": dict(done)}

    def load():
        ws.load(customers=customers(done["load"] + 1), strict=True)

    def setting():
        ws.set_setting("counter", done["setting"] + 1)

    def insert():
        with ws.storage.write() as con:
            con.execute("INSERT INTO catalog.mp_log VALUES (?)", [done["insert"] + 1])

    ops = [("load", load), ("setting", setting), ("insert", insert)]
    out = run(ops, seconds, on_success=lambda kind: done.__setitem__(kind, done[kind] + 1))
    state["committed"] = done
    return {**out, **state}


def reader(ws, seconds: float) -> dict:
    last = {"version": 0, "counter": 0, "log": 0}
    backwards = {"version": 0, "counter": 0, "log": 0, "torn": 0}

    def see(key, value):
        if value < last[key]:
            backwards[key] += 1
        last[key] = max(last[key], value)

    def retail():
        n, lo, hi = ws.sql("SELECT count(*), min(version), max(version) FROM customers").fetchone()
        if n != CUSTOMERS or lo != hi:  # one load is never seen half done
            backwards["torn"] += 1
        see("version", int(hi))

    def setting():
        see("counter", int(ws.setting("counter", "0")))

    def catalog():
        see("log", int(ws.sql("SELECT count(*) FROM catalog.mp_log").scalar()))

    out = run([("retail", retail), ("setting", setting), ("catalog", catalog)], seconds)
    return {**out, "backwards": backwards, "last": last}


def run(ops, seconds: float, on_success=lambda kind: None) -> dict:
    latencies: dict[str, list[float]] = {k: [] for k, _ in ops}
    errors: dict[str, int] = {}
    examples: list[str] = []
    busy = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        kind, fn = ops[i % len(ops)]
        i += 1
        t0 = time.perf_counter()
        try:
            fn()
        except WorkspaceBusyError:
            busy += 1
        except Exception as e:  # noqa: BLE001 - every other error is a failure to report
            name = type(e).__name__
            errors[name] = errors.get(name, 0) + 1
            if len(examples) < 3:
                examples.append("".join(traceback.format_exception_only(e)).strip())
        else:
            on_success(kind)
        latencies[kind].append(time.perf_counter() - t0)
        time.sleep(0.002)
    return {"latencies": latencies, "errors": errors, "error_examples": examples, "busy": busy}


def main() -> None:
    role, path, seconds, ready, go = sys.argv[1:6]
    ws = segjupyter.open(path)
    Path(ready).touch()
    deadline = time.monotonic() + 120
    while not Path(go).exists():
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.01)
    result = (writer if role == "writer" else reader)(ws, float(seconds))
    result["role"] = role
    ws.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
