"""The segment catalog: saving, kinds and states, refresh, events and reasons, triggers,
dependencies, tags, history. Hand-made data (``catalog_frames``); expected members are
worked out by hand there."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import catalog_frames as cf
from segjupyter.errors import CatalogError, RuleValidationError, SegmentSyntaxError
from segjupyter.rules.model import Attribute

BIG = "spend(last 30 days) >= 100"


@pytest.fixture
def cat(ws):
    cf.load(ws)
    return ws.segments


def ids(cat, name):
    return cat.member_ids(name)


# -- saving --------------------------------------------------------------------------------
def test_save_get_info_and_errors(cat):
    rec = cat.save(BIG, name="big", description="spent 100+ in 30 days", tags=["q1"])
    assert (rec.name, rec.kind, rec.active, rec.status) == ("big", "dynamic", True, "pending")
    assert rec.description == "spent 100+ in 30 days" and rec.labels == ("q1",)
    seg = cat.get("big")
    assert seg.name == "big" and seg.text == BIG
    assert sorted(seg.member_ids(as_of=cf.FEB)) == cf.BIG_SPENDERS[cf.FEB]
    assert cat.names() == ["big"] and "big" in cat and len(cat) == 1

    with pytest.raises(CatalogError, match="already exists"):
        cat.save(BIG, name="big")
    with pytest.raises(CatalogError, match="kind must be"):
        cat.save(BIG, name="x", kind="weekly")
    with pytest.raises(CatalogError, match="needs a name"):
        cat.save(BIG)
    with pytest.raises(CatalogError, match="reserved"):
        cat.save(BIG, name="tag:x")
    with pytest.raises(CatalogError, match="did you mean 'big'"):
        cat.info("bog")
    with pytest.raises(SegmentSyntaxError, match="did you mean 'city'"):
        cat.save('cty = "Madrid"', name="typo")
    with pytest.raises(RuleValidationError, match="did you mean 'city'"):
        cat.save(Attribute("cty", "=", "Madrid"), name="typo")
    with pytest.raises(CatalogError, match=":lo has no value"):
        cat.save("spend(all time) >= :lo", name="p")
    rec = cat.save("spend(all time) >= :lo", name="p", params={"lo": 150})
    assert rec.params == {"lo": 150}
    assert cat.names() == ["big", "p"]


def test_dynamic_members_enter_and_leave_as_as_of_moves(cat):
    cat.save(BIG, name="big")
    for as_of in (cf.JAN, cf.FEB, cf.MAR, cf.FEB):
        row = cat.refresh("big", as_of=as_of)
        assert ids(cat, "big") == cf.BIG_SPENDERS[as_of]
        assert row["customers"] == len(cf.BIG_SPENDERS[as_of])
    ev = cat.events("big")
    moves = [(e.event, e.customer_id) for e in ev.itertuples()]
    # newest first: back to FEB (2, 4 enter), MAR (2, 4 leave), FEB (1 leaves, 2, 4 enter), JAN
    assert sorted(moves[:2]) == [("enter", 2), ("enter", 4)]
    assert sorted(moves[2:4]) == [("leave", 2), ("leave", 4)]
    assert sorted(moves[4:7]) == [("enter", 2), ("enter", 4), ("leave", 1)]
    assert moves[7:] == [("enter", 1)]
    hist = cat.history("big")
    assert hist["customers"].tolist() == [1, 2, 0]  # one row per as_of, the latest refresh
    assert hist["as_of"].dt.strftime("%Y-%m-%d").tolist() == [cf.JAN, cf.FEB, cf.MAR]
    # entered_at is the as_of at which the customer entered
    m = cat.members("big", columns=["first_name"])
    assert m["first_name"].tolist() == ["Bruno", "Dan"]
    assert (m["entered_at"].dt.strftime("%Y-%m-%d") == cf.FEB).all()


def test_static_stays_locked_when_data_changes(cat, ws):
    cat.save(BIG, name="frozen", kind="static")
    cat.save(BIG, name="live")
    cat.refresh_all(as_of=cf.FEB, progress=False)
    assert ids(cat, "frozen") == [2, 4] and cat.info("frozen").status == "locked"
    # new data: customer 5 spends 500 on Feb 25, customer 2 loses its order
    ws.load(orders=cf.orders([(200, 5, "2026-02-25 10:00:00", "500.00")])
            .query("order_id != 101"))
    out = cat.refresh_all(as_of=cf.FEB, progress=False)
    assert out["segment"].tolist() == ["live"]  # a locked static segment is not due
    assert ids(cat, "live") == [4, 5]
    assert ids(cat, "frozen") == [2, 4]
    with pytest.raises(CatalogError, match="is locked"):
        cat.refresh("frozen", as_of=cf.MAR)
    with pytest.raises(CatalogError, match="is locked"):
        cat.update("frozen", "spend(all time) >= 1")
    assert ids(cat, "frozen") == [2, 4]
    # a static segment never evaluated is due once
    cat.save(BIG, name="late", kind="static")
    assert cat.refresh_all(as_of=cf.FEB, progress=False)["segment"].tolist() == ["live", "late"]
    assert ids(cat, "late") == [4, 5]


def test_inactive_is_not_refreshed(cat):
    cat.save(BIG, name="big")
    cat.refresh("big", as_of=cf.JAN)
    cat.deactivate("big")
    assert cat.info("big").status == "inactive"
    out = cat.refresh_all(as_of=cf.FEB, progress=False)
    assert out.empty
    assert ids(cat, "big") == [1]
    with pytest.raises(CatalogError, match="inactive"):
        cat.refresh("big", as_of=cf.FEB)
    cat.activate("big")
    assert cat.refresh_all(as_of=cf.FEB, progress=False)["segment"].tolist() == ["big"]
    assert ids(cat, "big") == [2, 4]


# -- reasons -------------------------------------------------------------------------------
def reasons(cat, name, run_id=None):
    ev = cat.events(name)
    if run_id is not None:
        ev = ev[ev["run_id"] == run_id]
    return {(e.event, e.customer_id): e.reason for e in ev.itertuples()}


def test_events_name_the_condition_that_changed(cat, ws):
    cat.save(f'city = "Madrid" and {BIG}', name="madrid_big")
    cat.save(f'city = "Paris" or {BIG}', name="paris_or_big")
    first = cat.refresh_all(as_of=cf.JAN, progress=False)
    assert reasons(cat, "madrid_big") == {("enter", 1): "first evaluation"}
    assert set(reasons(cat, "paris_or_big")) == {("enter", 1), ("enter", 3), ("enter", 6)}
    assert first["customers"].tolist() == [1, 3]

    run = cat.refresh_all(as_of=cf.FEB, progress=False)
    rid = dict(zip(run["segment"], run["run_id"]))
    # "and": leaving names the condition that no longer holds (known from the flags now);
    # entering names the one that was false at the previous as_of (evaluated again)
    assert reasons(cat, "madrid_big", rid["madrid_big"]) == {
        ("leave", 1): f"no longer: {BIG}",
        ("enter", 2): f"now: {BIG}"}
    # "or": entering names what holds now; leaving what held at the previous as_of
    assert reasons(cat, "paris_or_big", rid["paris_or_big"]) == {
        ("leave", 1): f"no longer: {BIG}",
        ("enter", 2): f"now: {BIG}",
        ("enter", 4): f"now: {BIG}"}

    # same as_of, changed data: Bruno moves to Barcelona, Dan to Madrid
    cf.load(ws, customer_rows={2: {"city": "Barcelona"}, 4: {"city": "Madrid"}})
    run = cat.refresh_all(as_of=cf.FEB, progress=False)
    rid = dict(zip(run["segment"], run["run_id"]))
    assert reasons(cat, "madrid_big", rid["madrid_big"]) == {
        ("leave", 2): 'no longer: city = "Madrid"',
        # evaluated again as of the previous as_of on today's data, nothing differs: the
        # data changed, not the time
        ("enter", 4): "data changed"}

    # a customer removed from the data leaves with that reason
    moved = {2: {"city": "Barcelona"}, 4: {"city": "Madrid"}}
    ws.load(customers=cf.customers(rows=moved).query("customer_id != 3"),
            orders=cf.orders().query("customer_id != 3"))
    run = cat.refresh_all(as_of=cf.FEB, progress=False)
    rid = dict(zip(run["segment"], run["run_id"]))
    assert reasons(cat, "paris_or_big", rid["paris_or_big"]) == {
        ("leave", 3): "no longer in the customer data"}

    hist = ws.customer_history(2)
    assert hist[["segment", "event"]].values.tolist() == [
        ["madrid_big", "leave"], ["paris_or_big", "enter"], ["madrid_big", "enter"]]
    assert hist["reason"].iloc[0] == 'no longer: city = "Madrid"'


# -- triggers ------------------------------------------------------------------------------
def test_triggers_fire_after_commit_and_a_failing_one_is_recorded(cat):
    cat.save(BIG, name="big")
    seen = []

    def on_enter(df):
        # fired after the commit: the catalog already holds the new members
        seen.append(("enter", df["customer_id"].tolist(), df["first_name"].tolist(),
                     df.attrs["segment"], ids(cat, "big")))

    def on_leave(df):
        seen.append(("leave", df["customer_id"].tolist(), df["reason"].tolist()))

    def broken(df):
        raise ValueError("mail server down")

    cat.on_enter("big", on_enter)
    cat.on_leave("big", on_leave)
    cat.refresh("big", as_of=cf.JAN)
    assert seen == [("enter", [1], ["Ana"], "big", [1])]
    seen.clear()

    cat.on_enter("big", broken)
    with pytest.warns(RuntimeWarning, match="mail server down"):
        row = cat.refresh("big", as_of=cf.FEB)
    assert row["entered"] == 2 and ids(cat, "big") == [2, 4]  # the refresh stands
    assert seen == [("enter", [2, 4], ["Bruno", "Dan"], "big", [2, 4]),
                    ("leave", [1], [f"no longer: {BIG}"])]
    errs = cat.trigger_errors("big")
    assert len(errs) == 1
    assert errs["error"].iloc[0] == "ValueError: mail server down"
    assert errs["callback"].iloc[0].endswith("broken") and errs["event"].iloc[0] == "enter"
    assert errs["run_id"].iloc[0] == row["run_id"]

    # a rename keeps the triggers; removing them stops them
    cat.rename("big", "bigger")
    seen.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cat.refresh("bigger", as_of=cf.MAR)
    assert [s[0] for s in seen] == ["leave"]
    assert cat.remove_triggers("bigger") == 3
    cat.refresh("bigger", as_of=cf.FEB)
    assert [s[0] for s in seen] == ["leave"]


# -- dependencies --------------------------------------------------------------------------
def test_dependency_order_cycles_and_delete_guard(cat):
    cat.save(BIG, name="base")
    cat.save('in_segment("base") and city = "Madrid"', name="derived")
    out = cat.refresh_all(as_of=cf.JAN, progress=False)
    assert out["segment"].tolist() == ["base", "derived"]
    assert ids(cat, "derived") == [1]
    # change the base rule: the same refresh_all must use base's new members for derived
    cat.update("base", "spend(last 60 days) >= 100")
    out = cat.refresh_all(as_of=cf.FEB, progress=False)
    # within 60 days of Feb 28: c1 120 (Jan 10), c3 80 + 40, c2 150.50, c4 200
    assert ids(cat, "base") == [1, 2, 3, 4]
    assert ids(cat, "derived") == [1, 2]
    # dependents come after what they use, whatever the save order
    cat.save(f'city = "Madrid" or {BIG}', name="zeta")
    cat.update("base", 'in_segment("zeta") and spend(all time) >= 150')
    out = cat.refresh_all(as_of=cf.FEB, progress=False)
    assert out["segment"].tolist() == ["zeta", "base", "derived"]
    # spend up to Feb 28: c1 120 (its Mar 5 order is after as_of), c2 150.50, c4 200
    assert ids(cat, "zeta") == [1, 2, 4, 5] and ids(cat, "base") == [2, 4]
    assert ids(cat, "derived") == [2]
    with pytest.raises(CatalogError, match="cycle: .*derived"):
        cat.update("zeta", 'in_segment("derived")')
    with pytest.raises(CatalogError, match="derived use it"):
        cat.delete("base")
    # a rename rewrites the rules that use the segment
    cat.rename("base", "core")
    assert cat.get("derived").text == 'in_segment("core") and city = "Madrid"'
    cat.delete("derived")
    cat.delete("core")
    assert cat.names() == ["zeta"]


def test_a_failing_segment_does_not_stop_the_others(cat, ws):
    df = cf.customers()
    df["tier"] = ["gold", "silver", "gold", None, None, "gold"]
    ws.load(customers=df)
    cat.save('tier = "gold"', name="gold")
    cat.save('in_segment("gold") and subscribed', name="gold_subs")
    cat.save(BIG, name="big")
    cat.refresh_all(as_of=cf.FEB, progress=False)
    assert ids(cat, "gold_subs") == [1, 6]
    cf.load(ws)  # customers without the custom field "tier"
    out = cat.refresh_all(as_of=cf.JAN, progress=False).set_index("segment")
    assert "unknown customer field 'tier'" in out.loc["gold", "error"]
    assert "'gold', whose refresh failed" in out.loc["gold_subs", "error"]
    assert pd.isna(out.loc["big", "error"]) and ids(cat, "big") == [1]
    assert ids(cat, "gold") == [1, 3, 6]  # previous members kept
    assert cat.info("gold").status == "error"
    runs = cat.runs("gold")
    assert "tier" in runs["error"].iloc[0]
    with pytest.raises(CatalogError, match="refresh of 'gold' failed"):
        cat.refresh("gold")


# -- editing -------------------------------------------------------------------------------
def test_update_keeps_id_and_history_duplicate_freezes(cat):
    rec = cat.save(BIG, name="big")
    cat.refresh("big", as_of=cf.JAN)
    cat.update("big", "spend(last 60 days) >= 100", description="wider")
    after = cat.info("big")
    assert after.id == rec.id and after.revision == 2 and after.description == "wider"
    cat.refresh("big", as_of=cf.FEB)
    assert len(cat.history("big")) == 2 and ids(cat, "big") == [1, 2, 3, 4]
    ev = cat.events("big")
    assert [(e.event, e.customer_id) for e in ev.itertuples()][-1] == ("enter", 1)

    frozen = cat.duplicate("big", "big_frozen", kind="static")
    assert frozen.status == "locked" and frozen.customers == 4
    assert ids(cat, "big_frozen") == [1, 2, 3, 4]
    twin = cat.duplicate("big", "big_twin")
    assert twin.kind == "dynamic" and twin.status == "pending" and twin.tree == after.tree
    cat.refresh_all(as_of=cf.MAR, progress=False)
    assert ids(cat, "big_frozen") == [1, 2, 3, 4]
    # within 60 days of Mar 31 (Jan 31..Mar 31): c2 150.50, c4 200
    assert ids(cat, "big") == ids(cat, "big_twin") == [2, 4]
    with pytest.raises(CatalogError, match="already exists"):
        cat.rename("big", "big_twin")


# -- list, SQL, tags, campaign -------------------------------------------------------------
def test_list_and_plain_sql(cat, ws):
    cat.save(BIG, name="big", description="d")
    cat.save('city = "Paris"', name="paris", kind="static")
    cat.save('city = "Rome"', name="rome", active=False)
    for as_of in (cf.JAN, cf.FEB, cf.MAR):
        cat.refresh_all(as_of=as_of, progress=False)
    df = cat.list()
    assert df["name"].tolist() == ["big", "paris", "rome"]
    assert df["status"].tolist() == ["active", "locked", "inactive"]
    assert df["kind"].tolist() == ["dynamic", "static", "dynamic"]
    assert df["customers"].tolist()[:2] == [0, 2] and pd.isna(df["customers"].iloc[2])
    assert df["subscribed"].tolist()[:2] == [0, 1]
    assert df["history"].tolist() == [[1, 2, 0], [2], []]
    assert (df["since_refresh"].iloc[:2] >= pd.Timedelta(0)).all()
    assert pd.isna(df["since_refresh"].iloc[2])
    # plain SQL: a documented view, joinable with the retail tables
    got = ws.sql(cat.members_sql("paris")).df()["customer_id"].tolist()
    assert sorted(got) == ["3", "6"]
    joined = ws.sql("SELECT c.first_name FROM customers c JOIN catalog.segment_membership m "
                    "ON CAST(c.customer_id AS VARCHAR) = m.customer_id "
                    "WHERE m.segment = 'paris' ORDER BY 1").df()
    assert joined["first_name"].tolist() == ["Chloé", "Femi"]


def test_tag_members_is_usable_in_later_rules(cat):
    cat.save(BIG, name="big")
    cat.save('city = "Madrid"', name="madrid")
    cat.refresh_all(as_of=cf.FEB, progress=False)
    assert cat.tag_members("big", "vip", "yes") == 2
    assert cat.tag_members("madrid", "vip", "no") == 3  # moves customer 2 from yes to no
    tags = cat.customer_tags("vip")
    assert tags[["customer_id", "value"]].values.tolist() == [
        [1, "no"], [2, "no"], [5, "no"], [4, "yes"]]
    cat.save('in_segment("tag:vip=yes") or in_segment("tag:vip=no") and subscribed',
             name="tagged")
    cat.refresh("tagged", as_of=cf.FEB)
    assert ids(cat, "tagged") == [1, 2, 4]
    assert "tag:vip=yes" not in cat.list()["name"].tolist()
    assert ("tag:vip=no", "enter") in {(r.segment, r.event)
                                       for r in cat.customer_history(2).itertuples()}
    with pytest.raises(CatalogError, match="must be a name"):
        cat.tag_members("big", "vip level", "x")
    cat.save('city = "Paris"', name="paris")
    with pytest.raises(CatalogError, match="never been refreshed"):
        cat.tag_members("paris", "vip", "maybe")


def test_campaign_list_only_subscribed_with_email(cat):
    cat.save('city in ("Madrid", "Rome")', name="south")
    cat.refresh("south", as_of=cf.FEB)
    assert ids(cat, "south") == [1, 2, 4, 5]
    camp = cat.campaign_list("south")
    # 2 has no email, 5 is not subscribed
    assert camp["customer_id"].tolist() == [1, 4]
    assert camp["email"].tolist() == ["ana@example.com", "dan@example.com"]
    assert camp["name"].tolist() == ["Ana García", 'Dan O"Neil']


def test_backfill_fills_history_before_the_segment_existed(cat):
    cat.save(BIG, name="big")
    cat.refresh("big", as_of=cf.MAR)
    filled = cat.backfill("big", "2026-01-31", "2026-02-28", freq="SME", progress=False)
    # SME = 15th and end of month: Jan 31, Feb 15, Feb 28
    assert filled["as_of"].dt.strftime("%Y-%m-%d").tolist() == [cf.JAN, "2026-02-15", cf.FEB]
    # Feb 15: window Jan 17..Feb 15 -> c2 (150.50 on Feb 10), c3 (80 Jan 20 + 40 Feb 15)
    assert filled["customers"].tolist() == [1, 2, 2]
    hist = cat.history("big")
    assert hist["source"].tolist() == ["backfill", "backfill", "backfill", "refresh"]
    assert hist["customers"].tolist() == [1, 2, 2, 0]
    assert ids(cat, "big") == []  # members untouched
    cat.backfill("big", "2026-02-28", "2026-02-28", freq="D", progress=False)
    assert len(cat.history("big")) == 4  # same dates are replaced, not added
    with pytest.raises(CatalogError, match="bad dates or freq"):
        cat.backfill("big", "2026-01-01", "2026-02-01", freq="fortnightly", progress=False)


def test_progress_callback_and_lines(cat, capsys):
    cat.save(BIG, name="big")
    cat.save('in_segment("big") and subscribed', name="big_subs")
    steps = []
    cat.refresh_all(as_of=cf.FEB, progress=lambda done, total, msg: steps.append((done, total)))
    assert steps == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]  # 2 dependency levels
    cat.refresh_all(as_of=cf.MAR)  # default: lines on stderr outside a notebook
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("[refresh] 1/5 2 segments to refresh as of 2026-03-31")
    assert err[-1].startswith("[refresh] 5/5 done: 2 refreshed")
