"""Segment dashboard, RFM dashboard and template gallery, driven through their pickers:
frames equal the analytics called directly, charts show those frames and are refilled in
place (same Figure objects) when a picker changes."""

from __future__ import annotations

import datetime as dt
import html

import numpy as np
import pandas as pd
import pytest

import segjupyter
from segjupyter import analytics as an
from segjupyter.widgets import RFMDashboard, SegmentDashboard, TemplateGallery
from segjupyter.widgets.dashboard import SECTIONS


@pytest.fixture(scope="module")
def ws(demo_copy):
    w = segjupyter.open(demo_copy("widgets-dash"))
    w.segments.save('spend(last 12 months) >= 500', name="big", refresh=True)
    w.segments.save('city = "Madrid"', name="madrid", refresh=True)
    yield w
    w.close()


def bar_values(fig) -> list[float]:
    return [float(v) for v in np.asarray(fig.marks[0].y).ravel()]


def test_every_section_builds_from_the_analytics(ws):
    d = SegmentDashboard(ws, ["big"], period="last 12 months")
    big = ws.segments.get("big")
    for _label, key in SECTIONS:
        d.sections.value = key
        assert d.message.value == "", key
        assert d.body.children and d.figures(), key
        for fig in d.figures():
            assert "sj-chart" in fig._dom_classes
            assert fig.layout.height  # explicit heights: nothing renders at zero size
    stats = an.general_stats(ws, {"big": big}, "last 12 months")
    pd.testing.assert_frame_equal(d.frames["overview"], stats)
    pd.testing.assert_frame_equal(d.frames["evolution"],
                                  an.evolution(ws, big, "last 12 months"))
    pd.testing.assert_frame_equal(d.frames["products"],
                                  an.top_products(ws, big, "last 12 months", n=100))
    customers = d.figures("overview")[0]
    assert list(customers.marks[0].x) == ["big", "All customers"]
    assert bar_values(customers) == [float(v) for v in stats["customers"]]
    assert f"{int(stats['customers'].iloc[0]):,}" in d._views["overview"]["table"].value


def test_pickers_refill_the_same_figures(ws):
    d = SegmentDashboard(ws, ["big"])
    figs = d.figures()
    before = bar_values(figs[1])
    d.period_picker.value = "2025"
    assert d.figures() == figs  # same Figure objects, new data
    stats = an.general_stats(ws, {"big": ws.segments.get("big")}, "2025")
    assert bar_values(figs[1]) == pytest.approx([float(v) for v in stats["revenue"]])
    assert bar_values(figs[1]) != before
    # sections not shown are refreshed when shown, with the current pickers
    d.sections.value = "evolution"
    evo = d.figures()
    d.period_picker.value = "last 90 days"
    assert d.figures() == evo
    assert len(d.frames["evolution"]) == len(an.evolution(ws, ws.segments.get("big"),
                                                          "last 90 days"))
    d.sections.value = "overview"
    assert d.figures() == figs
    stats = an.general_stats(ws, {"big": ws.segments.get("big")}, "last 90 days")
    assert bar_values(figs[1]) == pytest.approx([float(v) for v in stats["revenue"]])


def test_several_segments_focus_and_overlap(ws):
    d = SegmentDashboard(ws, ["big"])
    d.segment_picker.value = ("big", "madrid")
    assert d.focus.layout.display is None  # the focus picker appears for several segments
    assert list(d.frames["overview"]["segment"]) == ["big", "madrid", "All customers"]
    d.sections.value = "evolution"
    d.focus.value = "madrid"
    pd.testing.assert_frame_equal(d.frames["evolution"],
                                  an.evolution(ws, ws.segments.get("madrid")))
    d.sections.value = "overlap"
    ov = d.frames["overlap"]
    shared = ov[(ov.segment_a == "big") & (ov.segment_b == "madrid")]["shared"].iloc[0]
    n = ws.segment('spend(last 12 months) >= 500 and city = "Madrid"').count()
    assert shared == n
    assert d._views["overlap"]["figs"]["overlap"].layout.display is None
    d.segment_picker.value = ("madrid",)
    assert d._views["overlap"]["figs"]["overlap"].layout.display == "none"


