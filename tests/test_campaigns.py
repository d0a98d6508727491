"""Campaigns with control groups: the split, the frozen lists, the send list, bad input, and
the measured lift of a synthetic campaign with a known effect."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import segjupyter
from segjupyter import analytics as an, charts
from segjupyter.errors import CampaignError
from segjupyter.widgets.dashboard import SegmentDashboard

SEND = "2026-05-01"


@pytest.fixture(scope="module")
def ws(demo_copy):
    w = segjupyter.open(demo_copy("campaigns"))
    w.segments.save("orders >= 2", name="repeat")
    w.segments.refresh("repeat", as_of="2026-04-30")
    yield w
    w.close()


def _catalog_state(ws):
    out = {}
    for t in ("campaigns", "campaign_members", "counters"):
        try:
            out[t] = ws.sql(f"SELECT * FROM catalog.{t} ORDER BY ALL").df()
        except segjupyter.errors.QueryError:
            out[t] = None
    return out


def _arm(key: str, customer_id) -> str:
    u = int(hashlib.md5(f"{key}/{customer_id}".encode()).hexdigest()[:13], 16) / 16 ** 13
    return "control" if u < 0.2 else "target"


def test_create_splits_by_hash_and_freezes_the_lists(ws):
    rec = ws.campaigns.create("repeat", "spring", holdout=0.2, seed=7, send_date=SEND)
    members = ws.campaigns.members("spring")
    ids = ws.segments.member_ids("repeat")
    assert members["customer_id"].tolist() == ids
    assert members["arm"].tolist() == [_arm("7", i) for i in ids]
    n = len(ids)
    assert rec["customers"] == n and rec["target"] + rec["control"] == n
    assert rec["control"] == (members["arm"] == "control").sum()
    assert abs(rec["control"] - 0.2 * n) < 3 * np.sqrt(n * 0.2 * 0.8)
    assert rec["send_at"] == pd.Timestamp(SEND).to_pydatetime()
    assert rec["members_as_of"] == ws.segments.info("repeat").last_as_of
    # frozen: a refresh of the segment changes its members, not the campaign
    ws.segments.refresh("repeat", as_of="2026-06-30")
    assert ws.segments.member_ids("repeat") != ids
    pd.testing.assert_frame_equal(ws.campaigns.members("spring"), members)


def test_same_key_same_arm_across_campaigns(ws):
    ws.campaigns.create('city = "Madrid" and orders >= 2', "madrid", holdout=0.2, seed=7,
                        send_date=SEND)
    a = ws.campaigns.members("spring").set_index("customer_id")["arm"]
    b = ws.campaigns.members("madrid").set_index("customer_id")["arm"]
    shared = a.index.intersection(b.index)
    assert len(shared) > 100 and (a[shared] == b[shared]).all()
    # a rule is evaluated just before the send
    expect = ws.segment('city = "Madrid" and orders >= 2').member_ids(
        as_of="2026-04-30 23:59:59.999999").tolist()
    assert ws.campaigns.members("madrid")["customer_id"].tolist() == expect


def test_target_list_csv_is_the_subscribed_target_arm(ws, tmp_path):
    path = tmp_path / "spring.csv"
    n = ws.campaigns.export_target_csv("spring", path)
    target = ws.campaigns.members("spring", "target")
    c = ws.sql("SELECT customer_id, first_name, last_name, email, subscribed FROM "
               "customers ORDER BY customer_id").df().set_index("customer_id")
    rows = c.loc[target["customer_id"]]
    rows = rows[rows["subscribed"].fillna(False) & rows["email"].fillna("").str.strip().ne("")]
    lines = ["customer_id,name,first_name,last_name,email"]
    for cid, r in rows.iterrows():
        name = " ".join(x for x in (r["first_name"], r["last_name"]) if isinstance(x, str))
        fields = [str(cid), name, r["first_name"] or "", r["last_name"] or "", r["email"]]
        lines.append(",".join(f'"{f}"' if "," in f or '"' in f else f for f in fields))
    assert path.read_bytes() == ("\n".join(lines) + "\n").encode()
    assert n == len(rows) == len(ws.campaigns.target_list("spring")) > 0


@pytest.mark.parametrize("holdout", [0, 1, 1.0, -0.1, 1.5, True, "0.1", None])
def test_holdout_outside_0_1_is_refused_and_writes_nothing(ws, holdout):
    before = _catalog_state(ws)
    with pytest.raises(CampaignError, match="holdout must be a share strictly between 0 and 1"):
        ws.campaigns.create("repeat", "bad", holdout=holdout)
    after = _catalog_state(ws)
    for t, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[t], obj=t)


def test_too_small_segment_and_duplicate_name_are_refused(ws):
    before = _catalog_state(ws)
    with pytest.raises(CampaignError, match="each arm needs at least 30"):
        ws.campaigns.create('city = "Madrid" and orders >= 40', "tiny", holdout=0.1)
    with pytest.raises(CampaignError, match="already exists"):
        ws.campaigns.create("repeat", "spring", holdout=0.5)
    with pytest.raises(CampaignError, match="no campaign named 'sprig' — did you mean"):
        ws.campaigns.info("sprig")
    after = _catalog_state(ws)
    for t, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[t], obj=t)


def test_nothing_written_on_a_fresh_catalog(demo_copy):
    w = segjupyter.open(demo_copy("campaigns-fresh"))
    with pytest.raises(CampaignError):
        w.campaigns.create("orders >= 10000", "none", holdout=0.1)
    assert w.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'campaign%'"
                 ).scalar() == 0
    assert w.campaigns.list().empty
    w.close()


def test_welch_is_scipys(ws):
    rng = np.random.default_rng(0)
    t, c = rng.gamma(0.5, 40, 4000), rng.gamma(0.5, 30, 900)
    got = an.lift.welch(t, c)
    ref = stats.ttest_ind(t, c, equal_var=False)
    assert got["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert (got["lift_low"], got["lift_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_lift_of_a_synthetic_campaign_covers_the_true_effect(ws):
    before = an.campaign_lift(ws, "spring", ["spend", "orders"], window=30)
    truth = segjupyter.demo.inject_campaign_effect(ws, "spring", share=0.3, amount=25,
                                                   days=30, seed=1)
    lift = an.campaign_lift(ws, "spring", ["spend", "orders", "conversion"], window=30)
    row = lift.set_index("metric")
    for m in ("spend", "orders"):
        r = row.loc[m]
        assert r["lift_low"] <= truth[m] <= r["lift_high"], (m, truth[m], r)
        assert r["lift_low"] > 0 and r["p_value"] < 0.01
        # the control arm saw nothing: its mean is unchanged
        assert r["control_mean"] == pytest.approx(before.set_index("metric").loc[m,
                                                                                 "control_mean"])
        assert r["lift"] == pytest.approx(r["target_mean"] - r["control_mean"])
        assert r["relative_lift"] == pytest.approx(r["target_mean"] / r["control_mean"] - 1)
    # the target mean grew by exactly the injected effect
    for m in ("spend", "orders"):
        assert row.loc[m, "target_mean"] - before.set_index("metric").loc[m, "target_mean"] == \
            pytest.approx(truth[m])
    assert row.loc["conversion", "lift_low"] > 0
    # the timeline ends where the lift's means are
    tl = an.campaign_timeline(ws, "spring", "spend", window=30)
    assert len(tl) == 30 and tl["days_since_send"].iloc[-1] == 29
    assert tl["target"].iloc[-1] == pytest.approx(row.loc["spend", "target_mean"])
    assert tl["control"].iloc[-1] == pytest.approx(row.loc["spend", "control_mean"])
    assert tl["target"].is_monotonic_increasing
    fig = charts.lift_lines(tl, "spend")
    assert list(fig.marks[0].y) == pytest.approx(list(tl["target"]))
    assert not charts.is_empty(fig)
    charts.update(fig, tl.iloc[0:0])
    assert charts.is_empty(fig) and "No campaign" in fig.title


def test_bad_lift_arguments(ws):
    with pytest.raises(segjupyter.errors.AnalyticsError, match="metric must be one of"):
        an.campaign_lift(ws, "spring", "revenue")
    with pytest.raises(segjupyter.errors.AnalyticsError, match="window must be"):
        an.campaign_lift(ws, "spring", window="forever")
    with pytest.raises(CampaignError, match="no campaign named"):
        an.campaign_lift(ws, "nope")


def test_dashboard_shows_the_campaigns_of_the_segment(ws):
    d = SegmentDashboard(ws, ["repeat"])
    d.sections.value = "campaigns"
    assert d.message.value == ""
    view = d._views["campaigns"]
    assert view["campaign"].options == ("spring",)
    lift = an.campaign_lift(ws, "spring", list(an.lift.METRICS), "30 days")
    pd.testing.assert_frame_equal(d.frames["campaign_lift"], lift)
    (fig,) = d.figures()
    assert "sj-chart-lift" in fig._dom_classes and not charts.is_empty(fig)
    view["window"].value = "14 days"
    assert d.figures() == [fig] and len(fig.marks[0].x) == 14
    view["metric"].value = "orders"
    assert d.frames["campaign_timeline"]["target"].iloc[-1] == pytest.approx(
        an.campaign_lift(ws, "spring", "orders", 14)["target_mean"].iloc[0])
    empty = SegmentDashboard(ws, ["repeat"])
    ws.segments.save("orders >= 3", name="three", refresh=True)
    empty.select("three")
    empty.sections.value = "campaigns"
    assert charts.is_empty(empty.figures()[0])


def test_a_workspace_without_contact_fields(tmp_path):
    w = segjupyter.open(tmp_path / "bare")
    ids = list(range(1, 201))
    assert w.load(customers=pd.DataFrame({"customer_id": ids}),
                  orders=pd.DataFrame({"order_id": ids, "customer_id": ids,
                                       "ordered_at": pd.Timestamp("2026-01-05"),
                                       "total": "10.00"})).ok
    rec = w.campaigns.create("orders >= 1", "bare", holdout=0.5, seed=1,
                             send_date="2026-02-01")
    assert rec["customers"] == 200 and rec["target_subscribed"] == 0
    assert w.campaigns.target_list("bare").empty
    assert w.campaigns.export_target_csv("bare", tmp_path / "t.csv") == 0
    w.close()
