"""Segments on PostgreSQL: the compiled query printed for PostgreSQL and run over psycopg 3.

>>> import psycopg
>>> from segjupyter.engines import PostgresEngine, load_postgres
>>> conn = psycopg.connect("host=127.0.0.1 port=5432 dbname=retail user=me")
>>> load_postgres(ws, conn)                     # copy the workspace's tables (optional)
>>> seg.members(engine=PostgresEngine(conn))

The database holds the canonical tables (``customers``, ``orders``, ...) in ``schema``
(default: the connection's ``search_path``). :func:`load_postgres` creates them from a
workspace with the same column types and streams the rows with ``COPY``.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pandas as pd
from sqlglot import exp

from .base import RETAIL_TABLES, Engine, EngineError, EngineUnavailableError, temp_name

INSTALL_PSYCOPG = "pip install 'segjupyter[postgres]' (or: pip install 'psycopg[binary]>=3.1')"
_TYPES = {"HUGEINT": "NUMERIC(38, 0)", "UBIGINT": "NUMERIC(20, 0)", "UINTEGER": "BIGINT",
          "USMALLINT": "INTEGER", "UTINYINT": "SMALLINT", "TINYINT": "SMALLINT"}


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise EngineUnavailableError(f"PostgreSQL needs psycopg 3, which is not installed: "
                                     f"{INSTALL_PSYCOPG}") from None
    return psycopg


def connect(conninfo: str):
    """A psycopg 3 connection (autocommit) from a libpq connection string or URL."""
    psycopg = _psycopg()
    try:
        return psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as e:
        raise EngineError(f"cannot connect to PostgreSQL: {_first_line(e)}") from None


class PostgresEngine(Engine):
    """Runs compiled segments on a PostgreSQL database (a psycopg 3 connection or a
    connection string)."""

    name = "postgres"
    dialect = "postgres"

    def __init__(self, connection, schema: str | None = None):
        self.conn = connect(connection) if isinstance(connection, str) else connection
        self.schema = schema

    def _table(self, canonical: str) -> exp.Table:
        return exp.table_(canonical, db=self.schema) if self.schema else exp.table_(canonical)

    def _execute(self, text: str, fetch: bool = True):
        psycopg = _psycopg()
        try:
            with self.conn.cursor() as cur:
                cur.execute(text)
                if not fetch:
                    return None
                cols = [d.name for d in cur.description]
                return pd.DataFrame(cur.fetchall(), columns=cols)
        except psycopg.Error as e:
            if not self.conn.autocommit:
                self.conn.rollback()
            raise EngineError(f"PostgreSQL refused the segment query: {_first_line(e)}") from None

    def frame(self, expression: exp.Expression) -> pd.DataFrame:
        return self._execute(self.statement(expression))

    def put_ids(self, ids: pd.DataFrame, key_type: str) -> exp.Table:
        name = temp_name("sj_ids")
        pg_type = _pg_type(key_type)
        with self.conn.cursor() as cur:
            cur.execute(f'CREATE TEMP TABLE "{name}" (customer_id {pg_type})')
            with cur.copy(f'COPY "{name}" (customer_id) FROM STDIN') as copy:
                for v in ids["customer_id"].tolist():
                    copy.write_row((v,))
        if not self.conn.autocommit:
            self.conn.commit()
        return self._remember(name)

    def _drop(self, name: str) -> None:
        self._execute(f'DROP TABLE IF EXISTS "{name}"', fetch=False)


def _pg_type(duckdb_type: str) -> str:
    t = duckdb_type.upper()
    if t in _TYPES:
        return _TYPES[t]
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql("postgres")


def load_postgres(ws, connection, schema: str = "public") -> dict[str, int]:
    """Create the workspace's retail tables in PostgreSQL ``schema`` (replacing tables of
    the same names) and copy every row with ``COPY ... FROM STDIN``; returns row counts.

    Column types follow the workspace's (``DECIMAL(18,2)`` money stays exact, tag lists
    become ``TEXT[]``); the rows travel as CSV written by DuckDB. Keys get an index."""
    conn = connect(connection) if isinstance(connection, str) else connection
    psycopg = _psycopg()
    counts: dict[str, int] = {}
    sch = exp.to_identifier(schema, quoted=True).sql("postgres")
    scratch = tempfile.mkdtemp(prefix="sj-pg-load-")
    try:
        with conn.transaction(), conn.cursor() as cur, ws.storage.read() as con:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {sch}")
            for table in RETAIL_TABLES:
                if table not in ws.fields.tables:
                    continue
                cols = con.execute(f"DESCRIBE {table}").fetchall()
                ddl = ", ".join(f'"{c[0]}" {_pg_type(c[1])}' for c in cols)
                cur.execute(f'DROP TABLE IF EXISTS {sch}."{table}"')
                cur.execute(f'CREATE TABLE {sch}."{table}" ({ddl})')
                csv = os.path.join(scratch, f"{table}.csv")
                target = exp.Literal.string(csv).sql("duckdb")
                select = ", ".join(_csv_column(c[0], c[1]) for c in cols)
                con.execute(f'COPY (SELECT {select} FROM "{table}") TO {target} '
                            "(FORMAT csv, HEADER false)")
                quoted = ", ".join(f'"{c[0]}"' for c in cols)
                with cur.copy(f'COPY {sch}."{table}" ({quoted}) FROM STDIN (FORMAT csv)'
                              ) as copy, open(csv, "rb") as f:
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
                os.remove(csv)
                counts[table] = cur.execute(f'SELECT count(*) FROM {sch}."{table}"'
                                            ).fetchone()[0]
            for table, col in (("customers", "customer_id"), ("orders", "customer_id"),
                               ("order_lines", "customer_id"), ("events", "customer_id"),
                               ("products", "product_id"), ("stores", "store_id")):
                if table in counts:
                    cur.execute(f'CREATE INDEX ON {sch}."{table}" ("{col}")')
            for table in counts:
                cur.execute(f'ANALYZE {sch}."{table}"')
    except psycopg.Error as e:
        raise EngineError(f"loading PostgreSQL failed: {_first_line(e)}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return counts


def _csv_column(name: str, duckdb_type: str) -> str:
    """A column as PostgreSQL's CSV ``COPY`` reads it: lists as array literals
    (``{"a","b"}``, elements quoted and escaped), everything else as DuckDB writes it."""
    col = f'"{name}"'
    if not duckdb_type.endswith("[]"):
        return col
    item = ("CASE WHEN x IS NULL THEN 'NULL' ELSE '\"' || replace(replace(CAST(x AS VARCHAR), "
            "'\\', '\\\\'), '\"', '\\\"') || '\"' END")
    return (f"CASE WHEN {col} IS NULL THEN NULL ELSE '{{' || array_to_string(list_transform("
            f"{col}, lambda x: {item}), ',') || '}}' END AS {col}")


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
