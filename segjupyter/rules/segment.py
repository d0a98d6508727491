"""The Segment object: a rule tree bound to a workspace, evaluated as of any instant."""

from __future__ import annotations

import html
import itertools
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import pandas as pd
import sqlglot
from sqlglot import exp

from ..errors import RuleValidationError, SegmentSyntaxError
from . import model
from .compile import Compiler
from .model import Group, canonical
from .nesting import check_tree
from .sandbox import run_sandboxed

#: Stored members of saved segments (written by the catalog, read by ``in_segment``).
SEGMENTS_TABLE = "catalog.segments"
MEMBERS_TABLE = "catalog.segment_members"

_ids = itertools.count()

#: compiled statements: (kind, tree, params, as_of) -> (field registry, SQL text, values)
_STATEMENTS: OrderedDict = OrderedDict()
_STATEMENTS_KEPT = 256


class Segment:
    """A set of customers defined by a rule tree.

    >>> seg = ws.segment('city = "Madrid" and spend(last 12 months) >= 500', name="madrid_vip")
    >>> seg.count(), seg.members().head()
    >>> (seg & ws.segment("subscribed")).sql(dialect="spark")
    """

    def __init__(self, workspace, tree: model.Node, name: str | None = None,
                 params: dict | None = None):
        self.workspace = workspace
        check_tree(tree)  # before anything recursive walks it
        self.tree: Group = canonical(tree)
        self.name = name
        self.params = dict(params or {})

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_any(cls, workspace, definition, name=None, params=None) -> "Segment":
        """From ``%%segment`` text, a JSON document (text or dict), a rule node or a
        Segment."""
        if isinstance(definition, Segment):
            return cls(workspace, definition.tree, name or definition.name,
                       {**definition.params, **(params or {})})
        if isinstance(definition, dict):
            return cls(workspace, model.from_json(definition), name, params)
        if isinstance(definition, str):
            stripped = definition.strip()
            if stripped.startswith("{"):
                return cls(workspace, model.from_json(stripped), name, params)
            from .dsl import parse
            tree = parse(definition, registry=workspace.fields, params=params)
            return cls(workspace, tree, name, params)
        return cls(workspace, definition, name, params)

    # -- views of the tree -----------------------------------------------------------------
    @property
    def text(self) -> str:
        """The rule in the ``%%segment`` language."""
        from .dsl import to_text
        return to_text(self.tree)

    def to_json(self) -> str:
        return model.to_json(self.tree)

    def with_params(self, **params) -> "Segment":
        return Segment(self.workspace, self.tree, self.name, {**self.params, **params})

    # -- set algebra -----------------------------------------------------------------------
    def _combine(self, other: "Segment", op: str, negate_other: bool = False) -> "Segment":
        if not isinstance(other, Segment):
            return NotImplemented  # so that `seg & 3` is a TypeError
        right = _negate(other.tree) if negate_other else other.tree
        return Segment(self.workspace, Group(op, (self.tree, right)), None,
                       {**self.params, **other.params})

    def __and__(self, other):
        return self._combine(other, "and")

    def __or__(self, other):
        return self._combine(other, "or")

    def __sub__(self, other):
        return self._combine(other, "and", negate_other=True)

    def __invert__(self):
        return Segment(self.workspace, _negate(self.tree), None, self.params)

    # -- compilation -----------------------------------------------------------------------
    def _compiler(self, as_of, con=None, inline=False, engine=None, dialect="duckdb"
                  ) -> Compiler:
        """A compiler for this segment; advanced SQL runs in the sandbox now and its ids go
        to a temp table on ``con``, dropped when the storage operation ends.

        For an ``engine`` (Spark, PostgreSQL) values are inlined, the stored members of the
        segments it uses are uploaded to it, and advanced SQL is refused; printed for another
        ``dialect``, those members are inlined as a list."""
        ws = self.workspace
        key_type = ws.fields.customer["customer_id"].sql_type \
            if "customer_id" in ws.fields.customer else "VARCHAR"
        self._check_refs()

        def segment_ref(name: str) -> exp.Expression:
            stored = (f"SELECT CAST(m.customer_id AS {key_type}) AS customer_id "
                      f"FROM {MEMBERS_TABLE} AS m JOIN {SEGMENTS_TABLE} AS s "
                      f"ON s.id = m.segment_id WHERE s.name = {exp.convert(name).sql('duckdb')}")
            if engine is None and dialect == "duckdb":
                return sqlglot.parse_one(stored, read="duckdb")
            return members_ref(ws.sql(stored).df(), key_type, engine)

        def sql_ref(query: str) -> exp.Expression:
            if engine is not None:
                from ..engines.base import ADVANCED_SQL_ONLY_DUCKDB, EngineError
                raise EngineError(ADVANCED_SQL_ONLY_DUCKDB)
            if inline or con is None:
                from .sandbox import single_select
                inner = sqlglot.parse_one(single_select(query), read="duckdb")
                # qualified with the subquery's alias, so that a query without a customer_id
                # column can never bind to the outer customers row (which matches everyone)
                col = exp.column(_id_column(inner), table="q", quoted=True)
                return exp.select(col).from_(inner.subquery("q"))
            ids = run_sandboxed(ws.storage, query)
            table = f"_sj_sql_{next(_ids)}"
            con.register(table + "_df", ids)
            try:
                # ids of another type that are not customers are ignored, not an error
                con.execute(f'CREATE OR REPLACE TEMP TABLE "{table}" AS '
                            f'SELECT TRY_CAST(customer_id AS {key_type}) AS customer_id '
                            f'FROM "{table}_df"')
            finally:
                con.unregister(table + "_df")
            ws.storage.drop_after_operation(table)
            return exp.select("customer_id").from_(exp.table_(table, db="main", catalog="temp"))

        at = ws.resolve_as_of(as_of)

        def predicted_ref(field: str, horizon) -> exp.Expression:
            if engine is not None:
                from ..engines.base import EngineError
                raise EngineError("predicted value fields (p_alive, predicted_orders, "
                                  "predicted_clv) are fitted and evaluated in DuckDB only; "
                                  "run this segment without engine=")
            if inline or con is None:  # printed SQL names the table ws predictions export
                return _predictions_table(field, horizon)
            from .predicted import value_table
            return exp.table_(value_table(ws, con, at, field, horizon), db="main",
                              catalog="temp")

        return Compiler(ws.fields, at, self.params,
                        inline=inline or engine is not None or dialect != "duckdb",
                        segment_ref=segment_ref, sql_ref=sql_ref, predicted_ref=predicted_ref)

    def _check_refs(self) -> None:
        refs = model.segment_refs(self.tree)
        if not refs:
            return
        try:
            names = set(self.workspace.sql(f"SELECT name FROM {SEGMENTS_TABLE}").df()["name"])
        except Exception:
            names = set()
        for r in sorted(refs):
            if r not in names:
                from ..workspace.registry import suggest
                s = suggest(r, names)
                raise RuleValidationError(
                    f"in_segment({r!r}): no saved segment of that name" +
                    (f" — did you mean {s!r}?" if s else ""))

    def _needs_catalog(self) -> bool:
        return bool(model.segment_refs(self.tree))

    def sql(self, dialect: str = "duckdb", as_of=None, pretty: bool = True) -> str:
        """The segment as one self-contained ``SELECT customer_id`` statement in ``dialect``
        (duckdb, postgres, spark, snowflake, bigquery, trino, ...): values inlined as
        literals, windows and ``as_of`` as timestamps; for other dialects than DuckDB the
        stored members of ``in_segment`` segments are inlined too (``docs/scale-out.md``)."""
        from .dialects import to_sql
        c = self._compiler(as_of, inline=True, dialect=dialect)
        q = c.query([exp.alias_(c.customer_id(), "customer_id")], c.predicate(self.tree))
        return to_sql(q, dialect, pretty=pretty)

    def _run(self, build, as_of, engine=None, rows: bool = False, key: tuple | None = None
             ) -> pd.DataFrame | list[tuple]:
        """The result of ``build``'s query as a DataFrame, or as tuples (``rows=True``:
        skips the DataFrame, ~1-4 ms, for one-row results); ``engine`` runs it elsewhere.

        With a ``key`` (what ``build`` builds), the compiled statement is kept for the same
        rule, parameters, instant and field registry: compiling costs 1-9 ms, more than
        many counts take to run (Calculate, clicked again; a count per segment per chart)."""
        ws = self.workspace
        if engine is not None:
            from ..engines.base import as_engine
            eng = as_engine(engine)
            c = self._compiler(as_of, engine=eng)
            try:
                return eng.frame(build(c, c.predicate(self.tree)))
            finally:
                eng.drop_ids()
        with ws.storage.read(catalog=self._needs_catalog()) as con:
            at = ws.resolve_as_of(as_of)
            registry = ws.fields
            ck = self._statement_key(key, at) if key is not None else None
            hit = _STATEMENTS.get(ck) if ck is not None else None
            if hit is not None and hit[0] is registry:
                _STATEMENTS.move_to_end(ck)
                text, values = hit[1], hit[2]
            else:
                c = self._compiler(at, con=con)
                query = build(c, c.predicate(self.tree))
                text, values = c.render(query)
                if ck is not None and not c.uses_state:
                    _STATEMENTS[ck] = (registry, text, values)
                    while len(_STATEMENTS) > _STATEMENTS_KEPT:
                        _STATEMENTS.popitem(last=False)
            result = con.execute(text, values)
            return result.fetchall() if rows else result.df()

    def _statement_key(self, kind: tuple, at) -> tuple | None:
        """What a compiled statement depends on besides the field registry (checked by
        identity on use); None if the parameters cannot be hashed."""
        try:
            key = (kind, self.tree, tuple(sorted(self.params.items())), at)
            hash(key)
        except TypeError:
            return None
        return key

    def to_spark(self, spark=None, tables=None, as_of=None, columns: list[str] | None = None):
        """The members as a lazy Spark DataFrame (``customer_id``, then ``columns``), run by
        ``spark``: a :class:`~segjupyter.engines.spark.SparkEngine` or a SparkSession
        reading ``tables`` (a Parquet folder from ``ws.export_parquet``, or
        ``{table: Spark table | path}``).

        >>> seg.to_spark(spark, tables="/data/retail").write.parquet("/data/vip")
        """
        from ..engines.spark import SparkEngine
        eng = spark if isinstance(spark, SparkEngine) else SparkEngine(spark, tables)
        c = self._compiler(as_of, engine=eng)
        sdf = eng.dataframe(self._members_query(c, c.predicate(self.tree), columns))
        eng.keep_ids()  # the DataFrame is lazy: the members it reads must stay
        return sdf

    # -- evaluation ------------------------------------------------------------------------
    def count(self, as_of=None, engine=None) -> int:
        """Number of customers in the segment as of ``as_of`` (default: the workspace now);
        ``engine`` runs it elsewhere (a SparkEngine, PostgresEngine, SparkSession, ...)."""
        def query(c, where):
            return c.query([exp.alias_(exp.Count(this=exp.Star()), "n")], where)
        if engine is not None:
            return int(self._run(query, as_of, engine)["n"].iloc[0])
        return int(self._run(query, as_of, rows=True, key=("count",))[0][0])

    def members(self, as_of=None, columns: list[str] | None = None, engine=None
                ) -> pd.DataFrame:
        """Members as a DataFrame, ``customer_id`` first, then ``columns`` (customer fields;
        default all), ordered by customer_id; ``engine`` runs the query elsewhere."""
        key = ("members", None if columns is None else tuple(columns))
        return self._run(lambda c, where: self._members_query(c, where, columns), as_of,
                         engine, key=key).reset_index(drop=True)

    def _members_query(self, c: Compiler, where, columns: list[str] | None) -> exp.Select:
        fields = self.workspace.fields
        cols = list(columns) if columns is not None else [
            f for f in fields.customer if f != "customer_id"]
        for col in cols:
            if col == "customer_id":
                continue
            fields.customer_field(col)  # raises a did-you-mean for unknown names
        cols = [col for col in cols if col != "customer_id"]
        proj = [exp.column("customer_id", table="c", quoted=True)] + [
            exp.column(fields.customer[col].column, table="c", quoted=True) for col in cols]
        return c.query(proj, where).order_by(exp.column("customer_id", table="c", quoted=True))

    def member_ids(self, as_of=None, engine=None) -> pd.Series:
        return self.members(as_of, columns=[], engine=engine)["customer_id"]

    def explain(self, as_of=None) -> pd.DataFrame:
        """The funnel: customers left after each top-level condition (``and``), or gained by
        each (``or``), computed in one pass."""
        tree = self.tree
        steps = list(tree.rules) if not tree.negate and tree.rules else [tree]
        from .dsl import to_text

        def build(c, _where):
            preds = [c.predicate(s) for s in steps]
            projs = [exp.alias_(exp.Count(this=exp.Star()), "all")]
            acc = None
            for i, p in enumerate(preds):
                acc = p if acc is None else (exp.and_(acc, p) if tree.op == "and" else exp.or_(acc, p))
                projs.append(exp.alias_(exp.Filter(this=exp.Count(this=exp.Star()),
                                                   expression=exp.Where(this=acc.copy())),
                                        f"s{i}"))
                projs.append(exp.alias_(exp.Filter(this=exp.Count(this=exp.Star()),
                                                   expression=exp.Where(this=p.copy())),
                                        f"o{i}"))
            return c.query(projs)

        row = self._run(build, as_of).iloc[0]
        total = int(row["all"])
        out, prev = [], total if tree.op == "and" else 0
        for i, s in enumerate(steps):
            left = int(row[f"s{i}"])
            out.append({"step": i + 1,
                        "condition": to_text(canonical(s)),
                        "alone": int(row[f"o{i}"]),
                        "customers": left,
                        "change": left - prev,
                        "share": left / total if total else 0.0})
            prev = left
        return pd.DataFrame(out)

    def validate(self) -> None:
        """Raise :class:`RuleValidationError` if the tree does not fit the workspace."""
        c = self._compiler(None, inline=True)
        c.predicate(self.tree)

    # -- display ---------------------------------------------------------------------------
    def summary(self, as_of=None) -> dict[str, Any]:
        ws = self.workspace
        has_sub = "subscribed" in ws.fields.customer

        def build(c, where):
            projs = [exp.alias_(exp.Count(this=exp.Star()), "n")]
            if has_sub:
                projs.append(exp.alias_(exp.Filter(
                    this=exp.Count(this=exp.Star()),
                    expression=exp.Where(this=exp.column("subscribed", table="c", quoted=True))),
                    "subscribed"))
            return c.query(projs, where)

        row = self._run(build, as_of).iloc[0]
        total = ws.fields.tables.get("customers", 0)
        return {"name": self.name, "customers": int(row["n"]),
                "share": (int(row["n"]) / total) if total else 0.0,
                "subscribed": int(row["subscribed"]) if has_sub else None,
                "as_of": ws.resolve_as_of(as_of)}

    def _repr_html_(self) -> str:
        try:
            s = self.summary()
            sql = self.sql()
        except Exception as e:  # show the problem where the segment is shown
            return (f"<div class='sj-segment sj-error'><b>{html.escape(self.name or 'segment')}"
                    f"</b>: {html.escape(str(e))}</div>")
        sub = "" if s["subscribed"] is None else f" · {s['subscribed']:,} subscribed"
        return (
            "<div class='sj-segment'>"
            f"<div><b>{html.escape(self.name or 'segment')}</b> — "
            f"<b>{s['customers']:,}</b> customers ({s['share']:.1%} of all){sub} "
            f"<span style='color:#888'>as of {s['as_of']:%Y-%m-%d %H:%M}</span></div>"
            f"<pre style='margin:4px 0'>{html.escape(self.text)}</pre>"
            f"<details><summary>SQL</summary><pre>{html.escape(sql)}</pre></details></div>")

    def __repr__(self) -> str:
        return f"<Segment {self.name or ''} {self.text!r}>".replace("  ", " ")

    def __eq__(self, other) -> bool:
        return isinstance(other, Segment) and self.tree == other.tree and \
            self.params == other.params

    __hash__ = None


