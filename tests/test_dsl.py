"""The %%segment language: parser, printer, errors and the round trip."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import resources

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segjupyter.errors import SegmentSyntaxError
from segjupyter.rules.dsl import parse, to_text
from segjupyter.rules.model import (Attribute as A, Behaviour as B, Derived as D, Group as G,
                                    MonthDay, Param, RelativeDate as R, SegmentRef, Sql,
                                    Window as W, canonical, from_json, to_json)
from segjupyter.workspace.registry import FieldRegistry

import strategies

MADRID = A("city", "=", "Madrid")
PARIS = A("city", "=", "Paris")
SUB = A("subscribed", "is true")
ACME = A("brand", "=", "Acme")
TEA = A("category", "=", "Tea")


SOM, EOM = R(0, "day", "month_start"), R(0, "day", "month_end")


def one(node):
    return G("and", (node,))


# -- parsing: text -> tree, one row per construct -------------------------------------------
PARSE_CASES = [
    # comparisons
    ('city = "Madrid"', one(MADRID)),
    ("city == 'Madrid'", one(MADRID)),
    ('city != "Madrid"', one(A("city", "!=", "Madrid"))),
    ('city <> "Madrid"', one(A("city", "!=", "Madrid"))),
    ("visits < 3", one(A("visits", "<", 3))),
    ("visits <= -3", one(A("visits", "<=", -3))),
    ("visits > +3", one(A("visits", ">", 3))),
    ("score >= 2.50", one(A("score", ">=", Decimal("2.50")))),
    ("score >= -0.5", one(A("score", ">=", Decimal("-0.5")))),
    ("subscribed = true", one(A("subscribed", "=", True))),
    ("subscribed != FALSE", one(A("subscribed", "!=", False))),
    # lists
    ('city in ("Madrid", "Paris")', one(A("city", "in", ("Madrid", "Paris")))),
    ('city in ("Madrid", "Paris",)', one(A("city", "in", ("Madrid", "Paris")))),
    ('city NOT IN ("Madrid")', one(A("city", "not in", ("Madrid",)))),
    ("city in ()", one(A("city", "in", ()))),
    ("city in :cities", one(A("city", "in", Param("cities")))),
    ("visits in (1, :n, 2.5)", one(A("visits", "in", (1, Param("n"), Decimal("2.5"))))),
    # between, dates, year-ignoring ranges
    ("visits between 1 and 5", one(A("visits", "between", (1, 5)))),
    ('registered_at between "2024-01-01" and "2024-06-30 23:59:59"',
     one(A("registered_at", "between",
           (dt.date(2024, 1, 1), dt.datetime(2024, 6, 30, 23, 59, 59))))),
    ('registered_at >= "2024-01-31T10:00"',
     one(A("registered_at", ">=", dt.datetime(2024, 1, 31, 10, 0)))),
    ('birth_date between "12-02" and "01-03" ignore year',
     one(A("birth_date", "between", (MonthDay(12, 2), MonthDay(1, 3)), ignore_year=True))),
    ('birth_date between "02-29" and "3-1" IGNORE YEAR',
     one(A("birth_date", "between", (MonthDay(2, 29), MonthDay(3, 1)), ignore_year=True))),
    ("birth_date between :from and :to ignore year",
     one(A("birth_date", "between", (Param("from"), Param("to")), ignore_year=True))),
    # dates in a time window
    ("registered_at in last 6 months",
     one(A("registered_at", "in window", W("last", 6, "month")))),
    ("registered_at IN Last 1 Day", one(A("registered_at", "in window", W("last", 1, "day")))),
    ("registered_at in last 0 weeks", one(A("registered_at", "in window", W("last", 0, "week")))),
    ("registered_at in last 2 years", one(A("registered_at", "in window", W("last", 2, "year")))),
    ("registered_at in this year", one(A("registered_at", "in window", W("this_year")))),
    ("registered_at in last year", one(A("registered_at", "in window", W("last_year")))),
    ("registered_at in this month", one(A("registered_at", "in window", W("this_month")))),
    ("birth_date in last month", one(A("birth_date", "in window", W("last_month")))),
    ("registered_at not in last 30 days",
     one(A("registered_at", "not in window", W("last", 30, "day")))),
    ("registered_at NOT IN this year", one(A("registered_at", "not in window", W("this_year")))),
    ("not registered_at in this year",
     G("and", (A("registered_at", "in window", W("this_year")),), negate=True)),
    ('registered_at in last 1 week and city in ("Madrid")',
     G("and", (A("registered_at", "in window", W("last", 1, "week")),
               A("city", "in", ("Madrid",))))),
    ("`last` in last month", one(A("last", "in window", W("last_month")))),
    ("spend(store_opened in this year, last 2 years) > 0",
     one(B("spend", ">", 0, filter=one(A("store_opened", "in window", W("this_year"))),
           window=W("last", 2, "year")))),
    # relative dates
    ("registered_at >= -30d", one(A("registered_at", ">=", R(-30, "day")))),
    ("registered_at < +2w", one(A("registered_at", "<", R(2, "week")))),
    ("registered_at < -6M", one(A("registered_at", "<", R(-6, "month")))),
    ("birth_date <= -18y", one(A("birth_date", "<=", R(-18, "year")))),
    ("registered_at <= today", one(A("registered_at", "<=", R(0, "day")))),
    ("registered_at between -1y and today",
     one(A("registered_at", "between", (R(-1, "year"), R(0, "day"))))),
    # relative dates from the start / end of as_of's month or year, with an optional offset
    ("registered_at >= start of month", one(A("registered_at", ">=", SOM))),
    ("registered_at >= Start Of MONTH -1m",
     one(A("registered_at", ">=", R(-1, "month", "month_start")))),
    ("registered_at <= end of month +7d", one(A("registered_at", "<=", R(7, "day", "month_end")))),
    ("birth_date < start of year -18y", one(A("birth_date", "<", R(-18, "year", "year_start")))),
    ("registered_at between start of year and END OF YEAR",
     one(A("registered_at", "between", (R(0, "day", "year_start"), R(0, "day", "year_end"))))),
    ("first_order >= start of month", one(B("first_order", ">=", SOM))),
    ("last_order between start of month -1m and end of month -1m",
     one(B("last_order", "between", (R(-1, "month", "month_start"),
                                      R(-1, "month", "month_end"))))),
    ("visits in (start of month, end of year -2w)",
     one(A("visits", "in", (SOM, R(-2, "week", "year_end"))))),
    ("birth_date between start of month and end of month ignore year",
     one(A("birth_date", "between", (SOM, EOM), ignore_year=True))),
    ("birth_date between today and +7d ignore year",
     one(A("birth_date", "between", (R(0, "day"), R(7, "day")), ignore_year=True))),
    ('birth_date between "12-24" and start of year +5d ignore year',
     one(A("birth_date", "between", (MonthDay(12, 24), R(5, "day", "year_start")),
           ignore_year=True))),
    ("`start` = 1 and `end` = 2", G("and", (A("start", "=", 1), A("end", "=", 2)))),
    ("start = 1 and end = 2", G("and", (A("start", "=", 1), A("end", "=", 2)))),
    # text operators
    ('email contains "@example"', one(A("email", "contains", "@example"))),
    ('email not contains "@example"', one(A("email", "not contains", "@example"))),
    ('email starts with "ana"', one(A("email", "starts with", "ana"))),
    ('email ends with ".org"', one(A("email", "ends with", ".org"))),
    ('tags contains "vegan"', one(A("tags", "contains", "vegan"))),
    # no-value operators
    ("gender is null", one(A("gender", "is null"))),
    ("gender IS NOT NULL", one(A("gender", "is not null"))),
    ("subscribed is true", one(SUB)),
    ("subscribed", one(SUB)),
    ("subscribed is false", one(A("subscribed", "is false"))),
    # names
    ('`loyalty tier` = "gold"', one(A("loyalty tier", "=", "gold"))),
    ("`a``b` is null", one(A("a`b", "is null"))),
    ("`orders` > 1", one(A("orders", ">", 1))),
    ("ciudad_ñ = 1", one(A("ciudad_ñ", "=", 1))),
    ("City = 1", one(A("City", "=", 1))),
    # params
    ("spend >= :min_spend", one(B("spend", ">=", Param("min_spend")))),
    # strings
    (r'city = "a\"b\\c\nd\te\u00e9\U0001F389"', one(A("city", "=", 'a"b\\c\nd\teé🎉'))),
    (r"city = 'it\'s'", one(A("city", "=", "it's"))),
    ("city = 'say \"hi\"'", one(A("city", "=", 'say "hi"'))),
    ('city = "# not a comment"  # a comment', one(A("city", "=", "# not a comment"))),
    # behaviour: every metric, parentheses optional
    ("orders > 0", one(B("orders", ">", 0))),
    ("orders() > 0", one(B("orders", ">", 0))),
    ("ORDERS(all time) > 0", one(B("orders", ">", 0))),
    ("spend(last 12 months) >= 500", one(B("spend", ">=", 500, window=W("last", 12, "month")))),
    ("units(last 1 week) >= 5", one(B("units", ">=", 5, window=W("last", 1, "week")))),
    ("distinct_products(last 30 days) between 2 and 4",
     one(B("distinct_products", "between", (2, 4), window=W("last", 30, "day")))),
    ("avg_ticket(this year) > 25.5",
     one(B("avg_ticket", ">", Decimal("25.5"), window=W("this_year")))),
    ('first_order >= "2024-01-01"', one(B("first_order", ">=", dt.date(2024, 1, 1)))),
    ("last_order < -90d", one(B("last_order", "<", R(-90, "day")))),
    ("last_order is null", one(B("last_order", "is null"))),
    ("first_order is not null", one(B("first_order", "is not null"))),
    # behaviour filters and windows
    ('spend(brand = "Acme") > 10', one(B("spend", ">", 10, filter=one(ACME)))),
    ('spend(brand = "Acme" and category = "Tea", last 6 months) >= 50',
     one(B("spend", ">=", 50, filter=G("and", (ACME, TEA)), window=W("last", 6, "month")))),
    ('orders(brand = "Acme" or not category = "Tea", last year) > 1',
     one(B("orders", ">", 1, window=W("last_year"),
           filter=G("or", (ACME, G("and", (TEA,), negate=True)))))),
    ('orders(not (brand = "Acme" or category = "Tea")) = 0',
     one(B("orders", "=", 0, filter=G("or", (ACME, TEA), negate=True)))),
    ('orders((brand = "Acme" or brand = "Atlas") and channel = "web") > 0',
     one(B("orders", ">", 0, filter=G("and", (
         G("or", (ACME, A("brand", "=", "Atlas"))), A("channel", "=", "web")))))),
    ("orders(this month) > 0", one(B("orders", ">", 0, window=W("this_month")))),
    ("orders(last month) > 0", one(B("orders", ">", 0, window=W("last_month")))),
    ("orders(last 2 years) > 0", one(B("orders", ">", 0, window=W("last", 2, "year")))),
    ("orders(last 0 days) > 0", one(B("orders", ">", 0, window=W("last", 0, "day")))),
    ('orders(since "2024-03-01") > 0',
     one(B("orders", ">", 0, window=W("since", start=dt.date(2024, 3, 1))))),
    ('orders(between "2024-01-01" and :end) > 0',
     one(B("orders", ">", 0, window=W("between", start=dt.date(2024, 1, 1),
                                       end=Param("end"))))),
    # bought, events
    ("bought()", one(B("bought"))),
    ("bought", one(B("bought"))),
    ('bought(brand = "Acme" and category = "Tea", last 6 months)',
     one(B("bought", filter=G("and", (ACME, TEA)), window=W("last", 6, "month")))),
    ('bought(tags contains "vegan")',
     one(B("bought", filter=one(A("tags", "contains", "vegan"))))),
    ("events > 3", one(B("events", ">", 3))),
    ('events("email_open") >= 1', one(B("events", ">=", 1, event_type="email_open"))),
    ('events("visit", last 30 days) >= 2',
     one(B("events", ">=", 2, event_type="visit", window=W("last", 30, "day")))),
    ("events(this year) = 0", one(B("events", "=", 0, window=W("this_year")))),
    # references, sql, derived
    ('in_segment("vip")', one(SegmentRef("vip"))),
    ("sql('SELECT customer_id FROM customers')", one(Sql("SELECT customer_id FROM customers"))),
    ('sql("""SELECT customer_id\nFROM orders WHERE note = \'a\\b\'""")',
     one(Sql("SELECT customer_id\nFROM orders WHERE note = 'a\\b'"))),
    ('rfm_segment = "champions"', one(D("rfm_segment", "=", "champions"))),
    ('RFM_Segment in ("at risk", "can\'t lose them")',
     one(D("rfm_segment", "in", ("at risk", "can't lose them")))),
    ("rfm_r between 4 and 5", one(D("rfm_r", "between", (4, 5)))),
    ("rfm_f >= 4 and rfm_m <= 2", G("and", (D("rfm_f", ">=", 4), D("rfm_m", "<=", 2)))),
    ('lifecycle != "lost"', one(D("lifecycle", "!=", "lost"))),
    # structure and precedence
    ('city = "Madrid" and subscribed', G("and", (MADRID, SUB))),
    ('city = "Madrid" AND subscribed and city = "Paris"', G("and", (MADRID, SUB, PARIS))),
    ('city = "Madrid" or subscribed and city = "Paris"',
     G("or", (MADRID, G("and", (SUB, PARIS))))),
    ('city = "Madrid" and subscribed or city = "Paris"',
     G("or", (G("and", (MADRID, SUB)), PARIS))),
    ('(city = "Madrid" or city = "Paris") and subscribed',
     G("and", (G("or", (MADRID, PARIS)), SUB))),
    ('(city = "Madrid" and subscribed) and city = "Paris"',
     G("and", (G("and", (MADRID, SUB)), PARIS))),
    ('(city = "Madrid" or city = "Paris")', G("or", (MADRID, PARIS))),
    ('((city = "Madrid"))', one(MADRID)),
    ('not city = "Madrid"', G("and", (MADRID,), negate=True)),
    ('not city = "Madrid" and subscribed', G("and", (G("and", (MADRID,), negate=True), SUB))),
    ('not (city = "Madrid" or city = "Paris")', G("or", (MADRID, PARIS), negate=True)),
    ('not ((city = "Madrid" or city = "Paris"))',
     G("and", (G("or", (MADRID, PARIS)),), negate=True)),
    ('not not city = "Madrid"',
     G("and", (G("and", (MADRID,), negate=True),), negate=True)),
    ('subscribed and not (city = "Madrid" or city = "Paris")',
     G("and", (SUB, G("or", (MADRID, PARIS), negate=True)))),
    ("", G()),
    ("# only a comment\n", G()),
    ("()", G()),
    ("not ()", G(negate=True)),
    ('city = "Madrid" and ()', G("and", (MADRID, G()))),
    # layout: newlines are spaces, comments run to the end of the line
    ('# Madrid, subscribed\ncity = "Madrid"   # the city\n  and\nsubscribed\n',
     G("and", (MADRID, SUB))),
]


