"""Following background refresh requests from the process that queued them.

>>> w = Watcher(ws.segments, on_change=lambda req: print(req["segment"], req["state"]))
>>> w.add(ws.segments.queue_refresh("vip"))

A :class:`Watcher` polls the queue from a daemon thread (so the notebook's next cells run
meanwhile) and calls ``on_change(request)`` each time a request's state changes, until every
request it follows has ended. Widgets use it to update the segment list live.
"""

from __future__ import annotations

import threading
import time
import warnings

from ..errors import CatalogError, SegjupyterError
from . import queue

FINAL = ("done", "failed")


def _id(request) -> int:
    return int(request["request_id"] if isinstance(request, dict) else request)


def wait_for(cat, request, timeout: float = 300.0, poll: float = 0.2) -> dict:
    """Block until ``request`` (a request dict or id) is done or failed; return it.
    Raises :class:`CatalogError` after ``timeout`` seconds."""
    rid = _id(request)
    deadline = time.monotonic() + timeout
    while True:
        rows = queue.requests(cat, ids=[rid])
        if not rows:
            raise CatalogError(f"no background refresh request {rid}")
        if rows[0]["state"] in FINAL:
            return rows[0]
        if time.monotonic() >= deadline:
            raise CatalogError(f"background refresh request {rid} of {rows[0]['segment']!r} "
                               f"is still {queue.LABELS[rows[0]['state']]} after {timeout:g} s")
        time.sleep(poll)


class Watcher:
    """Poll the requests added with :meth:`add` every ``interval`` seconds and call
    ``on_change(request)`` for each new state (the first call reports the state when
    added). The thread stops when nothing is left to follow and restarts on the next add."""

    def __init__(self, cat, on_change, interval: float = 0.3, timeout: float = 3600.0):
        self.cat = cat
        self.on_change = on_change
        self.interval = interval
        self.timeout = timeout
        self._seen: dict[int, str] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, request) -> None:
        items = request if isinstance(request, list) else [request]
        with self._lock:
            for r in items:
                self._seen.setdefault(_id(r), "")
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="segjupyter-watch",
                                                daemon=True)
                self._thread.start()

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with self._lock:
                open_ids = [i for i, s in self._seen.items() if s not in FINAL]
            if not open_ids:
                return
            try:
                rows = queue.requests(self.cat, ids=open_ids)
            except SegjupyterError:  # busy or closed workspace: try again, or stop
                if self.cat.ws.storage.closed:
                    return
                time.sleep(self.interval)
                continue
            for row in sorted(rows, key=lambda r: r["request_id"]):
                with self._lock:
                    changed = self._seen.get(row["request_id"]) != row["state"]
                    self._seen[row["request_id"]] = row["state"]
                if changed:
                    try:
                        self.on_change(row)
                    except Exception as e:  # noqa: BLE001 - a display bug must not stop polling
                        warnings.warn(f"background refresh display failed: {e}",
                                      RuntimeWarning)
            time.sleep(self.interval)
