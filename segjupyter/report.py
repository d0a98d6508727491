"""Reports and jobs: run a curated notebook with papermill, render it to standalone HTML.

The HTML keeps the widget state papermill stored, and carries everything the browser needs
to draw the bqplot charts again (require.js, the Jupyter widgets HTML manager, the bqplot and
bqscales bundles of the installed packages), inline: the file opens offline, with no CDN.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

STATIC = Path(__file__).parent / "static" / "widgets"
WIDGET_MODULES = ("bqscales", "bqplot")


def _nbextension(name: str) -> str:
    for root in (Path(sys.prefix), Path(sys.base_prefix), Path("/usr/local"), Path("/usr")):
        p = root / "share" / "jupyter" / "nbextensions" / name / "index.js"
        if p.exists():
            return p.read_text(encoding="utf-8")
    raise FileNotFoundError(f"the {name} widget bundle is not installed ({name} nbextension)")


def widget_renderer_js() -> str:
    """The HTML manager plus bqplot's modules, named so require.js resolves them locally."""
    parts = [(STATIC / "embed-amd.js").read_text(encoding="utf-8")]
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


def run_notebook(notebook: str | os.PathLike, output: str | os.PathLike, parameters: dict,
                 timeout: int = 600, log_output: bool = False):
    """Execute ``notebook`` with papermill (kernel ``python3``) into ``output``."""
    import papermill as pm
    return pm.execute_notebook(str(notebook), str(output), parameters=parameters,
                               kernel_name="python3", progress_bar=False,
                               log_output=log_output, execution_timeout=timeout,
                               cwd=str(Path(notebook).parent))


def report(workspace: str, segment: str, out: str | os.PathLike, period: str | None = None,
           as_of: str | None = None, notebook: str = "segment_report.ipynb",
           keep_notebook: str | os.PathLike | None = None) -> Path:
    """Run the report notebook for ``segment`` and write standalone HTML to ``out``."""
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
        run_notebook(src, executed, params)
        out.write_text(notebook_to_html(executed), encoding="utf-8")
    return out

