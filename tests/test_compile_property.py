"""Property test: for random rule trees on the size-S demo, the members DuckDB returns for the
compiled segment equal the members of the independent pandas evaluator (tests/reference.py).

Trees come from ``tests/strategies.py`` (real fields, operators their type allows, values from
the demo's vocabularies, windows of every kind, nested and/or/not groups). The run is
derandomized so CI sees the same examples every time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import segjupyter
from segjupyter.rules.model import UNITS, WINDOW_KINDS, Behaviour, Derived, Group, Window, walk

from reference import Reference
from strategies import behaviours, demo_dates, trees

AS_OFS = (None, "2026-02-28", "2024-02-29", dt.datetime(2025, 11, 10, 9, 30, 15))
KINDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def demo(demo_ws_path):
    ws = segjupyter.open(demo_ws_path)
    yield ws, Reference.from_workspace(ws)
    # the examples covered every metric, window and derived field, and most selected some
    # but not all customers (so a wrong compiler would have shown)
    if KINDS and not KINDS.get("_failed"):
        metrics = {k.split(":")[1] for k in KINDS if k.startswith("Behaviour:")}
        windows = {k.split(":")[2] for k in KINDS if k.startswith("Behaviour:")}
        assert metrics >= {"orders", "spend", "units", "distinct_products", "avg_ticket",
                           "first_order", "last_order", "bought", "events"}, metrics
        assert windows >= {"all", "last", "this_year", "last_year", "this_month",
                           "last_month", "since", "between"}, windows
        assert {"Derived:rfm_segment", "Derived:lifecycle"} <= set(KINDS)
        assert KINDS["_nontrivial"] >= 100, KINDS


@st.composite
def window_of_any_kind(draw):
    """Windows with the kind drawn uniformly (the shared strategy favours the first ones)."""
    kind = draw(st.sampled_from(WINDOW_KINDS))
    if kind == "last":
        return Window("last", draw(st.integers(1, 24)), draw(st.sampled_from(UNITS)))
    if kind == "since":
        return Window("since", start=draw(demo_dates()))
    if kind == "between":
        a, b = sorted((draw(demo_dates()), draw(demo_dates())))
        return Window("between", start=a, end=b)
    return Window(kind)


@st.composite
def segment_trees(draw):
    """A random tree joined (and / or, maybe negated) with one more behaviour condition
    whose window kind is drawn uniformly."""
    tree = draw(trees(max_leaves=5))
    extra = replace(draw(behaviours()), window=draw(window_of_any_kind()))
    return Group(draw(st.sampled_from(("and", "or"))), (tree, extra), draw(st.booleans()))


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tree=segment_trees(), as_of=st.sampled_from(AS_OFS))
def test_duckdb_members_equal_reference(demo, tree, as_of):
    ws, ref = demo
    seg = ws.segment(tree)
    got = set(seg.member_ids(as_of).tolist())
    want = ref.members(tree, ws.resolve_as_of(as_of))
    if got != want:
        KINDS["_failed"] = 1  # the coverage check at teardown is moot
    assert got == want, (f"{len(got)} vs reference {len(want)}; only compiled "
                         f"{sorted(got - want)[:5]}, only reference {sorted(want - got)[:5]}")
    for _, node in walk(tree):
        kind = type(node).__name__
        if isinstance(node, Behaviour):
            kind = f"{kind}:{node.metric}:{node.window.kind}"
        elif isinstance(node, Derived):
            kind = f"{kind}:{node.field}"
        KINDS[kind] = KINDS.get(kind, 0) + 1
    KINDS["_nontrivial"] = KINDS.get("_nontrivial", 0) + (0 < len(want) < len(ref.ids))
