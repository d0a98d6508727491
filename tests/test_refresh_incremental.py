"""Incremental refreshes (issue 10): a segment refreshed before, on the same retail data and
rule revision, is re-evaluated only for the customers whose answer can have changed since
(``segments/incremental.py``). Whatever the step between two refreshes, the stored result
(members, counts, entries, exits and their reasons) must be the full evaluation's."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

import segjupyter
from segjupyter.rules import dsl
from segjupyter.segments.incremental import affected_sql, cross_customer, time_slices

import catalog_frames as cf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_refresh import varied_segments  # noqa: E402  the 50 segments of the benchmark

PLAN = re.compile(r"\((\d+) for the ([\d,]+) customers whose answer can have changed\)")


def _refresh(cat, names, as_of, incremental):
    said = []
    out = cat.refresh_all(as_of=as_of, names=names, incremental=incremental,
                          progress=lambda done, total, msg: said.append(msg))
    assert out["error"].isna().all(), out[out["error"].notna()]
    return out.set_index("segment"), " ".join(said)


def _moves(cat, name, as_of) -> pd.DataFrame:
    ev = cat.events(name)
    ev = ev[ev["at"] == as_of][["customer_id", "event", "reason"]]
    return ev.sort_values(["customer_id", "event"]).reset_index(drop=True)


def test_incremental_refreshes_store_what_full_ones_do(demo_copy):
    ws = segjupyter.open(demo_copy("incremental"))
    cat = ws.segments
    trees = varied_segments(ws, 50)
    a = [f"a_{i:02d}" for i in range(len(trees))]
    b = [f"b_{i:02d}" for i in range(len(trees))]
    for names in (a, b):
        for name, tree in zip(names, trees):
            cat.save(tree, name=name)
    day0 = ws.now()
    n_customers = ws.tables["customers"]
    # a day, a week, a month, one day back, more than a year: every step is sound
    steps = [0, 1, 2, 9, 40, 39, 400]
    for i, days in enumerate(steps):
        as_of = day0 + dt.timedelta(days=days)
        got, said = _refresh(cat, a, as_of, incremental=True)
        want, _ = _refresh(cat, b, as_of, incremental=False)
        plan = PLAN.search(said)
        if i == 0:
            assert plan is None  # a first evaluation is a full one
        else:
            # RFM segments (ranks over all customers) are evaluated in full, the rest not
            assert plan is not None, said
            assert int(plan.group(1)) == 50 - sum(cross_customer(t) for t in trees) >= 40
            if days - steps[i - 1] == 1:  # a daily run looks at a small part of them
                assert int(plan.group(2).replace(",", "")) < n_customers / 4
        cols = ["customers", "entered", "left", "subscribed"]
        assert (got[cols].to_numpy() == want[cols].to_numpy()).all(), days
        for x, y in zip(a, b):
            members = cat.member_ids(x)
            assert members == cat.member_ids(y), (days, x)
            assert cat.info(x).customers == len(members) == cat.info(y).customers
            assert cat.info(x).subscribed == cat.info(y).subscribed
            pd.testing.assert_frame_equal(_moves(cat, x, as_of), _moves(cat, y, as_of))
    # and the full evaluation, straight from the rule
    for name, tree in list(zip(a, trees))[:14]:
        assert cat.member_ids(name) == sorted(ws.segment(tree).member_ids(as_of=as_of).tolist())
    ws.close()


@pytest.fixture
def shop(ws):
    cf.load(ws)
    return ws


def test_a_load_or_a_rule_change_means_a_full_evaluation(shop):
    ws, cat = shop, shop.segments
    cat.save("spend(last 30 days) >= 100", name="big")
    cat.refresh_all(as_of=cf.FEB, progress=False)
    assert sorted(cat.member_ids("big")) == [2, 4]
    # new data placed where no window bound moves between Feb 28 and Mar 1: only a full
    # evaluation can see it
    ws.load(orders=cf.orders([(200, 5, "2026-02-25 10:00:00", "500.00")]))
    _, said = _refresh(cat, ["big"], "2026-03-01", incremental=True)
    assert PLAN.search(said) is None
    assert sorted(cat.member_ids("big")) == [2, 4, 5]
    # same data now: the next day is incremental
    _, said = _refresh(cat, ["big"], "2026-03-02", incremental=True)
    assert PLAN.search(said) is not None
    assert sorted(cat.member_ids("big")) == sorted(
        ws.segment("spend(last 30 days) >= 100").member_ids(as_of="2026-03-02").tolist())
    # a looser rule at the same instant: nobody's time values moved, yet members change
    cat.update("big", "spend(last 30 days) >= 10")
    _, said = _refresh(cat, ["big"], "2026-03-02", incremental=True)
    assert PLAN.search(said) is None
    assert sorted(cat.member_ids("big")) == sorted(
        ws.segment("spend(last 30 days) >= 10").member_ids(as_of="2026-03-02").tolist())
    assert cat.info("big").customers == len(cat.member_ids("big"))


def _slices(ws, text, prev, now):
    return time_slices(ws.fields, [(dsl.parse(text), {})], dt.datetime.fromisoformat(prev),
                       dt.datetime.fromisoformat(now))


def test_which_rules_have_time_slices(shop):
    ws = shop
    jan, feb = "2026-01-31 23:59:59", "2026-02-01 23:59:59"
    got = _slices(ws, "spend(last 30 days) >= 100", jan, feb)
    assert {(t, c) for t, c, _lo, _hi in got} == {("orders", "ordered_at")}
    days = sorted((lo.date(), hi.date()) for _t, _c, lo, hi in got)
    # the window start moved by a day, and one day of new orders came in
    assert days[0] == (dt.date(2026, 1, 1), dt.date(2026, 1, 2))
    assert days[-1] == (dt.date(2026, 1, 31), dt.date(2026, 2, 1))
    assert _slices(ws, 'city = "Madrid"', jan, feb) == []
    assert _slices(ws, 'registered_at >= -365d', jan, feb) == [
        ("customers", "registered_at", dt.datetime(2025, 1, 31),
         dt.datetime(2025, 2, 1, 23, 59, 59, 999999))]
    # month-days relative to as_of move as numbers, not as instants: no slice can say who
    assert _slices(ws, "birth_date between today and +7d ignore year", jan, feb) is None
    for text in ['rfm_segment = "champions"', 'in_segment("x")']:
        assert cross_customer(dsl.parse(text))
        assert _slices(ws, text, jan, feb) is None
    assert not cross_customer(dsl.parse('lifecycle = "active"'))
    assert _slices(ws, 'lifecycle = "active"', jan, feb)


def test_a_slice_of_lines_is_looked_up_on_their_orders(demo_copy):
    ws = segjupyter.open(demo_copy("lines-slices"))
    now = ws.now()
    jan, feb = str(now - dt.timedelta(days=1)), str(now)
    # a third of the rows, and the same customers (a line's customer and time are its order's)
    lines = _slices(ws, "units(last 30 days) >= 2", jan, feb)
    assert {t for t, *_ in lines} == {"order_lines"}
    sql = affected_sql([lines], "BIGINT")
    assert '"orders"' in sql and '"order_lines"' not in sql
    direct = ws.sql(
        "SELECT DISTINCT customer_id FROM order_lines WHERE " + " OR ".join(
            f"ordered_at BETWEEN TIMESTAMP '{lo}' AND TIMESTAMP '{hi}'"
            for _t, _c, lo, hi in lines)).df()["customer_id"]
    assert len(direct) > 0
    assert sorted(ws.sql(sql).df()["customer_id"]) == sorted(direct)
    ws.close()
