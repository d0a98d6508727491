"""``segjupyter dashboard``: serve the curated dashboards read-only with Voila.

Every page view is a kernel (NOTES.md), so the server is started with idle-kernel culling and
each kernel gets a DuckDB thread and memory limit and opens the workspace read-only
(``SEGJUPYTER_READ_ONLY=1``): the dashboards cannot change the catalog, and a refresh job may
write the same workspace while they read it. Only the dashboards are served (not the report
or refresh notebooks), sources stripped, on 127.0.0.1.

>>> proc = start_dashboard("./segjupyter-demo", port=8866)
>>> wait_ready(proc, 8866)
>>> print(dashboard_url(8866))
>>> stop_dashboard(proc)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import SegjupyterError, WorkspaceError
from .workspace.storage import RETAIL_FILE

TEMPLATE = "segjupyter"
DASHBOARDS = ("segments_dashboard.ipynb", "rfm_dashboard.ipynb")
CURATED = DASHBOARDS + ("segment_report.ipynb", "refresh_segments.ipynb")
_REPO = Path(__file__).resolve().parents[1]


def notebooks_dir() -> Path:
    """The curated notebooks: ``SEGJUPYTER_NOTEBOOKS``, the source checkout, or the copy
    installed with the wheel under ``<prefix>/share/segjupyter/notebooks``."""
    env = os.environ.get("SEGJUPYTER_NOTEBOOKS")
    candidates = [Path(env)] if env else []
    candidates += [_REPO / "notebooks", Path(sys.prefix) / "share" / "segjupyter" / "notebooks"]
    for c in candidates:
        if any((c / name).exists() for name in CURATED):
            return c
    raise FileNotFoundError("the segjupyter notebooks are not installed (looked in "
                            + ", ".join(map(str, candidates)) + ")")


def template_search_path(run_dir: Path | None = None) -> Path:
    """A ``JUPYTER_PATH`` entry holding ``voila/templates/segjupyter``.

    An installed wheel ships the template in ``share/jupyter/voila/templates`` (hatch
    shared-data); a source checkout is linked from ``run_dir`` (default: a new temporary
    folder) so edits show at once.
    """
    src = _REPO / "voila_templates" / TEMPLATE
    if (src / "index.html.j2").exists():
        root = Path(run_dir or tempfile.mkdtemp(prefix="segjupyter-dashboard-")) / "jupyter"
        (root / "voila" / "templates").mkdir(parents=True, exist_ok=True)
        link = root / "voila" / "templates" / TEMPLATE
        if not link.exists():
            link.symlink_to(src)
        return root
    return Path(sys.prefix) / "share" / "jupyter"


def kernel_env(workspace: str, threads: int = 1, memory_limit: str = "1GB",
               run_dir: Path | None = None) -> dict[str, str]:
    """Environment of the server, inherited by every dashboard kernel."""
    env = dict(os.environ)
    env.update({
        "SEGJUPYTER_WORKSPACE": str(Path(workspace).expanduser().resolve()),
        "SEGJUPYTER_READ_ONLY": "1",
        "SEGJUPYTER_THREADS": str(threads),
        "SEGJUPYTER_MEMORY_LIMIT": memory_limit,
        # numpy / pandas thread pools of each kernel, like DuckDB's
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    })
    path = template_search_path(run_dir)
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(path), os.environ.get("JUPYTER_PATH", "")) if p)
    return env


def served_notebooks(run_dir: Path, extra=()) -> Path:
    """A folder holding links to the dashboards (and the ``extra`` notebook paths) only:
    Voila serves (and lists) every notebook of its folder, and the report and refresh
    notebooks are not for viewers."""
    folder = Path(run_dir) / "dashboards"
    folder.mkdir(parents=True, exist_ok=True)
    src = notebooks_dir()
    for path in [src / name for name in DASHBOARDS] + [Path(p).resolve() for p in extra]:
        link = folder / path.name
        if not link.exists():
            link.symlink_to(path)
    return folder


#: seconds Voila waits for a cell's outputs after the kernel replied
IOPUB_TIMEOUT = 60


def voila_argv(port: int, notebooks: Path, cull_idle: int = 60, cull_interval: int = 10,
               preheat: bool = False) -> list[str]:
    """The Voila command line of the dashboard server."""
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or "voila"
    argv = [
        voila, str(notebooks), "--no-browser",
        f"--template={TEMPLATE}",
        "--Voila.ip=127.0.0.1", f"--Voila.port={port}", "--Voila.port_retries=0",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
        f"--MappingKernelManager.cull_interval={cull_interval}",
        "--MappingKernelManager.cull_connected=False",
        # nbclient's default of 4 s is too short on a busy 2-core server: a cell's widget
        # output that arrives later is dropped and the page stays empty
        f"--VoilaExecutor.iopub_timeout={IOPUB_TIMEOUT}",
    ]
    if preheat:
        argv.append("--preheat_kernel=True")
    return argv


def start_dashboard(workspace: str, port: int = 8866, *, cull_idle: int = 60,
                    cull_interval: int = 10, preheat: bool = False, threads: int = 1,
                    memory_limit: str = "1GB", extra_notebooks=(), stdout=None,
                    stderr=None) -> subprocess.Popen:
    """Start the Voila server in the background and return the process.

    ``extra_notebooks`` (paths) are served next to the dashboards. :func:`stop_dashboard`
    ends the server and its kernels; ``proc.run_dir`` is the temporary folder it uses.
    """
    ws_path = Path(workspace).expanduser()
    if not (ws_path / RETAIL_FILE).exists():
        raise WorkspaceError(f"no workspace at {ws_path} (build one with `segjupyter demo "
                             f"{workspace}` or pass --build-demo)")
    run_dir = Path(tempfile.mkdtemp(prefix="segjupyter-dashboard-"))
    argv = voila_argv(port, served_notebooks(run_dir, extra_notebooks), cull_idle,
                      cull_interval, preheat)
    env = kernel_env(workspace, threads, memory_limit, run_dir)
    proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr, cwd=run_dir,
                            start_new_session=True)
    proc.run_dir = run_dir
    return proc


def wait_ready(proc: subprocess.Popen, port: int, timeout: float = 60.0) -> None:
    """Block until the server answers on ``port``; raise if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SegjupyterError(f"the dashboard server exited with code {proc.returncode} "
                                  f"(is port {port} already in use?)")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            time.sleep(0.2)
    raise SegjupyterError(f"the dashboard server did not answer on port {port} within "
                          f"{timeout:.0f} s")


