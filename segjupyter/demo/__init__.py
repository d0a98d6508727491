"""A deterministic synthetic retail dataset: a tea, coffee and chocolate shop with ~25 stores
in Spain, Portugal and France, a web shop and an app.

Three years of data end at :data:`REFERENCE_DATE`; the same ``size`` and ``seed`` give the
same data on every machine. Shape: heavy-tailed purchase counts (many one-time buyers, a few
weekly ones), lapsing customers, December and sales-period peaks, store orders peaking on
Saturdays and 18-20h, web orders in the evening, brands with category affinity, product tags,
offer codes on ~15% of orders, a few returns, subscriptions, birthdays (leap days too), the
custom fields ``loyalty_tier`` and ``preferred_channel``, and e-mail / visit events.

>>> import segjupyter as sj
>>> ws = sj.demo.build("/tmp/demo-ws", size="S")      # builds once, then reuses the folder
>>> frames = sj.demo.generate("S", seed=7)            # just the DataFrames
"""

from __future__ import annotations

import json
import os

import pandas as pd

from .campaign import inject_campaign_effect
from .dataset import GENERATE_STEPS, check_seed, check_size, generate_dataset
from .reference import REFERENCE_DATE, SIZES, START_DATE

__all__ = ["generate", "build", "inject_campaign_effect", "REFERENCE_DATE", "START_DATE",
           "SIZES"]

_TABLES = ("customers", "stores", "products", "orders", "order_lines", "events")


def generate(size: str = "S", seed: int = 42) -> dict[str, pd.DataFrame]:
    """The demo tables as DataFrames in canonical columns, keyed customers, stores, products,
    orders, order_lines, events (ready for ``ws.load(**frames)``).

    ``size`` is ``"S"`` (~10k customers, 100k orders), ``"M"`` (100k / 1M) or ``"L"``
    (1M / 10M). Money columns are float64 holding whole cents (exact once loaded as
    DECIMAL(18,2)); ids are int64; order_lines lack the columns the loader derives.

    >>> frames = generate("S", seed=42)
    >>> frames["orders"].head()
    """
    return generate_dataset(size, seed)


def build(path: str | os.PathLike = ":memory:", size: str = "S", seed: int = 42,
          timezone: str = "Europe/Madrid", *, force: bool = False, progress="auto"):
    """Open (or create) the workspace folder ``path`` holding the demo data and return it.

    The workspace's ``default_as_of`` is set to :data:`REFERENCE_DATE`, so relative windows
    (``last 90 days``) give the same members on every run, and its time zone to ``timezone``.
    A folder that already holds the demo of this size and seed is reused as it is (fast);
    ``force=True`` regenerates and reloads it. ``progress``: a bar in a notebook or terminal
    while generating and loading (see :class:`~segjupyter.progress.Progress`).

    >>> ws = build("/tmp/demo-ws", size="S")
    >>> print(ws)
    """
    from ..workspace import open_workspace

    size, seed = check_size(size), check_seed(seed)
    ws = open_workspace(path)
    if ws.setting("timezone") != timezone:
        ws.timezone = timezone
    if force or not _holds_demo(ws, size, seed):
        from ..progress import Progress
        from ..workspace.schema import LOAD_ORDER
        prog = Progress(progress, GENERATE_STEPS + len(LOAD_ORDER) + 1, f"demo {size}")
        # the same rows as generate(), leaner (see generate_dataset): Arrow tables, orders
        # and lines in customer order, the events made by the loader when their turn comes
        tables = generate_dataset(size, seed, step=prog.step, for_load=True)
        # the loader takes each table out of ``tables`` once it is written: at L the orders
        # and lines (1.8 GB) are freed before the events are made
        from ..workspace.loaders import load_tables
        report = load_tables(ws.storage, tables, strict=True, progress=prog, release=True)
        counts = {t: report.tables[t].rows_read for t in _TABLES}
        ws._registry = None
        prog.close(f"{sum(counts.values()):,} rows")
        ws.set_setting("demo_size", size)
        ws.set_setting("demo_seed", str(seed))
        ws.set_setting("demo_rows", json.dumps(counts, sort_keys=True))
    if ws.default_as_of != REFERENCE_DATE:
        ws.default_as_of = REFERENCE_DATE
    return ws


def _holds_demo(ws, size: str, seed: int) -> bool:
    """True when the workspace holds exactly the demo ``size``/``seed`` (not data loaded
    over it later: the row counts must still match)."""
    if ws.setting("demo_size") != size or ws.setting("demo_seed") != str(seed):
        return False
    try:
        expected = json.loads(ws.setting("demo_rows") or "{}")
        query = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in _TABLES)
        actual = dict(ws.sql(query).fetchall())
    except Exception:  # a table is missing or the marker is damaged: rebuild
        return False
    return {t: int(actual.get(t, -1)) for t in _TABLES} == expected
