"""Shared pytest fixtures."""

from __future__ import annotations

import pytest


# ---------------------------------------------------------------------------------------------
# Demo workspace (owner: demo data). One demo of size S built per test session; tests that
# need realistic data open it with ``segjupyter.open(demo_ws_path)`` (or call
# ``segjupyter.demo.build(demo_ws_path)``, which reuses it) and must not change its data.
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def demo_ws_path(tmp_path_factory) -> str:
    """Folder of a workspace holding the size-S demo (seed 42), built once per session."""
    import segjupyter

    path = str(tmp_path_factory.mktemp("demo-ws-S"))
    segjupyter.demo.build(path, size="S", seed=42)
    return path


@pytest.fixture(scope="session")
def demo_copy(demo_ws_path, tmp_path_factory):
    """Factory of private copies of the demo workspace, for tests that write to it:
    ``demo_copy("label")`` returns the path of a fresh copy."""
    import shutil

    def make(label: str = "ws-copy") -> str:
        path = tmp_path_factory.mktemp(label) / "ws"
        shutil.copytree(demo_ws_path, path)
        return str(path)

    return make


# ---------------------------------------------------------------------------------------------
# Small hand-made workspaces (owner: workspace/loaders). Tables from ``helpers/frames.py``.
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def ws(tmp_path):
    """An empty workspace in a fresh folder, closed after the test."""
    import segjupyter

    w = segjupyter.open(tmp_path / "ws")
    yield w
    w.close()


@pytest.fixture
def loaded_ws(ws):
    """The workspace of ``ws`` with every hand-made table of ``helpers/frames.py`` loaded."""
    from helpers import frames

    report = ws.load(**frames.all_tables())
    assert report.ok, report
    return ws


# ---------------------------------------------------------------------------------------------
# Engines (owner: engines): one Spark session and one PostgreSQL server per test session.
# ---------------------------------------------------------------------------------------------
from engine_fixtures import demo_parquet, pg_demo, pg_server, spark, spark_demo  # noqa: E402,F401
