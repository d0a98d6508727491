"""The background refresh queue: requests stored in the catalog, run by a worker process.

>>> ws.segments.queue_refresh("big_spenders")      # returns at once; a worker runs it
{'request_id': 7, 'segment': 'big_spenders', 'state': 'queued', ...}
>>> ws.segments.queue()                            # every request, newest first

A request goes ``queued`` -> ``running`` -> ``done`` | ``failed`` (with the reason) in
``catalog.refresh_queue``. Every change is one short write behind the workspace's writer
gate. Two requests for the same segment never run at once: a segment already waiting is not
queued twice, and the worker claims (inside a write) only requests whose segment has no
running one. A running request remembers its worker (host, pid and the process start time);
a worker that is gone — ``kill -9``, a crash, a reboot — makes its request ``failed`` the
next time anyone reads or claims, so nothing stays ``running`` forever and the segment can
be queued again.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

import pandas as pd

from .store import next_ids

STATES = ("queued", "running", "done", "failed")
#: what the segment list shows for each state
LABELS = {"queued": "in queue", "running": "running", "done": "done", "failed": "failed"}

DDL = """CREATE TABLE IF NOT EXISTS catalog.refresh_queue (
    request_id BIGINT NOT NULL,
    segment_id INTEGER NOT NULL,
    segment VARCHAR NOT NULL,
    as_of TIMESTAMP,                  -- NULL: the workspace's now when it runs
    state VARCHAR NOT NULL,           -- queued | running | done | failed
    requested_at TIMESTAMP NOT NULL,
    requested_by VARCHAR,             -- host:pid of the process that queued it
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    worker VARCHAR,                   -- host:pid:start-ticks of the worker running it
    run_id BIGINT,
    customers BIGINT,
    entered BIGINT,
    "left" BIGINT,
    duration_s DOUBLE,
    error VARCHAR)"""

COLUMNS = ("request_id", "segment_id", "segment", "as_of", "state", "requested_at",
           "requested_by", "started_at", "finished_at", "worker", "run_id", "customers",
           "entered", "left", "duration_s", "error")
_SELECT = ", ".join('"left"' if c == "left" else c for c in COLUMNS)

_ready: set[str] = set()


def now(ws) -> dt.datetime:
    """The current time in the workspace zone (naive), to the microsecond: the queue orders
    what happens within one second."""
    import zoneinfo
    return dt.datetime.now(zoneinfo.ZoneInfo(ws.timezone)).replace(tzinfo=None)


# -- process identity ------------------------------------------------------------------------
def _start_ticks(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), or None if it is gone or
    a zombie. Together with the pid it names one process: pids are reused, start times not."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def this_worker() -> str:
    """``host:pid:start-ticks`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid()) or '?'}"


def alive(worker: str | None) -> bool:
    """Whether the worker process named ``host:pid:ticks`` still runs. A worker on another
    host cannot be checked and counts as alive."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid, _, ticks = rest.partition(":")
    if host != socket.gethostname():
        return True
    try:
        now = _start_ticks(int(pid))
    except ValueError:
        return False
    return now is not None and (ticks == "?" or now == ticks)


def died_message(worker: str | None) -> str:
    pid = (worker or "::").split(":")[1]
    return (f"the worker process (pid {pid}) stopped while refreshing (killed or crashed); "
            "the previous members are kept — queue the refresh again")


# -- schema ----------------------------------------------------------------------------------
def _exists(con) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'catalog' "
        "AND table_name = 'refresh_queue'").fetchone()[0])


def ensure_queue(storage) -> None:
    """Create ``catalog.refresh_queue`` if this catalog has none yet."""
    if str(storage.root) in _ready:
        return
    with storage.read(catalog=True) as con:
        found = _exists(con)
    if not found:
        with storage.write() as con:
            con.execute(DDL)
    _ready.add(str(storage.root))


def _rows(con, where: str = "", args=()) -> list[dict]:
    rows = con.execute(f"SELECT {_SELECT} FROM catalog.refresh_queue {where}",
                       list(args)).fetchall()
    return [dict(zip(COLUMNS, r)) for r in rows]


def _effective(row: dict) -> dict:
    """A running request whose worker is gone reads as failed."""
    if row["state"] == "running" and not alive(row["worker"]):
        row = {**row, "state": "failed", "error": died_message(row["worker"])}
    return row


# -- writes (each inside storage.write()) ---------------------------------------------------
def repair(con, now) -> int:
    """Mark the running requests of dead workers failed; returns how many."""
    stale = [r for r in _rows(con, "WHERE state = 'running'") if not alive(r["worker"])]
    for r in stale:
        con.execute("UPDATE catalog.refresh_queue SET state = 'failed', finished_at = ?, "
                    "error = ? WHERE request_id = ?",
                    [now, died_message(r["worker"]), r["request_id"]])
    return len(stale)


def enqueue(cat, names: list[str], as_of=None) -> list[dict]:
    """Queue a background refresh of each of ``names`` (as of ``as_of``; default: the
    workspace's now when it runs) and return the requests. A segment that already waits in
    the queue for the same ``as_of`` keeps its request. Refused (:class:`CatalogError`) for
    segments that cannot be refreshed (unknown, inactive, locked, tags)."""
    from .refresh import plan
    ws = cat.ws
    records = cat._records()
    targets = plan(records, list(names))
    as_of = None if as_of is None else ws.resolve_as_of(as_of)
    ensure_queue(ws.storage)
    stamp = now(ws)
    me = f"{socket.gethostname()}:{os.getpid()}"
    out = []
    with ws.storage.write() as con:
        repair(con, stamp)
        for t in targets:
            waiting = _rows(con, "WHERE segment_id = ? AND state = 'queued' AND "
                                 "as_of IS NOT DISTINCT FROM ? ORDER BY request_id LIMIT 1",
                            [t.id, as_of])
            if waiting:
                out.append(waiting[0])
                continue
            rid = next_ids(con, "refresh_request")
            con.execute("INSERT INTO catalog.refresh_queue (request_id, segment_id, segment, "
                        "as_of, state, requested_at, requested_by) VALUES (?, ?, ?, ?, "
                        "'queued', ?, ?)", [rid, t.id, t.name, as_of, stamp, me])
            out.append(_rows(con, "WHERE request_id = ?", [rid])[0])
    return out


def claim(con, worker: str, now) -> dict | None:
    """Take the oldest queued request whose segment has no running one (inside a write);
    None when there is nothing to do."""
    rows = _rows(con, "WHERE state = 'queued' AND segment_id NOT IN (SELECT segment_id FROM "
                      "catalog.refresh_queue WHERE state = 'running') ORDER BY request_id "
                      "LIMIT 1")
    if not rows:
        return None
    row = rows[0]
    con.execute("UPDATE catalog.refresh_queue SET state = 'running', started_at = ?, "
                "worker = ? WHERE request_id = ?", [now, worker, row["request_id"]])
    return {**row, "state": "running", "started_at": now, "worker": worker}


def finish(con, request_id: int, now, run: dict | None = None, error: str | None = None) -> None:
    """Record the end of a request: ``run`` (the refresh result) or ``error``."""
    run = run or {}
    con.execute(
        "UPDATE catalog.refresh_queue SET state = ?, finished_at = ?, run_id = ?, "
        "customers = ?, entered = ?, \"left\" = ?, duration_s = ?, error = ? "
        "WHERE request_id = ?",
        ["failed" if error else "done", now, run.get("run_id"), run.get("customers"),
         run.get("entered"), run.get("left"), run.get("duration_s"), error, request_id])


# -- reads -----------------------------------------------------------------------------------
def requests(cat, ids=None, name: str | None = None, limit: int = 100) -> list[dict]:
    """Requests (by id, of one segment, or the latest ``limit``), newest first, with dead
    workers' running requests shown as failed."""
    where, args = [], []
    if ids is not None:
        where.append("list_contains(?, request_id)")
        args.append([int(i) for i in ids])
    if name is not None:
        where.append("segment = ?")
        args.append(name)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    with cat.ws.storage.read(catalog=True) as con:
        if not _exists(con):
            return []
        rows = _rows(con, f"{clause} ORDER BY request_id DESC LIMIT ?", [*args, int(limit)])
    return [_effective(r) for r in rows]


def frame(rows: list[dict]) -> pd.DataFrame:
    """Requests as a DataFrame with a ``status`` column (in queue / running / done /
    failed)."""
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df.insert(5, "status", df["state"].map(LABELS))
    for c in ("customers", "entered", "left", "run_id"):
        df[c] = df[c].astype("Int64")
    return df


def latest_by_segment(cat) -> dict[int, dict]:
    """The newest request of each segment (effective state), by segment id."""
    with cat.ws.storage.read(catalog=True) as con:
        if not _exists(con):
            return {}
        rows = _rows(con, "QUALIFY row_number() OVER (PARTITION BY segment_id ORDER BY "
                          "request_id DESC) = 1")
    return {r["segment_id"]: _effective(r) for r in rows}


def with_queue_state(cat, df: pd.DataFrame) -> pd.DataFrame:
    """Add ``refresh_state`` (in queue / running / done / failed, from the newest background
    request; empty when there was none) and ``refresh_error`` to the segment list."""
    latest = latest_by_segment(cat) if len(df) else {}
    state = [latest.get(i) for i in df["id"]] if len(df) else []
    df["refresh_state"] = pd.Series([LABELS[r["state"]] if r else None for r in state],
                                    index=df.index, dtype=object)
    df["refresh_error"] = pd.Series([r["error"] if r else None for r in state],
                                    index=df.index, dtype=object)
    return df

