"""Command-line faces of the background refresh queue.

    segjupyter refresh WORKSPACE [--segment NAME ...] --background   queue, return at once
    segjupyter queue WORKSPACE [--wait]                                 requests and status
    segjupyter worker WORKSPACE [--idle SECONDS]                        run the queue here

``refresh --background`` prints the request ids and exits 0; a worker process (started if
none runs) does the work. ``queue --wait`` blocks until every open request has ended and
exits 1 if one failed.
"""

from __future__ import annotations

import sys


def add_commands(sub, open_or_usage) -> None:
    """Declare ``queue`` and ``worker``; ``open_or_usage(args)`` opens the workspace."""
    p = sub.add_parser("queue", help="background refresh requests and their status")
    p.add_argument("workspace", help="workspace folder")
    p.add_argument("--wait", action="store_true",
                   help="wait until every queued or running request has ended")
    p.add_argument("--timeout", type=float, default=3600.0, help="with --wait (seconds)")
    p.set_defaults(func=lambda args: run_queue(args, open_or_usage))

    p = sub.add_parser("worker", help="run the queued background refreshes of a workspace",
                       description="Run queued refreshes until the queue has been empty for "
                                   "--idle seconds (one worker per workspace).")
    p.add_argument("workspace", help="workspace folder")
    p.add_argument("--idle", type=float, default=None,
                   help="exit after this many idle seconds (default: 3)")
    p.set_defaults(func=run_worker)


def run_background_refresh(ws, args) -> int:
    """``refresh --background``: queue the segments (named, or every due one)."""
    from .refresh import plan
    cat = ws.segments
    names = args.segment or [t.name for t in plan(cat._records(), None)]
    if not names:
        print(f"nothing to refresh in {args.workspace}")
        return 0
    for r in cat.queue_refresh(list(names), as_of=args.as_of):
        print(f"queued {r['segment']!r}: request {r['request_id']} ({r['state']})")
    return 0


def _line(r) -> str:
    tail = (f"{int(r.customers):,} customers" if r.state == "done"
            else (r.error or "") if r.state == "failed" else "")
    return f"{r.request_id:>6}  {r.segment:<30} {r.status:<9} {tail}"


def run_queue(args, open_or_usage) -> int:
    ws = open_or_usage(args)
    if ws is None:
        return 2
    with ws:
        cat = ws.segments
        open_ids = []
        if args.wait:
            open_ids = [r.request_id for r in cat.queue().itertuples()
                        if r.state in ("queued", "running")]
            for rid in open_ids:
                cat.wait(rid, timeout=args.timeout)
        df = cat.queue()
        if df.empty:
            print(f"no background refresh requests in {args.workspace}")
            return 0
        for r in df.itertuples():
            print(_line(r))
        if args.wait and df[df["request_id"].isin(open_ids)]["state"].eq("failed").any():
            return 1
        return 0


def run_worker(args) -> int:
    from .worker import DEFAULT_IDLE, serve
    n = serve(args.workspace, DEFAULT_IDLE if args.idle is None else args.idle,
              log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"worker ran {n} requests")
    return 0
