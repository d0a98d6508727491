"""``notebooks/analytics_tour.ipynb`` runs headless with papermill (kernel ``python3``) on the
demo workspace, with its parameters changed, and stores every chart in its widget state."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "analytics_tour.ipynb"
CHARTS = {"kpi", "comparison", "evolution", "moment", "moment-weekday", "moment-hour",
          "products", "lifecycle", "tiers", "reach", "demographics-age",
          "demographics-channel", "demographics-city", "demographics-store", "rfm-pie",
          "rfm-bubbles", "overlap"}


def test_analytics_tour_runs_and_draws_every_chart(demo_ws_path, tmp_path):
    out = tmp_path / "tour.ipynb"
    # the tour only reads the workspace, so the session's demo is used as it is
    papermill.execute_notebook(
        str(NOTEBOOK), str(out), kernel_name="python3", cwd=str(tmp_path),
        parameters={"workspace": demo_ws_path, "period": "2025",
                    "segment": 'city in ("Lisboa", "Porto") and orders(last 12 months) > 2'},
        execution_timeout=120, progress_bar=False, log_output=False)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert [o for o in outputs if o.get("output_type") == "error"] == []
    header = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "period: 2025-01-01..2025-12-31" in header
    assert "members as of 2025-12-31 23:59" in header
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    classes = {cls for m in state.values() if m["model_name"] == "FigureModel"
               for cls in m["state"]["_dom_classes"]}
    assert {c.removeprefix("sj-chart-") for c in classes if c.startswith("sj-chart-")} \
        >= CHARTS
    assert "sj-chart-empty" not in classes  # the segment has customers: every chart drawn
