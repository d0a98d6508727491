"""Saving from the builder, the segment list and its actions, and the app's wiring —
driven through the widgets (``.value``, ``.click()``), checked against the catalog."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import re

import pytest

import segjupyter
from segjupyter.errors import SegjupyterError
from segjupyter.rules.dsl import parse
from segjupyter.widgets import RuleBuilder, SegmentList, ui


@pytest.fixture(scope="module")
def ws(demo_copy):
    """A private copy of the demo workspace (these tests write its catalog)."""
    w = segjupyter.open(demo_copy("widgets-catalog"))
    yield w
    w.close()


def classes(widget) -> tuple:
    return tuple(widget._dom_classes)


def save_through_builder(ws, text, name, kind="dynamic", active=True):
    b = RuleBuilder(ws, text)
    b.name.value = name
    b.kind.value = kind
    b.status.value = active
    b.save_button.click()
    return b


def test_save_stores_name_kind_status_and_members(ws):
    b = save_through_builder(ws, 'city = "Madrid" and spend(last 12 months) >= 300', "w_madrid")
    assert "saved" in b.save_message.value and "sj-error" not in b.save_message.value
    info = ws.segments.info("w_madrid")
    assert info.tree == parse('city = "Madrid" and spend(last 12 months) >= 300')
    assert (info.kind, info.active) == ("dynamic", True)
    n = ws.segment(info.tree).count()
    assert info.customers == n and f"{n:,}" in b.save_message.value
    assert b.editing == "w_madrid"
    # editing the rule and saving again updates the same segment
    row = b.rows()[1]
    row.editor.slot.editors[0].widget.value = 1000.0
    b.save_button.click()
    info2 = ws.segments.info("w_madrid")
    assert info2.id == info.id and info2.revision == info.revision + 1
    assert info2.customers == ws.segment('city = "Madrid" and spend(last 12 months) >= 1000'
                                         ).count()
    # status follows the dropdown; the kind of a saved segment does not change
    b.status.value = False
    b.save_button.click()
    assert ws.segments.info("w_madrid").active is False
    b.kind.value = "static"
    b.save_button.click()
    assert "keeps its kind" in b.save_message.value
    assert ws.segments.info("w_madrid").kind == "dynamic"


def test_save_static_inactive_and_name_clash(ws):
    save_through_builder(ws, "subscribed", "w_static", kind="static", active=False)
    info = ws.segments.info("w_static")
    assert (info.kind, info.active, info.customers) == ("static", False, None)
    other = save_through_builder(ws, 'country = "Spain"', "w_static")
    assert "already exists" in other.save_message.value
    assert ws.segments.info("w_static").tree == parse("subscribed")
    nameless = RuleBuilder(ws, "subscribed")
    nameless.save_button.click()
    assert "name" in nameless.save_message.value and "sj-error" in nameless.save_message.value


def test_save_marks_the_invalid_row(ws):
    b = RuleBuilder(ws, parse('city = "Madrid" and spend >= "lots"'))
    b.name.value = "w_invalid"
    b.save_button.click()
    assert "w_invalid" not in ws.segments
    assert "spend is a number" in b.rows()[1].error.value
    assert "sj-error" in b.save_message.value


def test_loading_a_saved_segment_edits_it(ws):
    save_through_builder(ws, "loyalty_tier in (\"gold\", \"platinum\")", "w_tiers")
    b = RuleBuilder(ws, "w_tiers")
    assert b.editing == "w_tiers" and b.name.value == "w_tiers"
    assert b.tree == parse('loyalty_tier in ("gold", "platinum")')


def test_list_shows_every_segment_with_its_figures(ws):
    save_through_builder(ws, "orders(last 90 days) >= 3", "w_list_a")
    lst = SegmentList(ws)
    df = ws.segments.list()
    assert set(lst.rows) == set(df["name"])
    row = lst.rows["w_list_a"]
    rec = df[df["name"] == "w_list_a"].iloc[0]
    assert f">{int(rec['customers']):,}<" in row.cells["customers"].value
    assert f"{int(rec['subscribed']):,}" == row.cells["subscribed"].value
    assert row.cells["kind"].value == "dynamic"
    assert "active" in row.cells["status"].value
    assert row.cells["refreshed"].value in ("just now",) or "min ago" in \
        row.cells["refreshed"].value
    assert "<polyline" in row.cells["size history"].value
    assert set(row.buttons) == {"details", "dashboard", "edit", "refresh", "refresh_background",
                                "toggle", "duplicate", "snapshot", "export", "delete"}


def test_list_actions_change_the_catalog(ws):
    save_through_builder(ws, "orders(last 30 days) >= 1", "w_act")
    lst = SegmentList(ws)
    row = lst.rows["w_act"]
    row.buttons["toggle"].click()
    assert ws.segments.info("w_act").active is False
    assert "inactive" in lst.rows["w_act"].cells["status"].value
    row.buttons["toggle"].click()
    assert ws.segments.info("w_act").active is True
    row.buttons["refresh"].click()
    assert "refreshed" in lst.message.value
    assert len(ws.segments.runs("w_act")) == 2
    row.buttons["duplicate"].click()
    assert "w_act copy" in ws.segments and "w_act copy" in lst.rows
    row.buttons["duplicate"].click()
    assert "w_act copy 2" in lst.rows
    row.buttons["snapshot"].click()
    snaps = ws.segments.snapshots("w_act")
    assert len(snaps) == 1 and f"{int(snaps['customers'].iloc[0]):,}" in lst.message.value
    row.buttons["export"].click()
    m = re.search(r"href='data:text/csv;base64,([^']+)'", lst.message.value)
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(m.group(1)).decode("utf-8"))))
    assert len(rows) == ws.segments.info("w_act").customers
    assert sorted(int(r["customer_id"]) for r in rows) == ws.segments.member_ids("w_act")


def test_delete_asks_for_confirmation(ws):
    save_through_builder(ws, "orders >= 40", "w_del")
    lst = SegmentList(ws)
    row = lst.rows["w_del"]
    row.buttons["delete"].click()
    assert lst.confirm.layout.display is None and "w_del" in lst.confirm_text.value
    lst.confirm_no.click()
    assert "w_del" in ws.segments and lst.confirm.layout.display == "none"
    row.buttons["delete"].click()
    lst.confirm_yes.click()
    assert "w_del" not in ws.segments and "w_del" not in lst.rows
    assert row.comm is None  # the row's widgets are closed


def test_delete_refused_while_used(ws):
    save_through_builder(ws, "orders >= 20", "w_base")
    save_through_builder(ws, 'in_segment("w_base") and subscribed', "w_user")
    lst = SegmentList(ws)
    lst.rows["w_base"].buttons["delete"].click()
    lst.confirm_yes.click()
    assert "w_base" in ws.segments and "w_user" in lst.message.value


def test_details_and_edit_and_dashboard_open_below_the_list(ws):
    save_through_builder(ws, 'country = "Portugal" and subscribed', "w_open")
    lst = SegmentList(ws)
    lst.rows["w_open"].buttons["details"].click()
    details = lst.detail.children[0].value
    assert "country = &quot;Portugal&quot; and subscribed" in details
    assert f"{ws.segments.info('w_open').customers:,}" in details
    lst.rows["w_open"].buttons["edit"].click()
    (builder,) = lst.detail.children
    assert isinstance(builder, RuleBuilder) and builder.editing == "w_open"
    assert builder.tree == parse('country = "Portugal" and subscribed')
    lst.rows["w_open"].buttons["dashboard"].click()
    (dash,) = lst.detail.children
    assert dash.selected == ["w_open"]
    assert builder.comm is None  # the replaced builder was closed


def test_filters_by_size_name_and_creation_date(ws):
    save_through_builder(ws, "orders >= 60", "w_tiny")
    save_through_builder(ws, "orders >= 1", "w_huge")
    lst = SegmentList(ws)
    tiny = ws.segments.info("w_tiny").customers
    huge = ws.segments.info("w_huge").customers
    assert tiny < huge
    lst.min_size.value = tiny + 1
    assert "w_huge" in lst.visible_names() and "w_tiny" not in lst.visible_names()
    lst.min_size.value = 0
    lst.max_size.value = tiny
    assert "w_tiny" in lst.visible_names() and "w_huge" not in lst.visible_names()
    lst.max_size.value = 0
    lst.search.value = "HUG"
    assert lst.visible_names() == ["w_huge"]
    lst.search.value = ""
    created = ws.segments.info("w_huge").created_at.date()
    lst.created_from.value = created + dt.timedelta(days=1)
    assert lst.visible_names() == []
    lst.created_from.value = created
    lst.created_to.value = created
    assert set(lst.visible_names()) == set(ws.segments.names())


def test_read_only_list_has_no_writing_action(ws):
    save_through_builder(ws, "orders >= 10", "w_ro")
    lst = SegmentList(ws, read_only=True)
    assert set(lst.rows["w_ro"].buttons) == {"details", "dashboard", "export"}
    with pytest.raises(SegjupyterError, match="read-only"):
        lst.act("delete", "w_ro")
    assert "w_ro" in ws.segments


def test_app_wires_builder_list_dashboard_and_templates(ws):
    app = ui(ws)
    assert app.nav.value == "builder"
    b = app.builder
    lst = app.segment_list
    b.load('city = "Porto" and orders(last 12 months) >= 2')
    b.name.value = "w_app"
    b.save_button.click()
    assert "w_app" in lst.rows  # the list was reloaded on save
    lst.rows["w_app"].buttons["dashboard"].click()
    assert app.nav.value == "dashboard" and app.dashboard.selected == ["w_app"]
    assert app.body.children == (app.dashboard,)
    app.show("list")
    lst.rows["w_app"].buttons["edit"].click()
    assert app.nav.value == "builder" and b.editing == "w_app"
    app.show("gallery")
    app.gallery.picker.value = "high_spenders"
    app.gallery.open_button.click()
    assert app.nav.value == "builder"
    assert b.tree == ws.segments.from_template("high_spenders").tree
    assert b.name.value == "high_spenders"


def test_read_only_app_has_no_builder(ws):
    app = segjupyter.ui(ws, read_only=True)
    assert "builder" not in [k for _l, k in app.nav.options]
    assert app.nav.value == "list" and app.segment_list.read_only
