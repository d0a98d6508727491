"""The field registry: every column of the workspace as a typed field rules can use.

Built from the schema of the loaded data, so custom fields (any extra customers column) need
no code. Two namespaces:

* **customer** fields, used by attribute conditions: every customers column (custom ones are
  marked ``entity="custom"``);
* **purchase** fields, used as filters inside behaviour conditions (they apply to the same
  order line): product, store, order and line columns. Names that would clash get a prefix:
  ``product`` (product name), ``store`` (store name), ``store_city``, ``store_country``.

A field of a table the workspace lacks is listed in :attr:`FieldRegistry.unavailable` with the
reason, so a rule that uses it gets a clear error instead of a crash.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field as dc_field

from ..errors import UnavailableFieldError, UnknownFieldError
from .schema import TABLES

TEXT, CATEGORY, INTEGER, NUMBER, DATE, TIMESTAMP, BOOLEAN, LIST = (
    "text", "category", "integer", "number", "date", "timestamp", "boolean", "list")

_CMP = ("=", "!=", "<", "<=", ">", ">=", "between", "is null", "is not null")
OPERATORS: dict[str, tuple[str, ...]] = {
    TEXT: ("=", "!=", "in", "not in", "contains", "not contains", "starts with", "ends with",
           "is null", "is not null"),
    CATEGORY: ("=", "!=", "in", "not in", "contains", "not contains", "starts with",
               "ends with", "is null", "is not null"),
    INTEGER: _CMP + ("in", "not in"),
    NUMBER: _CMP,
    DATE: _CMP + ("in window", "not in window"),
    TIMESTAMP: _CMP + ("in window", "not in window"),
    BOOLEAN: ("is true", "is false", "=", "!=", "is null", "is not null"),
    LIST: ("contains", "not contains", "is null", "is not null"),
}

#: text columns with at most this many distinct values are categories (autocompletion).
CATEGORY_MAX_DISTINCT = 200

_PURCHASE_RENAMES = {
    ("products", "name"): "product",
    ("stores", "name"): "store",
    ("stores", "city"): "store_city",
    ("stores", "country"): "store_country",
}
# Line columns copied from the order; they are not filter fields of their own.
_HIDDEN = {("order_lines", "customer_id"), ("order_lines", "ordered_at"),
           ("order_lines", "store_id"), ("order_lines", "order_id"),
           ("orders", "customer_id"), ("orders", "ordered_at")}


@dataclass(frozen=True)
class Field:
    """One usable field: where it lives, its type and what can be done with it."""

    name: str
    entity: str  # customer | custom | product | store | order | line
    table: str
    column: str
    type: str
    sql_type: str
    values: tuple = ()  # distinct values of a category field, sorted
    operators: tuple[str, ...] = dc_field(default=())

    @property
    def is_date(self) -> bool:
        return self.type in (DATE, TIMESTAMP)


def classify(sql_type: str) -> str:
    """Map a DuckDB column type to a field type (text, integer, number, date, ...)."""
    t = sql_type.upper()
    if t.endswith("[]") or t.startswith("LIST") or t.startswith("STRUCT"):
        return LIST
    if t == "BOOLEAN":
        return BOOLEAN
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT"):
        return INTEGER
    if t.startswith("DECIMAL") or t in ("DOUBLE", "FLOAT", "REAL"):
        return NUMBER
    if t == "DATE":
        return DATE
    if t.startswith("TIMESTAMP"):
        return TIMESTAMP
    return TEXT


class FieldRegistry:
    """Fields of one workspace, by namespace. Build with :meth:`from_connection`."""

    def __init__(self, customer: dict[str, Field], purchase: dict[str, Field],
                 unavailable: dict[str, str], tables: dict[str, int],
                 event_types: tuple[str, ...] = (),
                 product_ids: tuple[int, int] | None = None):
        self.customer = customer
        self.purchase = purchase
        self.unavailable = unavailable  # field name -> reason
        self.tables = tables  # available table -> row count
        self.event_types = event_types
        #: lowest and highest integer product id of the order lines (None: not integers)
        self.product_ids = product_ids

    # -- building --------------------------------------------------------------------------
    @classmethod
    def from_connection(cls, con) -> "FieldRegistry":
        """Read the ``retail`` database of ``con`` (current database) and build the registry."""
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'retail'").fetchall()}
        tables: dict[str, int] = {}
        for t in TABLES:
            if t in present:
                tables[t] = con.execute(f'SELECT count(*) FROM retail."{t}"').fetchone()[0]
        customer: dict[str, Field] = {}
        purchase: dict[str, Field] = {}
        unavailable: dict[str, str] = {}
        for t, spec in TABLES.items():
            # product filters apply to order lines: without lines, no product field works
            missing = t if t not in tables else (
                "order_lines" if t == "products" and "order_lines" not in tables else None)
            if missing:
                for c in spec.columns:
                    if (t, c.name) in _HIDDEN or t == "events":
                        continue
                    name = c.name if t == "customers" else _PURCHASE_RENAMES.get((t, c.name),
                                                                                 c.name)
                    unavailable.setdefault(name, f"the workspace has no {missing} table")
                continue
            cols = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() "
                "WHERE database_name = 'retail' AND table_name = ? ORDER BY column_index",
                [t]).fetchall()
            for col, sql_type in cols:
                if (t, col) in _HIDDEN or t == "events":
                    continue
                ftype = classify(sql_type)
                if t == "customers":
                    entity = "customer" if col in spec.column_names else "custom"
                    name = col
                else:
                    if t == "orders" and col == "order_id":
                        continue
                    entity = {"products": "product", "stores": "store", "orders": "order",
                              "order_lines": "line"}[t]
                    name = _PURCHASE_RENAMES.get((t, col), col)
                    if name in purchase:  # e.g. store_id on orders and on stores
                        continue
                values: tuple = ()
                if ftype == TEXT and not col.endswith("_id") and col not in (
                        "email", "phone", "first_name", "last_name"):
                    distinct = con.execute(
                        f'SELECT count(DISTINCT "{col}") FROM retail."{t}"').fetchone()[0]
                    if distinct <= CATEGORY_MAX_DISTINCT:
                        ftype = CATEGORY
                        values = tuple(r[0] for r in con.execute(
                            f'SELECT DISTINCT "{col}" FROM retail."{t}" '
                            f'WHERE "{col}" IS NOT NULL ORDER BY 1').fetchall())
                f = Field(name, entity, t, col, ftype, sql_type, values, OPERATORS[ftype])
                (customer if t == "customers" else purchase)[name] = f
        for name in list(unavailable):  # e.g. store_id: on orders even without stores
            if name in customer or name in purchase:
                del unavailable[name]
        event_types: tuple[str, ...] = ()
        if "events" in tables:
            event_types = tuple(r[0] for r in con.execute(
                "SELECT DISTINCT event_type FROM retail.events ORDER BY 1").fetchall())
        product_ids = None
        if "order_lines" in tables:
            kind = con.execute(
                "SELECT data_type FROM duckdb_columns() WHERE database_name = 'retail' AND "
                "table_name = 'order_lines' AND column_name = 'product_id'").fetchone()
            if kind and kind[0] in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT",
                                    "USMALLINT", "UINTEGER", "UBIGINT"):
                lo, hi = con.execute("SELECT min(product_id), max(product_id) "
                                     "FROM retail.order_lines").fetchone()
                if lo is not None:
                    product_ids = (int(lo), int(hi))
        return cls(customer, purchase, unavailable, tables, event_types, product_ids)

    # -- lookup ----------------------------------------------------------------------------
    def customer_field(self, name: str) -> Field:
        """The customer (or custom) field ``name``; raises a did-you-mean error otherwise."""
        return self._lookup(name, self.customer, "customer field")

    def purchase_field(self, name: str) -> Field:
        """The product / store / order / line field ``name`` usable as a purchase filter."""
        return self._lookup(name, self.purchase, "purchase filter field")

    def _lookup(self, name: str, space: dict[str, Field], what: str) -> Field:
        if name in space:
            return space[name]
        if name in self.unavailable:
            raise UnavailableFieldError(f"field {name!r} is unavailable: {self.unavailable[name]}")
        sug = suggest(name, space)
        msg = f"unknown {what} {name!r}"
        if sug:
            msg += f" — did you mean {sug!r}?"
        raise UnknownFieldError(msg, field=name, suggestion=sug)

    def has_table(self, table: str) -> bool:
        return table in self.tables

    def describe(self):
        """All fields as a DataFrame (name, namespace, entity, type, operators, values)."""
        import pandas as pd
        rows = []
        for ns, space in (("customer", self.customer), ("purchase", self.purchase)):
            for f in space.values():
                rows.append({"name": f.name, "namespace": ns, "entity": f.entity,
                             "type": f.type, "table": f.table, "column": f.column,
                             "operators": ", ".join(f.operators),
                             "values": ", ".join(map(str, f.values[:12])) +
                             (" …" if len(f.values) > 12 else "")})
        for name, why in self.unavailable.items():
            rows.append({"name": name, "namespace": "-", "entity": "-", "type": "unavailable",
                         "table": "", "column": "", "operators": "", "values": why})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (f"<FieldRegistry {len(self.customer)} customer fields, {len(self.purchase)} "
                f"purchase fields, {len(self.unavailable)} unavailable>")


def suggest(name: str, candidates) -> str | None:
    """Closest candidate name to ``name`` (for did-you-mean messages), or None."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return match[0] if match else None
