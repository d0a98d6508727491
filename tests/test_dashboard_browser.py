"""The Voila dashboards of ``segjupyter dashboard`` in headless chromium.

One real server per module (:func:`segjupyter.serve.start_dashboard`, the code path of the
command) on a private copy of the demo workspace with the starter segments. Every chart must
draw marks of a non-zero size and refill when a picker changes; no control may edit, refresh
or delete; no notebook source reaches the page; no request leaves 127.0.0.1. Four viewers at
once read while a refresh job writes the same workspace; closed pages' kernels must be gone
within the cull timeout. Screenshots go to ``artifacts/screenshots/dashboard-*.png``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

import segjupyter
from segjupyter import serve
from segjupyter.starter import save_starter_segments

from browser import (chromium, external, record_errors, record_requests, screenshot,
                     wait_changed, wait_charts_drawn)

pytestmark = pytest.mark.browser

CULL_IDLE, CULL_INTERVAL = 20, 5
# actions of the segment list (sj-action-<name>) that change the catalog
WRITE_ACTIONS = ("edit", "refresh", "refresh_background", "toggle", "duplicate", "snapshot",
                 "delete")
# lines of the server log that mean trouble (kernel tracebacks are printed there too)
LOG_PROBLEMS = re.compile(r"Traceback|WorkspaceBusyError|Could not set lock|Conflicting lock|"
                          r"IOException|\bERROR\b|\b5\d\d (GET|POST)")
# text of the notebooks' code cells, which strip_sources must keep out of the page
# (button text, chart kind) of the segment dashboard's sections
SECTIONS = (("Evolution", "evolution"), ("Purchase moment", "moment"),
            ("Top products", "products"), ("Lifecycle & value", "lifecycle"),
            ("Reach", "reach"), ("Demographics", "demographics-age"), ("Overlap", "overlap"),
            ("Overview", "kpi"))
SOURCE_SNIPPETS = ("notebook_workspace(", "SegmentDashboard(ws", "RFMDashboard(ws",
                   "pick_segment(")


@pytest.fixture(scope="module")
def dash_ws(demo_copy) -> str:
    """A private copy of the demo workspace holding the refreshed starter segments."""
    path = demo_copy("dashboard")
    with segjupyter.open(path) as ws:
        result = save_starter_segments(ws, history_months=3)
    assert result["error"].isna().all(), result
    return str(path)


@pytest.fixture(scope="module")
def server(dash_ws, tmp_path_factory):
    """The dashboard server: (process, port, log path)."""
    log_path = tmp_path_factory.mktemp("voila") / "server.log"
    log = open(log_path, "w")
    port = serve.free_port()
    proc = serve.start_dashboard(dash_ws, port, cull_idle=CULL_IDLE,
                                 cull_interval=CULL_INTERVAL, stdout=log, stderr=log)
    try:
        serve.wait_ready(proc, port)
        yield proc, port, log_path
    finally:
        serve.stop_dashboard(proc)
        log.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def kernels(proc) -> list[psutil.Process]:
    """The kernel processes the server started."""
    out = []
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            if "ipykernel" in " ".join(child.cmdline()):
                out.append(child)
        except psutil.NoSuchProcess:
            pass
    return out


def open_page(browser, url: str, context=None):
    """A page on ``url`` with its requests and errors recorded (not yet waited for)."""
    page = context.new_page() if context is not None else \
        browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    requests, errors = record_requests(page), record_errors(page)
    page.goto(url, wait_until="commit")
    return page, requests, errors


def leave(page, proc=None, timeout: float = 15.0) -> None:
    """Navigate away, as a viewer who closes the tab: Voila's unload beacon shuts the
    kernel down (the template gives the page the ``_xsrf`` cookie it needs). With the server
    ``proc``, wait until it runs no kernel any more."""
    page.goto("about:blank")
    page.close()
    if proc is not None:
        deadline = time.monotonic() + timeout
        while kernels(proc) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert kernels(proc) == [], "the kernel of the page left is still running"


def assert_read_only_page(page) -> None:
    html = page.content()
    for snippet in SOURCE_SNIPPETS:
        assert snippet not in html, f"notebook source {snippet!r} is in the page"
    assert page.locator(".jp-InputArea").count() == 0
    for action in WRITE_ACTIONS:
        assert page.locator(f".sj-action-{action}").count() == 0, action
    labels = [t.strip().lower() for t in page.locator("button").all_inner_texts()]
    assert not [t for t in labels if re.search(r"\b(save|delete|edit|refresh now)\b", t)], labels


def test_segments_dashboard(server, browser):
    proc, port, _log = server
    page, requests, errors = open_page(browser, serve.dashboard_url(port,
                                                                    "segments_dashboard.ipynb"))
    overview = wait_charts_drawn(page, minimum=4)
    assert all(f["width"] > 0 and f["height"] > 0 for f in overview)
    # the segment list shows the saved segments, with only the actions that change nothing
    assert page.locator(".sj-segment-row").count() == 8
    assert page.locator(".sj-action-details").count() == 8
    assert page.locator(".sj-sparkline").count() == 8
    assert_read_only_page(page)
    screenshot(page, "dashboard-segments")

    # every section draws its charts (a section's figures are built when it is first shown)
    drawn = {}
    for label, kind in SECTIONS:
        page.locator(".sj-sections button", has_text=label).click()
        wait_charts_drawn(page, selector=f".sj-chart-{kind}")
        drawn[label] = wait_charts_drawn(page)
        if label == "Purchase moment":
            screenshot(page, "dashboard-segments-moment")
    assert {label: len(figs) >= 1 for label, figs in drawn.items()} == \
        {label: True for label, _ in SECTIONS}

    # the period picker refills the charts in place
    page.locator(".sj-sections button", has_text="Evolution").click()
    before = wait_charts_drawn(page, selector=".sj-chart-evolution")
    period = page.locator(".sj-period-picker input")
    period.fill("2025")
    period.press("Enter")
    wait_changed(page, before, selector=".sj-chart-evolution")
    # the segment picker too: another segment, other data
    page.locator(".sj-sections button", has_text="Overview").click()
    before = wait_charts_drawn(page, minimum=4)
    page.locator(".sj-segment-picker select").select_option(label="at_risk")
    wait_changed(page, before)
    assert "at_risk" in page.locator(".sj-chart-kpi").first.inner_text()

    assert external(requests) == []
    assert errors == []
    leave(page, proc)


def test_rfm_dashboard(server, browser):
    proc, port, _log = server
    page, requests, errors = open_page(browser, serve.dashboard_url(port, "rfm_dashboard.ipynb"))
    before = wait_charts_drawn(page, minimum=3)
    kinds = sorted(f["classes"].split()[-1] for f in before)
    assert kinds == ["sj-chart-rfm-bubbles", "sj-chart-rfm-pie", "sj-chart-rfm-pie"]
    assert_read_only_page(page)
    screenshot(page, "dashboard-rfm")

    page.locator(".sj-rfm-segment select").select_option(label="loyal_regulars")
    restricted = wait_changed(page, before)
    page.locator(".sj-rfm-as-of input").fill("2025-12-31")
    wait_changed(page, restricted)

    assert external(requests) == []
    assert errors == []
    leave(page, proc)


def test_server_serves_no_sources_and_only_dashboards(server):
    import json
    import urllib.error
    import urllib.request

    _proc, port, _log = server
    base = f"http://127.0.0.1:{port}"

    def get(path):
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return json.loads(r.read())

    listing = get("/voila/api/contents")  # what the home page lists
    assert sorted(item["name"] for item in listing["content"]) == sorted(serve.DASHBOARDS)
    assert get("/voila/api/contents/segments_dashboard.ipynb")["content"] is None
    for path in ("/voila/files/segments_dashboard.ipynb", "/api/contents/segments_dashboard.ipynb",
                 "/voila/render/refresh_segments.ipynb", "/voila/render/segment_report.ipynb"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + path, timeout=10)
        assert e.value.code in (403, 404), path


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import segjupyter
    ws = segjupyter.open(sys.argv[1])
    stop, ready, runs = Path(sys.argv[2]), Path(sys.argv[3]), 0
    while not stop.exists():
        result = ws.segments.refresh_all(progress=False)
        assert result["error"].isna().all(), result
        runs += 1
        ready.touch()  # warm: the pages open now
    print(runs - 1)  # the refreshes completed while the pages loaded
""")


