"""Every table-driven compiler case of ``test_compile.py`` on the size-S demo gives the same
members on DuckDB, Spark and PostgreSQL, and its printed SQL is one self-contained statement
in every dialect (parses back and prints identically; no placeholders).

The engines run the compiler's own tree printed for them (``segjupyter/engines``); DuckDB's
members are checked against the pandas reference in ``test_compile.py`` itself.
"""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from segjupyter.engines import EngineError
from segjupyter.rules.dialects import DIALECTS

import test_compile as tc

DEMO_CASES = (tc.ATTRIBUTE_CASES + tc.WINDOW_CASES + tc.ANCHORED_CASES + tc.METRIC_CASES
              + tc.FILTER_CASES + tc.DERIVED_CASES + tc.ATTRIBUTE_WINDOW_CASES)


@pytest.fixture(scope="module")
def demo_ws(demo_ws_path):
    import segjupyter
    return segjupyter.open(demo_ws_path)


def test_the_cases_are_all_there():
    assert len(DEMO_CASES) > 240


def printed_statement(seg, dialect: str, as_of) -> str:
    """``seg.sql(dialect)``, checked to be one statement that sqlglot reads back in that
    dialect and prints identically, with every value inlined."""
    text = seg.sql(dialect=dialect, as_of=as_of)
    statements = sqlglot.parse(text, read=dialect)
    assert len(statements) == 1, dialect
    tree = statements[0]
    assert isinstance(tree, exp.Select), dialect
    assert not list(tree.find_all(exp.Placeholder)), f"{dialect}: unbound parameter"
    assert tree.sql(dialect=dialect, pretty=True) == text, f"{dialect} does not re-render"
    return text


@pytest.mark.parametrize("case", DEMO_CASES, ids=lambda c: c.id)
def test_same_members_on_duckdb_spark_and_postgres(case, demo_ws, spark_demo, pg_demo):
    seg = demo_ws.segment(case.tree, params=case.params)
    for dialect in DIALECTS:
        printed_statement(seg, dialect, case.as_of)
    want = set(seg.member_ids(case.as_of).tolist())
    spark = set(seg.member_ids(case.as_of, engine=spark_demo).tolist())
    assert spark == want, (f"Spark {len(spark)}, DuckDB {len(want)}: only Spark "
                           f"{sorted(spark - want)[:5]}, only DuckDB {sorted(want - spark)[:5]}")
    pg = set(seg.member_ids(case.as_of, engine=pg_demo).tolist())
    assert pg == want, (f"PostgreSQL {len(pg)}, DuckDB {len(want)}: only PostgreSQL "
                        f"{sorted(pg - want)[:5]}, only DuckDB {sorted(want - pg)[:5]}")


@pytest.mark.parametrize("case", tc.SQL_CASES, ids=lambda c: c.id)
def test_advanced_sql_runs_on_duckdb_only(case, demo_ws, spark_demo, pg_demo):
    """An advanced-SQL condition is refused by the engines with a message saying what to do;
    printed for another dialect it is still one statement (the query transpiled)."""
    seg = demo_ws.segment(case.tree)
    for engine in (spark_demo, pg_demo):
        with pytest.raises(EngineError, match="run on DuckDB only.*in_segment"):
            seg.member_ids(engine=engine)
    for dialect in DIALECTS:
        printed_statement(seg, dialect, None)


# -- the hand-made workspace: custom types (lists with NULLs, NULL booleans, decimals) and
#    orders placed exactly on window edges, to the microsecond -----------------------------
@pytest.fixture(scope="module")
def hm(tmp_path_factory, spark, pg_server):
    """The hand-made workspace of ``test_compile.py`` with a SparkEngine on its Parquet
    export and a PostgresEngine on a copy loaded into its own database."""
    import handmade
    from segjupyter.engines import PostgresEngine, SparkEngine, load_postgres
    from segjupyter.engines.postgres import connect
    ws = handmade.build(str(tmp_path_factory.mktemp("handmade-engines")))
    spark_engine = SparkEngine(spark, tables=ws.export_parquet(
        tmp_path_factory.mktemp("handmade-pq")))
    admin = connect(pg_server.conninfo)
    admin.execute("CREATE DATABASE handmade")
    conn = connect(pg_server.conninfo.replace("dbname=postgres", "dbname=handmade"))
    load_postgres(ws, conn)
    yield ws, spark_engine, PostgresEngine(conn)
    conn.close()
    admin.close()


EDGE_GROUPS = sorted({(as_of, cond) for as_of, cond, _, _ in tc.EDGES}, key=repr)


def _same_everywhere(seg, as_of, engines):
    want = set(seg.member_ids(as_of).tolist())
    for engine in engines:
        got = set(seg.member_ids(as_of, engine=engine).tolist())
        assert got == want, (engine.name, sorted(got ^ want)[:10])
    return want


@pytest.mark.parametrize("case", tc.HANDMADE_ATTRIBUTE_CASES, ids=lambda c: c.id)
def test_custom_types_on_every_engine(case, hm):
    ws, *engines = hm
    seg = ws.segment(case.tree, params=case.params)
    for dialect in DIALECTS:
        printed_statement(seg, dialect, case.as_of)
    _same_everywhere(seg, case.as_of, engines)


@pytest.mark.parametrize("group", EDGE_GROUPS, ids=lambda g: f"{g[0]:%Y%m%dT%H%M}-{g[1]!r}"[:90])
def test_window_edges_to_the_microsecond_on_every_engine(group, hm):
    ws, *engines = hm
    as_of, cond = group
    members = _same_everywhere(ws.segment(cond), as_of, engines)
    import handmade
    for a, c, instant, inside in tc.EDGES:  # and the edge customers are where they belong
        if (a, c) == group:
            assert (handmade.edge_customer(instant) in members) is inside
