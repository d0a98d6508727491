"""Refreshing saved segments: which are due, in which order, and the one write that stores
the result (DESIGN.md sections 5 and 6).

A refresh run is: copy the stored members concerned (a short catalog read), evaluate every
segment of a dependency level in one shared pass over the retail data (no catalog lock),
diff and explain in temporary tables, then **one** write transaction: events, members, run
log, size history, segment state. A crash at any point before the commit leaves the catalog
exactly as it was. Triggers fire after the commit.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
import warnings

import pandas as pd

from ..errors import CatalogError, SegjupyterError, WorkspaceBusyError
from ..rules import model
from ..rules.predicted import data_version
from .evaluate import Evaluation, Target
from .incremental import write_basis
from .progress import Progress
from .records import TAG_KIND, SegmentRecord
from .store import insert_rows, next_ids

_run_tags = itertools.count()

#: Entries + exits above which the refresh is written on a copy of the catalog.
BULK_ROWS = int(os.environ.get("SEGJUPYTER_BULK_ROWS", "100000"))

RESULT_COLUMNS = ["segment", "run_id", "as_of", "started_at", "duration_s", "customers",
                  "entered", "left", "subscribed", "error"]


def wall_now(ws) -> dt.datetime:
    """The real current time in the workspace time zone (naive), for logs."""
    import zoneinfo
    return dt.datetime.now(zoneinfo.ZoneInfo(ws.timezone)).replace(tzinfo=None,
                                                                   microsecond=0)


def plan(records: dict[str, SegmentRecord], names: list[str] | None) -> list[Target]:
    """The targets of a refresh, with their dependency level.

    ``names=None`` takes every due segment (active; dynamic, or static never evaluated);
    named segments must be refreshable. Raises :class:`CatalogError` on a dependency cycle.
    """
    if names is None:
        chosen = [r for r in records.values() if r.kind != TAG_KIND and r.due]
    else:
        chosen = []
        for name in dict.fromkeys(names):
            r = records.get(name)
            if r is None:
                raise unknown_segment(name, records)
            if r.kind == TAG_KIND:
                raise CatalogError(f"{name!r} holds customer tags (tag_members); it is not "
                                   "refreshed")
            if not r.active:
                raise CatalogError(f"segment {name!r} is inactive; activate it to refresh it "
                                   f"(ws.segments.activate({name!r}))")
            if r.locked:
                raise CatalogError(
                    f"static segment {name!r} was evaluated as of {r.last_as_of:%Y-%m-%d %H:%M} "
                    "and is locked; duplicate it to evaluate the rule again "
                    f"(ws.segments.duplicate({name!r}, 'new_name'))")
            chosen.append(r)
    targets = [Target(r.id, r.name, r.kind, r.tree, r.params, r.revision, r.last_run_id,
                      r.last_as_of, customers=r.customers, subscribed=r.subscribed)
               for r in chosen]
    by_name = {t.name: t for t in targets}
    for t in targets:
        t.deps = model.segment_refs(t.tree) & set(by_name)
    check_cycles({t.name: t.deps for t in targets})
    done: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in done:
            done[name] = 1 + max((level(d) for d in by_name[name].deps), default=-1)
        return done[name]

    for t in targets:
        t.level = level(t.name)
    return sorted(targets, key=lambda t: (t.level, t.id))


def check_cycles(graph: dict[str, set[str]]) -> None:
    """Raise :class:`CatalogError` naming a cycle of ``in_segment`` uses, if there is one."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if d not in graph:
                continue
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d]
                raise CatalogError("segments use each other in a cycle: " +
                                   " -> ".join(cycle) + "; remove one in_segment(...)")
            if d not in state:
                visit(d)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def unknown_segment(name: str, records) -> CatalogError:
    from ..workspace.registry import suggest
    s = suggest(name, [n for n, r in records.items() if r.kind != TAG_KIND])
    return CatalogError(f"no saved segment named {name!r}" +
                        (f" — did you mean {s!r}?" if s else ""))


