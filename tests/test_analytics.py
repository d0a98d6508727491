"""Every analytic against an independent pandas computation on the demo workspace (size S).

The reference side reads the raw tables and re-implements the definitions of
``docs/analytics.md`` and ``docs/evaluation.md`` in pandas; it never calls the analytics
code. Boundaries of the period and contact attribution are in ``test_analytics_edges.py``.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

import segjupyter as sj
from segjupyter import analytics as an
from segjupyter.analytics import Period

PERIOD = Period(dt.date(2025, 7, 1), dt.date(2026, 6, 30))  # the demo's last 12 months
YEAR = Period.year(2025)
US = pd.Timedelta(microseconds=1)
SEGMENTS = {  # name -> rule text
    "madrid": 'city = "Madrid"',
    "big": "spend(last 12 months) >= 500",
    "empty": 'city = "Atlantis"',
}


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_ws_path):
    return sj.open(demo_ws_path)


@pytest.fixture(scope="module")
def raw(demo):
    t = {name: demo.sql(f"SELECT * FROM {name}").df()
         for name in ("customers", "orders", "products", "stores")}
    t["orders"]["total"] = t["orders"]["total"].astype(float)
    # lines get customer and time from their order here, not from the loader's copies
    lines = demo.sql("SELECT order_id, line_no, product_id, quantity, amount "
                     "FROM order_lines").df()
    lines["amount"] = lines["amount"].astype(float)
    t["lines"] = lines.merge(t["orders"][["order_id", "customer_id", "ordered_at"]],
                             on="order_id")
    return t


@pytest.fixture(scope="module")
def seg(demo):
    return {name: demo.segment(text, name=name) for name, text in SEGMENTS.items()}


# -- reference computations -------------------------------------------------------------------
def members(raw, name: str, as_of: dt.datetime) -> set:
    c = raw["customers"]
    if name == "madrid":
        return set(c.loc[c["city"] == "Madrid", "customer_id"])
    if name == "big":  # spend over (as_of - 12 months, as_of] >= 500
        o = raw["orders"]
        lo = pd.Timestamp(as_of) - pd.DateOffset(months=12)
        w = o[(o["ordered_at"] > lo) & (o["ordered_at"] <= as_of)]
        spend = w.groupby("customer_id")["total"].sum().round(2)
        return set(spend[spend >= 500].index)
    if name == "empty":
        return set()
    raise KeyError(name)


def as_of_for(p: Period) -> dt.datetime:
    """Membership instant of a period on the demo: its end, or the demo's now."""
    return min(dt.datetime.combine(p.end, dt.time.max), dt.datetime(2026, 6, 30, 23, 59))


def in_period(df: pd.DataFrame, p: Period) -> pd.DataFrame:
    t = df["ordered_at"]
    return df[(t >= pd.Timestamp(p.start)) & (t < pd.Timestamp(p.end) + pd.Timedelta(days=1))]


def close(actual, expected, rtol=1e-9):
    np.testing.assert_allclose(np.asarray(actual, dtype=float),
                               np.asarray(expected, dtype=float), rtol=rtol, atol=1e-9)


# -- period -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, start, end", [
    ("last 12 months", "2025-07-01", "2026-06-30"),
    ("Last  90 days", "2026-04-02", "2026-06-30"),
    ("last 2 weeks", "2026-06-17", "2026-06-30"),
    ("last 1 year", "2025-07-01", "2026-06-30"),
    ("this year", "2026-01-01", "2026-06-30"),
    ("this month", "2026-06-01", "2026-06-30"),
    ("last year", "2025-01-01", "2025-12-31"),
    ("last month", "2026-05-01", "2026-05-31"),
    ("2024", "2024-01-01", "2024-12-31"),
    ("2024-02", "2024-02-01", "2024-02-29"),
    ("2025-Q4", "2025-10-01", "2025-12-31"),
    ("2025-01-01..2025-06-30", "2025-01-01", "2025-06-30"),
])
def test_period_parse(text, start, end):
    p = Period.parse(text, as_of=dt.datetime(2026, 6, 30, 23, 59))
    assert (p.start.isoformat(), p.end.isoformat()) == (start, end)


