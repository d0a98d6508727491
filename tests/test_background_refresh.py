"""Background refresh (issue 13, item 1): requests queued in the catalog and run by a real
worker process; status in list(), the CLI, the magic and the segment list widget; a worker
killed with SIGKILL leaves its request failed and the segment refreshable again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

import segjupyter
from segjupyter import magic as sjmagic
from segjupyter.errors import CatalogError
from segjupyter.segments import queue, worker
from segjupyter.widgets.segment_list import SegmentList

# runs until stopped: a triple cross join whose filter no statistic can rule out
SLOW_SQL = ("SELECT a.customer_id FROM customers a, customers b, customers c "
            "WHERE hash(a.customer_id, b.customer_id, c.customer_id) = 42")


@pytest.fixture
def bws(demo_copy, monkeypatch):
    monkeypatch.setenv("SEGJUPYTER_WORKER_IDLE", "0.5")  # workers started here exit sooner
    ws = segjupyter.open(demo_copy("bg"))
    cat = ws.segments
    cat.save('city = "Madrid"', name="madrid")
    cat.save("spend(last 12 months) >= 300", name="spenders")
    yield ws
    deadline = time.monotonic() + 20  # let the worker finish before the folder goes
    while worker.worker_running(ws.storage.root) and time.monotonic() < deadline:
        time.sleep(0.1)
    ws.close()


def _wait_state(cat, rid, states, timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (row,) = queue.requests(cat, ids=[rid])
        if row["state"] in states:
            return row
        time.sleep(0.05)
    raise AssertionError(f"request {rid} never reached {states}: {row}")


def test_queued_refresh_runs_in_a_worker_and_the_kernel_stays_free(bws):
    cat = bws.segments
    t0 = time.monotonic()
    req = cat.queue_refresh("spenders")
    assert time.monotonic() - t0 < 2.0 and req["state"] == "queued"
    assert cat.list().set_index("name").loc["spenders", "refresh_state"] == "in queue"
    # the queuing process keeps answering while the worker refreshes
    reads = []
    while queue.requests(cat, ids=[req["request_id"]])[0]["state"] not in ("done", "failed"):
        t = time.monotonic()
        assert bws.segment('city = "Madrid"').count() > 0
        reads.append(time.monotonic() - t)
    done = cat.wait(req)
    assert done["state"] == "done", done
    assert max(reads) < 2.0
    expect = cat.get("spenders").count()
    info = cat.info("spenders")
    assert info.customers == expect == done["customers"] and done["run_id"] == info.last_run_id
    assert done["worker"].split(":")[1] != str(os.getpid())  # another process did it
    row = cat.list().set_index("name").loc["spenders"]
    assert row["refresh_state"] == "done" and row["status"] == "active"
    assert cat.list().set_index("name").loc["madrid", "refresh_state"] is None


def test_the_same_segment_never_runs_twice_at_once(bws):
    cat = bws.segments
    first = cat.queue_refresh("madrid")
    again = cat.queue_refresh("madrid")  # still waiting: the same request
    assert again["request_id"] == first["request_id"]
    _wait_state(cat, first["request_id"], ("running", "done"))
    later = [cat.queue_refresh("madrid") for _ in range(3)]
    assert len({r["request_id"] for r in later}) <= 2
    for r in [first, *later]:
        assert cat.wait(r)["state"] == "done"
    rows = sorted(queue.requests(cat, name="madrid"), key=lambda r: r["request_id"])
    for a, b in zip(rows, rows[1:]):
        assert b["started_at"] >= a["finished_at"], (a, b)
    # a second worker on the same workspace does nothing: one worker per workspace
    lock = os.open(bws.storage.root / worker.LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        import fcntl
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert worker.worker_running(bws.storage.root)
        assert worker.serve(bws.storage.root, idle=0.1, log=lambda m: None) == 0
    finally:
        os.close(lock)


def test_a_worker_killed_mid_refresh_leaves_the_segment_failed_then_retryable(bws):
    cat = bws.segments
    bws.set_setting("sql_timeout", 120)
    cat.save(f"sql({SLOW_SQL!r})".replace("'", '"'), name="slow")
    before = cat.info("slow")
    req = cat.queue_refresh("slow")
    running = _wait_state(cat, req["request_id"], ("running",))
    pid = int(running["worker"].split(":")[1])
    time.sleep(0.5)  # inside the query
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while queue._start_ticks(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    # nobody has written anything since: readers already see it failed, with the reason
    (row,) = queue.requests(cat, ids=[req["request_id"]])
    assert row["state"] == "failed" and f"pid {pid}" in row["error"]
    listed = cat.list().set_index("name").loc["slow"]
    assert listed["refresh_state"] == "failed" and "killed" in listed["refresh_error"]
    assert cat.info("slow") == before  # previous state kept, not half written
    # retryable: fix the rule, queue again; the new worker records the old request failed
    cat.update("slow", 'city = "Madrid"')
    again = cat.wait(cat.queue_refresh("slow"))
    assert again["state"] == "done" and again["customers"] == cat.get("slow").count()
    with bws.storage.read(catalog=True) as con:
        stored = con.execute("SELECT state, error FROM catalog.refresh_queue WHERE "
                             "request_id = ?", [req["request_id"]]).fetchone()
    assert stored[0] == "failed" and "killed" in stored[1]


def test_a_failing_refresh_is_failed_with_its_reason(bws):
    cat = bws.segments
    bws.set_setting("sql_timeout", 0.5)
    cat.save(f"sql({SLOW_SQL!r})".replace("'", '"'), name="too_slow")
    out = cat.wait(cat.queue_refresh("too_slow"))
    assert out["state"] == "failed" and "longer than 0.5 s" in out["error"]
    assert cat.list().set_index("name").loc["too_slow", "refresh_state"] == "failed"
    with pytest.raises(CatalogError, match="inactive"):
        cat.deactivate("madrid")
        cat.queue_refresh("madrid")


def test_command_line_background_refresh_and_queue(bws):
    path = str(bws.storage.root)
    exe = [sys.executable, "-m", "segjupyter.cli"]
    out = subprocess.run([*exe, "refresh", path, "--background"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "queued 'madrid'" in out.stdout and "queued 'spenders'" in out.stdout
    waited = subprocess.run([*exe, "queue", path, "--wait"], capture_output=True, text=True,
                            timeout=180)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.count("done") == 2
    listed = subprocess.run([*exe, "list", path], capture_output=True, text=True, timeout=60)
    assert "background" in listed.stdout and listed.stdout.count("done") == 2
    assert bws.segments.info("madrid").customers == bws.segments.get("madrid").count()


@pytest.fixture
def ip():
    """A real shell with a fresh SegmentMagic (as in test_magic.py)."""
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    sjmagic.unload_ipython_extension(shell)
    shell.config.pop("SegmentMagic", None)
    sjmagic.load_ipython_extension(shell)
    yield shell
    sjmagic.unload_ipython_extension(shell)
    shell.config.pop("SegmentMagic", None)


def test_magic_background_refresh_shows_a_live_status(ip, bws):
    from IPython.utils.capture import capture_output
    from ipywidgets.widgets.widget import _instances

    from segjupyter.rules.limits import statement_limits
    from segjupyter.widgets.refresh_status import RefreshStatus
    ip.run_line_magic("segment", f"use {bws.storage.root}")
    with capture_output() as out:
        ip.run_line_magic("segment", "refresh spenders --background")
    (shown,) = [o.data["application/vnd.jupyter.widget-view+json"]["model_id"]
                for o in out.outputs if "application/vnd.jupyter.widget-view+json" in o.data]
    status = _instances[shown]
    assert isinstance(status, RefreshStatus)
    status.watcher.join(60)
    (line,) = status.lines.values()
    assert "done" in line.value and f"{bws.segments.info('spenders').customers:,}" in line.value
    with capture_output() as out:
        ip.run_line_magic("segment", "queue")
    assert "spenders" in out.outputs[0].data["text/plain"]
    ip.run_line_magic("config", "SegmentMagic.sql_timeout = 0.5")
    try:
        assert statement_limits(bws.storage).timeout == 0.5
    finally:
        ip.run_line_magic("config", "SegmentMagic.sql_timeout = 0")
    assert statement_limits(bws.storage).timeout == 30.0


def test_segment_list_refresh_in_background_updates_the_row_live(bws):
    cat = bws.segments
    cat.refresh("madrid", as_of="2025-01-01")
    lst = SegmentList(bws)
    row = lst.rows["madrid"]
    row.buttons["refresh_background"].click()
    assert "in queue" in row.cells["background"].value or "running" in \
        row.cells["background"].value
    lst._watcher.join(60)
    assert "done" in lst.rows["madrid"].cells["background"].value
    assert f">{cat.info('madrid').customers:,}<" in lst.rows["madrid"].cells["customers"].value
    assert "done" in lst.message.value and "madrid" in lst.message.value
    assert Path(bws.storage.root / worker.LOG_FILE).exists()
