"""Chart factories checked on their figure state: marks, data, labels, theme, empty state and
in-place updates. Frames come from the analytics on the demo workspace (size S)."""

from __future__ import annotations

import bqplot as bq
import numpy as np
import pandas as pd
import pytest

import segjupyter as sj
from segjupyter import analytics as an, charts
from segjupyter.charts import theme

YEAR = "2025"


@pytest.fixture(scope="module")
def demo(demo_ws_path):
    return sj.open(demo_ws_path)


@pytest.fixture(scope="module")
def segs(demo):
    return {"madrid": demo.segment('city = "Madrid"', name="madrid"),
            "big": demo.segment("spend(last 12 months) >= 500", name="big"),
            "empty": demo.segment('city = "Atlantis"', name="empty")}


def axis_labels(fig) -> list[str]:
    return [a.label for a in fig.axes if isinstance(a, bq.Axis) and
            not isinstance(a, bq.ColorAxis)]


def check_theme(fig, kind: str) -> None:
    assert "sj-chart" in fig._dom_classes and f"sj-chart-{kind}" in fig._dom_classes
    assert fig.layout.height.endswith("px") and fig.layout.min_width == theme.MIN_WIDTH
    assert isinstance(fig.marks[0].tooltip, bq.Tooltip) or isinstance(
        fig.marks[1].tooltip, bq.Tooltip)


def check_empty(fig, empty: bool) -> None:
    assert charts.is_empty(fig) is empty
    assert (theme.EMPTY_TITLE in fig.title) is empty


def test_kpi_and_comparison_bars(demo, segs):
    stats = an.general_stats(demo, [segs["madrid"], segs["big"]], YEAR)
    fig = charts.kpi_bars(stats, "avg_ticket")
    check_theme(fig, "kpi")
    check_empty(fig, False)
    bars, = fig.marks
    assert list(bars.x) == ["madrid", "big", an.ALL_CUSTOMERS]
    np.testing.assert_allclose(bars.y, stats["avg_ticket"])
    assert bars.colors[-1] == theme.REFERENCE and bars.colors[0] == theme.PRIMARY
    assert axis_labels(fig) == ["Segment", "Average ticket"]
    assert fig.title == "Average ticket"

    cmp_ = charts.comparison_bars(stats)
    check_theme(cmp_, "comparison")
    customers, revenue = cmp_.marks  # one Bars mark per metric (bqplot's "grouped" is broken)
    assert customers.scales["x"] is revenue.scales["x"]
    assert list(customers.labels) == ["Share of customers"]
    assert list(revenue.labels) == ["Share of revenue"]
    np.testing.assert_allclose(customers.y, stats["customer_share"][:2])  # no reference row
    np.testing.assert_allclose(revenue.y, stats["revenue_share"][:2])
    assert (customers.x < revenue.x).all() and (np.diff(customers.x) == 1).all()
    x_axis = cmp_.axes[0]
    assert list(x_axis.tick_values) == [0, 1]
    assert x_axis.tick_labels == {0: "madrid", 1: "big"}
    assert isinstance(customers.tooltip, bq.Tooltip)
    one = charts.comparison_bars(an.general_stats(demo, [segs["big"]], YEAR))
    assert len(one.marks[0].x) == 3 and one.marks[0].y[0] == one.marks[0].y[2] == 0

    empty = an.general_stats(demo, [segs["empty"]], YEAR)
    check_empty(charts.kpi_bars(empty, "revenue"), True)
    check_empty(charts.comparison_bars(empty), True)


