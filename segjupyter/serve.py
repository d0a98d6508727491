"""``segjupyter dashboard``: serve the curated notebooks read-only with Voila.

Every page view is a kernel (NOTES.md), so the server is started with idle-kernel culling and
each kernel gets a DuckDB thread and memory limit and opens the workspace read-only
(``SEGJUPYTER_READ_ONLY=1``): the dashboards cannot change the catalog, and a refresh job may
write the same workspace while they read it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = "segjupyter"
DASHBOARDS = ("segments_dashboard.ipynb", "rfm_dashboard.ipynb")


def notebooks_dir() -> Path:
    """The curated notebooks: ``SEGJUPYTER_NOTEBOOKS``, the source checkout, or the copy
    installed with the wheel under ``<prefix>/share/segjupyter/notebooks``."""
    env = os.environ.get("SEGJUPYTER_NOTEBOOKS")
    candidates = [Path(env)] if env else []
    candidates += [Path(__file__).resolve().parents[1] / "notebooks",
                   Path(sys.prefix) / "share" / "segjupyter" / "notebooks"]
    for c in candidates:
        if (c / "segments_dashboard.ipynb").exists():
            return c
    raise FileNotFoundError("the segjupyter notebooks are not installed (looked in "
                            + ", ".join(map(str, candidates)) + ")")


def template_search_path() -> Path:
    """A ``JUPYTER_PATH`` entry holding ``voila/templates/segjupyter``.

    An installed wheel ships the template in ``share/jupyter/voila/templates`` (hatch
    shared-data); a source checkout is linked from a temporary folder so edits show at once.
    """
    src = Path(__file__).resolve().parents[1] / "voila_templates" / TEMPLATE
    if (src / "index.html.j2").exists():
        root = Path(tempfile.mkdtemp(prefix="segjupyter-jupyter-path-"))
        (root / "voila" / "templates").mkdir(parents=True)
        (root / "voila" / "templates" / TEMPLATE).symlink_to(src)
        return root
    return Path(sys.prefix) / "share" / "jupyter"


def kernel_env(workspace: str, threads: int = 1, memory_limit: str = "1GB") -> dict[str, str]:
    """Environment every dashboard kernel inherits."""
    env = dict(os.environ)
    env.update({
        "SEGJUPYTER_WORKSPACE": str(Path(workspace).expanduser().resolve()),
        "SEGJUPYTER_READ_ONLY": "1",
        "SEGJUPYTER_THREADS": str(threads),
        "SEGJUPYTER_MEMORY_LIMIT": memory_limit,
    })
    path = template_search_path()
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(path), os.environ.get("JUPYTER_PATH", "")) if p)
    return env


def voila_argv(port: int, notebooks: Path, cull_idle: int = 60, cull_interval: int = 10,
               preheat: bool = False) -> list[str]:
    """The Voila command line of the dashboard server."""
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or "voila"
    argv = [
        voila, str(notebooks), "--no-browser",
        f"--template={TEMPLATE}",
        "--Voila.ip=127.0.0.1", f"--Voila.port={port}",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
        f"--MappingKernelManager.cull_interval={cull_interval}",
        "--MappingKernelManager.cull_connected=False",
        "--VoilaConfiguration.file_allowlist=[]",
    ]
    if preheat:
        argv.append("--preheat_kernel=True")
    return argv


def start_dashboard(workspace: str, port: int = 8866, *, cull_idle: int = 60,
                    cull_interval: int = 10, preheat: bool = False,
                    stdout=None, stderr=None) -> subprocess.Popen:
    """Start the Voila server in the background and return the process."""
    ws_path = Path(workspace).expanduser()
    if not (ws_path / "retail.duckdb").exists():
        raise FileNotFoundError(f"no workspace at {ws_path} (build one with `segjupyter demo`)")
    argv = voila_argv(port, notebooks_dir(), cull_idle, cull_interval, preheat)
    return subprocess.Popen(argv, env=kernel_env(workspace), stdout=stdout, stderr=stderr,
                            start_new_session=True)


def dashboard_url(port: int, notebook: str = "segments_dashboard.ipynb") -> str:
    return f"http://127.0.0.1:{port}/voila/render/{notebook}"
