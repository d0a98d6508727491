"""What every execution engine shares: table mapping, printing, errors.

An engine runs the compiler's own sqlglot tree somewhere else than the workspace's DuckDB:
it points the canonical table names (``customers``, ``orders``, ...) at the engine's
tables, prints the tree for its dialect (``rules/dialects.py``) and runs the one statement.
Nothing is compiled twice; there is no second compiler.
"""

from __future__ import annotations

import itertools

import pandas as pd
from sqlglot import exp

from ..errors import SegjupyterError
from ..rules.dialects import to_sql

#: The canonical retail tables a compiled query may read.
RETAIL_TABLES = ("customers", "stores", "products", "orders", "order_lines", "events")

ADVANCED_SQL_ONLY_DUCKDB = (
    "advanced SQL conditions (sql(...)) run on DuckDB only, in the sandbox on the workspace's "
    "data; evaluate this segment without engine=, or save the sql(...) part as a segment, "
    "refresh it, and use in_segment(\"name\") on the engine")

_temp_names = itertools.count()


class EngineError(SegjupyterError):
    """A segment could not run on an engine (Spark, PostgreSQL): bad tables, engine error."""


class EngineUnavailableError(EngineError):
    """An engine's software is missing (pyspark, Java, a PostgreSQL driver); the message
    says how to install it."""


def temp_name(prefix: str = "sj_ids") -> str:
    """A fresh name for a temporary table or view of this process."""
    return f"{prefix}_{next(_temp_names)}"


def rename_tables(expression: exp.Expression, tables: dict[str, exp.Table]) -> exp.Expression:
    """A copy of ``expression`` reading ``tables[name]`` wherever it reads the canonical
    table ``name`` (aliases kept; CTE names are never canonical names)."""
    def swap(node):
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name in tables:
            new = tables[node.name].copy()
            alias = node.args.get("alias")
            if alias is not None:
                new.set("alias", alias.copy())
            return new
        return node

    return expression.copy().transform(swap, copy=False)


def tables_read(expression: exp.Expression) -> list[str]:
    """Canonical tables ``expression`` reads, in the canonical order."""
    ctes = {c.alias_or_name for c in expression.find_all(exp.CTE)}
    names = {t.name for t in expression.find_all(exp.Table) if not t.args.get("db")}
    return [t for t in RETAIL_TABLES if t in names and t not in ctes]


class Engine:
    """Base class: subclasses set ``name`` and ``dialect`` and implement :meth:`_table`,
    :meth:`frame` and :meth:`put_ids`."""

    name = "engine"
    dialect = "duckdb"

    def _table(self, canonical: str) -> exp.Table:
        """The engine's table holding the canonical table ``canonical``."""
        raise NotImplementedError

    def statement(self, expression: exp.Expression, pretty: bool = False) -> str:
        """The SQL text this engine runs for a compiled query."""
        tables = {t: self._table(t) for t in tables_read(expression)}
        return to_sql(rename_tables(expression, tables), self.dialect, pretty=pretty)

    def frame(self, expression: exp.Expression) -> pd.DataFrame:
        """Run one compiled SELECT and fetch its rows as a pandas DataFrame."""
        raise NotImplementedError

    def put_ids(self, ids: pd.DataFrame, key_type: str) -> exp.Table:
        """Upload a one-column ``customer_id`` table (members of a saved segment) as a
        temporary table of this engine; returns its name for queries. :meth:`drop_ids`
        drops them."""
        raise NotImplementedError

    def drop_ids(self) -> None:
        """Drop the temporary id tables :meth:`put_ids` made (after the queries that read
        them ran)."""
        for name in getattr(self, "_id_tables", []):
            self._drop(name)
        self._id_tables = []

    def keep_ids(self) -> None:
        """Keep the id tables made so far (a lazy Spark DataFrame still reads them)."""
        self._id_tables = []

    def _remember(self, name: str) -> exp.Table:
        self._id_tables = [*getattr(self, "_id_tables", []), name]
        return exp.to_table(name)

    def _drop(self, name: str) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.dialect}>"


def as_engine(engine) -> Engine:
    """An :class:`Engine` from an engine, a SparkSession or a PostgreSQL connection (psycopg
    3); a SparkSession reads the canonical tables by name from its catalog."""
    if isinstance(engine, Engine):
        return engine
    module = type(engine).__module__ or ""
    if module.startswith("pyspark"):
        from .spark import SparkEngine
        return SparkEngine(engine)
    if module.startswith("psycopg"):
        from .postgres import PostgresEngine
        return PostgresEngine(engine)
    raise EngineError(f"engine= takes a SparkEngine, PostgresEngine, SparkSession or psycopg "
                      f"connection, not {type(engine).__name__}")
