"""Hypothesis strategies: random canonical rule trees.

``trees()`` and ``conditions()`` draw, by default, rules that mean something on the demo data
(``segjupyter.demo``): real field names with the operators their type allows (the field
registry's ``OPERATORS``), values from the demo's vocabularies (cities, brands, categories,
tags, offer codes, event types), spend thresholds 0..2000, order counts 0..20, dates inside
the demo's span, and windows of every kind. Such trees compile and select real customers.

Flags widen the draw for the language round trip:

* ``params=True``: values, lists and window dates may be ``:name`` parameters;
* ``references=True``: ``in_segment("...")`` and ``sql("...")`` conditions, and the
  predicted value fields (``p_alive``, ``predicted_clv(12 months)``, ...);
* ``odd=True``: any operator with any value type, awkward field names (keywords, spaces,
  backticks, quotes), injection-looking and arbitrary unicode strings, extreme numbers and
  dates, empty groups. These trees only need to survive printing and parsing.

Date fields also draw ``in window`` / ``not in window`` with the windows of
:func:`attribute_windows`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from hypothesis import strategies as st

from segjupyter.rules.model import (ANCHORS, ATTRIBUTE_OPERATORS, ATTRIBUTE_WINDOW_KINDS,
                                    COMPARISONS, LIFECYCLE_STAGES, RFM_SEGMENTS, UNITS,
                                    WINDOW_OPERATORS, Attribute, Behaviour, Derived, Group,
                                    MonthDay, Param, RelativeDate, SegmentRef, Sql, Window,
                                    canonical, norm_value)

# -- demo vocabularies (segjupyter/demo/reference.py, people.py, population.py, events.py) --
CITIES = ("Madrid", "Barcelona", "Valencia", "Sevilla", "Málaga", "A Coruña", "Lisboa",
          "Porto", "Paris", "Lyon")
COUNTRIES = ("Spain", "Portugal", "France")
GENDERS = ("female", "male", "other")
CUSTOMER_TYPES = ("individual", "business")
SOURCES = ("store", "web", "referral", "social")
LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")
EMAIL_PARTS = ("@example.com", "example.net", ".org", "lucia", "martin")
BRANDS = ("Acme", "Bosque", "Cacao Real", "Dulcería", "Kettle & Co", "Tostadero",
          "Maison Léa", "Verde", "Atlas", "Nómada", "Aurora", "Porto Doce")
CATEGORIES = ("Tea", "Coffee", "Chocolate", "Biscuits", "Infusions", "Accessories", "Gifts")
CHANNELS = ("store", "web", "app")
TAGS = ("organic", "vegan", "gift", "limited", "new", "bestseller", "fair-trade", "sugar-free")
OFFER_CODES = ("WELCOME", "SUMMER10", "SPRING10", "BF25", "XMAS", "APP5", "FRIENDS20")
SKU_PREFIXES = ("TEA-", "COF-", "CHO-", "BIS-", "INF-", "ACC-", "GIF-")
EVENT_TYPES = ("visit", "page_view", "email_sent", "email_open", "email_click")
SEGMENT_NAMES = ("vip", "lapsed_buyers", "new customers")
PARAM_NAMES = ("min_spend", "city", "cities", "start", "end", "n", "brand")

#: customer field -> (type, values); the types are the field registry's.
CUSTOMER_FIELDS = {
    "city": ("category", CITIES), "country": ("category", COUNTRIES),
    "gender": ("category", GENDERS), "customer_type": ("category", CUSTOMER_TYPES),
    "source": ("category", SOURCES), "loyalty_tier": ("category", LOYALTY_TIERS),
    "email": ("text", EMAIL_PARTS), "subscribed": ("boolean", ()),
    "birth_date": ("date", ()), "registered_at": ("timestamp", ()),
}
#: purchase filter field -> (type, values)
PURCHASE_FIELDS = {
    "brand": ("category", BRANDS), "category": ("category", CATEGORIES),
    "channel": ("category", CHANNELS), "offer_code": ("category", OFFER_CODES),
    "tags": ("list", TAGS), "sku": ("text", SKU_PREFIXES),
}
OPERATORS = {  # segjupyter.workspace.registry.OPERATORS
    "category": ("=", "!=", "in", "not in", "contains", "not contains", "starts with",
                 "ends with", "is null", "is not null"),
    "boolean": ("is true", "is false", "=", "!=", "is null", "is not null"),
    "date": COMPARISONS + ("between", "is null", "is not null", "in window", "not in window"),
    "list": ("contains", "not contains", "is null", "is not null"),
}
OPERATORS["text"] = OPERATORS["category"]
OPERATORS["timestamp"] = OPERATORS["date"]

DEMO_START, DEMO_END = dt.date(2023, 7, 1), dt.date(2026, 6, 30)

# Strings that look like SQL, the language's own syntax, or trouble for a printer.
ODD_STRINGS = (
    "'; DROP TABLE customers; --", '" OR 1=1 --', "/* */", "*/ SELECT 1 /*", "a\\b", "\\",
    "line\nbreak", "tab\there", 'say "hi"', "O'Brien", "back`tick", "ünïcödé ✓", "中文",
    "emoji 🎉", "\u202eevil", "nul\x00byte", "", " ", "# not a comment", "--", "$$", ":city",
    "2025-13-45x", "12-02", "null", "true", "and", "\\n", "\\u0041", "\r\n", "\u2028",
)
ODD_NAMES = ("loyalty tier", "and", "orders", "spend", "in", "year", "x`y", "ciudad_ñ",
             "2nd_city", 'say "hi"', "'; DROP TABLE customers; --", "city", "Ünïcode",
             "rfm_r", "in_segment", "time", "a b c", "ſql", "İn", "Orders")


def _safe_text(s: str) -> str | None:
    try:
        norm_value(s)
    except ValueError:  # shaped like a date but not one: not a canonical value
        return None
    return s


odd_strings = st.one_of(st.sampled_from(ODD_STRINGS),
                        st.text(max_size=12).map(_safe_text).filter(lambda s: s is not None))


def _param_or(strategy, params: bool):
    return st.one_of(strategy, st.sampled_from(PARAM_NAMES).map(Param)) if params else strategy


# -- values --------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def demo_dates(start: dt.date = DEMO_START, end: dt.date = DEMO_END):
    return st.dates(min_value=start, max_value=end)


def demo_datetimes():
    return st.datetimes(min_value=dt.datetime(2023, 7, 1), max_value=dt.datetime(2026, 6, 30),
                        ).map(lambda d: d.replace(microsecond=0))


_RELATIVE_LIMITS = {"day": 400, "week": 60, "month": 36, "year": 3}


#: as_of's day half of the time, else the start / end of its month or year
anchors = st.one_of(st.none(), st.sampled_from(ANCHORS[1:]))


@st.composite
def relative_dates(draw, past_only: bool = True):
    """Relative dates (``-30d``, ``start of month -1m``); the offset is zero or negative
    unless ``past_only`` is False."""
    unit = draw(st.sampled_from(UNITS))
    limit = _RELATIVE_LIMITS[unit]
    n = draw(st.integers(0 if past_only else -limit, limit))
    return RelativeDate(-n if past_only else n, unit, draw(anchors))


_MONTH_LENGTHS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@st.composite
def month_days(draw):
    """Any day of the year, Feb 29 included (pairs of them may wrap the new year)."""
    month = draw(st.integers(1, 12))
    return MonthDay(month, draw(st.integers(1, _MONTH_LENGTHS[month - 1])))


def year_ignoring_values(params: bool = False):
    """Bounds of a year-ignoring range: month-days or relative dates (``today``, ``+7d``,
    ``start of month``)."""
    return _param_or(st.one_of(month_days(), relative_dates(past_only=False)), params)


def _ordered(pair):
    a, b = pair
    return (a, b) if a <= b else (b, a)


@st.composite
def date_pairs(draw, single):
    """(earlier, later) pairs of ``single`` dates, or of relative dates in one unit."""
    if draw(st.booleans()):
        return _ordered((draw(single), draw(single)))
    unit, anchor = draw(st.sampled_from(UNITS)), draw(anchors)
    a, b = draw(st.integers(0, 36)), draw(st.integers(0, 36))
    return RelativeDate(-max(a, b), unit, anchor), RelativeDate(-min(a, b), unit, anchor)


@lru_cache(maxsize=None)
def odd_values(params: bool = False):
    return _param_or(st.one_of(
        odd_strings, st.integers(), st.booleans(),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.dates(), st.datetimes(),
        relative_dates(past_only=False),
        st.builds(RelativeDate, st.integers(-100_000, 100_000), st.sampled_from(UNITS),
                  st.sampled_from(ANCHORS))),
        params)


# -- attributes ----------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _typed_value(ftype: str, values: tuple, field: str, params: bool):
    """A single value fitting ``ftype``."""
    if ftype in ("category", "list"):
        return _param_or(st.sampled_from(values), params)
    if ftype == "text":
        return _param_or(st.sampled_from(values), params)
    if ftype == "boolean":
        return st.booleans()
    if field == "birth_date":
        return _param_or(st.one_of(demo_dates(dt.date(1940, 1, 1), dt.date(2008, 12, 31)),
                                   relative_dates()), params)
    if ftype == "timestamp":
        return _param_or(st.one_of(demo_dates(), demo_datetimes(), relative_dates()), params)
    return _param_or(st.one_of(demo_dates(), relative_dates()), params)


@st.composite
def _substring(draw, values: tuple, suffix: bool):
    """A prefix (or suffix) of one of ``values``, so text operators match something."""
    v = draw(st.sampled_from(values))
    k = draw(st.integers(1, len(v)))
    return v[-k:] if suffix else v[:k]


@st.composite
def _attribute(draw, fields: dict, params: bool):
    name = draw(st.sampled_from(sorted(fields)))
    ftype, values = fields[name]
    op = draw(st.sampled_from(OPERATORS[ftype]))
    if op in ("is null", "is not null", "is true", "is false"):
        return Attribute(name, op)
    if op in WINDOW_OPERATORS:
        return Attribute(name, op, draw(attribute_windows()))
    if op in ("in", "not in"):
        if params and draw(st.booleans()):
            return Attribute(name, op, Param(draw(st.sampled_from(PARAM_NAMES))))
        items = draw(st.lists(st.sampled_from(values), min_size=1, max_size=4, unique=True))
        return Attribute(name, op, tuple(items))
    if op in ("contains", "not contains", "starts with", "ends with") and ftype != "list":
        return Attribute(name, op, draw(_substring(values, op == "ends with")))
    if op == "between":
        if name == "birth_date" and draw(st.booleans()):
            return Attribute(name, op, draw(st.tuples(year_ignoring_values(),
                                                      year_ignoring_values())),
                             ignore_year=True)
        single = (demo_dates(dt.date(1940, 1, 1), dt.date(2008, 12, 31))
                  if name == "birth_date" else demo_dates())
        return Attribute(name, op, draw(date_pairs(single)))
    return Attribute(name, op, draw(_typed_value(ftype, values, name, params)))


@st.composite
def _odd_attribute(draw, params: bool):
    name = draw(st.one_of(st.sampled_from(sorted(CUSTOMER_FIELDS) + sorted(PURCHASE_FIELDS)),
                          st.sampled_from(ODD_NAMES)))
    op = draw(st.sampled_from(ATTRIBUTE_OPERATORS))
    if op in ("is null", "is not null", "is true", "is false"):
        return Attribute(name, op)
    if op in WINDOW_OPERATORS:
        return Attribute(name, op, draw(attribute_windows(odd=True)))
    if op in ("in", "not in"):
        if params and draw(st.booleans()):
            return Attribute(name, op, Param(draw(st.sampled_from(PARAM_NAMES))))
        return Attribute(name, op, tuple(draw(st.lists(odd_values(params), max_size=4))))
    if op == "between":
        if draw(st.booleans()):
            md = year_ignoring_values(params)
            return Attribute(name, op, (draw(md), draw(md)), ignore_year=True)
        return Attribute(name, op, (draw(odd_values(params)), draw(odd_values(params))))
    return Attribute(name, op, draw(odd_values(params)))


def attributes(*, odd: bool = False, params: bool = False):
    """Attribute conditions on customer fields."""
    return _odd_attribute(params) if odd else _attribute(CUSTOMER_FIELDS, params)


def purchase_conditions(*, odd: bool = False, params: bool = False):
    """Attribute conditions on purchase fields (behaviour filters)."""
    return _odd_attribute(params) if odd else _attribute(PURCHASE_FIELDS, params)


@lru_cache(maxsize=None)
def filters(*, odd: bool = False, params: bool = False):
    """None or a canonical filter group of purchase conditions, at most two levels deep."""
    leaf = purchase_conditions(odd=odd, params=params)
    group = st.builds(lambda op, rules, neg: Group(op, tuple(rules), neg),
                      st.sampled_from(("and", "or")), st.lists(leaf, min_size=1, max_size=3),
                      st.booleans())
    nested = st.builds(lambda op, rules, neg: Group(op, tuple(rules), neg),
                       st.sampled_from(("and", "or")),
                       st.lists(st.one_of(leaf, group), min_size=1, max_size=3), st.booleans())
    return st.one_of(st.none(), leaf.map(canonical), group.map(canonical), nested.map(canonical))


# -- windows -------------------------------------------------------------------------------
def attribute_windows(*, odd: bool = False):
    """Windows a date attribute can be ``in``: last N units, this / last year or month."""
    n = st.integers(0, 10_000) if odd else st.integers(1, 24)
    return st.one_of(
        st.builds(lambda k, u: Window("last", k, u), n, st.sampled_from(UNITS)),
        st.sampled_from(ATTRIBUTE_WINDOW_KINDS[1:]).map(Window))


@lru_cache(maxsize=None)
def windows(*, odd: bool = False, params: bool = False):
    """Time windows of every kind."""
    day = _param_or(st.dates() if odd else demo_dates(), params)
    if odd:
        day = st.one_of(day, st.datetimes())
    n = st.integers(0, 10_000) if odd else st.integers(1, 24)
    return st.one_of(
        st.just(Window()),
        st.builds(lambda k, u: Window("last", k, u), n, st.sampled_from(UNITS)),
        st.sampled_from(("this_year", "last_year", "this_month", "last_month")).map(Window),
        day.map(lambda d: Window("since", start=d)),
        st.tuples(day, day).map(
            lambda p: p if odd or any(isinstance(x, Param) for x in p) else _ordered(p)).map(
            lambda p: Window("between", start=p[0], end=p[1])),
    )


# -- behaviour, derived, references --------------------------------------------------------
_METRIC_VALUES = {
    "orders": st.integers(0, 20), "units": st.integers(0, 50),
    "distinct_products": st.integers(0, 20),
    "spend": st.one_of(st.integers(0, 2000),
                       st.decimals(min_value=0, max_value=2000, places=2)),
    "avg_ticket": st.one_of(st.integers(0, 300),
                            st.decimals(min_value=0, max_value=300, places=2)),
    "events": st.integers(0, 10),
}


@st.composite
def behaviours(draw, *, odd: bool = False, params: bool = False):
    """Behaviour conditions: metrics with filters and windows, bought(...), events(...)."""
    metric = draw(st.sampled_from(("orders", "spend", "units", "distinct_products",
                                   "avg_ticket", "first_order", "last_order", "bought",
                                   "events")))
    window = draw(windows(odd=odd, params=params))
    if metric == "bought":
        return Behaviour("bought", filter=draw(filters(odd=odd, params=params)), window=window)
    event_type, filt = None, None
    if metric == "events":
        event_type = draw(st.none() | (odd_strings if odd else st.sampled_from(EVENT_TYPES)))
    else:
        filt = draw(filters(odd=odd, params=params))
    if odd:
        op = draw(st.sampled_from(COMPARISONS + ("between", "is null", "is not null")))
        single = odd_values(params)
    elif metric in ("first_order", "last_order"):
        op = draw(st.sampled_from(COMPARISONS + ("between", "is null", "is not null")))
        single = _param_or(st.one_of(demo_dates(), relative_dates()), params)
    else:
        op = draw(st.sampled_from(COMPARISONS + ("between",)))
        single = _param_or(_METRIC_VALUES[metric], params)
    if op in ("is null", "is not null"):
        value = None
    elif op == "between" and odd:
        value = (draw(single), draw(single))
    elif op == "between" and metric in ("first_order", "last_order"):
        value = draw(date_pairs(demo_dates()))
    elif op == "between":
        value = draw(st.tuples(_METRIC_VALUES[metric], _METRIC_VALUES[metric]).map(_ordered))
    else:
        value = draw(single)
    return Behaviour(metric, op, value, filt, window, event_type)


@st.composite
def deriveds(draw, *, odd: bool = False, params: bool = False):
    """Conditions on RFM scores, RFM segments and lifecycle stages."""
    field = draw(st.sampled_from(("rfm_segment", "rfm_r", "rfm_f", "rfm_m", "lifecycle")))
    if field in ("rfm_segment", "lifecycle"):
        names = RFM_SEGMENTS if field == "rfm_segment" else LIFECYCLE_STAGES
        op = draw(st.sampled_from(("=", "!=", "in", "not in")))
        one = odd_strings if odd else st.sampled_from(names)
    else:
        op = draw(st.sampled_from(COMPARISONS + ("between", "in", "not in")))
        one = st.integers() if odd else st.integers(1, 5)
    one = _param_or(one, params)
    if op in ("in", "not in"):
        return Derived(field, op, tuple(draw(st.lists(one, min_size=1, max_size=3,
                                                      unique_by=repr))))
    if op == "between":
        return Derived(field, op, (draw(one), draw(one)))
    return Derived(field, op, draw(one))


def reference_conditions(*, odd: bool = False):
    """``in_segment("...")`` and ``sql("...")`` conditions."""
    name = odd_strings if odd else st.sampled_from(SEGMENT_NAMES)
    query = st.sampled_from((
        "SELECT customer_id FROM customers WHERE city = 'Madrid'",
        "SELECT customer_id\nFROM orders\nGROUP BY 1\nHAVING count(*) > 3",
    ))
    if odd:
        query = st.one_of(query, odd_strings, st.text(max_size=40))
    return st.one_of(name.map(SegmentRef), query.map(Sql))


@st.composite
def predicted_conditions(draw, *, odd: bool = False, params: bool = False):
    """Conditions on the fitted value models: ``p_alive < 0.3``,
    ``predicted_clv(12 months) >= 200``, ``predicted_orders(90 days) between 1 and 3``."""
    field = draw(st.sampled_from(("p_alive", "predicted_orders", "predicted_clv")))
    horizon = None if field == "p_alive" else (
        draw(st.integers(1, 10 ** 6 if odd else 36)), draw(st.sampled_from(UNITS)))
    op = draw(st.sampled_from(COMPARISONS + ("between", "is null", "is not null")))
    one = st.decimals(min_value=0, max_value=1 if field == "p_alive" else 5000, places=2,
                      allow_nan=False, allow_infinity=False)
    if odd:
        one = st.one_of(one, st.integers(), odd_strings)
    one = _param_or(one, params)
    if op in ("is null", "is not null"):
        return Derived(field, op, None, horizon=horizon)
    value = (draw(one), draw(one)) if op == "between" else draw(one)
    return Derived(field, op, value, horizon=horizon)


def conditions(*, odd: bool = False, params: bool = False, references: bool = False):
    """One condition of any kind (attribute, behaviour, derived; references and predicted
    value fields, which need a catalog / a fitted model, if asked)."""
    kinds = [attributes(odd=odd, params=params), behaviours(odd=odd, params=params),
             deriveds(odd=odd, params=params)]
    if references:
        kinds.append(reference_conditions(odd=odd))
        kinds.append(predicted_conditions(odd=odd, params=params))
    return st.one_of(kinds)


def trees(*, odd: bool = False, params: bool = False, references: bool = False,
          max_leaves: int = 8):
    """Canonical rule trees: nested and / or groups, negated or not, of :func:`conditions`."""
    leaf = conditions(odd=odd, params=params, references=references)

    def extend(children):
        return st.builds(lambda op, rules, neg: Group(op, tuple(rules), neg),
                         st.sampled_from(("and", "or")),
                         st.lists(children, min_size=0 if odd else 1, max_size=4),
                         st.booleans())

    return st.recursive(leaf, extend, max_leaves=max_leaves).map(canonical)
