"""Reports and jobs: the report notebook run by papermill, rendered to standalone HTML and
opened in headless chromium from ``file://``; the refresh job notebook through the command
line, failing the run when a segment fails.
"""

from __future__ import annotations


import nbformat
import papermill
import pytest

import segjupyter
from segjupyter import cli
from segjupyter.report import NOTEBOOK_ONLY, report
from segjupyter.serve import CURATED, notebooks_dir
from segjupyter.starter import save_starter_segments

from browser import chromium, external, record_errors, record_requests, screenshot, \
    wait_charts_drawn

BROKEN_SQL = 'sql("SELECT customer_id FROM customers WHERE CAST(first_name AS INTEGER) > 0")'


@pytest.fixture(scope="module")
def report_ws(demo_copy) -> str:
    """A private copy of the demo workspace holding the starter segments."""
    path = demo_copy("report")
    with segjupyter.open(path) as ws:
        save_starter_segments(ws, history_months=0)
    return str(path)


@pytest.mark.parametrize("name", CURATED)
def test_parameters_are_documented_for_papermill(name):
    params = papermill.inspect_notebook(str(notebooks_dir() / name))
    assert "workspace" in params and "as_of" in params
    for p in params.values():
        assert p["default"] and p["help"], p  # `name: type = value  # help`


@pytest.mark.browser
def test_report_html_shows_the_charts_offline(report_ws, tmp_path):
    out, executed = tmp_path / "report.html", tmp_path / "report.ipynb"
    report(report_ws, "high_spenders", out, period="2025", as_of="2025-12-31",
           keep_notebook=executed)

    nb = nbformat.read(executed, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'segment = "high_spenders"' in injected[0].source
    html = out.read_text("utf-8")
    assert "notebook_workspace(" not in html  # no code
    only = [c for c in nb.cells if NOTEBOOK_ONLY in c.metadata.get("tags", [])]
    assert only and only[0].source.splitlines()[-1] not in html  # usage notes left out
    with segjupyter.open(report_ws, read_only=True) as ws:
        count = ws.segments.get("high_spenders").count(as_of="2025-12-31")

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests, errors = record_requests(page), record_errors(page)
        page.goto(out.as_uri())
        figs = wait_charts_drawn(page, minimum=12, timeout=60)
        assert all(f["width"] > 0 and f["height"] > 0 for f in figs)
        heading = page.locator(".sj-report-heading").inner_text()
        assert "high_spenders" in heading
        assert f"{count:,} customers as of 2025-12-31" in heading
        assert "period 2025-01-01 to 2025-12-31" in heading
        assert page.locator(".sj-table table").count() >= 4
        screenshot(page, "report-high-spenders")
        assert [u for u in external(requests) if not u.startswith(out.as_uri())] == []
        assert errors == []


def test_report_command_names_an_unknown_segment(report_ws, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert cli.main(["report", report_ws, "high_spender", "--out", str(out)]) == 1
    assert "did you mean 'high_spenders'" in capsys.readouterr().err
    assert not out.exists()
    assert cli.main(["report", str(tmp_path / "nowhere"), "x", "--out", str(out)]) == 1
    assert "no workspace at" in capsys.readouterr().err


def test_refresh_notebook_prints_a_summary_and_fails_when_a_segment_fails(
        demo_copy, tmp_path, capsys):
    ws_path = demo_copy("refresh-notebook")
    with segjupyter.open(ws_path) as ws:
        ws.segments.save("spend(last 12 months) >= 500", name="big")
        ws.segments.save(BROKEN_SQL, name="broken")
        big = ws.segment("spend(last 12 months) >= 500").count()

    executed = tmp_path / "refresh.ipynb"
    assert cli.main(["refresh-notebook", str(ws_path), "--out", str(executed)]) == 1
    io = capsys.readouterr()
    assert "refreshed 1 of 2 segments" in io.out
    assert "refresh_segments.ipynb failed" in io.err and "broken" in io.err
    assert executed.exists()
    with segjupyter.open(ws_path, read_only=True) as ws:
        assert ws.segments.info("big").customers == big  # the good one is stored
        assert ws.segments.info("broken").last_error

    # one segment only: it succeeds, and says so
    assert cli.main(["refresh-notebook", str(ws_path), "--segment", "big"]) == 0
    out = capsys.readouterr().out
    assert "refreshed 1 of 1 segments" in out and "big" in out
