"""An independent pandas evaluator of rule trees: the oracle for the compiler tests.

Written from ``docs/evaluation.md`` alone, with pandas and Python arithmetic: it never calls
the compiler, never runs generated SQL and does not use the field registry. Money is kept in
integer cents and compared with exact fractions, so thresholds are exact.

>>> ref = Reference.from_workspace(ws)
>>> ref.members(tree, as_of=dt.datetime(2026, 6, 30, 23, 59), params={"min": 500})
{12, 57, ...}
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from fractions import Fraction
from typing import Callable

import numpy as np
import pandas as pd

from segjupyter.rules.model import (Attribute, Behaviour, Derived, Group, Param,
                                    RelativeDate, SegmentRef, Sql, Window, canonical,
                                    norm_value)

US = pd.Timedelta(microseconds=1)
TABLES = ("customers", "stores", "products", "orders", "order_lines", "events")

# purchase filter fields by the table they come from
PRODUCT_FIELDS = {"brand", "category", "sku", "product", "tags", "price", "product_id"}
LINE_FIELDS = {"quantity", "unit_price", "amount", "line_no"}
STORE_FIELDS = {"store", "store_id", "channel", "store_city", "store_country"}
ORDER_FIELDS = {"offer_code", "total"}

RFM_MAP = [("12", "12", "hibernating"), ("12", "34", "at risk"), ("12", "5", "can't lose them"),
           ("3", "12", "about to sleep"), ("3", "3", "need attention"), ("34", "45", "loyal"),
           ("4", "1", "promising"), ("5", "1", "new"), ("45", "23", "potential loyalist"),
           ("5", "45", "champions")]

_OPS: dict[str, Callable] = {"=": operator.eq, "!=": operator.ne, "<": operator.lt,
                             "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class Reference:
    """The tables of one workspace as DataFrames, and :meth:`members` to evaluate a tree."""

    def __init__(self, frames: dict[str, pd.DataFrame], types: dict[str, dict[str, str]]):
        self.types = types  # table -> column -> DuckDB type
        self.f = {t: self._normalise(t, df) for t, df in frames.items()}
        c = self.f["customers"]
        self.customers = c.set_index("customer_id", drop=False)
        self.ids = self.customers.index
        self._memo: dict = {}  # derived tables by as_of (they depend on nothing else)
        self._orders = self._order_frame()
        self._lines = self._line_frame() if "order_lines" in self.f else None
        # dimension rows by key: a filter on a product / store / order field is evaluated
        # once per product / store / order and looked up per line (the same result, faster)
        self._dims = {"orders": ("order_id", self._orders.set_index("order_id"))}
        if "products" in self.f:
            self._dims["products"] = ("product_id", self.f["products"].rename(
                columns={"name": "product"}).set_index("product_id", drop=False))
        if "stores" in self.f:
            self._dims["stores"] = ("store_id", self.f["stores"].rename(
                columns={"name": "store", "city": "store_city", "country": "store_country"}
            ).set_index("store_id", drop=False))

    @classmethod
    def from_workspace(cls, ws) -> "Reference":
        frames, types = {}, {}
        for t in TABLES:
            if t not in ws.fields.tables:
                continue
            frames[t] = ws.sql(f"SELECT * FROM {t}").df()
            d = ws.sql(f"DESCRIBE {t}").df()
            types[t] = dict(zip(d["column_name"], d["column_type"]))
        return cls(frames, types)

    # -- preparing the frames ---------------------------------------------------------------
    def _normalise(self, table: str, df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        for col, typ in self.types[table].items():
            if typ.startswith("DECIMAL"):  # exact integer units of the scale
                scale = int(typ.rstrip(")").split(",")[1])
                vals = df[col].to_numpy(dtype="float64", na_value=np.nan)
                df[col] = pd.array(np.where(np.isnan(vals), np.nan,
                                            np.round(vals * 10 ** scale)), dtype="Int64")
            elif typ in ("DOUBLE", "FLOAT", "REAL"):
                df[col] = df[col].astype("float64")
            elif typ.endswith("[]"):  # lists as frozensets (None when missing)
                df[col] = pd.Series([None if _missing(x) else frozenset(x) for x in df[col]],
                                    index=df.index, dtype=object)
        return df

    def _scale(self, table: str, col: str) -> int:
        typ = self.types[table][col]
        return 10 ** int(typ.rstrip(")").split(",")[1]) if typ.startswith("DECIMAL") else 1

    def _order_frame(self) -> pd.DataFrame:
        o = self.f["orders"].copy()
        if "stores" in self.f:
            s = self.f["stores"].rename(columns={"name": "store", "city": "store_city",
                                                 "country": "store_country",
                                                 "store_id": "s_store_id"})
            o = o.merge(s, left_on="store_id", right_on="s_store_id", how="left")
            o = o.drop(columns="s_store_id")
        return o

    def _line_frame(self) -> pd.DataFrame:
        lines = self.f["order_lines"].drop(columns=["customer_id", "store_id", "ordered_at"],
                                           errors="ignore")
        lines = lines.merge(self._orders, on="order_id", how="left")
        if "products" in self.f:
            p = self.f["products"].rename(columns={"name": "product",
                                                   "product_id": "p_product_id"})
            lines = lines.merge(p, left_on="product_id", right_on="p_product_id", how="left")
            lines = lines.drop(columns="p_product_id")
        return lines

    def field_kind(self, table: str, col: str) -> str:
        typ = self.types[table][col].upper()
        if typ.endswith("[]"):
            return "list"
        if typ == "BOOLEAN":
            return "boolean"
        if typ == "DATE":
            return "date"
        if typ.startswith("TIMESTAMP"):
            return "timestamp"
        if typ.startswith("DECIMAL") or typ in ("DOUBLE", "FLOAT", "REAL") or "INT" in typ:
            return "number"
        return "text"

    # -- evaluation -------------------------------------------------------------------------
    def members(self, tree, as_of: dt.datetime, params: dict | None = None,
                sql: Callable[[str], set] | None = None) -> set:
        """Customer ids matching ``tree`` as of ``as_of``. ``sql`` answers advanced-SQL
        conditions (the test supplies the pandas equivalent of its query)."""
        ctx = _Ctx(self, pd.Timestamp(as_of), dict(params or {}), sql)
        mask = ctx.node(canonical(tree))
        return set(self.ids[mask.to_numpy()].tolist())


class _Ctx:
    def __init__(self, ref: Reference, as_of: pd.Timestamp, params: dict, sql):
        self.r = ref
        self.as_of = as_of
        self.params = params
        self.sql = sql

    def value(self, v):
        if isinstance(v, Param):
            return norm_value(self.params[v.name])
        if isinstance(v, tuple):
            return tuple(self.value(x) for x in v)
        return v

    # dates --------------------------------------------------------------------------------
    def day(self, v) -> pd.Timestamp:
        """The calendar day (midnight) a date-like value names."""
        if isinstance(v, RelativeDate):
            today = self.as_of.normalize()
            step = pd.DateOffset(**{v.unit + "s": v.amount})
            if v.anchor is None:
                return today + step
            month_start = today.replace(day=1)
            if v.anchor == "month_start":
                return month_start + step
            if v.anchor == "month_end":
                if v.unit in ("month", "year"):  # lands on the end of the month it reaches
                    return month_start + step + pd.offsets.MonthEnd(0)
                return today + pd.offsets.MonthEnd(0) + step
            year = pd.Timestamp(today.year, 1, 1) if v.anchor == "year_start" else \
                pd.Timestamp(today.year, 12, 31)
            return year + step
        return pd.Timestamp(v).normalize()

    def month_day(self, v, range_end: bool) -> int:
        """``month * 100 + day`` of a year-ignoring bound; a relative one is its day's, and
        Feb 28 of a year without Feb 29 ending a range counts as Feb 29."""
        if not isinstance(v, RelativeDate):
            return v.month * 100 + v.day
        d = self.day(v)
        if range_end and (d.month, d.day) == (2, 28) and not d.is_leap_year:
            return 229
        return d.month * 100 + d.day

    def end_of(self, day: pd.Timestamp) -> pd.Timestamp:
        return day + pd.Timedelta(days=1) - US

    # tree ---------------------------------------------------------------------------------
    def node(self, n) -> pd.Series:
        ids = self.r.ids
        if isinstance(n, Group):
            if not n.rules:
                m = pd.Series(True, index=ids)
            else:
                parts = [self.node(c) for c in n.rules]
                m = parts[0]
                for p in parts[1:]:
                    m = (m & p) if n.op == "and" else (m | p)
            return ~m if n.negate else m
        if isinstance(n, Attribute):
            s = self.r.customers[n.field]
            kind = self.r.field_kind("customers", n.field)
            out = self.attribute(s, kind, self.r._scale("customers", n.field), n)
        elif isinstance(n, Behaviour):
            out = self.behaviour(n)
        elif isinstance(n, Derived):
            out = self.derived(n)
        elif isinstance(n, Sql):
            chosen = self.sql(n.query)
            out = pd.Series(ids.isin(list(chosen)), index=ids)
        elif isinstance(n, SegmentRef):
            raise NotImplementedError("in_segment is tested with the catalog")
        else:
            raise TypeError(n)
        return _bool(out).reindex(ids, fill_value=False)

    # attributes ---------------------------------------------------------------------------
    def attribute(self, s: pd.Series, kind: str, scale: int, n) -> pd.Series:
        op, v = n.op, self.value(n.value)
        present = s.notna()
        if op == "is null":
            return ~present
        if op == "is not null":
            return present
        if op in ("is true", "is false"):
            return _bool(s == (op == "is true"))
        if op in ("in window", "not in window"):
            # the instants of a behaviour window; a date is its midnight
            inside = self.in_window(pd.to_datetime(s), v)
            return inside if op == "in window" else present & ~inside
        if getattr(n, "ignore_year", False):
            lo, hi = self.month_day(v[0], False), self.month_day(v[1], True)
            md = s.dt.month * 100 + s.dt.day
            inside = (md >= lo) & (md <= hi) if lo <= hi else (md >= lo) | (md <= hi)
            return _bool(inside)
        if kind == "list":
            needle = str(v)
            hit = s.map(lambda xs: not _missing(xs) and needle in xs).astype(bool)
            return hit if op == "contains" else present & ~hit
        if kind == "text" and op in ("contains", "not contains", "starts with", "ends with"):
            low, needle = s.str.lower(), str(v).lower()
            hit = {"contains": low.str.contains(needle, regex=False),
                   "not contains": ~_bool(low.str.contains(needle, regex=False)),
                   "starts with": low.str.startswith(needle),
                   "ends with": low.str.endswith(needle)}[op]
            return present & _bool(hit)
        if op in ("in", "not in"):
            items = v if isinstance(v, tuple) else (v,)
            hit = self.any_equal(s, kind, scale, items)
            return hit if op == "in" else present & ~hit
        if op == "between":
            lo, hi = v
            if kind == "timestamp":
                return _bool((s >= self.ts_low(lo)) & (s <= self.ts_high(hi)))
            return self.compare(s, kind, scale, ">=", lo) & self.compare(s, kind, scale, "<=", hi)
        return present & self.compare(s, kind, scale, op, v)

    def any_equal(self, s, kind, scale, items) -> pd.Series:
        out = pd.Series(False, index=s.index)
        for x in items:
            out |= self.compare(s, kind, scale, "=", x)
        return out

    def ts_low(self, v) -> pd.Timestamp:
        return pd.Timestamp(v) if isinstance(v, dt.datetime) else self.day(v)

    def ts_high(self, v) -> pd.Timestamp:
        return pd.Timestamp(v) if isinstance(v, dt.datetime) else self.end_of(self.day(v))

    def compare(self, s: pd.Series, kind: str, scale: int, op: str, v) -> pd.Series:
        """``s op v`` with the day semantics of dates and exact numbers; missing -> False."""
        if kind == "timestamp":
            if isinstance(v, dt.datetime):
                return _bool(_OPS[op](s, pd.Timestamp(v)))
            d = self.day(v)
            if op in ("=", "!="):
                same = (s >= d) & (s <= self.end_of(d))
                return _bool(same) if op == "=" else _bool(s.notna() & ~same)
            bound = self.end_of(d) if op in ("<=", ">") else d
            return _bool(_OPS[op](s, bound))
        if kind == "date":
            d = pd.Timestamp(v.date() if isinstance(v, dt.datetime) else v) \
                if not isinstance(v, RelativeDate) else self.day(v)
            return _bool(_OPS[op](s, d))
        if kind == "number":
            return _num_cmp(s, scale, op, v)
        if kind == "boolean":
            return _bool(_OPS[op](s, bool(v)))
        return _bool(_OPS[op](s, str(v)))

    # behaviour ----------------------------------------------------------------------------
    def window(self, w: Window) -> tuple[pd.Timestamp | None, pd.Timestamp]:
        a = self.as_of
        if w.kind == "all":
            return None, a
        if w.kind == "last":
            return a - pd.DateOffset(**{w.unit + "s": w.n}) + US, a
        jan1 = pd.Timestamp(a.year, 1, 1)
        first = pd.Timestamp(a.year, a.month, 1)
        if w.kind == "this_year":
            return jan1, a
        if w.kind == "last_year":
            return pd.Timestamp(a.year - 1, 1, 1), min(a, jan1 - US)
        if w.kind == "this_month":
            return first, a
        if w.kind == "last_month":
            return first - pd.DateOffset(months=1), min(a, first - US)
        if w.kind == "since":
            return self.day(self.value(w.start)), a
        if w.kind == "between":
            return self.day(self.value(w.start)), min(a, self.end_of(self.day(self.value(w.end))))
        raise ValueError(w.kind)

    def in_window(self, t: pd.Series, w: Window) -> pd.Series:
        lo, hi = self.window(w)
        m = t <= hi
        if lo is not None:
            m &= t >= lo
        return _bool(m)

    def filter_mask(self, frame: pd.DataFrame, g: Group, table_of) -> pd.Series:
        parts = []
        for r in g.rules:
            if isinstance(r, Group):
                parts.append(self.filter_mask(frame, r, table_of))
                continue
            table, col = table_of(r.field)
            kind, scale = self.r.field_kind(table, col), self.r._scale(table, col)
            key, dim = self.r._dims.get(table, (None, None))
            if dim is None or (table == "orders" and frame is self.r._orders):
                parts.append(_bool(self.attribute(frame[r.field], kind, scale, r)))
                continue
            per_row = _bool(self.attribute(dim[r.field], kind, scale, r))
            # a line whose product / store is unknown sees NULL fields (a LEFT JOIN)
            missing = dim[r.field].reset_index(drop=True).iloc[:0].reindex([0])  # one NULL
            on_null = bool(_bool(self.attribute(missing, kind, scale, r)).iloc[0])
            looked_up = frame[key].map(per_row[~per_row.index.duplicated()])
            parts.append(looked_up.astype("boolean").fillna(on_null).astype(bool))
        m = parts[0]
        for p in parts[1:]:
            m = (m & p) if g.op == "and" else (m | p)
        return ~m if g.negate else m

    def behaviour(self, b: Behaviour) -> pd.Series:
        ids = self.r.ids
        if b.metric == "events":
            e = self.r.f["events"]
            m = self.in_window(e["occurred_at"], b.window)
            if b.event_type is not None:
                m &= e["event_type"] == b.event_type
            counts = e[m].groupby("customer_id").size().reindex(ids, fill_value=0)
            return self.count_cmp(counts, 1, b)
        fields = _filter_fields(b.filter)
        line_level = b.metric in ("units", "distinct_products") or bool(
            fields & (PRODUCT_FIELDS | LINE_FIELDS))
        frame = self.r._lines if line_level else self.r._orders
        m = self.in_window(frame["ordered_at"], b.window)
        if b.filter is not None:
            m &= self.filter_mask(frame, b.filter, _table_of)
        money = "amount" if line_level else "total"
        keep = ["customer_id", "order_id", "ordered_at", money] + (
            ["quantity", "product_id"] if line_level else [])
        rows = frame.loc[m.to_numpy(), keep]
        g = rows.groupby("customer_id")
        n_orders = (g["order_id"].nunique() if line_level else g.size()).reindex(ids, fill_value=0)
        if b.metric == "bought":
            return n_orders > 0
        if b.metric == "orders":
            return self.count_cmp(n_orders, 1, b)
        if b.metric == "spend":
            return self.count_cmp(g[money].sum().reindex(ids, fill_value=0), 100, b)
        if b.metric == "units":
            return self.count_cmp(g["quantity"].sum().reindex(ids, fill_value=0), 1, b)
        if b.metric == "distinct_products":
            return self.count_cmp(g["product_id"].nunique().reindex(ids, fill_value=0), 1, b)
        if b.metric == "avg_ticket":
            cents = g[money].sum().reindex(ids)
            return self.avg_cmp(cents, n_orders, b)
        if b.metric in ("first_order", "last_order"):
            t = (g["ordered_at"].min() if b.metric == "first_order" else
                 g["ordered_at"].max()).reindex(ids)
            return self.time_cmp(t, b)
        raise ValueError(b.metric)

    def count_cmp(self, s: pd.Series, scale: int, b: Behaviour) -> pd.Series:
        v = self.value(b.value)
        s = s.astype("Int64")
        if b.op == "between":
            return _num_cmp(s, scale, ">=", v[0]) & _num_cmp(s, scale, "<=", v[1])
        return _num_cmp(s, scale, b.op, v)

    def avg_cmp(self, cents: pd.Series, n: pd.Series, b: Behaviour) -> pd.Series:
        """``cents / 100 / n  op  v`` exactly: ``cents * q  op  p * n`` with v*100 = p/q."""
        v = self.value(b.value)
        have = n > 0

        def one(op, x):
            fr = Fraction(x) * 100
            lhs = cents.fillna(0).astype(object) * fr.denominator  # Python ints: exact
            rhs = n.astype(object) * fr.numerator
            return pd.Series(_OPS[op](lhs, rhs).astype(bool), index=cents.index)

        if b.op == "between":
            out = one(">=", v[0]) & one("<=", v[1])
        else:
            out = one(b.op, v)
        return have & out

    def time_cmp(self, t: pd.Series, b: Behaviour) -> pd.Series:
        if b.op == "is null":
            return t.isna()
        if b.op == "is not null":
            return t.notna()
        v = self.value(b.value)
        if b.op == "between":
            return _bool((t >= self.ts_low(v[0])) & (t <= self.ts_high(v[1])))
        return self.compare(t, "timestamp", 1, b.op, v)

    # derived ------------------------------------------------------------------------------
    def derived(self, d: Derived) -> pd.Series:
        table = self.lifecycle() if d.field == "lifecycle" else self.rfm()
        col = {"rfm_r": "r", "rfm_f": "f", "rfm_m": "m"}.get(d.field, d.field)
        s = table[col].reindex(self.r.ids)
        kind = "text" if d.field in ("lifecycle", "rfm_segment") else "number"
        return self.attribute(s, kind, 1, d)

    def rfm(self) -> pd.DataFrame:
        key = ("rfm", self.as_of)
        if key not in self.r._memo:
            self.r._memo[key] = self._rfm()
        return self.r._memo[key]

    def _rfm(self) -> pd.DataFrame:
        o = self.r.f["orders"]
        o = o[o["ordered_at"] <= self.as_of]
        start = self.as_of - pd.Timedelta(days=365) + US
        period = o[o["ordered_at"] >= start]
        g = period.groupby("customer_id")
        out = pd.DataFrame({"rec": g["ordered_at"].max(), "freq": g.size(),
                            "mon": g["total"].sum()})
        n = len(out)
        for col, score in (("rec", "r"), ("freq", "f"), ("mon", "m")):
            k = out[col].rank(method="min")  # customers with a lower value, plus one
            out[score] = np.ceil(5 * k / n).astype("Int64")
        names = {(r, f): _rfm_name(r, f) for r in range(1, 6) for f in range(1, 6)}
        out["rfm_segment"] = [names[(r, f)] for r, f in zip(out["r"].tolist(),
                                                             out["f"].tolist())]
        lost_ids = sorted(set(o.loc[o["ordered_at"] < start, "customer_id"]) - set(out.index))
        lost = pd.DataFrame({"r": pd.array([pd.NA] * len(lost_ids), dtype="Int64"),
                             "f": pd.array([pd.NA] * len(lost_ids), dtype="Int64"),
                             "m": pd.array([pd.NA] * len(lost_ids), dtype="Int64"),
                             "rfm_segment": "lost"}, index=pd.Index(lost_ids))
        return pd.concat([out[["r", "f", "m", "rfm_segment"]], lost])

    def lifecycle(self) -> pd.DataFrame:
        key = ("lifecycle", self.as_of)
        if key not in self.r._memo:
            self.r._memo[key] = self._lifecycle()
        return self.r._memo[key]

    def _lifecycle(self) -> pd.DataFrame:
        o = self.r.f["orders"]
        g = o[o["ordered_at"] <= self.as_of].groupby("customer_id")["ordered_at"]
        first, last = g.min().reindex(self.r.ids), g.max().reindex(self.r.ids)

        def within(t, days):  # ">= as_of - N days + 1 µs"
            return _bool(t >= self.as_of - pd.Timedelta(days=days) + US)

        stage = np.select(
            [first.isna().to_numpy(), within(first, 90).to_numpy(),
             within(last, 180).to_numpy(), within(last, 365).to_numpy(),
             within(last, 730).to_numpy()],
            ["prospect", "new", "active", "at risk", "hibernating"], default="lost")
        return pd.DataFrame({"lifecycle": stage}, index=self.r.ids)


# -- helpers -----------------------------------------------------------------------------------
def _bool(s) -> pd.Series:
    """Two-valued logic: missing is False."""
    if isinstance(s, pd.Series):
        return s.astype("boolean").fillna(False).astype(bool)
    return s


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _num_cmp(s: pd.Series, scale: int, op: str, v) -> pd.Series:
    """``s / scale  op  v`` exactly, for integer ``s`` (cents for money)."""
    fr = Fraction(v) * scale
    p, q = fr.numerator, fr.denominator
    x = s.astype("Int64")
    return _bool(_OPS[op](x * q, p)) if abs(p) < 2 ** 62 else _bool(
        x.map(lambda a: _OPS[op](Fraction(int(a)) * q, p), na_action="ignore"))


def _filter_fields(g: Group | None) -> set[str]:
    if g is None:
        return set()
    out = set()
    for r in g.rules:
        out |= _filter_fields(r) if isinstance(r, Group) else {r.field}
    return out


def _table_of(name: str) -> tuple[str, str]:
    if name in PRODUCT_FIELDS:
        return "products", {"product": "name"}.get(name, name)
    if name in STORE_FIELDS:
        return "stores", {"store": "name", "store_city": "city",
                          "store_country": "country"}.get(name, name)
    if name in ORDER_FIELDS:
        return "orders", name
    if name in LINE_FIELDS:
        return "order_lines", name
    raise KeyError(f"not a purchase field: {name}")


def _rfm_name(r, f) -> str:
    for rs, fs, name in RFM_MAP:
        if str(r) in rs and str(f) in fs:
            return name
    raise ValueError((r, f))


__all__ = ["Reference"]
