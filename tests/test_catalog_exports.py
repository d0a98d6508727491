"""Snapshots (frozen, never changing) and the CSV byte format of exports."""

from __future__ import annotations

import pandas as pd
import pytest

import catalog_frames as cf
from segjupyter.errors import CatalogError, UnknownFieldError

SNAPSHOT_CSV = (
    "customer_id,name,first_name,last_name,email,date_registered,country,postal_code,"
    "lifetime_spend\n"
    "1,Ana García,Ana,García,ana@example.com,2025-01-15,Spain,28001,120.00\n"
    '2,"Bruno Díaz, Jr",Bruno,"Díaz, Jr",,2025-02-01,Spain,28002,150.50\n'
    '4,"Dan O""Neil",Dan,"O""Neil",dan@example.com,2025-04-01,Italy,,200.00\n'
    "5,Eva Ruiz,Eva,Ruiz,eva@example.com,2025-05-05,Spain,28003,99.99\n"
).encode("utf-8")


@pytest.fixture
def cat(ws):
    cf.load(ws)
    c = ws.segments
    c.save('city in ("Madrid", "Rome")', name="south")
    c.refresh("south", as_of=cf.FEB)
    return c


def test_snapshot_csv_exact_bytes(cat, tmp_path):
    snap = cat.snapshot("south", note="spring mailing")
    assert snap["customers"] == 4
    assert snap["as_of"].strftime("%Y-%m-%d") == cf.FEB
    path = tmp_path / "snap.csv"
    assert cat.export_snapshot_csv(snap["snapshot_id"], path) == 4
    # lifetime spend up to the segment's as_of (Feb 28): customer 1's Mar 5 order is not in
    assert path.read_bytes() == SNAPSHOT_CSV
    assert cat.snapshots("south")[["snapshot_id", "customers", "note"]].values.tolist() == [
        [snap["snapshot_id"], 4, "spring mailing"]]


def test_members_csv_with_chosen_columns_exact_bytes(cat, tmp_path):
    cat.save('city = "Paris"', name="paris")
    cat.refresh("paris", as_of=cf.FEB)
    path = tmp_path / "paris.csv"
    n = cat.export_csv("paris", path, columns=["customer_id", "name", "subscribed",
                                               "registered_at", "lifetime_spend", "entered_at"])
    assert n == 2
    assert path.read_bytes() == (
        "customer_id,name,subscribed,registered_at,lifetime_spend,entered_at\n"
        "3,Chloé Martin,false,2025-03-10T17:00:00,120.00,2026-02-28T23:59:59.999999\n"
        "6,Femi Ade,true,2025-06-06T06:06:06,0.00,2026-02-28T23:59:59.999999\n"
    ).encode("utf-8")
    # default columns: the fixed export schema
    cat.export_csv("south", tmp_path / "south.csv")
    assert (tmp_path / "south.csv").read_bytes() == SNAPSHOT_CSV
    with pytest.raises(UnknownFieldError, match="did you mean 'email'"):
        cat.export_csv("paris", tmp_path / "x.csv", columns=["customer_id", "emial"])
    with pytest.raises(CatalogError, match="does not exist"):
        cat.export_csv("paris", tmp_path / "missing" / "x.csv")
    cat.save('city = "Oslo"', name="oslo")
    with pytest.raises(CatalogError, match="never been refreshed"):
        cat.export_csv("oslo", tmp_path / "oslo.csv")


def test_snapshot_never_changes_after_data_and_segment_change(cat, ws, tmp_path):
    snap = cat.snapshot("south")
    before = cat.snapshot_members(snap["snapshot_id"])
    assert before["customer_id"].tolist() == ["1", "2", "4", "5"]
    # the data changes (names, emails, a new big order) and the segment moves on
    cf.load(ws, customer_rows={1: {"first_name": "Anna", "email": "new@example.com"},
                               5: {"city": "Paris"}},
            extra_orders=[(300, 1, "2026-02-01 10:00:00", "999.00")])
    cat.refresh("south", as_of=cf.MAR)
    assert cat.member_ids("south") == [1, 2, 4]
    cat.snapshot("south")
    cat.update("south", 'city = "Rome"')
    cat.refresh("south", as_of=cf.MAR)
    after = cat.snapshot_members(snap["snapshot_id"])
    pd.testing.assert_frame_equal(before, after)
    cat.export_snapshot_csv(snap["snapshot_id"], tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == SNAPSHOT_CSV
    # deleting the segment keeps its snapshots
    cat.delete("south")
    assert len(cat.snapshots("south")) == 2
    pd.testing.assert_frame_equal(before, cat.snapshot_members(snap["snapshot_id"]))
    with pytest.raises(CatalogError, match="no snapshot with id 999"):
        cat.snapshot_members(999)
