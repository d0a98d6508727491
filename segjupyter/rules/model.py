"""The canonical rule tree (DESIGN.md section 4) and its versioned JSON form.

A rule is a :class:`Group` (``and`` / ``or``, optionally negated) whose children are groups
or conditions:

* :class:`Attribute` — a customer (or custom) field compared to a value;
* :class:`Behaviour` — an aggregate over the customer's orders / lines / events, filtered by
  purchase fields (applying to the same line) and a time :class:`Window`, compared to a value;
* :class:`Derived` — RFM scores, named RFM segments, lifecycle stage;
* :class:`SegmentRef` — membership of another saved segment;
* :class:`Sql` — advanced SQL returning customer ids (run in a sandbox).

Values are plain Python literals (``str``, ``int``, ``Decimal``, ``bool``, ``date``,
``datetime``), :class:`Param` (a bound ``:name``), :class:`RelativeDate` (``-30d``,
``start of month``, relative to ``as_of``) and :class:`MonthDay` (``"12-02"`` in year-ignoring
ranges); ``in`` takes a tuple, ``between`` a pair, ``in window`` / ``not in window`` a
:class:`Window` (``registered_at in last 6 months``). Floats are turned into ``Decimal`` so
money comparisons stay exact.

Every node is an immutable, hashable dataclass; trees compare with ``==``. Trees are kept in
a canonical shape by :class:`Group` itself (a group of fewer than two children is an ``and``
group; a non-negated single-child group inside a group is replaced by its child), and by
:func:`canonical` for the root. The language printer/parser, the widgets and the JSON form
all round-trip canonical trees exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Iterator, Union

JSON_VERSION = 1

# -- operators -------------------------------------------------------------------------------
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
ATTRIBUTE_OPERATORS = COMPARISONS + (
    "in", "not in", "between", "contains", "not contains", "starts with", "ends with",
    "is null", "is not null", "is true", "is false", "in window", "not in window")
#: date / timestamp field inside (or outside) a time window relative to as_of
WINDOW_OPERATORS = ("in window", "not in window")
NO_VALUE_OPERATORS = ("is null", "is not null", "is true", "is false")

# -- behaviour metrics -----------------------------------------------------------------------
#: metric -> (what it aggregates, the type of its result)
METRICS: dict[str, tuple[str, str]] = {
    "orders": ("number of orders (tickets) with a matching line", "integer"),
    "spend": ("sum of the amount of matching lines (order totals when unfiltered)", "number"),
    "units": ("sum of the quantity of matching lines", "integer"),
    "distinct_products": ("number of distinct products among matching lines", "integer"),
    "avg_ticket": ("spend / orders", "number"),
    "first_order": ("time of the first matching order", "timestamp"),
    "last_order": ("time of the last matching order", "timestamp"),
    "events": ("number of events (of a type) in the window", "integer"),
    "bought": ("has at least one matching line (no comparison)", "boolean"),
}

WINDOW_KINDS = ("all", "last", "this_year", "last_year", "this_month", "last_month", "since",
                "between")
#: the windows an attribute can be ``in`` (``since`` / ``between`` are ``>=`` / ``between``)
ATTRIBUTE_WINDOW_KINDS = ("last", "this_year", "last_year", "this_month", "last_month")
UNITS = ("day", "week", "month", "year")
#: days a relative date may count from: as_of's day (None) or an end of its month / year
ANCHORS = (None, "month_start", "month_end", "year_start", "year_end")

#: derived fields: name -> (type, allowed values or None)
RFM_SEGMENTS = ("champions", "loyal", "potential loyalist", "new", "promising",
                "need attention", "about to sleep", "at risk", "can't lose them",
                "hibernating", "lost")
LIFECYCLE_STAGES = ("new", "active", "at risk", "hibernating", "lost", "prospect")
DERIVED_FIELDS: dict[str, tuple[str, tuple | None]] = {
    "rfm_segment": ("category", RFM_SEGMENTS),
    "rfm_r": ("integer", None),
    "rfm_f": ("integer", None),
    "rfm_m": ("integer", None),
    "lifecycle": ("category", LIFECYCLE_STAGES),
    "p_alive": ("number", None),
    "predicted_orders": ("number", None),
    "predicted_clv": ("number", None),
}
#: derived fields of the fitted customer-value models that take a horizon:
#: ``predicted_orders(90 days)``, ``predicted_clv(12 months)`` (``rules/predicted.py``)
PREDICTED_FIELDS = ("predicted_orders", "predicted_clv")


# -- values ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """A Python value bound at evaluation time: ``:name`` in the language."""

    name: str


@dataclass(frozen=True)
class RelativeDate:
    """``amount`` ``unit``s from ``as_of``'s day, or from the ``anchor`` day of its month or
    year (negative = earlier): ``-30d`` is ``RelativeDate(-30, "day")``, ``today`` is
    ``RelativeDate(0, "day")``, ``start of month -1m`` is
    ``RelativeDate(-1, "month", "month_start")`` (the first day of the previous month)."""

    amount: int
    unit: str = "day"
    anchor: str | None = None

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, not {self.unit!r}")
        if self.anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}, not {self.anchor!r}")


@dataclass(frozen=True)
class MonthDay:
    """A day of the year without a year (``"12-02"``), for year-ignoring ranges."""

    month: int
    day: int

    def __post_init__(self):
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, not {self.month}")
        limits = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
        if not 1 <= self.day <= limits[self.month - 1]:
            raise ValueError(f"day {self.day} does not exist in month {self.month}")

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"

    @classmethod
    def parse(cls, text: str) -> "MonthDay":
        m, d = text.split("-")
        return cls(int(m), int(d))


Value = Union[None, str, int, Decimal, bool, dt.date, dt.datetime, Param, RelativeDate,
              MonthDay, tuple]


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def norm_value(v: Any) -> Any:
    """Bring a value into canonical form: floats to Decimal, lists to tuples, ISO date and
    timestamp strings (``"2025-01-31"``, ``"2025-01-31 10:00"``) to ``date`` / ``datetime``.

    Raises ``ValueError`` for a string shaped like a date that is not one (``"2025-02-30"``).
    """
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, str):
        if _DATE_RE.match(v):
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError(f"{v!r} is not a valid date") from None
        if _DATETIME_RE.match(v):
            try:
                return dt.datetime.fromisoformat(v)
            except ValueError:
                raise ValueError(f"{v!r} is not a valid timestamp") from None
        return v
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, (list, tuple)):
        return tuple(norm_value(x) for x in v)
    if hasattr(v, "to_pydatetime"):  # pandas Timestamp
        return v.to_pydatetime()
    return v


# -- nodes -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """A time window relative to ``as_of``: ``all`` time, ``last`` n units, ``this_year``,
    ``last_year``, ``this_month``, ``last_month``, ``since`` a date, ``between`` two dates
    (both inclusive)."""

    kind: str = "all"
    n: int | None = None
    unit: str | None = None
    start: dt.date | Param | None = None
    end: dt.date | Param | None = None

    def __post_init__(self):
        if self.kind not in WINDOW_KINDS:
            raise ValueError(f"window kind must be one of {WINDOW_KINDS}, not {self.kind!r}")
        if self.kind == "last" and (self.n is None or self.unit not in UNITS):
            raise ValueError("a 'last' window needs n and a unit (day, week, month, year)")


ALL_TIME = Window()


@dataclass(frozen=True)
class Attribute:
    """``field op value`` on a customer field. ``ignore_year`` makes a ``between`` of two
    :class:`MonthDay` match any year, wrapping the new year when the start is after the end;
    a :class:`RelativeDate` bound there stands for the month-day of the day it resolves to.
    ``in window`` / ``not in window`` take a :class:`Window` of a kind in
    :data:`ATTRIBUTE_WINDOW_KINDS`."""

    field: str
    op: str
    value: Value = None
    ignore_year: bool = False

    def __post_init__(self):
        if self.op not in ATTRIBUTE_OPERATORS:
            raise ValueError(f"unknown operator {self.op!r}")
        value = self.value
        if self.ignore_year:
            if self.op != "between" or not isinstance(value, (tuple, list)) or len(value) != 2:
                raise ValueError("'ignore year' goes with 'between' and two month-day values")
            value = tuple(MonthDay.parse(x) if isinstance(x, str) else x for x in value)
        if self.op in WINDOW_OPERATORS:
            if not isinstance(value, Window):
                raise ValueError(f"'{self.op}' takes a time window, not {value!r}")
            if value.kind not in ATTRIBUTE_WINDOW_KINDS:
                raise ValueError(
                    f"'{self.op}' takes a window of the last N days / weeks / months / years, "
                    f"this or last year, this or last month, not {value.kind!r} (for 'since' "
                    "write '>= date', for 'between' write 'between date and date')")
        elif isinstance(value, Window):
            raise ValueError(f"a time window goes with 'in window' / 'not in window', "
                             f"not {self.op!r}")
        object.__setattr__(self, "value", norm_value(value))


@dataclass(frozen=True)
class Behaviour:
    """``metric(filter, window) op value``: e.g. ``spend(brand = "Acme", last 6 months) >= 500``.

    ``filter`` is a group of :class:`Attribute` conditions on purchase fields (product, store,
    order, line); all of them apply to the same order line. ``bought`` has no comparison.
    ``event_type`` names the event type for the ``events`` metric (None, or an empty name,
    = any event).
    """

    metric: str
    op: str | None = None
    value: Value = None
    filter: "Group | None" = None
    window: Window = ALL_TIME
    event_type: str | None = None

    def __post_init__(self):
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}")
        if self.metric == "bought":
            if self.op is not None:
                raise ValueError("'bought' takes no comparison")
        elif self.op not in COMPARISONS + ("between", "is null", "is not null"):
            raise ValueError(f"metric {self.metric!r} needs a comparison, not {self.op!r}")
        object.__setattr__(self, "value", norm_value(self.value))
        if self.event_type == "":  # no name names no type: the widgets show it as "any"
            object.__setattr__(self, "event_type", None)
        if self.filter is not None:  # canonical, so equal filters compare equal
            filt = canonical(self.filter)
            object.__setattr__(self, "filter", filt if filt.rules else None)


@dataclass(frozen=True)
class Derived:
    """``field op value`` on a derived per-customer field (``rfm_segment``, ``rfm_r``,
    ``rfm_f``, ``rfm_m``, ``lifecycle``, ``p_alive``, ``predicted_orders``,
    ``predicted_clv``), computed as of ``as_of``. The predicted fields of
    :data:`PREDICTED_FIELDS` take a ``horizon`` ``(n, unit)``: ``predicted_clv(12 months)``
    is ``Derived("predicted_clv", ">=", 200, horizon=(12, "month"))``."""

    field: str
    op: str
    value: Value = None
    horizon: tuple | None = None

    def __post_init__(self):
        if self.field not in DERIVED_FIELDS:
            raise ValueError(f"unknown derived field {self.field!r}")
        if self.field in PREDICTED_FIELDS:
            h = self.horizon
            if (not isinstance(h, (tuple, list)) or len(h) != 2 or isinstance(h[0], bool)
                    or not isinstance(h[0], int) or h[0] < 1 or h[1] not in UNITS):
                raise ValueError(f"{self.field} needs a horizon of N days / weeks / months / "
                                 f"years (N >= 1), e.g. {self.field}(12 months), not {h!r}")
            object.__setattr__(self, "horizon", (int(h[0]), str(h[1])))
        elif self.horizon is not None:
            raise ValueError(f"{self.field} takes no horizon")
        object.__setattr__(self, "value", norm_value(self.value))


@dataclass(frozen=True)
class SegmentRef:
    """Membership of the saved segment ``name`` (its stored members)."""

    name: str


@dataclass(frozen=True)
class Sql:
    """Advanced SQL: one SELECT returning a ``customer_id`` column, run in a sandbox."""

    query: str


Condition = Union[Attribute, Behaviour, Derived, SegmentRef, Sql]


@dataclass(frozen=True)
class Group:
    """``op`` (``and`` / ``or``) of ``rules``; ``negate`` puts a NOT in front."""

    op: str = "and"
    rules: tuple = field(default_factory=tuple)
    negate: bool = False

    def __post_init__(self):
        if self.op not in ("and", "or"):
            raise ValueError(f"group op must be 'and' or 'or', not {self.op!r}")
        rules = []
        for r in self.rules:
            if isinstance(r, Group) and not r.negate and len(r.rules) == 1:
                r = r.rules[0]
            if not isinstance(r, (Group, Attribute, Behaviour, Derived, SegmentRef, Sql)):
                raise TypeError(f"a group holds groups and conditions, not {type(r).__name__}")
            rules.append(r)
        object.__setattr__(self, "rules", tuple(rules))
        if len(self.rules) < 2 and self.op != "and":
            object.__setattr__(self, "op", "and")


Node = Union[Group, Condition]


def canonical(node: Node) -> Group:
    """The canonical root for ``node``: conditions are wrapped in a group, and a non-negated
    root whose only child is a group becomes that child."""
    if not isinstance(node, Group):
        return Group("and", (node,))
    while not node.negate and len(node.rules) == 1 and isinstance(node.rules[0], Group):
        node = node.rules[0]
    return node


def walk(node: Node, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Node]]:
    """Every node of the tree with its path (child indexes from the root), depth first."""
    yield path, node
    if isinstance(node, Group):
        for i, child in enumerate(node.rules):
            yield from walk(child, path + (i,))


def params_of(node: Node) -> set[str]:
    """Names of the :class:`Param` values used anywhere in the tree."""
    out: set[str] = set()

    def scan(v):
        if isinstance(v, Param):
            out.add(v.name)
        elif isinstance(v, tuple):
            for x in v:
                scan(x)

    for _, n in walk(node):
        if isinstance(n, (Attribute, Derived)):
            scan(n.value)
        elif isinstance(n, Behaviour):
            scan(n.value)
            scan(n.window.start)
            scan(n.window.end)
            if n.filter is not None:
                out |= params_of(n.filter)
    return out


def segment_refs(node: Node) -> set[str]:
    """Names of the saved segments the tree depends on."""
    return {n.name for _, n in walk(node) if isinstance(n, SegmentRef)}


# -- JSON ------------------------------------------------------------------------------------
def _value_to_json(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str, int)):
        return v
    if isinstance(v, Decimal):
        return {"decimal": str(v)}
    if isinstance(v, dt.datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, dt.date):
        return {"date": v.isoformat()}
    if isinstance(v, Param):
        return {"param": v.name}
    if isinstance(v, RelativeDate):  # the anchor only when set: older documents stay valid
        return {"relative": [v.amount, v.unit] + ([v.anchor] if v.anchor else [])}
    if isinstance(v, MonthDay):
        return {"month_day": str(v)}
    if isinstance(v, tuple):
        return [_value_to_json(x) for x in v]
    if isinstance(v, Window):
        return {"window": _window_to_json(v)}
    raise TypeError(f"cannot store value {v!r} of type {type(v).__name__}")


def _value_from_json(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_value_from_json(x) for x in v)
    if isinstance(v, dict):
        (k, x), = v.items()
        return {"decimal": Decimal, "datetime": dt.datetime.fromisoformat,
                "date": dt.date.fromisoformat, "param": Param,
                "relative": lambda p: RelativeDate(int(p[0]), *p[1:]),
                "month_day": MonthDay.parse, "window": _window_from_json}[k](x)
    return v


def _window_to_json(w: Window) -> dict:
    d: dict[str, Any] = {"kind": w.kind}
    for k in ("n", "unit", "start", "end"):
        if getattr(w, k) is not None:
            d[k] = _value_to_json(getattr(w, k))
    return d


def _window_from_json(w: dict | None) -> Window:
    w = w or {"kind": "all"}
    return Window(w.get("kind", "all"), w.get("n"), w.get("unit"),
                  _value_from_json(w.get("start")), _value_from_json(w.get("end")))


def node_to_json(node: Node) -> dict:
    """A plain-JSON dict for one node (see :func:`to_json` for the versioned document)."""
    if isinstance(node, Group):
        return {"group": node.op, "negate": node.negate,
                "rules": [node_to_json(r) for r in node.rules]}
    if isinstance(node, Attribute):
        d = {"attribute": node.field, "op": node.op, "value": _value_to_json(node.value)}
        if node.ignore_year:
            d["ignore_year"] = True
        return d
    if isinstance(node, Behaviour):
        d = {"behaviour": node.metric, "op": node.op, "value": _value_to_json(node.value),
             "window": _window_to_json(node.window)}
        if node.filter is not None:
            d["filter"] = node_to_json(node.filter)
        if node.event_type is not None:
            d["event_type"] = node.event_type
        return d
    if isinstance(node, Derived):
        d = {"derived": node.field, "op": node.op, "value": _value_to_json(node.value)}
        if node.horizon is not None:  # only when set: older documents stay valid
            d["horizon"] = list(node.horizon)
        return d
    if isinstance(node, SegmentRef):
        return {"segment": node.name}
    if isinstance(node, Sql):
        return {"sql": node.query}
    raise TypeError(f"not a rule node: {node!r}")


def node_from_json(d: dict) -> Node:
    """Inverse of :func:`node_to_json`; raises ``ValueError`` naming what is wrong."""
    if not isinstance(d, dict):
        raise ValueError(f"a rule node must be an object, not {d!r}")
    if "group" in d:
        return Group(d["group"], tuple(node_from_json(r) for r in d.get("rules", ())),
                     bool(d.get("negate", False)))
    if "attribute" in d:
        return Attribute(d["attribute"], d["op"], _value_from_json(d.get("value")),
                         bool(d.get("ignore_year", False)))
    if "behaviour" in d:
        window = _window_from_json(d.get("window"))
        filt = d.get("filter")
        return Behaviour(d["behaviour"], d.get("op"), _value_from_json(d.get("value")),
                         None if filt is None else node_from_json(filt), window,
                         d.get("event_type"))
    if "derived" in d:
        h = d.get("horizon")
        return Derived(d["derived"], d["op"], _value_from_json(d.get("value")),
                       None if h is None else tuple(h))
    if "segment" in d:
        return SegmentRef(d["segment"])
    if "sql" in d:
        return Sql(d["sql"])
    raise ValueError(f"unknown rule node with keys {sorted(d)}")


def to_json(tree: Node) -> str:
    """The stored form: ``{"version": 1, "rule": {...}}`` as JSON text."""
    return json.dumps({"version": JSON_VERSION, "rule": node_to_json(canonical(tree))},
                      ensure_ascii=False, sort_keys=True)


def from_json(text: str | dict) -> Group:
    """Parse the stored form (text or already-decoded dict) back into a canonical tree.
    Raises :class:`~segjupyter.errors.RuleFormatError` (a ``ValueError``) with the JSON path
    of what is wrong (``rules/json_decode.py``)."""
    from .json_decode import decode
    return decode(text)


def replace_at(tree: Group, path: tuple[int, ...], new: Node | None) -> Group:
    """A copy of ``tree`` with the node at ``path`` replaced (or removed when ``new`` is
    None)."""
    if not path:
        if new is None:
            return Group()
        return canonical(new)
    i, rest = path[0], path[1:]
    child = tree.rules[i]
    if rest:
        child = replace_at(child, rest, new)
        rules = tree.rules[:i] + (child,) + tree.rules[i + 1:]
    elif new is None:
        rules = tree.rules[:i] + tree.rules[i + 1:]
    else:
        rules = tree.rules[:i] + (new,) + tree.rules[i + 1:]
    return replace(tree, rules=rules)
