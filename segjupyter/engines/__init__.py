"""Running segments on other engines than the workspace's DuckDB (``docs/scale-out.md``).

>>> from segjupyter.engines import SparkEngine, local_spark
>>> spark = SparkEngine(local_spark(), tables=ws.export_parquet("/data/retail"))
>>> ws.segment("spend(last 12 months) >= 500").members(engine=spark)

Modules load their driver (pyspark, psycopg) only when used.
"""

from __future__ import annotations

from .base import (ADVANCED_SQL_ONLY_DUCKDB, Engine, EngineError, EngineUnavailableError,
                   as_engine)

__all__ = ["Engine", "EngineError", "EngineUnavailableError", "as_engine", "SparkEngine",
           "local_spark", "check_spark", "PostgresEngine", "load_postgres", "LocalPostgres",
           "ADVANCED_SQL_ONLY_DUCKDB"]


def __getattr__(name):
    import importlib
    where = {"SparkEngine": "spark", "local_spark": "spark", "check_spark": "spark",
             "PostgresEngine": "postgres", "load_postgres": "postgres",
             "LocalPostgres": "postgres_local"}
    if name in where:
        return getattr(importlib.import_module(f"{__name__}.{where[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