def test_four_viewers_while_a_refresh_job_writes(server, browser, dash_ws, tmp_path):
    proc, port, log_path = server
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, dash_ws, str(stop), str(ready)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not ready.exists() and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.exists(), f"the refresh job did not complete a first refresh: {writer.poll()}"
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(4)]
    try:
        viewers = [open_page(browser, serve.dashboard_url(port, nb), context=ctx)
                   for nb, ctx in zip(serve.DASHBOARDS * 2, contexts)]
        for page, _requests, _errors in viewers:
            figs = wait_charts_drawn(page, minimum=3, timeout=120)
            assert all(f["width"] > 0 and f["height"] > 0 for f in figs)
            assert page.locator(".sj-dashboard-message .sj-error, .sj-rfm-message .sj-error"
                                ).count() == 0
        assert len(kernels(proc)) == 4  # one per viewer
        for _page, requests, errors in viewers:
            assert external(requests) == []
            assert errors == []
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    # it wrote all along while the four pages loaded (dozens of refreshes on an idle 2-core
    # machine; a few with two CPU hogs running besides)
    assert int(out.strip()) >= 3, f"the refresh job completed {out.strip()} refreshes"
    assert "Traceback" not in err

    # a viewer that vanishes without unloading (a crashed tab; here a bare HTTP GET, which
    # makes Voila run the notebook in a kernel no page ever connects to): the culler's job
    import urllib.request
    with urllib.request.urlopen(serve.dashboard_url(port, "rfm_dashboard.ipynb"),
                                timeout=120) as r:
        assert r.status == 200
        assert b"application/vnd.jupyter.widget-view+json" in r.read()
    # the four viewers close their pages: Voila's unload beacon (which needs the _xsrf
    # cookie our template sets) shuts their kernels down at once
    started = time.monotonic()
    for page, _r, _e in viewers[:2]:
        leave(page)
    for page, _r, _e in viewers[2:]:
        page.close(run_before_unload=True)
    for ctx in contexts:
        ctx.close()
    while len(kernels(proc)) > 1 and time.monotonic() - started < 15:
        time.sleep(0.2)
    assert len(kernels(proc)) == 1, "kernels of closed pages are still running"
    deadline = started + CULL_IDLE + 2 * CULL_INTERVAL + 10
    while kernels(proc) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert kernels(proc) == [], "a kernel outlived the cull timeout"

    problems = [line for line in Path(log_path).read_text().splitlines()
                if LOG_PROBLEMS.search(line)]
    assert problems == []


def test_dashboard_command_builds_the_demo_serves_and_stops_on_ctrl_c(tmp_path):
    import signal
    import urllib.request

    folder, port = tmp_path / "demo", serve.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "segjupyter.cli", "dashboard", str(folder),
                             "--build-demo", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("press Ctrl-C"):
                break
        text = "".join(lines)
        assert "building the demo workspace" in text and "refreshed 8 of 8 segments" in text
        url = serve.dashboard_url(port, "rfm_dashboard.ipynb")
        assert f"  {url}\n" in text
        with urllib.request.urlopen(url, timeout=120) as r:
            assert r.status == 200
        server = psutil.Process(proc.pid).children()[0]  # voila
        running = kernels(server)
        assert running
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 130
        for p in [server, *running]:  # the server and its kernels are gone
            assert not p.is_running() or p.status() == psutil.STATUS_ZOMBIE
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with segjupyter.open(folder, read_only=True) as ws:
        assert len(ws.segments) == 8
