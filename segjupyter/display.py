"""How the notebook faces show segments, SQL and errors.

Small display objects with ``_repr_html_`` (JupyterLab, Voila) and a plain-text ``__repr__``
(terminal IPython, papermill logs), plus :func:`error_lines`, the short message that replaces a
traceback for a :class:`~segjupyter.errors.SegjupyterError`.
"""

from __future__ import annotations

import html

import pandas as pd

from .errors import SegjupyterError


def error_lines(exc: BaseException) -> list[str]:
    """The error as IPython structured-traceback lines: ``TypeName: message`` in red, then the
    message's further lines (a syntax error's source line and caret) unchanged."""
    first, *rest = (str(exc) or type(exc).__name__).split("\n")
    return [f"\x1b[0;31m{type(exc).__name__}\x1b[0m: {first}", *rest]


class SegmentView:
    """A segment as evaluated at one ``as_of``: name, rule, count, share, subscribed, SQL.

    The magic shows this instead of the Segment itself when an ``as_of`` is chosen (the
    Segment's own ``_repr_html_`` always uses the workspace's default instant).
    """

    def __init__(self, segment, as_of=None):
        self.segment = segment
        self.as_of = as_of
        self._summary = None

    def summary(self) -> dict:
        if self._summary is None:
            self._summary = self.segment.summary(as_of=self.as_of)
        return self._summary

    def _repr_html_(self) -> str:
        seg = self.segment
        name = html.escape(seg.name or "segment")
        try:
            s = self.summary()
            sql = seg.sql(as_of=self.as_of)
        except SegjupyterError as e:
            return f"<div class='sj-segment sj-error'><b>{name}</b>: {html.escape(str(e))}</div>"
        sub = "" if s["subscribed"] is None else f" · {s['subscribed']:,} subscribed"
        return (
            "<div class='sj-segment'>"
            f"<div><b>{name}</b> — <b>{s['customers']:,}</b> customers "
            f"({s['share']:.1%} of all){sub} "
            f"<span style='color:#888'>as of {s['as_of']:%Y-%m-%d %H:%M}</span></div>"
            f"<pre style='margin:4px 0'>{html.escape(seg.text)}</pre>"
            f"<details><summary>SQL</summary><pre>{html.escape(sql)}</pre></details></div>")

    def __repr__(self) -> str:
        s = self.summary()
        sub = "" if s["subscribed"] is None else f", {s['subscribed']:,} subscribed"
        return (f"{self.segment.name or 'segment'}: {s['customers']:,} customers "
                f"({s['share']:.1%} of all{sub}) as of {s['as_of']:%Y-%m-%d %H:%M}\n"
                f"{self.segment.text}")


class MembersView:
    """The first ``limit`` members of a segment, with the total in a caption."""

    def __init__(self, frame: pd.DataFrame, total: int, name: str | None, limit: int):
        self.frame = frame.head(limit) if limit >= 0 else frame
        self.total = total
        self.name = name or "segment"

    def caption(self) -> str:
        shown = len(self.frame)
        more = f" (first {shown:,} shown)" if shown < self.total else ""
        return f"{self.name}: {self.total:,} members{more}"

    def _repr_html_(self) -> str:
        return (f"<div class='sj-members'><div>{html.escape(self.caption())}</div>"
                f"{self.frame.to_html(index=False, max_cols=30)}</div>")

    def __repr__(self) -> str:
        return f"{self.caption()}\n{self.frame.to_string(index=False, max_cols=12)}"


def ago(delta) -> str:
    """A time span as a short "… ago" text: ``"12 s ago"``, ``"5 min ago"``, ``"3 d ago"``."""
    if delta is None or pd.isna(delta):
        return "never"
    seconds = max(0, int(pd.Timedelta(delta).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def catalog_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``ws.segments.list()`` a person reads, with "refreshed 5 min ago"."""
    cols = ["id", "name", "kind", "status", "customers", "subscribed", "refreshed",
            "description"]
    out = frame.assign(refreshed=frame["since_refresh"].map(ago))
    return out[cols].reset_index(drop=True)


def record_line(record) -> str:
    """One line about a saved segment: kind, status, size at its last refresh."""
    parts = [f"{record.name} ({record.kind}, {record.status})"]
    if record.customers is not None and record.last_as_of is not None:
        parts.append(f"{record.customers:,} customers as of {record.last_as_of:%Y-%m-%d %H:%M}")
    if record.last_refresh_at is not None:
        parts.append(f"refreshed {record.last_refresh_at:%Y-%m-%d %H:%M}")
    if record.last_error:
        parts.append(f"last error: {record.last_error}")
    if record.description:
        parts.append(record.description)
    return " · ".join(parts)
