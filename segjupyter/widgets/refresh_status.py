"""A live line per background refresh: in queue -> running -> done / failed.

>>> RefreshStatus(ws, ws.segments.queue_refresh(["vip", "lapsed"]))

Shown by ``%segment refresh NAME --background``; the lines change while other cells run
(a :class:`~segjupyter.segments.watch.Watcher` thread polls the queue), and the last one is
the notification that the refresh finished.
"""

from __future__ import annotations

import html

import ipywidgets as W

from ..segments.watch import Watcher
from .layout import css, error_text


def request_text(r: dict) -> str:
    """One request as HTML: its segment, state and, once ended, the result or the reason."""
    name = f"<b>{html.escape(r['segment'])}</b>"
    state = r["state"]
    label = {"queued": "in queue", "running": "running", "done": "done",
             "failed": "failed"}[state]
    badge = f"<span class='sj-queue-state sj-queue-{state}'>{label}</span>"
    if state == "done":
        return (f"✔ {name}: {badge} — {r['customers']:,} customers (+{r['entered']:,} / "
                f"−{r['left']:,}) in {r['duration_s']:.2f} s")
    if state == "failed":
        return f"{name}: {badge} {error_text(r['error'] or '')}"
    return f"⏳ {name}: {badge}"


class RefreshStatus(W.VBox):
    """One line per request, updated live until each one ends."""

    def __init__(self, ws, requests, interval: float = 0.3):
        super().__init__()
        css(self, "sj-refresh-status")
        self.ws = ws
        items = requests if isinstance(requests, list) else [requests]
        self.lines = {int(r["request_id"]): css(W.HTML(request_text(r)), "sj-refresh-line")
                      for r in items}
        self.children = tuple(self.lines.values())
        self.watcher = Watcher(ws.segments, self._changed, interval=interval)
        self.watcher.add(items)

    def _changed(self, r: dict) -> None:
        line = self.lines.get(int(r["request_id"]))
        if line is not None:
            line.value = request_text(r)