@pytest.mark.parametrize("text,expected", PARSE_CASES, ids=[c[0][:40] for c in PARSE_CASES])
def test_parse(text, expected):
    tree = parse(text)
    assert tree == expected
    assert parse(to_text(tree)) == tree


def test_design_example():
    text = '''
    # Madrid or Barcelona, subscribed, spent 500+ in the last year, nothing in the last 90 days
    city in ("Madrid", "Barcelona") and subscribed
    and spend(last 12 months) >= 500
    and not orders(last 90 days) > 0
    and bought(brand = "Acme" and category = "Tea", last 6 months)
    and birth_date between "12-02" and "01-03" ignore year
    '''
    expected = G("and", (
        A("city", "in", ("Madrid", "Barcelona")), SUB,
        B("spend", ">=", 500, window=W("last", 12, "month")),
        G("and", (B("orders", ">", 0, window=W("last", 90, "day")),), negate=True),
        B("bought", filter=G("and", (ACME, TEA)), window=W("last", 6, "month")),
        A("birth_date", "between", (MonthDay(12, 2), MonthDay(1, 3)), ignore_year=True),
    ))
    assert parse(text) == expected
    assert to_text(expected) == (
        'city in ("Madrid", "Barcelona")\n'
        "and subscribed\n"
        "and spend(last 12 months) >= 500\n"
        "and not orders(last 90 days) > 0\n"
        'and bought(brand = "Acme" and category = "Tea", last 6 months)\n'
        'and birth_date between "12-02" and "01-03" ignore year')
    # the same tree through the stored JSON form
    assert from_json(to_json(parse(text))) == expected


