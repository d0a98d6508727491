"""A ready-to-look-at workspace: the starter segments, and the workspace a curated notebook
works on.

The dashboards show saved segments, so a fresh workspace (the demo, or a user's own data) gets
a starter set built from the template gallery (``ws.segments.templates()``), refreshed, with a
monthly size history so the segment list has dynamics to show.

>>> ws = segjupyter.demo.build("./segjupyter-demo")
>>> save_starter_segments(ws)                     # 8 segments, refreshed
>>> ws = notebook_workspace("")                   # $SEGJUPYTER_WORKSPACE, else a demo
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import pandas as pd

from .errors import CatalogError, WorkspaceError
from .workspace.storage import RETAIL_FILE

#: (segment name, template, template parameters): segments of different sizes and kinds of
#: rule (RFM, lifecycle, spend, orders, events, channels) that all hold customers on the demo.
STARTER_SEGMENTS = (
    ("rfm_champions", "rfm_champions", {}),
    ("at_risk", "at_risk", {}),
    ("high_spenders", "high_spenders", {}),
    ("loyal_regulars", "loyal_regulars", {}),
    ("lapsed_buyers", "lapsed_buyers", {}),
    ("new_customers", "new_customers_this_month", {}),
    ("newsletter_engaged", "newsletter_engaged", {}),
    ("multi_channel", "multi_channel", {}),
)
#: Where a notebook run with no workspace at all builds its demo (reused by later runs).
NOTEBOOK_DEMO = Path(tempfile.gettempdir()) / "segjupyter-notebook-demo"


def save_starter_segments(ws, *, refresh: bool = True, history_months: int = 12,
                          progress=False) -> pd.DataFrame:
    """Save the starter segments that ``ws`` does not have yet (by name), refresh every due
    segment and backfill a monthly size history of ``history_months`` for the new ones.

    Returns the refresh result (one row per segment; empty when ``refresh=False``).

    >>> save_starter_segments(ws).loc[:, ["segment", "customers"]]
    """
    gallery = ws.segments.templates().set_index("name")
    have = set(ws.segments.names())
    added = []
    for name, template, params in STARTER_SEGMENTS:
        if name in have:
            continue
        seg = ws.segments.from_template(template, **params)
        values = {**gallery.loc[template, "parameters"], **params}
        # "Spent at least `min_spend` ..." -> "Spent at least 500 ..."
        text = re.sub(r"`(\w+)`", lambda m: _shown(values.get(m[1], m[1])),
                      str(gallery.loc[template, "description"]))
        ws.segments.save(seg, name=name, tags=("starter",),
                         description=f"{gallery.loc[template, 'title']}: {text}")
        added.append(name)
    if not refresh:
        return pd.DataFrame()
    result = ws.segments.refresh_all(progress=progress)
    if history_months > 0 and added:
        now = pd.Timestamp(ws.now()).normalize()
        start = now - pd.DateOffset(months=history_months)
        for name in added:
            ws.segments.backfill(name, start.date(), now.date(), freq="MS", progress=False)
    return result


def _shown(value) -> str:
    if isinstance(value, (tuple, list)):
        return ", ".join(map(str, value))
    return "this month" if value is None else str(value)


def prepare_dashboard_workspace(path, *, build_demo: bool = False, out=sys.stdout) -> None:
    """Make ``path`` ready to serve: with ``build_demo`` a missing workspace becomes the demo
    (size S) and its segments are refreshed; a workspace with no saved segment gets the
    starter set. Raises :class:`WorkspaceError` when there is no workspace at ``path``."""
    import segjupyter

    folder = Path(path).expanduser()
    exists = (folder / RETAIL_FILE).exists()
    if not exists and not build_demo:
        raise WorkspaceError(f"no workspace at {folder} (a folder holding {RETAIL_FILE}); "
                             "pass --build-demo to build the demo there")
    if not exists:
        if folder.is_dir() and any(folder.iterdir()):
            raise WorkspaceError(f"{folder} is not empty and holds no workspace; choose a "
                                 "new folder for the demo")
        print(f"building the demo workspace (size S) in {folder} ...", file=out, flush=True)
        ws = segjupyter.demo.build(str(folder), size="S")
    else:
        ws = segjupyter.open(str(folder))
    with ws:
        if len(ws.segments) == 0:
            print("no saved segments yet: saving and refreshing the starter set "
                  f"({', '.join(n for n, _, _ in STARTER_SEGMENTS)})", file=out, flush=True)
            result = save_starter_segments(ws)
        elif build_demo:
            result = ws.segments.refresh_all(progress=False)
        else:
            return
        failed = result[result["error"].notna()] if len(result) else result
        print(f"refreshed {len(result) - len(failed)} of {len(result)} segments", file=out)
        for row in failed.itertuples():
            print(f"  {row.segment}: {row.error}", file=out)


def notebook_workspace(workspace: str = "", read_only: bool | None = None):
    """The workspace a curated notebook works on, from its ``workspace`` parameter: that
    folder; else ``$SEGJUPYTER_WORKSPACE`` (set by ``segjupyter dashboard``); else the demo
    (size S, starter segments) built once in a temporary folder.

    ``read_only=None`` follows ``$SEGJUPYTER_READ_ONLY`` (dashboards never write).
    """
    import segjupyter

    path = workspace or os.environ.get("SEGJUPYTER_WORKSPACE", "")
    if not path:
        path = str(NOTEBOOK_DEMO)
        if not (NOTEBOOK_DEMO / RETAIL_FILE).exists() or not _has_segments(path):
            with segjupyter.demo.build(path, size="S") as ws:
                save_starter_segments(ws)
    if not (Path(path).expanduser() / RETAIL_FILE).exists():
        raise WorkspaceError(f"no workspace at {path} (a folder holding {RETAIL_FILE}); "
                             "build one with `segjupyter demo`")
    return segjupyter.open(path, read_only=read_only)


def _has_segments(path: str) -> bool:
    import segjupyter
    try:
        with segjupyter.open(path, read_only=True) as ws:
            return len(ws.segments) > 0
    except Exception:  # no catalog yet
        return False


def pick_segment(ws, segment: str = "") -> str | None:
    """``segment`` if it is saved in ``ws``; ``""`` gives the largest saved segment, or None
    (all customers) when nothing is saved yet. Raises :class:`CatalogError` naming the saved
    segments when ``segment`` is not one of them."""
    names = ws.segments.names()
    if segment:
        if segment in names:
            return segment
        from .workspace.registry import suggest
        s = suggest(segment, names)
        raise CatalogError(f"no saved segment named {segment!r} in {ws.path}"
                           + (f" — did you mean {s!r}?" if s else
                              f" (saved: {', '.join(names) or 'none'})"))
    largest = largest_segments(ws, 1)
    return largest[0] if largest else None


def largest_segments(ws, n: int = 3) -> list[str]:
    """Names of the ``n`` saved segments with the most customers at their last refresh
    (never-refreshed ones last)."""
    listing = ws.segments.list()
    if listing.empty:
        return []
    listing = listing.assign(size=listing["customers"].fillna(-1))
    return [str(x) for x in listing.sort_values(["size", "id"], ascending=[False, True])
            ["name"].head(n)]
