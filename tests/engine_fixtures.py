"""Session fixtures for the engine tests: one local Spark and one throw-away PostgreSQL
server per test session (both started here, stopped at the end), with the size-S demo
loaded into each. Nothing is skipped: without Java, pyspark, psycopg or the PostgreSQL
binaries these fixtures fail with the installer's message."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """A local SparkSession (2 threads, 1 GB, UI off, 127.0.0.1), shared by every test."""
    from segjupyter.engines import local_spark
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = local_spark(conf={"spark.sql.warehouse.dir": str(warehouse),
                                "spark.sql.session.timeZone": "UTC"})
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo_parquet(demo_ws_path, tmp_path_factory) -> dict:
    """The size-S demo's tables as Parquet (``ws.export_parquet``)."""
    import segjupyter
    return segjupyter.open(demo_ws_path).export_parquet(tmp_path_factory.mktemp("demo-pq"))


@pytest.fixture(scope="session")
def spark_demo(spark, demo_parquet):
    """A SparkEngine reading the size-S demo from Parquet."""
    from segjupyter.engines import SparkEngine
    return SparkEngine(spark, tables=demo_parquet)


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server on 127.0.0.1 in a temporary data directory."""
    from segjupyter.engines import LocalPostgres
    with LocalPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def pg_demo(pg_server, demo_ws_path):
    """A PostgresEngine on a database holding the size-S demo (loaded with COPY)."""
    import segjupyter
    from segjupyter.engines import PostgresEngine, load_postgres
    from segjupyter.engines.postgres import connect
    conn = connect(pg_server.conninfo)
    conn.execute("CREATE DATABASE demo_s")
    demo = connect(pg_server.conninfo.replace("dbname=postgres", "dbname=demo_s"))
    load_postgres(segjupyter.open(demo_ws_path), demo)
    yield PostgresEngine(demo)
    demo.close()
    conn.close()