def test_windows_of_date_fields_in_json():
    tree = parse("registered_at in last 6 months and birth_date not in this year")
    doc = to_json(tree)
    assert ('{"attribute": "registered_at", "op": "in window", "value": {"window": '
            '{"kind": "last", "n": 6, "unit": "month"}}}') in doc
    assert '"value": {"window": {"kind": "this_year"}}' in doc
    assert from_json(doc) == tree
    with pytest.raises(ValueError, match="'since'"):
        from_json({"version": 1, "rule": {"attribute": "x", "op": "in window",
                                          "value": {"window": {"kind": "since",
                                                               "start": {"date": "2025-01-01"}}}}})
    with pytest.raises(ValueError, match="takes a time window"):
        A("registered_at", "in window", R(-30))
    with pytest.raises(ValueError, match="goes with 'in window'"):
        A("registered_at", ">=", W("this_year"))


def test_relative_dates_in_json_keep_old_documents_valid():
    """``{"relative": [n, unit]}`` is unchanged without an anchor (documents written before
    anchors still load); an anchor is a third item."""
    old = {"version": 1, "rule": {"attribute": "registered_at", "op": ">=",
                                  "value": {"relative": [-30, "day"]}}}
    assert from_json(old) == one(A("registered_at", ">=", R(-30, "day")))
    assert '{"relative": [-30, "day"]}' in to_json(from_json(old))
    tree = parse("birth_date between start of month and end of month -1m ignore year")
    doc = to_json(tree)
    assert '{"relative": [0, "day", "month_start"]}' in doc
    assert '{"relative": [-1, "month", "month_end"]}' in doc
    assert from_json(doc) == tree
    with pytest.raises(ValueError, match="anchor"):
        from_json({"version": 1, "rule": {"attribute": "x", "op": "=",
                                          "value": {"relative": [0, "day", "week_start"]}}})


