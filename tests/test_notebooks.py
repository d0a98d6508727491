"""Every notebook in ``notebooks/`` runs top to bottom with papermill on kernel ``python3``.

Each gets its own copy of the session's demo workspace (size S) through its ``workspace``
parameter, so notebooks that save segments do not disturb other tests.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import nbformat
import papermill
import pytest

from segjupyter.workspace.storage import CATALOG_FILE, RETAIL_FILE

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert any(nb.name == "segment_language.ipynb" for nb in NOTEBOOKS)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_declares_the_workspace(notebook):
    nb = nbformat.read(notebook, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "one code cell tagged 'parameters'"
    assigned = {}
    for stmt in ast.parse(tagged[0].source).body:  # only assignments: no side effects
        assert isinstance(stmt, (ast.Assign, ast.AnnAssign)), ast.dump(stmt)
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
        assigned[target.id] = ast.literal_eval(stmt.value)
    assert assigned.get("workspace") == "", "workspace = \"\" means: build the demo"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(notebook, demo_ws_path, tmp_path):
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    for name in (RETAIL_FILE, CATALOG_FILE):
        shutil.copy2(Path(demo_ws_path) / name, ws_dir / name)
    out = tmp_path / notebook.name
    # raises PapermillExecutionError, naming the cell, when any cell fails
    papermill.execute_notebook(
        str(notebook), str(out), parameters={"workspace": str(ws_dir)},
        kernel_name="python3", cwd=str(tmp_path), execution_timeout=120,
        progress_bar=False, log_output=False)
    executed = nbformat.read(out, as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
