"""The engine API a notebook user types: Spark DataFrames out, tables in as Parquet, Spark
tables or DataFrames, values inlined safely, stored members shipped, and clear errors when
Java or pyspark is missing."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

import segjupyter
from segjupyter.engines import EngineError, SparkEngine
from segjupyter.rules.dialects import DIALECTS

VIP = 'city in ("Madrid", "Barcelona") and spend(last 12 months) >= 300 and subscribed'


@pytest.fixture(scope="module")
def demo_ws(demo_ws_path):
    return segjupyter.open(demo_ws_path)


def test_export_parquet_writes_every_table(demo_ws, demo_parquet, spark):
    assert set(demo_parquet) == set(demo_ws.tables)
    for table, path in demo_parquet.items():
        assert os.path.basename(path) == f"{table}.parquet"
        assert spark.read.parquet(path).count() == demo_ws.tables[table]
    types = dict(spark.read.parquet(demo_parquet["orders"]).dtypes)
    assert types["total"] == "decimal(18,2)" and types["ordered_at"] == "timestamp_ntz"


def test_to_spark_is_a_spark_dataframe_of_the_members(demo_ws, spark, demo_parquet):
    seg = demo_ws.segment(VIP)
    sdf = seg.to_spark(spark, tables=os.path.dirname(demo_parquet["customers"]),
                       columns=["email", "city"])
    from pyspark.sql import DataFrame
    assert isinstance(sdf, DataFrame)
    assert sdf.columns == ["customer_id", "email", "city"]
    got = sdf.toPandas()
    want = seg.members(columns=["email", "city"])
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert got["email"].tolist() == want["email"].tolist()


def test_members_with_every_column_match_duckdb(demo_ws, spark_demo, pg_demo):
    seg = demo_ws.segment(VIP)
    want = seg.members()
    for engine in (spark_demo, pg_demo):
        got = seg.members(engine=engine)
        assert list(got.columns) == list(want.columns)
        assert len(got) == len(want) > 0
        for col in want.columns:  # compare values, not the driver's dtypes
            a = [None if pd.isna(v) else pd.Timestamp(v) if col.endswith(("_at", "_date"))
                 else v for v in want[col]]
            b = [None if pd.isna(v) else pd.Timestamp(v) if col.endswith(("_at", "_date"))
                 else v for v in got[col]]
            assert a == b, (engine.name, col)
    assert seg.count(engine=spark_demo) == seg.count(engine=pg_demo) == len(want)


def test_tables_as_spark_tables_and_dataframes(demo_ws, spark, demo_parquet):
    seg = demo_ws.segment("orders(last 90 days) >= 2 and not bought(category = \"Tea\")")
    want = set(seg.member_ids())
    for table in ("customers", "orders"):
        spark.read.parquet(demo_parquet[table]).createOrReplaceTempView(f"retail_{table}")
    tables = {"customers": "retail_customers", "orders": "retail_orders",
              "order_lines": spark.read.parquet(demo_parquet["order_lines"]),
              "products": demo_parquet["products"]}
    assert set(seg.member_ids(engine=SparkEngine(spark, tables=tables))) == want
    # a SparkSession as engine reads the canonical names from its catalog
    for table, path in demo_parquet.items():
        spark.read.parquet(path).createOrReplaceTempView(table)
    try:
        assert set(seg.member_ids(engine=spark)) == want
    finally:
        for table in demo_parquet:
            spark.catalog.dropTempView(table)


def test_missing_tables_are_clear_errors(demo_ws, spark, demo_parquet, tmp_path):
    seg = demo_ws.segment("spend(last 30 days) > 0")
    with pytest.raises(EngineError, match="no Spark table given for 'orders'"):
        seg.count(engine=SparkEngine(spark, tables={"customers": demo_parquet["customers"]}))
    with pytest.raises(EngineError, match="is not a folder.*export_parquet"):
        SparkEngine(spark, tables=str(tmp_path / "missing"))
    # the first canonical table the query reads that the session lacks
    with pytest.raises(EngineError,
                       match="Spark has no table '(orders|customers)' .*pass tables="):
        seg.count(engine=spark)


def test_values_are_inlined_safely_on_every_engine(demo_ws, spark_demo, pg_demo):
    """Quotes, backslashes, comment and statement syntax in values are data, not SQL."""
    nasty = "x'); DROP TABLE customers; -- \\' \" %_ \n ü"
    seg = demo_ws.segment(f"email contains {_quote(nasty)} or city = {_quote(nasty)} "
                          f"or bought(brand = {_quote(nasty)})")
    for dialect in DIALECTS:
        assert "DROP TABLE customers" in seg.sql(dialect=dialect)  # inside a string literal
    assert seg.count() == 0
    assert seg.count(engine=spark_demo) == 0 and seg.count(engine=pg_demo) == 0
    assert demo_ws.segment("customer_id > 0").count(engine=pg_demo) == demo_ws.tables[
        "customers"]
    quoted = demo_ws.segment('city = "O\'Brien Town" or not email ends with ".com"')
    want = quoted.count()
    assert want > 0
    assert quoted.count(engine=spark_demo) == quoted.count(engine=pg_demo) == want


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def test_in_segment_uses_the_stored_members_everywhere(demo_copy, spark, pg_demo,
                                                       demo_parquet):
    """Engines receive the stored members of the segments a rule uses; printed for another
    dialect they are inlined, so the statement is still self-contained."""
    ws = segjupyter.open(demo_copy("in-segment"))
    ws.segments.save('spend(last 12 months) >= 400', name="big", refresh=True)
    ws.segments.save('city = "Nowhere"', name="empty", refresh=True)
    seg = ws.segment('in_segment("big") and subscribed or in_segment("empty")')
    want = set(seg.member_ids())
    assert want
    engine = SparkEngine(spark, tables=demo_parquet)
    assert set(seg.member_ids(engine=engine)) == want
    assert set(seg.member_ids(engine=pg_demo)) == want
    spark_sql = seg.sql(dialect="spark")
    assert "VALUES" in spark_sql and "catalog" not in spark_sql
    for table, path in demo_parquet.items():
        spark.read.parquet(path).createOrReplaceTempView(table)
    try:
        assert {r[0] for r in spark.sql(spark_sql).collect()} == want
    finally:
        for table in demo_parquet:
            spark.catalog.dropTempView(table)
    with pg_demo.conn.cursor() as cur:
        cur.execute(seg.sql(dialect="postgres"))
        assert {r[0] for r in cur.fetchall()} == want


def _run(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)


def test_missing_java_says_how_to_install_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java on it
    out = _run("from segjupyter.engines import local_spark\n"
               "try:\n    local_spark()\n"
               "except Exception as e:\n    print(type(e).__name__, e)\n", env)
    assert "EngineUnavailableError" in out.stdout, out.stderr
    assert "Java 17" in out.stdout and "apt-get install -y openjdk-17-jre-headless" in out.stdout
    env["JAVA_HOME"] = str(tmp_path)
    out = _run("from segjupyter.engines import check_spark\ncheck_spark()", env)
    assert "JAVA_HOME=" in out.stderr and "has no bin/java" in out.stderr


def test_missing_pyspark_says_how_to_install_it():
    out = _run("import sys; sys.modules['pyspark'] = None  # as if not installed\n"
               "import segjupyter\n"
               "ws = segjupyter.open(':memory:')\n"
               "from segjupyter.engines import SparkEngine\n"
               "try:\n    SparkEngine()\n"
               "except Exception as e:\n    print(type(e).__name__, e)\n", dict(os.environ))
    assert out.stdout.startswith("EngineUnavailableError"), out.stderr
    assert "pip install 'segjupyter[spark]'" in out.stdout


def test_an_unknown_engine_is_refused(demo_ws):
    with pytest.raises(EngineError, match="engine= takes"):
        demo_ws.segment("subscribed").count(engine="spark")
