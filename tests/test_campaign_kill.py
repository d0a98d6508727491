"""``campaigns.create`` killed with SIGKILL inside its write transaction leaves the catalog
as it was (no campaign, no half list), and the same campaign can be created afterwards."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd

import segjupyter

# The child wraps its connection (in the child only): once the transaction has inserted the
# campaign row, the next statement (the members' insert) announces itself, runs, and the
# child lingers before the commit; the parent kills it there.
CHILD = textwrap.dedent("""
    import sys, time
    import segjupyter

    ws = segjupyter.open(sys.argv[1])

    class Announce:
        def __init__(self, con):
            self._con = con
        def __getattr__(self, name):
            return getattr(self._con, name)
        def execute(self, sql, *args):
            out = self._con.execute(sql, *args)
            if sql.startswith("INSERT INTO catalog.campaign_members"):
                print("IN_WRITE", flush=True)
                time.sleep(120)
            return out

    ws.storage._con = Announce(ws.storage._con)
    ws.campaigns.create("repeat", "killed", holdout=0.2, seed=3, send_date="2026-05-01")
    print("COMMITTED", flush=True)
""")


def _state(ws):
    out = {}
    for t in ("campaigns", "campaign_members", "counters", "segments"):
        try:
            out[t] = ws.sql(f"SELECT * FROM catalog.{t} ORDER BY ALL").df()
        except segjupyter.errors.QueryError:
            out[t] = None
    return out


def test_kill_9_inside_campaign_create_leaves_the_catalog_as_it_was(demo_copy):
    path = demo_copy("campaign-kill")
    ws = segjupyter.open(path)
    ws.segments.save("orders >= 2", name="repeat")
    ws.segments.refresh("repeat", as_of="2026-04-30")
    ws.campaigns.create("repeat", "first", holdout=0.1, seed=1, send_date="2026-05-01")
    before = _state(ws)

    proc = subprocess.Popen([sys.executable, "-c", CHILD, path], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
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

    after = _state(ws)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], obj=table)
    assert ws.campaigns.names() == ["first"]

    rec = ws.campaigns.create("repeat", "killed", holdout=0.2, seed=3, send_date="2026-05-01")
    assert rec["customers"] == len(ws.segments.member_ids("repeat"))
    assert len(ws.campaigns.members("killed")) == rec["customers"]
    ws.close()