def stop_dashboard(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Stop the server and its kernels, and remove its temporary folder."""
    import psutil
    try:
        kernels = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        kernels = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # Voila shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    for k in kernels:  # kernels run in their own sessions: make sure none outlives us
        try:
            k.kill()
        except psutil.NoSuchProcess:
            pass
    run_dir = getattr(proc, "run_dir", None)
    if run_dir is not None:
        shutil.rmtree(run_dir, ignore_errors=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dashboard_url(port: int, notebook: str = DASHBOARDS[0]) -> str:
    """Address of one dashboard of a server started on ``port``."""
    return f"http://127.0.0.1:{port}/voila/render/{notebook}"


def serve(workspace: str, port: int = 8866, *, build_demo: bool = False, preheat: bool = False,
          cull_idle: int = 60, out=sys.stdout) -> int:
    """Prepare ``workspace`` and serve its dashboards until Ctrl-C (``segjupyter dashboard``).

    With ``build_demo`` a missing workspace becomes the demo (size S) and its saved segments
    are refreshed; a workspace with no saved segments gets the starter set
    (:func:`segjupyter.starter.save_starter_segments`).
    """
    from .starter import prepare_dashboard_workspace
    prepare_dashboard_workspace(workspace, build_demo=build_demo, out=out)
    proc = start_dashboard(workspace, port, cull_idle=cull_idle, preheat=preheat)
    try:
        wait_ready(proc, port)
        print("segjupyter dashboards (read-only) at:", file=out)
        for name in DASHBOARDS:
            print(f"  {dashboard_url(port, name)}", file=out)
        print("press Ctrl-C to stop", file=out, flush=True)
        while proc.poll() is None:
            time.sleep(0.5)
        raise SegjupyterError(f"the dashboard server stopped (exit code {proc.returncode})")
    finally:
        stop_dashboard(proc)


# -- command line: segjupyter dashboard ------------------------------------------------------
def add_command(sub) -> None:
    """Declare ``segjupyter dashboard`` on the subparsers of the command line."""
    p = sub.add_parser(
        "dashboard", help="serve the read-only dashboards of a workspace with Voila",
        description="Serve the segments and RFM dashboards of WORKSPACE with Voila on "
                    "127.0.0.1, read-only (sources stripped, no action that changes the "
                    "catalog), idle kernels culled, each kernel limited to one DuckDB thread "
                    "and 1 GB. A workspace with no saved segment gets the starter set. Runs "
                    "until Ctrl-C.")
    p.add_argument("workspace", help="workspace folder")
    p.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default: 8866)")
    p.add_argument("--build-demo", action="store_true",
                   help="build the demo workspace (size S) there if it is missing, and "
                        "refresh its segments before serving")
    p.add_argument("--preheat", action="store_true",
                   help="keep a kernel running ahead of each page view (faster first paint, "
                        "one idle kernel per dashboard)")
    p.add_argument("--cull-idle", type=int, default=60, metavar="SECONDS",
                   help="shut down kernels idle (page closed) this long (default: 60)")
    p.set_defaults(func=_run_command)


def _run_command(args) -> int:
    return serve(args.workspace, args.port, build_demo=args.build_demo, preheat=args.preheat,
                 cull_idle=args.cull_idle)