# -- printing ------------------------------------------------------------------------------
PRINT_CASES = [
    (one(A("city", "!=", "Madrid")), 'city != "Madrid"'),
    (one(SUB), "subscribed"),
    (one(A("subscribed", "is false")), "subscribed is false"),
    (one(A("score", ">", Decimal("2.50"))), "score > 2.50"),
    (one(A("score", ">", Decimal("1E+2"))), "score > 100.0"),
    (one(A("score", ">", 2.5)), "score > 2.5"),  # floats enter as Decimal
    (one(A("registered_at", ">", dt.datetime(2024, 1, 2, 3, 4, 5))),
     'registered_at > "2024-01-02 03:04:05"'),
    (one(A("registered_at", ">", R(0, "day"))), "registered_at > today"),
    (one(A("registered_at", ">", R(0, "week"))), "registered_at > +0w"),
    (one(A("registered_at", ">", R(-3, "month"))), "registered_at > -3m"),
    (one(A("birth_date", "between", ("12-24", "01-06"), ignore_year=True)),
     'birth_date between "12-24" and "01-06" ignore year'),
    (one(A("registered_at", ">", SOM)), "registered_at > start of month"),
    (one(A("registered_at", ">", R(0, "month", "month_end"))), "registered_at > end of month +0m"),
    (one(A("registered_at", ">", R(-1, "month", "month_start"))),
     "registered_at > start of month -1m"),
    (one(A("registered_at", ">", R(3, "week", "year_end"))), "registered_at > end of year +3w"),
    (one(A("birth_date", "between", (SOM, EOM), ignore_year=True)),
     "birth_date between start of month and end of month ignore year"),
    (one(A("registered_at", "in window", W("last", 1, "month"))),
     "registered_at in last 1 month"),
    (one(A("registered_at", "in window", W("last", 6, "month"))),
     "registered_at in last 6 months"),
    (one(A("birth_date", "not in window", W("last_year"))), "birth_date not in last year"),
    (one(A("in", "in window", W("this_month"))), "`in` in this month"),
    (one(A("start", "=", 1)), "`start` = 1"),
    (one(A("End", "=", 1)), "`End` = 1"),
    (one(A("city", "in", Param("cities"))), "city in :cities"),
    (one(A("loyalty tier", "=", "gold")), '`loyalty tier` = "gold"'),
    (one(A("orders", "=", 1)), "`orders` = 1"),
    (one(A("Year", "=", 1)), "`Year` = 1"),
    (one(A("a`b", "is null")), "`a``b` is null"),
    (one(A("city", "=", 'a"b\\c\nd\u202e')), r'city = "a\"b\\c\nd\u202e"'),
    (one(B("bought")), "bought()"),
    (one(B("orders", ">", 0, window=W("last", 1, "day"))), "orders(last 1 day) > 0"),
    (one(B("orders", ">", 0, window=W("this_year"))), "orders(this year) > 0"),
    (one(B("orders", ">", 0, window=W("since", start=Param("start")))),
     "orders(since :start) > 0"),
    (one(B("events", ">", 0, event_type="email_open", window=W("last_month"))),
     'events("email_open", last month) > 0'),
    (one(B("spend", ">", 0, filter=G("or", (ACME, TEA), negate=True))),
     'spend(not (brand = "Acme" or category = "Tea")) > 0'),
    (one(Sql("SELECT customer_id\nFROM customers")),
     'sql("""SELECT customer_id\nFROM customers""")'),
    (one(Sql('SELECT "x"')), r'sql("SELECT \"x\"")'),
    (G("or", (MADRID, G("and", (SUB, PARIS)))),
     'city = "Madrid" or (subscribed and city = "Paris")'),
    (G("and", (MADRID,), negate=True), 'not city = "Madrid"'),
    (G("or", (MADRID, PARIS), negate=True), 'not (city = "Madrid" or city = "Paris")'),
    (G("and", (G("or", (MADRID, PARIS)),), negate=True),
     'not ((city = "Madrid" or city = "Paris"))'),
    (G(), ""),
]