def members_ref(ids: pd.DataFrame, key_type: str, engine=None) -> exp.Expression:
    """``SELECT customer_id`` of stored members for a query that runs elsewhere: a table
    uploaded to ``engine``, or (printed SQL) the ids inlined as a ``VALUES`` list."""
    if engine is not None:
        return exp.select("customer_id").from_(engine.put_ids(ids, key_type))
    values = [v.item() if hasattr(v, "item") else v for v in ids["customer_id"].tolist()]
    if not values:
        return exp.select(exp.alias_(exp.cast(exp.null(), key_type), "customer_id")).where(
            exp.false())
    return exp.select("customer_id").from_(exp.values(
        [(v,) for v in values], alias="m", columns=["customer_id"]))


def _id_column(query: exp.Expression) -> str:
    """The column of an advanced-SQL query that holds customer ids: ``customer_id``, or its
    only column (the rule the sandbox applies to the result)."""
    selects = query.selects if isinstance(query, exp.Query) else []
    names = [p.alias_or_name for p in selects]
    if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star)
           for p in selects) or "customer_id" in [n.lower() for n in names]:
        return "customer_id"
    return names[0] if len(names) == 1 and names[0] else "customer_id"


def _predictions_table(field: str, horizon) -> exp.Expression:
    """What printed SQL (``seg.sql(dialect=...)``) reads a predicted field from: a table
    ``segjupyter_predictions(customer_id, field, horizon, value)``, e.g. the frame of
    ``analytics.predicted_values`` written to the other system."""
    h = "" if horizon is None else f"{horizon[0]} {horizon[1]}"
    return exp.select("customer_id", "value").from_("segjupyter_predictions").where(
        exp.and_(exp.EQ(this=exp.column("field"), expression=exp.convert(field)),
                 exp.EQ(this=exp.column("horizon"), expression=exp.convert(h))))


def _negate(tree: Group) -> Group:
    if not tree.negate:
        return replace(tree, negate=True)
    return Group("and", (tree,), negate=True)


__all__ = ["Segment", "SegmentSyntaxError"]
