"""The background refresh worker: a separate process that runs the queued refreshes.

    python -m segjupyter.segments.worker WORKSPACE [--idle SECONDS]
    segjupyter worker WORKSPACE                      # the same, from the command line

:func:`ensure_worker` starts one when a refresh is queued and none runs; it exits after
``idle`` seconds with nothing to do. One worker per workspace: it holds an exclusive
``flock`` on ``.refresh-worker.lock`` for its whole life (the kernel releases it when the
process dies, ``kill -9`` included), so a second one exits at once. Each request is claimed,
run with the ordinary ``refresh`` (its write goes through the writer gate like any other)
and finished in short catalog writes; a kernel that queued it stays free the whole time.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from ..errors import SegjupyterError, WorkspaceBusyError
from . import queue

LOCK_FILE = ".refresh-worker.lock"
LOG_FILE = ".refresh-worker.log"
DEFAULT_IDLE = float(os.environ.get("SEGJUPYTER_WORKER_IDLE", "3"))
POLL = 0.2

_children: list[subprocess.Popen] = []  # reaped here, so a finished worker is no zombie


def _lock(root: Path, wait: float) -> int | None:
    """The worker lock's fd, or None if another worker holds it for ``wait`` seconds."""
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.05)


def worker_running(root: Path) -> bool:
    """Whether a worker process holds this workspace's worker lock now."""
    fd = _lock(Path(root), 0)
    if fd is None:
        return True
    os.close(fd)  # closing drops the flock
    return False


def ensure_worker(ws) -> int | None:
    """Start a worker for ``ws`` unless one runs; returns the new process's pid (or None)."""
    for p in list(_children):
        if p.poll() is not None:
            _children.remove(p)
    root = ws.storage.root
    if worker_running(root):
        return None
    env = {**os.environ}
    env.setdefault("SEGJUPYTER_THREADS", str(max(1, (os.cpu_count() or 2) // 2)))
    env.pop("SEGJUPYTER_READ_ONLY", None)
    with open(root / LOG_FILE, "ab") as log:
        p = subprocess.Popen([sys.executable, "-m", "segjupyter.segments.worker", str(root)],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                             start_new_session=True, close_fds=True)
    _children.append(p)
    return p.pid


def _write(ws, fn, attempts: int = 20):
    """Run ``fn(con)`` in a catalog write, retrying while the workspace is busy."""
    for i in range(attempts):
        try:
            with ws.storage.write() as con:
                return fn(con)
        except WorkspaceBusyError:
            if i == attempts - 1:
                raise
            time.sleep(0.2)


def run_one(ws, request: dict) -> dict:
    """Refresh the segment of a claimed ``request`` and record how it ended."""
    cat = ws.segments
    run, error = None, None
    try:
        run = cat.refresh(request["segment"], as_of=request["as_of"])
    except SegjupyterError as e:
        error = str(e)
    except Exception as e:  # noqa: BLE001 - a bug must not leave the request running
        error = f"{type(e).__name__}: {e}"
    _write(ws, lambda con: queue.finish(con, request["request_id"], queue.now(ws), run, error))
    return {"request_id": request["request_id"], "segment": request["segment"],
            "error": error, "customers": None if run is None else run["customers"]}


def serve(path, idle: float = DEFAULT_IDLE, log=print) -> int:
    """Run queued refreshes of the workspace at ``path`` until the queue has been empty for
    ``idle`` seconds; returns how many requests were run. Returns 0 at once if another
    worker holds the workspace."""
    from ..workspace.workspace import open_workspace
    root = Path(path).expanduser().resolve()
    fd = _lock(root, 1.0)
    if fd is None:
        log(f"worker {os.getpid()}: another worker runs for {root}; exiting")
        return 0
    ws = open_workspace(root)
    me = queue.this_worker()
    done = 0
    try:
        queue.ensure_queue(ws.storage)
        # we hold the worker lock: any request still running belongs to a dead worker
        _write(ws, lambda con: queue.repair(con, queue.now(ws)))
        quiet_since = time.monotonic()
        while True:
            req = _write(ws, lambda con: queue.claim(con, me, queue.now(ws)))
            if req is None:
                if time.monotonic() - quiet_since < idle:
                    time.sleep(POLL)
                    continue
                # release first, then look once more: a request queued while we held the
                # lock saw a live worker and started none, so it is ours to run
                fcntl.flock(fd, fcntl.LOCK_UN)
                if not _waiting(ws):
                    break
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    break  # a new worker took over
                quiet_since = time.monotonic()
                continue
            log(f"worker {os.getpid()}: refreshing {req['segment']!r} (request "
                f"{req['request_id']})")
            out = run_one(ws, req)
            done += 1
            log(f"worker {os.getpid()}: {req['segment']!r} "
                + (f"failed: {out['error']}" if out["error"] else f"done: {out['customers']}"))
            quiet_since = time.monotonic()
    finally:
        ws.close()
        os.close(fd)
    return done


def _waiting(ws) -> bool:
    with ws.storage.read(catalog=True) as con:
        return bool(con.execute("SELECT count(*) FROM catalog.refresh_queue "
                                "WHERE state = 'queued'").fetchone()[0])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m segjupyter.segments.worker",
                                description="Run the queued background refreshes of a workspace.")
    p.add_argument("workspace")
    p.add_argument("--idle", type=float, default=DEFAULT_IDLE,
                   help="exit after this many seconds with an empty queue")
    args = p.parse_args(argv)
    serve(args.workspace, args.idle, log=lambda m: print(m, file=sys.stderr, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
