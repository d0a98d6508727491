"""Snapshots: a segment's member list frozen with the fixed export fields.

The fields (``SNAPSHOT_COLUMNS``) are copied into ``catalog.snapshot_rows`` when the snapshot
is taken, so later changes of the retail data or of the segment never alter it. Lifetime
spend is the sum of order totals up to the ``as_of`` of the segment's last refresh (the
instant its members were computed for).
"""

from __future__ import annotations

import itertools
import os

import pandas as pd

from ..errors import CatalogError
from .evaluate import key_type
from .store import next_ids

#: the fixed export schema; ``name`` is the customer's full name
SNAPSHOT_COLUMNS = ["customer_id", "name", "first_name", "last_name", "email",
                    "date_registered", "country", "postal_code", "lifetime_spend"]

_tags = itertools.count()


def export_select(ws, members_sql: str, columns: list[str] | None = None,
                  order: bool = False) -> tuple[str, bool]:
    """SELECT of ``columns`` (default: the fixed export fields) for the members of
    ``members_sql`` (a query with ``customer_id`` VARCHAR and optionally ``entered_at``),
    ordered by customer id when ``order``.

    Columns are customer fields, ``entered_at``, or the export fields ``name`` (full name),
    ``date_registered`` and ``lifetime_spend``. Returns the SQL and whether it takes the
    parameter of lifetime spend (the instant orders are summed up to)."""
    fields = ws.fields.customer
    columns = list(SNAPSHOT_COLUMNS if columns is None else columns)

    def col(name: str, cast: str | None = None) -> str:
        if name not in fields:
            return f"CAST(NULL AS {cast or 'VARCHAR'})"
        c = f'c."{fields[name].column}"'
        return f"CAST({c} AS {cast})" if cast else c

    has_orders = ws.fields.has_table("orders")
    special = {
        "customer_id": "m.customer_id",
        "name": f"nullif(trim(concat_ws(' ', {col('first_name')}, {col('last_name')})), '')",
        "date_registered": col("registered_at", "DATE"),
        "postal_code": col("postal_code", "VARCHAR"),
        "lifetime_spend": ("CAST(coalesce(o.spend, 0) AS DECIMAL(18,2))" if has_orders
                           else "CAST(NULL AS DECIMAL(18,2))"),
        "entered_at": "m.entered_at",
    }
    exprs = []
    for name in columns:
        if name in special:
            exprs.append(f'{special[name]} AS "{name}"')
        else:
            ws.fields.customer_field(name)  # unknown -> did-you-mean error
            exprs.append(f'{col(name)} AS "{name}"')
    spend = "lifetime_spend" in columns and has_orders
    orders = ("LEFT JOIN (SELECT customer_id, sum(total) AS spend FROM orders "
              "WHERE ordered_at <= ? GROUP BY customer_id) o ON o.customer_id = c.customer_id"
              if spend else "")
    sql = (f"SELECT {', '.join(exprs)} FROM ({members_sql}) m LEFT JOIN customers c "
           f"ON CAST(c.customer_id AS VARCHAR) = m.customer_id {orders}")
    if order:
        sql += f" ORDER BY {id_order(ws, 'm.customer_id')}"
    return sql, spend


def id_order(ws, column: str = "customer_id") -> str:
    """ORDER BY terms sorting stored (VARCHAR) ids as the retail key type sorts them."""
    return f"TRY_CAST({column} AS {key_type(ws)}), {column}"


def take_snapshot(cat, name: str, note: str = "") -> dict:
    ws = cat.ws
    r = cat._record(name)
    if not r.evaluated:
        raise CatalogError(f"segment {name!r} has never been refreshed; refresh it before "
                           "taking a snapshot")
    tmp = f"_sj_snap_{os.getpid()}_{next(_tags)}"
    try:
        with ws.storage.read(catalog=True) as con:
            run_id, as_of = con.execute("SELECT last_run_id, last_as_of FROM catalog.segments "
                                        "WHERE id = ?", [r.id]).fetchone()
            sel, spend = export_select(ws, "SELECT customer_id FROM catalog.segment_members "
                                           f"WHERE segment_id = {int(r.id)}")
            con.execute(f"CREATE TEMP TABLE {tmp} AS SELECT row_number() OVER "
                        f"(ORDER BY {id_order(ws)}) AS position, * FROM ({sel})",
                        [as_of] if spend else [])
        from .refresh import wall_now
        now = wall_now(ws)
        with ws.storage.write() as con:
            sid = next_ids(con, "snapshot")
            n = con.execute(f"SELECT count(*) FROM {tmp}").fetchone()[0]
            con.execute("INSERT INTO catalog.snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [sid, r.id, r.name, now, as_of, run_id, n, note or ""])
            con.execute(f"INSERT INTO catalog.snapshot_rows SELECT ?, position, "
                        f"{', '.join(SNAPSHOT_COLUMNS)} FROM {tmp}", [sid])
    finally:
        if not ws.storage.closed:
            with ws.storage.read() as con:
                con.execute(f"DROP TABLE IF EXISTS temp.main.{tmp}")
    return {"snapshot_id": sid, "segment": r.name, "created_at": now, "as_of": as_of,
            "customers": int(n)}


def list_snapshots(cat, name: str | None) -> pd.DataFrame:
    where, args = ("WHERE segment = ?", [name]) if name else ("", [])
    with cat.ws.storage.read(catalog=True) as con:
        return con.execute(
            "SELECT snapshot_id, segment, created_at, as_of, customers, note "
            f"FROM catalog.snapshots {where} ORDER BY snapshot_id DESC", args).df()


def _check(con, snapshot_id) -> None:
    if not con.execute("SELECT count(*) FROM catalog.snapshots WHERE snapshot_id = ?",
                       [int(snapshot_id)]).fetchone()[0]:
        raise CatalogError(f"no snapshot with id {snapshot_id!r} (see ws.segments.snapshots())")


def snapshot_rows(cat, snapshot_id: int) -> pd.DataFrame:
    with cat.ws.storage.read(catalog=True) as con:
        _check(con, snapshot_id)
        return con.execute(f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM catalog.snapshot_rows "
                           "WHERE snapshot_id = ? ORDER BY position", [int(snapshot_id)]).df()


def snapshot_cursor_rows(cat, snapshot_id: int):
    """``(column names, rows as Python values)`` of a snapshot, for exact CSV output."""
    with cat.ws.storage.read(catalog=True) as con:
        _check(con, snapshot_id)
        cur = con.execute(f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM catalog.snapshot_rows "
                          "WHERE snapshot_id = ? ORDER BY position", [int(snapshot_id)])
        return [d[0] for d in cur.description], cur.fetchall()
