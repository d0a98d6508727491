"""The synthetic retail demo: determinism, realistic shape, consistency once loaded, and the
build/reuse behaviour of ``segjupyter.demo.build``. Size S only (the M timing lives in
``benchmarks/bench_build.py``)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import segjupyter as sj
from segjupyter.demo import REFERENCE_DATE, START_DATE, build, generate
from segjupyter.errors import SegjupyterError

TABLES = ("customers", "stores", "products", "orders", "order_lines", "events")


@pytest.fixture(scope="module")
def frames():
    return generate("S", seed=42)


@pytest.fixture(scope="module")
def orders_ext(frames):
    """Orders with their channel and hour / weekday."""
    o = frames["orders"].merge(frames["stores"][["store_id", "channel"]], on="store_id")
    o["hour"] = o["ordered_at"].dt.hour
    o["weekday"] = o["ordered_at"].dt.day_of_week
    return o


def cents(values) -> np.ndarray:
    return np.round(np.asarray(values, dtype=float) * 100).astype(np.int64)


# -- determinism ----------------------------------------------------------------------------
def test_same_seed_gives_identical_frames(frames):
    again = generate("S", seed=42)
    assert list(again) == list(TABLES)
    for t in TABLES:
        pd.testing.assert_frame_equal(frames[t], again[t], check_exact=True)


def test_different_seed_gives_different_data(frames):
    other = generate("S", seed=43)
    for t in ("customers", "products", "orders", "order_lines", "events"):
        a, b = frames[t], other[t]
        assert len(a) != len(b) or not a.equals(b), t
    assert not frames["orders"]["ordered_at"].head(1000).equals(
        other["orders"]["ordered_at"].head(1000))


def test_bad_size_and_seed_are_our_errors(tmp_path):
    with pytest.raises(SegjupyterError, match="unknown demo size 'XL'.*S, M, L"):
        generate("XL")
    with pytest.raises(SegjupyterError, match="seed must be a non-negative integer"):
        build(tmp_path / "ws", seed="abc")
    assert not (tmp_path / "ws").exists()  # refused before anything was created


# -- canonical columns and sizes ------------------------------------------------------------
def test_frames_have_canonical_columns_and_integer_ids(frames):
    from segjupyter.workspace.schema import TABLES as SCHEMA
    for t in TABLES:
        spec = SCHEMA[t]
        expected = [c for c in spec.column_names if c not in spec.derived]
        got = list(frames[t].columns)
        assert got[: len(expected)] == expected, t
    assert list(frames["customers"].columns[len(SCHEMA["customers"].columns):]) == [
        "loyalty_tier", "preferred_channel"]
    for t, key in (("customers", "customer_id"), ("orders", "order_id"),
                   ("products", "product_id"), ("stores", "store_id")):
        assert frames[t][key].dtype == np.int64 and frames[t][key].is_unique
    c, o, lines = frames["customers"], frames["orders"], frames["order_lines"]
    assert len(c) == 10_000
    assert 95_000 <= len(o) <= 105_000
    assert 2.6 <= len(lines) / len(o) <= 3.4
    assert 450 <= len(frames["products"]) <= 550


# -- shape ----------------------------------------------------------------------------------
def test_purchase_counts_are_heavy_tailed(frames):
    per = frames["orders"].groupby("customer_id").size().reindex(
        frames["customers"]["customer_id"], fill_value=0).sort_values(ascending=False)
    top = per.iloc[: len(per) // 10].sum() / per.sum()
    assert top > 0.35
    buyers = per[per > 0]
    assert (buyers == 1).mean() > 0.15  # many one-time buyers
    assert buyers.max() > 20 * buyers.median()  # and a few very frequent ones


def test_customers_lapse(frames):
    last = frames["orders"].groupby("customer_id")["ordered_at"].max()
    lapsed = last < pd.Timestamp(REFERENCE_DATE) - pd.Timedelta(days=365)
    assert 0.15 < lapsed.mean() < 0.7


def test_weekday_and_hour_patterns(orders_ext):
    store = orders_ext[orders_ext["channel"] == "store"]
    web = orders_ext[orders_ext["channel"] == "web"]
    by_day = store["weekday"].value_counts(normalize=True)
    assert by_day.idxmax() == 5  # Saturday
    assert by_day[5] > 1.5 * by_day[[0, 1, 2]].mean()
    hours = store["hour"].value_counts(normalize=True)
    assert store["hour"].between(9, 21).all()  # shop hours
    assert hours.reindex([18, 19, 20], fill_value=0).sum() > 0.30  # after-work peak
    assert hours.reindex([18, 19, 20]).min() > hours.reindex([10, 15, 16]).max()
    web_hours = web["hour"].value_counts(normalize=True)
    assert web_hours.reindex(range(19, 24)).sum() > 2 * web_hours.reindex(range(7, 12)).sum()


def test_december_peaks_above_monthly_median(frames):
    o = frames["orders"]
    monthly = o.groupby(o["ordered_at"].dt.to_period("M"))["total"].sum()
    assert len(monthly) == 36
    decembers = monthly[monthly.index.month == 12]
    assert len(decembers) == 3
    assert (decembers > monthly.median()).all()
    july = monthly[monthly.index.month == 7]  # summer sales beat the following August
    august = monthly[monthly.index.month == 8]
    assert (july.to_numpy() > august.to_numpy()).all()


def test_channels_stores_and_cities(frames, orders_ext):
    stores = frames["stores"]
    assert set(stores["channel"]) == {"store", "web", "app"}
    physical = stores[stores["channel"] == "store"]
    assert 20 <= len(physical) <= 30
    assert {"Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Lisboa", "Porto", "Paris",
            "Lyon"} <= set(physical["city"])
    shares = orders_ext["channel"].value_counts(normalize=True)
    assert set(shares.index) == {"store", "web", "app"} and shares.min() > 0.05
    app_first = orders_ext.loc[orders_ext["channel"] == "app", "ordered_at"].min()
    assert app_first >= pd.Timestamp("2024-03-01")  # the app launched then
    top_cities = frames["customers"]["city"].value_counts().index[:2]
    assert set(top_cities) == {"Madrid", "Barcelona"}
    assert frames["customers"]["city"].isin(physical["city"]).mean() > 0.8


def test_products_brands_categories_tags(frames):
    p = frames["products"]
    assert {"Tea", "Coffee", "Chocolate", "Biscuits", "Accessories", "Gifts"} <= set(
        p["category"])
    assert 10 <= p["brand"].nunique() <= 14 and "Acme" in set(p["brand"])
    # category affinity: no brand makes everything
    assert (p.groupby("brand")["category"].nunique() < p["category"].nunique()).all()
    known = {"organic", "vegan", "gift", "limited", "new", "bestseller", "fair-trade",
             "sugar-free"}
    lengths = p["tags"].map(len)
    assert lengths.between(0, 3).all() and set(lengths) == {0, 1, 2, 3}
    assert set().union(*p["tags"]) <= known
    assert p["sku"].is_unique and (p["price"] > 0).all()


def test_lines_amounts_offers_and_returns(frames):
    o, lines, p = frames["orders"], frames["order_lines"], frames["products"]
    amount, unit = cents(lines["amount"]), cents(lines["unit_price"])
    assert (amount == lines["quantity"].to_numpy() * unit).all()
    sums = pd.Series(amount).groupby(lines["order_id"].to_numpy()).sum()
    assert (sums.reindex(o["order_id"]).to_numpy() == cents(o["total"])).all()
    assert (lines.groupby("order_id")["line_no"].agg(lambda s: list(s) == list(
        range(1, len(s) + 1)))).all()

    x = lines.merge(o[["order_id", "offer_code", "total"]], on="order_id").merge(
        p[["product_id", "price"]], on="product_id")
    plain = x["offer_code"].isna() & (x["total"] > 0)
    assert (cents(x.loc[plain, "unit_price"]) == cents(x.loc[plain, "price"])).all()
    coded = x["offer_code"].notna()
    assert (cents(x.loc[coded, "unit_price"]) < cents(x.loc[coded, "price"])).all()

    share = o["offer_code"].notna().mean()
    assert 0.10 <= share <= 0.20
    assert {"SUMMER10", "WELCOME", "BF25", "XMAS"} <= set(o["offer_code"].dropna())
    bf = o[o["offer_code"] == "BF25"]["ordered_at"].dt.normalize()
    friday = {y: pd.date_range(f"{y}-11-01", f"{y}-11-30", freq="W-THU")[3] + pd.Timedelta(
        days=1) for y in (2023, 2024, 2025)}  # day after the fourth Thursday of November
    since = (bf - bf.dt.year.map(friday)).dt.days
    assert since.between(0, 3).all()  # Black Friday to Cyber Monday
    returns = o["total"] < 0
    assert 0 < returns.mean() < 0.005
    assert (lines["quantity"] < 0).sum() == returns.sum()  # one negative line per return
    assert (lines["quantity"] != 0).all()


def test_customers_attributes(frames):
    c = frames["customers"]
    born = c["birth_date"].dropna()
    assert 0 < c["birth_date"].isna().mean() < 0.15
    assert ((born.dt.month == 2) & (born.dt.day == 29)).any()
    ref = pd.Timestamp(REFERENCE_DATE)
    age = (ref - born).dt.days / 365.2425
    assert age.min() >= 18 and age.max() < 86
    assert set(c["customer_type"]) == {"individual", "business"}
    assert set(c["source"]) == {"store", "web", "referral", "social"}
    assert {"female", "male"} <= set(c["gender"].dropna())
    assert 0 < c["email"].isna().mean() < 0.05 and c["email"].dropna().is_unique
    assert 0.05 < c["phone"].isna().mean() < 0.4
    assert 0.40 <= c["subscribed"].mean() <= 0.50
    assert set(c["preferred_channel"]) == {"store", "web", "app"}
    assert c["postal_code"].notna().all()


def test_frequent_buyers_subscribe_more_and_tiers_follow_spend(frames):
    c, o = frames["customers"], frames["orders"]
    n = o.groupby("customer_id").size().reindex(c["customer_id"], fill_value=0).to_numpy()
    sub = c["subscribed"].to_numpy()
    assert sub[n >= 10].mean() > sub[n <= 1].mean() + 0.15
    spend = o.groupby("customer_id")["total"].sum().reindex(c["customer_id"], fill_value=0)
    by_tier = pd.DataFrame({"tier": c["loyalty_tier"].to_numpy(), "spend": spend.to_numpy()}
                           ).groupby("tier")["spend"].agg(["min", "max", "size"])
    order = ["bronze", "silver", "gold", "platinum"]
    assert list(by_tier.loc[order, "size"] > 0) == [True] * 4
    for lo, hi in zip(order, order[1:]):
        assert by_tier.loc[lo, "max"] < by_tier.loc[hi, "min"]
    assert by_tier.loc["platinum", "size"] < by_tier.loc["bronze", "size"]


def test_events_rates_and_volume(frames):
    e, o = frames["events"], frames["orders"]
    counts = e["event_type"].value_counts()
    assert set(counts.index) == {"visit", "email_sent", "email_open", "email_click",
                                 "page_view"}
    assert counts["email_click"] < counts["email_open"] < counts["email_sent"]
    assert len(e) <= 3 * len(o)
    subscribed = frames["customers"].set_index("customer_id")["subscribed"]
    assert subscribed.reindex(e.loc[e["event_type"] == "email_sent", "customer_id"]).all()


def test_dates_are_inside_the_window_and_orders_follow_registration(frames):
    ref, start = pd.Timestamp(REFERENCE_DATE), pd.Timestamp(START_DATE)
    o, c, e = frames["orders"], frames["customers"], frames["events"]
    assert o["ordered_at"].min() >= start and o["ordered_at"].max() <= ref
    assert o["ordered_at"].max() > ref - pd.Timedelta(days=1)
    assert e["occurred_at"].max() <= ref and c["registered_at"].max() <= ref
    assert c["birth_date"].max() <= ref
    reg = c.set_index("customer_id")["registered_at"]
    assert o["customer_id"].isin(reg.index).all()
    assert (o["ordered_at"].to_numpy() > reg.reindex(o["customer_id"]).to_numpy()).all()
    assert (e["occurred_at"].to_numpy() >= reg.reindex(e["customer_id"]).to_numpy()).all()


# -- loaded ---------------------------------------------------------------------------------
def test_loaded_demo_is_exact_and_complete(demo_ws_path, frames):
    ws = sj.open(demo_ws_path)
    counts = dict(ws.sql(" UNION ALL ".join(
        f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)).fetchall())
    assert counts == {t: len(frames[t]) for t in TABLES}
    assert ws.sql("SELECT typeof(total) FROM orders LIMIT 1").scalar() == "DECIMAL(18,2)"
    mismatched = ws.sql("""
        SELECT count(*) FROM orders o
        LEFT JOIN (SELECT order_id, sum(amount) AS s FROM order_lines GROUP BY 1) l
          USING (order_id)
        WHERE l.s IS DISTINCT FROM o.total""").scalar()
    assert mismatched == 0
    db = ws.sql("SELECT order_id, CAST(total * 100 AS BIGINT) AS c FROM orders "
                "ORDER BY order_id").df()
    assert (db["c"].to_numpy() == cents(frames["orders"]["total"])).all()
    assert ws.sql("SELECT count(*) FROM order_lines WHERE amount <> quantity * unit_price"
                  ).scalar() == 0
    latest = ws.sql("""SELECT greatest((SELECT max(ordered_at) FROM orders),
                                       (SELECT max(occurred_at) FROM events),
                                       (SELECT max(registered_at) FROM customers),
                                       (SELECT max(birth_date) FROM customers))""").scalar()
    assert pd.Timestamp(latest) <= pd.Timestamp(REFERENCE_DATE)
    assert ws.sql("SELECT count(*) FROM orders o JOIN customers c USING (customer_id) "
                  "WHERE o.ordered_at <= c.registered_at").scalar() == 0
    assert ws.default_as_of == REFERENCE_DATE
    assert ws.now() == REFERENCE_DATE
    assert ws.timezone == "Europe/Madrid"
    assert {"loyalty_tier", "preferred_channel"} <= set(ws.fields.customer)


def test_build_stores_exactly_the_generated_rows(demo_ws_path, frames):
    """build() hands the loader Arrow tables in customer order and makes the events late:
    the stored rows are still exactly generate()'s, and orders and lines are stored by
    customer."""
    ws = sj.open(demo_ws_path)
    keys = {"orders": "order_id", "order_lines": "order_id, line_no",
            "events": "customer_id, occurred_at, event_type, properties"}
    for t, key in keys.items():
        stored = ws.sql(f"SELECT * FROM {t} ORDER BY {key}").df()
        given = frames[t].sort_values([k.strip() for k in key.split(",")], kind="stable")
        for col in given.columns:
            a, b = stored[col].to_numpy(), given[col].to_numpy()
            if col in ("total", "unit_price", "amount"):
                a, b = cents(a), cents(b)
            assert (pd.isna(a) == pd.isna(b)).all() and (a[~pd.isna(b)] == b[~pd.isna(b)]).all(), \
                (t, col)
        if t != "events":
            by_rowid = ws.sql(f"SELECT customer_id FROM {t} ORDER BY rowid").df()["customer_id"]
            assert by_rowid.is_monotonic_increasing, t


def test_fast_draws_equal_numpy():
    from segjupyter.demo import draws

    rng = np.random.default_rng(3)
    tables = [np.cumsum(rng.random(2000)), np.array([0.0, 0.0, 1.0, 1.0, 1.0, 2.5]),
              np.cumsum(np.full(24, 1 / 24))]
    for table in tables:
        values = np.concatenate([rng.random(600_000) * table[-1] * 1.2 - 0.1, table,
                                 np.nextafter(table, -np.inf), np.nextafter(table, np.inf)])
        assert (draws.search_right(table, values)
                == np.searchsorted(table, values, side="right")).all()
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    p = [0.78, 0.15, 0.04, 0.02, 0.01]
    n = draws.CHUNK * 2 + 17  # several chunks
    assert (draws.choice(a, np.array([1, 2, 3, 4, 6]), n, p)
            == b.choice(np.array([1, 2, 3, 4, 6]), n, p=p)).all()
    cdf = np.cumsum(np.arange(1.0, 50.0))
    cdf /= cdf[-1]
    assert (draws.pick(a, cdf, n)
            == np.minimum(np.searchsorted(cdf, b.random(n), side="right"), len(cdf) - 1)).all()
    assert (draws.below(a, n, 0.3) == (b.random(n) < 0.3)).all()
    assert a.random() == b.random()  # the streams stay in step


def test_print_shows_counts_and_date_range(demo_ws_path, frames, capsys):
    ws = sj.open(demo_ws_path)
    print(ws)
    out = capsys.readouterr().out
    for t in TABLES:
        line = next(x for x in out.splitlines() if x.strip().startswith(t + " "))
        assert f"{len(frames[t]):,}" in line
    o = frames["orders"]["ordered_at"]
    assert f"{o.min():%Y-%m-%d} to {o.max():%Y-%m-%d}" in out


# -- build / reuse --------------------------------------------------------------------------
def _retail_id(path) -> tuple[int, int]:
    st = os.stat(os.path.join(path, "retail.duckdb"))
    return st.st_ino, st.st_mtime_ns


def test_build_reuses_rebuilds_on_force_and_after_other_data(tmp_path):
    path = str(tmp_path / "demo")
    ws = build(path, size="S", seed=7, timezone="Europe/Lisbon")
    first = _retail_id(path)
    assert ws.setting("demo_seed") == "7" and ws.timezone == "Europe/Lisbon"
    n = ws.sql("SELECT count(*) FROM orders").scalar()

    again = build(path, size="S", seed=7, timezone="Europe/Madrid")
    assert _retail_id(path) == first  # reused: the data file was not replaced
    assert again.timezone == "Europe/Madrid"

    build(path, size="S", seed=7, force=True)
    assert _retail_id(path) != first
    assert ws.sql("SELECT count(*) FROM orders").scalar() == n  # same seed, same data

    # other data loaded over the demo: the next build() must not take it for the demo
    ws.load(customers=pd.DataFrame({"customer_id": [1]}),
            orders=pd.DataFrame({"order_id": [1], "customer_id": [1],
                                 "ordered_at": ["2026-01-01"], "total": [9.99]}),
            order_lines=pd.DataFrame({"order_id": [1], "product_id": [1], "quantity": [1],
                                      "amount": [9.99]}),
            products=pd.DataFrame({"product_id": [1]}))
    assert ws.sql("SELECT count(*) FROM orders").scalar() == 1
    build(path, size="S", seed=7)
    assert ws.sql("SELECT count(*) FROM orders").scalar() == n


def test_build_in_memory():
    ws = build(":memory:", size="S", seed=42)
    try:
        assert ws.path == ":memory:"
        assert ws.sql("SELECT count(*) FROM customers").scalar() == 10_000
        assert ws.default_as_of == REFERENCE_DATE
    finally:
        ws.close()
