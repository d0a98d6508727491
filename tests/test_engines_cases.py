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
