"""The rule builder, driven like a user would (``.value``, ``.click()``), without a browser."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from ipywidgets.widgets.widget import _instances

import segjupyter
from segjupyter.errors import RuleValidationError
from segjupyter.rules.dsl import parse, to_text
from segjupyter.rules.model import (Attribute, Behaviour, Derived, Group, MonthDay, Param,
                                    RelativeDate, SegmentRef, Sql, Window)
from segjupyter.widgets import RuleBuilder
from segjupyter.widgets.builder import ConditionRow, GroupBox

from strategies import trees


@pytest.fixture(scope="module")
def ws(demo_copy):
    """A private copy of the demo workspace (these tests write to its catalog)."""
    w = segjupyter.open(demo_copy("widgets-builder"))
    yield w
    w.close()


def classes(widget) -> tuple:
    return tuple(widget._dom_classes)


def button(row, cls):
    (b,) = [b for b in row.buttons.children if cls in classes(b)] if isinstance(
        row, ConditionRow) else [b for b in row.header.children[-1].children if cls in classes(b)]
    return b


# -- every kind of condition goes into the controls and comes back unchanged -------------------
TEXTS = [
    'city = "Madrid"', 'city != "Madrid"', 'city in ("Madrid", "Barcelona")',
    'city not in ("Madrid")', 'email contains "gmail"', 'email not contains "x"',
    'email starts with "a"', 'email ends with ".com"', 'city is null', 'city is not null',
    'subscribed', 'subscribed is false', 'subscribed = true', 'subscribed != false',
    'customer_id = 5', 'customer_id in (1, 2, 3)', 'customer_id not in (4)',
    'customer_id between 1 and 100', 'birth_date >= "1990-01-01"',
    'birth_date between "1980-01-01" and "1990-12-31"', 'registered_at >= -30d',
    'registered_at < today', 'registered_at >= +2w', 'registered_at >= "2025-01-31 10:00"',
    'birth_date between "12-02" and "01-03" ignore year',
    'birth_date between "02-29" and "02-29" ignore year', 'loyalty_tier = "gold"',
    'registered_at >= start of month', 'registered_at < start of month -1m',
    'registered_at <= end of year +7d', 'birth_date > start of year -30y',
    'registered_at between start of year and end of year', 'first_order >= start of month',
    'last_order between start of month -1m and end of month -1m',
    'birth_date between start of month and end of month ignore year',
    'birth_date between today and +7d ignore year',
    'birth_date between "12-24" and start of year +5d ignore year',
    'spend(last 12 months) >= 500', 'spend >= 500.50', 'spend between 100 and 200.25',
    'orders(last 90 days) = 0', 'bought(brand = "Acme" and category = "Tea", last 6 months)',
    'bought', 'bought(this year)', 'bought(last month)', 'bought(this month)',
    'units(channel = "web") > 3', 'distinct_products(since "2025-01-01") >= 3',
    'avg_ticket(between "2025-01-01" and "2025-06-30") > 40.5', 'first_order >= -1y',
    'last_order < "2026-01-01"', 'last_order is null', 'first_order is not null',
    'first_order between "2024-01-01" and "2024-12-31"', 'last_order >= "2026-01-01 08:30"',
    'events("visit", last 30 days) >= 2', 'events > 0', 'events(last month) = 0',
    'events("email_open") between 1 and 3',
    'bought(brand = "Acme" or not (category = "Tea" and price > 10), last year)',
    'bought(tags contains "organic")', 'spend(offer_code in ("BF25", "SPRING10")) >= 10',
    'rfm_segment = "champions"', 'rfm_segment in ("champions", "loyal")', 'rfm_r >= 4',
    'rfm_m between 2 and 3', 'lifecycle = "active"', 'lifecycle is not null',
    'sql("SELECT customer_id FROM customers WHERE city = \'Madrid\'")',
    'in_segment("some saved segment")',
    'not (city = "Madrid" or city = "Barcelona") and spend >= :min_spend',
    'city in :cities', 'birth_date >= :d', 'spend(since :start) > 0',
    'spend(between :a and :b) > 0', 'not city = "Madrid"',
    'city = "Madrid" or (subscribed and not (spend > 1 or orders > 2))',
    # dates in a time window
    'registered_at in last 6 months', 'registered_at in last 1 day',
    'registered_at not in last 30 days', 'registered_at in this year',
    'registered_at not in last year', 'birth_date in this month', 'birth_date in last month',
    'birth_date not in last 40 years and registered_at in last 2 weeks',
    'city in last 6 months',  # a window on a non-date field loads (and is marked)
    # invalid trees load too (and are marked): unknown field, wrong operator or value type
    'cty = "Madrid"', 'city > 5', 'spend >= "x"', 'birth_date = "Madrid"',
]


@pytest.mark.parametrize("text", TEXTS)
def test_every_condition_kind_round_trips(ws, text):
    tree = parse(text)
    b = RuleBuilder(ws, tree)
    assert b.tree == tree
    assert b.text == to_text(tree)
    assert b.preview.value == to_text(tree)
    # loading into a builder that already shows something reuses rows and still round-trips
    b.load(parse('city = "Lisboa" and spend(last 3 months) > 1 and (subscribed or bought)'))
    b.load(tree)
    assert b.tree == tree


MODEL_TREES = [
    Group("and", (Attribute("registered_at", ">=", dt.datetime(2025, 3, 1, 9, 15, 30)),)),
    Group("and", (Attribute("spend_limit_unknown", "=", Decimal("500.00")),)),
    Group("and", (Attribute("city", "in", ("Madrid", Param("other"))),)),  # mixed list
    Group("and", (Behaviour("spend", ">=", Decimal("500.00"), None,
                            Window("last", 2, "year")),)),
    Group("and", (Behaviour("orders", "between", (1, 5), None,
                            Window("between", start=dt.date(2025, 1, 1),
                                   end=Param("until"))),)),
    Group("and", (Behaviour("spend", ">", 0, Group("or", (
        Attribute("brand", "=", "Acme"), Group("and", (
            Attribute("channel", "=", "web"), Attribute("price", ">", Decimal("9.99"))),
            negate=True))), Window("since", start=dt.date(2024, 5, 1))),)),
    Group("and", (Attribute("birth_date", "between", (MonthDay(12, 24), MonthDay(1, 6)),
                            ignore_year=True),
                  Attribute("birth_date", "<", RelativeDate(-18, "year")))),
    Group("and", (Attribute("registered_at", ">=", RelativeDate(0, "month", "month_start")),
                  Attribute("birth_date", "between", (RelativeDate(-3, "week", "year_end"),
                                                      RelativeDate(2, "year", "month_end")),
                            ignore_year=True),
                  Behaviour("last_order", "<", RelativeDate(-1, "year", "year_start")))),
    Group("or", (Derived("rfm_segment", "=", "at risk"), Derived("rfm_f", "<=", 2),
                 SegmentRef("vip"), Sql("SELECT customer_id FROM orders")), negate=True),
    Group("and", (Group("or", (Attribute("city", "=", "Madrid"), Attribute("city", "=", "Porto")),
                        negate=True),
                  Group("and", (Attribute("subscribed", "is true"),), negate=True))),
    Group("and", ()),
    Group("and", (Attribute("registered_at", "in window", Window("last", 0, "day")),
                  Attribute("birth_date", "not in window", Window("last", 100000, "year")))),
]


@pytest.mark.parametrize("tree", MODEL_TREES, ids=range(len(MODEL_TREES)))
def test_model_trees_round_trip(ws, tree):
    assert RuleBuilder(ws, tree).tree == tree


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tree=trees(params=True, references=True))
def test_random_trees_round_trip(ws, tree):
    b = RuleBuilder(ws, tree)
    assert b.tree == tree
    b.close()


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tree=trees(odd=True, params=True, references=True))
def test_odd_trees_round_trip(ws, tree):
    """Awkward names, any value with any operator: still shown and read back exactly."""
    b = RuleBuilder(ws, tree)
    assert b.tree == tree


# -- driving the controls ------------------------------------------------------------------------
def test_clicking_builds_the_tree_text_and_count(ws):
    b = RuleBuilder(ws)
    assert b.tree == Group()
    row = b.add_condition()
    row.entity.value = "customer"
    row.field.value = "city"
    row.editor.op.value = "in"
    row.editor.slot.editors[0].widget.value = ["Madrid", "Barcelona"]
    b.root.add_condition_button.click()
    row2 = b.root.items[1]
    row2.entity.value = "behaviour"
    row2.field.value = "spend"
    row2.editor.window.kind.value = "last"
    row2.editor.window.n.value = 12
    row2.editor.window.unit.value = "month"
    row2.editor.op.value = ">="
    row2.editor.slot.editors[0].widget.value = 500.0
    expected = parse('city in ("Madrid", "Barcelona") and spend(last 12 months) >= 500')
    assert b.tree == expected
    assert b.preview.value == to_text(expected)
    b.calculate_button.click()
    n = ws.segment(expected).count()
    assert n > 0
    assert b.count == n
    assert f"{n:,}" in b.count_html.value
    funnel = ws.segment(expected).explain()
    assert list(b.funnel["customers"]) == list(funnel["customers"])
    assert "spend(last 12 months) &gt;= 500" in b.funnel_html.value


def test_values_carry_over_when_the_operator_changes(ws):
    b = RuleBuilder(ws, 'city = "Madrid"')
    (row,) = b.rows()
    row.editor.op.value = "in"
    assert b.tree == parse('city in ("Madrid")')
    row.editor.op.value = "!="
    assert b.tree == parse('city != "Madrid"')
    row.editor.op.value = "is null"
    assert b.tree == parse("city is null")


def test_date_editors_relative_absolute_and_ignore_year(ws):
    b = RuleBuilder(ws)
    row = b.add_condition()
    row.field.value = "registered_at"
    row.editor.op.value = ">="
    (date,) = row.editor.slot.editors
    date.mode.value = "relative"
    date.amount.value = 3
    date.unit.value = "month"
    assert b.tree == parse("registered_at >= -3m")
    date.mode.value = "date"
    date.date.value = dt.date(2025, 2, 1)
    assert b.tree == parse('registered_at >= "2025-02-01"')
    row.field.value = "birth_date"
    row.editor.op.value = "between ignore year"
    lo, hi = row.editor.slot.editors
    lo.month.value, lo.day.value = 12, 2
    hi.month.value, hi.day.value = 1, 3
    assert b.tree == parse('birth_date between "12-02" and "01-03" ignore year')
    n = ws.segment(b.tree).count()
    b.calculate()
    assert b.count == n > 0


def test_relative_dates_from_an_anchor_and_in_year_ignoring_ranges(ws):
    b = RuleBuilder(ws)
    row = b.add_condition()
    row.field.value = "registered_at"
    row.editor.op.value = ">="
    (date,) = row.editor.slot.editors
    date.mode.value = "relative"
    assert [w.value for w in date.rel.widgets] == [30, "day", -1, "today"]
    date.rel.anchor.value = "month_start"
    date.amount.value = 1
    date.unit.value = "month"
    assert b.tree == parse("registered_at >= start of month -1m")
    date.amount.value = 0
    date.unit.value = "day"
    assert b.tree == parse("registered_at >= start of month")
    # a year-ignoring range: each bound a month-day or relative
    row.field.value = "birth_date"
    row.editor.op.value = "between ignore year"
    lo, hi = row.editor.slot.editors
    assert lo.mode.value == "monthday" and "sj-monthday-mode" in classes(lo.mode)
    for bound, anchor in ((lo, "month_start"), (hi, "month_end")):
        bound.mode.value = "relative"
        assert bound.rel.widgets[0] in bound.widget.children
        bound.rel.anchor.value = anchor
    assert b.tree == parse("birth_date between start of month and end of month ignore year")
    assert b.text == "birth_date between start of month and end of month ignore year"
    hi.rel.anchor.value = "today"
    hi.rel.direction.value = 1
    hi.rel.amount.value = 7
    lo.rel.anchor.value = "today"
    assert b.tree == parse("birth_date between today and +7d ignore year")
    lo.mode.value = "monthday"
    lo.month.value, lo.day.value = 12, 24
    assert b.tree == parse('birth_date between "12-24" and +7d ignore year')
    # loading shows each bound in its own mode; the count is the segment's
    b.load("birth_date between start of month and end of month ignore year")
    lo, hi = b.rows()[0].editor.slot.editors
    assert (lo.mode.value, lo.rel.anchor.value, hi.rel.anchor.value) == (
        "relative", "month_start", "month_end")
    b.calculate()
    assert b.count == ws.segment(b.tree).count() > 0


def test_date_field_in_a_time_window(ws):
    b = RuleBuilder(ws)
    row = b.add_condition()
    row.field.value = "registered_at"
    ops = [k for _l, k in row.editor.op.options]
    assert ops[-2:] == ["in window", "not in window"]
    row.editor.op.value = "in window"
    window = row.editor.window
    assert window.box in row.editor.value_box.children
    assert row.editor.slot.box not in row.editor.value_box.children
    # only the windows a date can be in, starting at the last 6 months
    assert [k for _l, k in window.kind.options] == [
        "last", "this_year", "last_year", "this_month", "last_month"]
    assert b.tree == parse("registered_at in last 6 months")
    window.n.value = 30
    window.unit.value = "day"
    assert b.tree == parse("registered_at in last 30 days")
    row.editor.op.value = "not in window"  # the window carries over
    assert b.tree == parse("registered_at not in last 30 days")
    window.kind.value = "last_month"
    assert b.text == "registered_at not in last month"
    n = ws.segment(b.tree).count()
    assert b.calculate() == n > 0
    # another date field keeps the operator and the window; a text field has neither
    row.field.value = "birth_date"
    assert b.tree == parse("birth_date not in last month")
    row.field.value = "city"
    assert "in window" not in [k for _l, k in row.editor.op.options]
    assert row.editor.slot.box in row.editor.value_box.children
    assert row.editor.window.box not in row.editor.value_box.children
    # loading shows the window; the builder's count is the segment's
    b.load("registered_at in this year and birth_date in last 40 years")
    r0, r1 = b.rows()
    assert (r0.editor.op.value, r0.editor.window.kind.value) == ("in window", "this_year")
    assert (r1.editor.window.n.value, r1.editor.window.unit.value) == (40, "year")
    assert b.calculate() == ws.segment(b.tree).count() > 0
    b.load('registered_at in this year and city = "Madrid"')  # rows reused, window replaced
    assert b.tree == parse('registered_at in this year and city = "Madrid"')
    # read-only: the window controls are disabled too
    ro = RuleBuilder(ws, "registered_at in last 6 months", read_only=True)
    (r,) = ro.rows()
    assert r.editor.window.kind.disabled and r.editor.window.n.disabled
    # a window on a non-date field is marked with the compiler's message
    bad = RuleBuilder(ws, "city in last 6 months")
    assert "needs a date or timestamp field" in bad.rows()[0].error.value


def test_behaviour_editor_with_filters_window_and_events(ws):
    b = RuleBuilder(ws)
    row = b.add_condition()
    row.entity.value = "behaviour"
    row.field.value = "bought"
    assert row.editor.op.layout.display == "none"  # bought has no comparison
    f1 = row.editor.filter.add_condition()
    f1.entity.value = "product"
    f1.field.value = "brand"
    f1.editor.slot.editors[0].widget.value = "Acme"
    row.editor.filter.add_condition_button.click()
    f2 = row.editor.filter.items[1]
    f2.entity.value = "product"
    f2.field.value = "category"
    f2.editor.slot.editors[0].widget.value = "Tea"
    row.editor.window.kind.value = "last"
    row.editor.window.n.value = 6
    assert b.tree == parse('bought(brand = "Acme" and category = "Tea", last 6 months)')
    assert b.calculate() == ws.segment(b.tree).count()
    # the filter row's path is its behaviour's path; removing it closes its widgets
    assert f2.path == (0,)
    button(f2, "sj-remove").click()
    assert b.tree == parse('bought(brand = "Acme", last 6 months)')
    row.entity.value = "events"  # keeps the window; the filter left over is marked
    assert "event type" in row.error.value
    button(row.editor.filter.items[0], "sj-remove").click()
    assert row.error.value == "" and row.editor.filter.layout.display == "none"
    row.field.value = "visit"
    row.editor.op.value = ">="
    row.editor.slot.editors[0].widget.value = 2
    assert b.tree == parse('events("visit", last 6 months) >= 2')
    row.field.value = "*"
    assert b.tree == parse("events(last 6 months) >= 2")


def test_nested_groups_not_and_or(ws):
    b = RuleBuilder(ws)
    r1 = b.add_condition()
    r1.field.value = "city"
    r1.editor.slot.editors[0].widget.value = "Madrid"
    b.root.add_group_button.click()
    g = b.root.items[1]
    assert isinstance(g, GroupBox)
    g.op.value = "or"
    g.negate.value = True
    (inner,) = g.items
    inner.entity.value = "custom"
    inner.field.value = "loyalty_tier"
    inner.editor.slot.editors[0].widget.value = "gold"
    g.add_condition_button.click()
    inner2 = g.items[1]
    inner2.field.value = "subscribed"
    inner2.editor.op.value = "is true"
    assert b.tree == parse('city = "Madrid" and not (loyalty_tier = "gold" or subscribed)')
    b.root.negate.value = True
    assert b.tree == parse('not (city = "Madrid" and not (loyalty_tier = "gold" or subscribed))')
    assert b.calculate() == ws.segment(b.tree).count()


def test_move_duplicate_remove_with_buttons(ws):
    b = RuleBuilder(ws, 'city = "Madrid" and subscribed and spend > 100')
    r0, r1, r2 = b.root.items
    button(r2, "sj-move-up").click()
    assert b.tree == parse('city = "Madrid" and spend > 100 and subscribed')
    button(r0, "sj-move-up").click()  # already first: nothing moves
    button(r0, "sj-duplicate").click()
    assert b.tree == parse('city = "Madrid" and city = "Madrid" and spend > 100 and subscribed')
    copy = b.root.items[1]
    assert copy is not r0 and copy.editor.slot.editors[0].widget is not \
        r0.editor.slot.editors[0].widget
    copy.editor.slot.editors[0].widget.value = "Porto"
    assert b.tree == parse('city = "Madrid" and city = "Porto" and spend > 100 and subscribed')
    button(r0, "sj-move-down").click()
    assert b.tree == parse('city = "Porto" and city = "Madrid" and spend > 100 and subscribed')
    button(r0, "sj-remove").click()
    assert b.tree == parse('city = "Porto" and spend > 100 and subscribed')
    assert r0.comm is None and r0.entity.comm is None  # closed
    assert [type(c) for c in b.root.body.children] == [ConditionRow] * 3


def test_removed_rows_and_groups_close_every_widget(ws):
    b = RuleBuilder(ws, "subscribed")
    before = len(_instances)
    row = b.add_condition(parse('bought(brand = "Acme" or not (category = "Tea"), last year)'
                                ).rules[0])
    group = b.add_group(parse('city = "Madrid" or birth_date between "12-02" and "01-03" '
                              'ignore year or registered_at >= -30d or '
                              'registered_at not in last 6 months'))
    assert len(_instances) > before + 50
    b.root.remove(row)
    b.root.remove(group)
    assert len(_instances) == before
    # switching a row's entity swaps its editor without leaking the old one
    row = b.add_condition()
    after_add = len(_instances)
    for entity in ("behaviour", "events", "derived", "sql", "custom", "customer"):
        row.entity.value = entity
    row.field.value = row.field.options[0][1]
    b.root.remove(row)
    assert len(_instances) == before
    assert after_add > before


def test_rows_are_updated_in_place(ws):
    b = RuleBuilder(ws, 'city = "Madrid"')
    (row,) = b.rows()
    editor, combo = row.editor, row.editor.slot.editors[0].widget
    row.field.value = "country"  # same type: same editor and value widget, new options
    assert row.editor is editor and row.editor.slot.editors[0].widget is combo
    assert "Spain" in combo.options
    b.load(parse('city = "Porto"'))  # loading a same-shaped tree reuses the row
    assert b.rows() == [row] and row.editor.slot.editors[0].widget is combo
    assert b.tree == parse('city = "Porto"')


def test_invalid_conditions_are_marked_in_place(ws):
    b = RuleBuilder(ws, parse('city = "Madrid" and cty = "Madrid" and spend >= 10'))
    bad = b.rows()[1]
    assert "sj-invalid" in classes(bad)
    assert "did you mean" in bad.error.value and "city" in bad.error.value
    assert bad.error.layout.display is None
    assert b.validate() == {(1,): "unknown customer field 'cty' — did you mean 'city'?"}
    b.calculate_button.click()
    assert "cty" in b.count_html.value and b.count is None
    with pytest.raises(RuleValidationError) as e:
        b.calculate()
    assert e.value.path == (1,)
    bad.entity.value = "customer"
    bad.field.value = "city"
    assert "sj-invalid" not in classes(bad) and bad.error.value == ""
    # a value the language cannot write: the row says so and .tree raises with its path
    row = b.add_condition()
    row.field.value = "birth_date"
    row.editor.op.value = "="
    row.editor.slot.editors[0].date.value = None
    assert "needs a value" in row.error.value
    with pytest.raises(RuleValidationError) as e:
        b.tree
    assert e.value.path == (3,)


def test_apply_text_loads_the_language(ws):
    b = RuleBuilder(ws)
    b.preview.value = 'country = "Portugal" and orders(last 12 months) >= 2'
    b.apply_text.click()
    assert b.tree == parse('country = "Portugal" and orders(last 12 months) >= 2')
    assert len(b.rows()) == 2
    b.preview.value = 'country = "Portugal" and ordrs >= 2'
    b.apply_text.click()
    assert "sj-error" in b.message.value and "line 1" in b.message.value
    assert b.tree == parse('country = "Portugal" and orders(last 12 months) >= 2')


def test_read_only_builder_shows_no_editing(ws):
    b = RuleBuilder(ws, 'city = "Madrid" and bought(brand = "Acme")', read_only=True)
    r0, r1 = b.rows()
    assert r0.buttons.layout.display == "none"
    assert r0.entity.disabled and r0.field.disabled and r0.editor.op.disabled
    assert r0.editor.slot.editors[0].widget.disabled
    assert b.root.header.children[3].layout.display == "none"  # the add buttons
    assert b.children[-1].layout.display == "none"  # the save row
    assert b.preview.disabled and b.apply_text.layout.display == "none"
    assert b.calculate() == ws.segment(b.tree).count()


def test_thirty_conditions_through_the_widget_api(ws):
    b = RuleBuilder(ws)
    for i in range(30):
        row = b.add_condition()
        if i % 2:
            row.entity.value = "behaviour"
            row.field.value = "orders"
            row.editor.op.value = ">="
            row.editor.slot.editors[0].widget.value = i % 3
        else:
            row.field.value = "country"
            row.editor.op.value = "!="
            row.editor.slot.editors[0].widget.value = "France"
    assert len(b.tree.rules) == 30
    assert b.calculate() == ws.segment(b.text).count()


def test_an_empty_event_type_means_any_event(ws):
    """Found by hypothesis: events("") used to come back from the widgets as events()."""
    from segjupyter.rules.model import Behaviour, Group
    tree = Group("and", (Behaviour("events", "=", "'; DROP TABLE customers; --",
                                   event_type=""),))
    assert tree.rules[0].event_type is None
    b = RuleBuilder(ws, tree)
    assert b.tree == tree
    b.close()
