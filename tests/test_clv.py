"""Predicted customer value: BG/NBD and Gamma-Gamma fitted on scipy, validated on data
simulated from known parameters, exposed as rule fields on the demo workspace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import segjupyter
from segjupyter import analytics as an, charts
from segjupyter.errors import PredictionError
from segjupyter.rules import clv_model, predicted

# CDNOW estimates of Fader, Hardie & Lee (2005), alpha converted from weeks to days
BGNBD_TRUE = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}
GG_TRUE = {"p": 6.25, "q": 3.74, "v": 15.44}
N = 20_000
#: stated tolerance of parameter recovery at N = 20,000 customers (relative error)
BGNBD_TOL = 0.10
GG_TOL = 0.20
GG_MEAN_TOL = 0.05


@pytest.fixture(scope="module")
def simulated():
    T = np.random.default_rng(1).uniform(60, 540, N).round()
    sim = clv_model.simulate_bgnbd(N, BGNBD_TRUE, T, seed=3, horizon=180)
    sim["m"] = clv_model.simulate_gamma_gamma(sim["x"], GG_TRUE, seed=4)
    return sim


def test_bgnbd_recovers_known_parameters(simulated):
    s = simulated
    fit = clv_model.fit_bgnbd(s["x"], s["t_x"], s["T"])
    for k, true in BGNBD_TRUE.items():
        assert getattr(fit, k) == pytest.approx(true, rel=BGNBD_TOL), k
    # the fitted likelihood is at least that of the true parameters
    ll_fit = clv_model.bgnbd_loglik(list(fit.params().values()), s["x"], s["t_x"], s["T"])
    ll_true = clv_model.bgnbd_loglik(list(BGNBD_TRUE.values()), s["x"], s["t_x"], s["T"])
    assert ll_fit >= ll_true


def test_gamma_gamma_recovers_known_parameters(simulated):
    s = simulated
    fit = clv_model.fit_gamma_gamma(s["x"], np.nan_to_num(s["m"]))
    for k, true in GG_TRUE.items():
        assert getattr(fit, k) == pytest.approx(true, rel=GG_TOL), k
    true_mean = GG_TRUE["p"] * GG_TRUE["v"] / (GG_TRUE["q"] - 1)
    assert fit.population_mean() == pytest.approx(true_mean, rel=GG_MEAN_TOL)


def test_hold_out_predictions_match_simulated_purchases(simulated):
    """The conditional expectation (with the 2F1 function) is right: predicted purchases in
    the 180 days after T add up to the simulated ones, overall and by frequency."""
    s = simulated
    fit = clv_model.fit_bgnbd(s["x"], s["t_x"], s["T"])
    pred = fit.expected_orders(180, s["x"], s["t_x"], s["T"])
    assert pred.sum() == pytest.approx(s["x_holdout"].sum(), rel=0.05)
    for lo, hi in ((0, 0), (1, 2), (3, 6), (7, 10 ** 6)):
        sel = (s["x"] >= lo) & (s["x"] <= hi)
        assert pred[sel].mean() == pytest.approx(s["x_holdout"][sel].mean(), rel=0.15), (lo, hi)
    # with the true parameters, a new customer's expected purchases match eq. 7's integral
    true = clv_model.BGNBD(**BGNBD_TRUE)
    assert true.expected_orders(180, [0], [0], [0])[0] == pytest.approx(
        float(true.expected_orders_new(180)), rel=1e-9)
    alive = fit.p_alive(s["x"], s["t_x"], s["T"])
    assert ((alive > 0) & (alive <= 1)).all() and (alive[s["x"] == 0] == 1).all()


@pytest.fixture(scope="module")
def ws(demo_copy):
    w = segjupyter.open(demo_copy("clv"))
    yield w
    w.close()


def test_predicted_fields_in_rules_select_what_the_values_say(ws):
    text = "p_alive < 0.3 and predicted_clv(12 months) >= 200"
    seg = ws.segment(text)
    values = an.predicted_values(ws, None, horizon="12 months")
    expect = values[(values["p_alive"] < 0.3) & (values["predicted_clv"] >= 200)]
    assert seg.member_ids().tolist() == sorted(expect["customer_id"].tolist())
    orders = ws.segment("predicted_orders(90 days) >= 2 and orders >= 3")
    v90 = an.predicted_values(ws, None, horizon="90 days")
    counts = ws.sql("SELECT customer_id, count(*) AS n FROM orders WHERE ordered_at <= ? "
                    "GROUP BY 1", [ws.now()]).df()
    both = v90.merge(counts, on="customer_id")
    want = both[(both["predicted_orders"] >= 2) & (both["n"] >= 3)]["customer_id"]
    assert orders.member_ids().tolist() == sorted(want.tolist())
    # customers who never ordered have no prediction: the rule is false for them, and NOT true
    never = set(values.loc[values["p_alive"].isna(), "customer_id"])
    assert never and not never & set(ws.segment("p_alive >= 0").member_ids())
    assert never <= set(ws.segment("not p_alive >= 0").member_ids())


def test_predicted_values_are_the_model_applied_to_the_summaries(ws):
    values = an.predicted_values(ws, None, horizon="6 months").dropna()
    params = an.clv_params(ws).iloc[0]
    bg = clv_model.BGNBD(params["r"], params["alpha"], params["a"], params["b"])
    gg = clv_model.GammaGamma(params["p"], params["q"], params["v"])
    days = predicted.horizon_days(ws.now(), 6, "month")
    x, t_x, T = values["x"], values["t_x"], values["T"]
    np.testing.assert_allclose(values["p_alive"], bg.p_alive(x, t_x, T))
    orders = bg.expected_orders(days, x, t_x, T)
    np.testing.assert_allclose(values["predicted_orders"], orders)
    np.testing.assert_allclose(values["predicted_clv"], orders * gg.expected_value(x, values["m"]))
    # the summaries, recomputed in pandas from the orders (purchase days)
    o = ws.sql("SELECT customer_id, CAST(ordered_at AS DATE) AS day, total FROM orders "
               "WHERE ordered_at <= ?", [ws.now()]).df()
    days_ = o.groupby(["customer_id", "day"])["total"].sum().astype(float).reset_index()
    g = days_.groupby("customer_id")
    ref = pd.DataFrame({"x": g.size() - 1,
                        "t_x": (g["day"].max() - g["day"].min()).dt.days,
                        "T": (pd.Timestamp(ws.now().date()) - g["day"].min()).dt.days})
    got = values.set_index("customer_id")[["x", "t_x", "T"]]
    pd.testing.assert_frame_equal(got.sort_index(), ref.loc[got.index].sort_index().astype(float),
                                  check_names=False)


def test_fit_is_cached_per_data_version_and_day_and_reused_by_refresh(ws):
    ws.segment("p_alive < 0.5").count()
    fits = ws.sql("SELECT * FROM catalog.clv_fits").df()
    assert len(fits) == 1 and fits["fit_day"].iloc[0].date() == ws.now().date()
    # a fresh process cache reads the stored fit (no new row), and a refresh uses it
    predicted.clear_cache(ws)
    ws.segments.save("p_alive < 0.3 and predicted_clv(12 months) >= 200", name="fading_vip")
    ws.segments.refresh("fading_vip")
    assert len(ws.sql("SELECT * FROM catalog.clv_fits").df()) == 1
    assert ws.segments.member_ids("fading_vip") == \
        ws.segment("p_alive < 0.3 and predicted_clv(12 months) >= 200").member_ids().tolist()
    # another day is another fit
    ws.segment("p_alive < 0.5").count(as_of="2026-03-31")
    assert sorted(d.date().isoformat() for d in
                  ws.sql("SELECT fit_day FROM catalog.clv_fits").df()["fit_day"]) == \
        ["2026-03-31", "2026-06-30"]
    # a refresh that is the first to need a day's fit fits it and stores it
    predicted.clear_cache(ws)
    ws.segments.refresh("fading_vip", as_of="2026-02-28")
    assert len(ws.sql("SELECT * FROM catalog.clv_fits").df()) == 3
    assert ws.segments.member_ids("fading_vip") == ws.segment(
        "p_alive < 0.3 and predicted_clv(12 months) >= 200").member_ids(
        as_of="2026-02-28").tolist()


def test_rules_on_predicted_fields_print_for_other_dialects(ws):
    sql = ws.segment("predicted_clv(12 months) >= 200").sql(dialect="spark")
    assert "segjupyter_predictions" in sql and "'12 month'" in sql


def test_too_little_history_is_a_clear_error_and_writes_nothing(tmp_path):
    w = segjupyter.open(tmp_path / "tiny")
    customers = pd.DataFrame({"customer_id": range(1, 41)})
    orders = pd.DataFrame({"order_id": range(1, 41), "customer_id": range(1, 41),
                           "ordered_at": pd.Timestamp("2026-01-05 10:00"), "total": "12.50"})
    assert w.load(customers=customers, orders=orders).ok
    with pytest.raises(PredictionError, match="too little purchase history"):
        w.segment("p_alive < 0.5").count(as_of="2026-02-01")
    with pytest.raises(PredictionError):
        an.clv_params(w, "2026-02-01")
    assert w.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'clv_fits'"
                 ).scalar() == 0
    w.close()


def test_calibration_table_and_chart(ws):
    cal = an.clv_calibration(ws, "2025-12-31", holdout="180 days")
    assert list(cal["repeat_purchases"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    buyers = ws.sql("SELECT count(DISTINCT customer_id) FROM orders WHERE ordered_at < "
                    "'2026-01-01'").scalar()
    assert cal["customers"].sum() == buyers
    actual = ws.sql("SELECT count(*) FROM (SELECT DISTINCT customer_id, CAST(ordered_at AS "
                    "DATE) FROM orders WHERE ordered_at >= '2026-01-01' AND ordered_at < "
                    "'2026-06-30' AND customer_id IN (SELECT customer_id FROM orders WHERE "
                    "ordered_at < '2026-01-01'))").scalar()
    assert cal.attrs["actual_total"] == actual
    # customers who bought more often are predicted and seen to buy more
    assert cal["predicted"].is_monotonic_increasing and cal["actual"].iloc[-1] > cal["actual"].iloc[0]
    err = cal.attrs["predicted_total"] / cal.attrs["actual_total"] - 1
    assert abs(err) < 0.25, err  # measured on the demo: +12% (docs/campaigns.md)
    fig = charts.calibration_lines(cal)
    assert list(fig.marks[0].x) == list(cal["repeat_purchases"])
    assert not charts.is_empty(fig)
    with pytest.raises(segjupyter.errors.AnalyticsError, match="ends after"):
        an.clv_calibration(ws, "2026-06-01", holdout="90 days")


def test_clv_bands_and_chart(ws):
    bands = an.clv_bands(ws, "orders >= 2", horizon="12 months")
    values = an.predicted_values(ws, "orders >= 2", horizon="12 months")
    assert bands["customers"].sum() == len(values)
    assert bands["predicted_clv"].sum() == pytest.approx(values["predicted_clv"].sum())
    fig = charts.clv_bars(bands, "customers")
    assert "sj-chart-clv" in fig._dom_classes and not charts.is_empty(fig)
    charts.update(fig, an.clv_bands(ws, "orders >= 100000"))
    assert charts.is_empty(fig)


def test_dashboard_predicted_value_section(ws):
    from segjupyter.widgets.dashboard import SegmentDashboard
    ws.segments.save("orders >= 2", name="repeat2", refresh=True)
    d = SegmentDashboard(ws, ["repeat2"])
    d.sections.value = "clv"
    assert d.message.value == ""
    pd.testing.assert_frame_equal(d.frames["clv"], an.clv_bands(ws, ws.segments.get("repeat2"),
                                                               horizon="12 months"))
    figs = d.figures()
    assert len(figs) == 2 and not any(charts.is_empty(f) for f in figs)
    assert [float(v) for v in figs[0].marks[0].y] == [float(v) for v in d.frames["clv"]["customers"]]
