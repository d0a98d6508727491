"""CSV exports of members and snapshots, and campaign lists.

The CSV format is fixed so that files diff cleanly and load anywhere: UTF-8 without BOM, a
header row, ``,`` separators, ``\\n`` line ends, fields quoted only when they contain a comma,
quote or line break (quotes doubled); empty for missing values; dates ``YYYY-MM-DD`` and
timestamps ``YYYY-MM-DDTHH:MM:SS`` (ISO 8601); money (DECIMAL(18,2)) with exactly two
decimals and a ``.``; booleans ``true`` / ``false``; rows ordered by customer id.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ..errors import CatalogError
from .evaluate import key_type
from .snapshots import export_select, snapshot_cursor_rows


def format_value(v) -> str:
    """One value as CSV text (see the module docstring)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, dt.datetime):
        return v.isoformat(timespec="seconds" if not v.microsecond else "microseconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return ";".join(format_value(x) for x in v)
    return str(v)


def write_csv(path, header: list[str], rows) -> int:
    """Write ``header`` and ``rows`` (Python values) in the fixed format; returns the number
    of rows."""
    path = Path(path).expanduser()
    if path.parent and not path.parent.exists():
        raise CatalogError(f"cannot write {path}: folder {path.parent} does not exist")
    n = 0
    from ..workspace.partial import atomic_path
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        # a crash mid-write leaves the previous file (or none), never half of one
        w = csv.writer(f, delimiter=",", quotechar='"', lineterminator="\n",
                       quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        for row in rows:
            w.writerow([format_value(v) for v in row])
            n += 1
    return n


def _members_query(cat, name: str, columns):
    ws = cat.ws
    r = cat._record(name)
    if not r.evaluated:
        raise CatalogError(f"segment {name!r} has never been refreshed; nothing to export")
    members = ("SELECT customer_id, entered_at FROM catalog.segment_members "
               f"WHERE segment_id = {int(r.id)}")
    sql, spend = export_select(ws, members, columns, order=True)
    return sql, ([r.last_as_of] if spend else [])


def export_members_csv(cat, name: str, path, columns=None) -> int:
    if columns is not None and not list(columns):
        raise CatalogError("columns is empty: name at least one column to export")
    sql, args = _members_query(cat, name, None if columns is None else list(columns))
    with cat.ws.storage.read(catalog=True) as con:
        cur = con.execute(sql, args)
        header = [d[0] for d in cur.description]
        rows = cur.fetchall()
    return write_csv(path, header, rows)


def export_snapshot_csv(cat, snapshot_id: int, path) -> int:
    header, rows = snapshot_cursor_rows(cat, snapshot_id)
    return write_csv(path, header, rows)


def campaign_list(cat, name: str) -> pd.DataFrame:
    """Subscribed members with a non-empty email."""
    ws = cat.ws
    for f in ("subscribed", "email"):
        if f not in ws.fields.customer:
            raise CatalogError(f"a campaign list needs the customer field {f!r}; this "
                               "workspace's customers have none")
    sql, args = _members_query(cat, name, ["customer_id", "email", "first_name", "last_name",
                                           "name", "subscribed"])
    with ws.storage.read(catalog=True) as con:
        df = con.execute(f"SELECT TRY_CAST(customer_id AS {key_type(ws)}) AS customer_id, "
                         f"* EXCLUDE (customer_id, subscribed) FROM ({sql}) WHERE subscribed "
                         "AND nullif(trim(email), '') IS NOT NULL ORDER BY 1", args).df()
    return df.reset_index(drop=True)
