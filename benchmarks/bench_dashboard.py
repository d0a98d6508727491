"""Dashboard figures: time from navigation to every chart drawn, in headless chromium, for
the segments and RFM dashboards on demo S and M, served cold and with Voila's preheated
kernels, against a baseline served the same way (a one-chart bqplot notebook that imports
nothing of segjupyter: the floor of Voila + kernel + widgets).

    .venv/bin/python benchmarks/bench_dashboard.py [--sizes S,M] [--runs 3]
        [--workspace-m /tmp/segjupyter-bench-M]

Demo M is built into ``--workspace-m`` (shared with the other benchmarks, reused when
present) and copied (retail data only) into a private folder that gets the starter
segments, so the shared catalog is left alone. Each navigation opens a fresh page and leaves
it (its kernel shuts down), then waits for the server's kernels to go quiet (the preheat
pool refilled) before the next one.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import segjupyter  # noqa: E402
from segjupyter import serve  # noqa: E402
from segjupyter.starter import save_starter_segments  # noqa: E402
from segjupyter.workspace.storage import RETAIL_FILE  # noqa: E402

from browser import MARK_SELECTOR, chromium  # noqa: E402

BASELINE = "baseline_one_chart.ipynb"
BASELINE_CODE = """
import bqplot as bq, ipywidgets as W
sx, sy = bq.OrdinalScale(), bq.LinearScale(min=0)
fig = bq.Figure(marks=[bq.Bars(x=["a", "b", "c"], y=[3, 1, 2], scales={"x": sx, "y": sy})],
                axes=[bq.Axis(scale=sx), bq.Axis(scale=sy, orientation="vertical")],
                layout=W.Layout(height="320px"))
fig.add_class("sj-chart")
fig
"""
#: notebook -> how many figures it shows once drawn
TARGETS = {BASELINE: 1, "segments_dashboard.ipynb": 4, "rfm_dashboard.ipynb": 3}
_DRAWN_JS = """([marks, minimum]) => {
  const figs = Array.from(document.querySelectorAll('.sj-chart'));
  return figs.length >= minimum && figs.every(f => Array.from(f.querySelectorAll(marks))
    .some(m => { const r = m.getBoundingClientRect(); return r.width > 0 && r.height > 0; }));
}"""


def prepare(size: str, workspace_m: str, root: Path) -> str:
    """A workspace of demo ``size`` with the refreshed starter segments, private to us."""
    folder = root / f"ws-{size}"
    t = time.perf_counter()
    if size == "S":
        with segjupyter.demo.build(str(folder), size="S") as ws:
            save_starter_segments(ws)
    else:
        with segjupyter.demo.build(workspace_m, size=size) as src:
            tz, as_of = src.timezone, src.default_as_of
        folder.mkdir()
        shutil.copy2(Path(workspace_m) / RETAIL_FILE, folder / RETAIL_FILE)
        with segjupyter.open(str(folder)) as ws:
            ws.timezone, ws.default_as_of = tz, as_of
            save_starter_segments(ws)
    with segjupyter.open(str(folder), read_only=True) as ws:
        n = ws.tables["customers"]
    print(f"demo {size}: {n:,} customers, starter segments ready in "
          f"{time.perf_counter() - t:.1f} s", flush=True)
    return str(folder)


def kernels(proc) -> list[psutil.Process]:
    out = []
    for c in psutil.Process(proc.pid).children(recursive=True):
        try:
            if "ipykernel" in " ".join(c.cmdline()):
                out.append(c)
        except psutil.NoSuchProcess:
            pass
    return out


def settle(proc, pool: int, timeout: float = 120.0) -> None:
    """Wait until exactly ``pool`` kernels run (preheat pool refilled, or none) and they
    have used (almost) no CPU for a second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ks = kernels(proc)
        if len(ks) == pool:
            try:
                busy = sum(k.cpu_percent(interval=None) for k in ks)
                time.sleep(1.0)
                busy = sum(k.cpu_percent(interval=None) for k in ks)
            except psutil.NoSuchProcess:
                continue
            if busy < 5:
                return
        else:
            time.sleep(0.3)
    print(f"  (kernels did not settle: {len(kernels(proc))} running)", file=sys.stderr)


def navigate(browser, url: str, minimum: int) -> float:
    """Seconds from navigation to every chart drawn, in a fresh page (left afterwards)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        t = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(_DRAWN_JS, arg=[MARK_SELECTOR, minimum], polling="raf",
                               timeout=180_000)
        return time.perf_counter() - t
    finally:
        page.goto("about:blank")  # the unload beacon shuts the page's kernel down
        page.close()


def bench_server(browser, workspace: str, preheat: bool, runs: int) -> dict[str, list[float]]:
    port = serve.free_port()
    log = tempfile.TemporaryFile()
    baseline = Path(tempfile.mkdtemp(prefix="segjupyter-bench-")) / BASELINE
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(BASELINE_CODE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(baseline))
    proc = serve.start_dashboard(workspace, port, preheat=preheat, extra_notebooks=[baseline],
                                 stdout=log, stderr=log)
    try:
        serve.wait_ready(proc, port)
        pool = len(TARGETS) if preheat else 0  # Voila preheats one kernel per notebook
        times: dict[str, list[float]] = {name: [] for name in TARGETS}
        settle(proc, pool)
        for _ in range(runs):
            for name, minimum in TARGETS.items():
                times[name].append(navigate(browser, serve.dashboard_url(port, name),
                                            minimum))
                settle(proc, pool)
        return times
    finally:
        serve.stop_dashboard(proc)
        log.close()
        shutil.rmtree(baseline.parent, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="S,M")
    ap.add_argument("--runs", type=int, default=3, help="navigations per notebook and mode")
    ap.add_argument("--workspace-m", default="/tmp/segjupyter-bench-M",
                    help="demo M workspace shared with the other benchmarks (built if absent)")
    args = ap.parse_args(argv)
    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]

    with tempfile.TemporaryDirectory(prefix="segjupyter-bench-dashboard-") as tmp:
        workspaces = {size: prepare(size, args.workspace_m, Path(tmp)) for size in sizes}
        rows = []
        with chromium() as browser:
            for size in sizes:
                for preheat in (False, True):
                    mode = "preheat" if preheat else "cold"
                    times = bench_server(browser, workspaces[size], preheat, args.runs)
                    for name, ts in times.items():
                        rows.append((size, mode, name, ts))
                        print(f"  {size} {mode:<8}{name:<28} median {statistics.median(ts):5.2f} s"
                              f"  (runs: {', '.join(f'{t:.2f}' for t in ts)})", flush=True)
    print()
    print(f"navigation -> all charts drawn, median of {args.runs} (headless chromium, "
          f"{psutil.cpu_count()} cores)")
    print(f"{'demo':<6}{'mode':<9}{'baseline (1 chart)':>20}{'segments dashboard':>20}"
          f"{'RFM dashboard':>15}")
    for size in sizes:
        for mode in ("cold", "preheat"):
            med = {name: statistics.median(ts) for s, m, name, ts in rows
                   if s == size and m == mode}
            print(f"{size:<6}{mode:<9}{med[BASELINE]:>18.2f} s"
                  f"{med['segments_dashboard.ipynb']:>18.2f} s"
                  f"{med['rfm_dashboard.ipynb']:>13.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
