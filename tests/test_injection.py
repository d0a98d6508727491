"""Hostile text in every value and name position gives the right members or a clear error,
never executed SQL.

The workspace is the hand-made one with the hostile strings planted as real data (cities,
brands, offer codes, product tags, event types), so a value that reaches DuckDB intact has
to *match* those rows: each result is compared with the pandas reference evaluator, and the
planted ones must be found. The last test is the canary: the data is unchanged and no file
was written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segjupyter.errors import RuleValidationError, SegmentSyntaxError, UnknownFieldError, \
    WorkspaceError
from segjupyter.rules.compile import Compiler
from segjupyter.rules.dsl_printer import quote_string
from segjupyter.rules.model import (Attribute as A, Behaviour as B, Group as G, Param,
                                    SegmentRef, Window as W)

import handmade
from reference import Reference

PWNED = ("/tmp/sj-pwned.csv", "/tmp/sj-pwned.duckdb", "/tmp/sj-pwned")
EVIL = [
    "'; DROP TABLE customers; --",
    "' OR '1'='1",
    '" OR "1"="1',
    "x'); DELETE FROM orders; --",
    "/* comment */ 1",
    "*/ SELECT 1 /*",
    "-- trailing comment",
    "back\\slash\\",
    "\\'; SELECT 1; --",
    "ünïcödé ✓ 中文 🎉",
    "\u202eright-to-left",
    "tab\there\nnew line\r",
    "\x01\x02\x1f\x7f control",
    "SELECT * FROM customers",
    "NULL",
    "TRUE",
    "AND",
    "OR 1=1",
    "$p0",
    "$1",
    "?",
    ":name",
    "%s",
    "{0}",
    "100% match",
    "_under_",
    "COPY customers TO '/tmp/sj-pwned.csv'",
    "ATTACH '/tmp/sj-pwned.duckdb' AS x",
    "'",
    "''",
    '"',
    "`",
    ";",
]


def _plant(t):
    """Hostile strings as real values: customer i+1 lives in city EVIL[i], product i+1 has
    brand EVIL[i] and tag EVIL[i], and an order and an event before the default as_of have
    offer code / event type EVIL[i]."""
    c, p, o, e = t["customers"], t["products"], t["orders"], t["events"]
    assert len(EVIL) < len(p)
    past_orders = o.index[o["ordered_at"] < handmade.DEFAULT_AS_OF]
    past_events = e.index[e["occurred_at"] < handmade.DEFAULT_AS_OF]
    for i, s in enumerate(EVIL):
        c.loc[i, "city"] = s
        c.loc[i + 100, "first_name"] = s
        p.loc[i, "brand"] = s
        p.at[i, "tags"] = [s]
        o.loc[past_orders[i], "offer_code"] = s
        e.loc[past_events[i], "event_type"] = s


START: dict = {}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    folder = tmp_path_factory.mktemp("injection")
    ws = handmade.build(str(folder), mutate=_plant)
    START["state"] = _state(ws, folder)
    yield ws
    assert _state(ws, folder) == START["state"]  # the canary, after every test of the module


@pytest.fixture(scope="module")
def ref(ws):
    return Reference.from_workspace(ws)


def _state(ws, folder) -> dict:
    counts = {t: ws.sql(f"SELECT count(*) FROM {t}").scalar()
              for t in ("customers", "orders", "order_lines", "products", "events")}
    files = {p.name: p.stat().st_size for p in Path(folder).iterdir()
             if p.suffix in (".duckdb", ".wal", ".csv", ".parquet") or "pwned" in p.name}
    return {"counts": counts, "files": files, "tables": tuple(ws.sql(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1").df()[
        "table_name"])}


def same(ws, ref, tree, params=None, *, at_least: int = 0) -> set:
    got = set(ws.segment(tree, params=params).member_ids().tolist())
    want = ref.members(tree, ws.resolve_as_of(None), params)
    assert got == want
    assert len(got) >= at_least
    return got


IDS = [f"evil{i}" for i in range(len(EVIL))]


@pytest.mark.parametrize("evil", EVIL, ids=IDS)
def test_attribute_values(ws, ref, evil):
    city = same(ws, ref, A("city", "=", evil), at_least=1)
    assert EVIL.index(evil) + 1 in city  # the customer it was planted on
    same(ws, ref, A("city", "!=", evil))
    same(ws, ref, A("city", "in", (evil, "Madrid", "'")), at_least=1)
    same(ws, ref, A("city", "not in", (evil,)))
    same(ws, ref, A("first_name", "contains", evil), at_least=1)
    same(ws, ref, A("first_name", "starts with", evil), at_least=1)
    same(ws, ref, A("first_name", "ends with", evil), at_least=1)
    same(ws, ref, A("first_name", "not contains", evil))
    same(ws, ref, G("and", (A("city", "=", evil),), negate=True))


@pytest.mark.parametrize("evil", EVIL, ids=IDS)
def test_filter_values_event_types_and_params(ws, ref, evil):
    same(ws, ref, B("bought", filter=G("and", (A("tags", "contains", evil),))), at_least=1)
    same(ws, ref, B("bought", filter=G("and", (A("offer_code", "=", evil),))), at_least=1)
    same(ws, ref, B("orders", ">=", 1, filter=G("or", (A("offer_code", "in", (evil, "x")),
                                                       A("brand", "=", evil)))), at_least=1)
    same(ws, ref, B("events", ">=", 1, event_type=evil), at_least=1)
    same(ws, ref, A("city", "=", Param("p")), {"p": evil}, at_least=1)
    same(ws, ref, A("city", "in", Param("p")), {"p": [evil, "Madrid"]}, at_least=1)
    same(ws, ref, B("bought", filter=G("and", (A("offer_code", "=", Param("p")),))),
         {"p": evil}, at_least=1)


@pytest.mark.parametrize("evil", EVIL, ids=IDS)
def test_values_are_bound_never_spliced(ws, evil):
    """With DuckDB the value is a ``$p`` placeholder; printed for other dialects it is an
    escaped literal that sqlglot reads back as the same string."""
    import sqlglot
    c = Compiler(ws.fields, ws.now())
    tree = G("and", (A("city", "=", evil), B("events", ">=", 1, event_type=evil)))
    sql, values = c.render(c.query([c.customer_id()], c.predicate(tree)))
    assert evil not in sql or evil in ("?", "AND", "TRUE", "NULL", ";", "'", '"', "`", "$1",
                                       "$p0")
    assert sorted(v for v in values.values() if isinstance(v, str)) == [evil, evil]
    for dialect in ("duckdb", "postgres", "spark", "bigquery"):
        text = ws.segment(A("city", "=", evil)).sql(dialect=dialect)
        lits = [lit.this for lit in sqlglot.parse_one(text, read=dialect).find_all(
            sqlglot.exp.Literal) if lit.is_string]
        assert evil in lits, dialect


@pytest.mark.parametrize("evil", EVIL, ids=IDS)
def test_names_are_refused_before_anything_runs(ws, evil):
    with pytest.raises(RuleValidationError, match="unknown customer field"):
        ws.segment(A(evil, "=", "x")).count()
    with pytest.raises(RuleValidationError, match="unknown purchase filter field"):
        ws.segment(B("bought", filter=G("and", (A(evil, "=", "x"),)))).count()
    with pytest.raises(UnknownFieldError, match="unknown customer field"):
        ws.segment(A("city", "=", "Madrid")).members(columns=["city", evil])
    with pytest.raises(RuleValidationError, match="no saved segment of that name"):
        ws.segment(SegmentRef(evil)).count()
    with pytest.raises(RuleValidationError, match="not a date"):
        ws.segment(B("bought", window=W("since", start=Param("d"))), params={"d": evil}).count()
    with pytest.raises(RuleValidationError):
        ws.segment(A("registered_at", ">=", Param("d")), params={"d": evil}).count()
    with pytest.raises(RuleValidationError):
        ws.segment(B("spend", ">=", Param("m")), params={"m": evil}).count()
    with pytest.raises(WorkspaceError):
        ws.segment(A("city", "=", "Madrid")).count(as_of=evil)


@pytest.mark.parametrize("evil", EVIL, ids=IDS)
def test_through_the_language(ws, ref, evil):
    """Hostile strings written in ``%%segment`` text are values, and hostile names are
    syntax or unknown-field errors."""
    text = (f"city = {quote_string(evil)} or bought(offer_code = {quote_string(evil)}) "
            f"or events({quote_string(evil)}) >= 1")
    seg = ws.segment(text)
    assert set(seg.member_ids()) == ref.members(seg.tree, ws.now())
    assert seg.count() >= 1
    name = "`" + evil.replace("`", "``") + "`"
    with pytest.raises((SegmentSyntaxError, UnknownFieldError, RuleValidationError)):
        ws.segment(f"{name} = 1").count()


def test_segment_names_are_escaped_in_html(ws):
    evil = "<script>alert('x')</script>"
    html = ws.segment(A("city", "=", "Madrid"), name=evil)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_canary(ws):
    """After everything above: same row counts, same tables, no file written."""
    assert _state(ws, ws.storage.root) == START["state"]
    for path in PWNED:
        assert not os.path.exists(path)
    assert ws.sql("SELECT count(*) FROM customers").scalar() == len(
        handmade.tables()["customers"])