@pytest.mark.parametrize("tree,text", PRINT_CASES, ids=[c[1][:40] for c in PRINT_CASES])
def test_print(tree, text):
    assert to_text(tree) == text
    assert parse(text) == canonical(tree)


def test_print_condition_alone():
    assert to_text(MADRID) == 'city = "Madrid"'


def test_long_rules_print_one_condition_per_line():
    inner = G("or", tuple(A("city", "=", c) for c in strategies.CITIES))
    tree = G("and", (SUB, inner, B("spend", ">=", 500, window=W("last", 12, "month"))))
    text = to_text(tree)
    assert text.splitlines() == [
        "subscribed",
        "and (",
        '    city = "Madrid"',
        '    or city = "Barcelona"',
        '    or city = "Valencia"',
        '    or city = "Sevilla"',
        '    or city = "Málaga"',
        '    or city = "A Coruña"',
        '    or city = "Lisboa"',
        '    or city = "Porto"',
        '    or city = "Paris"',
        '    or city = "Lyon"',
        ")",
        "and spend(last 12 months) >= 500",
    ]
    assert parse(text) == tree
    negated = G("or", tree.rules, negate=True)
    lines = to_text(negated).splitlines()
    assert lines[0] == "not (" and lines[1] == "    subscribed" and lines[-1] == ")"
    assert parse(to_text(negated)) == negated


def test_unprintable_trees_are_refused():
    with pytest.raises(ValueError, match="time-zone"):
        to_text(A("registered_at", ">", dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)))
    with pytest.raises(ValueError, match="newline"):
        to_text(A("bad\nname", "is null"))
    with pytest.raises(ValueError):
        to_text(A("x", "=", Decimal("NaN")))


