"""The read side of a refresh: evaluate many segments in one shared pass, diff them against
the stored members and name the reasons of each entry and exit.

Everything lands in temporary tables of this process's connection (``temp``), so the write
that follows is a handful of set-based statements and the catalog stays locked only briefly.
Per run ``<t>`` (a unique suffix):

* ``_sj_old_<t>(segment_id, customer_id)`` — stored members of the segments refreshed and of
  the segments they use (copied in one short catalog read);
* ``_sj_eval_<t>_<level>(customer_id, _sub, f0, f1, ...)`` — one row per customer, one
  column per segment of the level: ``f<i>`` has bit ``k`` set when the segment's ``k``-th
  top-level condition holds;
* ``_sj_state_<t>(segment_id, customer_id, member, flags, sub)`` — the new members;
* ``_sj_chg_<t>(segment_id, customer_id, event, flags, prev_flags)`` and
  ``_sj_ev_<t>(segment_id, customer_id, event, reason)`` — the entries and exits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
from sqlglot import exp

from ..engines.base import EngineError
from ..errors import SegjupyterError
from ..rules.model import Group
from ..rules.segment import Segment, members_ref
from .rewrite import describe, prefix_params, top_level
from .store import insert_rows


@dataclass
class Target:
    """One segment being refreshed."""

    id: int
    name: str
    kind: str
    tree: Group
    params: dict
    revision: int
    last_run_id: int | None
    last_as_of: dt.datetime | None
    deps: set = field(default_factory=set)
    level: int = 0
    shape: str = "one"
    conds: list = field(default_factory=list)
    texts: list = field(default_factory=list)
    error: str | None = None
    evaluated: bool = False
    run_id: int | None = None
    customers: int | None = None    # stored counts of the last refresh
    subscribed: int | None = None
    group: int | None = None        # incremental: its group of affected customers
    restricted: str | None = None   # incremental: the table of their evaluation

    @property
    def incremental(self) -> bool:
        return self.group is not None

    @property
    def full_mask(self) -> int:
        return (1 << len(self.conds)) - 1

    @property
    def first(self) -> bool:
        return self.last_run_id is None

    def member_sql(self, col: str) -> str:
        if self.shape == "or":
            return f"({col} <> 0)"
        return f"({col} = {self.full_mask})"


def key_type(ws) -> str:
    f = ws.fields.customer.get("customer_id")
    return f.sql_type if f is not None else "VARCHAR"


class Evaluation:
    """Temporary tables and evaluation steps of one refresh run."""

    def __init__(self, ws, tag: str, as_of: dt.datetime, engine=None):
        self.ws = ws
        self.as_of = as_of
        self.engine = engine  # None: DuckDB; else an engines.Engine evaluating the levels
        self.old = f"_sj_old_{tag}"
        self.state = f"_sj_state_{tag}"
        self.chg = f"_sj_chg_{tag}"
        self.ev = f"_sj_ev_{tag}"
        self._eval = f"_sj_eval_{tag}"
        self._evals: list[tuple[str, dict[int, str]]] = []  # (table, {segment id: column})
        self._prev = f"_sj_prev_{tag}"
        self.runs = f"_sj_runs_{tag}"
        self.texts = f"_sj_texts_{tag}"
        self.affected = f"_sj_aff_{tag}"  # (customer_id, g): customers of group g
        self.tables = [self.old, self.state, self.chg, self.ev, self._eval, self._prev,
                       self.runs, self.texts, self.affected]
        self.data_version: str | None = None
        self.has_sub = "subscribed" in ws.fields.customer
        self.key = key_type(ws)

    # -- stored members --------------------------------------------------------------------
    def plan_incremental(self, con, targets: list[Target], referenced: set[str]) -> int | None:
        """Mark the targets that can be refreshed from their stored members
        (``incremental.py``) and collect, per group of them, the customers whose answer can
        have changed in a temporary table (inside a catalog read). Returns how many
        customers (all groups), or None if no target qualifies."""
        from .incremental import affected_sql, incremental_groups, stored_basis
        if self.engine is not None:
            return None
        cands = [t for t in targets if not t.first and t.last_as_of is not None
                 and t.error is None and t.customers is not None and not t.deps
                 and t.name not in referenced]
        basis = stored_basis(con, [t.id for t in cands])
        cands = [t for t in cands
                 if basis.get(t.id) == (t.last_run_id, t.revision, self.data_version)]
        groups = incremental_groups(self.ws.fields, cands, self.as_of)
        if not groups:
            return None
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.affected} AS "
                    f"{affected_sql([slices for _group, slices in groups], self.key)}")
        for g, (group, _slices) in enumerate(groups):
            for t in group:
                t.group = g
        return con.execute(f"SELECT count(DISTINCT customer_id) FROM {self.affected}"
                           ).fetchone()[0]

    def affected_of(self, group: int) -> str:
        """``SELECT customer_id`` of the customers an incremental group evaluates."""
        return f"SELECT customer_id FROM temp.main.{self.affected} WHERE g = {int(group)}"

    def copy_old(self, con, segment_ids: list[int], targets: list[Target] = ()) -> None:
        """Copy stored members of ``segment_ids`` (inside a catalog read); of an incremental
        target, only those of the affected customers."""
        part = [(int(t.id), t.group) for t in targets if t.incremental]
        whole = sorted(set(segment_ids) - {sid for sid, _g in part})
        query = ("SELECT segment_id, customer_id FROM catalog.segment_members "
                 "WHERE list_contains(?, segment_id)")
        params: list = [whole]
        if part:
            # the members of an incremental target among its group's customers: one hash
            # join of the stored members of those targets with the affected customers on
            # (customer, group), the group a CASE of the segment (joining a table of the
            # targets' groups instead makes DuckDB hash their product with the customers)
            group_of = " ".join(f"WHEN {sid} THEN {int(g)}" for sid, g in part)
            query += (" UNION ALL SELECT m.segment_id, m.customer_id "
                      "FROM catalog.segment_members m JOIN (SELECT CAST(customer_id AS "
                      f"VARCHAR) AS customer_id, g FROM {self.affected}) a "
                      f"ON a.customer_id = m.customer_id "
                      f"AND a.g = CASE m.segment_id {group_of} END "
                      "WHERE list_contains(?, m.segment_id)")
            params.append([sid for sid, _g in part])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.old} AS {query}", params)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.state} (segment_id INTEGER, "
                    "customer_id VARCHAR, member BOOLEAN, flags BIGINT, sub BOOLEAN)")

    # -- the shared pass -------------------------------------------------------------------
    def _ref(self, con, ids: dict[str, int], fresh: set[str]):
        key = self.key

        def segment_ref(name: str) -> exp.Expression:
            sid = ids[name]
            table, extra = (self.state, " AND member") if name in fresh else (self.old, "")
            text = (f"SELECT CAST(customer_id AS {key}) AS customer_id FROM temp.main.{table} "
                    f"WHERE segment_id = {int(sid)}{extra}")
            if self.engine is None:
                return _parse(text)
            return members_ref(con.execute(text).df(), key, self.engine)
        return segment_ref

    def _compiler(self, con, as_of, ids, fresh):
        c = Segment(self.ws, Group())._compiler(as_of, con=con, engine=self.engine)
        c.segment_ref = self._ref(con, ids, fresh)
        return c

    def _bit(self, pred: exp.Expression) -> exp.Expression:
        """0 or 1 as BIGINT (PostgreSQL casts no boolean to BIGINT: a CASE on engines)."""
        if self.engine is None:
            return exp.cast(pred, "BIGINT")
        return exp.cast(exp.Case(ifs=[exp.If(this=pred, true=exp.Literal.number(1))],
                                 default=exp.Literal.number(0)), "BIGINT")

    def _create(self, con, table: str, query: exp.Expression, values: dict) -> None:
        """``CREATE TEMP TABLE table AS query``: run by DuckDB, or by the engine and its
        rows brought into DuckDB (``customer_id`` as text, the rest as they come)."""
        if self.engine is None:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                        f"{query.sql(dialect='duckdb')}", values)
            return
        frame = self.engine.frame(query)
        name = f"{table}_df"
        con.register(name, frame)
        try:
            cols = ", ".join("CAST(customer_id AS VARCHAR) AS customer_id" if c == "customer_id"
                             else f'"{c}"' for c in frame.columns)
            con.execute(f'CREATE OR REPLACE TEMP TABLE {table} AS SELECT {cols} FROM "{name}"')
        finally:
            con.unregister(name)

    def evaluate_level(self, con, targets: list[Target], ids: dict[str, int],
                       fresh: set[str]) -> None:
        """Evaluate ``targets`` in one query (and the incremental ones in another, over the
        affected customers); a target that fails is marked, the others go on (a failing
        shared query is retried one segment at a time)."""
        full = [t for t in targets if not t.incremental]
        if full:
            self._evaluate(con, full, ids, fresh, None)
        groups: dict[int, list[Target]] = {}
        for t in targets:
            if t.incremental:
                groups.setdefault(t.group, []).append(t)
        for g, group in sorted(groups.items()):
            self._evaluate(con, group, ids, fresh, self.affected_of(g))

    def _evaluate(self, con, targets: list[Target], ids: dict[str, int], fresh: set[str],
                  restrict: str | None) -> None:
        """One query for ``targets``; ``restrict``: ``SELECT customer_id`` of the only
        customers to evaluate."""
        c = self._compiler(con, self.as_of, ids, fresh)
        projs = [exp.alias_(exp.cast(c.customer_id(), "VARCHAR"), "customer_id")]
        if self.has_sub:
            projs.append(exp.alias_(exp.column("subscribed", table="c", quoted=True), "_sub"))
        ok: list[Target] = []
        for i, t in enumerate(targets):
            try:
                tree, params = prefix_params(t.tree, t.params, f"s{t.id}__")
                c.params.update(params)
                t.shape, t.conds = top_level(tree)
                preds = [c.predicate(x) for x in t.conds]
            except SegjupyterError as e:
                t.error = str(e)
                continue
            flags = None
            for k, p in enumerate(preds):
                bit = exp.Mul(this=self._bit(p), expression=exp.Literal.number(1 << k))
                flags = bit if flags is None else exp.Add(this=flags, expression=bit)
            projs.append(exp.alias_(flags, f"f{i}"))
            ok.append(t)
        if not ok:
            return
        where = None
        if restrict:
            c.only = _parse(restrict)
            where = _parse(f"SELECT 1 WHERE c.customer_id IN ({restrict})").args["where"].this
        query = c.query(projs, where)
        text, values = c.render(query)
        used = {p.name for p in query.find_all(exp.Placeholder)}
        values = {k: v for k, v in values.items() if k in used}
        table = f"{self._eval}_{len(self._evals)}"
        try:
            self._create(con, table, query, values)
        except (duckdb.Error, EngineError) as e:
            if len(ok) > 1:
                for t in ok:
                    self._evaluate(con, [t], ids, fresh, restrict)
                return
            ok[0].error = f"evaluation failed: {str(e).strip().splitlines()[0]}"
            return
        sub = "_sub" if self.has_sub else "NULL"
        cols = {t.id: f"f{i}" for i, t in enumerate(targets) if t in ok}
        self._evals.append((table, cols))
        self.tables.append(table)
        for t in ok:
            t.restricted = table if restrict else None
        # the new members; the flags of customers who left are read from the table later
        con.execute(f"INSERT INTO {self.state} " + " UNION ALL ".join(
            f"SELECT {int(t.id)}, customer_id, true, {cols[t.id]}, {sub} FROM {table} "
            f"WHERE {t.member_sql(cols[t.id])}" for t in ok))
        for t in ok:
            t.texts = [describe(x) for x in top_level(t.tree)[1]]
            t.evaluated = True

    # -- entries, exits and their reasons --------------------------------------------------
    def changes(self, con, targets: list[Target]) -> None:
        """Fill the change table: who entered and who left each evaluated target, with the
        top-level flags now and, where it follows from the rule, before."""
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.chg} (segment_id INTEGER, "
                    "customer_id VARCHAR, event VARCHAR, flags BIGINT, prev_flags BIGINT)")
        if not targets:
            return
        # the flags before are known without evaluating when only one state allows the
        # move: leaving an "and" (all held), entering an "or" (none held)
        known = ", ".join(
            f"({int(t.id)}, {'0' if t.shape in ('or', 'one') else 'NULL'}, "
            f"{t.full_mask if t.shape in ('and', 'one') else 'NULL'})" for t in targets)
        shapes = f"(VALUES {known}) AS k(segment_id, enter_prev, leave_prev)"
        # one full outer join of the new and the stored members: a member on one side only
        # entered (new) or left (stored); old also holds members of segments only used
        con.execute(
            f"INSERT INTO {self.chg} SELECT k.segment_id, coalesce(s.customer_id, "
            "o.customer_id), CASE WHEN o.customer_id IS NULL THEN 'enter' ELSE 'leave' END, "
            "s.flags, CAST(CASE WHEN o.customer_id IS NULL THEN k.enter_prev "
            f"ELSE k.leave_prev END AS BIGINT) FROM (SELECT * FROM {self.state} WHERE member) s "
            f"FULL JOIN {self.old} o ON o.segment_id = s.segment_id "
            f"AND o.customer_id = s.customer_id JOIN {shapes} "
            "ON k.segment_id = coalesce(s.segment_id, o.segment_id) "
            "WHERE s.customer_id IS NULL OR o.customer_id IS NULL")
        # flags now of those who left (NULL stays for customers no longer in the data)
        for table, cols in self._evals:
            case = " ".join(f"WHEN {int(sid)} THEN e.{col}" for sid, col in cols.items())
            con.execute(
                f"UPDATE {self.chg} SET flags = CASE {self.chg}.segment_id {case} END "
                f"FROM {table} e WHERE e.customer_id = {self.chg}.customer_id "
                f"AND {self.chg}.event = 'leave' AND list_contains(?, {self.chg}.segment_id)",
                [list(cols)])

    def previous_flags(self, con, targets: list[Target], ids: dict[str, int]) -> None:
        """Evaluate the top-level conditions as of each target's previous refresh, for the
        customers whose move does not tell which condition changed (entering an ``and``,
        leaving an ``or``). One pass per distinct previous ``as_of``, restricted to them."""
        need = [t for t in targets if t.shape in ("and", "or") and not t.first
                and t.last_as_of is not None]
        if not need:
            return
        counts = dict(con.execute(
            f"SELECT segment_id, count(*) FROM {self.chg} WHERE prev_flags IS NULL "
            "AND flags IS NOT NULL GROUP BY 1").fetchall())
        need = [t for t in need if counts.get(t.id)]
        by_as_of: dict[dt.datetime, list[Target]] = {}
        for t in need:
            by_as_of.setdefault(t.last_as_of, []).append(t)
        for prev_as_of, group in by_as_of.items():
            try:
                c = self._compiler(con, prev_as_of, ids, set())
                projs = [exp.alias_(exp.cast(c.customer_id(), "VARCHAR"), "customer_id")]
                for i, t in enumerate(group):
                    tree, params = prefix_params(t.tree, t.params, f"s{t.id}__")
                    c.params.update(params)
                    _, conds = top_level(tree)
                    for k, cond in enumerate(conds):
                        projs.append(exp.alias_(self._bit(c.predicate(cond)), f"f{i}_{k}"))
                seg_ids = ", ".join(str(int(t.id)) for t in group)
                who = (f"SELECT customer_id FROM temp.main.{self.chg} WHERE "
                       f"prev_flags IS NULL AND segment_id IN ({seg_ids})")
                if self.engine is None:
                    where = _parse(f"SELECT 1 WHERE CAST(c.customer_id AS VARCHAR) IN ({who})"
                                   ).args["where"].this
                    # the passes aggregate only those customers' rows, not everybody's
                    c.only = _parse(f"SELECT DISTINCT CAST(customer_id AS {self.key}) "
                                    f"FROM ({who})")
                else:  # the customers concerned, uploaded to the engine
                    ids_df = con.execute(f"SELECT DISTINCT TRY_CAST(customer_id AS {self.key}) "
                                         f"AS customer_id FROM ({who}) WHERE TRY_CAST("
                                         f"customer_id AS {self.key}) IS NOT NULL").df()
                    where = exp.In(this=c.customer_id(), query=exp.Subquery(
                        this=members_ref(ids_df, self.key, self.engine)))
                query = c.query(projs, where)
                _, values = c.render(query)
                used = {p.name for p in query.find_all(exp.Placeholder)}
                self._create(con, self._prev, query,
                             {k: v for k, v in values.items() if k in used})
            except (SegjupyterError, duckdb.Error):
                continue  # reasons stay unknown; the refresh itself is not affected
            for i, t in enumerate(group):
                bits = " + ".join(f"(f{i}_{k} << {k})" for k in range(len(t.conds)))
                con.execute(
                    f"UPDATE {self.chg} SET prev_flags = p.pf FROM "
                    f"(SELECT customer_id, {bits} AS pf FROM {self._prev}) p "
                    f"WHERE {self.chg}.customer_id = p.customer_id "
                    f"AND {self.chg}.segment_id = {int(t.id)} AND {self.chg}.prev_flags IS NULL")
            con.execute(f"DROP TABLE IF EXISTS {self._prev}")

    def events(self, con, targets: list[Target]) -> None:
        """The change table with a readable reason per row: the top-level conditions that
        became true (``now: ...``) and false (``no longer: ...``)."""
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.ev} (segment_id INTEGER, "
                    "customer_id VARCHAR, event VARCHAR, reason VARCHAR)")
        first = [int(t.id) for t in targets if t.first]
        if first:
            con.execute(f"INSERT INTO {self.ev} SELECT segment_id, customer_id, event, "
                        f"'first evaluation' FROM {self.chg} WHERE list_contains(?, segment_id)",
                        [first])
        texts = [(int(t.id), k, text) for t in targets if not t.first
                 for k, text in enumerate(t.texts)]
        if not texts:
            return
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.texts} (segment_id INTEGER, "
                    "bit BIGINT, text VARCHAR)")
        insert_rows(con, self.texts, [(sid, 1 << k, text) for sid, k, text in texts])
        became = "string_agg(t.text, '; ' ORDER BY t.bit) FILTER (WHERE {})"
        now = became.format("(c.flags & t.bit) <> 0 AND (c.prev_flags & t.bit) = 0")
        gone = became.format("(c.flags & t.bit) = 0 AND (c.prev_flags & t.bit) <> 0")
        con.execute(
            f"INSERT INTO {self.ev} SELECT c.segment_id, c.customer_id, c.event, "
            "CASE WHEN any_value(c.flags) IS NULL THEN 'no longer in the customer data' "
            "WHEN any_value(c.prev_flags) IS NULL THEN NULL "
            f"ELSE coalesce(nullif(concat_ws(' | ', 'now: ' || {now}, 'no longer: ' || {gone}), "
            "''), 'data changed') END "
            f"FROM {self.chg} c JOIN {self.texts} t ON t.segment_id = c.segment_id "
            "GROUP BY c.segment_id, c.customer_id, c.event")

    def summary(self, con, targets: list[Target] = ()) -> dict[int, dict]:
        """Per evaluated segment: customers, subscribed, entered, left. An incremental
        target's counts are its stored ones, less its affected old members, plus its
        affected new ones."""
        out: dict[int, dict] = {}
        part = {t.id: t for t in targets if t.incremental and t.evaluated}
        by_table: dict[str, list[int]] = {}
        for t in part.values():
            by_table.setdefault(t.restricted, []).append(int(t.id))
        for sid, n, sub in con.execute(
                f"SELECT segment_id, count(*) FILTER (WHERE member), "
                f"count(*) FILTER (WHERE member AND sub) FROM {self.state} GROUP BY 1").fetchall():
            out[sid] = {"customers": int(n), "subscribed": int(sub) if self.has_sub else None,
                        "entered": 0, "left": 0}
        for sid, event, n in con.execute(
                f"SELECT segment_id, event, count(*) FROM {self.chg} GROUP BY 1, 2").fetchall():
            out.setdefault(sid, {"customers": 0, "subscribed": 0 if self.has_sub else None,
                                 "entered": 0, "left": 0})
            out[sid]["entered" if event == "enter" else "left"] = int(n)
        if part:
            sub = "e._sub" if self.has_sub else "false"
            before = {}
            for table, sids in by_table.items():
                before.update({sid: (int(n), int(s)) for sid, n, s in con.execute(
                    f"SELECT o.segment_id, count(*), count(*) FILTER (WHERE {sub}) "
                    f"FROM {self.old} o LEFT JOIN {table} e "
                    "ON e.customer_id = o.customer_id WHERE list_contains(?, o.segment_id) "
                    "GROUP BY 1", [sids]).fetchall()})
            for sid, t in part.items():
                s = out.setdefault(sid, {"customers": 0, "subscribed": 0 if self.has_sub
                                         else None, "entered": 0, "left": 0})
                n_old, sub_old = before.get(sid, (0, 0))
                s["customers"] = t.customers - n_old + s["customers"]
                if self.has_sub and t.subscribed is not None:
                    s["subscribed"] = t.subscribed - sub_old + s["subscribed"]
        return out

    def drop(self, con) -> None:
        for t in self.tables:
            con.execute(f"DROP TABLE IF EXISTS temp.main.{t}")
        if self.engine is not None:
            self.engine.drop_ids()


def _parse(sql: str) -> exp.Expression:
    import sqlglot
    return sqlglot.parse_one(sql, read="duckdb")
