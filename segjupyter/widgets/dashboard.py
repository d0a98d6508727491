"""The segment dashboard: every analytic of one or several segments over a period.

Sections are shown one at a time (a bqplot figure that starts in a hidden tab can render at
zero size); a section's figures are built the first time it is shown and afterwards only
their marks are refilled (``charts.update``) when the period or the segments change.
"""

from __future__ import annotations

import ipywidgets as W
import pandas as pd

from .. import analytics as an
from .. import charts
from ..errors import SegjupyterError
from .layout import close_all, css, error_text, frame_html, set_children, show, style_html

SECTIONS = (("Overview", "overview"), ("Evolution", "evolution"),
            ("Purchase moment", "moment"), ("Top products", "products"),
            ("Lifecycle & value", "lifecycle"), ("Predicted value", "clv"), ("Reach", "reach"),
            ("Demographics", "demographics"), ("Overlap", "overlap"),
            ("Campaigns", "campaigns"))
PERIODS = ("last 12 months", "last 6 months", "last 90 days", "last 30 days", "this year",
           "last year", "this month", "last month")
ALL = an.ALL_CUSTOMERS
_DIMENSIONS = ("age", "gender", "city", "country", "store", "channel")


def _row(*widgets) -> W.HBox:
    return W.HBox(list(widgets), layout=W.Layout(width="100%", flex_flow="row wrap"))


def _half(fig):
    fig.layout.width = "49%"
    return fig


