"""Background refresh in a real JupyterLab, driven by headless chromium (issue 13).

A notebook shows the segment list of a private demo copy. The test clicks "refresh in
background" on a segment last refreshed as of an old date, then runs a second cell that keeps
the kernel busy for half a minute. While that cell is still executing (its output keeps
growing), the row shows ``in queue`` / ``running``, then ``done`` and the new count
(the count of the rule as of today, computed here). Screenshots go to
``artifacts/screenshots/lab-background-*.png``.
"""

from __future__ import annotations

import json
import time

import pytest

import segjupyter

from browser import chromium, jupyter_lab, screenshot

pytestmark = pytest.mark.browser

NAME = "bg_recent"
RULE = "orders(last 30 days) > 0"
BUSY_TICKS = 120  # x 0.25 s: the second cell runs for 30 s


def _cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": source}


def _notebook(ws_path: str) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            _cell("import segjupyter\nfrom segjupyter.widgets.segment_list import SegmentList\n"
                  f"ws = segjupyter.open({ws_path!r})\nSegmentList(ws)"),
            _cell("import time\n"
                  f"for i in range(1, {BUSY_TICKS + 1}):\n"
                  "    time.sleep(0.25)\n"
                  "    print(f'tick {i}', flush=True)"),
        ]}


@pytest.fixture(scope="module")
def lab(demo_copy, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab-bg")
    ws_path = demo_copy("lab-bg-ws")
    ws = segjupyter.open(ws_path)
    ws.segments.save(RULE, name=NAME)
    ws.segments.refresh(NAME, as_of="2026-01-31")
    ws.close()
    root = tmp / "root"
    root.mkdir()
    (root / "background.ipynb").write_text(json.dumps(_notebook(ws_path)), "utf-8")
    with jupyter_lab(root, tmp) as (base, token):
        yield base, token, ws_path


# every text the background cell shows, in order (a MutationObserver sees each change)
_OBSERVE = """() => {
  window.__sjSeen = [];
  const record = () => {
    const el = document.querySelector('.sj-segment-row .sj-bg-state');
    const t = el ? el.textContent : '';
    if (window.__sjSeen[window.__sjSeen.length - 1] !== t) window.__sjSeen.push(t);
  };
  new MutationObserver(record).observe(document.body,
      {subtree: true, childList: true, characterData: true});
  record();
}"""


def _run_cell(page, cell) -> None:
    """Run one cell (Shift+Enter in its editor), again if the first key press came before
    the notebook was ready to take it."""
    for _ in range(5):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if cell.locator(".jp-InputPrompt").inner_text().strip() != "[ ]:":
                return
            page.wait_for_timeout(200)
    raise AssertionError("the cell never started")


def _ticks(page) -> int:
    text = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea").inner_text()
    found = [int(w) for w in text.replace("tick", " ").split() if w.isdigit()]
    return max(found, default=0)


def test_refresh_in_background_updates_the_list_while_another_cell_runs(lab):
    from playwright.sync_api import expect

    base, token, ws_path = lab
    ws = segjupyter.open(ws_path)
    try:
        old = ws.segments.info(NAME).customers
        new = ws.segments.get(NAME).count()
    finally:
        ws.close()
    assert new != old
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.set_default_timeout(60_000)
        page.goto(f"{base}/lab/tree/background.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook")
        try:
            page.locator('.jp-toast-button:has-text("No")').click(timeout=8_000)
        except Exception:
            pass
        page.locator(".jp-Notebook-ExecutionIndicator, .jp-StatusBar").first.wait_for()
        expect(page.locator("text=Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
        cells = page.locator(".jp-Notebook .jp-Cell")
        _run_cell(page, cells.nth(0))
        row = page.locator(f'.sj-segment-row:has(.sj-segment-name:text-is("{NAME}"))')
        expect(row.locator(".sj-customers")).to_have_text(f"{old:,}", timeout=120_000)
        page.evaluate(_OBSERVE)

        row.locator(".sj-action-refresh_background").click()
        expect(row.locator(".sj-bg-state")).to_have_text("in queue", timeout=30_000)
        # now keep the kernel busy in another cell
        _run_cell(page, cells.nth(1))
        expect(cells.nth(1).locator(".jp-OutputArea")).to_contain_text("tick 1",
                                                                        timeout=30_000)
        screenshot(page, "lab-background-1-queued")

        expect(row.locator(".sj-bg-state")).to_have_text("done", timeout=90_000)
        expect(row.locator(".sj-customers")).to_have_text(f"{new:,}", timeout=30_000)
        ticks_at_done = _ticks(page)
        screenshot(page, "lab-background-2-done")
        seen = page.evaluate("window.__sjSeen")
        assert "in queue" in seen and seen[-1] == "done", seen
        assert seen.index("done") > seen.index("in queue")
        # the other cell was running all along, and still is
        assert 0 < ticks_at_done < BUSY_TICKS
        prompt = cells.nth(1).locator(".jp-InputPrompt").inner_text()
        assert "*" in prompt, prompt
        page.wait_for_timeout(1500)
        assert _ticks(page) > ticks_at_done
        expect(page.locator(".sj-list-message")).to_contain_text("done", timeout=10_000)

    ws = segjupyter.open(ws_path)
    try:
        assert ws.segments.info(NAME).customers == new
        assert ws.segments.list().set_index("name").loc[NAME, "refresh_state"] == "done"
    finally:
        ws.close()
