"""Advanced SQL, run in a sandbox.

``read_only=True`` alone is not a sandbox (NOTES.md): ``COPY ... TO``, ``read_csv('/etc/...')``,
``ATTACH``, ``SET`` and reading the caller's pandas variables all still work. So user SQL runs
on its own connection to the retail file with external access, extensions, secrets and
replacement scans disabled, memory and threads bounded, the configuration then locked, one
SELECT statement only, a wall-clock limit (``con.interrupt`` from a timer) and a memory limit
with no spilling to disk (``rules/limits.py`` says where both come from). A query stopped by
either is a :class:`~segjupyter.errors.StatementLimitError`; the workspace's own connection
is never touched, so the notebook goes on as before.
"""

from __future__ import annotations

import threading

import duckdb
import pandas as pd

from ..errors import SandboxError, StatementLimitError
from .limits import statement_limits

SANDBOX_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "python_enable_replacements": False,
    "threads": 2,
    "temp_directory": "",  # no spilling: the memory limit is a limit, and nothing is written
}


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


def run_sandboxed(storage, query: str, timeout: float | None = None,
                  memory_limit: str | None = None) -> pd.DataFrame:
    """Run one SELECT on a hardened read-only connection; return its distinct
    ``customer_id`` values as a one-column DataFrame. ``timeout`` (seconds) and
    ``memory_limit`` default to :func:`~segjupyter.rules.limits.statement_limits`."""
    text = single_select(query)
    if timeout is None or memory_limit is None:
        limits = statement_limits(storage)
        timeout = limits.timeout if timeout is None else timeout
        memory_limit = limits.memory_limit if memory_limit is None else memory_limit
    con = storage.sandbox_connection({**SANDBOX_CONFIG, "memory_limit": memory_limit})
    timer = threading.Timer(timeout, con.interrupt)
    try:
        con.execute("SET lock_configuration = true")
        timer.start()
        try:
            rel = con.execute(text)
            cols = [d[0] for d in rel.description]
            frame = rel.df()
        except duckdb.InterruptException:
            raise StatementLimitError(
                f"advanced SQL took longer than {timeout:g} s and was stopped (raise the limit "
                "with ws.set_setting('sql_timeout', SECONDS) or %config "
                "SegmentMagic.sql_timeout)", limit="time", value=timeout) from None
        except duckdb.OutOfMemoryException as e:
            raise StatementLimitError(
                f"advanced SQL needed more than its memory limit of {memory_limit} and was "
                f"stopped (ws.set_setting('sql_memory_limit', '2GB') raises it): "
                f"{_first_line(e)}", limit="memory", value=memory_limit) from None
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
