"""What happened to saved segments: size over time (and its backfill), membership events,
a customer's history, the refresh log and the segment list."""

from __future__ import annotations

import pandas as pd

from ..errors import CatalogError
from ..rules.segment import Segment
from .evaluate import key_type
from .progress import Progress
from .records import TAG_KIND, load_records

#: how many points of size history the list keeps for sparklines
SPARK_POINTS = 30


def history(cat, name: str) -> pd.DataFrame:
    """``as_of, customers, subscribed, source`` ordered by ``as_of``; when a date was both
    refreshed and backfilled, the refresh wins."""
    r = cat._record(name)
    with cat.ws.storage.read(catalog=True) as con:
        return con.execute(
            "SELECT as_of, customers, subscribed, source FROM ("
            "  SELECT *, row_number() OVER (PARTITION BY as_of ORDER BY "
            "    (source = 'refresh') DESC, recorded_at DESC) AS k "
            "  FROM catalog.size_history WHERE segment_id = ?) WHERE k = 1 ORDER BY as_of",
            [r.id]).df()


def backfill(cat, name: str, start, end, freq: str = "W", progress=True) -> pd.DataFrame:
    """Evaluate the rule of ``name`` as of each date of ``pandas.date_range(start, end,
    freq)`` (end of day) and store the sizes as ``backfill`` history. Segments the rule uses
    are read as stored today. Members and events are not touched."""
    ws = cat.ws
    r = cat._record(name)
    if r.kind != "dynamic":
        raise CatalogError(f"backfill needs a dynamic segment; {name!r} is {r.kind}")
    try:
        days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=freq)
    except (ValueError, TypeError) as e:
        raise CatalogError(f"backfill: bad dates or freq ({e}); e.g. start='2026-01-01', "
                           "end='2026-06-30', freq='W'") from None
    if len(days) == 0:
        raise CatalogError(f"backfill: no date from {start} to {end} at freq {freq!r}")
    seg = Segment(ws, r.tree, name=r.name, params=r.params)
    prog = Progress(progress, len(days), "backfill")
    rows = []
    for day in days:
        as_of = ws.resolve_as_of(day.date())
        s = seg.summary(as_of)
        rows.append((r.id, as_of, s["customers"], s["subscribed"]))
        prog.step(f"{name} as of {as_of:%Y-%m-%d}: {s['customers']:,}")
    from .refresh import wall_now
    now = wall_now(ws)
    with ws.storage.write() as con:
        con.execute("DELETE FROM catalog.size_history WHERE segment_id = ? AND source = "
                    "'backfill' AND list_contains(?, as_of)", [r.id, [x[1] for x in rows]])
        con.executemany("INSERT INTO catalog.size_history VALUES (?, ?, ?, ?, 'backfill', ?)",
                        [(*x, now) for x in rows])
    prog.close(f"{name}: {len(rows)} dates stored")
    return pd.DataFrame([x[1:] for x in rows], columns=["as_of", "customers", "subscribed"])


def events(cat, name: str) -> pd.DataFrame:
    """``customer_id, event, at, run_id, reason``, newest first."""
    r = cat._record(name)
    with cat.ws.storage.read(catalog=True) as con:
        return con.execute(
            f"SELECT TRY_CAST(customer_id AS {key_type(cat.ws)}) AS customer_id, event, "
            'event_at AS "at", run_id, reason FROM catalog.membership_events '
            "WHERE segment_id = ? ORDER BY run_id DESC, event_at DESC, 1", [r.id]).df()


def customer_history(cat, customer_id) -> pd.DataFrame:
    """``segment, kind, event, at, run_id, reason`` of one customer, newest first."""
    with cat.ws.storage.read(catalog=True) as con:
        return con.execute(
            "SELECT s.name AS segment, s.kind, e.event, e.event_at AS \"at\", e.run_id, "
            "e.reason FROM catalog.membership_events e JOIN catalog.segments s "
            "ON s.id = e.segment_id WHERE e.customer_id = ? "
            "ORDER BY e.run_id DESC, e.event_at DESC, s.name",
            [str(customer_id)]).df()


def runs(cat, name: str | None, limit: int) -> pd.DataFrame:
    where, args = "", []
    if name is not None:
        where, args = "WHERE segment_id = ?", [cat._record(name).id]
    with cat.ws.storage.read(catalog=True) as con:
        return con.execute(
            "SELECT run_id, batch_id, segment, action, as_of, started_at, duration_s, "
            f'customers, entered, "left", subscribed, error FROM catalog.refresh_runs {where} '
            "ORDER BY run_id DESC LIMIT ?", args + [int(limit)]).df()


def segment_list(cat, include_tags: bool) -> pd.DataFrame:
    from .refresh import wall_now
    with cat.ws.storage.read(catalog=True) as con:
        records = load_records(con)
        spark = {}
        for sid, counts in con.execute(
                "SELECT segment_id, list(customers ORDER BY as_of) FROM ("
                "  SELECT segment_id, as_of, customers, row_number() OVER (PARTITION BY "
                "    segment_id ORDER BY as_of DESC) AS k FROM ("
                "      SELECT segment_id, as_of, arg_max(customers, (source = 'refresh', "
                "        recorded_at)) AS customers FROM catalog.size_history GROUP BY 1, 2)"
                f") WHERE k <= {SPARK_POINTS} GROUP BY 1").fetchall():
            spark[sid] = [int(x) for x in counts]
    now = wall_now(cat.ws)
    rows = []
    for r in records.values():
        if r.kind == TAG_KIND and not include_tags:
            continue
        rows.append({
            "id": r.id, "name": r.name, "kind": r.kind, "status": r.status,
            "active": r.active, "last_refresh": r.last_refresh_at, "as_of": r.last_as_of,
            "since_refresh": (now - r.last_refresh_at) if r.last_refresh_at else None,
            "customers": r.customers, "subscribed": r.subscribed,
            "history": spark.get(r.id, []), "description": r.description,
            "tags": list(r.labels), "uses": sorted(r.uses), "error": r.last_error})
    cols = ["id", "name", "kind", "status", "active", "last_refresh", "as_of", "since_refresh",
            "customers", "subscribed", "history", "description", "tags", "uses", "error"]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("customers", "subscribed"):
        df[c] = df[c].astype("Int64")
    # a column of NaT only (nothing refreshed yet) reads as datetime64: convert value-wise
    df["since_refresh"] = pd.to_timedelta(
        pd.Series([None if pd.isna(x) else x for x in df["since_refresh"]], dtype=object),
        errors="coerce")
    return df
