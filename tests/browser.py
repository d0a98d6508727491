"""Shared Playwright helpers for the browser tests (Debian chromium, headless).

>>> with chromium() as browser:
...     page = browser.new_page()
...     requests = record_requests(page)
...     page.goto(url)
...     figures = wait_charts_drawn(page)
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

# What a drawn bqplot mark leaves in the DOM: bars, lines, scatter dots / bubbles, pie
# slices, grid heat map cells. A figure counts as drawn when one of them has a non-zero box.
MARK_SELECTOR = "rect.bar, path.line, path.dot, path.slice, rect.heatmapcell"

_FIGURES_JS = """([selector, marks]) => Array.from(document.querySelectorAll(selector)).map(fig => {
  const drawn = Array.from(fig.querySelectorAll(marks)).map(el => {
    const r = el.getBoundingClientRect();
    return {w: r.width, h: r.height, d: (el.getAttribute('d') || '') + '|' +
            (el.getAttribute('height') || '') + '|' + (el.getAttribute('width') || '') + '|' +
            (el.getAttribute('transform') || '') + '|' + (el.style.fill || el.getAttribute('fill') || '')};
  });
  const title = fig.querySelector('.mainheading');
  const box = fig.getBoundingClientRect();
  return {classes: fig.className.baseVal !== undefined ? fig.className.baseVal : fig.className,
          title: title ? title.textContent : '',
          width: box.width, height: box.height,
          marks: drawn.filter(m => m.w > 0 && m.h > 0).length,
          total: drawn.length,
          signature: drawn.map(m => m.d).join(';')};
})"""


@contextlib.contextmanager
def chromium():
    """A headless Debian chromium driven by Playwright, closed on exit."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def record_requests(page) -> list[str]:
    """Every URL the page requests, appended as it goes."""
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    return urls


def record_errors(page) -> list[str]:
    """Console errors, uncaught page errors and failed or 4xx/5xx requests of the page."""
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"requestfailed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"http {r.status}: {r.url}"))
    return errors


def external(urls: list[str], host: str = "127.0.0.1") -> list[str]:
    """The URLs that leave ``host`` (data:, blob: and about: stay in the page)."""
    local = (f"http://{host}:", f"ws://{host}:", "data:", "blob:", "about:", "file://")
    return [u for u in urls if not u.startswith(local)]


def figures(page, selector: str = ".sj-chart") -> list[dict]:
    """Each figure matching ``selector``: CSS classes, title, size, how many marks have a
    non-zero box, and a signature of the marks' geometry (changes when the data does)."""
    return page.evaluate(_FIGURES_JS, [selector, MARK_SELECTOR])


def wait_charts_drawn(page, selector: str = ".sj-chart", minimum: int = 1,
                      timeout: float = 90.0) -> list[dict]:
    """Wait until at least ``minimum`` figures exist and every one has drawn marks."""
    deadline = time.monotonic() + timeout
    figs: list[dict] = []
    while time.monotonic() < deadline:
        figs = figures(page, selector)
        if len(figs) >= minimum and all(f["marks"] > 0 for f in figs):
            return figs
        page.wait_for_timeout(100)
    undrawn = [(f["classes"], f["title"], f["total"]) for f in figs if f["marks"] == 0]
    raise AssertionError(f"charts not drawn within {timeout:.0f} s: {len(figs)} figures, "
                         f"undrawn: {undrawn}; the page shows: {page_text(page)!r}")


def page_text(page, limit: int = 1500) -> str:
    """The page's visible text, shortened: what a failed wait saw (an error, a spinner)."""
    try:
        text = " ".join(page.inner_text("body", timeout=5000).split())
    except Exception as e:  # the page itself is gone or hung
        return f"<no text: {e}>"
    return text if len(text) <= limit else text[:limit] + " …"


def wait_changed(page, before: list[dict], selector: str = ".sj-chart",
                 timeout: float = 30.0) -> list[dict]:
    """Wait until the marks' signatures differ from ``before`` and every figure is drawn;
    return the new figures."""
    old = [f["signature"] for f in before]
    deadline = time.monotonic() + timeout
    figs: list[dict] = []
    while time.monotonic() < deadline:
        figs = figures(page, selector)
        if [f["signature"] for f in figs] != old and all(f["marks"] > 0 for f in figs):
            return figs
        page.wait_for_timeout(100)
    raise AssertionError(f"charts did not change within {timeout:.0f} s")


# Voila's lab shell scrolls inside a window-high panel: unfold it for a full-page picture
# (Voila pages only: their body carries data-voila; JupyterLab pages are left as they are)
_UNFOLD_CSS = """
body[data-voila] { display: block !important; overflow: visible !important; height: auto !important; }
body[data-voila] #main, body[data-voila] #jp-main-content-panel, body[data-voila] #rendered_cells {
  position: static !important; height: auto !important; overflow: visible !important;
  contain: none !important; }
"""


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot (the whole page, Voila's scrolling panel unfolded) under
    ``artifacts/screenshots/`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    style = page.add_style_tag(content=_UNFOLD_CSS) if full_page else None
    try:
        page.screenshot(path=str(path), full_page=full_page)
    finally:
        if style is not None:
            style.evaluate("el => el.remove()")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(root: Path, tmp: Path):
    """A JupyterLab server on 127.0.0.1 serving ``root``, its log in ``tmp/lab.log``;
    yields ``(base url, token)`` once it answers, stops it on exit."""
    port, token = free_port(), secrets.token_hex(16)
    log = open(tmp / "lab.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter-lab"), "--allow-root", "--no-browser",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.workspaces_dir={tmp / 'lab-workspaces'}"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("jupyter lab did not start:\n" +
                                       (tmp / "lab.log").read_text()[-3000:])
                time.sleep(0.3)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