# -- errors --------------------------------------------------------------------------------
# text, line, column, token, suggestion, words in the message
ERROR_CASES = [
    ("spnd(last 6 months) > 3", 1, 1, "spnd", "spend", "unknown metric"),
    ("spend >= and subscribed", 1, 10, "and", None, "expected a value after '>='"),
    ("spend >=", 1, 9, None, None, "expected a value after '>=', found the end"),
    ('(city = "a" or\n city = "b"', 2, 12, None, None,
     "missing ')' to close the '(' at line 1, column 1"),
    ('spend(last 6 months > 3', 1, 21, ">", None, "')'"),
    ('city in ("a", "b"', 1, 18, None, None, "missing ')'"),
    ('city = "Madrid', 1, 8, '"Madrid', None, "unterminated string"),
    ('sql("""SELECT 1', 1, 5, '"""SELECT 1', None, "unterminated string"),
    ("`loyalty tier = 1", 1, 1, "`loyalty tier = 1", None, "unterminated quoted name"),
    ('registered_at > "2025-02-30"', 1, 17, '"2025-02-30"', None, "not a valid date"),
    ('orders(since "2025-02-30") > 0', 1, 14, '"2025-02-30"', None, "not a valid date"),
    ('orders(since "soon") > 0', 1, 14, '"soon"', None, "expected a date"),
    ('birth_date between "12-32" and "01-03" ignore year', 1, 20, '"12-32"', None,
     "not a day of the year"),
    ('birth_date between "2024-12-01" and "01-03" ignore year', 1, 20, '"2024-12-01"', None,
     "month-days"),
    ('birth_date between start of mnth and end of month ignore year', 1, 29, "mnth", "month",
     "expected 'month' or 'year' after 'of'"),
    ("registered_at >= strat of month", 1, 18, "strat", "start", "expected a value"),
    ("registered_at >= start month", 1, 24, "month", None, "expected 'of' after 'start'"),
    ("orders(since start of month) > 0", 1, 14, "start", None, "'this month'"),
    ('birth_date between "12-01" and 12 ignore year', 1, 32, "12", None,
     "relative dates (today, +7d, start of month)"),
    ('city = "x" adn subscribed', 1, 12, "adn", "and", "expected 'and', 'or'"),
    ("city betwen 1 and 2", 1, 6, "betwen", "between", "expected an operator"),
    ("spend(lst 6 months) > 3", 1, 7, "lst", "last", "unexpected word"),
    ("spend(last 6 mnths) > 3", 1, 14, "mnths", "months", "a unit"),
    ("city = Madrid", 1, 8, "Madrid", '"Madrid"', "quotes"),
    ('spend(brand = "Acme" last 6 months) > 1', 1, 22, "last", None, "put a ','"),
    ("city & subscribed", 1, 6, "&", "and", "unexpected character"),
    ("city = 1 subscribed", 1, 10, "subscribed", None, "expected 'and', 'or'"),
    ('city = "a\\qb"', 1, 10, '"a\\qb"', None, "unknown escape"),
    ('city = "\\u12"', 1, 9, '"\\u12"', None, "hex digits"),
    ('bought(orders = 1)', 1, 8, "orders", None, "reserved word"),
    ("and = 1", 1, 1, "and", None, "reserved word"),
    ("rfm_r", 1, 6, None, None, "expected an operator"),
    ('rfm_r between 1 and 2 ignore year', 1, 23, "ignore", None, "ignore year"),
    ("orders(last -3 days) > 0", 1, 13, "-3", None, "0 or more"),
    ('orders(since -30d) > 0', 1, 14, "-30d", None, "expected a date"),
    ('events("visit", brand = "Acme") > 0', 1, 17, "brand", None, "time window"),
    ("spend > 3 and", 1, 14, None, None, "expected a condition after 'and'"),
    ("``", 1, 1, "``", None, "empty field name"),
    # dates in a time window
    ("registered_at in last 6 monts", 1, 25, "monts", "months", "a unit"),
    ("registered_at in lst 6 months", 1, 18, "lst", "last", "a time window"),
    ("registered_at not in last -1 days", 1, 27, "-1", None, "0 or more"),
    ('registered_at in since "2025-01-01"', 1, 18, "since", None,
     "write 'field >= \"YYYY-MM-DD\"'"),
    ('registered_at in between "2025-01-01" and "2025-02-01"', 1, 18, "between", None,
     "'field between"),
    ("registered_at in all time", 1, 18, "all", None, "is not null"),
    ("registered_at in next year", 1, 18, "next", '("next")', "a list like"),
    ("city in Madrid", 1, 9, "Madrid", '("Madrid")', "in parentheses"),
    ("registered_at in last 6 months ago", 1, 32, "ago", None, "expected 'and', 'or'"),
]


@pytest.mark.parametrize("text,line,column,token,suggestion,words", ERROR_CASES,
                         ids=[c[0][:40] for c in ERROR_CASES])
def test_errors(text, line, column, token, suggestion, words):
    with pytest.raises(SegmentSyntaxError) as info:
        parse(text)
    e = info.value
    assert (e.line, e.column, e.token, e.suggestion) == (line, column, token, suggestion)
    assert words in e.message
    assert e.text == text
    assert str(e).startswith(f"line {line}, column {column}: ")


