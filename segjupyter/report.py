"""Reports and jobs: run a curated notebook with papermill, render it to standalone HTML
(``segjupyter report``, ``segjupyter refresh-notebook``).

The HTML keeps the widget state papermill stored, and carries everything the browser needs
to draw the bqplot charts again (require.js, the Jupyter widgets HTML manager, the bqplot and
bqscales bundles of the installed packages), inline: the file opens offline, with no CDN.

>>> report("./segjupyter-demo", "high_spenders", "report.html", period="2025")
>>> refresh_notebook({"workspace": "./segjupyter-demo"})
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path


STATIC = Path(__file__).parent / "static" / "widgets"
#: cell tag of notebook-only cells (usage notes), left out of the HTML report
NOTEBOOK_ONLY = "sj-notebook-only"
WIDGET_MODULES = ("bqscales", "bqplot")


def _nbextension(name: str) -> str:
    for root in (Path(sys.prefix), Path(sys.base_prefix), Path("/usr/local"), Path("/usr")):
        p = root / "share" / "jupyter" / "nbextensions" / name / "index.js"
        if p.exists():
            return p.read_text(encoding="utf-8")
    raise FileNotFoundError(f"the {name} widget bundle is not installed ({name} nbextension)")


# webpack asset modules of the HTML manager: icon fonts fetched relative to the page
_FONT_ASSET = re.compile(r'[A-Za-z_$]\.p\+"[0-9a-f]{20}\.(?:woff2|woff|ttf|eot|svg)"')


def widget_renderer_js() -> str:
    """The HTML manager plus bqplot's modules, named so require.js resolves them locally.

    The manager's icon fonts would be fetched next to the HTML file and fail (reports have
    no buttons): they become empty ``data:`` URLs, so nothing is requested."""
    manager = (STATIC / "embed-amd.js").read_text(encoding="utf-8")
    parts = [_FONT_ASSET.sub('"data:font/woff2;base64,"', manager)]
    for name in WIDGET_MODULES:
        js = _nbextension(name)
        # webpack emits an anonymous AMD module; name it so require("bqplot") needs no CDN
        js, n = re.subn(r"\bdefine\(\[", f'define("{name}",[', js, count=1)
        if n != 1:
            raise RuntimeError(f"unexpected {name} bundle format")
        parts.append(js)
    return "\n;\n".join(parts)


def notebook_to_html(executed: str | os.PathLike) -> str:
    """Standalone HTML (no code, live widgets) of an executed notebook."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    _drop_stale_buffers(nb)
    nb.cells = [c for c in nb.cells if NOTEBOOK_ONLY not in c.metadata.get("tags", ())]
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    exporter.require_js_url = "SEGJUPYTER_REQUIRE_JS"
    exporter.widget_renderer_url = "data:text/javascript,0"  # the real one is inlined below
    body, _ = exporter.from_notebook_node(nb)
    require = (STATIC / "require.js").read_text(encoding="utf-8")
    body = body.replace('<script src="SEGJUPYTER_REQUIRE_JS"></script>',
                        f"<script>{require}</script>")
    renderer = widget_renderer_js().replace("</script", "<\\/script")
    body = body.replace("</body>", f"<script>{renderer}</script>\n</body>", 1)
    # mathjax and other remote scripts are not needed by our reports: drop them
    body = re.sub(r'<script[^>]+src="https?://[^"]*"[^>]*>\s*</script>', "", body)
    body = re.sub(r'<link[^>]+href="https?://[^"]*"[^>]*>', "", body)
    return body


def _drop_stale_buffers(nb) -> None:
    """Remove widget-state buffers whose trait is no longer binary.

    The executed notebook keeps the buffer of a trait's first (binary) value after a later
    update made it plain JSON (an empty array replaced by a list of labels); the HTML
    manager would write that stale buffer into the JSON value."""
    state = nb.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for model in state.values():
        buffers = model.get("buffers")
        if not buffers:
            continue
        keep = []
        for b in buffers:
            node = model.get("state", {})
            for key in b["path"][:-1]:
                if isinstance(node, dict):
                    node = node.get(key)
                elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                    node = node[key]
                else:
                    node = None
            if isinstance(node, dict):
                keep.append(b)
        model["buffers"] = keep


def _quiet_kernel_manager():
    """A kernel manager whose kernel's own stderr (transport warnings, the interrupt at
    shutdown) does not reach the terminal; what cells print is in the notebook."""
    import subprocess

    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw.setdefault("stderr", subprocess.DEVNULL)
            return await super().start_kernel(**kw)

    return QuietKernelManager