def test_evolution_lines_with_two_axes(demo, segs):
    evo = an.evolution(demo, segs["madrid"], YEAR, freq="month")
    fig = charts.evolution_lines(evo, ("sales", "active_customers"))
    check_theme(fig, "evolution")
    assert [type(m).__name__ for m in fig.marks] == ["Lines", "Scatter", "Lines", "Scatter"]
    for m in fig.marks:
        assert len(m.x) == 12 and len(m.y) == 12
    np.testing.assert_allclose(fig.marks[0].y, evo["sales"])
    np.testing.assert_allclose(fig.marks[2].y, evo["active_customers"])
    assert fig.marks[0].x[0] == np.datetime64("2025-01-01")
    assert axis_labels(fig) == ["Period", "Sales", "Active customers"]
    assert [a.side for a in fig.axes][1:] == ["left", "right"]
    # the two metrics have their own y scales
    assert fig.marks[0].scales["y"] is not fig.marks[2].scales["y"]

    one = charts.evolution_lines(evo, "tickets")
    assert len(one.marks) == 2 and axis_labels(one) == ["Period", "Tickets"]
    with pytest.raises(sj.errors.AnalyticsError, match="metric"):
        charts.evolution_lines(evo, "margin")


def test_moment_heatmap_and_marginal_bars(demo, segs):
    moment = an.purchase_moment(demo, segs["big"], YEAR)
    fig = charts.moment_heatmap(moment)
    check_theme(fig, "moment")
    grid, = fig.marks
    assert isinstance(grid, bq.GridHeatMap)
    assert grid.color.shape == (7, 24)
    assert list(grid.row) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert list(grid.column) == list(range(24))
    assert grid.color.sum() == moment["tickets"].sum()
    assert grid.scales["color"].max == grid.color.max()
    sat_19 = moment[(moment["weekday"] == 5) & (moment["hour"] == 19)]["tickets"].iloc[0]
    assert grid.color[5, 19] == sat_19
    assert axis_labels(fig) == ["Hour of the day", ""]
    assert grid.scales["row"].reverse  # Monday on top
    assert isinstance(grid.scales["color"], bq.ColorScale)

    hours = charts.moment_bars(moment, by="hour")
    check_theme(hours, "moment-hour")
    assert len(hours.marks[0].x) == 24
    by_day, by_hour = an.purchase_moment_marginals(moment)
    np.testing.assert_allclose(hours.marks[0].y, by_hour["tickets"])
    days = charts.moment_bars(by_day, by="weekday")  # a marginal frame works too
    assert list(days.marks[0].x) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    np.testing.assert_allclose(days.marks[0].y, by_day["tickets"])

    empty = an.purchase_moment(demo, segs["empty"], YEAR)
    e = charts.moment_heatmap(empty)
    check_empty(e, True)
    assert e.marks[0].color.shape == (7, 24) and e.marks[0].color.sum() == 0
    assert e.marks[0].scales["color"].max == 1.0  # zeros drawn in the lightest colour
    assert not any(a.visible for a in e.axes)
    check_empty(charts.moment_bars(empty), True)


def test_top_products_bars(demo, segs):
    top = an.top_products(demo, segs["madrid"], YEAR, by="buyers")
    fig = charts.top_products_bars(top, "buyers", n=15)
    check_theme(fig, "products")
    bars, = fig.marks
    assert bars.orientation == "horizontal"
    assert len(bars.x) == 15 and len(set(bars.x)) == 15
    assert bars.x[0] == f"1. {top['product'].iloc[0]}"
    long = [x for x in bars.x if len(x) > theme.MAX_LABEL]  # cut on the axis only
    assert long and fig.axes[0].tick_labels == {
        x: x[:theme.MAX_LABEL - 1].rstrip() + "…" for x in long}
    ticks = fig.axes[1].tick_values  # round values covering the longest bar
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] <= bars.y.max() < ticks[-1] + step
    assert str(step)[0] in "125" and 3 <= len(ticks) <= 12
    np.testing.assert_allclose(bars.y, top["buyers"][:15])
    assert bars.scales["x"].reverse  # rank 1 at the top
    assert fig.layout.height == theme.TALL_HEIGHT
    assert "Buyers" in axis_labels(fig)