def test_error_message_points_at_the_column():
    with pytest.raises(SegmentSyntaxError) as info:
        parse('city = "Madrid"\nand spnd(last 6 months) > 3')
    assert str(info.value) == (
        "line 2, column 5: unknown metric or function 'spnd' (did you mean 'spend'?)\n"
        "    and spnd(last 6 months) > 3\n"
        "        ^")


_FRAGMENTS = list('abc ()=<>!"\'`#:,.-+0129\n\\') + [
    "and ", "or ", "not ", "in ", "between ", "spend", "orders(", "last ", "6 ", "months",
    "is ", "null", "ignore year", "bought(", "events(", "sql(", '"""', "today", "-30d",
    "rfm_r ", "city ", "this year", '"2024-02-30"', '"12-02"', "\\u00e9", "start of ",
    "end of ", "month ", "-1m "]
_TOKENS = ["and", "or", "not", "(", ")", "city", "=", '"x"', "spend", "last", "6", "months",
           ",", "between", "1", "in", "is", "null", "bought", "events", '"visit"', ":p",
           "today", "rfm_segment", "ignore", "year", "-30d", "2.5", "`a b`", "#c\n", "since",
           "start", "end", "of", "month"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=20).map("".join)
       | st.lists(st.sampled_from(_TOKENS), max_size=12).map(" ".join))
def test_any_text_parses_or_raises_our_error(text):
    try:
        tree = parse(text)
    except SegmentSyntaxError as e:
        assert e.line is None or e.line >= 1
        return
    assert parse(to_text(tree)) == tree


# -- names, values and parameters against a registry ---------------------------------------
def _registry(full: bool) -> FieldRegistry:
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS retail")
    con.execute("""CREATE TABLE retail.customers (customer_id BIGINT, email VARCHAR,
        birth_date DATE, city VARCHAR, country VARCHAR, registered_at TIMESTAMP,
        subscribed BOOLEAN, loyalty_tier VARCHAR)""")
    con.execute("""INSERT INTO retail.customers VALUES
        (1, 'ana@example.com', '1980-02-29', 'Madrid', 'Spain', '2024-01-01', true, 'gold'),
        (2, 'bo@example.com', '1990-12-31', 'Barcelona', 'Spain', '2024-02-01', false, 'silver'),
        (3, 'cy@example.com', NULL, 'Lisboa', 'Portugal', '2024-03-01', true, 'bronze'),
        (4, 'di@example.com', '2001-07-01', 'Paris', 'France', '2024-04-01', NULL, 'gold')""")
    con.execute("""CREATE TABLE retail.orders (order_id BIGINT, customer_id BIGINT,
        store_id BIGINT, ordered_at TIMESTAMP, total DECIMAL(18,2), offer_code VARCHAR)""")
    con.execute("INSERT INTO retail.orders VALUES (10, 1, 1, '2024-05-01', 12.50, 'WELCOME')")
    if full:
        con.execute("""CREATE TABLE retail.products (product_id BIGINT, sku VARCHAR,
            name VARCHAR, category VARCHAR, brand VARCHAR, tags VARCHAR[], price DECIMAL(18,2))""")
        con.execute("""INSERT INTO retail.products VALUES
            (1, 'TEA-1', 'Sencha', 'Tea', 'Acme', ['organic'], 5.00),
            (2, 'COF-2', 'Espresso', 'Coffee', 'Teapot Co', [], 9.00)""")
        con.execute("""CREATE TABLE retail.order_lines (order_id BIGINT, line_no INTEGER,
            product_id BIGINT, quantity INTEGER, unit_price DECIMAL(18,2),
            amount DECIMAL(18,2), customer_id BIGINT, store_id BIGINT, ordered_at TIMESTAMP)""")
        con.execute("INSERT INTO retail.order_lines VALUES "
                    "(10, 1, 1, 1, 5.00, 5.00, 1, 1, '2024-05-01')")
        con.execute("""CREATE TABLE retail.events (customer_id BIGINT, event_type VARCHAR,
            occurred_at TIMESTAMP, properties VARCHAR)""")
        con.execute("INSERT INTO retail.events VALUES (1, 'email_open', '2024-05-02', NULL), "
                    "(1, 'visit', '2024-05-03', NULL)")
    registry = FieldRegistry.from_connection(con)
    con.close()
    return registry


@pytest.fixture(scope="module")
def registry():
    return _registry(full=True)


@pytest.fixture(scope="module")
def small_registry():
    return _registry(full=False)


def test_registry_accepts_known_names_and_values(registry):
    text = ('City in ("Madrid", "Tokyo") and loyalty_tier = "gold" and '
            'spend(brand = "Acme" and category != "Coffee", last 6 months) > 5 and '
            'events("visit") > 0 and rfm_segment = "champions" and email contains "exampel"')
    tree = parse(text, registry=registry)
    # names are resolved to the registry's spelling; a far-off value ("Tokyo") is allowed
    assert tree.rules[0] == A("city", "in", ("Madrid", "Tokyo"))
    assert tree == parse(text.replace("City", "city"))


