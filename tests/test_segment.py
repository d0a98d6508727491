"""The Segment object: evaluation, members and columns, the explain() funnel, set algebra,
JSON round trip, HTML display, parameters."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest

import segjupyter
from segjupyter.errors import RuleValidationError, UnknownFieldError
from segjupyter.rules.compile import Compiler
from segjupyter.rules.model import (Attribute as A, Behaviour as B, Group as G, Param,
                                    Window as W)
from segjupyter.rules.segment import Segment

from reference import Reference

TEXT = ('city in ("Madrid", "Barcelona") and subscribed and spend(last 12 months) >= 200 '
        'and not orders(last 90 days) > 0')


@pytest.fixture(scope="module")
def ws(demo_ws_path):
    return segjupyter.open(demo_ws_path)


@pytest.fixture(scope="module")
def ref(ws):
    return Reference.from_workspace(ws)


def ids(seg, as_of=None) -> set:
    return set(seg.member_ids(as_of).tolist())


# -- evaluation -------------------------------------------------------------------------------
def test_count_members_and_ids_agree_with_the_reference(ws, ref):
    seg = ws.segment(TEXT, name="lapsed_city_vip")
    want = ref.members(seg.tree, ws.now())
    assert 0 < len(want) < 1000
    assert seg.count() == len(want)
    assert ids(seg) == want
    m = seg.members()
    assert list(m.columns)[0] == "customer_id"
    assert list(m.columns)[1:] == [f for f in ws.fields.customer if f != "customer_id"]
    assert list(m["customer_id"]) == sorted(want)
    assert m.index.tolist() == list(range(len(m)))
    row = m.iloc[0]
    c = ref.customers.loc[row["customer_id"]]
    assert (row["city"], row["email"]) == (c["city"], c["email"])


def test_members_columns(ws):
    seg = ws.segment(A("city", "=", "Lisboa"))
    m = seg.members(columns=["email", "city"])
    assert list(m.columns) == ["customer_id", "email", "city"]
    assert set(m["city"]) == {"Lisboa"}
    assert list(seg.members(columns=[]).columns) == ["customer_id"]
    assert list(seg.members(columns=["customer_id", "city"]).columns) == ["customer_id", "city"]


def test_unknown_column_suggests(ws):
    seg = ws.segment(A("city", "=", "Lisboa"))
    with pytest.raises(UnknownFieldError, match=r"did you mean 'city'") as e:
        seg.members(columns=["cty"])
    assert e.value.suggestion == "city"


def test_as_of(ws, ref):
    seg = ws.segment(B("orders", ">=", 2, window=W("last", 30, "day")))
    for as_of in ("2026-03-31", dt.date(2024, 2, 29), dt.datetime(2025, 11, 10, 9, 30)):
        resolved = ws.resolve_as_of(as_of)
        want = ref.members(seg.tree, resolved)
        assert 0 < len(want)
        assert ids(seg, as_of) == want
        assert seg.count(as_of) == len(want)
    assert ws.resolve_as_of("2026-03-31") == dt.datetime(2026, 3, 31, 23, 59, 59, 999999)


def test_construction_from_text_tree_json_and_segment(ws):
    seg = ws.segment(TEXT, name="x")
    assert ws.segment(seg.tree).tree == seg.tree
    assert ws.segment(json.loads(seg.to_json())).tree == seg.tree
    again = ws.segment(seg)
    assert again == seg and again.name == "x"


# -- explain ----------------------------------------------------------------------------------
def test_explain_and_funnel_equals_counts_of_prefixes(ws):
    seg = ws.segment(TEXT)
    steps = seg.tree.rules
    f = seg.explain()
    assert list(f["step"]) == list(range(1, len(steps) + 1))
    total = ws.segment(G()).count()
    prev = total
    for i, row in f.iterrows():
        prefix = ws.segment(G("and", steps[: i + 1]))
        assert row["customers"] == prefix.count()
        assert row["alone"] == ws.segment(steps[i]).count()
        assert row["change"] == row["customers"] - prev
        assert row["share"] == pytest.approx(row["customers"] / total)
        prev = row["customers"]
    assert f["customers"].iloc[-1] == seg.count()
    assert f["customers"].is_monotonic_decreasing
    assert f["condition"].iloc[0] == 'city in ("Madrid", "Barcelona")'


def test_explain_or_funnel_gains(ws):
    seg = ws.segment(G("or", (A("city", "=", "Porto"), A("city", "=", "Lyon"),
                              B("spend", ">=", 3000))))
    f = seg.explain()
    prev = 0
    for i, row in f.iterrows():
        assert row["customers"] == ws.segment(G("or", seg.tree.rules[: i + 1])).count()
        assert row["change"] == row["customers"] - prev
        prev = row["customers"]
    assert f["customers"].is_monotonic_increasing and f["customers"].iloc[-1] == seg.count()


def test_explain_of_a_negated_root_is_one_step(ws):
    seg = ws.segment(G("and", (A("city", "=", "Madrid"), A("subscribed", "is true")),
                       negate=True))
    f = seg.explain()
    assert len(f) == 1 and f["customers"].iloc[0] == seg.count()


# -- set algebra ------------------------------------------------------------------------------
def test_set_algebra_equals_set_operations(ws):
    total = ids(ws.segment(G()))
    a = ws.segment(A("city", "in", ("Madrid", "Lisboa")))
    b = ws.segment(B("spend", ">=", Param("min"), window=W("last", 12, "month")),
                   params={"min": 300})
    c = ws.segment(A("subscribed", "is true"))
    sa, sb, sc = ids(a), ids(b), ids(c)
    assert sa and sb and sc and sa & sb
    assert ids(a & b) == sa & sb
    assert ids(a | b) == sa | sb
    assert ids(a - b) == sa - sb
    assert ids(~a) == total - sa
    assert ids(~~a) == sa
    assert ids((a - b) | ~c) == (sa - sb) | (total - sc)
    assert ids(~(a & b) & c) == (total - (sa & sb)) & sc
    assert (a & b).params == {"min": 300}
    assert ids(ws.segment((a - b).to_json(), params={"min": 300})) == sa - sb
    with pytest.raises(TypeError):
        a & 3


# -- JSON, display, params --------------------------------------------------------------------
def test_json_round_trip(ws):
    seg = ws.segment(TEXT + ' and bought(brand = "Acme" and not (tags contains "vegan"), '
                            'since "2026-01-01") and birth_date between "12-02" and "01-03" '
                            'ignore year')
    doc = seg.to_json()
    assert json.loads(doc)["version"] == 1
    back = Segment.from_any(ws, doc)
    assert back.tree == seg.tree
    assert back.to_json() == doc
    assert ids(back) == ids(seg)


def test_repr_html(ws):
    seg = ws.segment(TEXT, name="lapsed_city_vip")
    html = seg._repr_html_()
    n = seg.count()
    assert "lapsed_city_vip" in html
    assert f"<b>{n:,}</b> customers" in html
    assert "city in (&quot;Madrid&quot;, &quot;Barcelona&quot;)" in html
    assert "<summary>SQL</summary>" in html and "FILTER(WHERE" in html
    subscribed = ws.segment(G("and", (seg.tree, A("subscribed", "is true")))).count()
    assert f"{subscribed:,} subscribed" in html
    share = f"{n / ws.segment(G()).count():.1%}"
    assert share in html


def test_repr_html_shows_errors_instead_of_raising(ws):
    html = ws.segment(A("city", "=", Param("c")), name="needs_c")._repr_html_()
    assert "sj-error" in html and "parameter :c has no value" in html


def test_missing_param_is_a_clear_error(ws):
    seg = ws.segment(B("spend", ">=", Param("min_spend"), window=W("last", 12, "month")),
                     params={"other": 1})
    with pytest.raises(RuleValidationError, match=r"parameter :min_spend has no value "
                                                   r"\(given: other\)"):
        seg.count()
    assert seg.with_params(min_spend=100).count() > 0


def test_params_are_bound_not_spliced(ws, ref):
    tree = G("and", (A("city", "=", Param("city")),
                     B("spend", ">=", Param("min"), window=W("since", start=Param("start")))))
    params = {"city": "Valencia", "min": 123.45, "start": "2025-07-01"}
    c = Compiler(ws.fields, ws.now(), params)
    sql, values = c.render(c.query([c.customer_id()], c.predicate(tree)))
    assert "Valencia" not in sql and "123.45" not in sql and "2025-07-01" not in sql
    assert len(re.findall(r"\$p\d+", sql)) >= 3
    assert "Valencia" in values.values()
    assert dt.datetime(2025, 7, 1) in values.values()
    seg = ws.segment(tree, params=params)
    want = ref.members(tree, ws.now(), params)
    assert 0 < len(want) and ids(seg) == want
    # other values, same tree
    other = seg.with_params(city="Sevilla")
    assert ids(other) == ref.members(tree, ws.now(), {**params, "city": "Sevilla"}) != want


def test_sql_dialect_argument(ws):
    seg = ws.segment(TEXT)
    assert seg.sql().lstrip().startswith("WITH")
    assert "`c`.`city`" in seg.sql(dialect="spark")
    assert set(ws.sql(seg.sql()).df()["customer_id"]) == ids(seg)


# -- compiled statements kept between calls ---------------------------------------------------
def test_a_kept_statement_never_outlives_its_data_rule_or_stored_members(tmp_path):
    """Counting again as of the same instant reuses the compiled statement, but a load,
    other parameters, another instant, the stored members an ``in_segment`` rule reads and
    advanced SQL (ids in a temp table dropped after each use) all give fresh answers."""
    from helpers import frames
    from segjupyter.rules import segment as segment_module
    w = segjupyter.open(tmp_path / "ws")
    at = dt.datetime(2026, 6, 30, 12)
    try:
        assert w.load(**frames.all_tables()).ok
        madrid = w.segment('city = :city', params={"city": "Madrid"})
        assert [madrid.count(as_of=at), madrid.count(as_of=at)] == [3, 3]
        kept = [k for k in segment_module._STATEMENTS if k[1] == madrid.tree]
        assert len(kept) == 1  # the second count reused the first one's statement
        assert madrid.with_params(city="Lisboa").count(as_of=at) == 1
        buyers = w.segment("orders(all time) >= 1")
        early = buyers.count(as_of="2000-01-01")
        assert early == 0 and buyers.count(as_of=at) > early

        w.segments.save(madrid, name="madrid")
        w.segments.refresh("madrid", as_of=at)
        in_madrid = w.segment('in_segment("madrid")')
        assert in_madrid.count(as_of=at) == 3
        w.segments.update("madrid", 'city = "Valencia"')
        w.segments.refresh("madrid", as_of=at)
        assert in_madrid.count(as_of=at) == 1  # the stored members changed, not the rule
        adv = w.segment('sql("SELECT customer_id FROM customers WHERE visits >= 4")')
        assert [adv.count(as_of=at), adv.count(as_of=at)] == [3, 3]

        more = frames.customers()
        more.loc[len(more)] = [7, "Gil", "Gómez", "gil@example.com", pd.Timestamp("1990-01-01"),
                               "Madrid", "ES", pd.Timestamp("2024-02-02"), True, "gold", 2]
        assert w.load(customers=more).ok
        assert madrid.count(as_of=at) == 4  # the same object, new data
        assert set(madrid.member_ids(as_of=at).tolist()) == {1, 3, 5, 7}
    finally:
        w.close()