def test_lifecycle_tier_and_reach_bars(demo, segs):
    life = an.lifecycle(demo, segs["big"], YEAR)
    fig = charts.lifecycle_bars(life)
    check_theme(fig, "lifecycle")
    assert list(fig.marks[0].x) == list(life["lifecycle"])
    assert list(fig.marks[0].colors) == [theme.LIFECYCLE_COLORS[s] for s in life["lifecycle"]]
    assert axis_labels(fig) == ["Stage", "Customers"]

    tiers = an.value_tiers(demo, segs["big"], YEAR)
    t = charts.tier_bars(tiers, "clv")
    check_theme(t, "tiers")
    assert len(t.marks[0].x) == 5
    np.testing.assert_allclose(t.marks[0].y, tiers["clv"])

    reach = an.reachability(demo, segs["big"], YEAR)
    r = charts.reach_bars(reach)
    check_theme(r, "reach")
    assert list(r.marks[0].x) == list(reach["measure"])
    assert r.marks[0].scales["y"].max == 1.0
    np.testing.assert_allclose(r.marks[0].y, reach["share"])


def test_demographics_bars(demo, segs):
    d = an.demographics(demo, segs["madrid"], YEAR)
    age = charts.demographics_bars(d, "age")
    check_theme(age, "demographics-age")
    rows = d[d["dimension"] == "age"]
    assert list(age.marks[0].x) == list(rows["value"])
    assert age.marks[0].orientation == "vertical"
    store = charts.demographics_bars(d, "store", metric="revenue", top=3)
    assert store.marks[0].orientation == "horizontal"
    assert len(store.marks[0].x) == 3
    np.testing.assert_allclose(store.marks[0].y, d[d["dimension"] == "store"]["revenue"][:3])
    with pytest.raises(sj.errors.AnalyticsError, match="dimension"):
        charts.demographics_bars(d, "shoe size")


def test_rfm_pies_and_bubbles(demo, segs):
    summary = an.rfm_summary(demo, YEAR)
    pie = charts.rfm_pie(summary, "customer_pct")
    check_theme(pie, "rfm-pie")
    p, keys, texts = pie.marks  # the pie, then its legend drawn as marks
    assert isinstance(p, bq.Pie)
    present = summary[summary["customer_pct"] > 0]
    assert list(p.labels) == list(present["rfm_segment"])
    np.testing.assert_allclose(p.sizes, present["customer_pct"])
    assert list(p.colors) == [theme.RFM_COLORS[s] for s in present["rfm_segment"]]
    assert list(keys.colors) == list(p.colors)
    first = present.iloc[0]
    assert texts.text[0] == f"{first['rfm_segment']}  {first['customer_pct']:.1%}"
    assert len(texts.text) == len(keys.x) == len(present)
    rev = charts.rfm_pie(summary, "revenue_pct")
    assert "Revenue" in rev.title
    assert "lost" not in list(rev.marks[0].labels)  # lost customers spent nothing in 365 days

    bub = charts.rfm_bubbles(summary)
    check_theme(bub, "rfm-bubbles")
    s, = bub.marks
    assert len(s.x) == len(present)
    np.testing.assert_allclose(s.x, present["avg_trips"])
    np.testing.assert_allclose(s.y, present["avg_recency_days"])
    np.testing.assert_allclose(s.size, present["revenue_365d"])
    assert list(s.names) == list(present["rfm_segment"])
    assert axis_labels(bub) == ["Frequency (orders in 365 days)",
                                "Recency (days since last order)"]

    table = an.rfm_table(demo, YEAR, segment=segs["madrid"])
    per_customer = charts.rfm_bubbles(table)
    assert len(per_customer.marks[0].x) == min(len(table), charts.rfm.MAX_POINTS)
    assert not per_customer.marks[0].display_names