def test_period_last_months_clamps_to_month_end():
    p = Period.last(1, "month", dt.date(2026, 3, 31))
    assert (p.start, p.end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert Period.year(2025).end_at == dt.datetime(2025, 12, 31, 23, 59, 59, 999999)
    assert Period.year(2025).start_at == dt.datetime(2025, 1, 1)
    assert Period.year(2024).days == 366


@pytest.mark.parametrize("text, words", [
    ("yesterday-ish", "not understood"),
    ("last 3 fortnights", "unit"),
    ("2025-13", "month"),
    ("2025-06-30..2025-01-01", "before it starts"),
    ("2025-02-30..2025-03-01", "2025-02-30"),
])
def test_period_errors_say_what_is_wrong(text, words):
    with pytest.raises(sj.errors.AnalyticsError, match=words):
        Period.parse(text, as_of=dt.date(2026, 6, 30))


def test_period_defaults_and_forms(demo):
    assert an.resolve_period(demo, None) == PERIOD
    assert an.resolve_period(demo, "2025") == YEAR
    assert an.resolve_period(demo, 2025) == YEAR
    assert an.resolve_period(demo, ("2025-01-01", dt.date(2025, 12, 31))) == YEAR
    assert an.resolve_as_of(demo, "2025") == dt.datetime(2025, 12, 31, 23, 59, 59, 999999)
    assert an.resolve_as_of(demo, "2025-03-31") == dt.datetime(2025, 3, 31, 23, 59, 59, 999999)
    with pytest.raises(sj.errors.AnalyticsError):
        Period.parse("last 12 months")  # relative text needs as_of


# -- 1. general statistics --------------------------------------------------------------------
@pytest.mark.parametrize("period", [PERIOD, YEAR], ids=["last12m", "2025"])
def test_general_stats_matches_pandas(demo, raw, seg, period):
    got = an.general_stats(demo, [seg["madrid"], seg["big"], seg["empty"]], period)
    assert list(got["segment"]) == ["madrid", "big", "empty", an.ALL_CUSTOMERS]
    o, lines = in_period(raw["orders"], period), in_period(raw["lines"], period)
    all_revenue = o["total"].sum()
    at = as_of_for(period)
    for i, name in enumerate(["madrid", "big", "empty", None]):
        ids = set(raw["customers"]["customer_id"]) if name is None else members(raw, name, at)
        so, sl = o[o["customer_id"].isin(ids)], lines[lines["customer_id"].isin(ids)]
        row = got.iloc[i]
        assert row["customers"] == len(ids)
        assert row["active_customers"] == so["customer_id"].nunique()
        assert row["tickets"] == len(so)
        assert row["units"] == sl["quantity"].sum()
        close(row["revenue"], so["total"].sum())
        close(row["avg_ticket"], so["total"].sum() / len(so) if len(so) else 0)
        close(row["units_per_ticket"], sl["quantity"].sum() / len(so) if len(so) else 0)
        close(row["frequency"], len(so) / so["customer_id"].nunique() if len(so) else 0)
        close(row["customer_share"], len(ids) / len(raw["customers"]))
        close(row["revenue_share"], so["total"].sum() / all_revenue)


def test_general_stats_takes_labels_and_defaults(demo, seg):
    got = an.general_stats(demo, {"Madrid people": seg["madrid"]})
    assert list(got["segment"]) == ["Madrid people", an.ALL_CUSTOMERS]
    alone = an.general_stats(demo)
    assert list(alone["segment"]) == [an.ALL_CUSTOMERS]
    assert alone.iloc[0].equals(got.iloc[1])  # default period: last 12 months


# -- 2. evolution -----------------------------------------------------------------------------
def _buckets(p: Period, freq: str) -> pd.DatetimeIndex:
    start = pd.Timestamp(p.start)
    if freq == "month":
        return pd.date_range(start.replace(day=1), pd.Timestamp(p.end), freq="MS")
    if freq == "week":
        return pd.date_range(start - pd.Timedelta(days=start.weekday()), pd.Timestamp(p.end),
                             freq="7D")
    return pd.date_range(start, pd.Timestamp(p.end), freq="D")


@pytest.mark.parametrize("freq", ["month", "week", "day"])
def test_evolution_matches_pandas(demo, raw, seg, freq):
    period = Period(dt.date(2025, 3, 12), dt.date(2025, 11, 20))  # cuts weeks and months
    got = an.evolution(demo, seg["big"], period, freq=freq)
    ids = members(raw, "big", as_of_for(period))
    o = in_period(raw["orders"], period)
    o = o[o["customer_id"].isin(ids)].copy()
    trunc = {"month": lambda t: t.dt.to_period("M").dt.start_time,
             "week": lambda t: t.dt.normalize() - pd.to_timedelta(t.dt.day_of_week, unit="D"),
             "day": lambda t: t.dt.normalize()}[freq]
    o["bucket"] = trunc(o["ordered_at"])
    ref = o.groupby("bucket").agg(active=("customer_id", "nunique"), tickets=("order_id", "size"),
                                  sales=("total", "sum"))
    ref = ref.reindex(_buckets(period, freq), fill_value=0)
    assert list(got.columns) == ["bucket", "active_customers", "tickets", "sales", "avg_ticket"]
    assert list(pd.to_datetime(got["bucket"])) == list(ref.index)
    assert list(got["active_customers"]) == list(ref["active"])
    assert list(got["tickets"]) == list(ref["tickets"])
    close(got["sales"], ref["sales"])
    close(got["avg_ticket"], np.where(ref["tickets"] > 0, ref["sales"] / ref["tickets"].where(
        ref["tickets"] > 0, 1), 0))


def test_evolution_zero_buckets(demo, seg):
    # the demo has no data after 2026-06-30: those months are present with zeros
    got = an.evolution(demo, seg["madrid"], "2026-05-01..2026-08-31")
    assert [str(b.date()) for b in got["bucket"]] == ["2026-05-01", "2026-06-01",
                                                      "2026-07-01", "2026-08-01"]
    assert list(got["tickets"][2:]) == [0, 0]
    assert list(got["avg_ticket"][2:]) == [0.0, 0.0]
    assert got["tickets"][0] > 0


# -- 3. purchase moment -----------------------------------------------------------------------
def test_purchase_moment_matches_pandas(demo, raw, seg):
    got = an.purchase_moment(demo, seg["madrid"], PERIOD)
    o = in_period(raw["orders"], PERIOD)
    o = o[o["customer_id"].isin(members(raw, "madrid", as_of_for(PERIOD)))]
    ref = o.groupby([o["ordered_at"].dt.day_of_week, o["ordered_at"].dt.hour]).agg(
        tickets=("order_id", "size"), revenue=("total", "sum"))
    full = pd.MultiIndex.from_product([range(7), range(24)])
    ref = ref.reindex(full, fill_value=0)
    assert len(got) == 168
    assert list(zip(got["weekday"], got["hour"])) == list(full)
    assert list(got["day"][::24]) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert list(got["tickets"]) == list(ref["tickets"])
    close(got["revenue"], ref["revenue"])
    close(got["share"], ref["tickets"] / ref["tickets"].sum())

    by_day, by_hour = an.purchase_moment_marginals(got)
    assert list(by_day["tickets"]) == list(o.groupby(o["ordered_at"].dt.day_of_week).size())
    assert list(by_hour["tickets"]) == list(
        o.groupby(o["ordered_at"].dt.hour).size().reindex(range(24), fill_value=0))
    close(by_hour["share"].sum(), 1.0)


# -- 4. top products --------------------------------------------------------------------------
_SORT = {"revenue": (["revenue", "units"], [False, False]),
         "units": (["units", "revenue"], [False, False]),
         "repeat_rate": (["repeat_rate", "buyers", "revenue"], [False, False, False]),
         "buyers": (["buyers", "revenue"], [False, False])}


def ref_products(raw, ids, period: Period) -> pd.DataFrame:
    lines = in_period(raw["lines"], period)
    pc = lines.groupby(["product_id", "customer_id"]).agg(
        orders=("order_id", "nunique"), revenue=("amount", "sum"), units=("quantity", "sum")
    ).reset_index()
    all_buyers = pc.groupby("product_id").size()
    mine = pc[pc["customer_id"].isin(ids)]
    agg = mine.groupby("product_id").agg(
        revenue=("revenue", "sum"), units=("units", "sum"), tickets=("orders", "sum"),
        buyers=("customer_id", "size"), repeat_buyers=("orders", lambda s: int((s >= 2).sum())))
    agg["revenue"] = agg["revenue"].round(2)  # cents: float sums must not break exact ties
    agg["repeat_rate"] = agg["repeat_buyers"] / agg["buyers"]
    agg["propensity"] = agg["buyers"] / len(ids)
    agg["lift"] = agg["propensity"] / (all_buyers.reindex(agg.index) / len(raw["customers"]))
    return agg.reset_index()


@pytest.mark.parametrize("by", ["revenue", "units", "repeat_rate", "buyers"])
def test_top_products_matches_pandas(demo, raw, seg, by):
    got = an.top_products(demo, seg["madrid"], PERIOD, by=by, n=40)
    ref = ref_products(raw, members(raw, "madrid", as_of_for(PERIOD)), PERIOD)
    cols, asc = _SORT[by]
    ref = ref.sort_values(cols + ["product_id"], ascending=asc + [True]).head(40)
    assert list(got["rank"]) == list(range(1, 41))
    assert list(got["product_id"]) == list(ref["product_id"])
    for col in ("units", "tickets", "buyers", "repeat_buyers"):
        assert list(got[col]) == list(ref[col]), col
    for col in ("revenue", "repeat_rate", "propensity", "lift"):
        close(got[col], ref[col])
    names = raw["products"].set_index("product_id")
    assert list(got["product"]) == list(names.loc[got["product_id"], "name"])
    assert list(got["brand"]) == list(names.loc[got["product_id"], "brand"])


def test_top_products_of_all_customers_have_lift_one(demo):
    got = an.top_products(demo, None, YEAR, n=100)
    assert len(got) == 100
    close(got["lift"], np.ones(100))
    assert got["revenue"].is_monotonic_decreasing


# -- 5. lifecycle and value tiers -------------------------------------------------------------
def ref_lifecycle(raw, ids, as_of) -> pd.Series:
    o = raw["orders"][raw["orders"]["ordered_at"] <= as_of]
    g = o.groupby("customer_id")["ordered_at"].agg(["min", "max"])
    g = g.reindex(sorted(ids))
    at = pd.Timestamp(as_of)

    def within(t, days):
        return t >= at - pd.Timedelta(days=days) + US

    stage = np.select(
        [g["min"].isna(), within(g["min"], 90), within(g["max"], 180), within(g["max"], 365),
         within(g["max"], 730)],
        ["prospect", "new", "active", "at risk", "hibernating"], "lost")
    return pd.Series(stage).value_counts()


@pytest.mark.parametrize("as_of", [None, "2025-09-30", "2024"])
def test_lifecycle_matches_pandas(demo, raw, seg, as_of):
    at = {None: dt.datetime(2026, 6, 30, 23, 59),
          "2025-09-30": dt.datetime(2025, 9, 30, 23, 59, 59, 999999),
          "2024": dt.datetime(2024, 12, 31, 23, 59, 59, 999999)}[as_of]
    got = an.lifecycle(demo, seg["big"], as_of)
    ref = ref_lifecycle(raw, members(raw, "big", at), at)
    assert list(got["lifecycle"]) == ["new", "active", "at risk", "hibernating", "lost",
                                      "prospect"]
    assert dict(zip(got["lifecycle"], got["customers"])) == {
        s: int(ref.get(s, 0)) for s in got["lifecycle"]}
    close(got["share"], got["customers"] / got["customers"].sum())


def test_lifecycle_changes_with_the_period(demo):
    # the same customers, two instants: stages move (the demo's seeds make people lapse)
    early = an.lifecycle(demo, None, "2024-06-30").set_index("lifecycle")["customers"]
    late = an.lifecycle(demo, None, "2026-06-30").set_index("lifecycle")["customers"]
    assert early.sum() == late.sum() == 10_000
    assert late["lost"] > early["lost"]
    assert early["prospect"] > late["prospect"]


@pytest.mark.parametrize("segment", ["madrid", None])
def test_value_tiers_match_pandas(demo, raw, seg, segment):
    at = dt.datetime(2026, 6, 30, 23, 59)
    got = an.value_tiers(demo, None if segment is None else seg[segment], lifetime_years=2)
    o = raw["orders"]
    w = o[(o["ordered_at"] >= pd.Timestamp(at) - pd.Timedelta(days=365) + US) &
          (o["ordered_at"] <= at)]
    per = w.groupby("customer_id").agg(spend=("total", "sum"), orders=("order_id", "size"))
    per["spend"] = per["spend"].round(2)
    per = per[per["spend"] > 0]
    n = len(per)
    k = per["spend"].rank(method="max", ascending=False)  # customers spending at least as much
    per["tier"] = np.select([k * 100 <= n * 10, k * 100 <= n * 30, k * 100 <= n * 60],
                            ["top 10%", "next 20%", "middle 30%"], "bottom 40%")
    ids = set(raw["customers"]["customer_id"]) if segment is None else \
        members(raw, segment, at)
    mine = per[per.index.isin(ids)]
    assert list(got["tier"]) == ["top 10%", "next 20%", "middle 30%", "bottom 40%", "no spend"]
    for _, row in got.iterrows():
        rows = mine[mine["tier"] == row["tier"]]
        if row["tier"] == "no spend":
            assert row["customers"] == len(ids) - len(mine)
            assert row["revenue_365d"] == 0
            continue
        assert row["customers"] == len(rows), row["tier"]
        close(row["revenue_365d"], rows["spend"].sum())
        close(row["avg_orders"], rows["orders"].mean() if len(rows) else 0)
        close(row["clv"], 2 * (rows["spend"].mean() if len(rows) else 0))
    if segment is None:  # tiers are shares of all spenders
        top = got.set_index("tier")["customers"]
        assert abs(top["top 10%"] - 0.1 * n) <= 2


# -- 6. reachability --------------------------------------------------------------------------
def test_reachability_matches_pandas(demo, raw, seg):
    got = an.reachability(demo, seg["madrid"])
    c = raw["customers"]
    c = c[c["customer_id"].isin(members(raw, "madrid", None))]
    email = c["email"].fillna("").str.strip() != ""
    phone = c["phone"].fillna("").str.strip() != ""
    sub = c["subscribed"].fillna(False).astype(bool)
    expected = {"subscribed": sub.sum(), "has email": email.sum(), "has phone": phone.sum(),
                "subscribed with email": (sub & email).sum(),
                "email or phone": (email | phone).sum()}
    assert dict(zip(got["measure"], got["customers"])) == {k: int(v) for k, v in expected.items()}
    close(got["share"], got["customers"] / len(c))
    assert set(got["members"]) == {len(c)}


# -- 7. demographics --------------------------------------------------------------------------
def ages(birth: pd.Series, on: dt.date) -> pd.Series:
    """Completed years on ``on``; a 29 February birthday counts on 28 February in other
    years (docs/analytics.md)."""
    b = pd.to_datetime(birth)
    month, day = b.dt.month, b.dt.day
    leap = on.year % 4 == 0 and (on.year % 100 != 0 or on.year % 400 == 0)
    day = day.where(~((month == 2) & (day == 29)) | leap, 28)
    before = (month > on.month) | ((month == on.month) & (day > on.day))
    return on.year - b.dt.year - before.astype(int)


def test_demographics_matches_pandas(demo, raw, seg):
    bands = (20, 30, 50)
    got = an.demographics(demo, seg["big"], YEAR, age_bands=bands)
    at = as_of_for(YEAR)
    ids = members(raw, "big", at)
    c = raw["customers"][raw["customers"]["customer_id"].isin(ids)].copy()
    o = in_period(raw["orders"], YEAR)
    o = o[o["customer_id"].isin(ids)]
    per = o.groupby("customer_id").agg(tickets=("order_id", "size"), revenue=("total", "sum"))
    c = c.join(per, on="customer_id").fillna({"tickets": 0, "revenue": 0})
    age = ages(c["birth_date"], YEAR.end)
    c["age"] = np.select([age.isna() | (age < 0), age < 20, age < 30, age < 50],
                         ["unknown", "<20", "20-29", "30-49"], "50+")
    assert list(got["dimension"].unique()) == ["age", "gender", "city", "country", "store",
                                               "channel"]

    def check(dim, key_frame, key, share_of):
        rows = got[got["dimension"] == dim]
        ref = key_frame.groupby(key_frame[key].fillna("unknown")).agg(
            customers=("customer_id", "nunique"), tickets=("tickets", "sum"),
            revenue=("revenue", "sum"))
        assert sorted(rows["value"]) == sorted(ref.index), dim
        r = ref.loc[rows["value"]]
        assert list(rows["customers"]) == list(r["customers"]), dim
        assert list(rows["tickets"]) == list(r["tickets"].astype(int)), dim
        close(rows["revenue"], r["revenue"])
        close(rows["share"], r["customers"] / share_of)
        return rows

    age_rows = check("age", c, "age", len(c))
    assert list(age_rows["value"]) == [v for v in ["<20", "20-29", "30-49", "50+", "unknown"]
                                       if v in set(c["age"])]
    for dim in ("gender", "city", "country"):
        rows = check(dim, c, dim, len(c))
        known = rows[rows["value"] != "unknown"]
        assert list(known["customers"]) == sorted(known["customers"], reverse=True)
    st = o.merge(raw["stores"].rename(columns={"name": "store"}), on="store_id")
    st = st.assign(tickets=1, revenue=st["total"])
    active = o["customer_id"].nunique()
    check("store", st, "store", active)
    check("channel", st, "channel", active)


def test_age_bands_are_checked(demo):
    assert an.age_band_labels((18, 25, 35)) == ["<18", "18-24", "25-34", "35+"]
    for bad in [(), (30, 20), (0, 10), ("x",)]:
        with pytest.raises(sj.errors.AnalyticsError, match="age_bands"):
            an.demographics(demo, None, age_bands=bad)


# -- 8. RFM -----------------------------------------------------------------------------------
RFM_NAMES = {  # docs/evaluation.md: (R, F) -> named segment
    **{(r, f): "hibernating" for r in (1, 2) for f in (1, 2)},
    **{(r, f): "at risk" for r in (1, 2) for f in (3, 4)},
    **{(r, 5): "can't lose them" for r in (1, 2)},
    (3, 1): "about to sleep", (3, 2): "about to sleep", (3, 3): "need attention",
    **{(r, f): "loyal" for r in (3, 4) for f in (4, 5)},
    (4, 1): "promising", (5, 1): "new",
    **{(r, f): "potential loyalist" for r in (4, 5) for f in (2, 3)},
    (5, 4): "champions", (5, 5): "champions",
}


def ref_rfm(orders: pd.DataFrame, key: str, as_of: dt.datetime) -> pd.DataFrame:
    start = pd.Timestamp(as_of) - pd.Timedelta(days=365) + US
    t = orders["ordered_at"]
    w = orders[(t >= start) & (t <= as_of)]
    g = w.groupby(key).agg(last_order_at=("ordered_at", "max"), frequency=("order_id", "size"),
                           monetary=("total", "sum"))
    g["monetary"] = g["monetary"].round(2)
    n = len(g)
    for col, s in (("last_order_at", "r"), ("frequency", "f"), ("monetary", "m")):
        # the rank: customers with a lower value, plus one (ties share the lowest)
        g[s] = np.ceil(5 * g[col].rank(method="min") / n).astype(int)
    g["rfm_segment"] = [RFM_NAMES[(r, f)] for r, f in zip(g["r"], g["f"])]
    before = orders[t < start].groupby(key)["ordered_at"].max()
    lost = before[~before.index.isin(g.index)]
    g = pd.concat([g, pd.DataFrame({"last_order_at": lost, "frequency": 0, "monetary": 0.0,
                                    "rfm_segment": "lost"})])
    g["recency_days"] = (pd.Timestamp(as_of).normalize() -
                         g["last_order_at"].dt.normalize()).dt.days
    return g.sort_index()


@pytest.mark.parametrize("as_of", [None, "2025-03-31"])
def test_rfm_table_matches_pandas(demo, raw, as_of):
    at = dt.datetime(2026, 6, 30, 23, 59) if as_of is None else \
        dt.datetime(2025, 3, 31, 23, 59, 59, 999999)
    got = an.rfm_table(demo, as_of)
    ref = ref_rfm(raw["orders"], "customer_id", at)
    assert list(got["customer_id"]) == list(ref.index)
    assert list(got["rfm_segment"]) == list(ref["rfm_segment"])
    scored = ref["rfm_segment"] != "lost"
    for col in ("r", "f", "m"):
        assert list(got.loc[scored.to_numpy(), col]) == list(ref.loc[scored, col]), col
        assert got.loc[~scored.to_numpy(), col].isna().all()
    assert list(got["frequency"]) == list(ref["frequency"])
    assert list(got["recency_days"]) == list(ref["recency_days"])
    close(got["monetary"], ref["monetary"])


def test_rfm_table_of_a_segment_keeps_workspace_scores(demo, raw, seg):
    everyone = an.rfm_table(demo).set_index("customer_id")
    mine = an.rfm_table(demo, segment=seg["madrid"]).set_index("customer_id")
    ids = members(raw, "madrid", None)
    buyers = set(raw["orders"]["customer_id"])
    assert set(mine.index) == ids & buyers
    pd.testing.assert_frame_equal(mine, everyone.loc[mine.index])


def test_rfm_summary_matches_pandas(demo, raw, seg):
    at = dt.datetime(2026, 6, 30, 23, 59)
    got = an.rfm_summary(demo, segment=seg["big"])
    ref = ref_rfm(raw["orders"], "customer_id", at)
    ref = ref[ref.index.isin(members(raw, "big", at))]
    assert list(got["rfm_segment"]) == ["champions", "loyal", "potential loyalist", "new",
                                        "promising", "need attention", "about to sleep",
                                        "at risk", "can't lose them", "hibernating", "lost"]
    g = ref.groupby("rfm_segment").agg(customers=("frequency", "size"),
                                       revenue=("monetary", "sum"), trips=("frequency", "mean"),
                                       recency=("recency_days", "mean"))
    g = g.reindex(got["rfm_segment"], fill_value=0)
    assert list(got["customers"]) == list(g["customers"])
    close(got["revenue_365d"], g["revenue"])
    close(got["avg_revenue"],
          np.where(g["customers"] > 0, g["revenue"] / g["customers"].clip(1), 0))
    close(got["avg_trips"], g["trips"])
    close(got["avg_recency_days"], g["recency"])
    close(got["customer_pct"], g["customers"] / g["customers"].sum())
    close(got["revenue_pct"], g["revenue"] / g["revenue"].sum())


def test_rfm_named_segments_agree_with_the_rule_field(demo):
    # the dashboard and the rfm_segment rule field share one definition
    table = an.rfm_table(demo)
    champions = demo.segment('rfm_segment = "champions"').member_ids()
    assert set(champions) == set(table.loc[table["rfm_segment"] == "champions", "customer_id"])


# -- 9. overlap -------------------------------------------------------------------------------
def test_overlap_matches_pandas(demo, raw, seg):
    sub = demo.segment("subscribed", name="subscribed")
    got = an.overlap(demo, [seg["madrid"], seg["big"], sub, seg["empty"]])
    c = raw["customers"]
    sets = {"madrid": members(raw, "madrid", None),
            "big": members(raw, "big", dt.datetime(2026, 6, 30, 23, 59)),
            "subscribed": set(c.loc[c["subscribed"].fillna(False).astype(bool), "customer_id"]),
            "empty": set()}
    assert len(got) == 16
    for _, row in got.iterrows():
        a, b = sets[row["segment_a"]], sets[row["segment_b"]]
        assert (row["customers_a"], row["customers_b"], row["shared"]) == (len(a), len(b),
                                                                           len(a & b))
        close(row["jaccard"], len(a & b) / len(a | b) if a | b else 0)
        close(row["share_of_a"], len(a & b) / len(a) if a else 0)
    m = an.overlap_matrix(got, "jaccard")
    assert list(m.index) == list(m.columns) == ["madrid", "big", "subscribed", "empty"]
    assert m.loc["madrid", "madrid"] == 1.0
    assert m.loc["madrid", "big"] == m.loc["big", "madrid"]


# -- empty segment ----------------------------------------------------------------------------
def test_an_empty_segment_gives_empty_frames_with_the_right_columns(demo, seg):
    empty, full = seg["empty"], seg["madrid"]
    calls = {
        "evolution": lambda s: an.evolution(demo, s, YEAR),
        "purchase_moment": lambda s: an.purchase_moment(demo, s, YEAR),
        "top_products": lambda s: an.top_products(demo, s, YEAR),
        "lifecycle": lambda s: an.lifecycle(demo, s),
        "value_tiers": lambda s: an.value_tiers(demo, s),
        "reachability": lambda s: an.reachability(demo, s),
        "demographics": lambda s: an.demographics(demo, s, YEAR),
        "rfm_table": lambda s: an.rfm_table(demo, segment=s),
        "rfm_table_email": lambda s: an.rfm_table(demo, attribution="email", segment=s),
        "rfm_summary": lambda s: an.rfm_summary(demo, segment=s),
    }
    for name, call in calls.items():
        got, ref = call(empty), call(full)
        assert len(ref) > 0, name
        assert len(got) == 0, name
        assert list(got.columns) == list(ref.columns), name
    marg = an.purchase_moment_marginals(an.purchase_moment(demo, empty, YEAR))
    assert [len(m) for m in marg] == [0, 0]
    stats = an.general_stats(demo, [empty], YEAR)
    assert stats.iloc[0][["customers", "active_customers", "tickets", "revenue",
                          "avg_ticket", "frequency"]].sum() == 0


# -- arguments --------------------------------------------------------------------------------
@pytest.mark.parametrize("call, words", [
    (lambda ws: an.evolution(ws, None, freq="year"), "freq"),
    (lambda ws: an.top_products(ws, None, by="margin"), "by must be"),
    (lambda ws: an.top_products(ws, None, n=0), "n must be"),
    (lambda ws: an.rfm_table(ws, attribution="postcode"), "attribution"),
    (lambda ws: an.general_stats(ws, None, "fortnight"), "not understood"),
    (lambda ws: an.value_tiers(ws, None, lifetime_years=0), "lifetime_years"),
    (lambda ws: an.overlap(ws, []), "at least one"),
    (lambda ws: an.general_stats(ws, [42]), "a segment must be"),
])
def test_bad_arguments_raise_analytics_errors(demo, call, words):
    with pytest.raises(sj.errors.AnalyticsError, match=words):
        call(demo)


def test_segments_given_as_text_or_tree(demo, raw, seg):
    got = an.general_stats(demo, ['city = "Madrid"'], YEAR)
    assert got.iloc[0]["segment"] == 'city = "Madrid"'
    assert got.iloc[0]["customers"] == len(members(raw, "madrid", None))
    assert math.isclose(got.iloc[1]["customer_share"], 1.0)
    one = an.general_stats(demo, seg["madrid"].tree, YEAR)  # a bare tree is one segment
    assert list(one["customers"]) == list(got["customers"])