def run_notebook(notebook: str | os.PathLike, output: str | os.PathLike, parameters: dict,
                 timeout: int = 600, log_output: bool = False, progress_bar: bool = False):
    """Execute ``notebook`` with papermill (kernel ``python3``) into ``output``.

    A cell that raises becomes :class:`~segjupyter.errors.NotebookError` carrying the
    error's type and message (the executed notebook, written anyway, has the traceback)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .errors import NotebookError
    try:
        return pm.execute_notebook(str(notebook), str(output), parameters=parameters,
                                   kernel_name="python3", progress_bar=progress_bar,
                                   log_output=log_output, execution_timeout=timeout,
                                   cwd=str(Path(notebook).parent),
                                   kernel_manager_class=_quiet_kernel_manager())
    except PapermillExecutionError as e:
        raise NotebookError(f"{Path(notebook).name} failed in cell {e.exec_count}: "
                            f"{e.ename}: {e.evalue}") from None


def refresh_notebook(parameters: dict, output: str | os.PathLike | None = None,
                     notebook: str = "refresh_segments.ipynb", out=None) -> int:
    """Run the refresh job notebook with ``parameters`` and print what its cells printed
    (the summary) to ``out`` (default stdout); returns 0, or raises
    :class:`~segjupyter.errors.NotebookError` when a refresh failed."""
    from .serve import notebooks_dir
    src = notebooks_dir() / notebook
    with tempfile.TemporaryDirectory(prefix="segjupyter-refresh-") as tmp:
        executed = Path(output) if output else Path(tmp) / notebook
        try:
            run_notebook(src, executed, parameters)
        finally:
            _print_streams(executed, out or sys.stdout)
    return 0


def _print_streams(executed: Path, out) -> None:
    import nbformat
    if not executed.exists():
        return
    nb = nbformat.read(str(executed), as_version=4)
    for cell in nb.cells:
        for o in cell.get("outputs", ()):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                out.write(o.get("text", ""))
    out.flush()


def report(workspace: str, segment: str, out: str | os.PathLike, period: str | None = None,
           as_of: str | None = None, notebook: str = "segment_report.ipynb",
           keep_notebook: str | os.PathLike | None = None, progress="auto") -> Path:
    """Run the report notebook for ``segment`` and write standalone HTML to ``out``.
    ``progress``: see :class:`~segjupyter.progress.Progress` (a bar per cell on a terminal
    or in a notebook, silent on a pipe by default)."""
    from .progress import Progress
    from .serve import notebooks_dir
    src = notebooks_dir() / notebook
    params = {"workspace": str(Path(workspace).expanduser().resolve()), "segment": segment}
    if period:
        params["period"] = period
    if as_of:
        params["as_of"] = as_of
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="segjupyter-report-") as tmp:
        executed = Path(keep_notebook) if keep_notebook else Path(tmp) / notebook
        prog = Progress(progress, 2, "report")
        prog.note(f"running {notebook} for {segment}")
        run_notebook(src, executed, params, progress_bar=prog.is_bar)
        prog.step("notebook executed")
        out.write_text(notebook_to_html(executed), encoding="utf-8")
        prog.close(f"wrote {out.name}")
    return out



# -- command line: segjupyter report / refresh-notebook -------------------------------------
def add_commands(sub) -> None:
    """Declare ``segjupyter report`` and ``segjupyter refresh-notebook``."""
    p = sub.add_parser(
        "report", help="render the report of a saved segment to standalone HTML",
        description="Run notebooks/segment_report.ipynb with papermill for SEGMENT and write "
                    "standalone HTML (no code, live bqplot charts, opens offline).")
    p.add_argument("workspace", help="workspace folder")
    p.add_argument("segment", help="saved segment name")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.add_argument("--period", default=None,
                   help='analytics period: "last 12 months" (default), "2025", "2025-Q2", '
                        '"2025-01-01..2025-06-30", ...')
    p.add_argument("--as-of", dest="as_of", default=None,
                   help="evaluate as of this date (YYYY-MM-DD); default: the workspace's now")
    p.add_argument("--notebook-out", default=None, metavar="PATH",
                   help="also keep the executed notebook here")
    p.set_defaults(func=_run_report)

    p = sub.add_parser(
        "refresh-notebook", help="refresh the saved segments by running the refresh notebook",
        description="Run notebooks/refresh_segments.ipynb with papermill (for schedulers that "
                    "run notebooks); fails when any segment fails to refresh.")
    p.add_argument("workspace", help="workspace folder")
    p.add_argument("--segment", default=None, help="refresh only this saved segment")
    p.add_argument("--as-of", dest="as_of", default=None,
                   help="evaluate as of this date (YYYY-MM-DD); default: the workspace's now")
    p.add_argument("--out", default=None, metavar="PATH",
                   help="keep the executed notebook here (default: not kept)")
    p.set_defaults(func=_run_refresh_notebook)


def _check_workspace(path: str) -> str:
    from .errors import WorkspaceError
    from .workspace.storage import RETAIL_FILE
    folder = Path(path).expanduser()
    if not (folder / RETAIL_FILE).exists():
        raise WorkspaceError(f"no workspace at {path} (a folder holding {RETAIL_FILE})")
    return str(folder.resolve())


def _run_report(args) -> int:
    import segjupyter
    from .starter import pick_segment
    workspace = _check_workspace(args.workspace)
    with segjupyter.open(workspace) as ws:
        pick_segment(ws, args.segment)  # an unknown name fails here, with a did-you-mean
    out = report(workspace, args.segment, args.out, period=args.period, as_of=args.as_of,
                 keep_notebook=args.notebook_out)
    print(f"wrote {out}")
    return 0


def _run_refresh_notebook(args) -> int:
    workspace = _check_workspace(args.workspace)
    params = {"workspace": workspace}
    if args.segment:
        params["segment"] = args.segment
    if args.as_of:
        params["as_of"] = args.as_of
    return refresh_notebook(params, args.out)
