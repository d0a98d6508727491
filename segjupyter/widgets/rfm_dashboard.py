"""The RFM overview: named RFM segments with counts, revenue, trips and recency."""

from __future__ import annotations

import ipywidgets as W

from .. import analytics as an
from .. import charts
from ..errors import SegjupyterError
from .layout import close_all, css, error_text, frame_html, style_html

ATTRIBUTIONS = (("customer id", "customer_id"), ("email", "email"), ("phone", "phone"))


class RFMDashboard(W.VBox):
    """RFM segments (champions, loyal, ... lost) as of a date: a table of customers, revenue
    over the last 365 days, average revenue, trips and recency; pies of the customer and
    revenue shares; bubbles of recency against frequency sized by revenue.

    ``attribution`` pools the orders of customers recognised as one person by ``email`` or
    ``phone`` (or scores each ``customer_id``); ``segment`` restricts the overview to a saved
    segment's members. Every picker refills the charts in place.

    >>> RFMDashboard(ws, attribution="email")
    """

    def __init__(self, ws, attribution: str = "customer_id", segment: str | None = None,
                 as_of=None):
        super().__init__()
        css(self, "sj-rfm-dashboard")
        self.ws = ws
        self.attribution = css(W.ToggleButtons(options=ATTRIBUTIONS, value=attribution,
                                               description="Attribution",
                                               style={"button_width": "110px"}),
                               "sj-attribution")
        self.segment_picker = css(W.Dropdown(
            options=self._segment_options(), value=segment or an.ALL_CUSTOMERS,
            description="Segment", layout=W.Layout(width="320px"),
            style={"description_width": "60px"}), "sj-rfm-segment")
        at = an.resolve_as_of(ws, as_of)
        self.as_of = css(W.DatePicker(value=at.date(), description="As of",
                                      layout=W.Layout(width="230px"),
                                      style={"description_width": "45px"}), "sj-rfm-as-of")
        self.message = css(W.HTML(""), "sj-rfm-message")
        self.table = css(W.HTML(""), "sj-rfm-table")
        self.summary = self._compute()
        self.figures = {
            "customers": charts.rfm_pie(self.summary, "customer_pct"),
            "revenue": charts.rfm_pie(self.summary, "revenue_pct"),
            "bubbles": charts.rfm_bubbles(self.summary),
        }
        for key in ("customers", "revenue"):
            self.figures[key].layout.width = "49%"
        self._fill_table()
        self.children = (
            style_html(),
            W.HBox([self.attribution], layout=W.Layout(flex_flow="row wrap")),
            W.HBox([self.segment_picker, self.as_of], layout=W.Layout(flex_flow="row wrap")),
            self.message,
            W.HBox([self.figures["customers"], self.figures["revenue"]],
                   layout=W.Layout(width="100%", flex_flow="row wrap")),
            self.figures["bubbles"], self.table)
        for w in (self.attribution, self.segment_picker, self.as_of):
            w.observe(lambda _c: self.update(), "value")

    def _segment_options(self) -> list[str]:
        return [an.ALL_CUSTOMERS, *self.ws.segments.names()]

    def _compute(self):
        label = self.segment_picker.value
        seg = None if label == an.ALL_CUSTOMERS else self.ws.segments.get(label)
        as_of = self.as_of.value
        return an.rfm_summary(self.ws, as_of, attribution=self.attribution.value, segment=seg)

    def _fill_table(self) -> None:
        s = self.summary
        cols = ["rfm_segment", "customers", "customer_pct", "revenue_365d", "revenue_pct",
                "avg_revenue", "avg_trips", "avg_recency_days"]
        self.table.value = frame_html(s[[c for c in cols if c in s.columns]],
                                      numeric=cols[1:])

    def update(self) -> None:
        """Recompute with the pickers' values and refill every chart in place."""
        self.message.value = ""
        try:
            self.summary = self._compute()
        except SegjupyterError as e:
            self.message.value = error_text(str(e))
            return
        for fig in self.figures.values():
            charts.update(fig, self.summary)
        self._fill_table()

    def reload_segments(self) -> None:
        opts = self._segment_options()
        if list(self.segment_picker.options) != opts:
            keep = self.segment_picker.value if self.segment_picker.value in opts else opts[0]
            with self.segment_picker.hold_sync():
                self.segment_picker.options = opts
                self.segment_picker.value = keep

    def close_all(self) -> None:
        close_all(self)
