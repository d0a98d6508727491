"""Refreshing saved segments through an engine: the members computed on Spark (or
PostgreSQL) are stored in the catalog exactly as a DuckDB refresh stores them — the same
members, entries, exits and reasons."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import segjupyter
from segjupyter.rules.model import Attribute, Group, SegmentRef, Sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_refresh import varied_segments  # noqa: E402  (the 50 varied segments)

EVENTS = ("SELECT s.name, e.customer_id, e.event, e.reason FROM catalog.membership_events e "
          "JOIN catalog.segments s ON s.id = e.segment_id ORDER BY ALL")


def save_segments(ws, n: int) -> list[str]:
    names = []
    for i, tree in enumerate(varied_segments(ws, n)):
        ws.segments.save(tree, name=f"v{i:02d}")
        names.append(f"v{i:02d}")
    # a second level: a segment using another one's fresh members
    ws.segments.save(Group("and", (SegmentRef("v01"), Attribute("city", "=", "Madrid"))),
                     name="uses_v01")
    return names + ["uses_v01"]


def assert_same_catalog(a, b, names):
    for name in names:
        assert set(a.segments.member_ids(name)) == set(b.segments.member_ids(name)), name
    ea, eb = a.sql(EVENTS).df(), b.sql(EVENTS).df()
    assert len(ea) > 0
    assert ea.equals(eb)


@pytest.fixture(scope="module")
def demo_m(tmp_path_factory):
    """The size-M demo (100k customers, 1M orders), built once for this module."""
    path = tmp_path_factory.mktemp("demo-M") / "ws"
    segjupyter.demo.build(str(path), size="M", seed=42)
    return path


def test_fifty_segments_on_demo_m_through_spark_equal_duckdb(demo_m, spark, tmp_path):
    on_duck, on_spark = tmp_path / "duck", tmp_path / "spark"
    shutil.copytree(demo_m, on_duck)
    shutil.copytree(demo_m, on_spark)
    a, b = segjupyter.open(on_duck), segjupyter.open(on_spark)
    names = save_segments(a, 50)
    assert save_segments(b, 50) == names and len(names) == 51
    from segjupyter.engines import SparkEngine
    engine = SparkEngine(spark, tables=b.export_parquet(tmp_path / "parquet"))
    ra = a.segments.refresh_all(progress=False)
    rb = b.segments.refresh_all(progress=False, engine=engine)
    assert rb["error"].isna().all(), rb["error"].dropna().tolist()
    cols = ["segment", "customers", "entered", "left", "subscribed"]
    assert ra[cols].equals(rb[cols])
    assert (rb["customers"] > 0).sum() >= 45  # the segments select someone
    assert_same_catalog(a, b, names)


@pytest.mark.parametrize("which", ["spark", "postgres"])
def test_daily_refreshes_through_an_engine_store_the_same_history(which, demo_copy, request):
    """Two refreshes (the second a few days later: customers enter and leave, with reasons
    computed as of the previous refresh) through an engine give DuckDB's catalog."""
    engine = request.getfixturevalue("spark_demo" if which == "spark" else "pg_demo")
    a, b = segjupyter.open(demo_copy("duck")), segjupyter.open(demo_copy(which))
    names = save_segments(a, 16)
    save_segments(b, 16)
    for as_of in ("2026-06-01", "2026-06-30"):
        ra = a.segments.refresh_all(as_of=as_of, progress=False)
        rb = b.segments.refresh_all(as_of=as_of, progress=False, engine=engine)
        assert rb["error"].isna().all(), rb["error"].dropna().tolist()
        assert ra["customers"].tolist() == rb["customers"].tolist()
    assert rb["left"].sum() > 0 and rb["entered"].sum() > 0
    assert_same_catalog(a, b, names)
    # one segment alone, as ws.segments.refresh(name, engine=...) does it
    a.segments.refresh("v03", as_of="2026-07-02")
    row = b.segments.refresh("v03", as_of="2026-07-02", engine=engine)
    assert row["customers"] == len(a.segments.member_ids("v03"))
    assert_same_catalog(a, b, names)


def test_advanced_sql_segment_fails_alone_in_an_engine_refresh(demo_copy, spark_demo):
    ws = segjupyter.open(demo_copy("sql-refresh"))
    ws.segments.save(Sql("SELECT customer_id FROM orders WHERE total > 300"), name="by_sql")
    ws.segments.save(Attribute("city", "=", "Madrid"), name="madrid")
    out = ws.segments.refresh_all(progress=False, engine=spark_demo).set_index("segment")
    assert "run on DuckDB only" in out.loc["by_sql", "error"]
    assert out.loc["madrid", "customers"] == ws.segment('city = "Madrid"').count()
    assert ws.segments.refresh_all(progress=False).set_index("segment").loc[
        "by_sql", "error"] is None
