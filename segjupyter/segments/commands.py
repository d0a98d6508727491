"""Catalog commands of the ``segjupyter`` command line, fit for cron.

    segjupyter refresh WORKSPACE [--as-of DATE] [--segment NAME ...]
    segjupyter list WORKSPACE
    segjupyter export WORKSPACE SEGMENT PATH [--columns COL ...]
    segjupyter snapshot WORKSPACE SEGMENT [--note TEXT] [--csv PATH]
    segjupyter compact WORKSPACE

Progress goes to stderr, the summary to stdout. Exit codes: 0 success, 1 a refresh (or
another operation) failed, 2 bad usage (no workspace there, unknown segment, bad date).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from ..errors import WorkspaceError
from ..workspace.storage import RETAIL_FILE


def add_commands(sub) -> None:
    """Declare ``refresh``, ``list``, ``export``, ``snapshot`` and ``compact`` on the
    subparsers of ``segjupyter``."""
    p = sub.add_parser("refresh", help="refresh the due saved segments of a workspace",
                       description="Re-evaluate every due segment (active dynamic ones, static "
                                   "ones never evaluated) in one transaction, or only --segment.")
    p.add_argument("workspace", help="workspace folder")
    p.add_argument("--as-of", dest="as_of", default=None,
                   help="evaluate as of this date (YYYY-MM-DD = end of that day) or ISO "
                        "timestamp; default: the workspace's now")
    p.add_argument("--segment", action="append", default=None, metavar="NAME",
                   help="refresh only this segment (repeatable)")
    p.add_argument("--background", action="store_true",
                   help="queue the refresh for a worker process and return at once")
    p.set_defaults(func=run_refresh)

    p = sub.add_parser("list", help="list the saved segments of a workspace")
    p.add_argument("workspace", help="workspace folder")
    p.set_defaults(func=run_list)

    p = sub.add_parser("export", help="write the current members of a segment to CSV")
    p.add_argument("workspace", help="workspace folder")
    p.add_argument("segment", help="saved segment name")
    p.add_argument("path", help="CSV file to write")
    p.add_argument("--columns", nargs="+", default=None, metavar="COL",
                   help="columns (customer fields, name, date_registered, lifetime_spend, "
                        "entered_at; commas or spaces); default: the snapshot fields")
    p.set_defaults(func=run_export)

    p = sub.add_parser("snapshot", help="freeze the current members of a segment")
    p.add_argument("workspace", help="workspace folder")
    p.add_argument("segment", help="saved segment name")
    p.add_argument("--note", default="", help="a note stored with the snapshot")
    p.add_argument("--csv", default=None, metavar="PATH", help="also write it to this CSV file")
    p.set_defaults(func=run_snapshot)

    p = sub.add_parser("compact", help="rewrite the segment catalog without its free space",
                       description="Rewrite catalog.duckdb without the space that deleted "
                                   "segments, members and history left (DuckDB never shrinks "
                                   "a file). Dashboards keep reading meanwhile.")
    p.add_argument("workspace", help="workspace folder")
    p.set_defaults(func=run_compact)

    from .queue_cli import add_commands as _add_queue_commands
    _add_queue_commands(sub, _open_or_usage)


def _usage(command: str, message: str) -> int:
    print(f"segjupyter {command}: error: {message}", file=sys.stderr)
    return 2


def _open(args):
    path = Path(args.workspace).expanduser()
    if not (path / RETAIL_FILE).exists():
        return None
    import segjupyter
    return segjupyter.open(str(path))


def _open_or_usage(args):
    ws = _open(args)
    if ws is None:
        _usage(args.command, f"no workspace at {args.workspace} (a folder holding "
                             f"{RETAIL_FILE})")
    return ws


def _known(ws, args, names) -> bool:
    have = set(ws.segments.names())
    for n in names:
        if n not in have:
            from ..workspace.registry import suggest
            s = suggest(n, have)
            _usage(args.command, f"no saved segment named {n!r} in {args.workspace}" +
                   (f" — did you mean {s!r}?" if s else ""))
            return False
    return True


def run_refresh(args) -> int:
    ws = _open_or_usage(args)
    if ws is None:
        return 2
    with ws:
        try:
            as_of = ws.resolve_as_of(args.as_of)
        except WorkspaceError as e:
            return _usage("refresh", str(e))
        if args.segment and not _known(ws, args, args.segment):
            return 2
        if args.background:
            from .queue_cli import run_background_refresh
            return run_background_refresh(ws, args)
        df = ws.segments.refresh_all(as_of=as_of, progress="lines", names=args.segment)
        if df.empty:
            print(f"nothing to refresh in {args.workspace} (no active dynamic segment, no "
                  "static segment waiting for its first evaluation)")
            return 0
        failed = df[df["error"].notna()]
        show = df[["segment", "customers", "entered", "left", "error"]].copy()
        show["error"] = show["error"].fillna("")
        print(show.to_string(index=False))
        print(f"refreshed {len(df) - len(failed)} of {len(df)} segments as of "
              f"{as_of:%Y-%m-%d %H:%M:%S} in {df['duration_s'].iloc[0]:.2f} s")
        for row in failed.itertuples():
            print(f"segjupyter refresh: error: {row.segment}: {row.error}", file=sys.stderr)
        return 1 if len(failed) else 0


def _since(td) -> str:
    if pd.isna(td):
        return "never"
    s = int(td.total_seconds())
    for unit, n in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= n:
            return f"{s // n} {unit} ago"
    return f"{s} s ago"


def run_list(args) -> int:
    ws = _open_or_usage(args)
    if ws is None:
        return 2
    with ws:
        df = ws.segments.list()
        if df.empty:
            print(f"no saved segments in {args.workspace}")
            return 0
        show = df[["id", "name", "kind", "status", "customers", "subscribed"]].copy()
        show["refreshed"] = df["since_refresh"].map(_since)
        show["as_of"] = df["as_of"].map(lambda t: "" if pd.isna(t) else f"{t:%Y-%m-%d}")
        show["background"] = df["refresh_state"].fillna("")
        print(show.fillna("").to_string(index=False))
        return 0


def run_export(args) -> int:
    ws = _open_or_usage(args)
    if ws is None:
        return 2
    with ws:
        if not _known(ws, args, [args.segment]):
            return 2
        columns = None
        if args.columns:
            columns = [c.strip() for part in args.columns for c in part.split(",") if c.strip()]
        n = ws.segments.export_csv(args.segment, args.path, columns=columns)
        print(f"wrote {n} customers of {args.segment!r} to {args.path}")
        return 0


def run_snapshot(args) -> int:
    ws = _open_or_usage(args)
    if ws is None:
        return 2
    with ws:
        if not _known(ws, args, [args.segment]):
            return 2
        snap = ws.segments.snapshot(args.segment, note=args.note)
        print(f"snapshot {snap['snapshot_id']} of {args.segment!r}: {snap['customers']} "
              f"customers as of {snap['as_of']:%Y-%m-%d %H:%M:%S}")
        if args.csv:
            n = ws.segments.export_snapshot_csv(snap["snapshot_id"], args.csv)
            print(f"wrote {n} rows to {args.csv}")
        return 0


def run_compact(args) -> int:
    ws = _open_or_usage(args)
    if ws is None:
        return 2
    with ws:
        sizes = ws.segments.compact()
        print(f"catalog of {args.workspace}: {sizes['before'] / 2**20:.1f} MB -> "
              f"{sizes['after'] / 2**20:.1f} MB")
        return 0
