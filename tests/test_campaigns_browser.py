"""In a real browser, the served segments dashboard draws the predicted CLV and the
campaign lift of the focus segment (read-only kernels: the fit stays in memory)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import segjupyter
from segjupyter import serve

from browser import chromium, record_errors, screenshot, wait_charts_drawn

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(demo_copy, tmp_path_factory):
    path = demo_copy("campaigns-browser")
    with segjupyter.open(path) as ws:
        ws.segments.save("orders >= 2", name="repeat_buyers")
        ws.segments.refresh("repeat_buyers", as_of="2026-04-30")
        ws.campaigns.create("repeat_buyers", "spring", holdout=0.2, seed=7,
                            send_date="2026-05-01")
        segjupyter.demo.inject_campaign_effect(ws, "spring", share=0.3, amount=25, days=30)
    log_path = tmp_path_factory.mktemp("voila-campaigns") / "server.log"
    log = open(log_path, "w")
    port = serve.free_port()
    proc = serve.start_dashboard(path, port, stdout=log, stderr=log)
    try:
        serve.wait_ready(proc, port)
        yield port, log_path
    finally:
        serve.stop_dashboard(proc)
        log.close()


def test_predicted_value_and_campaign_sections_draw(served):
    port, log_path = served
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        errors = record_errors(page)
        page.goto(serve.dashboard_url(port, "segments_dashboard.ipynb"), wait_until="commit")
        wait_charts_drawn(page, minimum=4, timeout=120)

        page.locator(".sj-sections button", has_text="Predicted value").click()
        clv = wait_charts_drawn(page, selector=".sj-chart-clv", minimum=2, timeout=120)
        assert all(f["width"] > 0 and f["height"] > 0 for f in clv)
        assert page.locator(".sj-chart-clv.sj-chart-empty").count() == 0
        screenshot(page, "dashboard-predicted-value")

        page.locator(".sj-sections button", has_text="Campaigns").click()
        (lift,) = wait_charts_drawn(page, selector=".sj-chart-lift", timeout=120)
        assert lift["width"] > 0 and lift["height"] > 0
        assert page.locator(".sj-chart-lift.sj-chart-empty").count() == 0
        assert page.locator(".sj-campaign-picker select").input_value() == "spring"
        table = page.locator(".sj-section-table").last.inner_text()
        assert "spend" in table and "conversion" in table
        screenshot(page, "dashboard-campaigns")
        assert page.locator(".sj-dashboard-message .sj-error").count() == 0
        assert errors == []
        page.close()
    problems = [line for line in Path(log_path).read_text().splitlines()
                if re.search(r"Traceback|WorkspaceBusyError|IOException|\b5\d\d (GET|POST)",
                             line)]
    assert problems == []
