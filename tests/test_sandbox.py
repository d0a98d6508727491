"""Advanced SQL runs in a sandbox: one SELECT on a hardened read-only connection with a time
limit. Everything else is a SandboxError that says what is wrong; a good query works and its
ids are intersected with the customers."""

from __future__ import annotations

import os

import pandas as pd
import pytest

import segjupyter
from segjupyter.errors import SandboxError
from segjupyter.rules.model import Attribute, Group, Sql
from segjupyter.rules.sandbox import run_sandboxed, single_select


@pytest.fixture(scope="module")
def ws(demo_ws_path):
    return segjupyter.open(demo_ws_path)


@pytest.fixture(scope="module")
def frames(ws):
    return {t: ws.sql(f"SELECT * FROM {t}").df() for t in ("customers", "orders")}


def refused(ws, query: str, *, timeout: float = 5.0) -> str:
    """The SandboxError message for ``query``, run directly and as a segment condition."""
    with pytest.raises(SandboxError) as direct:
        run_sandboxed(ws.storage, query, timeout=timeout)
    if timeout >= 5.0:
        with pytest.raises(SandboxError):
            ws.segment(Sql(query)).count()
    return str(direct.value)


def test_copy_to_is_refused_and_writes_nothing(ws, tmp_path):
    target = tmp_path / "out.csv"
    msg = refused(ws, f"COPY (SELECT customer_id FROM customers) TO '{target}'")
    assert "must be a SELECT, not COPY" in msg
    assert not target.exists()


def test_copy_inside_a_select_does_not_parse(ws, tmp_path):
    target = tmp_path / "out2.csv"
    msg = refused(ws, f"SELECT * FROM (COPY customers TO '{target}')")
    assert "does not parse" in msg
    assert not target.exists()


@pytest.mark.parametrize("query", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT content AS customer_id FROM read_text('/etc/hostname')",
    "SELECT file AS customer_id FROM glob('/etc/*')",
    "SELECT * FROM read_parquet('/tmp/anything.parquet')",
    "SELECT customer_id FROM '/etc/passwd'",
])
def test_file_access_is_refused(ws, query):
    msg = refused(ws, query)
    assert "advanced SQL failed" in msg
    # file functions are refused; a bare path is not even looked up as a file
    assert "disabled by configuration" in msg or "/etc/passwd does not exist" in msg


@pytest.mark.parametrize("query,kind", [
    ("ATTACH '/tmp/sj-sandbox-attach.duckdb' AS x", "ATTACH"),
    ("DETACH retail", "DETACH"),
    ("SET threads = 1", "SET"),
    ("SET enable_external_access = true", "SET"),
    ("USE memory", "SET"),
    ("RESET lock_configuration", "SET"),
    ("INSTALL httpfs", "LOAD"),
    ("LOAD httpfs", "LOAD"),
    ("INSERT INTO customers (customer_id) VALUES (-1)", "INSERT"),
    ("DELETE FROM customers", "DELETE"),
    ("UPDATE customers SET city = 'x'", "UPDATE"),
    ("CREATE TABLE t AS SELECT 1 AS customer_id", "CREATE"),
    ("DROP TABLE customers", "DROP"),
    ("PRAGMA database_list", "PRAGMA"),
    ("CALL pragma_database_list()", "CALL"),
    ("EXPLAIN SELECT customer_id FROM customers", "EXPLAIN"),
    ("EXPORT DATABASE '/tmp/sj-sandbox-export'", "EXPORT"),
    ("CHECKPOINT", "CALL"),
    ("BEGIN TRANSACTION", "TRANSACTION"),
])
def test_statements_other_than_select_are_refused(ws, query, kind):
    assert f"must be a SELECT, not {kind}" in refused(ws, query)
    assert not os.path.exists("/tmp/sj-sandbox-attach.duckdb")
    assert not os.path.exists("/tmp/sj-sandbox-export")


@pytest.mark.parametrize("query,count", [
    ("SELECT customer_id FROM customers; SELECT 1", 2),
    ("SELECT customer_id FROM customers; DROP TABLE customers", 2),
    ("-- nothing but a comment", 0),
    ("", None),
    ("   ", None),
])
def test_exactly_one_statement(ws, query, count):
    msg = refused(ws, query)
    if count is None:
        assert "empty" in msg
    else:
        assert f"exactly one SELECT statement, got {count}" in msg


