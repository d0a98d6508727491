"""The process the crash matrix kills (tests/test_crash_matrix.py).

    python crash_child.py        # then one JSON request per line on stdin

It imports segjupyter once, then per request ``{"op": NAME, "path": WS, "delay": SECONDS |
null}`` forks a child that opens the workspace, says it is ready, and runs the operation;
with a delay the child is sent SIGKILL that many seconds after it is ready (if it is still
running). Answers one JSON line: ``{"outcome": "killed" | "finished" | "failed",
"elapsed": SECONDS, "error": TEXT}``. Forking from an imported process puts the kill at a
random moment of the operation itself, not of Python's start-up.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback

import segjupyter

from crash_ops import OPS


def child(op: str, path: str, ready_fd: int, done_fd: int) -> None:
    try:
        ws = segjupyter.open(path)
        ws.segments  # the catalog is opened before the clock starts
        os.write(ready_fd, b"R")
        OPS[op](ws)
        ws.close()
        os.write(done_fd, b"ok")
        os._exit(0)
    except BaseException:  # noqa: BLE001
        os.write(done_fd, traceback.format_exc()[-2000:].encode())
        os._exit(1)


def run(op: str, path: str, delay: float | None) -> dict:
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(done_r)
        child(op, path, ready_w, done_w)
    os.close(ready_w)
    os.close(done_w)
    if os.read(ready_r, 1) != b"R":
        os.waitpid(pid, 0)
        return {"outcome": "failed", "elapsed": 0.0, "error": os.read(done_r, 4000).decode()}
    t0 = time.monotonic()
    if delay is not None:
        time.sleep(delay)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    elapsed = time.monotonic() - t0
    message = os.read(done_r, 4000).decode()
    os.close(ready_r)
    os.close(done_r)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        return {"outcome": "killed", "elapsed": elapsed, "error": ""}
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return {"outcome": "finished", "elapsed": elapsed, "error": ""}
    return {"outcome": "failed", "elapsed": elapsed, "error": message}


def main() -> None:
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        print(json.dumps(run(req["op"], req["path"], req["delay"])), flush=True)


if __name__ == "__main__":
    main()
