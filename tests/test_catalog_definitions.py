"""Definitions files (YAML / JSON round trip), templates, and the shared refresh pass on the
demo data."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pandas as pd
import pytest

import catalog_frames as cf
import segjupyter
from segjupyter.errors import CatalogError
from segjupyter.rules.model import (Attribute, Behaviour, Derived, Group, RelativeDate,
                                    Window)
from segjupyter.segments.templates import TEMPLATES, build, gallery

AS_OF = "2026-06-30"


def _fields(rec):
    return (rec.name, rec.kind, rec.active, rec.description, rec.labels, rec.tree, rec.params)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_definitions_round_trip(ws, tmp_path, suffix):
    cf.load(ws)
    cat = ws.segments
    cat.save('city = "Madrid" and spend(last 30 days) >= :lo', name="madrid",
             params={"lo": Decimal("99.50")}, description="Madrid, «big»", tags=["q1", "es"])
    cat.save('in_segment("madrid") or registered_at >= "2025-05-01"', name="mixed",
             kind="static", active=False)
    cat.save(Group("and", (Attribute("birth_date", "between", ("12-02", "01-03"),
                                     ignore_year=True),
                           Behaviour("orders", ">=", 1, window=Window("last", 6, "month")))),
             name="birthday buyers")
    cat.refresh_all(as_of=cf.FEB, progress=False)
    cat.tag_members("madrid", "vip", "yes")
    cat.save('in_segment("tag:vip=yes")', name="vips")
    path = tmp_path / f"defs{suffix}"
    assert cat.export_definitions(path) == 4

    other = segjupyter.open(tmp_path / "other")
    cf.load(other)
    done = other.segments.import_definitions(path)
    assert done.values.tolist() == [["tag:vip=yes", "created (empty tag)"],
                                    ["madrid", "created"], ["mixed", "created"],
                                    ["birthday buyers", "created"], ["vips", "created"]]
    mine, theirs = cat._records(), other.segments._records()
    for name in ("madrid", "mixed", "birthday buyers", "vips"):
        assert _fields(mine[name]) == _fields(theirs[name])
    assert theirs["madrid"].params == {"lo": Decimal("99.50")}
    # exporting again gives the same file; importing again changes nothing
    again = tmp_path / f"again{suffix}"
    other.segments.export_definitions(again)
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    assert set(other.segments.import_definitions(path)["action"]) == {"unchanged"}
    with pytest.raises(CatalogError, match="exists"):
        other.segments.import_definitions(path, on_conflict="error")
    other.close()


def test_import_updates_and_reports_bad_files(ws, tmp_path):
    cf.load(ws)
    cat = ws.segments
    cat.save('city = "Madrid"', name="madrid")
    path = tmp_path / "defs.yaml"
    path.write_text(
        "segments:\n"
        "- name: madrid\n"
        "  text: city = \"Madrid\" and subscribed\n"
        "  description: written by hand\n"
        "- name: uses_madrid\n"
        "  text: in_segment(\"madrid\")\n", encoding="utf-8")
    out = cat.import_definitions(path)
    assert out.values.tolist() == [["madrid", "updated"], ["uses_madrid", "created"]]
    rec = cat.info("madrid")
    assert rec.text == 'city = "Madrid" and subscribed' and rec.revision == 2
    assert rec.description == "written by hand"

    bad = tmp_path / "bad.yaml"
    bad.write_text("segments:\n- name: x\n  text: cty = 1\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"segment 'x'.*did you mean 'city'"):
        cat.import_definitions(bad)
    bad.write_text("segments:\n- name: a\n  text: in_segment(\"b\")\n"
                   "- name: b\n  text: in_segment(\"a\")\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="cycle"):
        cat.import_definitions(bad)
    bad.write_text("segments: [\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML"):
        cat.import_definitions(bad)
    with pytest.raises(CatalogError, match=r"\.yaml, \.yml or \.json"):
        cat.export_definitions(tmp_path / "defs.txt")
    assert cat.names() == ["madrid", "uses_madrid"]  # nothing half-imported


# -- demo data -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_ws_path):
    ws = segjupyter.open(demo_ws_path)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def demo_frames(demo):
    as_of = demo.resolve_as_of(AS_OF)
    orders = demo.sql("SELECT customer_id, ordered_at, total FROM orders").df()
    customers = demo.sql("SELECT customer_id, birth_date, subscribed FROM customers").df()
    return as_of, orders, customers


def test_templates_gallery_builds_and_means_what_it_says(demo, demo_frames):
    g = gallery()
    assert len(g) >= 10 and set(TEMPLATES) == set(g["name"])
    for name in TEMPLATES:
        assert build(demo, name).count(as_of=AS_OF) >= 0
    as_of, orders, customers = demo_frames
    # high spenders: spend in the 12 months up to as_of >= 800, computed with pandas
    recent = orders[(orders["ordered_at"] > as_of - pd.DateOffset(months=12))
                    & (orders["ordered_at"] <= as_of)]
    spend = recent.groupby("customer_id")["total"].sum()
    expect = sorted(spend[spend >= 800].index)
    got = build(demo, "high_spenders", min_spend=800).member_ids(as_of=AS_OF).tolist()
    assert got == expect and len(got) > 10
    # lapsed buyers: 3+ orders ever, none in the last 120 days
    upto = orders[orders["ordered_at"] <= as_of]
    n_all = upto.groupby("customer_id").size()
    last = upto.groupby("customer_id")["ordered_at"].max()
    cut = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=120) + pd.Timedelta(days=1)
    expect = sorted(c for c in n_all.index if n_all[c] >= 3 and last[c] < cut)
    got = build(demo, "lapsed_buyers", min_orders=3, days=120).member_ids(as_of=AS_OF).tolist()
    assert got == expect and len(got) > 10
    # birthday this month, any year: as of a day in March, the March birthdays
    born = pd.to_datetime(customers["birth_date"])
    expect = sorted(customers.loc[born.dt.month == 3, "customer_id"])
    got = build(demo, "birthday_this_month").member_ids(as_of="2026-03-15").tolist()
    assert got == expect and len(got) > 10
    # birthday in the next 7 days, across the new year
    days = pd.date_range("2025-12-29", "2026-01-05")
    soon = set(zip(days.month, days.day))
    expect = sorted(customers.loc[[(m, d) in soon for m, d in zip(born.dt.month, born.dt.day)],
                                  "customer_id"])
    got = build(demo, "birthday_next_7_days").member_ids(as_of="2025-12-29").tolist()
    assert got == expect and len(got) > 10
    # new customers this month: first order since the 1st of as_of's month
    first = upto.groupby("customer_id")["ordered_at"].min()
    expect = sorted(first[first >= pd.Timestamp("2026-06-01")].index)
    got = build(demo, "new_customers_this_month").member_ids(as_of=AS_OF).tolist()
    assert got == expect and len(got) > 10
    with pytest.raises(CatalogError, match="did you mean 'high_spenders'"):
        build(demo, "high_spender")
    with pytest.raises(CatalogError, match="no parameter 'minimum'"):
        build(demo, "high_spenders", minimum=3)


def test_refresh_all_shared_pass_equals_one_by_one(demo_ws_path, tmp_path):
    """Many segments evaluated in one pass (with clashing parameter names, dependencies and
    negated / or roots) store exactly what each evaluated alone gives."""
    (tmp_path / "ws").mkdir()
    shutil.copy(f"{demo_ws_path}/retail.duckdb", tmp_path / "ws" / "retail.duckdb")
    ws = segjupyter.open(tmp_path / "ws")
    cat = ws.segments
    defs = {
        "madrid_subs": 'city = "Madrid" and subscribed',
        "spend_lo": "spend(last 12 months) >= :x",
        "spend_hi": "spend(last 6 months) >= :x",
        "tea_acme": 'bought(brand = "Acme" and category = "Tea", last 6 months)',
        "not_web": 'not bought(channel = "web", last 12 months) and orders(all time) > 0',
        "champ_or_loyal": 'rfm_segment = "champions" or rfm_segment = "loyal"',
        "lapsing": 'lifecycle in ("at risk", "hibernating")',
        "openers": 'events("email_open", last 90 days) >= 2 and subscribed',
        "coded": "orders(offer_code is not null, last 12 months) >= 2",
        "winter_bday": 'birth_date between "12-02" and "01-03" ignore year',
        "avg_big": "avg_ticket(last 12 months) >= 60 or distinct_products(all time) >= 25",
        "vip_madrid": 'in_segment("spend_lo") and in_segment("madrid_subs")',
        "vip_not_tea": 'in_segment("vip_madrid") and not in_segment("tea_acme")',
    }
    params = {"spend_lo": {"x": 400}, "spend_hi": {"x": 900}}
    for name, text in defs.items():
        cat.save(text, name=name, params=params.get(name))
    for as_of in ("2026-03-31", AS_OF):
        out = cat.refresh_all(as_of=as_of, progress=False)
        assert out["error"].isna().all(), out
        order = out["segment"].tolist()
        assert order.index("vip_madrid") > max(order.index("spend_lo"),
                                               order.index("madrid_subs"))
        assert order.index("vip_not_tea") > order.index("vip_madrid")
        for name in defs:
            alone = cat.get(name).member_ids(as_of=as_of).tolist()
            assert cat.member_ids(name) == alone, name
            assert len(alone) == out.set_index("segment").loc[name, "customers"]
    sizes = {n: len(cat.member_ids(n)) for n in defs}
    assert all(sizes[n] > 0 for n in defs), sizes
    ws.close()


def test_template_trees_are_plain_values(demo):
    seg = build(demo, "discount_hunters", min_orders=2, months=6)
    assert seg.tree == Group("and", (Behaviour(
        "orders", ">=", 2, filter=Group("and", (Attribute("offer_code", "is not null"),)),
        window=Window("last", 6, "month")),))
    assert build(demo, "rfm_champions").tree == Group("and", (
        Derived("rfm_segment", "in", ("champions",)),))
    bday = build(demo, "birthday_this_month")
    assert bday.text == "birth_date between start of month and end of month ignore year"
    assert bday.tree.rules[0].value == (RelativeDate(0, "day", "month_start"),
                                        RelativeDate(0, "day", "month_end"))
    assert build(demo, "birthday_next_7_days", days=3).text == \
        "birth_date between today and +3d ignore year"
    assert build(demo, "new_customers_this_month").text == "first_order >= start of month"
    with pytest.raises(CatalogError, match="days must be 0..365"):
        build(demo, "birthday_next_7_days", days=400)
    with pytest.raises(CatalogError, match="no parameter 'month'"):
        build(demo, "birthday_this_month", month=2)


def test_saved_birthday_this_month_rolls_with_each_refresh(demo_ws_path, tmp_path):
    """A dynamic "birthday this month" segment saved once holds, at each refresh, the
    customers born in the month of that refresh's as_of."""
    (tmp_path / "ws").mkdir()
    shutil.copy(f"{demo_ws_path}/retail.duckdb", tmp_path / "ws" / "retail.duckdb")
    ws = segjupyter.open(tmp_path / "ws")
    cat = ws.segments
    cat.save(cat.from_template("birthday_this_month"), name="bday")
    born = ws.sql("SELECT customer_id, birth_date FROM customers").df()
    month = pd.to_datetime(born["birth_date"]).dt.month
    seen = {}
    for as_of, m in (("2026-02-28", 2), ("2026-03-01", 3), ("2026-12-31", 12)):
        cat.refresh("bday", as_of=as_of)
        seen[m] = cat.member_ids("bday")
        assert seen[m] == sorted(born.loc[month == m, "customer_id"]), as_of
        assert len(seen[m]) > 10
    assert not set(seen[2]) & set(seen[3])
    # Feb 29 birthdays are in February's members although 2026 has no Feb 29
    leap = pd.to_datetime(born["birth_date"]).dt.day.eq(29) & month.eq(2)
    assert leap.any() and set(born.loc[leap, "customer_id"]) <= set(seen[2])
    ws.close()
