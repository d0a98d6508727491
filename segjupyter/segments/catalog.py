"""The segment catalog of a workspace: ``ws.segments`` (DESIGN.md section 6).

>>> ws.segments.save('spend(last 12 months) >= 500', name="big_spenders")
>>> ws.segments.refresh_all()
>>> ws.segments.list()
>>> ws.segments.members("big_spenders").head()

Saved segments are *dynamic* (re-evaluated by every refresh; members enter and leave),
*static* (evaluated once, then locked) or inactive (skipped by ``refresh_all``). Every write
is one short transaction of the workspace's catalog; several processes can share it.
"""

from __future__ import annotations

import json
import re

import pandas as pd

from ..errors import CatalogError
from ..rules import model
from ..rules.segment import Segment
from . import history as _history
from . import refresh as _refresh
from .evaluate import key_type
from .records import KINDS, TAG_KIND, TAG_PREFIX, SegmentRecord, load_records
from .rewrite import params_to_json, rename_refs
from .store import ensure_schema, next_ids
from .triggers import EVENTS, Triggers

_NAME_MAX = 200


class Catalog:
    """Saved segments of one workspace. Get it as ``ws.segments``."""

    def __init__(self, workspace):
        self.ws = workspace
        self.triggers = Triggers()
        ensure_schema(workspace.storage)

    # -- reading ---------------------------------------------------------------------------
    def _records(self) -> dict[str, SegmentRecord]:
        with self.ws.storage.read(catalog=True) as con:
            return load_records(con)

    def _record(self, name: str, records=None) -> SegmentRecord:
        records = self._records() if records is None else records
        r = records.get(name)
        if r is None:
            raise _refresh.unknown_segment(name, records)
        return r

    def names(self) -> list[str]:
        """Names of the saved segments (customer tags excluded), oldest first."""
        return [n for n, r in self._records().items() if r.kind != TAG_KIND]

    def __contains__(self, name) -> bool:
        return name in self._records()

    def __iter__(self):
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def info(self, name: str) -> SegmentRecord:
        """The stored record of ``name``: definition, kind, state of the last refresh."""
        return self._record(name)

    def get(self, name: str) -> Segment:
        """The saved segment as a :class:`~segjupyter.rules.segment.Segment` (named), to
        evaluate as of any date, inspect or combine."""
        r = self._record(name)
        return Segment(self.ws, r.tree, name=r.name, params=r.params)

    # -- saving ----------------------------------------------------------------------------
    def _segment(self, definition, name, params) -> Segment:
        seg = self.ws.segment(definition, name=name, params=params)
        missing = sorted(model.params_of(seg.tree) - set(seg.params))
        if missing:
            raise CatalogError(f"parameter :{missing[0]} has no value; pass it with "
                               f"params={{{missing[0]!r}: ...}} to save the segment")
        seg.validate()
        return seg

    def save(self, segment, name: str | None = None, kind: str = "dynamic", active: bool = True,
             description: str = "", tags=(), *, params: dict | None = None,
             refresh: bool = False) -> SegmentRecord:
        """Save a segment (a :class:`Segment`, ``%%segment`` text, a rule tree or its JSON)
        under ``name`` and return its record.

        ``kind="dynamic"`` is re-evaluated by every refresh; ``"static"`` is evaluated once
        (its first refresh) and then locked. ``tags`` label the segment (for your own
        filing). Nothing is evaluated until a refresh, unless ``refresh=True``.

        >>> ws.segments.save('city = "Madrid" and subscribed', name="madrid_subs")
        """
        name = _check_name(name if name is not None else getattr(segment, "name", None))
        if kind not in KINDS:
            raise CatalogError(f"kind must be 'dynamic' or 'static', not {kind!r}")
        seg = self._segment(segment, name, params)
        now = _refresh.wall_now(self.ws)
        with self.ws.storage.write() as con:
            existing = con.execute("SELECT id FROM catalog.segments WHERE name = ?",
                                   [name]).fetchone()
            if existing:
                raise CatalogError(f"a segment named {name!r} already exists (id {existing[0]}); "
                                   "use ws.segments.update() to change it, or another name")
            sid = next_ids(con, "segment")
            con.execute(
                "INSERT INTO catalog.segments (id, name, description, rule_json, params_json, "
                "kind, active, labels_json, revision, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                [sid, name, description or "", model.to_json(seg.tree),
                 params_to_json(seg.params), kind, bool(active), _labels(tags), now, now])
        if refresh:
            self.refresh(name)
        return self.info(name)

    def update(self, name: str, definition=None, *, params: dict | None = None,
               description: str | None = None, tags=None) -> SegmentRecord:
        """Change the rule (and/or description, tags) of a saved segment, keeping its id,
        members and history; the next refresh applies the new rule. A locked static segment
        cannot change its rule (duplicate it instead)."""
        r = self._record(name)
        if r.kind == TAG_KIND:
            raise CatalogError(f"{name!r} holds customer tags; it has no rule to update")
        new_tree, new_params = r.tree, r.params
        if definition is not None or params is not None:
            seg = self._segment(r.tree if definition is None else definition, name,
                                {**(r.params if definition is None else {}), **(params or {})})
            new_tree, new_params = seg.tree, seg.params
            if r.locked and (new_tree, new_params) != (r.tree, r.params):
                raise CatalogError(f"static segment {name!r} is locked (evaluated as of "
                                   f"{r.last_as_of:%Y-%m-%d}); duplicate it to change the rule")
            graph = {n: x.uses for n, x in self._records().items()}
            graph[name] = model.segment_refs(new_tree)
            _refresh.check_cycles(graph)
        changed = (new_tree, new_params) != (r.tree, r.params)
        with self.ws.storage.write() as con:
            con.execute(
                "UPDATE catalog.segments SET rule_json = ?, params_json = ?, description = ?, "
                "labels_json = ?, revision = revision + ?, updated_at = ? WHERE id = ?",
                [model.to_json(new_tree), params_to_json(new_params),
                 r.description if description is None else description,
                 _labels(r.labels if tags is None else tags), int(changed),
                 _refresh.wall_now(self.ws), r.id])
        return self.info(name)

    def rename(self, name: str, new_name: str) -> SegmentRecord:
        """Rename a segment; segments that use it (``in_segment``) are rewritten to the new
        name. Id, members, history and triggers stay."""
        new_name = _check_name(new_name)
        records = self._records()
        r = self._record(name, records)
        if r.kind == TAG_KIND:
            raise CatalogError(f"{name!r} holds customer tags; tag names follow tag:field=value")
        if new_name in records:
            raise CatalogError(f"cannot rename {name!r}: a segment named {new_name!r} "
                               "already exists")
        users = [x for x in records.values() if name in x.uses]
        with self.ws.storage.write() as con:
            con.execute("UPDATE catalog.segments SET name = ?, updated_at = ? WHERE id = ?",
                        [new_name, _refresh.wall_now(self.ws), r.id])
            for u in users:
                con.execute("UPDATE catalog.segments SET rule_json = ? WHERE id = ?",
                            [model.to_json(rename_refs(u.tree, name, new_name)), u.id])
        return self.info(new_name)

    def duplicate(self, name: str, new_name: str, kind: str | None = None) -> SegmentRecord:
        """A copy under ``new_name`` (same rule, description, tags; active). With
        ``kind="static"`` the copy of an evaluated segment freezes its current members: it is
        born locked, with the same members."""
        new_name = _check_name(new_name)
        records = self._records()
        r = self._record(name, records)
        kind = kind or (r.kind if r.kind in KINDS else "static")
        if kind not in KINDS:
            raise CatalogError(f"kind must be 'dynamic' or 'static', not {kind!r}")
        if new_name in records:
            raise CatalogError(f"a segment named {new_name!r} already exists")
        freeze = kind == "static" and r.evaluated
        now = _refresh.wall_now(self.ws)
        with self.ws.storage.write() as con:
            if con.execute("SELECT count(*) FROM catalog.segments WHERE name = ?",
                           [new_name]).fetchone()[0]:
                raise CatalogError(f"a segment named {new_name!r} already exists")
            sid = next_ids(con, "segment")
            con.execute(
                "INSERT INTO catalog.segments (id, name, description, rule_json, params_json, "
                "kind, active, labels_json, revision, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, true, ?, 1, ?, ?)",
                [sid, new_name, r.description, model.to_json(r.tree), params_to_json(r.params),
                 kind, _labels(r.labels), now, now])
            if freeze:
                run_id = next_ids(con, "run")
                batch = next_ids(con, "batch")
                con.execute("INSERT INTO catalog.segment_members SELECT ?, customer_id, ?, ? "
                            "FROM catalog.segment_members WHERE segment_id = ?",
                            [sid, r.last_as_of, run_id, r.id])
                con.execute("INSERT INTO catalog.membership_events SELECT ?, customer_id, "
                            "'enter', ?, ?, ? FROM catalog.segment_members WHERE segment_id = ?",
                            [sid, r.last_as_of, run_id, f"frozen copy of {name!r}", sid])
                n, sub = r.customers, r.subscribed
                con.execute("INSERT INTO catalog.refresh_runs VALUES (?, ?, ?, ?, 'duplicate', "
                            "?, ?, 0, ?, ?, 0, ?, NULL)",
                            [run_id, batch, sid, new_name, r.last_as_of, now, n, n, sub])
                con.execute("INSERT INTO catalog.size_history VALUES (?, ?, ?, ?, 'refresh', ?)",
                            [sid, r.last_as_of, n, sub, now])
                con.execute("UPDATE catalog.segments SET last_run_id = ?, last_refresh_at = ?, "
                            "last_as_of = ?, customers = ?, subscribed = ? WHERE id = ?",
                            [run_id, now, r.last_as_of, n, sub, sid])
        return self.info(new_name)

    def delete(self, name: str) -> None:
        """Delete a segment with its members, events and size history (its snapshots stay).
        Refused while another saved segment uses it."""
        records = self._records()
        r = self._record(name, records)
        users = sorted(x.name for x in records.values() if name in x.uses)
        if users:
            raise CatalogError(f"cannot delete {name!r}: segment(s) {', '.join(users)} use it "
                               "(in_segment); change or delete them first")
        with self.ws.storage.write() as con:
            for table in ("segment_members", "membership_events", "size_history"):
                con.execute(f"DELETE FROM catalog.{table} WHERE segment_id = ?", [r.id])
            con.execute("DELETE FROM catalog.segments WHERE id = ?", [r.id])
        self.triggers.remove(r.id)

    def _set_active(self, name: str, active: bool) -> SegmentRecord:
        r = self._record(name)
        with self.ws.storage.write() as con:
            con.execute("UPDATE catalog.segments SET active = ?, updated_at = ? WHERE id = ?",
                        [active, _refresh.wall_now(self.ws), r.id])
        return self.info(name)

    def activate(self, name: str) -> SegmentRecord:
        """Include the segment in ``refresh_all`` again."""
        return self._set_active(name, True)

    def deactivate(self, name: str) -> SegmentRecord:
        """Skip the segment in refreshes; its members stay as they are."""
        return self._set_active(name, False)

    # -- refreshing ------------------------------------------------------------------------
    def refresh(self, name: str, as_of=None, progress=False, engine=None,
                incremental: bool = True) -> dict:
        """Re-evaluate one segment as of ``as_of`` (default: the workspace's now) and store
        its members; returns the run (customers, entered, left, ...). Segments it uses are
        read as stored. Raises :class:`CatalogError` if the evaluation fails. ``engine``
        (a SparkEngine, PostgresEngine or SparkSession) evaluates it there instead of DuckDB
        (``docs/scale-out.md``). ``incremental=False`` re-evaluates every customer, not only
        those whose answer can have changed since the last refresh (same result)."""
        records = self._records()
        targets = _refresh.plan(records, [name])
        out = _refresh.run(self, targets, records, as_of, progress, engine=engine,
                           incremental=incremental)
        row = out.iloc[0].to_dict()
        if row["error"]:
            raise CatalogError(f"refresh of {name!r} failed: {row['error']}")
        return row

    def refresh_all(self, as_of=None, progress=True, names: list[str] | None = None,
                    engine=None, incremental: bool = True) -> pd.DataFrame:
        """Refresh every due segment (active dynamic ones, and static ones never evaluated;
        or the segments ``names``) in dependency order, each level in one shared pass over
        the data, all in one transaction. Returns one row per segment (customers, entered,
        left, error); a segment that fails is reported there, the others are still stored.

        ``progress``: True (a bar in a notebook, lines on stderr elsewhere), False, "lines"
        or a callable ``fn(done, total, message)``. ``engine`` evaluates the segments on
        Spark or PostgreSQL (``docs/scale-out.md``); the members are stored here as usual.

        A segment refreshed before, on the same data and rule, is re-evaluated only for the
        customers whose answer can have changed since (a daily run looks at one day of
        rows, ``docs/catalog.md``); ``incremental=False`` re-evaluates every customer."""
        records = self._records()
        targets = _refresh.plan(records, None if names is None else list(names))
        if not targets:
            return pd.DataFrame(columns=_refresh.RESULT_COLUMNS)
        return _refresh.run(self, targets, records, as_of, progress, engine=engine,
                            incremental=incremental)

    def queue_refresh(self, name: str | list[str], as_of=None) -> dict | list[dict]:
        """Refresh in the background: queue ``name`` (or a list of names) and return the
        request(s) at once; a worker process runs them (``docs/reliability.md``). Follow
        them with :meth:`queue` / :meth:`wait`, or ``list()``'s ``refresh_state``."""
        from .queue import enqueue
        from .worker import ensure_worker
        out = enqueue(self, [name] if isinstance(name, str) else list(name), as_of)
        ensure_worker(self.ws)
        return out[0] if isinstance(name, str) else out

    def queue(self, name: str | None = None, limit: int = 100) -> pd.DataFrame:
        """Background refresh requests, newest first: status (in queue / running / done /
        failed), times, result or error."""
        from . import queue as _queue
        return _queue.frame(_queue.requests(self, name=name, limit=limit))

    def wait(self, request, timeout: float = 300.0, poll: float = 0.2) -> dict:
        """Block until a queued request (its dict or id) is done or failed; returns it."""
        from .watch import wait_for
        return wait_for(self, request, timeout, poll)

    def runs(self, name: str | None = None, limit: int = 100) -> pd.DataFrame:
        """The refresh log, newest first (of one segment when ``name`` is given)."""
        return _history.runs(self, name, limit)

    # -- members and history ---------------------------------------------------------------
    def members(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Stored members (as of the last refresh): ``customer_id``, ``entered_at``, then
        customer fields (``columns``; default all), ordered by customer id."""
        r = self._record(name)
        fields = self.ws.fields
        cols = [c for c in (columns if columns is not None else fields.customer)
                if c != "customer_id"]
        for c in cols:
            fields.customer_field(c)
        proj = "".join(f', c."{fields.customer[c].column}"' for c in cols)
        with self.ws.storage.read(catalog=True) as con:
            return con.execute(
                f"SELECT TRY_CAST(m.customer_id AS {key_type(self.ws)}) AS customer_id, "
                f"m.entered_at{proj} FROM catalog.segment_members m LEFT JOIN customers c "
                "ON CAST(c.customer_id AS VARCHAR) = m.customer_id WHERE m.segment_id = ? "
                "ORDER BY 1", [r.id]).df()

    def member_ids(self, name: str) -> list:
        """Stored member ids, sorted."""
        return self.members(name, columns=[])["customer_id"].tolist()

    def members_sql(self, name: str) -> str:
        """Plain SQL listing the stored members of ``name`` (for ``ws.sql`` / ``%%sql``)."""
        self._record(name)
        return ("SELECT customer_id FROM catalog.segment_membership WHERE segment = "
                + "'" + name.replace("'", "''") + "'")

    def history(self, name: str) -> pd.DataFrame:
        """Size over time: one row per ``as_of`` (refreshes and backfills)."""
        return _history.history(self, name)

    def backfill(self, name: str, start, end, freq: str = "W", progress=True) -> pd.DataFrame:
        """Fill the size history for dates from ``start`` to ``end`` (pandas ``freq``:
        ``"D"``, ``"W"``, ``"MS"``, ...) by evaluating the rule as of each date."""
        return _history.backfill(self, name, start, end, freq, progress)

    def events(self, name: str) -> pd.DataFrame:
        """Entries and exits of a segment, newest first, with their reason."""
        return _history.events(self, name)

    def customer_history(self, customer_id) -> pd.DataFrame:
        """Every segment entry and exit of one customer, newest first."""
        return _history.customer_history(self, customer_id)

    # -- triggers --------------------------------------------------------------------------
    def on_enter(self, name: str, callback) -> None:
        """Call ``callback(customers_df)`` after each refresh in which customers entered
        ``name`` (in this process). A failing callback is recorded, not raised."""
        self._on("enter", name, callback)

    def on_leave(self, name: str, callback) -> None:
        """Like :meth:`on_enter`, for customers who left."""
        self._on("leave", name, callback)

    def _on(self, event: str, name: str, callback) -> None:
        if not callable(callback):
            raise CatalogError(f"a trigger must be callable, not {type(callback).__name__}")
        self.triggers.add(self._record(name).id, event, callback)

    def remove_triggers(self, name: str, event: str | None = None, callback=None) -> int:
        """Unregister triggers of ``name`` (all, one event's, or one callback)."""
        if event is not None and event not in EVENTS:
            raise CatalogError(f"event must be 'enter' or 'leave', not {event!r}")
        return self.triggers.remove(self._record(name).id, event, callback)

    def trigger_errors(self, name: str | None = None) -> pd.DataFrame:
        """Failures of trigger callbacks, newest first."""
        where, args = ("WHERE segment = ?", [name]) if name else ("", [])
        with self.ws.storage.read(catalog=True) as con:
            return con.execute(f"SELECT * FROM catalog.trigger_errors {where} "
                               "ORDER BY failed_at DESC, run_id DESC", args).df()

    # -- snapshots, exports, actions -------------------------------------------------------
    def snapshot(self, name: str, note: str = "") -> dict:
        """Freeze the current members with the fixed export fields; returns the snapshot's
        id, size and as_of. A snapshot never changes afterwards."""
        from .snapshots import take_snapshot
        return take_snapshot(self, name, note)

    def snapshots(self, name: str | None = None) -> pd.DataFrame:
        """Snapshots taken (of one segment), newest first."""
        from .snapshots import list_snapshots
        return list_snapshots(self, name)

    def snapshot_members(self, snapshot_id: int) -> pd.DataFrame:
        """The frozen rows of one snapshot."""
        from .snapshots import snapshot_rows
        return snapshot_rows(self, snapshot_id)

    def export_csv(self, name: str, path, columns: list[str] | None = None) -> int:
        """Write the current members of ``name`` to a CSV file (UTF-8, header, ``,``,
        ``\\n``, ISO dates, money with 2 decimals); returns the number of rows. Default
        columns: the snapshot fields."""
        from .exports import export_members_csv
        return export_members_csv(self, name, path, columns)

    def export_snapshot_csv(self, snapshot_id: int, path) -> int:
        """Write a snapshot to CSV in the fixed export format; returns the number of rows."""
        from .exports import export_snapshot_csv
        return export_snapshot_csv(self, snapshot_id, path)

    def campaign_list(self, name: str) -> pd.DataFrame:
        """Members who are subscribed and have an email: customer_id, email, names."""
        from .exports import campaign_list
        return campaign_list(self, name)

    def tag_members(self, name: str, tag_field: str, value) -> int:
        """Give every member of ``name`` the customer tag ``tag_field = value`` (replacing
        their previous value of that tag); later rules use it as
        ``in_segment("tag:<field>=<value>")``. Returns the number of customers tagged."""
        from .tags import tag_members
        return tag_members(self, name, tag_field, value)

    def customer_tags(self, tag_field: str | None = None) -> pd.DataFrame:
        """Customer tags: customer_id, field, value, tagged_at."""
        from .tags import customer_tags
        return customer_tags(self, tag_field)

    def compact(self) -> dict:
        """Rewrite the catalog file without the space deleted segments, members and history
        left (DuckDB never shrinks a file; a large catalog is copied whole by every bulk
        write). Readers are not kept waiting. Returns ``{"before": bytes, "after": bytes}``.

        >>> ws.segments.compact()
        {'before': 198455296, 'after': 67645440}
        """
        before, after = self.ws.storage.compact_catalog()
        return {"before": before, "after": after}

    def list(self, include_tags: bool = False) -> pd.DataFrame:
        """One row per saved segment: id, name, kind, status, last refresh, time since it,
        customers, subscribed, size history (for sparklines), description, and the state
        of the newest background refresh (``refresh_state``, ``refresh_error``)."""
        from .queue import with_queue_state
        return with_queue_state(self, _history.segment_list(self, include_tags))

    # -- definitions and templates ---------------------------------------------------------
    def export_definitions(self, path, names: list[str] | None = None) -> int:
        """Write segment definitions to a YAML (``.yaml``/``.yml``) or JSON file, to keep
        them in git; returns how many were written."""
        from .definitions import export_definitions
        return export_definitions(self, path, names)

    def import_definitions(self, path, on_conflict: str = "update") -> pd.DataFrame:
        """Create (or update: ``on_conflict="update" | "skip" | "error"``) segments from a
        definitions file, all in one transaction; returns what happened to each."""
        from .definitions import import_definitions
        return import_definitions(self, path, on_conflict)

    def templates(self) -> pd.DataFrame:
        """The gallery of ready definitions and their parameters."""
        from .templates import gallery
        return gallery()

    def from_template(self, template: str, **params) -> Segment:
        """A :class:`Segment` built from a template, e.g.
        ``ws.segments.from_template("high_spenders", min_spend=1000)``."""
        from .templates import build
        return build(self.ws, template, **params)

    # -- display ---------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        df = self.list()
        if df.empty:
            return "<div class='sj-catalog'>No saved segments yet: ws.segments.save(...)</div>"
        show = df[["id", "name", "kind", "status", "customers", "subscribed", "since_refresh"]]
        return f"<div class='sj-catalog'>{show.to_html(index=False, escape=True)}</div>"

    def __repr__(self) -> str:
        names = self.names()
        return f"<segment catalog: {len(names)} segments{': ' if names else ''}" \
               f"{', '.join(names[:10])}{' …' if len(names) > 10 else ''}>"


def _check_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise CatalogError("a saved segment needs a name: save(segment, name='...')")
    if name != name.strip() or len(name) > _NAME_MAX or re.search(r"[\x00-\x1f]", name):
        raise CatalogError(f"segment name {name!r} is not usable: no leading/trailing spaces, "
                           f"no control characters, at most {_NAME_MAX} characters")
    if name.startswith(TAG_PREFIX):
        raise CatalogError(f"names starting with {TAG_PREFIX!r} are reserved for customer tags")
    return name


def _labels(tags) -> str:
    if isinstance(tags, str):
        tags = [tags]
    return json.dumps([str(t) for t in (tags or ())])


__all__ = ["Catalog", "SegmentRecord"]
