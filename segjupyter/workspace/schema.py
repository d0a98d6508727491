"""The canonical retail data model (DESIGN.md section 3).

Each entity is a table in the workspace's ``retail`` database. Columns listed here are the
canonical ones; a customers column not listed is a *custom field* and is kept with its own
type. Money is ``DECIMAL(18,2)`` so sums are exact and repeatable.

``order_lines`` also carries ``customer_id``, ``store_id`` and ``ordered_at`` copied from its
order at load time: the behaviour aggregation then scans lines without joining orders, the
main cost of segment evaluation (NOTES.md: 0.59 s instead of 2.6 s on 10M orders).
"""

from __future__ import annotations

from dataclasses import dataclass

MONEY = "DECIMAL(18,2)"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False  # must be present in loaded data (keys)
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    required: bool = False  # a workspace cannot evaluate segments without it
    derived: tuple[str, ...] = ()  # columns filled by the loader, not by the user

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


# The key type of customers / orders / products / stores is decided at load time: BIGINT
# when every id is an integer, VARCHAR otherwise. "ID" marks those columns here.
ID = "ID"

TABLES: dict[str, Table] = {
    "customers": Table(
        "customers", ("customer_id",),
        (
            Column("customer_id", ID, required=True, nullable=False),
            Column("first_name", "VARCHAR"),
            Column("last_name", "VARCHAR"),
            Column("email", "VARCHAR"),
            Column("phone", "VARCHAR"),
            Column("birth_date", "DATE"),
            Column("gender", "VARCHAR"),
            Column("city", "VARCHAR"),
            Column("country", "VARCHAR"),
            Column("postal_code", "VARCHAR"),
            Column("registered_at", "TIMESTAMP"),
            Column("customer_type", "VARCHAR"),
            Column("source", "VARCHAR"),
            Column("subscribed", "BOOLEAN"),
        ),
        required=True,
    ),
    "stores": Table(
        "stores", ("store_id",),
        (
            Column("store_id", ID, required=True, nullable=False),
            Column("name", "VARCHAR"),
            Column("city", "VARCHAR"),
            Column("country", "VARCHAR"),
            Column("channel", "VARCHAR"),  # store / web / app
        ),
    ),
    "products": Table(
        "products", ("product_id",),
        (
            Column("product_id", ID, required=True, nullable=False),
            Column("sku", "VARCHAR"),
            Column("name", "VARCHAR"),
            Column("category", "VARCHAR"),
            Column("brand", "VARCHAR"),
            Column("tags", "VARCHAR[]"),
            Column("price", MONEY),
        ),
    ),
    "orders": Table(
        "orders", ("order_id",),
        (
            Column("order_id", ID, required=True, nullable=False),
            Column("customer_id", ID, required=True, nullable=False),
            Column("store_id", ID),
            Column("ordered_at", "TIMESTAMP", required=True, nullable=False),
            Column("total", MONEY, required=True),
            Column("offer_code", "VARCHAR"),
        ),
        required=True,
    ),
    "order_lines": Table(
        "order_lines", ("order_id", "line_no"),
        (
            Column("order_id", ID, required=True, nullable=False),
            Column("line_no", "INTEGER", required=True, nullable=False),
            Column("product_id", ID, required=True),
            Column("quantity", "INTEGER", required=True),
            Column("unit_price", MONEY),
            Column("amount", MONEY, required=True),
            Column("customer_id", ID),
            Column("store_id", ID),
            Column("ordered_at", "TIMESTAMP"),
        ),
        derived=("customer_id", "store_id", "ordered_at"),
    ),
    "events": Table(
        "events", (),
        (
            Column("customer_id", ID, required=True, nullable=False),
            Column("event_type", "VARCHAR", required=True, nullable=False),
            Column("occurred_at", "TIMESTAMP", required=True, nullable=False),
            Column("properties", "VARCHAR"),
        ),
    ),
}

#: Load order: a table's references must be loaded before it.
LOAD_ORDER = ("customers", "stores", "products", "orders", "order_lines", "events")

#: (table, column) -> (referenced table, referenced column)
REFERENCES = {
    ("orders", "customer_id"): ("customers", "customer_id"),
    ("orders", "store_id"): ("stores", "store_id"),
    ("order_lines", "order_id"): ("orders", "order_id"),
    ("order_lines", "product_id"): ("products", "product_id"),
    ("events", "customer_id"): ("customers", "customer_id"),
}

#: Money columns, validated as numeric and reported when negative (returns are legal).
MONEY_COLUMNS = {
    (t.name, c.name) for t in TABLES.values() for c in t.columns if c.type == MONEY
}
