"""The segment list: every saved segment with its size, status and actions."""

from __future__ import annotations

import base64
import html
import os
import tempfile

import ipywidgets as W
import pandas as pd

from ..errors import SegjupyterError
from .layout import close_all, css, error_text, frame_html, icon_button, set_children, show, \
    style_html

#: (column title, width)
COLUMNS = (("id", "35px"), ("name", "160px"), ("kind", "65px"), ("status", "70px"),
           ("refreshed", "85px"), ("customers", "80px"), ("subscribed", "80px"),
           ("size history", "105px"), ("background", "150px"))
#: action -> (icon, tooltip, changes the catalog)
ACTIONS = {
    "details": ("info-circle", "details", False),
    "dashboard": ("bar-chart", "open the dashboard", False),
    "edit": ("pencil", "edit in the rule builder", True),
    "refresh": ("refresh", "refresh now", True),
    "refresh_background": ("clock-o", "refresh in background", True),
    "toggle": ("power-off", "activate / deactivate", True),
    "duplicate": ("copy", "duplicate", True),
    "snapshot": ("camera", "take a snapshot", True),
    "export": ("download", "export members to CSV", False),
    "delete": ("trash", "delete", True),
}


def sparkline(values, width: int = 96, height: int = 22) -> str:
    """A tiny inline SVG line of ``values`` (the size history)."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return "<span style='color:#aaa'>—</span>"
    if len(vals) == 1:
        vals = vals * 2
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    step = (width - 4) / (len(vals) - 1)
    pts = " ".join(f"{2 + i * step:.1f},{height - 3 - (v - lo) / span * (height - 6):.1f}"
                   for i, v in enumerate(vals))
    return (f"<svg class='sj-sparkline' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}'><polyline fill='none' stroke='#4c78a8' "
            f"stroke-width='1.5' points='{pts}'/></svg>")


def since_text(delta) -> str:
    """'5 min ago', '3 h ago', '2 d ago' or 'never'."""
    if delta is None or pd.isna(delta):
        return "never"
    s = max(0, int(pd.Timedelta(delta).total_seconds()))
    if s < 60:
        return "just now"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 86400:
        return f"{s // 3600} h ago"
    return f"{s // 86400} d ago"


def background_text(state, error=None) -> str:
    """The state of the newest background refresh (in queue / running / done / failed with
    its reason), or nothing."""
    if state is None or (not isinstance(state, str) and pd.isna(state)):
        return ""
    cls = "sj-bg-" + state.replace(" ", "-")
    out = f"<span class='sj-bg-state {cls}'>{html.escape(state)}</span>"
    if state == "failed" and isinstance(error, str):
        out += (f" <span class='sj-bg-error' title='{html.escape(error)}'>"
                f"{html.escape(error[:80])}</span>")
    return out


def _num(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{int(v):,}"


class SegmentRow(W.HBox):
    """One saved segment in the list; its cells are updated in place."""

    def __init__(self, owner: "SegmentList", record: dict):
        super().__init__(layout=W.Layout(align_items="center"))
        css(self, "sj-segment-row")
        self.owner = owner
        self.name = record["name"]
        self.cells = {title: css(W.HTML(layout=W.Layout(width=width, flex="0 0 auto")),
                                 f"sj-col-{i}")
                      for i, (title, width) in enumerate(COLUMNS)}
        self.buttons = {}
        for action, (icon, tip, writes) in ACTIONS.items():
            if writes and owner.read_only:
                continue
            b = icon_button(icon, tip, f"sj-action-{action}",
                            lambda a=action: owner.act(a, self.name))
            self.buttons[action] = b
        self.children = (*self.cells.values(),
                         W.HBox(list(self.buttons.values()),
                                layout=W.Layout(flex_flow="row wrap")))
        self.update(record)

    def set_background(self, req: dict) -> None:
        """Show the state of a background request in this row."""
        from ..segments.queue import LABELS
        self.cells["background"].value = background_text(LABELS[req["state"]], req["error"])

    def update(self, r: dict) -> None:
        self.record = r
        self.name = r["name"]
        values = {
            "id": str(r["id"]),
            "name": f"<b class='sj-segment-name'>{html.escape(r['name'])}</b>",
            "kind": r["kind"],
            "status": f"<span class='sj-status sj-status-{r['status']}'>{r['status']}</span>",
            "refreshed": since_text(r["since_refresh"]),
            "customers": f"<span class='sj-customers'>{_num(r['customers'])}</span>",
            "subscribed": _num(r["subscribed"]),
            "size history": sparkline(r["history"]),
            "background": background_text(r.get("refresh_state"), r.get("refresh_error")),
        }
        with self.hold_sync():
            for title, v in values.items():
                if self.cells[title].value != v:
                    self.cells[title].value = v
            if "toggle" in self.buttons:
                self.buttons["toggle"].tooltip = "deactivate" if r["active"] else "activate"
                self.buttons["toggle"].button_style = "" if r["active"] else "warning"


class SegmentList(W.VBox):
    """Every saved segment: id, name, kind, status, time since the last refresh, customers,
    subscribed and a size-history sparkline; filters by size and creation date; actions
    (details, dashboard, edit, refresh, activate / deactivate, duplicate, snapshot, CSV
    export, delete with confirmation). ``read_only=True`` shows only the actions that change
    nothing (details, dashboard, export).

    ``on_edit(callback)`` / ``on_dashboard(callback)`` let an app take over those actions
    (``callback(name)``); alone, the list opens the builder / dashboard below itself.

    >>> SegmentList(ws)
    """

    def __init__(self, ws, read_only: bool = False):
        super().__init__()
        css(self, "sj-segment-list")
        self.ws = ws
        self.read_only = read_only
        self.rows: dict[str, SegmentRow] = {}
        self.frame = pd.DataFrame()
        self._handlers = {"edit": None, "dashboard": None}
        self._pending_delete: str | None = None
        self._watcher = None  # follows background refreshes started here

        self.search = css(W.Text(placeholder="name contains", layout=W.Layout(width="160px")),
                          "sj-filter-name")
        self.min_size = css(W.IntText(value=0, description="size ≥",
                                      layout=W.Layout(width="150px"),
                                      style={"description_width": "45px"}), "sj-filter-min")
        self.max_size = css(W.IntText(value=0, description="≤", tooltip="0: no limit",
                                      layout=W.Layout(width="130px"),
                                      style={"description_width": "20px"}), "sj-filter-max")
        self.created_from = css(W.DatePicker(description="created from",
                                             layout=W.Layout(width="240px"),
                                             style={"description_width": "90px"}),
                                "sj-filter-created-from")
        self.created_to = css(W.DatePicker(description="to", layout=W.Layout(width="180px"),
                                           style={"description_width": "25px"}),
                              "sj-filter-created-to")
        for w in (self.search, self.min_size, self.max_size, self.created_from, self.created_to):
            w.observe(lambda _c: self._apply_filters(), "value")
        self.reload_button = css(W.Button(description="Reload", icon="refresh",
                                          layout=W.Layout(width="auto")), "sj-reload")
        self.reload_button.on_click(lambda _b: self.reload())
        filters = W.HBox([self.search, self.min_size, self.max_size, self.created_from,
                          self.created_to, self.reload_button],
                         layout=W.Layout(flex_flow="row wrap", align_items="center"))
        header = W.HBox([W.HTML(f"<b>{t}</b>", layout=W.Layout(width=w, flex="0 0 auto"))
                         for t, w in COLUMNS]
                        + [W.HTML("<b>actions</b>")])
        self.body = css(W.VBox([]), "sj-segment-rows")
        self.empty = css(W.HTML("<i>No saved segments yet: build one and press Save.</i>"),
                         "sj-empty")
        self.message = css(W.HTML(""), "sj-list-message")
        self.confirm_text = W.HTML("")
        self.confirm_yes = css(W.Button(description="Yes, delete", button_style="danger"),
                               "sj-confirm-yes")
        self.confirm_no = css(W.Button(description="Cancel"), "sj-confirm-no")
        self.confirm_yes.on_click(lambda _b: self._confirm_delete(True))
        self.confirm_no.on_click(lambda _b: self._confirm_delete(False))
        self.confirm = css(W.HBox([self.confirm_text, self.confirm_yes, self.confirm_no],
                                  layout=W.Layout(align_items="center")), "sj-confirm-delete")
        show(self.confirm, False)
        self.detail = css(W.VBox([]), "sj-list-detail")
        # read-only: the delete confirmation is not even in the page
        confirm = () if read_only else (self.confirm,)
        self.children = (style_html(), filters, header, self.body, self.empty, *confirm,
                         self.message, self.detail)
        self.reload()

    # -- data ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the catalog again and update the rows in place."""
        df = self.ws.segments.list()
        created = self.ws.sql("SELECT name, created_at FROM catalog.segments").df()
        df = df.merge(created, on="name", how="left")
        self.frame = df
        records = {r["name"]: r for r in df.to_dict("records")}
        for name in [n for n in self.rows if n not in records]:
            close_all(self.rows.pop(name))
        order = []
        for name, r in records.items():
            row = self.rows.get(name)
            if row is None:
                row = self.rows[name] = SegmentRow(self, r)
            else:
                row.update(r)
            order.append(row)
        set_children(self.body, order)
        self._apply_filters()

    def visible_names(self) -> list[str]:
        return [n for n, r in self.rows.items() if r.layout.display != "none"]

    def _apply_filters(self) -> None:
        text = self.search.value.strip().lower()
        lo, hi = self.min_size.value, self.max_size.value
        d0, d1 = self.created_from.value, self.created_to.value
        for name, row in self.rows.items():
            r = row.record
            n = r["customers"]
            n = 0 if n is None or pd.isna(n) else int(n)
            created = r.get("created_at")
            day = pd.Timestamp(created).date() if created is not None and not pd.isna(
                created) else None
            ok = (not text or text in name.lower()) and n >= lo and (hi <= 0 or n <= hi)
            if d0 is not None:
                ok = ok and day is not None and day >= d0
            if d1 is not None:
                ok = ok and day is not None and day <= d1
            show(row, ok)
        show(self.empty, not self.rows)

    # -- actions ---------------------------------------------------------------------------
    def on_edit(self, callback) -> None:
        """Let ``callback(name)`` handle the edit action (an app opens its builder)."""
        self._handlers["edit"] = callback

    def on_dashboard(self, callback) -> None:
        self._handlers["dashboard"] = callback

    def act(self, action: str, name: str) -> None:
        """Run ``action`` (a key of :data:`ACTIONS`) on segment ``name``, as its button does."""
        if ACTIONS[action][2] and self.read_only:
            raise SegjupyterError("this segment list is read-only")
        self.message.value = ""
        try:
            getattr(self, f"_{action}")(name)
        except SegjupyterError as e:
            self.message.value = error_text(str(e))

    def _say(self, text: str) -> None:
        self.message.value = f"<span class='sj-done'>{text}</span>"

    def _show_detail(self, *widgets) -> None:
        old = self.detail.children
        set_children(self.detail, widgets)
        for w in old:
            if w not in widgets:
                close_all(w)

    def _details(self, name: str) -> None:
        cat = self.ws.segments
        info = cat.info(name)
        members = cat.members(name, columns=["first_name", "last_name", "email", "city"]) \
            if info.evaluated else pd.DataFrame()
        runs = cat.runs(name, limit=5)
        hist = cat.history(name)
        esc = html.escape
        rows = [("rule", f"<pre style='margin:0'>{esc(info.text)}</pre>"),
                ("description", esc(info.description or "")),
                ("kind / status", f"{info.kind} / {info.status}"),
                ("created", f"{info.created_at:%Y-%m-%d %H:%M}"),
                ("last refresh", f"{info.last_refresh_at:%Y-%m-%d %H:%M} (as of "
                 f"{info.last_as_of:%Y-%m-%d})" if info.last_refresh_at else "never"),
                ("customers", _num(info.customers)), ("subscribed", _num(info.subscribed))]
        if info.last_error:
            rows.append(("last error", error_text(info.last_error)))
        table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        parts = [f"<h4 style='margin:6px 0'>{esc(name)}</h4><div class='sj-table'>"
                 f"<table>{table}</table></div>"]
        if len(hist):
            parts.append("<b>Size history</b><br>" + sparkline(hist["customers"], 360, 60))
        if len(members):
            parts.append(f"<b>Members</b> (first 10 of {len(members):,})" +
                         frame_html(members.head(10), numeric=("customer_id",)))
        if len(runs):
            parts.append("<b>Last refreshes</b>" + frame_html(
                runs[["as_of", "action", "customers", "entered", "left", "duration_s"]],
                numeric=("customers", "entered", "left", "duration_s")))
        self._show_detail(css(W.HTML("".join(parts)), "sj-details"))

    def _dashboard(self, name: str) -> None:
        if self._handlers["dashboard"] is not None:
            self._handlers["dashboard"](name)
            return
        from .dashboard import SegmentDashboard
        self._show_detail(SegmentDashboard(self.ws, [name]))

    def _edit(self, name: str) -> None:
        if self._handlers["edit"] is not None:
            self._handlers["edit"](name)
            return
        from .builder import RuleBuilder
        b = RuleBuilder(self.ws, name)
        b.on_save(lambda _n: self.reload())
        self._show_detail(b)

    def _refresh(self, name: str) -> None:
        run = self.ws.segments.refresh(name)
        self.reload()
        self._say(f"refreshed <b>{html.escape(name)}</b>: {run['customers']:,} customers "
                  f"(+{run['entered']:,} / −{run['left']:,})")

    def _refresh_background(self, name: str) -> None:
        req = self.ws.segments.queue_refresh(name)
        if name in self.rows:
            self.rows[name].set_background(req)
        if self._watcher is None:
            from ..segments.watch import Watcher
            self._watcher = Watcher(self.ws.segments, self._background_changed)
        self._watcher.add(req)
        self._say(f"<b>{html.escape(name)}</b>: background refresh queued "
                  f"(request {req['request_id']})")

    def _background_changed(self, req: dict) -> None:
        """Called from the watcher thread on every state change of a request from here."""
        name = req["segment"]
        if req["state"] in ("done", "failed"):
            self.reload()  # new customers, status, history
            if req["state"] == "done":
                self._say(f"background refresh of <b>{html.escape(name)}</b> done: "
                          f"{req['customers']:,} customers (+{req['entered']:,} / "
                          f"−{req['left']:,})")
            else:
                self.message.value = error_text(f"background refresh of {name} failed: "
                                                f"{req['error']}")
        elif name in self.rows:
            self.rows[name].set_background(req)

    def _toggle(self, name: str) -> None:
        cat = self.ws.segments
        r = cat.deactivate(name) if cat.info(name).active else cat.activate(name)
        self.reload()
        self._say(f"<b>{html.escape(name)}</b> is now {'active' if r.active else 'inactive'}")

    def _duplicate(self, name: str) -> None:
        names = set(self.ws.segments.names())
        new, k = f"{name} copy", 2
        while new in names:
            new, k = f"{name} copy {k}", k + 1
        self.ws.segments.duplicate(name, new)
        self.reload()
        self._say(f"duplicated as <b>{html.escape(new)}</b>")

    def _snapshot(self, name: str) -> None:
        snap = self.ws.segments.snapshot(name)
        self._say(f"snapshot {snap['snapshot_id']} of <b>{html.escape(name)}</b>: "
                  f"{snap['customers']:,} customers frozen")

    def _export(self, name: str) -> None:
        fd, path = tempfile.mkstemp(suffix=".csv")
        os.close(fd)
        try:
            n = self.ws.segments.export_csv(name, path)
            with open(path, "rb") as f:
                data = base64.b64encode(f.read()).decode("ascii")
        finally:
            os.unlink(path)
        fname = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) + ".csv"
        self.message.value = (
            f"<a class='sj-download' download='{html.escape(fname)}' "
            f"href='data:text/csv;base64,{data}'>⬇ download {html.escape(fname)}</a> "
            f"({n:,} rows)")

    def _delete(self, name: str) -> None:
        self._pending_delete = name
        self.confirm_text.value = (f"Delete segment <b>{html.escape(name)}</b> with its members "
                                   "and history? ")
        show(self.confirm, True)

    def _confirm_delete(self, yes: bool) -> None:
        name, self._pending_delete = self._pending_delete, None
        show(self.confirm, False)
        if not yes or name is None:
            return
        try:
            self.ws.segments.delete(name)
        except SegjupyterError as e:
            self.message.value = error_text(str(e))
            return
        self.reload()
        self._say(f"deleted <b>{html.escape(name)}</b>")
