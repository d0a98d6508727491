"""Table-driven compiler tests: each case checks the SQL the compiler writes (a fragment, or
the whole statement for simple ones) and the members DuckDB returns against the independent
pandas evaluator of ``tests/reference.py``.

Two data sets: the size-S demo (realistic, most cases) and the hand-made workspace of
``tests/handmade.py`` (custom integer / number / list fields, NULL booleans, and orders placed
exactly on window edges).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
import pytest
import sqlglot

import segjupyter
from segjupyter.errors import RuleValidationError
from segjupyter.rules.compile import compile_segment
from segjupyter.rules.model import (Attribute as A, Behaviour as B, Derived as D,
                                    Group as G, MonthDay, Param, RelativeDate as Rel, Sql,
                                    Window as W, walk)

import handmade
from reference import LINE_FIELDS, PRODUCT_FIELDS, Reference

ASOF = dt.datetime(2026, 6, 30, 23, 59)  # the demo's reference date (its default as_of)


def F(*rules, op="and", negate=False) -> G:
    return G(op, rules, negate)


def ts(text: str) -> str:
    return f"CAST('{text}' AS TIMESTAMP)"


@dataclass(frozen=True)
class Case:
    id: str
    tree: object
    sql: tuple = ()              # fragments of the printed DuckDB SQL (values inlined)
    as_of: object = None         # None: the workspace default
    params: dict = field(default_factory=dict)
    trivial: bool = False        # an empty or full member set is expected


def _flat(sql: str) -> str:
    return re.sub(r"\s+", " ", sql)


def shape_fragments(tree) -> list[str]:
    """SQL every compiled tree must show, read off the tree and docs/evaluation.md: the
    customer column of each attribute, the pass over orders / lines / events of each
    behaviour (its filter in a FILTER clause or the pass's WHERE), the derived table; a
    tuple holds alternatives."""
    out = []
    for _, node in walk(tree):
        if isinstance(node, A):
            out.append(f'"c"."{node.field}"')
        elif isinstance(node, B):
            fields = {n.field for _, n in walk(node.filter) if isinstance(n, A)} \
                if node.filter else set()
            lines = node.metric in ("units", "distinct_products") or fields & (
                PRODUCT_FIELDS | LINE_FIELDS)
            out.append("FROM events AS e" if node.metric == "events" else
                       "FROM order_lines AS l" if lines else "FROM orders AS o")
            if node.filter or node.event_type:
                # a FILTER clause, or the pass's WHERE when every term of the pass filters
                # alike (one term: the filter is tested once per row)
                out.append(("FILTER(WHERE", " AND (("))
            elif node.window.kind != "all":  # the window alone may be the pass's WHERE
                out.append("_at\" >= ")
        elif isinstance(node, D):
            out.append("d_lc AS (" if node.field == "lifecycle" else "d_rfm AS (")
    return out


def check(case: Case, ws, ref: Reference, sql_oracle=None) -> set:
    seg = ws.segment(case.tree, params=case.params)
    text = _flat(seg.sql(as_of=case.as_of, pretty=False))
    for frag in (*case.sql, *shape_fragments(case.tree)):
        alternatives = frag if isinstance(frag, tuple) else (frag,)
        assert any(_flat(f) in text for f in alternatives), f"{frag!r} not in SQL:\n{text}"
    as_of = ws.resolve_as_of(case.as_of)
    got = set(seg.member_ids(case.as_of).tolist())
    want = ref.members(case.tree, as_of, case.params, sql=sql_oracle)
    assert got == want, (f"{len(got)} members, reference {len(want)}; only compiled: "
                         f"{sorted(got - want)[:10]}, only reference: {sorted(want - got)[:10]}")
    # the printed SQL (values inlined as literals) means the same as the bound one
    printed = set(ws.sql(seg.sql(as_of=case.as_of)).df()["customer_id"].tolist())
    assert printed == got
    if not case.trivial:
        assert 0 < len(want) < len(ref.ids), f"trivial member set ({len(want)})"
    return got


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_ws(demo_ws_path):
    return segjupyter.open(demo_ws_path)


@pytest.fixture(scope="module")
def demo_ref(demo_ws):
    return Reference.from_workspace(demo_ws)


@pytest.fixture(scope="module")
def hm_ws(tmp_path_factory):
    return handmade.build(str(tmp_path_factory.mktemp("handmade")))


@pytest.fixture(scope="module")
def hm_ref(hm_ws):
    return Reference.from_workspace(hm_ws)


# -- exact SQL --------------------------------------------------------------------------------
# In the WHERE, COALESCE(x, FALSE) is dropped where only and/or lead to it (it cannot change
# which rows pass), and a pass a top-level condition needs rows of is inner-joined, or
# selected from instead of customers when no other customer column is used.
EXACT = [
    (A("city", "=", "Madrid"),
     'SELECT "c"."customer_id" FROM customers AS c WHERE "c"."city" = $p0',
     {"p0": "Madrid"}),
    (A("email", "is null"),
     'SELECT "c"."customer_id" FROM customers AS c WHERE "c"."email" IS NULL',
     {}),
    (F(A("city", "in", ("Madrid", "Lisboa")), A("subscribed", "is true"), op="or", negate=True),
     'SELECT "c"."customer_id" FROM customers AS c WHERE NOT ((COALESCE("c"."city" IN ($p0, '
     '$p1), FALSE) OR COALESCE("c"."subscribed" = TRUE, FALSE)))',
     {"p0": "Madrid", "p1": "Lisboa"}),
    (A("birth_date", "between", ("12-02", "01-03"), ignore_year=True),
     'SELECT "c"."customer_id" FROM customers AS c WHERE (EXTRACT(MONTH FROM '
     '"c"."birth_date") * 100 + EXTRACT(DAY FROM "c"."birth_date") >= $p0 OR EXTRACT(MONTH '
     'FROM "c"."birth_date") * 100 + EXTRACT(DAY FROM "c"."birth_date") <= $p1)',
     {"p0": 1202, "p1": 103}),
    (B("orders", ">=", 3, window=W("last", 30, "day")),
     'WITH o AS (SELECT "o"."customer_id", COUNT(*) AS "t0" FROM orders AS o WHERE '
     '"o"."ordered_at" <= $p2 AND "o"."ordered_at" >= $p3 GROUP BY "o"."customer_id") SELECT '
     '"c"."customer_id" FROM o AS c WHERE COALESCE("c"."t0", 0) >= $p1',
     {"p1": 3, "p2": ASOF, "p3": dt.datetime(2026, 5, 31, 23, 59, 0, 1)}),
]


@pytest.mark.parametrize("tree,sql,values", EXACT, ids=[f"exact{i}" for i in range(len(EXACT))])
def test_exact_sql(tree, sql, values, demo_ws, demo_ref):
    got_sql, got_values = compile_segment(tree, demo_ws.fields, ASOF)
    assert got_sql == sql
    assert got_values == values
    check(Case("exact", tree), demo_ws, demo_ref)


# -- attribute operators, every field type (demo) ---------------------------------------------
EMAIL = "javier.hernandez13@example.com"
ATTRIBUTE_CASES = [
    # text
    Case("text =", A("email", "=", EMAIL), ('"c"."email" = \'javier.hernandez13@example.com\'',)),
    Case("text !=", A("email", "!=", EMAIL), ('"c"."email" <> ',)),
    Case("text in", A("email", "in", (EMAIL, "sofia.sanchez38@example.org", "nobody")),
         ('"c"."email" IN (',)),
    Case("text not in", A("email", "not in", (EMAIL,)), ('NOT "c"."email" IN (',)),
    Case("text contains", A("email", "contains", "HERNANDEZ"),
         ("STRPOS(LOWER(\"c\".\"email\"), LOWER('HERNANDEZ')) > 0",)),
    Case("text not contains", A("email", "not contains", ".org"), ("NOT STRPOS(",)),
    Case("text starts with", A("email", "starts with", "Javier"),
         ("STARTS_WITH(LOWER(\"c\".\"email\"), LOWER('Javier'))",)),
    Case("text ends with", A("email", "ends with", ".ORG"), ("ENDS_WITH(",)),
    Case("text is null", A("email", "is null"), ('"c"."email" IS NULL',)),
    Case("text is not null", A("phone", "is not null"), ('NOT "c"."phone" IS NULL',)),
    # category
    Case("category =", A("city", "=", "Madrid")),
    Case("category = unicode", A("city", "=", "Málaga"), ("'Málaga'",)),
    Case("category !=", A("city", "!=", "Madrid")),
    Case("category in", A("city", "in", ("Madrid", "Barcelona", "Lisboa"))),
    Case("category not in", A("city", "not in", ("Madrid", "Barcelona"))),
    Case("category contains", A("city", "contains", "BAR")),
    Case("category not contains", A("city", "not contains", "a")),
    Case("category starts with", A("city", "starts with", "ma")),
    Case("category ends with", A("city", "ends with", "ONA")),
    Case("category is null", A("gender", "is null")),
    Case("category is not null", A("gender", "is not null")),
    Case("custom category =", A("loyalty_tier", "=", "gold")),
    Case("custom category in", A("preferred_channel", "in", ("app", "web"))),
    # integer
    Case("integer =", A("customer_id", "=", 13), ('"c"."customer_id" = 13',)),
    Case("integer !=", A("customer_id", "!=", 13)),
    Case("integer <", A("customer_id", "<", 100)),
    Case("integer <=", A("customer_id", "<=", 100)),
    Case("integer >", A("customer_id", ">", 9000)),
    Case("integer >=", A("customer_id", ">=", 9000)),
    Case("integer between", A("customer_id", "between", (10, 20)),
         ('"c"."customer_id" BETWEEN 10 AND 20',)),
    Case("integer in", A("customer_id", "in", (1, 2, 3, 13))),
    Case("integer not in", A("customer_id", "not in", (1, 2, 3, 13))),
    Case("integer is null", A("customer_id", "is null"), trivial=True),
    Case("integer is not null", A("customer_id", "is not null"), trivial=True),
    # date
    Case("date =", A("birth_date", "=", dt.date(1978, 1, 30)),
         ('"c"."birth_date" = CAST(\'1978-01-30\' AS DATE)',)),
    Case("date !=", A("birth_date", "!=", dt.date(1978, 1, 30))),
    Case("date <", A("birth_date", "<", dt.date(1970, 1, 1))),
    Case("date <=", A("birth_date", "<=", dt.date(1970, 1, 1))),
    Case("date >", A("birth_date", ">", dt.date(2000, 1, 1))),
    Case("date >=", A("birth_date", ">=", dt.date(2000, 1, 1))),
    Case("date between", A("birth_date", "between", (dt.date(1980, 1, 1), dt.date(1989, 12, 31)))),
    Case("date relative", A("birth_date", ">=", Rel(-30, "year")),
         ("CAST('1996-06-30' AS DATE)",)),
    Case("date relative month end", A("birth_date", "<", Rel(-40, "year")), as_of="2024-02-29"),
    Case("date is null", A("birth_date", "is null")),
    Case("date is not null", A("birth_date", "is not null")),
    Case("ignore year wraps", A("birth_date", "between", ("12-02", "01-03"), ignore_year=True),
         (">= 1202 OR", "<= 103")),
    Case("ignore year feb 29 inside", A("birth_date", "between", ("02-28", "03-01"),
                                        ignore_year=True), ("BETWEEN 228 AND 301",)),
    Case("ignore year feb 29 only", A("birth_date", "between", ("02-29", "02-29"),
                                      ignore_year=True)),
    Case("ignore year feb 28 only", A("birth_date", "between", ("02-28", "02-28"),
                                      ignore_year=True)),
    Case("ignore year june", A("birth_date", "between", ("06-01", "06-30"), ignore_year=True)),
    # timestamp
    Case("timestamp >= date", A("registered_at", ">=", dt.date(2025, 1, 1)),
         (ts("2025-01-01 00:00:00"),)),
    Case("timestamp < date", A("registered_at", "<", dt.date(2025, 1, 1))),
    Case("timestamp <= date (end of day)", A("registered_at", "<=", dt.date(2024, 12, 31)),
         (ts("2024-12-31 23:59:59.999999"),)),
    Case("timestamp > date (end of day)", A("registered_at", ">", dt.date(2024, 12, 31)),
         (ts("2024-12-31 23:59:59.999999"),)),
    Case("timestamp = date", A("registered_at", "=", dt.date(2024, 9, 21)),
         ('CAST("c"."registered_at" AS DATE) = CAST(\'2024-09-21\' AS DATE)',)),
    Case("timestamp != date", A("registered_at", "!=", dt.date(2024, 9, 21))),
    Case("timestamp = instant", A("registered_at", "=", dt.datetime(2024, 9, 21, 12, 14, 37)),
         ('"c"."registered_at" = ' + ts("2024-09-21 12:14:37"),)),
    Case("timestamp >= instant", A("registered_at", ">=", dt.datetime(2025, 6, 1, 12, 30))),
    Case("timestamp between dates", A("registered_at", "between",
                                      (dt.date(2024, 1, 1), dt.date(2024, 1, 31))),
         (ts("2024-01-01 00:00:00"), ts("2024-01-31 23:59:59.999999"))),
    Case("timestamp relative", A("registered_at", ">=", Rel(-30)),
         (ts("2026-05-31 00:00:00"),)),
    Case("timestamp relative = today", A("registered_at", "<", Rel(-1, "year")),
         (ts("2025-06-30 00:00:00"),)),
    Case("timestamp relative month clamp", A("registered_at", ">=", Rel(-1, "month")),
         (ts("2026-02-28 00:00:00"),), as_of="2026-03-31"),
    Case("timestamp <= instant", A("registered_at", "<=", dt.datetime(2024, 9, 21, 12, 14, 37)),
         ('"c"."registered_at" <= ' + ts("2024-09-21 12:14:37"),)),
    Case("timestamp between instants", A("registered_at", "between", (
        dt.datetime(2024, 9, 21, 12, 14, 37), dt.datetime(2024, 10, 1, 8, 0)))),
    Case("timestamp = relative day", A("registered_at", "=", Rel(-10)),
         ('CAST("c"."registered_at" AS DATE) = CAST(\'2026-06-20\' AS DATE)',)),
    Case("timestamp is null", A("registered_at", "is null"), trivial=True),
    Case("timestamp is not null", A("registered_at", "is not null"), trivial=True),
    # boolean
    Case("boolean is true", A("subscribed", "is true"), ('"c"."subscribed" = TRUE',)),
    Case("boolean is false", A("subscribed", "is false")),
    Case("boolean = true", A("subscribed", "=", True)),
    Case("boolean = false", A("subscribed", "=", False)),
    Case("boolean != true", A("subscribed", "!=", True)),
    Case("boolean is not null", A("subscribed", "is not null"), trivial=True),
    # negation is two-valued
    Case("not city", F(A("gender", "=", "female"), negate=True)),
    Case("not (a or b)", F(A("city", "=", "Madrid"), A("subscribed", "is true"), op="or",
                           negate=True)),
    Case("nested groups", F(F(A("city", "=", "Madrid"), A("city", "=", "Lisboa"), op="or"),
                            F(A("gender", "=", "male"), negate=True),
                            A("birth_date", "is not null"))),
]


@pytest.mark.parametrize("case", ATTRIBUTE_CASES, ids=lambda c: c.id)
def test_attribute(case, demo_ws, demo_ref):
    check(case, demo_ws, demo_ref)


# -- custom field types only the hand-made data has ------------------------------------------
HANDMADE_ATTRIBUTE_CASES = [
    Case("custom integer =", A("loyalty_points", "=", 361), ('"c"."loyalty_points" = 361',)),
    Case("custom integer in", A("loyalty_points", "in", (1, 2, 3, 158, 579))),
    Case("custom integer !=", A("loyalty_points", "!=", 500)),
    Case("custom integer <", A("loyalty_points", "<", 100)),
    Case("custom integer <=", A("loyalty_points", "<=", 100)),
    Case("custom integer >", A("loyalty_points", ">", 900)),
    Case("custom integer >=", A("loyalty_points", ">=", 900)),
    Case("custom integer between", A("loyalty_points", "between", (100, 200))),
    Case("custom integer not in", A("loyalty_points", "not in", (1, 2, 3))),
    Case("custom integer is null", A("loyalty_points", "is null")),
    Case("custom integer is not null", A("loyalty_points", "is not null")),
    Case("custom integer vs decimal", A("loyalty_points", ">", Decimal("99.5"))),
    Case("number =", A("score", "=", Decimal("96.86")), ('"c"."score" = 96.86',)),
    Case("number !=", A("score", "!=", Decimal("12.34"))),
    Case("number <", A("score", "<", Decimal("10.05"))),
    Case("number <=", A("score", "<=", 10)),
    Case("number >", A("score", ">", Decimal("90.5"))),
    Case("number >=", A("score", ">=", Decimal("90.50"))),
    Case("number between", A("score", "between", (Decimal("20"), Decimal("30.25")))),
    Case("number is null", A("score", "is null")),
    Case("number is not null", A("score", "is not null")),
    Case("list contains", A("interests", "contains", "vegan"), ("ARRAY_CONTAINS(",)),
    Case("list not contains", A("interests", "not contains", "vegan")),
    Case("list is null", A("interests", "is null")),
    Case("list is not null", A("interests", "is not null")),
    Case("boolean is null", A("subscribed", "is null")),
    Case("boolean != false", A("subscribed", "!=", False)),
    Case("not boolean", F(A("subscribed", "is true"), negate=True)),
    Case("category with quote", A("city", "=", "O'Brien Town"), ("'O''Brien Town'",)),
    Case("text ends with unicode", A("first_name", "ends with", "Ë")),
    Case("ignore year feb 29", A("birth_date", "between", ("02-29", "02-29"), ignore_year=True)),
    Case("ignore year not feb 29", A("birth_date", "between", ("02-28", "02-28"),
                                     ignore_year=True)),
    Case("ignore year wrap", A("birth_date", "between", ("12-31", "01-01"), ignore_year=True)),
]


@pytest.mark.parametrize("case", HANDMADE_ATTRIBUTE_CASES, ids=lambda c: c.id)
def test_attribute_custom_types(case, hm_ws, hm_ref):
    check(case, hm_ws, hm_ref)


def test_handmade_has_the_special_days(hm_ref):
    """The leap-day cases above can only fail if the data holds those birthdays."""
    b = hm_ref.customers["birth_date"].dropna()
    md = set(zip(b.dt.month, b.dt.day))
    assert {(2, 29), (2, 28), (3, 1), (12, 31), (1, 1), (12, 2), (1, 3)} <= md


# -- windows ----------------------------------------------------------------------------------
def spend_in(window, value=50):
    return B("spend", ">=", value, window=window)


WINDOW_CASES = [
    Case("all time", B("orders", ">=", 12),
         ('"o"."ordered_at" <= ' + ts("2026-06-30 23:59:00"),)),
    Case("last 30 days", spend_in(W("last", 30, "day")),
         ('"o"."ordered_at" >= ' + ts("2026-05-31 23:59:00.000001"),)),
    Case("last 1 day", B("bought", window=W("last", 1, "day")),
         (ts("2026-06-29 23:59:00.000001"),)),
    Case("last 2 weeks", spend_in(W("last", 2, "week")), (ts("2026-06-16 23:59:00.000001"),)),
    Case("last 6 months", spend_in(W("last", 6, "month"), 200),
         (ts("2025-12-30 23:59:00.000001"),)),
    Case("last 1 year", spend_in(W("last", 1, "year"), 300), (ts("2025-06-30 23:59:00.000001"),)),
    Case("last 1 month, as_of month end", spend_in(W("last", 1, "month")),
         (ts("2026-03-01 00:00:00"), ts("2026-03-31 23:59:59.999999")), as_of="2026-03-31"),
    Case("last 3 months, as_of May 31 (clamps to Feb 29)", spend_in(W("last", 3, "month"), 100),
         (ts("2024-03-01 00:00:00"),), as_of="2024-05-31"),
    Case("last 1 month, as_of Feb 29", spend_in(W("last", 1, "month")),
         (ts("2024-01-30 00:00:00"), ts("2024-02-29 23:59:59.999999")), as_of="2024-02-29"),
    Case("last 1 year, as_of Feb 29", spend_in(W("last", 1, "year"), 100),
         (ts("2023-03-01 00:00:00"),), as_of="2024-02-29"),
    Case("last 1 month, as_of Feb 28 non-leap", spend_in(W("last", 1, "month")),
         (ts("2026-01-29 00:00:00"),), as_of="2026-02-28"),
    Case("this year", spend_in(W("this_year"), 100), (ts("2026-01-01 00:00:00"),)),
    Case("last year", spend_in(W("last_year"), 100),
         (ts("2025-01-01 00:00:00"), ts("2025-12-31 23:59:59.999999"))),
    Case("last year, as_of Feb 29", spend_in(W("last_year"), 100),
         (ts("2023-01-01 00:00:00"), ts("2023-12-31 23:59:59.999999")), as_of="2024-02-29"),
    Case("this month", B("bought", window=W("this_month")), (ts("2026-06-01 00:00:00"),)),
    Case("this month, as_of Feb 29", B("bought", window=W("this_month")),
         (ts("2024-02-01 00:00:00"),), as_of="2024-02-29"),
    Case("last month", B("bought", window=W("last_month")),
         (ts("2026-05-01 00:00:00"), ts("2026-05-31 23:59:59.999999"))),
    Case("last month, as_of Mar 31 (February)", B("bought", window=W("last_month")),
         (ts("2024-02-01 00:00:00"), ts("2024-02-29 23:59:59.999999")), as_of="2024-03-31"),
    Case("last month, as_of Jan (December)", B("bought", window=W("last_month")),
         (ts("2025-12-01 00:00:00"), ts("2025-12-31 23:59:59.999999")), as_of="2026-01-15"),
    Case("since", spend_in(W("since", start=dt.date(2026, 1, 15))),
         (ts("2026-01-15 00:00:00"),)),
    Case("between", B("orders", ">=", 2, window=W("between", start=dt.date(2025, 12, 1),
                                                   end=dt.date(2025, 12, 31))),
         (ts("2025-12-01 00:00:00"), ts("2025-12-31 23:59:59.999999"))),
    Case("between cut at as_of", B("orders", ">=", 1, window=W(
        "between", start=dt.date(2026, 6, 1), end=dt.date(2026, 12, 31))),
         (ts("2026-06-01 00:00:00"),)),
    Case("between before the data", B("orders", ">=", 1, window=W(
        "between", start=dt.date(2020, 1, 1), end=dt.date(2020, 12, 31))), trivial=True),
    Case("window as_of instant (not end of day)", B("bought", window=W("last", 7, "day")),
         (ts("2025-11-03 09:30:00.000001"), ts("2025-11-10 09:30:00")),
         as_of=dt.datetime(2025, 11, 10, 9, 30)),
    Case("nothing after as_of", B("orders", ">=", 1), (ts("2024-01-01 23:59:59.999999"),),
         as_of="2024-01-01"),
    Case("since param", spend_in(W("since", start=Param("start"))),
         (ts("2026-02-01 00:00:00"),), params={"start": "2026-02-01"}),
    Case("between params", B("bought", window=W("between", start=Param("a"), end=Param("b"))),
         params={"a": dt.date(2026, 3, 1), "b": dt.date(2026, 3, 31)}),
]


@pytest.mark.parametrize("case", WINDOW_CASES, ids=lambda c: c.id)
def test_window(case, demo_ws, demo_ref):
    check(case, demo_ws, demo_ref)


def test_boundary_instant_on_demo_orders(demo_ws, demo_ref):
    """An order exactly at ``as_of - 30 days`` is outside ``last 30 days``; one microsecond
    later it is inside; an order exactly at ``as_of`` is inside."""
    o = demo_ref.f["orders"].sort_values(["customer_id", "ordered_at"])
    gap = o.groupby("customer_id")["ordered_at"].shift(-1) - o["ordered_at"]
    lonely = o[(gap > pd.Timedelta(days=40)) & (o["ordered_at"] < pd.Timestamp("2026-01-01"))]
    row = lonely.iloc[len(lonely) // 2]  # no other order of that customer in (t, t + 40 d]
    cid, t = int(row["customer_id"]), row["ordered_at"].to_pydatetime()
    me = A("customer_id", "=", cid)
    for as_of, want in ((t + dt.timedelta(days=30), False),
                        (t + dt.timedelta(days=30, microseconds=-1), True)):
        tree = F(me, B("bought", window=W("last", 30, "day")),
                 B("orders", "=", 1, window=W("last", 30, "day")))
        solo = F(me, B("bought", window=W("last", 30, "day")))
        assert demo_ref.members(solo, as_of) == ({cid} if want else set())
        assert set(demo_ws.segment(solo).member_ids(as_of)) == ({cid} if want else set())
        assert set(demo_ws.segment(tree).member_ids(as_of)) == demo_ref.members(tree, as_of)
    # exactly at as_of: included; one microsecond before: not yet ordered
    tree = F(me, B("last_order", "=", t))
    assert set(demo_ws.segment(tree).member_ids(t)) == {cid} == demo_ref.members(tree, t)
    first = F(me, B("orders", ">=", 1, window=W("last", 1, "day")))
    before = t - dt.timedelta(microseconds=1)
    assert set(demo_ws.segment(first).member_ids(t)) == {cid}
    assert set(demo_ws.segment(first).member_ids(before)) == demo_ref.members(first, before)


# -- anchored relative dates and relative year-ignoring ranges ------------------------------
def Som(n=0, unit="day"):
    return Rel(n, unit, "month_start")


def Eom(n=0, unit="day"):
    return Rel(n, unit, "month_end")


def Soy(n=0, unit="day"):
    return Rel(n, unit, "year_start")


def Eoy(n=0, unit="day"):
    return Rel(n, unit, "year_end")


def bday(lo, hi):
    return A("birth_date", "between", (lo, hi), ignore_year=True)


LEAP, JAN31, DEC31, FEB28 = "2024-02-29", "2025-01-31", "2025-12-31", "2026-02-28"
ANCHORED_CASES = [
    # attributes on timestamp and date fields
    Case("start of month, as_of Feb 29", A("registered_at", ">=", Som()),
         (ts("2024-02-01 00:00:00"),), as_of=LEAP),
    Case("start of month -1m, as_of Jan 31", A("registered_at", "<", Som(-1, "month")),
         (ts("2024-12-01 00:00:00"),), as_of=JAN31),
    Case("end of month, as_of Feb 28 non-leap", A("registered_at", "<=", Eom()),
         (ts("2026-02-28 23:59:59.999999"),), as_of=FEB28),
    Case("end of month -2y lands on Feb 29", A("registered_at", "<=", Eom(-2, "year")),
         (ts("2024-02-29 23:59:59.999999"),), as_of=FEB28),
    Case("end of month -1m = Feb 29", A("registered_at", "=", Eom(-1, "month")),
         ("CAST(\'2024-02-29\' AS DATE)",), as_of="2024-03-31"),
    Case("this year, as_of Dec 31", A("registered_at", "between", (Soy(), Eoy())),
         (ts("2025-01-01 00:00:00"), ts("2025-12-31 23:59:59.999999")), as_of=DEC31),
    Case("end of year +1d", A("registered_at", "<", Eoy(1)), (ts("2026-01-01 00:00:00"),),
         as_of=DEC31),
    Case("date field, start of year -30y", A("birth_date", ">=", Soy(-30, "year")),
         ("CAST(\'1994-01-01\' AS DATE)",), as_of=LEAP),
    Case("date field, end of month -40y", A("birth_date", "<", Eom(-40, "year")),
         ("CAST(\'1984-02-29\' AS DATE)",), as_of=LEAP),
    # first / last order
    Case("first order this month, as_of Feb 29", B("first_order", ">=", Som()),
         (ts("2024-02-01 00:00:00"),), as_of=LEAP),
    Case("first order on end of month", B("first_order", "=", Eom()),
         ("CAST(\'2024-02-29\' AS DATE)",), as_of=LEAP),
    Case("last order last month, as_of Jan 31",
         B("last_order", "between", (Som(-1, "month"), Eom(-1, "month"))),
         (ts("2024-12-01 00:00:00"), ts("2024-12-31 23:59:59.999999")), as_of=JAN31),
    Case("last order before this year, as_of Dec 31", B("last_order", "<", Soy()),
         (ts("2025-01-01 00:00:00"),), as_of=DEC31),
    Case("last order after end of month -1m", B("last_order", ">", Eom(-1, "month")),
         (ts("2026-01-31 23:59:59.999999"),), as_of=FEB28),
    # year-ignoring ranges with relative bounds
    Case("birthday this month, as_of Feb 29", bday(Som(), Eom()), ("BETWEEN 201 AND 229",),
         as_of=LEAP),
    Case("birthday this month, Feb 28 non-leap (Feb 29 kept)", bday(Som(), Eom()),
         ("BETWEEN 201 AND 229",), as_of=FEB28),
    Case("birthday this month, as_of Jan 31", bday(Som(), Eom()), ("BETWEEN 101 AND 131",),
         as_of=JAN31),
    Case("birthday this month, as_of Dec 31", bday(Som(), Eom()), ("BETWEEN 1201 AND 1231",),
         as_of=DEC31),
    Case("birthday next 7 days wraps the new year", bday(Rel(0), Rel(7)),
         (">= 1231 OR", "<= 107"), as_of=DEC31),
    Case("birthday next 7 days, as_of Feb 29", bday(Rel(0), Rel(7)), ("BETWEEN 229 AND 307",),
         as_of=LEAP),
    Case("birthday last 7 days, Feb 28 non-leap", bday(Rel(-7), Rel(0)),
         ("BETWEEN 221 AND 229",), as_of=FEB28),
    Case("birthday next month, as_of Jan 31 non-leap", bday(Som(1, "month"), Eom(1, "month")),
         ("BETWEEN 201 AND 229",), as_of="2026-01-31"),
    Case("birthday around new year", bday(Eoy(), Soy(6)), (">= 1231 OR", "<= 107"),
         as_of=LEAP),
    Case("relative and fixed bounds", bday(MonthDay(12, 24), Som(1, "year")),
         (">= 1224 OR", "<= 101"), as_of=JAN31),
]


@pytest.mark.parametrize("case", ANCHORED_CASES, ids=lambda c: c.id)
def test_anchored_relative_dates(case, demo_ws, demo_ref):
    check(case, demo_ws, demo_ref)


@pytest.mark.parametrize("tree", [A("registered_at", ">", Rel(-9000, "year")),
                                  B("last_order", "<", Eoy(9000, "year")),
                                  bday(Rel(0), Som(-9000, "year"))], ids=["attr", "last", "bday"])
def test_relative_date_outside_the_calendar_is_a_rule_error(demo_ws, tree):
    with pytest.raises(RuleValidationError, match="outside the calendar"):
        demo_ws.segment(tree).count(as_of="2026-02-28")


def test_feb_29_birthdays_in_february_of_every_year(hm_ws, hm_ref):
    """Customers born on Feb 29 have their birthday "this month" in February of a year
    without Feb 29 too; a fixed "02-01".."02-28" range still leaves them out."""
    b = hm_ref.customers["birth_date"]
    leap_born = set(b[(b.dt.month == 2) & (b.dt.day == 29)].index)
    feb_born = set(b[b.dt.month == 2].index)
    assert leap_born
    this_month = bday(Som(), Eom())
    for as_of in ("2023-02-01", "2026-02-28", "2024-02-29", "2024-02-10"):
        got = set(hm_ws.segment(this_month).member_ids(as_of).tolist())
        assert got == feb_born == hm_ref.members(this_month, hm_ws.resolve_as_of(as_of))
    fixed = bday(MonthDay(2, 1), MonthDay(2, 28))
    assert not set(hm_ws.segment(fixed).member_ids("2026-02-28").tolist()) & leap_born
    # the week before Feb 28 of a non-leap year ends on "Feb 29"; on Mar 1 it has passed
    last_week = bday(Rel(-6), Rel(0))
    assert leap_born <= set(hm_ws.segment(last_week).member_ids("2026-02-28").tolist())
    assert not leap_born & set(hm_ws.segment(bday(Rel(0), Rel(6))).member_ids(
        "2026-03-01").tolist())


# -- window edges on hand-made data: one customer per instant --------------------------------
M, L, MID = handmade.MONTH_END, handmade.LEAP_DAY, handmade.MIDDAY
US = dt.timedelta(microseconds=1)


def at(*parts) -> dt.datetime:
    return dt.datetime(*parts)


def eod(y, m, d) -> dt.datetime:
    return dt.datetime(y, m, d, 23, 59, 59, 999999)


EDGES = [  # (as_of, condition, instant of the customer's only order, member?)
    (M, B("bought"), M, True),
    (M, B("bought"), M + US, False),
    (M, B("bought", window=W("last", 1, "month")), eod(2024, 2, 29), False),
    (M, B("bought", window=W("last", 1, "month")), at(2024, 3, 1), True),
    (M, B("bought", window=W("last", 3, "month")), eod(2023, 12, 31), False),
    (M, B("bought", window=W("last", 3, "month")), at(2024, 1, 1), True),
    (M, B("bought", window=W("last", 30, "day")), eod(2024, 3, 1), False),
    (M, B("bought", window=W("last", 30, "day")), at(2024, 3, 2), True),
    (M, B("bought", window=W("last", 2, "week")), eod(2024, 3, 17), False),
    (M, B("bought", window=W("last", 2, "week")), at(2024, 3, 18), True),
    (M, B("bought", window=W("last", 1, "year")), eod(2023, 3, 31), False),
    (M, B("bought", window=W("last", 1, "year")), at(2023, 4, 1), True),
    (M, B("bought", window=W("this_month")), at(2024, 3, 1), True),
    (M, B("bought", window=W("this_month")), eod(2024, 2, 29), False),
    (M, B("bought", window=W("last_month")), at(2024, 2, 1), True),
    (M, B("bought", window=W("last_month")), eod(2024, 1, 31), False),
    (M, B("bought", window=W("last_month")), eod(2024, 2, 29), True),
    (M, B("bought", window=W("last_month")), at(2024, 3, 1), False),
    (M, B("bought", window=W("this_year")), at(2024, 1, 1), True),
    (M, B("bought", window=W("this_year")), eod(2023, 12, 31), False),
    (M, B("bought", window=W("last_year")), at(2023, 1, 1), True),
    (M, B("bought", window=W("last_year")), eod(2022, 12, 31), False),
    (M, B("bought", window=W("last_year")), eod(2023, 12, 31), True),
    (M, B("bought", window=W("last_year")), at(2024, 1, 1), False),
    (M, B("bought", window=W("since", start=dt.date(2024, 3, 1))), at(2024, 3, 1), True),
    (M, B("bought", window=W("since", start=dt.date(2024, 3, 1))), eod(2024, 2, 29), False),
    (M, B("bought", window=W("between", start=dt.date(2024, 2, 1), end=dt.date(2024, 2, 29))),
     eod(2024, 2, 29), True),
    (M, B("bought", window=W("between", start=dt.date(2024, 2, 1), end=dt.date(2024, 2, 29))),
     at(2024, 3, 1), False),
    (M, B("bought", window=W("between", start=dt.date(2024, 2, 1), end=dt.date(2024, 2, 29))),
     at(2024, 2, 1), True),
    (M, B("bought", window=W("between", start=dt.date(2024, 2, 1), end=dt.date(2024, 2, 29))),
     eod(2024, 1, 31), False),
    (L, B("bought", window=W("last", 1, "year")), eod(2023, 2, 28), False),
    (L, B("bought", window=W("last", 1, "year")), at(2023, 3, 1), True),
    (L, B("bought", window=W("last", 1, "month")), eod(2024, 1, 29), False),
    (L, B("bought", window=W("last", 1, "month")), at(2024, 1, 30), True),
    (L, B("bought", window=W("last_month")), at(2024, 1, 1), True),
    (L, B("bought", window=W("last_month")), eod(2024, 1, 31), True),
    (L, B("bought", window=W("last_month")), at(2024, 2, 1), False),
    (L, B("bought", window=W("this_month")), at(2024, 2, 1), True),
    (L, B("bought"), L, True),
    (L, B("bought"), at(2024, 3, 1), False),
    (MID, B("bought", window=W("last", 7, "day")), at(2024, 3, 8, 12), False),
    (MID, B("bought", window=W("last", 7, "day")), at(2024, 3, 8, 12) + US, True),
    (MID, B("bought", window=W("last", 7, "day")), MID, True),
    (MID, B("bought", window=W("last", 7, "day")), MID + US, False),
    (MID, B("events", ">=", 1, event_type="visit", window=W("last", 7, "day")),
     at(2024, 3, 8, 12), False),
    (MID, B("events", ">=", 1, event_type="visit", window=W("last", 7, "day")),
     at(2024, 3, 8, 12) + US, True),
    (MID, B("events", ">=", 1, event_type="visit"), MID + US, False),
    (MID, B("bought", window=W("this_month")), at(2024, 3, 1), True),
    (MID, B("bought", window=W("last_month")), eod(2024, 2, 29), True),
    # last_order / first_order compared with a date
    (M, B("last_order", "<", dt.date(2024, 3, 1)), eod(2024, 2, 29), True),
    (M, B("last_order", "<", dt.date(2024, 3, 1)), at(2024, 3, 1), False),
    (M, B("last_order", "<=", dt.date(2024, 2, 29)), eod(2024, 2, 29), True),
    (M, B("last_order", "<=", dt.date(2024, 2, 29)), at(2024, 3, 1), False),
    (M, B("last_order", ">", dt.date(2024, 2, 29)), eod(2024, 2, 29), False),
    (M, B("last_order", ">", dt.date(2024, 2, 29)), at(2024, 3, 1), True),
    (M, B("first_order", ">=", dt.date(2024, 3, 1)), at(2024, 3, 1), True),
    (M, B("first_order", ">=", dt.date(2024, 3, 1)), eod(2024, 2, 29), False),
    (M, B("first_order", "=", dt.date(2024, 2, 29)), eod(2024, 2, 29), True),
    (M, B("first_order", "=", dt.date(2024, 2, 29)), at(2024, 3, 1), False),
    (M, B("last_order", "between", (dt.date(2024, 2, 1), dt.date(2024, 2, 29))),
     eod(2024, 2, 29), True),
    (M, B("last_order", "between", (dt.date(2024, 2, 1), dt.date(2024, 2, 29))),
     at(2024, 3, 1), False),
    (M, B("last_order", ">=", Rel(-30)), at(2024, 3, 1), True),
    (M, B("last_order", ">=", Rel(-30)), eod(2024, 2, 29), False),
    # derived: RFM period and lifecycle thresholds ("within N days" = >= as_of - N d + 1 µs)
    (M, D("rfm_segment", "=", "lost"), M - dt.timedelta(days=365), True),
    (M, D("rfm_segment", "=", "lost"), M - dt.timedelta(days=365) + US, False),
    (M, D("rfm_segment", "is not null"), M - dt.timedelta(days=365) + US, True),
    (M, D("lifecycle", "=", "new"), M - dt.timedelta(days=90), False),
    (M, D("lifecycle", "=", "new"), M - dt.timedelta(days=90) + US, True),
    (M, D("lifecycle", "=", "active"), M - dt.timedelta(days=90), True),
    (M, D("lifecycle", "=", "at risk"), M - dt.timedelta(days=180), True),
    (M, D("lifecycle", "=", "at risk"), M - dt.timedelta(days=180) + US, False),
    (M, D("lifecycle", "=", "lost"), M - dt.timedelta(days=730), True),
    (M, D("lifecycle", "=", "hibernating"), M - dt.timedelta(days=730) + US, True),
    (M, D("lifecycle", "=", "prospect"), M + US, True),
]


def _edge_id(e) -> str:
    as_of, cond, t, want = e
    name = {M: "month_end", L: "feb29", MID: "midday"}[as_of]
    what = getattr(cond, "metric", None) or cond.field
    w = getattr(cond, "window", None)
    wtxt = "" if w is None else f"{w.kind}{w.n or ''}{w.unit or ''}"
    return f"{name}-{what}-{wtxt}-{cond.value if cond.value is not None else ''}-{t:%Y%m%dT%H%M%S.%f}-{want}"


@pytest.mark.parametrize("edge", EDGES, ids=[_edge_id(e) for e in EDGES])
def test_window_edge(edge, hm_ws, hm_ref):
    as_of, cond, instant, want = edge
    cid = handmade.edge_customer(instant)
    got = set(hm_ws.segment(cond).member_ids(as_of).tolist())
    ref = hm_ref.members(cond, as_of)
    assert (cid in ref) is want, "the reference disagrees with the contract"
    assert (cid in got) is want
    assert got == ref


# -- metrics ----------------------------------------------------------------------------------
L12 = W("last", 12, "month")
METRIC_CASES = [
    Case("orders >=", B("orders", ">=", 10), ('COUNT(*) AS "t0"',)),
    Case("orders = 0", B("orders", "=", 0, window=W("last", 90, "day")),
         ('COALESCE("o"."t0", 0) = 0',)),
    Case("orders between", B("orders", "between", (2, 4), window=L12)),
    Case("orders !=", B("orders", "!=", 1)),
    Case("orders <", B("orders", "<", 3, window=L12)),
    Case("spend >=", B("spend", ">=", 500, window=L12), ('SUM("o"."total")',)),
    Case("spend <=", B("spend", "<=", Decimal("99.99"))),
    Case("spend >", B("spend", ">", Decimal("1000.50"))),
    Case("spend < 0 (returns)", B("spend", "<", 0, filter=F(A("quantity", "<", 0))),
         ('SUM("l"."amount")',)),
    Case("spend between", B("spend", "between", (100, 200), window=L12),
         ("BETWEEN 100 AND 200",)),
    Case("units >=", B("units", ">=", 30), ('SUM("l"."quantity")',)),
    Case("units filtered", B("units", ">=", 5, filter=F(A("category", "=", "Tea")), window=L12)),
    Case("units of order filter", B("units", ">=", 3, filter=F(A("offer_code", "is not null")))),
    Case("distinct_products >=", B("distinct_products", ">=", 15),
         ('COUNT(DISTINCT "l"."product_id")',)),
    Case("distinct_products filtered", B("distinct_products", ">=", 3,
                                         filter=F(A("brand", "=", "Acme")))),
    Case("avg_ticket >=", B("avg_ticket", ">=", 60)),
    Case("avg_ticket between", B("avg_ticket", "between", (20, Decimal("30.5")), window=L12)),
    Case("avg_ticket <", B("avg_ticket", "<", 25)),
    Case("avg_ticket filtered", B("avg_ticket", ">=", 20, filter=F(A("category", "=", "Coffee")))),
    Case("first_order >= date", B("first_order", ">=", dt.date(2026, 1, 1)),
         ('MIN("o"."ordered_at")', ts("2026-01-01 00:00:00"))),
    Case("first_order < date", B("first_order", "<", dt.date(2024, 1, 1))),
    Case("first_order = date", B("first_order", "=", dt.date(2023, 7, 1))),
    Case("first_order between", B("first_order", "between",
                                  (dt.date(2025, 1, 1), dt.date(2025, 1, 31))),
         (ts("2025-01-31 23:59:59.999999"),)),
    Case("first_order is null", B("first_order", "is null")),
    Case("first_order filtered", B("first_order", ">=", dt.date(2025, 1, 1),
                                   filter=F(A("channel", "=", "app")))),
    Case("last_order < relative", B("last_order", "<", Rel(-180)),
         ('MAX("o"."ordered_at")', ts("2026-01-01 00:00:00"))),
    Case("last_order <= date", B("last_order", "<=", dt.date(2026, 3, 31)),
         (ts("2026-03-31 23:59:59.999999"),)),
    Case("last_order > date", B("last_order", ">", dt.date(2026, 6, 20))),
    Case("last_order = date", B("last_order", "=", dt.date(2026, 6, 30))),
    Case("last_order != date", B("last_order", "!=", dt.date(2026, 6, 30))),
    Case("last_order = instant", B("last_order", ">=", dt.datetime(2026, 6, 30, 12, 0))),
    Case("last_order is not null", B("last_order", "is not null")),
    Case("bought", B("bought", window=W("last", 30, "day")), ("COUNT(*) AS",)),
    Case("events typed", B("events", ">=", 2, event_type="email_open", window=W("last", 90, "day")),
         ("\"e\".\"event_type\" = 'email_open'",)),
    Case("events any type", B("events", ">=", 20, window=W("this_year"))),
    Case("events = 0", B("events", "=", 0, event_type="visit")),
    Case("events between", B("events", "between", (1, 3), event_type="email_click")),
    Case("spend param", B("spend", ">=", Param("min"), window=L12), params={"min": 250}),
    Case("spend float param", B("spend", ">=", Param("min")), params={"min": 333.33}),
]


@pytest.mark.parametrize("case", METRIC_CASES, ids=lambda c: c.id)
def test_metric(case, demo_ws, demo_ref):
    check(case, demo_ws, demo_ref)


def test_avg_ticket_exact_at_threshold(demo_ws, demo_ref):
    """``avg_ticket >= X`` includes a customer whose average is exactly X (spend 289.95 over
    5 orders is 57.99, not 57.98999...): the comparison must not go through a DOUBLE."""
    o = demo_ref.f["orders"]
    o = o[o["ordered_at"] <= ASOF]
    g = o.groupby("customer_id")["total"].agg(["sum", "count"])
    exact = g[(g["sum"] % g["count"] == 0) & (g["count"] > 2) & (g["sum"] % 100 != 0)]
    picks = exact.head(12)
    assert len(picks) == 12
    conds, want = [], set()
    for cid, (cents, n) in picks.iterrows():
        avg = Decimal(int(cents) // int(n)) / 100
        for op in (">=", "<=", "="):
            conds.append(F(A("customer_id", "=", int(cid)), B("avg_ticket", op, avg)))
        want.add(int(cid))
    tree = F(*conds, op="or")
    assert demo_ref.members(tree, ASOF) == want
    assert set(demo_ws.segment(tree).member_ids()) == want
    # each single comparison too (the sets above could hide a miss behind another op)
    for op in (">=", "<=", "="):
        one = F(*[c for c in conds if c.rules[1].op == op], op="or")
        assert set(demo_ws.segment(one).member_ids()) == want, op


# -- purchase filters -------------------------------------------------------------------------
FILTER_CASES = [
    Case("brand", B("bought", filter=F(A("brand", "=", "Acme")), window=L12),
         ('LEFT JOIN products AS p ON "p"."product_id" = "l"."product_id"', "'Acme'")),
    Case("category in", B("orders", ">=", 3, filter=F(A("category", "in", ("Tea", "Infusions"))),
                          window=L12), ('COUNT(DISTINCT "l"."order_id")',)),
    Case("sku starts with", B("bought", filter=F(A("sku", "starts with", "tea-")))),
    Case("product contains", B("bought", filter=F(A("product", "contains", "MATCHA")))),
    Case("price >=", B("bought", filter=F(A("price", ">=", 20)), window=L12)),
    Case("product_id in", B("bought", filter=F(A("product_id", "in", (6, 55, 65))))),
    Case("tags contains", B("bought", filter=F(A("tags", "contains", "vegan")), window=L12),
         ("ARRAY_CONTAINS(\"p\".\"tags\", 'vegan')",)),
    Case("tags not contains", B("units", ">=", 10, filter=F(A("tags", "not contains", "organic")))),
    Case("store", B("orders", ">=", 2, filter=F(A("store", "=", "Online shop"))),
         ('LEFT JOIN stores AS s ON "s"."store_id" = "o"."store_id"',)),
    Case("channel", B("orders", ">=", 3, filter=F(A("channel", "=", "web")), window=L12),
         ('"s"."channel" = \'web\'',)),
    Case("store_city", B("bought", filter=F(A("store_city", "=", "Madrid")))),
    Case("store_country !=", B("bought", filter=F(A("store_country", "!=", "Spain")))),
    Case("store_id in", B("spend", ">=", 100, filter=F(A("store_id", "in", (1, 2, 26))))),
    Case("store_city is null (online)", B("bought", filter=F(A("store_city", "is null")))),
    Case("offer_code =", B("bought", filter=F(A("offer_code", "=", "WELCOME"))),
         ('"o"."offer_code" = \'WELCOME\'',)),
    Case("offer_code is not null", B("orders", ">=", 2, filter=F(A("offer_code", "is not null")))),
    Case("order total", B("orders", ">=", 2, filter=F(A("total", ">=", 150)))),
    Case("order filter on lines", B("spend", ">=", 50, filter=F(A("offer_code", "=", "XMAS"),
                                                                A("category", "=", "Chocolate"))),
         ('LEFT JOIN orders AS o ON "o"."order_id" = "l"."order_id"',)),
    Case("line quantity", B("bought", filter=F(A("quantity", ">=", 3)))),
    Case("line amount", B("spend", ">=", 100, filter=F(A("amount", ">", 40)))),
    Case("line unit_price between", B("units", ">=", 4, filter=F(A("unit_price", "between",
                                                                   (10, 20))))),
    Case("line_no", B("orders", ">=", 5, filter=F(A("line_no", ">=", 4)))),
    Case("same line: and", B("bought", filter=F(A("brand", "=", "Acme"),
                                                 A("category", "=", "Tea")), window=L12)),
    Case("or", B("bought", filter=F(A("brand", "=", "Acme"), A("channel", "=", "app"), op="or"),
                 window=W("last", 3, "month"))),
    Case("not", B("units", ">=", 10, filter=F(A("category", "=", "Tea"), negate=True))),
    Case("nested and/or/not", B("spend", ">=", 40, filter=F(
        F(A("brand", "=", "Acme"), F(A("tags", "contains", "vegan"), negate=True)),
        A("offer_code", "=", "XMAS"), op="or"), window=L12)),
    Case("not bought", F(B("bought", filter=F(A("category", "=", "Coffee"))), negate=True)),
    Case("store + product on a line", B("bought", filter=F(A("channel", "=", "store"),
                                                            A("category", "=", "Gifts")))),
    Case("first_order filtered by brand", B("first_order", "<", dt.date(2024, 1, 1),
                                            filter=F(A("brand", "=", "Verde")))),
    Case("filter with param", B("bought", filter=F(A("brand", "=", Param("b")))),
         params={"b": "Aurora"}),
    Case("in-list param", A("city", "in", Param("cities")),
         params={"cities": ["Madrid", "Lisboa"]}),
]


@pytest.mark.parametrize("case", FILTER_CASES, ids=lambda c: c.id)
def test_filter(case, demo_ws, demo_ref):
    check(case, demo_ws, demo_ref)


def test_same_line_is_not_same_order(demo_ws, demo_ref):
    """``bought(brand = X and category = Y)`` needs one line that is both: it is a subset of
    the customers who bought X and bought Y, and on the demo a strict one."""
    both = B("bought", filter=F(A("brand", "=", "Acme"), A("category", "=", "Coffee")))
    apart = F(B("bought", filter=F(A("brand", "=", "Acme"))),
              B("bought", filter=F(A("category", "=", "Coffee"))))
    one = set(demo_ws.segment(both).member_ids())
    two = set(demo_ws.segment(apart).member_ids())
    assert one == demo_ref.members(both, ASOF)
    assert one < two


# -- derived ----------------------------------------------------------------------------------
DERIVED_CASES = [
    Case(f"rfm_segment = {name}", D("rfm_segment", "=", name), ("d_rfm",),
         trivial=name in ("can't lose them",))
    for name in ("champions", "loyal", "potential loyalist", "new", "promising",
                 "need attention", "about to sleep", "at risk", "can't lose them",
                 "hibernating", "lost")
] + [
    Case("rfm_segment in", D("rfm_segment", "in", ("champions", "loyal"))),
    Case("rfm_segment !=", D("rfm_segment", "!=", "lost")),
    Case("rfm_segment is null", D("rfm_segment", "is null")),
    Case("rfm_r = 5", D("rfm_r", "=", 5)),
    Case("rfm_f >= 4", D("rfm_f", ">=", 4)),
    Case("rfm_m between", D("rfm_m", "between", (2, 3))),
    Case("rfm_m < 2", D("rfm_m", "<", 2)),
    Case("rfm at another as_of", D("rfm_segment", "=", "champions"), as_of="2025-03-31"),
] + [
    Case(f"lifecycle = {s}", D("lifecycle", "=", s), ("d_lc",))
    for s in ("new", "active", "at risk", "hibernating", "prospect")
] + [
    Case("lifecycle = lost (early as_of has none)", D("lifecycle", "=", "lost"), trivial=True),
    Case("lifecycle lost later", D("lifecycle", "=", "lost"), as_of="2026-06-30"),
    Case("lifecycle in", D("lifecycle", "in", ("new", "active"))),
    Case("lifecycle != lost", D("lifecycle", "!=", "lost")),
    Case("lifecycle at Feb 29", D("lifecycle", "=", "active"), as_of="2024-02-29"),
    Case("derived and behaviour", F(D("rfm_segment", "=", "champions"),
                                    B("spend", ">=", 1000, window=L12))),
]


@pytest.mark.parametrize("case", DERIVED_CASES, ids=lambda c: c.id)
def test_derived(case, demo_ws, demo_ref):
    check(case, demo_ws, demo_ref)


# -- advanced SQL -----------------------------------------------------------------------------
def _sql_oracle(ref: Reference):
    o, c = ref.f["orders"], ref.f["customers"]
    return {
        "SELECT customer_id FROM orders WHERE total > 300":
            set(o.loc[o["total"] > 30000, "customer_id"]),
        "SELECT DISTINCT o.customer_id AS cid FROM orders o WHERE o.offer_code = 'XMAS'":
            set(o.loc[o["offer_code"] == "XMAS", "customer_id"]),
        "SELECT customer_id + 1000000 AS customer_id FROM customers": set(),
        "SELECT customer_id FROM customers WHERE email LIKE '%.org'":
            set(c.loc[c["email"].str.endswith(".org", na=False), "customer_id"]),
    }.__getitem__


SQL_CASES = [
    Case("sql", Sql("SELECT customer_id FROM orders WHERE total > 300"),
         ('"c"."customer_id" IN (SELECT "q"."customer_id" FROM (SELECT customer_id FROM '
          'orders WHERE total > 300) AS q)',)),
    Case("sql one other column", Sql(
        "SELECT DISTINCT o.customer_id AS cid FROM orders o WHERE o.offer_code = 'XMAS'")),
    Case("sql ids not customers", Sql("SELECT customer_id + 1000000 AS customer_id FROM customers"),
         trivial=True),
    Case("sql and attribute", F(A("city", "=", "Madrid"), Sql(
        "SELECT customer_id FROM customers WHERE email LIKE '%.org'"))),
    Case("not sql", F(Sql("SELECT customer_id FROM orders WHERE total > 300"), negate=True)),
]


@pytest.mark.parametrize("case", SQL_CASES, ids=lambda c: c.id)
def test_advanced_sql(case, demo_ws, demo_ref):
    check(case, demo_ws, demo_ref, sql_oracle=_sql_oracle(demo_ref))


# -- one pass per source ----------------------------------------------------------------------
def test_terms_share_one_pass(demo_ws, demo_ref):
    """Several behaviour terms on orders become FILTER aggregates of one pass; an identical
    term is computed once."""
    tree = F(B("spend", ">=", 100, window=L12), B("orders", ">=", 2, window=L12),
             F(B("spend", ">=", 100, window=L12), B("orders", ">=", 10), op="or"))
    sql = _flat(demo_ws.segment(tree).sql(pretty=False))
    assert sql.count("FROM orders AS o") == 1
    assert sql.count('SUM("o"."total")') == 1
    check(Case("shared", tree), demo_ws, demo_ref)


# -- other dialects ---------------------------------------------------------------------------
DIALECTS = ("duckdb", "postgres", "spark", "snowflake", "bigquery", "trino")
DIALECT_CASE_IDS = (
    "text contains", "text starts with", "text ends with", "text not in", "ignore year wraps",
    "timestamp = date", "timestamp between dates", "timestamp relative", "boolean is true",
    "integer between", "last 30 days", "last 1 month, as_of Feb 29", "last year", "last month",
    "since", "between", "avg_ticket >=", "avg_ticket between", "first_order = date",
    "last_order != date", "first_order is null", "events typed", "distinct_products >=",
    "units filtered", "tags contains", "tags not contains", "nested and/or/not",
    "order filter on lines", "rfm_segment = champions", "rfm_m between", "lifecycle = active",
    "spend param", "not (a or b)", "sql and attribute")
_BY_ID = {c.id: c for c in ATTRIBUTE_CASES + WINDOW_CASES + METRIC_CASES + FILTER_CASES
          + DERIVED_CASES + SQL_CASES}


@pytest.mark.parametrize("case_id", DIALECT_CASE_IDS)
def test_dialects_parse_back_and_mean_the_same(case_id, demo_ws):
    """``seg.sql(dialect=d)`` parses with sqlglot for every ``d``, and translated back to
    DuckDB it selects the same members as the segment."""
    case = _BY_ID[case_id]
    seg = demo_ws.segment(case.tree, params=case.params)
    want = set(seg.member_ids(case.as_of).tolist())
    for dialect in DIALECTS:
        text = seg.sql(dialect=dialect, as_of=case.as_of)
        tree = sqlglot.parse_one(text, read=dialect)
        assert isinstance(tree, sqlglot.exp.Select), dialect
        back = tree.sql(dialect="duckdb")
        assert set(demo_ws.sql(back).df()["customer_id"].tolist()) == want, dialect


def test_dialects_differ_where_they_should(demo_ws):
    """The printer really writes each dialect (not DuckDB text under another name)."""
    seg = demo_ws.segment(F(A("city", "=", "Madrid"), B("spend", ">=", 10, window=L12)))
    texts = {d: seg.sql(dialect=d, pretty=False) for d in DIALECTS}
    assert "`c`.`city`" in texts["spark"] and "`c`.`city`" in texts["bigquery"]
    assert '"c"."city"' in texts["postgres"] and '"c"."city"' in texts["trino"]
    assert "SUM(IF(" in texts["bigquery"] or "SUMIF" in texts["bigquery"] or \
        "FILTER" not in texts["bigquery"]


@pytest.mark.parametrize("case_id", ("list contains", "list not contains", "list is null",
                                     "boolean is null", "number between", "custom integer in",
                                     "ignore year feb 29", "text ends with unicode"))
def test_dialects_on_custom_types(case_id, hm_ws):
    """Lists with NULLs, NULL booleans, decimals: the same members in every dialect."""
    case = next(c for c in HANDMADE_ATTRIBUTE_CASES if c.id == case_id)
    seg = hm_ws.segment(case.tree)
    want = set(seg.member_ids().tolist())
    for dialect in DIALECTS:
        back = sqlglot.parse_one(seg.sql(dialect=dialect), read=dialect).sql(dialect="duckdb")
        assert set(hm_ws.sql(back).df()["customer_id"].tolist()) == want, dialect


# -- date attributes in a time window -----------------------------------------------------------
IN, NOT_IN = "in window", "not in window"
ATTRIBUTE_WINDOW_CASES = [
    Case("registered in last 30 days", A("registered_at", IN, W("last", 30, "day")),
         ('"c"."registered_at" BETWEEN ' + ts("2026-05-31 23:59:00.000001") + " AND "
          + ts("2026-06-30 23:59:00"),)),
    Case("registered in last 2 weeks", A("registered_at", IN, W("last", 2, "week")),
         (ts("2026-06-16 23:59:00.000001"),)),
    Case("registered in last 6 months", A("registered_at", IN, W("last", 6, "month")),
         (ts("2025-12-30 23:59:00.000001"),)),
    Case("registered in last 1 year", A("registered_at", IN, W("last", 1, "year")),
         (ts("2025-06-30 23:59:00.000001"),)),
    Case("registered in this year", A("registered_at", IN, W("this_year")),
         ('"c"."registered_at" BETWEEN ' + ts("2026-01-01 00:00:00"),)),
    Case("registered in last year", A("registered_at", IN, W("last_year")),
         (ts("2025-01-01 00:00:00") + " AND " + ts("2025-12-31 23:59:59.999999"),)),
    Case("registered in this month", A("registered_at", IN, W("this_month")),
         (ts("2026-06-01 00:00:00"),)),
    Case("registered in last month", A("registered_at", IN, W("last_month")),
         (ts("2026-05-01 00:00:00") + " AND " + ts("2026-05-31 23:59:59.999999"),)),
    Case("registered in last month, as_of Mar 31", A("registered_at", IN, W("last_month")),
         (ts("2026-02-01 00:00:00") + " AND " + ts("2026-02-28 23:59:59.999999"),),
         as_of="2026-03-31"),
    Case("registered in this year, as_of mid-year (nothing after as_of)",
         A("registered_at", IN, W("this_year")),
         (ts("2025-01-01 00:00:00") + " AND " + ts("2025-06-15 23:59:59.999999"),),
         as_of="2025-06-15"),
    Case("registered not in last 6 months", A("registered_at", NOT_IN, W("last", 6, "month")),
         ('NOT "c"."registered_at" BETWEEN',)),
    Case("registered not in this year", A("registered_at", NOT_IN, W("this_year"))),
    Case("registered not in last month", A("registered_at", NOT_IN, W("last_month"))),
    Case("born in last 40 years (date as midnight)", A("birth_date", IN, W("last", 40, "year")),
         ('CAST("c"."birth_date" AS TIMESTAMP) BETWEEN ' + ts("1986-06-30 23:59:00.000001"),)),
    Case("born not in last 40 years (missing is false)",
         A("birth_date", NOT_IN, W("last", 40, "year"))),
    Case("born in last 480 months", A("birth_date", IN, W("last", 480, "month"))),
    Case("born in this year (nobody)", A("birth_date", IN, W("this_year")), trivial=True),
    Case("window and other conditions", F(A("registered_at", IN, W("last", 1, "year")),
                                          A("city", "=", "Madrid"),
                                          B("spend", ">=", 100, window=W("last", 6, "month")))),
    Case("negated window group", F(A("registered_at", IN, W("this_year")),
                                   A("birth_date", IN, W("last", 30, "year")), op="or",
                                   negate=True)),
]


@pytest.mark.parametrize("case", ATTRIBUTE_WINDOW_CASES, ids=lambda c: c.id)
def test_attribute_window(case, demo_ws, demo_ref):
    check(case, demo_ws, demo_ref)


def _register_on_edges(data) -> None:
    """Edge customers registered (and born) exactly on their window edge instant."""
    c = data["customers"]
    edges = handmade.edge_instants()
    mask = c["customer_id"] > len(c) - len(edges)
    c.loc[mask, "registered_at"] = pd.Series(edges, dtype="datetime64[ns]").to_numpy()
    c["birth_date"] = c["birth_date"].astype(object)
    c.loc[mask, "birth_date"] = pd.Series([e.date() for e in edges], dtype=object).to_numpy()


@pytest.fixture(scope="module")
def hmw_ws(tmp_path_factory):
    return handmade.build(str(tmp_path_factory.mktemp("handmade-reg")), mutate=_register_on_edges)


@pytest.fixture(scope="module")
def hmw_ref(hmw_ws):
    return Reference.from_workspace(hmw_ws)


ATTRIBUTE_WINDOWS = [W("last", 1, "day"), W("last", 7, "day"), W("last", 2, "week"),
                     W("last", 1, "month"), W("last", 3, "month"), W("last", 1, "year"),
                     W("this_year"), W("last_year"), W("this_month"), W("last_month")]
_HM_WINDOW_CASES = [
    Case(f"{name}-{fld}-{op.replace(' ', '_')}-{w.kind}{w.n or ''}{w.unit or ''}",
         A(fld, op, w), as_of=as_of)
    for name, as_of in (("month_end", M), ("feb29", L), ("midday", MID))
    for fld in ("registered_at", "birth_date") for op in (IN, NOT_IN) for w in ATTRIBUTE_WINDOWS]


@pytest.mark.parametrize("case", _HM_WINDOW_CASES, ids=lambda c: c.id)
def test_attribute_window_on_edge_data(case, hmw_ws, hmw_ref):
    check(case, hmw_ws, hmw_ref)


# (as_of, condition, the customer's registration instant / birth day, member?)
ATTRIBUTE_WINDOW_EDGES = [
    (M, A("registered_at", IN, W("last_month")), at(2024, 2, 1), True),
    (M, A("registered_at", IN, W("last_month")), at(2024, 2, 1) - US, False),
    (M, A("registered_at", IN, W("last_month")), at(2024, 3, 1) - US, True),
    (M, A("registered_at", IN, W("last_month")), at(2024, 3, 1), False),
    (M, A("registered_at", IN, W("this_month")), at(2024, 3, 1), True),
    (M, A("registered_at", IN, W("this_month")), M, True),
    (M, A("registered_at", IN, W("this_month")), M + US, False),  # after as_of
    (M, A("registered_at", NOT_IN, W("this_month")), M + US, True),
    # as of Mar 31 (end of day) the last month starts just after Feb 29, 23:59:59.999999
    (M, A("registered_at", IN, W("last", 1, "month")), at(2024, 3, 1), True),
    (M, A("registered_at", IN, W("last", 1, "month")), eod(2024, 2, 29), False),
    (M, A("registered_at", IN, W("this_year")), at(2024, 1, 1), True),
    (M, A("registered_at", IN, W("this_year")), at(2024, 1, 1) - US, False),
    (M, A("registered_at", IN, W("last_year")), at(2024, 1, 1) - US, True),
    (M, A("registered_at", IN, W("last_year")), at(2023, 1, 1), True),
    (M, A("registered_at", IN, W("last_year")), at(2023, 1, 1) - US, False),
    (MID, A("registered_at", IN, W("last", 7, "day")), at(2024, 3, 8, 12) + US, True),
    (MID, A("registered_at", IN, W("last", 7, "day")), at(2024, 3, 8, 12), False),
    (MID, A("registered_at", NOT_IN, W("last", 7, "day")), at(2024, 3, 8, 12), True),
    # a date is its midnight: in 'last 1 day' as of midday only today's date is inside
    (MID, A("birth_date", IN, W("last", 1, "day")), at(2024, 3, 15), True),
    (MID, A("birth_date", IN, W("last", 1, "day")), at(2024, 3, 14), False),
    (MID, A("birth_date", IN, W("this_month")), at(2024, 3, 1), True),
    (MID, A("birth_date", IN, W("this_month")), at(2024, 2, 29), False),
    (MID, A("birth_date", IN, W("last_month")), at(2024, 2, 29), True),
    (M, A("birth_date", IN, W("last", 1, "day")), at(2024, 3, 31), True),
    (M, A("birth_date", IN, W("last", 1, "day")), at(2024, 3, 30), False),
    (M, A("birth_date", IN, W("last_year")), at(2023, 1, 1), True),
    (M, A("birth_date", IN, W("last_year")), at(2022, 12, 31), False),
    (L, A("birth_date", IN, W("last", 1, "month")), at(2024, 1, 30), True),
    (L, A("birth_date", IN, W("last", 1, "month")), at(2024, 1, 29), False),
]


@pytest.mark.parametrize("edge", ATTRIBUTE_WINDOW_EDGES,
                         ids=[f"{i}-{e[1].field}-{e[1].op}-{e[1].value.kind}{e[1].value.n or ''}"
                              f"-{e[2]:%Y%m%dT%H%M%S.%f}-{e[3]}"
                              for i, e in enumerate(ATTRIBUTE_WINDOW_EDGES)])
def test_attribute_window_edge(edge, hmw_ws, hmw_ref):
    as_of, cond, instant, want = edge
    cids = {handmade.edge_customer(t) for t in handmade.edge_instants()
            if (t if cond.field == "registered_at" else t.replace(
                hour=0, minute=0, second=0, microsecond=0)) == instant}
    assert cids, f"no edge customer registered / born at {instant}"
    got = set(hmw_ws.segment(cond).member_ids(as_of).tolist())
    ref = hmw_ref.members(cond, as_of)
    assert all((c in ref) is want for c in cids), "the reference disagrees with the contract"
    assert all((c in got) is want for c in cids)
    assert got == ref


@pytest.mark.parametrize("tree,words", [
    (A("city", IN, W("last", 6, "month")), "'city' is a category field"),
    (A("customer_id", NOT_IN, W("this_year")), "'customer_id' is a integer field"),
    (B("spend", ">", 0, filter=F(A("brand", IN, W("this_month")))), "'brand' is a category"),
    (D("rfm_r", IN, W("this_year")), "'rfm_r' is a integer field"),
])
def test_window_on_a_non_date_field_is_a_rule_error(demo_ws, tree, words):
    with pytest.raises(RuleValidationError) as info:
        compile_segment(tree, demo_ws.fields, ASOF)
    assert words in str(info.value) and "needs a date or timestamp field" in str(info.value)


def test_attribute_window_in_every_dialect(demo_ws):
    for tree in (A("registered_at", IN, W("last", 6, "month")),
                 A("birth_date", NOT_IN, W("last", 40, "year"))):
        seg = demo_ws.segment(tree)
        want = set(seg.member_ids().tolist())
        assert want
        for dialect in DIALECTS:
            back = sqlglot.parse_one(seg.sql(dialect=dialect), read=dialect).sql(dialect="duckdb")
            assert set(demo_ws.sql(back).df()["customer_id"].tolist()) == want, dialect
