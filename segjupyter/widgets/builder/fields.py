"""What a condition row can be about: the field picker, grouped by entity.

Two dropdowns: the entity (customer, custom fields, purchase behaviour, events, RFM /
lifecycle, other segments, advanced SQL; inside a behaviour filter: product, store, order,
line) and the field of that entity. Each (entity, key) pair says which kind of rule node the
row edits:

=========== ====================== =========================
entity      key                    node
=========== ====================== =========================
customer    field name             Attribute
custom      field name             Attribute
behaviour   metric                 Behaviour (not events)
events      event type or ``*``    Behaviour("events")
derived     derived field          Derived
segment     saved segment name     SegmentRef
sql         ``sql``                Sql
product...  purchase field name    Attribute (in a filter)
=========== ====================== =========================
"""

from __future__ import annotations

from dataclasses import dataclass

from ...rules.model import (ATTRIBUTE_OPERATORS, DERIVED_FIELDS, METRICS, WINDOW_OPERATORS,
                            Attribute, Behaviour, Derived, SegmentRef, Sql)
from ...workspace.registry import OPERATORS, Field

MAIN_ENTITIES = (("Customer", "customer"), ("Custom fields", "custom"),
                 ("Purchase behaviour", "behaviour"), ("Events", "events"),
                 ("RFM / lifecycle", "derived"), ("Other segments", "segment"),
                 ("Advanced SQL", "sql"))
PURCHASE_ENTITIES = (("Product", "product"), ("Store", "store"), ("Order", "order"),
                     ("Order line", "line"))
ATTRIBUTE_ENTITIES = {"customer", "custom", "product", "store", "order", "line"}

METRIC_LABELS = {
    "orders": "orders — number of orders", "spend": "spend — amount spent",
    "units": "units — units bought", "distinct_products": "distinct products",
    "avg_ticket": "average ticket", "first_order": "first order date",
    "last_order": "last order date", "bought": "bought — has bought",
}
ANY_EVENT = "*"


@dataclass(frozen=True)
class Choice:
    entity: str
    key: str


class FieldCatalogue:
    """The pickable fields of one workspace, computed once per builder."""

    def __init__(self, ws):
        self.ws = ws
        reg = ws.fields
        self.registry = reg
        self.customer = reg.customer
        self.purchase = reg.purchase
        self.event_types = tuple(reg.event_types) if reg.has_table("events") else ()
        self.has_lines = reg.has_table("order_lines")
        self._segments: tuple[str, ...] | None = None

    def segment_names(self) -> tuple[str, ...]:
        if self._segments is None:
            self._segments = saved_segment_names(self.ws)
        return self._segments

    def refresh_segments(self) -> None:
        self._segments = None

    def entities(self, mode: str) -> list[tuple[str, str]]:
        """(label, entity) options of the entity dropdown, skipping empty entities."""
        if mode == "purchase":
            present = {f.entity for f in self.purchase.values()}
            return [(lbl, e) for lbl, e in PURCHASE_ENTITIES if e in present]
        out = []
        for label, e in MAIN_ENTITIES:
            if e == "custom" and not any(f.entity == "custom" for f in self.customer.values()):
                continue
            if e == "events" and not self.event_types:
                continue
            if e == "segment" and not self.segment_names():
                continue
            out.append((label, e))
        return out

    def fields(self, entity: str) -> list[tuple[str, str]]:
        """(label, key) options of the field dropdown for ``entity``."""
        if entity in ("customer", "custom"):
            return [(n, n) for n, f in self.customer.items() if f.entity == entity]
        if entity in ("product", "store", "order", "line"):
            return [(n, n) for n, f in self.purchase.items() if f.entity == entity]
        if entity == "behaviour":
            return [(METRIC_LABELS.get(m, m), m) for m in METRICS if m != "events"]
        if entity == "events":
            return [("any event", ANY_EVENT)] + [(t, t) for t in self.event_types]
        if entity == "derived":
            return [(n, n) for n in DERIVED_FIELDS]
        if entity == "segment":
            return [(n, n) for n in self.segment_names()]
        if entity == "sql":
            return [("SQL query", "sql")]
        return []

    def field(self, entity: str, key: str) -> Field | None:
        """The typed field behind an attribute-like choice (None when unknown)."""
        if entity in ("customer", "custom"):
            return self.customer.get(key)
        if entity in ("product", "store", "order", "line"):
            return self.purchase.get(key)
        if entity == "derived" and key in DERIVED_FIELDS:
            ftype, allowed = DERIVED_FIELDS[key]
            return Field(key, "derived", "", key, ftype, "", tuple(allowed or ()),
                         OPERATORS[ftype])
        return None

    def choice_of(self, node, mode: str) -> Choice:
        """Which entity / key shows ``node``."""
        if isinstance(node, Attribute):
            if mode == "purchase":
                f = self.purchase.get(node.field)
                return Choice(f.entity if f else "product", node.field)
            f = self.customer.get(node.field)
            return Choice(f.entity if f else "customer", node.field)
        if isinstance(node, Behaviour):
            if node.metric == "events":
                return Choice("events", node.event_type or ANY_EVENT)
            return Choice("behaviour", node.metric)
        if isinstance(node, Derived):
            return Choice("derived", node.field)
        if isinstance(node, SegmentRef):
            return Choice("segment", node.name)
        if isinstance(node, Sql):
            return Choice("sql", "sql")
        raise TypeError(f"not a condition: {node!r}")

    def default_choice(self, mode: str) -> Choice:
        entity = self.entities(mode)[0][1]
        fields = self.fields(entity)
        # a category field is the friendliest start (a dropdown of values)
        for _lbl, key in fields:
            f = self.field(entity, key)
            if f is not None and f.type == "category":
                return Choice(entity, key)
        return Choice(entity, fields[0][1] if fields else "")


def operators_for(field: Field | None) -> list[tuple[str, str]]:
    """(label, op) options for an attribute field; dates add the year-ignoring range."""
    ops = field.operators if field is not None else ATTRIBUTE_OPERATORS
    labels = {"in": "in (include)", "not in": "not in (exclude)"}
    # the time-window operators come after the year-ignoring range, at the end of the list
    out = [(labels.get(op, op), op) for op in ops if op not in WINDOW_OPERATORS]
    if field is not None and field.is_date:
        out.append(("between (any year)", IGNORE_YEAR))
    out += [(op, op) for op in ops if op in WINDOW_OPERATORS]
    return out


IGNORE_YEAR = "between ignore year"


def saved_segment_names(ws) -> tuple[str, ...]:
    """Names of the saved segments (empty when the catalog has none yet)."""
    try:
        df = ws.segments.list()
        return tuple(sorted(str(n) for n in df["name"]))
    except Exception:  # no catalog tables yet
        return ()
