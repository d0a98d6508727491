"""Advanced SQL, run in a sandbox.

``read_only=True`` alone is not a sandbox (NOTES.md): ``COPY ... TO``, ``read_csv('/etc/...')``,
``ATTACH``, ``SET`` and reading the caller's pandas variables all still work. So user SQL runs
on its own connection to the retail file with external access, extensions, secrets and
replacement scans disabled, memory and threads bounded, the configuration then locked, one
SELECT statement only, and a time limit (``con.interrupt`` from a timer).
"""

from __future__ import annotations

import threading

import duckdb
import pandas as pd

from ..errors import SandboxError

SANDBOX_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "python_enable_replacements": False,
    "threads": 2,
    "memory_limit": "1GB",
}
DEFAULT_TIMEOUT = 10.0


def single_select(query: str) -> str:
    """The text of the one SELECT statement in ``query``; raises :class:`SandboxError` for
    anything else (several statements, DDL, COPY, PRAGMA, ...)."""
    if not query or not query.strip():
        raise SandboxError("advanced SQL is empty: write one SELECT returning customer_id")
    try:
        stmts = duckdb.connect(":memory:").extract_statements(query)
    except duckdb.Error as e:
        raise SandboxError(f"advanced SQL does not parse: {_first_line(e)}") from None
    if len(stmts) != 1:
        raise SandboxError(f"advanced SQL must be exactly one SELECT statement, got {len(stmts)}")
    st = stmts[0]
    if st.type != duckdb.StatementType.SELECT:
        raise SandboxError(f"advanced SQL must be a SELECT, not {st.type.name}")
    return st.query


def run_sandboxed(storage, query: str, timeout: float = DEFAULT_TIMEOUT) -> pd.DataFrame:
    """Run one SELECT on a hardened read-only connection; return its distinct
    ``customer_id`` values as a one-column DataFrame."""
    text = single_select(query)
    con = storage.sandbox_connection(SANDBOX_CONFIG)
    timer = threading.Timer(timeout, con.interrupt)
    try:
        con.execute("SET lock_configuration = true")
        timer.start()
        try:
            rel = con.execute(text)
            cols = [d[0] for d in rel.description]
            frame = rel.df()
        except duckdb.InterruptException:
            raise SandboxError(f"advanced SQL took longer than {timeout:g} s and was stopped") \
                from None
        except duckdb.Error as e:
            raise SandboxError(f"advanced SQL failed: {_first_line(e)}") from None
    finally:
        timer.cancel()
        con.close()
    lowered = [c.lower() for c in cols]
    if "customer_id" in lowered:
        col = cols[lowered.index("customer_id")]
    elif len(cols) == 1:
        col = cols[0]
    else:
        raise SandboxError("advanced SQL must return a customer_id column; it returned "
                           f"{', '.join(cols)}")
    return pd.DataFrame({"customer_id": frame[col].dropna().drop_duplicates().to_numpy()})


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0]
