"""Triggers: Python callbacks run after a refresh commits, for the customers who entered or
left a segment.

Callbacks live in this process only (they are Python functions); they are keyed by segment
id, so a rename keeps them. A callback that raises is recorded in ``catalog.trigger_errors``
and shown as a warning; it never undoes the refresh, which is already committed.
"""

from __future__ import annotations

import traceback
import warnings
from typing import Callable

import pandas as pd

EVENTS = ("enter", "leave")


class Triggers:
    """The callbacks registered on one catalog."""

    def __init__(self):
        self._callbacks: dict[tuple[int, str], list[Callable]] = {}

    def add(self, segment_id: int, event: str, callback: Callable) -> None:
        self._callbacks.setdefault((segment_id, event), []).append(callback)

    def remove(self, segment_id: int, event: str | None = None,
               callback: Callable | None = None) -> int:
        """Remove callbacks (all of the segment, of one event, or one callback); returns how
        many were removed."""
        n = 0
        for key in list(self._callbacks):
            if key[0] != segment_id or (event is not None and key[1] != event):
                continue
            cbs = self._callbacks[key]
            keep = [] if callback is None else [c for c in cbs if c is not callback]
            n += len(cbs) - len(keep)
            if keep:
                self._callbacks[key] = keep
            else:
                del self._callbacks[key]
        return n

    def registered(self, segment_id: int | None = None) -> list[tuple[int, str, Callable]]:
        return [(sid, ev, cb) for (sid, ev), cbs in self._callbacks.items()
                for cb in cbs if segment_id is None or sid == segment_id]

    def fire(self, catalog, ev, targets, result: pd.DataFrame) -> list[dict]:
        """Call the callbacks of ``targets`` with the customers concerned (after commit)."""
        todo = []
        counts = {row.segment: (row.entered, row.left) for row in result.itertuples()}
        for t in targets:
            entered, left = counts.get(t.name, (0, 0))
            for event, n in (("enter", entered), ("leave", left)):
                cbs = self._callbacks.get((t.id, event))
                if cbs and n:
                    todo.append((t, event, list(cbs)))
        if not todo:
            return []
        ws = catalog.ws
        failures = []
        for t, event, cbs in todo:
            frame = customers_of_events(ws, ev.ev, t.id, event, ev.key)
            frame.attrs.update({"segment": t.name, "event": event, "as_of": ev.as_of,
                                "run_id": t.run_id})
            for cb in cbs:
                try:
                    cb(frame.copy())
                except Exception as e:  # a user's callback: record it, keep going
                    name = getattr(cb, "__qualname__", None) or repr(cb)
                    text = "".join(traceback.format_exception_only(type(e), e)).strip()
                    failures.append({"segment_id": t.id, "segment": t.name, "run_id": t.run_id,
                                     "event": event, "callback": name, "error": text})
                    warnings.warn(f"trigger {name} on {event} of segment {t.name!r} failed: "
                                  f"{text} (the refresh itself is committed; see "
                                  "ws.segments.trigger_errors())", RuntimeWarning, stacklevel=4)
        if failures:
            from .refresh import wall_now
            at = wall_now(ws)
            with ws.storage.write() as con:
                con.executemany(
                    "INSERT INTO catalog.trigger_errors VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(at, f["segment_id"], f["segment"], f["run_id"], f["event"],
                      f["callback"], f["error"]) for f in failures])
        return failures


def customers_of_events(ws, table: str, segment_id: int, event: str, key: str) -> pd.DataFrame:
    """Customers (all customer fields, then ``reason``) of one segment's events in ``table``."""
    with ws.storage.read() as con:
        return con.execute(
            f"SELECT TRY_CAST(e.customer_id AS {key}) AS customer_id, "
            f"c.* EXCLUDE (customer_id), e.reason FROM temp.main.{table} e "
            "LEFT JOIN customers c ON CAST(c.customer_id AS VARCHAR) = e.customer_id "
            "WHERE e.segment_id = ? AND e.event = ? ORDER BY 1",
            [segment_id, event]).df()
