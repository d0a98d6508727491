"""The starter segments and the workspace a curated notebook works on."""

from __future__ import annotations

import io

import pytest

import segjupyter
from segjupyter import starter
from segjupyter.errors import CatalogError, WorkspaceError


@pytest.fixture
def ws_copy(demo_copy) -> str:
    return demo_copy("starter")


def test_starter_segments_are_saved_refreshed_with_history_once(ws_copy):
    with segjupyter.open(ws_copy) as ws:
        result = starter.save_starter_segments(ws, history_months=3)
        names = [n for n, _, _ in starter.STARTER_SEGMENTS]
        assert ws.segments.names() == names
        assert result["error"].isna().all()
        for name, template, params in starter.STARTER_SEGMENTS:
            info = ws.segments.info(name)
            # what the refresh stored is what the template's rule selects
            assert info.customers == ws.segments.from_template(template, **params).count()
            assert info.customers > 0, name
            assert "`" not in info.description  # template placeholders filled in
            # 3 monthly backfilled sizes (first of each month) and the refresh
            assert len(ws.segments.history(name)) == 4
        assert starter.pick_segment(ws) == starter.largest_segments(ws, 1)[0]
        sizes = {n: ws.segments.info(n).customers for n in names}
        assert starter.largest_segments(ws, 3) == sorted(sizes, key=sizes.get, reverse=True)[:3]

        again = starter.save_starter_segments(ws, history_months=3)
        assert ws.segments.names() == names and len(again) == len(names)
        assert len(ws.segments.history("at_risk")) == 4  # same as_of: no new backfill


def test_pick_segment(ws_copy):
    with segjupyter.open(ws_copy) as ws:
        assert starter.pick_segment(ws) is None  # nothing saved: all customers
        ws.segments.save("spend(last 12 months) >= 500", name="big")
        assert starter.pick_segment(ws, "big") == "big"
        with pytest.raises(CatalogError, match="did you mean 'big'"):
            starter.pick_segment(ws, "bgi")


def test_prepare_dashboard_workspace(ws_copy, tmp_path):
    out = io.StringIO()
    starter.prepare_dashboard_workspace(ws_copy, out=out)
    assert "saving and refreshing the starter set" in out.getvalue()
    with segjupyter.open(ws_copy, read_only=True) as ws:
        assert len(ws.segments) == len(starter.STARTER_SEGMENTS)
    out = io.StringIO()
    starter.prepare_dashboard_workspace(ws_copy, out=out)  # has segments: left alone
    assert out.getvalue() == ""
    with pytest.raises(WorkspaceError, match="--build-demo"):
        starter.prepare_dashboard_workspace(tmp_path / "nothing", out=out)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(WorkspaceError, match="not empty"):
        starter.prepare_dashboard_workspace(tmp_path / "full", build_demo=True, out=out)


def test_notebook_workspace(ws_copy, monkeypatch):
    monkeypatch.setenv("SEGJUPYTER_WORKSPACE", ws_copy)
    monkeypatch.setenv("SEGJUPYTER_READ_ONLY", "1")
    with starter.notebook_workspace("") as ws:  # what a dashboard kernel gets
        assert ws.path == ws_copy and ws.read_only
        with pytest.raises(WorkspaceError):
            ws.segments.save("spend(last 12 months) >= 500", name="big")
    monkeypatch.delenv("SEGJUPYTER_READ_ONLY")
    with starter.notebook_workspace(ws_copy) as ws:
        assert not ws.read_only
    with pytest.raises(WorkspaceError, match="no workspace at"):
        starter.notebook_workspace(ws_copy + "-missing")
