"""Rule tree -> sqlglot expression (DESIGN.md section 5).

The :class:`Compiler` validates every condition against the field registry, then builds
sqlglot nodes: identifiers come only from the registry and values only as placeholders
(``$p0`` bound at execution) or, when printing for another dialect, as literals made by
``sqlglot.exp.convert`` (escaped). No text the user wrote is ever spliced into SQL, except
the advanced-SQL condition, which is parsed by sqlglot and only ever runs in the sandbox.

Behaviour conditions become *terms*: one aggregate per (source, metric, filter, window),
computed in one pass per source table, ``SUM(amount) FILTER (WHERE ...)`` grouped by
customer. Several trees compiled with the same compiler share those passes, which is how the
catalog refreshes fifty segments for little more than the cost of one.

Every condition is two-valued: a comparison with a missing value is false (``COALESCE(.., FALSE)``),
so ``not`` of it is true.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from decimal import Decimal
from typing import Any, Callable

import sqlglot
from sqlglot import exp

from ..errors import RuleValidationError, UnavailableFieldError, UnknownFieldError
from ..workspace.registry import BOOLEAN, DATE, LIST, TIMESTAMP, Field, FieldRegistry
from . import derived
from .model import (ATTRIBUTE_WINDOW_KINDS, DERIVED_FIELDS, PREDICTED_FIELDS,
                    WINDOW_OPERATORS, Attribute,
                    Behaviour, Derived, Group, MonthDay, Node, Param, RelativeDate, SegmentRef,
                    Sql, Window, canonical)
from .passes import SOURCES, build_pass, time_column
from .passes import column as _col
from .windows import relative_date, relative_month_day, start_of_day, window_bounds

_CMP = {"=": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}
_TABLE_ALIAS = {"order_lines": "l", "orders": "o", "products": "p", "stores": "s"}
_LINE_ONLY = {"units", "distinct_products"}
#: derived fields read from the RFM table ``d_rfm`` (one row per customer who ever ordered)
RFM_FIELDS = ("rfm_segment", "rfm_r", "rfm_f", "rfm_m")


def _condition_text(node) -> str:
    try:
        from .dsl import to_text
        return to_text(node)
    except Exception:
        return repr(node)


class Compiler:
    """Compiles rule trees for one workspace registry and one ``as_of`` instant.

    >>> c = Compiler(ws.fields, as_of=ws.now())
    >>> where = c.predicate(tree)
    >>> sql, values = c.render(c.query([c.customer_id()], where))
    """

    def __init__(self, registry: FieldRegistry, as_of: dt.datetime, params: dict | None = None,
                 *, inline: bool = False,
                 segment_ref: Callable[[str], exp.Expression] | None = None,
                 sql_ref: Callable[[str], exp.Expression] | None = None,
                 predicted_ref: Callable[[str, tuple | None], exp.Expression] | None = None):
        self.registry = registry
        self.as_of = as_of
        self.params = dict(params or {})
        self.inline = inline
        self.segment_ref = segment_ref
        self.sql_ref = sql_ref
        # (field, horizon) -> table (customer_id, value) of a predicted field
        self.predicted_ref = predicted_ref
        #: the query reads state besides the retail data and the rule (stored members, a
        #: sandboxed query's ids, fitted values): it must be compiled afresh every time
        self.uses_state = False
        self._predicted: dict[tuple, tuple[str, exp.Expression]] = {}
        self.values: dict[str, Any] = {}
        # (source, agg, filter, window, event type) -> (column, conditions, joins, start)
        self._terms: dict[tuple, tuple] = {}
        self._uses: set[str] = set()  # "rfm", "lc", and "rfm_lost" / "rfm_m" (see _derived)
        self._path: tuple[int, ...] = ()
        self._node = None
        #: optional subquery of customer ids: passes aggregate only their rows (a refresh
        #: explaining the moves of a few customers needs nobody else's)
        self.only: exp.Expression | None = None
        #: placeholder -> (table, column) its date or instant is compared with (see
        #: ``segments/incremental.py``); ``_at`` is that column while a condition compiles
        self.time_binds: dict[str, tuple[str, str]] = {}
        self._at: tuple[str, str] | None = None

    # -- values ----------------------------------------------------------------------------
    def _bind(self, v: Any) -> exp.Expression:
        if self.inline:
            return exp.convert(v)
        name = f"p{len(self.values)}"
        self.values[name] = v
        if self._at is not None and isinstance(v, (dt.date, dt.datetime)):
            self.time_binds[name] = self._at
        return exp.Placeholder(this=name)

    @contextlib.contextmanager
    def _compared_with(self, table: str, column: str):
        """Time values bound inside are recorded as compared with ``table.column``."""
        outer, self._at = self._at, (table, column)
        try:
            yield
        finally:
            self._at = outer

    def _bind_at(self, v: Any, table: str, column: str) -> exp.Expression:
        """:meth:`_bind` of a time value compared with ``table.column``."""
        with self._compared_with(table, column):
            return self._bind(v)

    def _resolve(self, v: Any) -> Any:
        if isinstance(v, Param):
            if v.name not in self.params:
                have = ", ".join(sorted(self.params)) or "none"
                self._fail(f"parameter :{v.name} has no value (given: {have})")
            from .model import norm_value
            return norm_value(self.params[v.name])
        if isinstance(v, tuple):
            return tuple(self._resolve(x) for x in v)
        return v

    def _day(self, rel: RelativeDate, month_day: bool = False, range_end: bool = False):
        """The day (or, for year-ignoring ranges, the month-day) ``rel`` names as of
        ``as_of``."""
        try:
            if month_day:
                return relative_month_day(rel, self.as_of, range_end)
            return relative_date(rel, self.as_of)
        except (ValueError, OverflowError):
            from .dsl_printer import format_value
            self._fail(f"{format_value(rel)} as of {self.as_of:%Y-%m-%d} is outside the "
                       "calendar (years 1..9999)")

    def _fail(self, message: str):
        cond = None if self._node is None else _condition_text(self._node)
        raise RuleValidationError(message, self._path, cond)

    # -- entry points ----------------------------------------------------------------------
    def predicate(self, tree: Node) -> exp.Expression:
        """Boolean expression over ``c`` (customers) for ``tree``; registers its terms."""
        return self._node_pred(canonical(tree), ())

    def customer_id(self) -> exp.Expression:
        return _col("c", "customer_id")

    def query(self, projections: list[exp.Expression], where: exp.Expression | None = None
              ) -> exp.Select:
        """``SELECT projections FROM customers c`` joined with every term pass and derived
        table the compiled predicates need."""
        # a pass that a top-level "and" condition needs rows of (spend >= 500, bought(...))
        # is inner-joined: DuckDB then filters the small aggregate before the join
        needed = {e.meta.get("pass") for e in _conjuncts(where)} if where is not None else set()
        base = self._pass_as_base(needed, projections, where)
        sel = exp.select(*projections).from_(exp.to_table(base or "customers").as_("c"),
                                             copy=False)
        for src, cte in self._passes():
            sel = sel.with_(src, as_=cte, copy=False)
            if src == base:
                continue
            sel = sel.join(exp.to_table(src), on=exp.EQ(this=_col(src, "customer_id"),
                                                         expression=_col("c", "customer_id")),
                           join_type="inner" if src in needed else "left", copy=False)
        rfm = derived.rfm_sql(lost="rfm_lost" in self._uses, monetary="rfm_m" in self._uses)
        lc = derived.lifecycle_sql(None if self.only is None else self.only.sql("duckdb"))
        for name, sql in (("rfm", rfm), ("lc", lc)):
            if name in self._uses:
                sub = self._derived_query(sql)
                table = f"d_{name}"
                sel = sel.with_(table, as_=sub, copy=False)
                if table == base:
                    continue
                sel = sel.join(exp.to_table(table),
                               on=exp.EQ(this=_col(table, "customer_id"),
                                         expression=_col("c", "customer_id")),
                               join_type="inner" if table in needed else "left", copy=False)
        for alias, table in self._predicted.values():
            sel = sel.join(table.copy().as_(alias) if isinstance(table, exp.Table)
                           else exp.Subquery(this=table.copy(), alias=exp.TableAlias(
                               this=exp.to_identifier(alias))),
                           on=exp.EQ(this=_col(alias, "customer_id"),
                                     expression=_col("c", "customer_id")),
                           join_type="left", copy=False)
        if where is not None:
            sel = sel.where(positive(where), copy=False)
        return sel

    def _pass_as_base(self, needed: set, projections, where) -> str | None:
        """The pass to select from instead of ``customers``, when the query needs rows of
        it and no customer column but the id: its customers are customers (the loader
        rejects orders, lines and events of unknown customers), one row each, so joining
        ``customers`` would only cost a scan and a hash join. Its columns are renamed to
        ``c``."""
        base = next((s for s in (*SOURCES, "d_rfm") if s in needed), None)
        if base is None:
            return None
        exprs = [*projections, where]
        if any(col.table == "c" and col.name != "customer_id"
               for e in exprs for col in e.find_all(exp.Column)):
            return None
        for e in exprs:
            for col in e.find_all(exp.Column):
                if col.table == base:
                    col.set("table", exp.to_identifier("c", quoted=True))
        return base

    def render(self, expression: exp.Expression, dialect: str = "duckdb",
               pretty: bool = False) -> tuple[str, dict]:
        """SQL text and the values of the placeholders it uses (a compiler may have bound
        values for predicates the final query leaves out, e.g. ``Segment.explain``)."""
        used = {p.name for p in expression.find_all(exp.Placeholder)}
        return (expression.sql(dialect=dialect, pretty=pretty),
                {k: v for k, v in self.values.items() if k in used})

    # -- tree ------------------------------------------------------------------------------
    def _node_pred(self, node: Node, path: tuple[int, ...]) -> exp.Expression:
        if isinstance(node, Group):
            if not node.rules:
                pred: exp.Expression = exp.true()
            else:
                parts = [self._node_pred(r, path + (i,)) for i, r in enumerate(node.rules)]
                # the parts are fresh nodes: no copy (sqlglot deep-copies by default)
                pred = exp.and_(*parts, copy=False) if node.op == "and" else exp.or_(
                    *parts, copy=False)
                if len(parts) > 1:
                    pred = exp.Paren(this=pred)
            return exp.Not(this=exp.Paren(this=pred)) if node.negate else pred
        self._path, self._node = path, node
        try:
            if isinstance(node, Attribute):
                field = self._field(self.registry.customer_field, node.field)
                inner = self._attribute(field, _col("c", field.column), node)
            elif isinstance(node, Behaviour):
                inner = self._behaviour(node)
                if self._false_without_rows(node):
                    srcs = {c.table for c in inner.find_all(exp.Column) if c.table in SOURCES}
                    if len(srcs) == 1:
                        out = exp.Coalesce(this=inner, expressions=[exp.false()])
                        out.meta["pass"] = srcs.pop()
                        return out
            elif isinstance(node, Derived):
                inner = self._derived(node)
                if node.field in RFM_FIELDS and node.op != "is null":
                    # no RFM row (never ordered) is false: as for a pass above
                    out = exp.Coalesce(this=inner, expressions=[exp.false()])
                    out.meta["pass"] = "d_rfm"
                    return out
            elif isinstance(node, SegmentRef):
                if self.segment_ref is None:
                    self._fail(f"in_segment({node.name!r}) needs the segment catalog")
                self.uses_state = True
                inner = exp.In(this=_col("c", "customer_id"),
                               query=exp.Subquery(this=self.segment_ref(node.name)))
            elif isinstance(node, Sql):
                if self.sql_ref is None:
                    self._fail("advanced SQL is not allowed here")
                self.uses_state = True
                inner = exp.In(this=_col("c", "customer_id"),
                               query=exp.Subquery(this=self.sql_ref(node.query)))
            else:
                self._fail(f"not a rule node: {node!r}")
        finally:
            self._node = None
        return exp.Coalesce(this=inner, expressions=[exp.false()])

    def _field(self, lookup, name: str) -> Field:
        try:
            return lookup(name)
        except (UnknownFieldError, UnavailableFieldError) as e:
            self._fail(str(e))

    # -- attribute -------------------------------------------------------------------------
    def _attribute(self, f: Field, col: exp.Expression, node) -> exp.Expression:
        with self._compared_with(f.table, f.column):
            return self._attribute_pred(f, col, node)

    def _attribute_pred(self, f: Field, col: exp.Expression, node) -> exp.Expression:
        op = node.op
        if op in WINDOW_OPERATORS and not f.is_date:
            self._fail(f"'{op}' needs a date or timestamp field; {f.name!r} is a {f.type} "
                       "field")
        if op not in f.operators and not (op in ("is true", "is false") and f.type == BOOLEAN):
            self._fail(f"operator {op!r} does not apply to {f.type} field {f.name!r} "
                       f"(allowed: {', '.join(f.operators)})")
        if op == "is null":
            return exp.Is(this=col, expression=exp.null())
        if op == "is not null":
            return exp.Not(this=exp.Is(this=col, expression=exp.null()))
        if op in ("is true", "is false"):
            return exp.EQ(this=col, expression=exp.Boolean(this=op == "is true"))
        if op in WINDOW_OPERATORS:
            return self._in_window(f, col, node)
        value = self._resolve(node.value)
        if getattr(node, "ignore_year", False):
            return self._month_day_range(f, col, value)
        if op in ("in", "not in"):
            items = value if isinstance(value, tuple) else (value,)
            if not items:
                self._fail(f"{op!r} needs at least one value")
            e = exp.In(this=col, expressions=[self._typed(f, x) for x in items])
            return exp.Not(this=e) if op == "not in" else e
        if f.type == TIMESTAMP:
            # a day on a timestamp field: "<= D" and "> D" mean the end of day D, "= D" the
            # calendar day (the same rule as first_order / last_order)
            value = tuple(self._day(x) if isinstance(x, RelativeDate) else x
                          for x in value) if isinstance(value, tuple) else (
                self._day(value) if isinstance(value, RelativeDate) else value)
        if op == "between":
            if not isinstance(value, tuple) or len(value) != 2:
                self._fail("'between' needs two values")
            lo, hi = self._typed(f, value[0]), self._typed(f, value[1])
            if f.type == TIMESTAMP and _is_day(value[1]):
                hi = self._bind(_end_of_day(value[1]))
            return exp.Between(this=col, low=lo, high=hi)
        if op in ("contains", "not contains", "starts with", "ends with"):
            if f.type == LIST:
                e = exp.ArrayContains(this=col, expression=self._bind(self._text(f, value)))
                if op == "not contains":
                    # a missing list is false here in every dialect (postgres and bigquery
                    # print ARRAY_CONTAINS of NULL as FALSE, so NOT of it would be true)
                    return exp.and_(exp.Not(this=e),
                                    exp.Not(this=exp.Is(this=col.copy(), expression=exp.null())))
            else:
                lower_col = exp.Lower(this=col)
                v = exp.Lower(this=self._bind(self._text(f, value)))
                if op in ("contains", "not contains"):
                    e = exp.GT(this=exp.StrPosition(this=lower_col, substr=v),
                               expression=exp.Literal.number(0))
                elif op == "starts with":
                    e = exp.StartsWith(this=lower_col, expression=v)
                else:
                    e = exp.EndsWith(this=lower_col, expression=v)
            return exp.Not(this=e) if op == "not contains" else e
        if op in _CMP:
            if f.type == TIMESTAMP and _is_day(value):
                if op in ("=", "!="):
                    col = exp.Cast(this=col, to=exp.DataType.build("DATE"))
                    return _CMP[op](this=col, expression=self._bind(value))
                if op in ("<=", ">"):
                    return _CMP[op](this=col, expression=self._bind(_end_of_day(value)))
            return _CMP[op](this=col, expression=self._typed(f, value))
        self._fail(f"unknown operator {op!r}")

    def _in_window(self, f: Field, col, node) -> exp.Expression:
        """``start <= col <= end`` with the bounds of a behaviour window (never after as_of);
        a DATE compares as its midnight."""
        w = node.value
        if not isinstance(w, Window) or w.kind not in ATTRIBUTE_WINDOW_KINDS:
            self._fail(f"'{node.op}' takes a window of kind "
                       f"{', '.join(ATTRIBUTE_WINDOW_KINDS)}, not {w!r}")
        start, end = window_bounds(w, self.as_of)
        if f.type == DATE:
            col = exp.Cast(this=col, to=exp.DataType.build("TIMESTAMP"))
        e = exp.Between(this=col, low=self._bind(start), high=self._bind(end))
        return exp.Not(this=e) if node.op == "not in window" else e

    def _text(self, f: Field, v: Any) -> str:
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
            return str(v)
        if not isinstance(v, str):
            self._fail(f"{f.name!r} needs a text value, not {v!r}")
        return v

    def _typed(self, f: Field, v: Any) -> exp.Expression:
        """A value checked against the field's type, bound as a placeholder."""
        t = f.type
        if isinstance(v, MonthDay):
            self._fail(f"a month-day value ({v}) needs 'ignore year'")
        if t in (DATE, TIMESTAMP):
            if isinstance(v, RelativeDate):
                v = self._day(v)
            if isinstance(v, dt.datetime):
                return self._bind(v if t == TIMESTAMP else v.date())
            if isinstance(v, dt.date):
                return self._bind(start_of_day(v) if t == TIMESTAMP else v)
            self._fail(f"{f.name!r} is a {t}; {v!r} is not a date (use \"YYYY-MM-DD\" or a "
                       "relative date like -30d)")
        if t in ("integer", "number"):
            if isinstance(v, bool) or not isinstance(v, (int, Decimal)):
                self._fail(f"{f.name!r} is a number; {v!r} is not")
            return self._bind(v)
        if t == BOOLEAN:
            if not isinstance(v, bool):
                self._fail(f"{f.name!r} is true or false; {v!r} is neither")
            return self._bind(v)
        if isinstance(v, RelativeDate):
            self._fail(f"{f.name!r} is {t}; a relative date makes no sense here")
        return self._bind(self._text(f, v))

    def _month_day_range(self, f: Field, col, value) -> exp.Expression:
        if f.type not in (DATE, TIMESTAMP):
            self._fail(f"'ignore year' needs a date field; {f.name!r} is {f.type}")
        if not isinstance(value, tuple) or len(value) != 2:
            self._fail("'ignore year' needs two values")
        # a relative value is the month-day of its day as of as_of (Feb 28 ending a range in
        # a year without Feb 29 reads as Feb 29: see relative_month_day)
        lo, hi = (self._day(v, month_day=True, range_end=i == 1)
                  if isinstance(v, RelativeDate) else v for i, v in enumerate(value))
        if not (isinstance(lo, MonthDay) and isinstance(hi, MonthDay)):
            self._fail("'ignore year' ranges take month-day values like \"12-02\" or "
                       "relative dates like today, +7d, start of month")
        md = exp.Add(
            this=exp.Mul(this=exp.Extract(this=exp.var("MONTH"), expression=col),
                         expression=exp.Literal.number(100)),
            expression=exp.Extract(this=exp.var("DAY"), expression=col))
        a, b = self._bind(lo.month * 100 + lo.day), self._bind(hi.month * 100 + hi.day)
        if (lo.month, lo.day) <= (hi.month, hi.day):
            return exp.Between(this=md, low=a, high=b)
        return exp.Paren(this=exp.or_(exp.GTE(this=md, expression=a),
                                      exp.LTE(this=md.copy(), expression=b)))

    # -- behaviour -------------------------------------------------------------------------
    def _behaviour(self, b: Behaviour) -> exp.Expression:
        reg = self.registry
        if b.metric == "events":
            if not reg.has_table("events"):
                self._fail("events(...) needs an events table; this workspace has none")
            if b.filter is not None:
                self._fail("events(...) takes an event type and a window, not a filter")
            feat = self._term("e", "count", None, b.window, b.event_type)
            return self._compare_number(exp.Coalesce(this=feat, expressions=[exp.Literal.number(0)]), b)
        filt_fields = self._filter_fields(b.filter)
        needs_lines = b.metric in _LINE_ONLY or any(
            f.table in ("order_lines", "products") for f in filt_fields)
        if needs_lines and not reg.has_table("order_lines"):
            self._fail(f"{b.metric}(...) with these filters needs order lines; this workspace "
                       "has no order_lines table")
        src = "l" if needs_lines else "o"
        zero = exp.Literal.number(0)
        if b.metric == "bought":
            feat = self._term(src, "count", b.filter, b.window)
            return exp.GT(this=exp.Coalesce(this=feat, expressions=[zero]), expression=zero)
        if b.metric in ("first_order", "last_order"):
            feat = self._term(src, "min_at" if b.metric == "first_order" else "max_at",
                              b.filter, b.window)
            return self._compare_time(feat, b)
        if b.metric == "avg_ticket":
            # spend / n  op  v  is compared as  spend  op  v * n  (n > 0): exact DECIMAL
            # arithmetic, so 289.95 over 5 orders is >= 57.99 (a DOUBLE quotient is not)
            spend = self._term(src, "spend", b.filter, b.window)
            n = self._term(src, "orders", b.filter, b.window)
            return self._compare_number(spend, b,
                                        per=exp.Nullif(this=n, expression=zero))
        feat = self._term(src, {"orders": "orders", "spend": "spend", "units": "units",
                                "distinct_products": "products"}[b.metric], b.filter, b.window)
        return self._compare_number(exp.Coalesce(this=feat, expressions=[zero]), b)

    def _false_without_rows(self, b: Behaviour) -> bool:
        """True when ``b`` is false for a customer without rows in its pass (no orders in
        the window: count 0, no first/last order)."""
        if b.metric in ("bought", "avg_ticket"):
            return True
        if b.metric in ("first_order", "last_order"):
            return b.op != "is null"
        v = self._resolve(b.value)
        if b.op == "between":
            return isinstance(v, tuple) and len(v) == 2 and not (v[0] <= 0 <= v[1])
        test = _PY_CMP.get(b.op)
        return test is not None and isinstance(v, (int, Decimal)) and not test(0, v)

    def _filter_fields(self, g: Group | None) -> list[Field]:
        if g is None:
            return []
        out = []
        for r in g.rules:
            if isinstance(r, Group):
                out += self._filter_fields(r)
            elif isinstance(r, Attribute):
                out.append(self._field(self.registry.purchase_field, r.field))
            else:
                self._fail("a purchase filter holds field conditions only "
                           f"(brand, category, channel, ...), not {type(r).__name__}")
        return out

    def _compare_number(self, feat, b: Behaviour, per: exp.Expression | None = None
                        ) -> exp.Expression:
        v = self._resolve(b.value)
        if b.op in ("is null", "is not null"):
            self._fail(f"{b.metric} is never missing; compare it with a number")
        vals = v if b.op == "between" else (v,)
        if b.op == "between" and (not isinstance(v, tuple) or len(v) != 2):
            self._fail("'between' needs two values")
        for x in vals:
            if isinstance(x, bool) or not isinstance(x, (int, Decimal)):
                self._fail(f"{b.metric} is a number; {x!r} is not")
        def bound(x):
            e = self._bind(x)
            return e if per is None else exp.Mul(this=e, expression=per.copy())

        if b.op == "between":
            return exp.Between(this=feat, low=bound(v[0]), high=bound(v[1]))
        return _CMP[b.op](this=feat, expression=bound(v))

    def _compare_time(self, feat, b: Behaviour) -> exp.Expression:
        with self._compared_with(SOURCES[feat.table], "ordered_at"):
            return self._compare_time_pred(feat, b)

    def _compare_time_pred(self, feat, b: Behaviour) -> exp.Expression:
        if b.op == "is null":
            return exp.Is(this=feat, expression=exp.null())
        if b.op == "is not null":
            return exp.Not(this=exp.Is(this=feat, expression=exp.null()))
        v = self._resolve(b.value)
        vals = v if b.op == "between" else (v,)

        def as_time(x):
            if isinstance(x, RelativeDate):
                x = self._day(x)
            if isinstance(x, dt.datetime):
                return x
            if isinstance(x, dt.date):
                return start_of_day(x)
            self._fail(f"{b.metric} is a date; {x!r} is not (use \"YYYY-MM-DD\" or -30d)")

        times = [as_time(x) for x in vals]
        if b.op == "between":
            hi = start_of_day(times[1].date() + dt.timedelta(days=1)) - dt.timedelta(microseconds=1) \
                if isinstance(v[1], (dt.date, RelativeDate)) and not isinstance(v[1], dt.datetime) \
                else times[1]
            return exp.Between(this=feat, low=self._bind(times[0]), high=self._bind(hi))
        if b.op in ("=", "!=") and not isinstance(vals[0], dt.datetime):
            e = exp.EQ(this=exp.Cast(this=feat, to=exp.DataType.build("DATE")),
                       expression=self._bind(times[0].date()))
            return exp.Not(this=e) if b.op == "!=" else e
        if b.op == ">" and not isinstance(vals[0], dt.datetime):
            # "after a day" means after the end of that day
            times[0] = times[0] + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
        elif b.op == "<=" and not isinstance(vals[0], dt.datetime):
            times[0] = times[0] + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
        return _CMP[b.op](this=feat, expression=self._bind(times[0]))

    def _term(self, src: str, agg: str, filt: Group | None, window: Window,
              event_type: str | None = None) -> exp.Expression:
        """Register one aggregate of a pass; identical terms are computed once."""
        key = (src, agg, filt, window, event_type)
        spec = self._terms.get(key)
        if spec is None:
            t_col = time_column(src)
            try:
                start, end = window_bounds(window, self.as_of, self._resolve)
            except ValueError as e:
                self._fail(str(e))
            conds = []
            table = SOURCES[src]
            if start is not None:
                conds.append(exp.GTE(this=t_col.copy(),
                                     expression=self._bind_at(start, table, t_col.name)))
            if end != self.as_of:
                conds.append(exp.LTE(this=t_col.copy(),
                                     expression=self._bind_at(end, table, t_col.name)))
            if event_type is not None:
                conds.append(exp.EQ(this=_col("e", "event_type"),
                                    expression=self._bind(event_type)))
            joins: set[str] = set()
            if filt is not None:
                conds.append(self._filter_pred(filt, src, joins))
            spec = (f"t{len(self._terms)}", conds, joins, start)
            self._terms[key] = spec
        return _col(src, spec[0])

    # -- passes ----------------------------------------------------------------------------
    def _passes(self) -> list[tuple[str, exp.Select]]:
        out = []
        for src in SOURCES:
            terms = [(k[1], spec) for k, spec in self._terms.items() if k[0] == src]
            if terms:
                table, t_name = SOURCES[src], time_column(src).name
                out.append((src, build_pass(
                    src, terms, self.as_of,
                    lambda v, table=table, t_name=t_name: self._bind_at(v, table, t_name),
                    self.only,
                    # DuckDB runs what is bound (not inlined): its bitstring_agg may be used
                    None if self.inline else self.registry.product_ids)))
        return out

    def _filter_pred(self, g: Group, src: str, joins: set) -> exp.Expression:
        parts = []
        for r in g.rules:
            if isinstance(r, Group):
                parts.append(self._filter_pred(r, src, joins))
                continue
            f = self._field(self.registry.purchase_field, r.field)
            alias = _TABLE_ALIAS[f.table]
            if alias != src:
                joins.add(alias)
            parts.append(exp.Coalesce(this=self._attribute(f, _col(alias, f.column), r),
                                      expressions=[exp.false()]))
        pred = exp.Paren(this=exp.and_(*parts, copy=False) if g.op == "and" else exp.or_(
            *parts, copy=False))
        return exp.Not(this=pred) if g.negate else pred

    # -- derived ---------------------------------------------------------------------------
    def _derived(self, d: Derived) -> exp.Expression:
        ftype, allowed = DERIVED_FIELDS[d.field]
        if d.field in PREDICTED_FIELDS + ("p_alive",):
            return self._predicted_field(d, ftype)
        table = "d_lc" if d.field == "lifecycle" else "d_rfm"
        self._uses.add("lc" if d.field == "lifecycle" else "rfm")
        if d.field == "rfm_m":
            self._uses.add("rfm_m")
        if d.field == "rfm_segment":
            # a "lost" row and no row differ only for these (each condition is two-valued:
            # a missing value is false, under "not" too)
            vals = self._resolve(d.value)
            vals = vals if isinstance(vals, tuple) else (vals,)
            if d.op not in ("=", "in") or "lost" in vals:
                self._uses.add("rfm_lost")
        column = {"rfm_segment": "rfm_segment", "rfm_r": "r", "rfm_f": "f", "rfm_m": "m",
                  "lifecycle": "lifecycle"}[d.field]
        from ..workspace.registry import OPERATORS, Field as F
        f = F(d.field, "derived", table, column, ftype, "VARCHAR" if ftype == "category" else
              "INTEGER", tuple(allowed or ()), OPERATORS[ftype])
        if allowed:
            vals = self._resolve(d.value)
            for v in (vals if isinstance(vals, tuple) else (vals,)):
                if d.op not in ("is null", "is not null") and v not in allowed:
                    from ..workspace.registry import suggest
                    s = suggest(str(v), allowed)
                    self._fail(f"{v!r} is not a {d.field} value" +
                               (f" — did you mean {s!r}?" if s else
                                f" (values: {', '.join(allowed)})"))
        if d.field == "rfm_segment" and "rfm_lost" not in self._uses and allowed:
            return self._rfm_cells(f, d)
        return self._attribute(f, _col(table, column), d)

    def _rfm_cells(self, f: Field, d: Derived) -> exp.Expression:
        """``rfm_segment = "champions"`` as the R and F scores of that segment
        (``r = 5 AND f IN (4, 5)``): DuckDB then drops the ten-branch CASE that names the
        segment of every scored customer, a fifth of the query's time."""
        vals = self._resolve(d.value)
        names = set(vals if isinstance(vals, tuple) else (vals,))
        by_r: dict[tuple, list[int]] = {}
        for r in range(1, 6):
            fs = tuple(fv for fv in range(1, 6) if derived.rfm_segment_name(r, fv) in names)
            if fs:
                by_r.setdefault(fs, []).append(r)
        if not by_r:
            return exp.false()

        def among(col: str, values) -> exp.Expression:
            return exp.In(this=_col("d_rfm", col),
                          expressions=[exp.Literal.number(v) for v in values])
        parts = [exp.Paren(this=exp.and_(among("r", rs), among("f", fs), copy=False))
                 if len(fs) < 5 else among("r", rs) for fs, rs in by_r.items()]
        return exp.Paren(this=exp.or_(*parts, copy=False)) if len(parts) > 1 else parts[0]

    def _predicted_field(self, d: Derived, ftype: str) -> exp.Expression:
        """``p_alive`` / ``predicted_*``: a left join with the table of the fitted values
        (``rules/predicted.py``), shared by every condition on the same field and horizon."""
        if self.predicted_ref is None:
            self._fail(f"{d.field} needs the workspace's fitted customer-value model")
        self.uses_state = True
        key = (d.field, d.horizon)
        if key not in self._predicted:
            self._predicted[key] = (f"d_pv{len(self._predicted)}",
                                    self.predicted_ref(d.field, d.horizon))
        alias = self._predicted[key][0]
        from ..workspace.registry import OPERATORS, Field as F
        f = F(d.field, "derived", alias, "value", ftype, "DOUBLE", (), OPERATORS[ftype])
        return self._attribute(f, _col(alias, "value"), d)

    def _derived_query(self, sql: str) -> exp.Expression:
        tree = _parsed(sql)  # transform() below copies it
        bounds = derived.derived_bounds(self.as_of)

        def swap(node):
            if isinstance(node, exp.Placeholder) and node.name in bounds:
                # every bound of the RFM and lifecycle queries is compared with order times
                return self._bind_at(bounds[node.name], "orders", "ordered_at")
            return node

        return tree.transform(swap)