class SegmentDashboard(W.VBox):
    """Analytics of saved segments (or ``Segment`` objects) over a period.

    ``segments``: names of saved segments and/or Segment objects (default: the first saved
    segment, else all customers); the first one is the *focus* of single-segment sections,
    and all of them are compared in the overview and the overlap. ``period``: text such as
    ``"last 12 months"``, ``"2025"`` or ``"2025-01-01..2025-06-30"``. Pickers change
    segments, focus and period; charts refill in place.

    >>> SegmentDashboard(ws, ["big_spenders", "lapsed"], period="2025")
    """

    def __init__(self, ws, segments=None, period: str = "last 12 months",
                 read_only: bool = True):
        super().__init__()
        css(self, "sj-dashboard")
        self.ws = ws
        self.read_only = read_only
        self._objects: dict[str, object] = {}  # label -> Segment given as an object
        selected = self._labels_of(segments)
        options = self._options(selected)
        self.segment_picker = css(W.SelectMultiple(
            options=options, value=tuple(selected), rows=min(6, max(3, len(options))),
            description="Segments", layout=W.Layout(width="330px"),
            style={"description_width": "70px"}), "sj-segment-picker")
        self.focus = css(W.Dropdown(options=selected, value=selected[0], description="Detail",
                                    layout=W.Layout(width="300px"),
                                    style={"description_width": "50px"}), "sj-focus")
        self.period_picker = css(W.Combobox(
            value=period, options=list(PERIODS), ensure_option=False, description="Period",
            continuous_update=False, layout=W.Layout(width="300px"),
            style={"description_width": "50px"}), "sj-period-picker")
        self.sections = css(W.ToggleButtons(options=SECTIONS, value="overview",
                                            style={"button_width": "auto"}), "sj-sections")
        self.message = css(W.HTML(""), "sj-dashboard-message")
        self.body = css(W.VBox([], layout=W.Layout(width="100%")), "sj-section-body")
        self._views: dict[str, dict] = {}  # section -> {"box": widget, "figs": {...}, ...}
        self._stale: set[str] = set()
        self.frames: dict[str, object] = {}
        self.children = (
            style_html(),
            W.HBox([self.segment_picker, W.VBox([self.period_picker, self.focus])],
                   layout=W.Layout(align_items="flex-start", flex_flow="row wrap")),
            self.sections, self.message, self.body)
        self.segment_picker.observe(self._segments_changed, "value")
        self._syncing = False  # the focus follows the segments: one recompute, not two
        self.focus.observe(lambda _c: self._syncing or self._inputs_changed(), "value")
        self.period_picker.observe(lambda _c: self._inputs_changed(), "value")
        self.sections.observe(lambda _c: self._show_section(), "value")
        self._sync_focus()
        self._show_section()

    # -- inputs ----------------------------------------------------------------------------
    def _labels_of(self, segments) -> list[str]:
        from ..rules.segment import Segment
        if segments is None:
            names = self.ws.segments.names()
            return [names[0]] if names else [ALL]
        if isinstance(segments, (str, Segment)):
            segments = [segments]
        out = []
        for s in segments:
            if isinstance(s, Segment):
                label = s.name or an.population.segment_label(s, len(out))
                self._objects[label] = s
                out.append(label)
            elif s is None:
                out.append(ALL)
            else:
                self.ws.segments.info(s)  # unknown names fail here, with a did-you-mean
                out.append(s)
        return out or [ALL]

    def _options(self, selected) -> list[str]:
        names = list(self.ws.segments.names())
        extra = [s for s in selected if s not in names and s != ALL]
        return [*names, *extra, ALL]

    def reload_segments(self) -> None:
        """Pick up segments saved since the dashboard was made."""
        sel = tuple(self.segment_picker.value)
        opts = self._options(sel)
        if list(self.segment_picker.options) != opts:
            with self.segment_picker.hold_sync():
                self.segment_picker.options = opts
                self.segment_picker.value = tuple(s for s in sel if s in opts)

    def select(self, *labels: str) -> None:
        """Show these segments (saved names or ``"All customers"``)."""
        self.reload_segments()
        for s in labels:
            if s not in self.segment_picker.options:
                self.ws.segments.info(s)
        self.segment_picker.value = tuple(labels)

    @property
    def selected(self) -> list[str]:
        return list(self.segment_picker.value) or [ALL]

    def segment_of(self, label: str):
        if label == ALL:
            return None
        if label in self._objects:
            return self._objects[label]
        return self.ws.segments.get(label)

    @property
    def period(self):
        return an.resolve_period(self.ws, self.period_picker.value.strip() or None)

    def _sync_focus(self) -> None:
        sel = self.selected
        self._syncing = True
        try:
            with self.focus.hold_sync():
                if list(self.focus.options) != sel:
                    keep = self.focus.value if self.focus.value in sel else sel[0]
                    self.focus.options = sel
                    self.focus.value = keep
        finally:
            self._syncing = False
        show(self.focus, len(sel) > 1)

    def _segments_changed(self, _change) -> None:
        self._sync_focus()
        self._inputs_changed()

    def _inputs_changed(self) -> None:
        self._stale = {k for _l, k in SECTIONS}
        self._show_section()

    # -- sections ------------------------------------------------------------------------------
    def _show_section(self) -> None:
        key = self.sections.value
        self.message.value = ""
        try:
            period = self.period
            if key not in self._views:
                self._views[key] = getattr(self, f"_build_{key}")(period)
            elif key in self._stale:
                getattr(self, f"_update_{key}")(self._views[key], period)
            self._stale.discard(key)
        except SegjupyterError as e:
            self.message.value = error_text(str(e))
        view = self._views.get(key)
        set_children(self.body, [view["box"]] if view else [])

    def refresh(self) -> None:
        """Recompute the shown section (e.g. after the data or the segments changed)."""
        self._inputs_changed()

    def figures(self, section: str | None = None) -> list:
        """The bqplot figures of a built section (default: the shown one)."""
        view = self._views.get(section or self.sections.value)
        return list(view["figs"].values()) if view else []

    def _focus_segment(self):
        return self.segment_of(self.focus.value if self.focus.value in self.selected
                               else self.selected[0])

    def _compared(self) -> dict:
        return {label: self.segment_of(label) for label in self.selected if label != ALL}

    def _table(self, view, df, numeric=()):
        view["table"].value = frame_html(df, numeric=numeric)

    @staticmethod
    def _view(figs: dict, *rows, table=True) -> dict:
        t = css(W.HTML(""), "sj-section-table") if table else None
        kids = list(rows) + ([t] if t is not None else [])
        return {"box": W.VBox(kids, layout=W.Layout(width="100%")), "figs": figs,
                "table": t}

    # overview: general statistics, compared across segments and against all customers
    def _overview_frame(self, period):
        stats = an.general_stats(self.ws, self._compared(), period)
        self.frames["overview"] = stats
        return stats

    def _build_overview(self, period):
        stats = self._overview_frame(period)
        figs = {"customers": charts.kpi_bars(stats, "customers"),
                "revenue": charts.kpi_bars(stats, "revenue"),
                "avg_ticket": charts.kpi_bars(stats, "avg_ticket"),
                # one KPI per chart: grouped bars (charts.comparison_bars) draw empty
                # in bqplot 0.13's front end
                "revenue_share": charts.kpi_bars(stats, "revenue_share")}
        view = self._view(figs, _row(_half(figs["customers"]), _half(figs["revenue"])),
                          _row(_half(figs["avg_ticket"]), _half(figs["revenue_share"])))
        self._table(view, stats, numeric=stats.columns[1:])
        return view

    def _update_overview(self, view, period):
        stats = self._overview_frame(period)
        for fig in view["figs"].values():
            charts.update(fig, stats)
        self._table(view, stats, numeric=stats.columns[1:])

    # evolution over time
    def _evolution_frame(self, period, view=None):
        freq = view["freq"].value if view else "month"
        df = an.evolution(self.ws, self._focus_segment(), period, freq=freq)
        self.frames["evolution"] = df
        return df

    def _build_evolution(self, period):
        df = self._evolution_frame(period)
        figs = {"sales": charts.evolution_lines(df, ("sales", "active_customers"),
                                                title="Sales and active customers"),
                "tickets": charts.evolution_lines(df, ("tickets", "avg_ticket"),
                                                  title="Tickets and average ticket")}
        freq = css(W.ToggleButtons(options=["day", "week", "month"], value="month",
                                   style={"button_width": "75px"}), "sj-freq")
        view = self._view(figs, freq, _row(_half(figs["sales"]), _half(figs["tickets"])))
        view["freq"] = freq
        freq.observe(lambda _c: self._update_evolution(view, self.period), "value")
        self._table(view, df, numeric=df.columns[1:])
        return view

    def _update_evolution(self, view, period):
        df = self._evolution_frame(period, view)
        for fig in view["figs"].values():
            charts.update(fig, df)
        self._table(view, df, numeric=df.columns[1:])

    # purchase moment: weekday x hour
    def _moment_frame(self, period):
        df = an.purchase_moment(self.ws, self._focus_segment(), period)
        self.frames["moment"] = df
        return df

    def _build_moment(self, period):
        df = self._moment_frame(period)
        figs = {"heatmap": charts.moment_heatmap(df),
                "hours": charts.moment_bars(df, by="hour"),
                "weekdays": charts.moment_bars(df, by="weekday")}
        return self._view(figs, figs["heatmap"],
                          _row(_half(figs["hours"]), _half(figs["weekdays"])), table=False)

    def _update_moment(self, view, period):
        df = self._moment_frame(period)
        for fig in view["figs"].values():
            charts.update(fig, df)

    # top products
    def _products_frame(self, period, view=None):
        by = view["by"].value if view else "revenue"
        df = an.top_products(self.ws, self._focus_segment(), period, by=by, n=100)
        self.frames["products"] = df
        return df

    def _build_products(self, period):
        df = self._products_frame(period)
        figs = {"bars": charts.top_products_bars(df, "revenue", n=20)}
        by = css(W.ToggleButtons(options=[("revenue", "revenue"), ("units", "units"),
                                          ("repeat rate", "repeat_rate"), ("buyers", "buyers")],
                                 value="revenue", description="Rank by",
                                 style={"button_width": "80px"}), "sj-rank-by")
        view = self._view(figs, by, figs["bars"])
        view["by"] = by
        by.observe(lambda _c: self._update_products(view, self.period), "value")
        self._products_table(view, df)
        return view

    def _products_table(self, view, df):
        cols = [c for c in ("rank", "product", "brand", "category", "revenue", "units",
                            "buyers", "repeat_rate", "propensity", "lift") if c in df.columns]
        view["table"].value = ("<div style='max-height:360px;overflow:auto'>" +
                               frame_html(df[cols], numeric=cols[4:] + ["rank"]) + "</div>")

    def _update_products(self, view, period):
        df = self._products_frame(period, view)
        charts.update(view["figs"]["bars"], df)
        self._products_table(view, df)

    # lifecycle and value tiers
    def _lifecycle_frames(self, period):
        at = an.period.membership_as_of(self.ws, period)
        seg = self._focus_segment()
        lc = an.lifecycle(self.ws, seg, at)
        tiers = an.value_tiers(self.ws, seg, at)
        self.frames["lifecycle"], self.frames["tiers"] = lc, tiers
        return lc, tiers

    def _build_lifecycle(self, period):
        lc, tiers = self._lifecycle_frames(period)
        figs = {"lifecycle": charts.lifecycle_bars(lc), "tiers": charts.tier_bars(tiers)}
        view = self._view(figs, _row(_half(figs["lifecycle"]), _half(figs["tiers"])))
        self._table(view, tiers, numeric=tiers.columns[1:])
        return view

    def _update_lifecycle(self, view, period):
        lc, tiers = self._lifecycle_frames(period)
        charts.update(view["figs"]["lifecycle"], lc)
        charts.update(view["figs"]["tiers"], tiers)
        self._table(view, tiers, numeric=tiers.columns[1:])

    # predicted value (BG/NBD + Gamma-Gamma, fitted once per data version and day)
    def _clv_frame(self, period):
        at = an.period.membership_as_of(self.ws, period)
        try:  # the models need enough purchase history to be fitted
            clv = an.clv_bands(self.ws, self._focus_segment(), at, horizon="12 months")
        except SegjupyterError as e:
            self.message.value = error_text(str(e))
            clv = pd.DataFrame(columns=an.clv.BAND_COLUMNS)
        self.frames["clv"] = clv
        return clv

    def _build_clv(self, period):
        clv = self._clv_frame(period)
        figs = {"clv": charts.clv_bars(clv, "customers", title="Predicted CLV, next 12 months"),
                "clv_value": charts.clv_bars(clv, "predicted_clv",
                                             title="Predicted value by band, 12 months")}
        view = self._view(figs, _row(_half(figs["clv"]), _half(figs["clv_value"])))
        self._table(view, clv, numeric=clv.columns[1:])
        return view

    def _update_clv(self, view, period):
        clv = self._clv_frame(period)
        for fig in view["figs"].values():
            charts.update(fig, clv)
        self._table(view, clv, numeric=clv.columns[1:])

    # reachability
    def _reach_frame(self, period):
        df = an.reachability(self.ws, self._focus_segment(),
                             an.period.membership_as_of(self.ws, period))
        self.frames["reach"] = df
        return df

    def _build_reach(self, period):
        df = self._reach_frame(period)
        figs = {"reach": charts.reach_bars(df)}
        view = self._view(figs, figs["reach"])
        self._table(view, df, numeric=df.columns[1:])
        return view

    def _update_reach(self, view, period):
        df = self._reach_frame(period)
        charts.update(view["figs"]["reach"], df)
        self._table(view, df, numeric=df.columns[1:])

    # demographics
    def _demographics_frame(self, period):
        df = an.demographics(self.ws, self._focus_segment(), period)
        self.frames["demographics"] = df
        return df

    def _build_demographics(self, period):
        df = self._demographics_frame(period)
        figs = {"age": charts.demographics_bars(df, "age"),
                "channel": charts.demographics_bars(df, "channel"),
                "city": charts.demographics_bars(df, "city", top=12),
                "store": charts.demographics_bars(df, "store", top=12)}
        return self._view(figs, _row(_half(figs["age"]), _half(figs["channel"])),
                          _row(_half(figs["city"]), _half(figs["store"])), table=False)

    def _update_demographics(self, view, period):
        df = self._demographics_frame(period)
        for fig in view["figs"].values():
            charts.update(fig, df)

    # overlap between the selected segments
    def _overlap_frame(self, period):
        segs = self._compared()
        if not segs:
            segs = {ALL: None}
        df = an.overlap(self.ws, segs, an.period.membership_as_of(self.ws, period))
        self.frames["overlap"] = df
        return df

    def _build_overlap(self, period):
        df = self._overlap_frame(period)
        figs = {"overlap": charts.overlap_heatmap(df)}
        note = css(W.HTML("<i>Select two segments or more to see how they overlap.</i>"),
                   "sj-overlap-note")
        view = self._view(figs, note, figs["overlap"])
        view["note"] = note
        self._fill_overlap(view, df)
        return view

    def _fill_overlap(self, view, df):
        several = len(self._compared()) > 1
        show(view["note"], not several)
        show(view["figs"]["overlap"], several)  # a 1 x 1 grid says nothing
        self._table(view, df, numeric=df.columns[2:])

    def _update_overlap(self, view, period):
        df = self._overlap_frame(period)
        charts.update(view["figs"]["overlap"], df)
        self._fill_overlap(view, df)

    # campaigns of the focus segment: lift table and the two arms over time
    def _campaign_names(self) -> list[str]:
        df = self.ws.campaigns.list()
        focus = self.focus.value if self.focus.value in self.selected else self.selected[0]
        if focus != ALL:
            df = df[df["segment"] == focus]
        return df["name"].tolist()[::-1]  # newest first

    def _campaign_frames(self, view):
        name = view["campaign"].value
        if not name:
            empty = pd.DataFrame(columns=an.lift.TIMELINE_COLUMNS)
            self.frames["campaign_lift"] = pd.DataFrame(columns=an.lift.LIFT_COLUMNS)
            self.frames["campaign_timeline"] = empty
            return self.frames["campaign_lift"], empty
        window = view["window"].value
        lift = an.campaign_lift(self.ws, name, list(an.lift.METRICS), window)
        timeline = an.campaign_timeline(self.ws, name, view["metric"].value, window)
        self.frames["campaign_lift"], self.frames["campaign_timeline"] = lift, timeline
        return lift, timeline

    def _campaign_table(self, view, lift):
        if lift.empty:
            view["table"].value = ("<i>No campaign of this segment yet: "
                                   "ws.campaigns.create(segment, name, holdout=0.1).</i>")
            return
        cols = ["metric", "target_customers", "control_customers", "target_mean",
                "control_mean", "lift", "lift_low", "lift_high", "relative_lift", "p_value"]
        shown = lift[cols].copy()
        shown["p_value"] = [f"{p:.2g}" for p in shown["p_value"]]  # 0.00026, not 0.00
        self._table(view, shown, numeric=cols[1:])

    def _build_campaigns(self, period):
        names = self._campaign_names()
        pick = css(W.Dropdown(options=names, value=names[0] if names else None,
                              description="Campaign", layout=W.Layout(width="330px"),
                              style={"description_width": "70px"}), "sj-campaign-picker")
        metric = css(W.ToggleButtons(options=list(an.lift.METRICS), value="spend",
                                     style={"button_width": "90px"}), "sj-lift-metric")
        window = css(W.Dropdown(options=["30 days", "14 days", "60 days", "90 days"],
                                value="30 days", description="Window",
                                layout=W.Layout(width="200px"),
                                style={"description_width": "55px"}), "sj-lift-window")
        view = {"campaign": pick, "metric": metric, "window": window}
        lift, timeline = self._campaign_frames(view)
        figs = {"lift": charts.lift_lines(timeline, metric.value)}
        view.update(self._view(figs, _row(pick, window), metric, figs["lift"]))
        view.update(campaign=pick, metric=metric, window=window)
        self._campaign_table(view, lift)
        for w in (pick, window):
            w.observe(lambda _c: self._refill_campaigns(view), "value")
        metric.observe(lambda _c: self._rebuild_lift_chart(view), "value")
        return view

    def _refill_campaigns(self, view):
        self.message.value = ""
        try:
            lift, timeline = self._campaign_frames(view)
        except SegjupyterError as e:
            self.message.value = error_text(str(e))
            return
        charts.update(view["figs"]["lift"], timeline)
        self._campaign_table(view, lift)

    def _rebuild_lift_chart(self, view):
        # the metric changes the axis label and formats: a new figure in the same place
        old = view["figs"]["lift"]
        lift, timeline = self._campaign_frames(view)
        fig = charts.lift_lines(timeline, view["metric"].value)
        view["figs"]["lift"] = fig
        box = view["box"]
        set_children(box, [fig if c is old else c for c in box.children])
        close_all(old)
        self._campaign_table(view, lift)

    def _update_campaigns(self, view, period):
        names = self._campaign_names()
        pick = view["campaign"]
        with pick.hold_sync():
            if list(pick.options) != names:
                pick.options = names
                pick.value = names[0] if names else None
        self._refill_campaigns(view)

    def close_all(self) -> None:
        for view in self._views.values():
            close_all(view["box"])
        close_all(self)


