"""The field registry: built from the loaded schema, custom fields included, with clear
errors for fields of missing tables and for misspelt names."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import frames
from segjupyter.errors import UnavailableFieldError, UnknownFieldError
from segjupyter.workspace.registry import CATEGORY_MAX_DISTINCT


def test_custom_text_field_with_few_values_is_a_category(loaded_ws):
    f = loaded_ws.fields.customer_field("loyalty_tier")
    assert (f.entity, f.type, f.table, f.column) == ("custom", "category", "customers",
                                                     "loyalty_tier")
    assert f.values == ("bronze", "gold", "none", "silver")
    assert {"=", "in", "not in", "is null"} <= set(f.operators)


def test_integer_custom_field_gets_comparison_operators(loaded_ws):
    f = loaded_ws.fields.customer_field("visits")
    assert (f.entity, f.type) == ("custom", "integer")
    assert {"<", "<=", ">", ">=", "between"} <= set(f.operators)
    assert "contains" not in f.operators


def test_canonical_customer_fields_have_their_types(loaded_ws):
    reg = loaded_ws.fields
    assert reg.customer_field("birth_date").type == "date"
    assert reg.customer_field("registered_at").type == "timestamp"
    assert reg.customer_field("subscribed").type == "boolean"
    assert reg.customer_field("city").values == ("Barcelona", "Lisboa", "Madrid", "Valencia")
    assert reg.customer_field("email").type == "text"  # never offered as a category


def test_text_with_many_values_stays_text(ws):
    n = CATEGORY_MAX_DISTINCT + 5
    c = pd.DataFrame({"customer_id": range(n), "nickname": [f"nick{i}" for i in range(n)]})
    o = pd.DataFrame({"order_id": [1], "customer_id": [0], "ordered_at": ["2024-01-01"],
                      "total": [1]})
    ws.load(customers=c, orders=o)
    f = ws.fields.customer_field("nickname")
    assert (f.type, f.values) == ("text", ())


def test_purchase_fields_are_renamed_where_names_clash(loaded_ws):
    reg = loaded_ws.fields
    assert (reg.purchase_field("product").table, reg.purchase_field("product").column) == (
        "products", "name")
    assert (reg.purchase_field("store").table, reg.purchase_field("store").column) == (
        "stores", "name")
    assert (reg.purchase_field("store_city").column, reg.purchase_field("store_city").values) == (
        "city", ("Barcelona", "Madrid"))
    assert reg.purchase_field("brand").values == ("Acme", "Globex", "Initech")
    assert reg.purchase_field("tags").type == "list"
    assert reg.purchase_field("total").entity == "order"
    assert reg.purchase_field("amount").entity == "line"
    assert reg.unavailable == {}
    assert reg.event_types == ("email_open", "email_sent", "visit")


def test_without_order_lines_product_fields_are_unavailable(ws):
    ws.load(customers=frames.customers(), orders=frames.orders(), products=frames.products())
    reg = ws.fields
    with pytest.raises(UnavailableFieldError, match="'brand' is unavailable.*no order_lines"):
        reg.purchase_field("brand")
    assert reg.unavailable["quantity"] == "the workspace has no order_lines table"
    assert reg.purchase_field("total").table == "orders"


def test_without_stores_store_fields_are_unavailable_but_store_id_is_not(ws):
    ws.load(customers=frames.customers(), orders=frames.orders())
    reg = ws.fields
    with pytest.raises(UnavailableFieldError, match="no stores table"):
        reg.purchase_field("store_city")
    assert reg.purchase_field("store_id").table == "orders"
    assert "store_id" not in reg.unavailable
    described = reg.describe().set_index("name")
    assert described.loc["channel", "type"] == "unavailable"


def test_unknown_field_suggests_the_closest_name(loaded_ws):
    with pytest.raises(UnknownFieldError, match="did you mean 'city'") as err:
        loaded_ws.fields.customer_field("cty")
    assert (err.value.field, err.value.suggestion) == ("cty", "city")
    with pytest.raises(UnknownFieldError) as err:
        loaded_ws.fields.purchase_field("zzzz")
    assert err.value.suggestion is None


def test_registry_follows_a_reload(loaded_ws):
    assert "segment_tag" not in loaded_ws.fields.customer
    loaded_ws.load(customers=frames.customers().assign(segment_tag="vip"))
    assert loaded_ws.fields.customer_field("segment_tag").values == ("vip",)
    assert loaded_ws.fields.tables["customers"] == 6
