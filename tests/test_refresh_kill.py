"""A refresh process killed with SIGKILL in the middle of its write transaction leaves the
catalog exactly as it was, and the workspace can be refreshed afterwards."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd

import segjupyter

N_CUSTOMERS = 3000
A, B = "2026-01-31", "2026-03-02"

# The child refreshes as of B. Its connection is wrapped (in the child only) so that it
# announces, and lingers, once the write transaction has inserted the new events and
# members and removed the leavers: the parent kills it right there, before the commit.
CHILD = textwrap.dedent("""
    import sys, time
    import segjupyter

    ws = segjupyter.open(sys.argv[1])
    cat = ws.segments

    class Announce:
        def __init__(self, con):
            self._con = con
        def __getattr__(self, name):
            return getattr(self._con, name)
        def execute(self, sql, *args):
            out = self._con.execute(sql, *args)
            if sql.startswith("INSERT INTO catalog.segment_members"):
                print("IN_WRITE", flush=True)
                time.sleep(120)
            return out

    ws.storage._con = Announce(ws.storage._con)
    cat.refresh_all(as_of=sys.argv[2], progress=False)
    print("COMMITTED", flush=True)
""")


def _data():
    rng = np.random.default_rng(7)
    ids = np.arange(1, N_CUSTOMERS + 1)
    customers = pd.DataFrame({"customer_id": ids, "city": rng.choice(["Madrid", "Paris"],
                                                                     N_CUSTOMERS)})
    days = rng.integers(0, 60, N_CUSTOMERS)  # one order per customer in Jan-Feb 2026
    orders = pd.DataFrame({
        "order_id": ids, "customer_id": ids,
        "ordered_at": pd.Timestamp("2026-01-01 12:00") + pd.to_timedelta(days, unit="D"),
        "total": (rng.integers(10, 500, N_CUSTOMERS)).astype(str)})
    return customers, orders


def _state(ws):
    """Everything a refresh writes."""
    return {t: ws.sql(f"SELECT * FROM catalog.{t} ORDER BY ALL").df()
            for t in ("segments", "segment_members", "membership_events", "refresh_runs",
                      "size_history", "counters")}


def test_kill_9_inside_the_refresh_write_leaves_the_previous_state(tmp_path):
    path = tmp_path / "ws"
    ws = segjupyter.open(path)
    customers, orders = _data()
    assert ws.load(customers=customers, orders=orders).ok
    cat = ws.segments
    # membership of every segment moves a lot between A and B
    for days in range(10, 40, 6):
        cat.save(f"orders(last {days} days) > 0", name=f"recent_{days}")
        cat.save(f'orders(last {days} days) = 0 and city = "Madrid"', name=f"quiet_{days}")
    cat.refresh_all(as_of=A, progress=False)
    before = _state(ws)
    members_before = {n: cat.member_ids(n) for n in cat.names()}

    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), B],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                line = proc.stdout.readline().strip()
                break
            assert proc.poll() is None, proc.stderr.read()
        assert line == "IN_WRITE", (line, proc.stderr.read() if proc.poll() is not None else "")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert "COMMITTED" not in proc.stdout.read()

    # the uncommitted events, members and run log are gone: the catalog is as before
    after = _state(ws)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], obj=table)
    assert {n: cat.member_ids(n) for n in cat.names()} == members_before

    # and the workspace refreshes normally afterwards
    out = cat.refresh_all(as_of=B, progress=False)
    assert out["error"].isna().all()
    moved = 0
    for name in cat.names():
        expect = cat.get(name).member_ids(as_of=B).tolist()
        assert cat.member_ids(name) == expect
        moved += len(set(expect) ^ set(members_before[name]))
    assert moved > N_CUSTOMERS  # the killed write was a big one
    ws.close()
