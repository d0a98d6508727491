"""Writing the retail tables as Parquet files, for engines that read them (Spark).

One file per canonical table, ``<folder>/<table>.parquet``, with the workspace's column types
(timestamps without a zone, money as ``DECIMAL(18,2)``, tags as a list of strings). Each file
is written beside its final name and moved into place, so a reader never sees half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlglot import exp

from .schema import LOAD_ORDER


def export_parquet(storage, folder, tables: list[str] | None = None) -> dict[str, str]:
    """Write ``tables`` (default: every loaded retail table) to ``folder``; returns
    ``{table: path}``."""
    out = Path(folder).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    with storage.read() as con:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'retail'"
        ).fetchall()}
        wanted = [t for t in LOAD_ORDER if t in present] if tables is None else list(tables)
        for table in wanted:
            if table not in present:
                from ..errors import WorkspaceError
                raise WorkspaceError(f"no table {table!r} to export (loaded: "
                                     f"{', '.join(sorted(present)) or 'none'})")
            final = out / f"{table}.parquet"
            partial = out / f".{table}.parquet.{os.getpid()}"
            target = exp.Literal.string(str(partial)).sql("duckdb")
            con.execute(f'COPY (SELECT * FROM "{table}") TO {target} (FORMAT parquet)')
            os.replace(partial, final)
            paths[table] = str(final)
    return paths