def test_python_variables_of_the_caller_are_invisible(ws):
    secret_ids = pd.DataFrame({"customer_id": [1, 2, 3]})  # noqa: F841  (the bait)
    msg = refused(ws, "SELECT customer_id FROM secret_ids")
    assert "secret_ids" in msg and "does not exist" in msg


def test_the_catalog_is_not_attached(ws):
    msg = refused(ws, "SELECT customer_id FROM catalog.settings")
    assert "catalog" in msg


def test_a_query_without_customer_ids(ws):
    msg = refused(ws, "SELECT city, country FROM customers")
    assert "must return a customer_id column" in msg and "city, country" in msg


def test_a_syntax_error_is_named(ws):
    assert "does not parse" in refused(ws, "SELEC customer_id FROM customers")


def test_a_slow_query_is_stopped(ws):
    msg = refused(ws, "SELECT count(*) AS customer_id FROM range(1000000000) a, "
                      "range(1000000000) b", timeout=0.5)
    assert "longer than 0.5 s" in msg
    # the workspace is still usable afterwards
    assert ws.segment(Sql("SELECT customer_id FROM customers WHERE city = 'Madrid'")).count() > 0


def test_a_good_query_is_intersected_with_customers(ws, frames):
    o, c = frames["orders"], frames["customers"]
    query = ("SELECT customer_id FROM orders WHERE total > 250 "
             "UNION ALL SELECT -5 UNION ALL SELECT 999999999")
    ids = set(run_sandboxed(ws.storage, query)["customer_id"])
    assert {-5, 999999999} <= ids  # the sandbox returns what the query returns
    seg = ws.segment(Sql(query))
    want = set(o.loc[o["total"] > 250, "customer_id"])
    assert 0 < len(want) < len(c)
    assert set(seg.member_ids()) == want  # ... the segment only customers
    assert seg.count() == len(want)


def test_one_column_under_another_name(ws, frames):
    c = frames["customers"]
    seg = ws.segment(Sql("SELECT DISTINCT customer_id AS who FROM customers "
                         "WHERE country = 'Portugal'"))
    want = set(c.loc[c["country"] == "Portugal", "customer_id"])
    assert set(seg.member_ids()) == want
    # printed SQL, run as it is, agrees (the subquery column is qualified, never the
    # outer customers row)
    assert set(ws.sql(seg.sql()).df()["customer_id"]) == want


def test_ids_of_another_type_are_ignored(ws):
    seg = ws.segment(Sql("SELECT 'abc' AS customer_id UNION ALL SELECT '13'"))
    assert set(seg.member_ids()) == {13}


def test_combined_with_other_conditions(ws, frames):
    c = frames["customers"]
    tree = Group("and", (Attribute("city", "=", "Madrid"),
                         Sql("SELECT customer_id FROM customers WHERE subscribed")))
    want = set(c.loc[(c["city"] == "Madrid") & c["subscribed"].fillna(False).astype(bool),
                     "customer_id"])
    assert set(ws.segment(tree).member_ids()) == want
    negated = Group("and", (Sql("SELECT customer_id FROM customers WHERE subscribed"),),
                    negate=True)
    assert ws.segment(negated).count() == len(c) - int(c["subscribed"].fillna(False).sum())


def test_evaluation_leaves_no_temp_tables(ws):
    seg = ws.segment(Sql("SELECT customer_id FROM orders WHERE total > 100"))
    for _ in range(3):
        seg.count()
    with ws.storage.read() as con:
        left = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary "
                           "AND table_name LIKE '_sj_sql_%'").fetchone()[0]
    assert left == 0


def test_single_select_returns_the_statement():
    assert single_select("  SELECT 1 AS customer_id ; ").strip().startswith("SELECT 1")


def test_the_sandbox_connection_is_hardened_and_locked(ws):
    """The settings that make it a sandbox, read from inside it (a query can read them but
    not change them: SET is refused and lock_configuration is on)."""
    checks = ["NOT current_setting('enable_external_access')",
              "NOT current_setting('python_enable_replacements')",
              "current_setting('lock_configuration')",
              "NOT current_setting('autoload_known_extensions')",
              "NOT current_setting('autoinstall_known_extensions')",
              "NOT current_setting('allow_community_extensions')",
              "NOT current_setting('allow_unsigned_extensions')",
              "NOT current_setting('allow_persistent_secrets')",
              "current_setting('access_mode') = 'read_only'"]
    flags = " || ".join(f"CAST(({c}) AS INTEGER)" for c in checks)
    ok = run_sandboxed(ws.storage, f"SELECT {flags} AS customer_id")
    assert ok["customer_id"].tolist() == ["1" * len(checks)]