REGISTRY_ERRORS = [
    ('cty = "Madrid"', 1, 1, "cty", "city", "unknown field 'cty'"),
    ("spnd > 3", 1, 1, "spnd", "spend", "unknown field 'spnd'"),
    ('city = "Madird"', 1, 8, '"Madird"', "Madrid", "unknown value 'Madird' for city"),
    ('city in ("Madrid", "barcelona")', 1, 20, '"barcelona"', "Barcelona", "unknown value"),
    ('loyalty_tier != "glod"', 1, 17, '"glod"', "gold", "unknown value"),
    ('bought(brnd = "Acme")', 1, 8, "brnd", "brand", "unknown purchase field 'brnd'"),
    ('bought(city = "Madrid")', 1, 8, "city", None, "'city' is a customer field"),
    ('brand = "Acme"', 1, 1, "brand", None, "'brand' is a purchase field"),
    ('bought(ctegory = "Tea")', 1, 8, "ctegory", "category", "unknown purchase field"),
    ('bought(brand = "Acmee")', 1, 16, '"Acmee"', "Acme", "unknown value"),
    ('events("email_opn") > 0', 1, 8, '"email_opn"', "email_open", "unknown event type"),
    ('rfm_segment = "champion"', 1, 15, '"champion"', "champions", "unknown value"),
    ('lifecycle in ("activ")', 1, 15, '"activ"', "active", "unknown value"),
]


@pytest.mark.parametrize("text,line,column,token,suggestion,words", REGISTRY_ERRORS,
                         ids=[c[0] for c in REGISTRY_ERRORS])
def test_registry_errors(registry, text, line, column, token, suggestion, words):
    assert parse(text) is not None  # syntax alone is fine
    with pytest.raises(SegmentSyntaxError) as info:
        parse(text, registry=registry)
    e = info.value
    assert (e.line, e.column, e.token, e.suggestion) == (line, column, token, suggestion)
    assert words in e.message


def test_unavailable_fields_and_events(small_registry):
    with pytest.raises(SegmentSyntaxError, match="unavailable: the workspace has no") as info:
        parse('bought(brand = "Acme")', registry=small_registry)
    assert (info.value.line, info.value.column) == (1, 8)
    with pytest.raises(SegmentSyntaxError, match="no events table"):
        parse("events > 0", registry=small_registry)
    # order fields work without product data
    assert parse('orders(offer_code = "WELCOME") > 0', registry=small_registry)


def test_params_must_be_given_when_checked():
    text = "spend(since :start) >= :min_spend and city in :cities"
    tree = parse(text)
    assert tree.rules[0] == B("spend", ">=", Param("min_spend"),
                              window=W("since", start=Param("start")))
    assert parse(text, params={"start": "2024-01-01", "min_spend": 5, "cities": []}) == tree
    with pytest.raises(SegmentSyntaxError) as info:
        parse(text, params={"start": "2024-01-01", "min_spnd": 5, "cities": []})
    e = info.value
    assert (e.line, e.column, e.token, e.suggestion) == (1, 24, ":min_spend", ":min_spnd")
    assert "no value for parameter :min_spend" in e.message
    assert "parameters given: :cities, :min_spnd, :start" in e.message
    with pytest.raises(SegmentSyntaxError, match=r"parameters given: none"):
        parse("spend > :x", params={})


# -- the round trip ------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(strategies.trees(odd=True, params=True, references=True))
def test_round_trip_any_tree(tree):
    text = to_text(tree)
    assert parse(text) == tree


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(strategies.trees())
def test_round_trip_demo_trees(tree):
    text = to_text(tree)
    assert parse(text) == tree


INJECTIONS = strategies.ODD_STRINGS + (
    "Robert'); DROP TABLE students;--", "1; DELETE FROM orders", "x' OR '1'='1",
    '"""', "'''", "\\\"", ")) or true or ((", "city = \"Madrid\"", "%", "_", "\x1b[31m",
)


@pytest.mark.parametrize("s", INJECTIONS, ids=[repr(s) for s in INJECTIONS])
def test_odd_strings_survive_as_data(s):
    tree = G("or", (
        A("city", "=", s),
        A("city", "in", (s, "Madrid")),
        B("spend", ">", 1, filter=one(A("brand", "starts with", s)),
          window=W("last", 6, "month")),
        B("events", ">", 0, event_type=s),
        SegmentRef(s),
        Sql(s),
        A(s.replace("\n", " ") or "x", "is null"),
    ))
    back = parse(to_text(tree))
    assert back == tree
    # every value came back whole, in its own place: nothing escaped its quotes
    assert len(back.rules) == 7
    assert back.rules[0].value == back.rules[2].filter.rules[0].value == s
    # an empty event type names no type: it means any event (model.Behaviour)
    assert (back.rules[3].event_type, back.rules[4].name, back.rules[5].query) == (s or None, s, s)


def test_grammar_ships_inside_the_package():
    assert resources.files("segjupyter.rules").joinpath("segment.lark").is_file()