def test_unsaved_segments_and_bad_period(ws):
    seg = ws.segment('loyalty_tier = "gold"', name="gold")
    d = SegmentDashboard(ws, [seg])
    assert d.selected == ["gold"]
    assert d.frames["overview"]["customers"].iloc[0] == seg.count()
    figs = d.figures()
    values = bar_values(figs[0])
    d.period_picker.value = "the other day"
    assert "not understood" in d.message.value
    assert d.figures() == figs and bar_values(figs[0]) == values
    d.segment_picker.value = ("All customers",)
    assert "not understood" in d.message.value  # nothing is computed with a bad period
    d.period_picker.value = "last year"
    assert d.message.value == ""
    assert list(d.frames["overview"]["segment"]) == ["All customers"]


def test_select_picks_up_new_segments(ws):
    d = SegmentDashboard(ws)
    ws.segments.save("subscribed", name="subs_new", refresh=True)
    d.select("subs_new")
    assert d.selected == ["subs_new"]
    assert d.frames["overview"]["customers"].iloc[0] == ws.segments.info("subs_new").customers


def test_rfm_dashboard_pickers(ws):
    r = RFMDashboard(ws)
    pd.testing.assert_frame_equal(r.summary, an.rfm_summary(ws))
    pie = r.figures["customers"].marks[0]
    figs = dict(r.figures)
    shown = r.summary[r.summary["customer_pct"] > 0]
    assert [float(x) for x in pie.sizes] == pytest.approx(list(shown["customer_pct"]))
    r.segment_picker.value = "madrid"
    expected = an.rfm_summary(ws, segment=ws.segments.get("madrid"))
    pd.testing.assert_frame_equal(r.summary, expected)
    assert r.figures == figs
    shown = expected[expected["customer_pct"] > 0]
    assert [float(x) for x in pie.sizes] == pytest.approx(list(shown["customer_pct"]))
    r.attribution.value = "email"
    pd.testing.assert_frame_equal(r.summary, an.rfm_summary(
        ws, attribution="email", segment=ws.segments.get("madrid")))
    r.as_of.value = dt.date(2025, 6, 30)
    pd.testing.assert_frame_equal(r.summary, an.rfm_summary(
        ws, dt.date(2025, 6, 30), attribution="email", segment=ws.segments.get("madrid")))
    assert "champions" in r.table.value


@pytest.mark.parametrize("name", ["rfm_champions", "lapsed_buyers", "high_spenders",
                                  "birthday_this_month", "discount_hunters", "multi_channel",
                                  "newsletter_engaged", "win_back"])
def test_gallery_apply_counts_the_template(ws, name):
    g = TemplateGallery(ws)
    g.picker.value = name
    g.apply_button.click()
    seg = ws.segments.from_template(name)
    assert g.count == seg.count()
    assert f"{g.count:,}" in g.result.value
    assert list(g.members["customer_id"]) == list(seg.member_ids())
    assert html.escape(seg.text, quote=True) in g.preview.value


def test_gallery_parameters_and_open(ws):
    g = TemplateGallery(ws)
    g.picker.value = "high_spenders"
    g.params["min_spend"].value = 2000
    g.params["months"].value = 6
    assert g.segment.tree == ws.segments.from_template("high_spenders", min_spend=2000,
                                                       months=6).tree
    assert g.apply() == ws.segment("spend(last 6 months) >= 2000").count()
    g.picker.value = "win_back"
    g.params["stages"].value = ["at risk", "sleepy"]
    assert "sj-error" in g.preview.value and "sleepy" in g.preview.value
    assert g.segment is None
    g.apply_button.click()
    assert "sj-error" in g.result.value
    g.params["stages"].value = ["at risk"]
    g.open_button.click()
    (builder,) = g.detail.children
    assert builder.tree == ws.segments.from_template("win_back", stages=("at risk",)).tree
    assert builder.name.value == "win_back"