def run(catalog, targets: list[Target], records: dict[str, SegmentRecord], as_of=None,
        progress=True, engine=None, incremental=True) -> pd.DataFrame:
    """Refresh ``targets`` (from :func:`plan`) as of ``as_of``; one row per target.
    ``engine`` (see ``segjupyter.engines``) evaluates the levels instead of DuckDB.
    ``incremental``: re-evaluate only the customers whose answer can have changed since a
    segment's last refresh, where that is sound (``incremental.py``); False: everybody."""
    ws = catalog.ws
    st = ws.storage
    as_of = ws.resolve_as_of(as_of)
    started = wall_now(ws)
    t0 = time.monotonic()
    ids = {name: r.id for name, r in records.items()}
    for t in targets:
        missing = sorted(model.segment_refs(t.tree) - set(ids))
        if missing:
            t.error = f"uses in_segment({missing[0]!r}), which is not a saved segment"
    n_levels = 1 + max((t.level for t in targets), default=0)
    prog = Progress(progress, n_levels + 3)
    if engine is not None:
        from ..engines.base import as_engine
        engine = as_engine(engine)
    ev = Evaluation(ws, f"{os.getpid()}_{next(_run_tags)}", as_of, engine)
    try:
        needed = {t.id for t in targets}
        for t in targets:
            needed |= {ids[n] for n in model.segment_refs(t.tree) if n in ids}
        referenced = set().union(*(t.deps for t in targets))
        with st.read(catalog=True) as con:
            ev.data_version = data_version(st)  # the retail data this run evaluates
            affected = ev.plan_incremental(con, targets, referenced) if incremental else None
            ev.copy_old(con, sorted(needed), targets)
        inc = sum(t.incremental for t in targets)
        prog.step(f"{len(targets)} segments to refresh as of {as_of:%Y-%m-%d %H:%M}" + (
            f" ({inc} for the {affected:,} customers whose answer can have changed)"
            if inc else ""))
        fresh: set[str] = set()
        by_name = {t.name: t for t in targets}
        with st.read() as con:
            for lvl in range(n_levels):
                group = []
                for t in targets:
                    if t.level != lvl or t.error is not None:
                        continue
                    failed = sorted(d for d in t.deps if not by_name[d].evaluated)
                    if failed:
                        t.error = f"uses segment {failed[0]!r}, whose refresh failed"
                    else:
                        group.append(t)
                ev.evaluate_level(con, group, ids, fresh)
                fresh |= {t.name for t in group if t.evaluated}
                prog.step(f"evaluated {len(group)} segments in one pass"
                          + (f" (level {lvl + 1}/{n_levels})" if n_levels > 1 else ""))
            ok = [t for t in targets if t.evaluated]
            ev.changes(con, ok)
            ev.previous_flags(con, ok, ids)
            ev.events(con, ok)
            stats = ev.summary(con, ok)
        prog.step("entries and exits explained")
        duration = time.monotonic() - t0
        result = _write(st, ev, targets, stats, as_of, started, duration)
    except BaseException as e:
        if isinstance(e, SegjupyterError) and not isinstance(e, WorkspaceBusyError):
            _log_failure(st, targets, as_of, started, time.monotonic() - t0, str(e))
        if not st.closed:
            with st.read() as con:
                ev.drop(con)
        raise
    # committed: from here on nothing may undo or misreport the refresh
    try:
        prog.close(f"done: {len(ok)} refreshed" +
                   (f", {len(targets) - len(ok)} failed" if len(ok) < len(targets) else "") +
                   f" in {time.monotonic() - t0:.2f} s")
        try:
            catalog.triggers.fire(catalog, ev, ok, result)
        except SegjupyterError as e:  # e.g. the trigger log could not be written
            warnings.warn(f"refresh committed, but triggers could not be completed: {e}",
                          RuntimeWarning, stacklevel=3)
        return result
    finally:
        if not st.closed:
            with st.read() as con:
                ev.drop(con)


