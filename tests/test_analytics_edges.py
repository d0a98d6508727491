"""Analytics on a small hand-made workspace: orders exactly on and one microsecond beside the
period's edges, ages on birthdays, customers attributed by email or phone, and workspaces
that lack tables."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import segjupyter as sj
from segjupyter import analytics as an
from segjupyter.analytics import Period

P = Period.year(2025)
US = dt.timedelta(microseconds=1)
START, END = dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31, 23, 59, 59, 999999)

# (order_id, customer_id, store_id, ordered_at, total) — one line each, product = order % 2 + 1
ORDERS = [
    (1, 1, 1, START, 10.00),          # exactly at the start: in
    (2, 2, 1, START - US, 20.00),     # a microsecond before: out
    (3, 3, 2, END, 30.00),            # exactly at the end: in
    (4, 4, 2, END + US, 40.00),       # a microsecond after: out
    (5, 1, 2, dt.datetime(2025, 6, 15, 12, 30), 5.50),
    (6, 5, 1, dt.datetime(2024, 3, 1, 9, 0), 7.25),    # shares 1's email, ordered only in 2024
    (7, 6, 1, dt.datetime(2025, 11, 2, 10, 0), 12.00),  # shares 3's phone
    (8, 6, 2, dt.datetime(2025, 12, 20, 10, 0), 8.00),
]


def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [1, 2, 3, 4, 5, 6, 7],
        "first_name": list("ABCDEFG"),
        "email": ["Ana@Example.com", "bo@example.com", None, "di@example.com",
                  " ana@example.com ", None, ""],
        "phone": [None, "+34 600 000 002", "+34 600-000-003", None, None, "34600000003", "12"],
        "birth_date": pd.to_datetime(["2000-12-31", "2001-01-01", "1996-02-29", None,
                                      "1980-06-01", "2010-05-05", "1990-01-01"]),
        "gender": ["female", "male", "female", None, "male", "female", "other"],
        "city": ["Madrid", "Madrid", "Lisboa", "Madrid", "Porto", "Lisboa", None],
        "country": ["Spain", "Spain", "Portugal", "Spain", "Portugal", "Portugal", None],
        "subscribed": [True, True, False, True, False, True, None],
    })


def build(path, *, lines=True, stores=True):
    ws = sj.open(path)
    orders = pd.DataFrame(ORDERS, columns=["order_id", "customer_id", "store_id", "ordered_at",
                                           "total"])
    tables = {"customers": customers(), "orders": orders}
    if lines:
        tables["order_lines"] = pd.DataFrame({
            "order_id": orders["order_id"], "line_no": 1,
            "product_id": orders["order_id"] % 2 + 1, "quantity": orders["order_id"],
            "unit_price": (orders["total"] / orders["order_id"]).round(2),
            "amount": orders["total"]})
        tables["products"] = pd.DataFrame({"product_id": [1, 2], "sku": ["T1", "C1"],
                                           "name": ["Tea", "Coffee"],
                                           "category": ["Tea", "Coffee"],
                                           "brand": ["Acme", "Acme"], "price": [1.0, 2.0]})
    if stores:
        tables["stores"] = pd.DataFrame({"store_id": [1, 2], "name": ["Centro", "Web"],
                                         "channel": ["store", "web"]})
    report = ws.load(**tables)
    assert report.ok, report
    ws.default_as_of = dt.datetime(2026, 6, 30, 23, 59)
    return ws


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    w = build(tmp_path_factory.mktemp("edges") / "ws")
    yield w
    w.close()


def test_loaded_instants_keep_their_microseconds(ws):
    got = ws.sql("SELECT order_id, ordered_at FROM orders ORDER BY order_id").df()
    assert list(got["ordered_at"][:4]) == [pd.Timestamp(t) for t in
                                           (START, START - US, END, END + US)]


def test_orders_on_the_period_edges_are_in_and_beside_them_out(ws):
    stats = an.general_stats(ws, None, P).iloc[0]
    # orders 1, 3, 5, 7, 8 are inside 2025
    assert stats["tickets"] == 5
    assert stats["active_customers"] == 3  # customers 1, 3, 6
    assert stats["revenue"] == pytest.approx(10 + 30 + 5.5 + 12 + 8)
    assert stats["units"] == 1 + 3 + 5 + 7 + 8

    days = an.evolution(ws, None, P, freq="day")
    assert len(days) == 365
    assert days.iloc[0]["tickets"] == 1 and days.iloc[-1]["tickets"] == 1
    assert days["tickets"].sum() == 5

    moment = an.purchase_moment(ws, None, P).set_index(["weekday", "hour"])["tickets"]
    assert moment[(2, 0)] == 1   # 2025-01-01 00:00 is a Wednesday, midnight
    assert moment[(2, 23)] == 1  # 2025-12-31 23:59:59.999999, Wednesday 23h
    assert moment.sum() == 5

    products = an.top_products(ws, None, P, by="units").set_index("product_id")
    assert products.loc[2, "units"] == 1 + 3 + 5 + 7  # odd orders: product 2
    assert products.loc[1, "units"] == 8
    assert products.loc[2, "repeat_buyers"] == 1  # customer 1: orders 1 and 5

    demo = an.demographics(ws, None, P)
    stores = demo[demo["dimension"] == "store"].set_index("value")
    assert dict(stores["tickets"]) == {"Centro": 2, "Web": 3}
    assert dict(stores["customers"]) == {"Centro": 2, "Web": 3}
    assert stores.loc["Web", "share"] == 1.0  # all 3 active customers used the web


def test_membership_is_evaluated_at_the_period_end(ws):
    # bought in the last 30 days of the period: customer 3 (at the very end) and 6
    recent = ws.segment("orders(last 30 days) > 0", name="recent")
    stats = an.general_stats(ws, [recent], P)
    assert stats.iloc[0]["customers"] == 2
    assert stats.iloc[0]["tickets"] == 3  # orders 3, 7, 8
    # as of the real now (June 2026) nobody bought in the last 30 days
    assert recent.count() == 0
    overlap = an.overlap(ws, [recent], P)
    assert overlap.iloc[0]["shared"] == 2


def test_ages_are_completed_years_at_the_period_end(ws):
    got = an.demographics(ws, None, P, age_bands=(25, 29))
    age = got[got["dimension"] == "age"].set_index("value")["customers"]
    # on 2025-12-31: 1 turns 25 that day, 2 is 24, 3 (29 Feb 1996) is 29, 4 unknown,
    # 5 is 45, 6 is 15, 7 is 35
    assert dict(age) == {"<25": 2, "25-28": 1, "29+": 3, "unknown": 1}
    feb = an.demographics(ws, None, "2025-01-01..2025-02-28", age_bands=(29,))
    feb_age = feb[feb["dimension"] == "age"].set_index("value")["customers"]
    # 29 February birthdays are reached on 28 February in other years
    assert feb_age["29+"] == 3  # 3 (just 29), 5, 7


def test_reachability_counts_blank_contacts_as_missing(ws):
    got = an.reachability(ws).set_index("measure")["customers"]
    assert got["has email"] == 4  # 3 and 6 have none, 7 has "", 5's has spaces around
    assert got["has phone"] == 4  # 2, 3, 6 and 7 (whose "12" is not empty)
    assert got["subscribed"] == 4
    assert got["subscribed with email"] == 3  # 1, 2, 4
    assert got["email or phone"] == 7


def test_rfm_attribution_by_email_and_phone(ws):
    by_id = an.rfm_table(ws, P).set_index("customer_id")
    assert set(by_id.index) == {1, 2, 3, 5, 6}  # 4 ordered after the period end
    assert by_id.loc[5, "rfm_segment"] == "lost"

    by_email = an.rfm_table(ws, P, attribution="email").set_index("entity")
    # 1 and 5 share an email (case and spaces ignored): their orders are pooled
    ana = by_email.loc["ana@example.com"]
    assert list(ana["customer_ids"]) == [1, 5]
    assert ana["customers"] == 2 and ana["frequency"] == 2
    assert ana["monetary"] == pytest.approx(15.5)
    assert "customer:3" in by_email.index and "customer:6" in by_email.index  # no email
    assert by_email.loc["bo@example.com", "rfm_segment"] == "lost"
    assert len(by_email) == 4  # 4 (di@) ordered only after the period: no row

    by_phone = an.rfm_table(ws, P, attribution="phone").set_index("entity")
    shared = by_phone.loc["34600000003"]
    assert list(shared["customer_ids"]) == [3, 6]
    assert shared["frequency"] == 3
    assert shared["recency_days"] == 0

    summary = an.rfm_summary(ws, P, attribution="phone")
    assert summary["customers"].sum() == len(by_phone)
    mine = an.rfm_table(ws, P, attribution="phone", segment=ws.segment('city = "Lisboa"'))
    assert list(mine["entity"]) == ["34600000003"]


def test_value_tiers_and_lifecycle_on_hand_counts(ws):
    tiers = an.value_tiers(ws, None, P).set_index("tier")
    # the 365 days up to the end of 2025 start exactly at START: spenders 3 (30.00),
    # 6 (20.00), 1 (15.50); n = 3, so the top spender is within the first 60% (k = 1)
    assert dict(tiers["customers"]) == {"top 10%": 0, "next 20%": 0, "middle 30%": 1,
                                        "bottom 40%": 2, "no spend": 4}
    assert tiers.loc["middle 30%", "revenue_365d"] == 30.0
    assert tiers.loc["bottom 40%", "revenue_365d"] == pytest.approx(35.5)
    life = an.lifecycle(ws, None, P).set_index("lifecycle")["customers"]
    # 2's only order is one microsecond before the 365-day line: hibernating, not at risk
    assert dict(life[life > 0]) == {"new": 2, "at risk": 1, "hibernating": 2, "prospect": 2}


def test_workspaces_without_lines_or_stores(tmp_path):
    w = build(tmp_path / "bare", lines=False, stores=False)
    try:
        with pytest.raises(sj.errors.UnavailableFieldError, match="order_lines"):
            an.top_products(w, None, P)
        stats = an.general_stats(w, None, P).iloc[0]
        assert stats["tickets"] == 5 and pd.isna(stats["units"])
        demo = an.demographics(w, None, P)
        assert "channel" not in set(demo["dimension"])
        stores = demo[demo["dimension"] == "store"]
        assert sorted(stores["value"]) == ["1", "2"]  # store ids when names are unknown
    finally:
        w.close()