def test_overlap_heatmap(demo, segs):
    ov = an.overlap(demo, [segs["madrid"], segs["big"], segs["empty"]], YEAR)
    fig = charts.overlap_heatmap(ov, "shared")
    check_theme(fig, "overlap")
    grid, = fig.marks
    assert list(grid.row) == list(grid.column) == ["madrid", "big", "empty"]
    assert grid.scales["row"].reverse  # the first segment on top
    assert grid.color.shape == (3, 3)
    np.testing.assert_allclose(grid.color, an.overlap_matrix(ov, "shared").to_numpy())
    assert grid.display_format == theme.FORMATS["count"]
    check_empty(fig, False)
    # a single segment draws an empty state (bqplot refuses a 1 x 1 grid: padded, no text)
    one = charts.overlap_heatmap(an.overlap(demo, [segs["madrid"]], YEAR))
    assert one.marks[0].color.shape == (2, 2) and one.marks[0].row[0] == "madrid"
    assert one.marks[0].display_format is None
    assert charts.is_empty(one) and one.title.endswith("needs two segments or more")
    charts.update(one, ov)
    assert not charts.is_empty(one) and one.marks[0].display_format == theme.FORMATS["share"]
    both_empty = an.overlap(demo, [segs["empty"], segs["empty"]], YEAR)
    check_empty(charts.overlap_heatmap(both_empty), True)


def test_every_chart_has_an_empty_state(demo, segs):
    e = segs["empty"]
    figs = [
        charts.evolution_lines(an.evolution(demo, e, YEAR)),
        charts.top_products_bars(an.top_products(demo, e, YEAR)),
        charts.moment_bars(an.purchase_moment(demo, e, YEAR), by="weekday"),
        charts.lifecycle_bars(an.lifecycle(demo, e, YEAR)),
        charts.tier_bars(an.value_tiers(demo, e, YEAR)),
        charts.reach_bars(an.reachability(demo, e, YEAR)),
        charts.demographics_bars(an.demographics(demo, e, YEAR), "city"),
        charts.rfm_pie(an.rfm_summary(demo, YEAR, segment=e)),
        charts.rfm_bubbles(an.rfm_summary(demo, YEAR, segment=e)),
    ]
    for fig in figs:
        check_empty(fig, True)
        for mark in fig.marks:
            data = mark.sizes if isinstance(mark, bq.Pie) else mark.x
            assert len(data) == 0, fig.title


def test_update_replaces_data_in_place(demo, segs):
    evo = an.evolution(demo, segs["madrid"], YEAR)
    fig = charts.evolution_lines(evo)
    marks = list(fig.marks)
    other = an.evolution(demo, segs["big"], YEAR)
    assert charts.update(fig, other) is fig
    assert fig.marks == marks  # same mark objects, new data
    np.testing.assert_allclose(fig.marks[0].y, other["sales"])
    charts.update(fig, an.evolution(demo, segs["empty"], YEAR))
    check_empty(fig, True)
    assert fig.title == "Evolution — No customers"
    charts.update(fig, evo)
    check_empty(fig, False)
    assert fig.title == "Evolution"

    top = charts.top_products_bars(an.top_products(demo, segs["madrid"], YEAR), n=5)
    bars = top.marks[0]
    charts.update(top, an.top_products(demo, segs["big"], YEAR))
    assert top.marks[0] is bars and len(bars.x) == 5

    with pytest.raises(sj.errors.AnalyticsError, match="factory"):
        charts.update(bq.Figure(), evo)
    with pytest.raises(sj.errors.AnalyticsError, match="columns"):
        charts.update(fig, an.lifecycle(demo, segs["big"]))


def test_figures_round_trip_their_widget_state(demo, segs):
    fig = charts.kpi_bars(an.general_stats(demo, [segs["madrid"]], YEAR))
    state = fig.marks[0].get_state()
    copy = bq.Bars(scales=fig.marks[0].scales)
    copy.set_state({k: state[k] for k in ("x", "y")})
    assert list(copy.x) == list(fig.marks[0].x)
    np.testing.assert_allclose(copy.y, fig.marks[0].y)
    assert pd.Series(fig.layout.get_state())["height"] == theme.HEIGHT