def _write(st, ev: Evaluation, targets: list[Target], stats: dict, as_of, started,
           duration: float) -> pd.DataFrame:
    ok = [t for t in targets if t.evaluated]
    rows = []
    # millions of entries (a first refresh at 1M customers) take seconds to write: write
    # them on a copy of the catalog swapped in at commit, so that readers never wait
    moved = sum(s["entered"] + s["left"] for s in stats.values())
    with st.write(bulk=moved > BULK_ROWS) as con:
        current = {r[0]: r[1:] for r in con.execute(
            "SELECT id, revision, last_run_id FROM catalog.segments WHERE list_contains(?, id)",
            [[t.id for t in targets]]).fetchall()}
        for t in targets:
            if t.id not in current:
                raise CatalogError(f"segment {t.name!r} was deleted during the refresh; "
                                   "nothing was written")
            if current[t.id] != (t.revision, t.last_run_id):
                raise CatalogError(f"segment {t.name!r} was changed by another process during "
                                   "the refresh; nothing was written — run the refresh again")
        batch = next_ids(con, "batch")
        first = next_ids(con, "run", len(targets))
        runs = ev.runs
        con.execute(f"CREATE OR REPLACE TEMP TABLE {runs} (segment_id INTEGER, run_id BIGINT)")
        for i, t in enumerate(targets):
            t.run_id = first + i
        if ok:
            insert_rows(con, runs, [(t.id, t.run_id) for t in ok])
            con.execute(
                "INSERT INTO catalog.membership_events SELECT e.segment_id, e.customer_id, "
                f"e.event, ?, r.run_id, e.reason FROM {ev.ev} e JOIN {runs} r USING (segment_id)",
                [as_of])
            con.execute(
                "DELETE FROM catalog.segment_members USING (SELECT segment_id, customer_id "
                f"FROM {ev.ev} WHERE event = 'leave') d WHERE segment_members.segment_id = "
                "d.segment_id AND segment_members.customer_id = d.customer_id")
            con.execute(
                "INSERT INTO catalog.segment_members SELECT e.segment_id, e.customer_id, ?, "
                f"r.run_id FROM {ev.ev} e JOIN {runs} r USING (segment_id) "
                "WHERE e.event = 'enter'", [as_of])
        for t in targets:
            s = stats.get(t.id, {"customers": 0, "subscribed": 0 if ev.has_sub else None,
                                 "entered": 0, "left": 0})
            if t.evaluated:
                rows.append([t.name, t.run_id, as_of, started, duration, s["customers"],
                             s["entered"], s["left"], s["subscribed"], None])
            else:
                rows.append([t.name, t.run_id, as_of, started, duration, None, None, None,
                             None, t.error])
        insert_rows(con, "catalog.refresh_runs",
                    [(t.run_id, batch, t.id, r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                      r[9]) for t, r in zip(targets, rows)],
                    row="(?, ?, ?, ?, 'refresh', ?, ?, ?, ?, ?, ?, ?, ?)")
        if ok:
            insert_rows(con, "catalog.size_history",
                        [(t.id, as_of, r[5], r[8], started) for t, r in zip(targets, rows)
                         if t.evaluated], row="(?, ?, ?, ?, 'refresh', ?)")
            # one UPDATE joined with the new counts, not one per segment
            con.execute(f"CREATE OR REPLACE TEMP TABLE {runs} (segment_id INTEGER, "
                        "run_id BIGINT, customers BIGINT, subscribed BIGINT)")
            insert_rows(con, runs, [(t.id, t.run_id, r[5], r[8])
                                    for t, r in zip(targets, rows) if t.evaluated])
            con.execute(
                "UPDATE catalog.segments SET last_run_id = n.run_id, last_refresh_at = ?, "
                "last_as_of = ?, customers = n.customers, subscribed = n.subscribed, "
                f"last_error = NULL FROM {runs} n WHERE segments.id = n.segment_id",
                [started, as_of])
        con.execute(f"DROP TABLE IF EXISTS {runs}")
        failed = [(t.error, t.id) for t in targets if not t.evaluated]
        if failed:
            con.executemany("UPDATE catalog.segments SET last_error = ? WHERE id = ?", failed)
        # what the stored members were computed from; an engine reads its own copy of the
        # data, so its members are no basis for an incremental refresh
        write_basis(con, [t.id for t in ok], [] if ev.engine is not None else [
            (t.id, t.run_id, t.revision, ev.data_version) for t in ok])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _log_failure(st, targets: list[Target], as_of, started, duration: float, error: str) -> None:
    """Best effort: record a refresh that failed as a whole (the catalog is unchanged)."""
    try:
        with st.write() as con:
            batch = next_ids(con, "batch")
            first = next_ids(con, "run", max(len(targets), 1))
            insert_rows(con, "catalog.refresh_runs",
                        [(first + i, batch, t.id, t.name, as_of, started, duration, error)
                         for i, t in enumerate(targets)],
                        row="(?, ?, ?, ?, 'refresh', ?, ?, ?, NULL, NULL, NULL, NULL, ?)")
    except Exception as e:  # the original error matters more
        warnings.warn(f"could not log the failed refresh: {e}", stacklevel=3)
