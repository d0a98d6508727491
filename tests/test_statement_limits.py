"""Statement limits for advanced SQL (issue 13, item 2): a runaway query — an endless
recursive CTE, a huge cross join, a sort that does not fit — is stopped by its wall-clock
timeout or its memory limit with a StatementLimitError, and the notebook goes on. The limits
come from %config, the environment, the workspace settings, or the defaults (30 s, 1 GB)."""

from __future__ import annotations

import time

import pytest
from IPython.core.interactiveshell import InteractiveShell

import segjupyter
from segjupyter import magic as sjmagic
from segjupyter.errors import SandboxError, StatementLimitError
from segjupyter.rules import limits
from segjupyter.rules.model import Sql
from segjupyter.rules.sandbox import run_sandboxed

ENDLESS_CTE = ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) "
               "SELECT n AS customer_id FROM t")
CROSS_JOIN = ("SELECT a.customer_id FROM customers a, customers b, customers c "
              "WHERE hash(a.customer_id, b.customer_id, c.customer_id) = 42")
BIG_SORT = "SELECT a.customer_id FROM customers a, customers b ORDER BY random()"


@pytest.fixture
def ws(demo_copy):
    w = segjupyter.open(demo_copy("limits"))
    yield w
    limits.set_limits(None, None)
    w.close()


def _stopped(ws, query, **kw) -> tuple[StatementLimitError, float]:
    t0 = time.monotonic()
    with pytest.raises(StatementLimitError) as e:
        run_sandboxed(ws.storage, query, **kw)
    return e.value, time.monotonic() - t0


def test_a_huge_cross_join_is_stopped_at_its_timeout(ws):
    err, took = _stopped(ws, CROSS_JOIN, timeout=1.0)
    assert err.limit == "time" and err.value == 1.0 and took < 10
    assert "longer than 1 s" in str(err) and "sql_timeout" in str(err)
    assert isinstance(err, SandboxError)
    assert ws.segment('city = "Madrid"').count() > 0  # the workspace goes on


def test_an_endless_recursive_cte_is_stopped(ws):
    err, took = _stopped(ws, ENDLESS_CTE, timeout=2.0, memory_limit="200MB")
    assert err.limit in ("time", "memory") and took < 15


def test_a_query_over_its_memory_limit_is_stopped(ws):
    err, _ = _stopped(ws, BIG_SORT, timeout=60, memory_limit="64MB")
    assert err.limit == "memory" and "64MB" in str(err)
    assert not list(ws.storage.root.glob("*.tmp"))  # nothing spilled into the workspace


def test_limits_come_from_config_environment_setting_or_defaults(ws, monkeypatch):
    st = ws.storage
    assert limits.statement_limits(st) == (30.0, "1GB")
    ws.set_setting("sql_timeout", "4.5")
    ws.set_setting("sql_memory_limit", "256MB")
    assert limits.statement_limits(st) == (4.5, "256MB")
    monkeypatch.setenv("SEGJUPYTER_SQL_TIMEOUT", "7")
    assert limits.statement_limits(st).timeout == 7.0
    limits.set_limits(timeout=2, memory_limit="128MB")
    assert limits.statement_limits(st) == (2.0, "128MB")
    limits.set_limits(None, None)
    monkeypatch.delenv("SEGJUPYTER_SQL_TIMEOUT")
    # a segment condition uses the workspace's setting
    ws.set_setting("sql_timeout", "0.5")
    t0 = time.monotonic()
    with pytest.raises(StatementLimitError, match="longer than 0.5 s"):
        ws.segment(Sql(CROSS_JOIN)).count()
    assert time.monotonic() - t0 < 10
    for bad in ("-1", "soon"):
        ws.set_setting("sql_timeout", bad)
        with pytest.raises(SandboxError, match="sql_timeout"):
            limits.statement_limits(st)
    ws.set_setting("sql_timeout", None)
    ws.set_setting("sql_memory_limit", "lots")
    with pytest.raises(SandboxError, match="sql_memory_limit"):
        limits.statement_limits(st)


def test_in_a_notebook_the_runaway_cell_fails_and_the_next_one_works(ws):
    ip = InteractiveShell.instance()
    ip.reset(new_session=False)
    sjmagic.unload_ipython_extension(ip)
    ip.config.pop("SegmentMagic", None)
    sjmagic.load_ipython_extension(ip)
    ip.run_line_magic("segment", f"use {ws.storage.root}")
    ip.run_line_magic("config", "SegmentMagic.sql_timeout = 1")
    try:
        rule = f"sql({CROSS_JOIN!r})".replace("'", '"')
        t0 = time.monotonic()
        res = ip.run_cell(f"%%segment runaway --members\n{rule}")
        assert isinstance(res.error_in_exec, StatementLimitError), res.error_in_exec
        assert time.monotonic() - t0 < 15
        res = ip.run_cell('%%segment fine\ncity = "Madrid"')
        assert res.success
        assert ip.user_ns["fine"].count() == ws.segment('city = "Madrid"').count()
        ip.run_line_magic("config", "SegmentMagic.sql_memory_limit = 'plenty'")  # refused
        ip.run_line_magic("config", "SegmentMagic.sql_timeout = -3")  # refused
        assert limits.statement_limits(ws.storage) == (1.0, "1GB")
    finally:
        ip.run_line_magic("config", "SegmentMagic.sql_timeout = 0")
        ip.run_line_magic("config", "SegmentMagic.sql_memory_limit = ''")
        sjmagic.unload_ipython_extension(ip)
        ip.config.pop("SegmentMagic", None)
