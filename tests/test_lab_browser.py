"""The rule builder in a real JupyterLab, driven by headless chromium.

Starts ``jupyter lab`` on a free port with a copy of ``notebooks/rule_builder.ipynb``
pointing at a private copy of the demo workspace, runs the notebook, builds a two-condition
segment by clicking, calculates it (same count as ``seg.count()`` here), saves it, finds it
in the segment list and opens its dashboard, whose bqplot charts must draw marks with a
non-zero size and refill in place when the period changes. Screenshots go to
``artifacts/screenshots/lab-*.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import segjupyter
from segjupyter.rules.dsl import to_text

from browser import chromium, jupyter_lab, screenshot, wait_changed, wait_charts_drawn

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "rule_builder.ipynb"
RULE = 'city = "Madrid" and spend(last 6 months) >= 200'
NAME = "madrid spenders"


@pytest.fixture(scope="module")
def lab(demo_copy, tmp_path_factory):
    """A running JupyterLab serving the notebook; yields (base url, token, workspace path)."""
    tmp = tmp_path_factory.mktemp("lab")
    ws_path = demo_copy("lab-ws")
    root = tmp / "root"
    root.mkdir()
    nb = json.loads(NOTEBOOK.read_text("utf-8"))
    (params,) = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    params["source"] = f"workspace = {str(ws_path)!r}"
    (root / NOTEBOOK.name).write_text(json.dumps(nb), "utf-8")
    with jupyter_lab(root, tmp) as (base, token):
        yield base, token, ws_path


def _expected_count(ws_path) -> tuple[str, int]:
    ws = segjupyter.open(ws_path)
    try:
        seg = ws.segment(RULE)
        return to_text(seg.tree), seg.count()
    finally:
        ws.close()


def _select(row, picker: str, label: str) -> None:
    row.locator(f"{picker} select").first.select_option(label=label)


def test_build_calculate_save_list_and_dashboard(lab):
    from playwright.sync_api import expect

    base, token, ws_path = lab
    text, count = _expected_count(ws_path)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.set_default_timeout(60_000)
        page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}")
        page.wait_for_selector(".jp-Notebook")
        try:  # JupyterLab asks once whether to fetch news
            page.locator('.jp-toast-button:has-text("No")').click(timeout=8_000)
        except Exception:
            pass
        page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
        page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()

        app = page.locator(".sj-app").first
        builder = app.locator(".sj-rule-builder").first
        builder.wait_for(timeout=120_000)
        screenshot(page, "lab-1-notebook-run")

        # condition 1: city = "Madrid"
        rows = builder.locator(".sj-condition")
        builder.locator(".sj-add-condition").first.click()
        r0 = rows.nth(0)
        _select(r0, ".sj-entity-picker", "Customer")
        _select(r0, ".sj-field-picker", "city")
        _select(r0, ".sj-operator", "=")
        r0.locator(".sj-value-text input").fill("Madrid")
        r0.locator(".sj-value-text input").press("Enter")
        # condition 2: spend(last 6 months) >= 200
        builder.locator(".sj-add-condition").first.click()
        r1 = rows.nth(1)
        _select(r1, ".sj-entity-picker", "Purchase behaviour")
        _select(r1, ".sj-field-picker", "spend — amount spent")
        _select(r1, ".sj-window-kind", "in the last")
        r1.locator(".sj-window-n input").fill("6")
        r1.locator(".sj-window-n input").press("Enter")
        _select(r1, ".sj-window-unit", "months")
        _select(r1, ".sj-operator", ">=")
        r1.locator(".sj-value-number input").fill("200")
        r1.locator(".sj-value-number input").press("Enter")
        expect(builder.locator(".sj-preview textarea")).to_have_value(text, timeout=30_000)

        builder.locator(".sj-calculate").click()
        shown = builder.locator(".sj-count .sj-count-value")
        expect(shown).to_have_text(f"{count:,}", timeout=30_000)
        expect(builder.locator(".sj-funnel tbody tr")).to_have_count(2)
        screenshot(page, "lab-2-calculated")

        builder.locator(".sj-save-name input").fill(NAME)
        builder.locator(".sj-save-name input").press("Enter")
        builder.locator(".sj-save").click()
        expect(builder.locator(".sj-save-message .sj-saved")).to_contain_text(NAME,
                                                                             timeout=30_000)

        app.locator('.sj-nav button:has-text("Segments")').click()
        row = app.locator(f'.sj-segment-row:has(.sj-segment-name:text-is("{NAME}"))')
        expect(row.locator(".sj-customers")).to_have_text(f"{count:,}", timeout=30_000)
        screenshot(page, "lab-3-segment-list")

        row.locator(".sj-action-dashboard").click()
        dash = ".sj-dashboard .sj-chart"
        figs = wait_charts_drawn(page, dash, minimum=4, timeout=60)
        for f in figs:
            assert f["width"] > 100 and f["height"] > 100, f
            assert f["marks"] == f["total"] > 0, f  # every bar drawn with a non-zero box
        screenshot(page, "lab-4-dashboard")

        # a new period refills the same figures in place
        period = app.locator(".sj-period-picker input")
        period.fill("2025")
        period.press("Enter")
        after = wait_changed(page, figs, dash)
        assert len(after) == len(figs)
        app.locator('.sj-sections button:text-is("Purchase moment")').click()
        (heatmap,) = wait_charts_drawn(page, ".sj-dashboard .sj-chart-moment", timeout=60)
        assert heatmap["marks"] == 7 * 24  # one drawn cell per weekday and hour
        screenshot(page, "lab-5-dashboard-moment")

    ws = segjupyter.open(ws_path)
    try:
        info = ws.segments.info(NAME)
        assert info.customers == count and info.tree == ws.segment(RULE).tree
    finally:
        ws.close()
