"""Statement limits for advanced SQL: a wall-clock timeout and a memory limit.

Where a limit comes from, first match wins:

1. this process: :func:`set_limits` (``%config SegmentMagic.sql_timeout = 5`` and
   ``SegmentMagic.sql_memory_limit`` call it);
2. the environment: ``SEGJUPYTER_SQL_TIMEOUT`` (seconds), ``SEGJUPYTER_SQL_MEMORY_LIMIT``;
3. the workspace settings ``sql_timeout`` / ``sql_memory_limit``
   (``ws.set_setting("sql_timeout", 60)``), shared by every process using the workspace,
   the background refresh worker included;
4. the defaults: 30 s and 1 GB.

>>> ws.set_setting("sql_timeout", 10)
>>> statement_limits(ws.storage)
Limits(timeout=10.0, memory_limit='1GB')
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from ..errors import SandboxError

DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY_LIMIT = "1GB"

_process: dict[str, object] = {}
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.I)


class Limits(NamedTuple):
    timeout: float
    memory_limit: str


def check_timeout(value) -> float:
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise SandboxError(f"sql_timeout must be a number of seconds, not {value!r}") from None
    if not t > 0:
        raise SandboxError(f"sql_timeout must be more than 0 seconds, not {value!r}")
    return t


def check_memory(value) -> str:
    text = str(value)
    if not _MEMORY.match(text):
        raise SandboxError(f"sql_memory_limit must look like '512MB' or '2GB', not {value!r}")
    return text.replace(" ", "")


def set_limits(timeout=None, memory_limit=None) -> None:
    """Limits for this process, over the workspace settings; ``None`` or ``""`` removes the
    override."""
    for key, value, check in (("timeout", timeout, check_timeout),
                              ("memory_limit", memory_limit, check_memory)):
        if value in (None, "", 0):
            _process.pop(key, None)
        else:
            _process[key] = check(value)


def _setting(storage, key: str):
    import duckdb
    try:
        with storage.read(catalog=True) as con:
            row = con.execute("SELECT value FROM catalog.settings WHERE key = ?",
                              [key]).fetchone()
    except duckdb.CatalogException:  # a catalog never opened writable has no settings
        return None
    return None if row is None else row[0]


def statement_limits(storage) -> Limits:
    """The timeout and memory limit that apply to advanced SQL run on ``storage``."""
    timeout = _process.get("timeout") or os.environ.get("SEGJUPYTER_SQL_TIMEOUT") \
        or _setting(storage, "sql_timeout") or DEFAULT_TIMEOUT
    memory = _process.get("memory_limit") or os.environ.get("SEGJUPYTER_SQL_MEMORY_LIMIT") \
        or _setting(storage, "sql_memory_limit") or DEFAULT_MEMORY_LIMIT
    return Limits(check_timeout(timeout), check_memory(memory))
