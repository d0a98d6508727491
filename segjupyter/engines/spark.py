"""Segments on Apache Spark: the compiled query printed for Spark SQL and run by a session.

>>> from segjupyter.engines import SparkEngine, local_spark
>>> ws.export_parquet("/data/retail")                  # the canonical tables as Parquet
>>> spark = SparkEngine(local_spark(), tables="/data/retail")
>>> seg.members(engine=spark)                          # pandas
>>> seg.to_spark(spark)                                # a lazy Spark DataFrame
>>> ws.segments.refresh_all(engine=spark)              # members from Spark into the catalog

``tables`` is a folder of ``<table>.parquet`` files or folders (what ``ws.export_parquet``
writes), a dict ``{table: Spark table name | Parquet path | DataFrame}``, or None: the
canonical names (``customers``, ``orders``, ...) in the session's current database.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pandas as pd
from sqlglot import exp

from .base import RETAIL_TABLES, Engine, EngineError, EngineUnavailableError, temp_name

INSTALL_PYSPARK = "pip install 'segjupyter[spark]' (or: pip install 'pyspark>=4,<5')"
INSTALL_JAVA = ("apt-get install -y openjdk-17-jre-headless (Debian/Ubuntu), or install any "
                "Java 17+ and set JAVA_HOME")


def check_spark() -> None:
    """Raise :class:`EngineUnavailableError`, saying how to install them, when pyspark or a
    Java 17+ runtime is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise EngineUnavailableError(f"Spark needs pyspark, which is not installed: "
                                     f"{INSTALL_PYSPARK}") from None
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        where = f"JAVA_HOME={home} has no bin/java" if home else "no java on PATH"
        raise EngineUnavailableError(f"Spark needs Java 17 or newer ({where}): {INSTALL_JAVA}")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
        text = out.stderr + out.stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise EngineUnavailableError(f"Spark needs Java 17 or newer; {java} does not run "
                                     f"({e}): {INSTALL_JAVA}") from None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    major = None if m is None else int(m.group(2) if m.group(1) == "1" else m.group(1))
    if major is None or major < 17:
        raise EngineUnavailableError(f"Spark 4 needs Java 17 or newer; {java} is "
                                     f"{'unknown' if major is None else major}: {INSTALL_JAVA}")


def local_spark(cores: int = 2, memory: str = "1g", shuffle_partitions: int = 4,
                app_name: str = "segjupyter", conf: dict | None = None):
    """A local SparkSession for a notebook or a test (or the running one, if any): ``cores``
    threads, the UI off, bound to 127.0.0.1; ``conf`` adds Spark settings
    (``{"spark.sql.session.timeZone": "UTC"}``)."""
    check_spark()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # never another interface
    from pyspark.sql import SparkSession
    settings = {
        "spark.master": f"local[{int(cores)}]",
        "spark.app.name": app_name,
        "spark.driver.memory": memory,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(int(shuffle_partitions)),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    settings.update({k: str(v) for k, v in (conf or {}).items()})
    builder = SparkSession.builder
    for k, v in settings.items():
        builder = builder.config(k, v)
    try:
        spark = builder.getOrCreate()
    except Exception as e:  # the JVM did not start: say why in one line
        raise EngineUnavailableError(f"Spark did not start: {str(e).strip().splitlines()[0]} "
                                     f"(Java: {INSTALL_JAVA})") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkEngine(Engine):
    """Runs compiled segments on a SparkSession (default: :func:`local_spark`)."""

    name = "spark"
    dialect = "spark"

    def __init__(self, spark=None, tables=None):
        check_spark()
        self.spark = spark if spark is not None else local_spark()
        self._names: dict[str, exp.Table] = {}
        self._given = _table_sources(tables)

    # -- tables ----------------------------------------------------------------------------
    def _table(self, canonical: str) -> exp.Table:
        if canonical not in self._names:
            src = self._given.get(canonical) if self._given is not None else canonical
            if src is None:
                raise EngineError(f"no Spark table given for {canonical!r}: pass "
                                  f"tables={{'{canonical}': 'db.table' or a Parquet path}}")
            self._names[canonical] = self._register(canonical, src)
        return self._names[canonical]

    def _register(self, canonical: str, src) -> exp.Table:
        if isinstance(src, str) and not _is_path(src):
            if not self.spark.catalog.tableExists(src):
                raise EngineError(f"Spark has no table {src!r} (the canonical {canonical} "
                                  "table); pass tables= (a Parquet folder from "
                                  "ws.export_parquet, or {table: name or path})")
            return exp.to_table(src, dialect="spark")
        if isinstance(src, (str, os.PathLike)):
            try:
                df = self.spark.read.parquet(str(src))
            except Exception as e:
                raise EngineError(f"cannot read {canonical!r} from {src}: "
                                  f"{_first_line(e)}") from None
        else:
            df = src  # a Spark DataFrame
        view = temp_name(f"sj_{canonical}")
        df.createOrReplaceTempView(view)
        return exp.to_table(view)

    # -- running ---------------------------------------------------------------------------
    def dataframe(self, expression: exp.Expression):
        """The compiled query as a (lazy) Spark DataFrame."""
        text = self.statement(expression)
        try:
            return self.spark.sql(text)
        except Exception as e:
            raise EngineError(f"Spark refused the segment query: {_first_line(e)}") from None

    def frame(self, expression: exp.Expression) -> pd.DataFrame:
        sdf = self.dataframe(expression)
        try:
            with warnings.catch_warnings():  # pyspark 4 warns on every pandas 3 conversion
                warnings.filterwarnings("ignore", module="pyspark")
                return sdf.toPandas()
        except Exception as e:
            raise EngineError(f"Spark failed running the segment: {_first_line(e)}") from None

    def put_ids(self, ids: pd.DataFrame, key_type: str) -> exp.Table:
        from pyspark.sql.types import LongType, StringType, StructField, StructType
        integer = key_type.upper() in ("BIGINT", "INTEGER", "INT", "HUGEINT")
        col = ids["customer_id"].dropna()
        frame = pd.DataFrame({"customer_id": col.astype("int64") if integer else
                              col.astype(str).astype(object)})
        schema = StructType([StructField("customer_id",
                                         LongType() if integer else StringType(), False)])
        view = temp_name("sj_ids")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="pyspark")
            self.spark.createDataFrame(frame, schema).createOrReplaceTempView(view)
        return self._remember(view)

    def _drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)


def _table_sources(tables) -> dict | None:
    if tables is None:
        return None
    if isinstance(tables, dict):
        unknown = sorted(set(tables) - set(RETAIL_TABLES))
        if unknown:
            raise EngineError(f"unknown table {unknown[0]!r} in tables= (the canonical "
                              f"tables are {', '.join(RETAIL_TABLES)})")
        return dict(tables)
    folder = Path(tables).expanduser()
    if not folder.is_dir():
        raise EngineError(f"tables={tables!r} is not a folder (write one with "
                          "ws.export_parquet(folder))")
    found = {t: str(folder / f"{t}.parquet") for t in RETAIL_TABLES
             if (folder / f"{t}.parquet").exists()}
    if "customers" not in found:
        raise EngineError(f"{folder} holds no customers.parquet (write the tables with "
                          "ws.export_parquet(folder))")
    return found


def _is_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.endswith(".parquet") or "://" in text


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