@functools.lru_cache(maxsize=16)
def _parsed(sql: str) -> exp.Expression:
    """The derived queries, parsed once per process (a parse costs ~20 ms)."""
    return sqlglot.parse_one(sql, read="duckdb")


_PY_CMP = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
           "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _conjuncts(e: exp.Expression):
    """The top-level ``and`` operands of a predicate."""
    if isinstance(e, exp.Paren):
        yield from _conjuncts(e.this)
    elif isinstance(e, exp.And):
        yield from _conjuncts(e.this)
        yield from _conjuncts(e.expression)
    else:
        yield e


def positive(e: exp.Expression) -> exp.Expression:
    """``e`` used as a WHERE filter. There ``COALESCE(x, FALSE)`` is ``x`` wherever it sits
    under ``and`` / ``or`` only (not under ``not``): with Kleene logic a monotone formula
    is TRUE with NULL inputs exactly when it is TRUE with those inputs FALSE, and NULL and
    FALSE both drop the row. Bare comparisons let DuckDB push filters into table scans and
    turn left joins into inner ones."""
    if isinstance(e, exp.Paren):
        return exp.Paren(this=positive(e.this))
    if isinstance(e, (exp.And, exp.Or)):
        return e.__class__(this=positive(e.this), expression=positive(e.expression))
    if (isinstance(e, exp.Coalesce) and len(e.expressions) == 1
            and isinstance(e.expressions[0], exp.Boolean) and not e.expressions[0].this):
        return positive(e.this)
    return e


def _is_day(v) -> bool:
    return isinstance(v, dt.date) and not isinstance(v, dt.datetime)


def _end_of_day(d: dt.date) -> dt.datetime:
    return start_of_day(d + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)


def compile_segment(tree: Node, registry: FieldRegistry, as_of: dt.datetime,
                    params: dict | None = None, **kw) -> tuple[str, dict]:
    """``SELECT customer_id`` SQL (DuckDB) for one tree and the values to bind."""
    c = Compiler(registry, as_of, params, **kw)
    where = c.predicate(tree)
    return c.render(c.query([c.customer_id()], where))

