"""Loading retail data: every kind of source, the column mapping, every validation reason,
strict loads, partial reloads and the load report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pandas as pd
import pytest

import segjupyter
from helpers import frames
from segjupyter.errors import LoadError


def col_types(ws, table: str) -> dict[str, str]:
    return dict(ws.sql("SELECT column_name, data_type FROM duckdb_columns() "
                       "WHERE database_name = 'retail' AND table_name = ?", [table]).fetchall())


def count(ws, table: str) -> int:
    return int(ws.sql(f"SELECT count(*) FROM {table}").scalar())


def minimal_orders(order_ids, customer_ids, **extra) -> pd.DataFrame:
    n = len(order_ids)
    return pd.DataFrame({"order_id": order_ids, "customer_id": customer_ids,
                         "ordered_at": ["2024-03-01 10:00"] * n, "total": ["10.00"] * n, **extra})


# -- sources ------------------------------------------------------------------------------

def test_dataframes_load_with_canonical_types_and_exact_money(loaded_ws):
    ws = loaded_ws
    for name, frame in frames.all_tables().items():
        assert count(ws, name) == len(frame)
    t = col_types(ws, "customers")
    assert t["customer_id"] == "BIGINT" and t["birth_date"] == "DATE"
    assert t["registered_at"] == "TIMESTAMP" and t["subscribed"] == "BOOLEAN"
    assert t["loyalty_tier"] == "VARCHAR" and t["visits"] == "BIGINT"  # custom: dtype kept
    assert col_types(ws, "order_lines")["amount"] == "DECIMAL(18,2)"
    assert col_types(ws, "orders")["total"] == "DECIMAL(18,2)"
    assert col_types(ws, "products")["tags"] == "VARCHAR[]"
    expected = sum(Decimal(str(q)) * Decimal(str(p)) for _, _, _, q, p in frames.LINES)
    assert Decimal(ws.sql("SELECT sum(amount)::VARCHAR FROM order_lines").scalar()) == expected
    assert list(ws.sql("SELECT tags FROM products WHERE product_id = 1").scalar()) == [
        "organic", "gift"]


def test_lines_carry_customer_store_and_time_of_their_order(loaded_ws):
    mismatched = loaded_ws.sql("""
        SELECT count(*) FROM order_lines l JOIN orders o USING (order_id)
        WHERE l.customer_id IS DISTINCT FROM o.customer_id OR l.store_id IS DISTINCT FROM
              o.store_id OR l.ordered_at IS DISTINCT FROM o.ordered_at""").scalar()
    assert mismatched == 0
    assert loaded_ws.sql("SELECT count(customer_id) FROM order_lines").scalar() == len(frames.LINES)


def test_csv_sources_infer_custom_field_types(ws, tmp_path):
    c = frames.customers()
    c["ratio"] = ["0.5", "1", "2.25", "", "3", "4"]
    c["first_visit"] = ["2024-01-01", "2023-12-31", "", "2022-02-28", "2024-02-29", "2021-01-01"]
    c["last_seen"] = ["2024-01-01 10:00:00", "2024-01-02", "", "", "", "2024-01-03 23:59:59"]
    c["vip"] = ["yes", "no", "no", "", "yes", "no"]
    c["code"] = ["007", "010", "123", "5", "6", "7"]  # leading zeros: must stay text
    c["empty"] = ["", "", "", "", "", ""]
    c.to_csv(tmp_path / "customers.csv", index=False)
    frames.orders().to_csv(tmp_path / "orders.csv", index=False)
    frames.stores().to_csv(tmp_path / "stores.tsv", index=False, sep="\t")
    p = frames.products()
    p["tags"] = ["organic|gift", "vegan", "", " a , b "]
    p.to_csv(tmp_path / "products.csv", index=False)
    frames.order_lines().to_csv(tmp_path / "lines.txt", index=False)
    report = ws.load(customers=tmp_path / "customers.csv", orders=str(tmp_path / "orders.csv"),
                     stores=tmp_path / "stores.tsv", products=tmp_path / "products.csv",
                     order_lines=tmp_path / "lines.txt")
    assert report.ok, report
    t = col_types(ws, "customers")
    assert (t["visits"], t["ratio"], t["first_visit"], t["last_seen"], t["vip"]) == (
        "BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN")
    assert (t["loyalty_tier"], t["code"], t["empty"]) == ("VARCHAR", "VARCHAR", "VARCHAR")
    assert ws.sql("SELECT code FROM customers WHERE customer_id = 1").scalar() == "007"
    assert ws.sql("SELECT birth_date::VARCHAR FROM customers WHERE customer_id = 2"
                  ).scalar() == "1992-02-29"
    tags = dict(ws.sql("SELECT product_id, coalesce(to_json(tags)::VARCHAR, 'null') "
                       "FROM products").fetchall())
    assert tags == {1: '["organic","gift"]', 2: '["vegan"]', 3: 'null', 4: '["a","b"]'}
    assert count(ws, "stores") == 3 and count(ws, "order_lines") == len(frames.LINES)
    assert report["customers"].source.endswith("customers.csv")


def test_parquet_sources(ws, tmp_path):
    for name, frame in frames.all_tables().items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
    report = ws.load(**{n: tmp_path / f"{n}.parquet" for n in frames.all_tables()})
    assert report.ok, report
    assert count(ws, "order_lines") == len(frames.LINES)
    assert col_types(ws, "customers")["visits"] == "BIGINT"
    assert list(ws.sql("SELECT tags FROM products WHERE product_id = 4").scalar()) == ["sale"]


def test_duckdb_table_sources_as_tuple_and_text(ws, tmp_path):
    path = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(path))
    c, o = frames.customers(), frames.orders()
    con.execute("CREATE TABLE clients AS SELECT * FROM c")
    con.execute("CREATE TABLE tickets AS SELECT * FROM o")
    con.close()
    report = ws.load(customers=("duckdb", path, "clients"), orders=f"duckdb:{path}:tickets")
    assert report.ok, report
    assert count(ws, "customers") == 6 and count(ws, "orders") == 10
    with pytest.raises(LoadError, match="no table 'nope'"):
        ws.load(customers=("duckdb", str(path), "nope"))


def test_unusable_sources_are_load_errors_and_keep_the_data(loaded_ws, tmp_path):
    ws = loaded_ws
    with pytest.raises(LoadError, match="not found"):
        ws.load(customers=tmp_path / "missing.csv")
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(LoadError, match="cannot tell the format"):
        ws.load(customers=tmp_path / "data.xlsx")
    (tmp_path / "ragged.csv").write_text("customer_id,city\n1,Madrid\n2,Paris,extra\n3\n")
    with pytest.raises(LoadError, match="as many fields as the header"):
        ws.load(customers=tmp_path / "ragged.csv")
    with pytest.raises(LoadError, match="cannot load from a list"):
        ws.load(customers=[1, 2, 3])
    assert count(ws, "customers") == 6 and count(ws, "order_lines") == len(frames.LINES)


def test_customers_and_orders_are_required(ws):
    with pytest.raises(LoadError, match="nothing to load"):
        ws.load()
    with pytest.raises(LoadError, match="orders are required"):
        ws.load(customers=frames.customers())
    with pytest.raises(LoadError, match="customers are required"):
        ws.load(orders=frames.orders())
    assert ws.tables == {}


# -- mapping ------------------------------------------------------------------------------

def test_nested_mapping_renames_per_table(ws):
    c = frames.customers().rename(columns={"customer_id": "client", "city": "town"})
    o = frames.orders().rename(columns={"order_id": "ticket", "customer_id": "client",
                                        "ordered_at": "sold_at"})
    report = ws.load(customers=c, orders=o, mapping={
        "customers": {"client": "customer_id", "town": "city"},
        "orders": {"ticket": "order_id", "client": "customer_id", "sold_at": "ordered_at"}})
    assert report.ok, report
    assert ws.sql("SELECT city FROM customers WHERE customer_id = 6").scalar() == "Lisboa"
    assert ws.sql("SELECT count(*) FROM orders WHERE customer_id = 3").scalar() == 3


def test_flat_mapping_applies_to_every_table_and_names_match_case_insensitively(ws):
    c = frames.customers().rename(columns={"customer_id": "CLIENT", "first_name": "First_Name"})
    o = frames.orders().rename(columns={"customer_id": "CLIENT", "order_id": "Order_ID"})
    o["till"] = 7  # not canonical: ignored and reported
    report = ws.load(customers=c, orders=o, mapping={"CLIENT": "customer_id"})
    assert report.ok, report
    assert ws.sql("SELECT first_name FROM customers WHERE customer_id = 1").scalar() == "Ana"
    assert count(ws, "orders") == 10
    assert report["orders"].ignored_columns == ["till"]


def test_bad_mappings_are_load_errors(ws):
    c, o = frames.customers(), frames.orders()
    with pytest.raises(LoadError, match=r"'client'.*not in the source"):
        ws.load(customers=c, orders=o, mapping={"customers": {"client": "customer_id"}})
    with pytest.raises(LoadError, match="unknown table 'order'.*did you mean 'orders'"):
        ws.load(customers=c, orders=o, mapping={"order": {"x": "order_id"}})
    with pytest.raises(LoadError, match="both become 'customer_id'"):
        ws.load(customers=c.assign(client=c.customer_id), orders=o,
                mapping={"customers": {"client": "customer_id"}})


def test_missing_required_column_names_table_column_and_what_was_found(loaded_ws):
    o = frames.orders().rename(columns={"ordered_at": "order_date"})
    with pytest.raises(LoadError) as err:
        loaded_ws.load(orders=o)
    msg = str(err.value)
    assert "orders: required column 'ordered_at' is missing" in msg
    assert "columns found: order_id, customer_id, store_id, order_date" in msg
    assert "'order_date': 'ordered_at'" in msg  # the mapping that would fix it
    assert count(loaded_ws, "orders") == 10


# -- validation ---------------------------------------------------------------------------

@pytest.fixture
def bad_load(ws):
    customers = pd.DataFrame({
        "customer_id": ["1", None, "2", "2", "3"],
        "first_name": ["Ana", "Nobody", "Bea", "Bea (copy)", "Cris"],
        "birth_date": ["1980-01-01", None, "1985-02-30", None, "1990-05-05"]})
    orders = pd.DataFrame({
        "order_id": ["100", "101", "102", "103", None, "100", "104", "105"],
        "customer_id": ["1", "99", "1", "2", "1", "2", "2", "3"],
        "ordered_at": ["2024-01-01", "2024-01-02", "not a date", "2024-01-03", "2024-01-04",
                       "2024-01-05", "2024-01-06 10:30", "2024-01-07"],
        "total": ["10.00", "5", "7", "12,5x", "1", "999", "-5.50", "3"]})
    lines = pd.DataFrame({
        "order_id": ["100", "101", "999", "100", "100", "100", "100", "104"],
        "line_no": [1, 1, 1, 2, 3, 4, 1, 1],
        "product_id": [1, 1, 1, 42, 1, 1, 2, 2],
        "quantity": ["2", "1", "1", "1", "two", "1.5", "3", "-1"],
        "unit_price": ["5.00"] * 7 + ["5.50"]})
    products = pd.DataFrame({"product_id": [1, 2], "brand": ["Acme", "Globex"]})
    events = pd.DataFrame({"customer_id": ["1"] + ["77"] * 7 + ["1"],
                           "event_type": ["visit"] * 9,
                           "occurred_at": ["2024-01-01"] * 8 + ["yesterday"]})
    report = ws.load(customers=customers, orders=orders, order_lines=lines, products=products,
                     events=events)
    return ws, report


def reason_rows(report, table, code, column=None):
    issue = report[table].reason(code, column)
    assert issue is not None, (table, code, column, report)
    return issue.count, issue.example_rows()


def test_every_rejection_reason_is_counted_with_source_rows(bad_load):
    ws, r = bad_load
    assert not r.ok
    assert reason_rows(r, "customers", "missing_key") == (1, [2])
    assert reason_rows(r, "customers", "duplicate_id") == (1, [4])
    assert reason_rows(r, "orders", "unknown_reference", "customer_id") == (1, [2])
    assert reason_rows(r, "orders", "unparsable_date") == (1, [3])
    assert reason_rows(r, "orders", "non_numeric") == (1, [4])
    assert reason_rows(r, "orders", "missing_key") == (1, [5])
    assert reason_rows(r, "orders", "duplicate_id") == (1, [6])
    # line 2 belongs to order 101, rejected above: its line goes too, with the reason
    assert reason_rows(r, "order_lines", "unknown_reference", "order_id") == (2, [2, 3])
    assert reason_rows(r, "order_lines", "unknown_reference", "product_id") == (1, [4])
    assert reason_rows(r, "order_lines", "non_numeric", "quantity") == (2, [5, 6])
    assert reason_rows(r, "order_lines", "duplicate_id") == (1, [7])
    assert reason_rows(r, "events", "unknown_reference", "customer_id") == (7, [2, 3, 4, 5, 6])
    assert reason_rows(r, "events", "unparsable_date") == (1, [9])
    assert [r[t].rows_loaded for t in ("customers", "orders", "order_lines", "events")] == \
        [3, 3, 2, 1]
    assert (count(ws, "customers"), count(ws, "orders"), count(ws, "order_lines"),
            count(ws, "events")) == (3, 3, 2, 1)
    assert r["orders"].reason("unknown_reference").message == \
        "order of an unknown customer (customer_id not in customers)"


def test_first_copy_of_a_duplicate_is_kept(bad_load):
    ws, _ = bad_load
    assert ws.sql("SELECT first_name FROM customers WHERE customer_id = 2").scalar() == "Bea"
    assert ws.sql("SELECT total::VARCHAR FROM orders WHERE order_id = 100").scalar() == "10.00"
    assert ws.sql("SELECT quantity FROM order_lines WHERE order_id = 100 AND line_no = 1"
                  ).scalar() == 2


def test_rejected_rows_come_back_as_they_were_given(bad_load):
    _, r = bad_load
    rej = r.rejected("orders")
    assert list(rej.columns[:2]) == ["_row", "_reason"]
    assert rej["_row"].tolist() == [2, 3, 4, 5, 6]
    assert rej.loc[rej["_row"] == 3, "ordered_at"].item() == "not a date"
    assert rej.loc[rej["_row"] == 4, "total"].item() == "12,5x"
    assert len(r.rejected("events")) == 8
    ex = r["events"].reason("unknown_reference").examples
    assert len(ex) == 5 and set(ex["customer_id"]) == {"77"}
    assert r.rejected("stores").empty


def test_warnings_load_the_rows(bad_load):
    ws, r = bad_load
    neg = r["orders"].warning("negative_amount", "total")
    assert (neg.count, neg.example_rows()) == (1, [7])
    assert r["order_lines"].warning("negative_amount", "amount").count == 1
    bad_date = r["customers"].warning("unparsable_optional", "birth_date")
    assert (bad_date.count, bad_date.example_rows()) == (1, [3])
    assert pd.isna(ws.sql("SELECT birth_date FROM customers WHERE customer_id = 2").scalar())
    assert ws.sql("SELECT total::VARCHAR FROM orders WHERE order_id = 104").scalar() == "-5.50"
    # amount computed as quantity * unit_price for the return line
    assert ws.sql("SELECT amount::VARCHAR FROM order_lines WHERE order_id = 104"
                  ).scalar() == "-5.50"


def test_report_is_readable(bad_load):
    _, r = bad_load
    text = repr(r)
    assert "rejected 1: duplicate customer_id (first copy kept)  (e.g. rows 4)" in text
    assert "warning 1: negative total" in text
    html = r._repr_html_()
    assert "<table" in html and "line of an unknown order" in html
    summary = r.to_frame().set_index("table")
    assert summary.loc["orders", ["read", "loaded", "rejected"]].tolist() == [8, 3, 5]
    assert summary.loc["events", "rejected"] == 8


def test_strict_load_refuses_and_keeps_previous_data(loaded_ws):
    ws = loaded_ws
    before = ws.sql("SELECT * FROM orders ORDER BY order_id").df()
    more = pd.concat([frames.orders(), frames.orders().head(2).assign(
        order_id=[1, 2], customer_id=[1, 404])])
    with pytest.raises(LoadError, match="strict=True.*1 order of an unknown customer") as err:
        ws.load(orders=more, strict=True)
    assert err.value.report is not None and err.value.report.rows_rejected == 1
    pd.testing.assert_frame_equal(ws.sql("SELECT * FROM orders ORDER BY order_id").df(), before)
    assert count(ws, "order_lines") == len(frames.LINES)
    ok = ws.load(orders=more[more.customer_id != 404], strict=True)
    assert ok.ok and count(ws, "orders") == 11 and count(ws, "order_lines") == len(frames.LINES)


# -- partial reloads ----------------------------------------------------------------------

def test_reloading_customers_revalidates_what_refers_to_them(loaded_ws):
    ws = loaded_ws
    fewer = frames.customers()
    fewer = fewer[~fewer.customer_id.isin([3, 6])].assign(loyalty_tier="platinum")
    r = ws.load(customers=fewer)
    assert r["orders"].reason("unknown_reference", "customer_id").count == 5  # 3 of 3, 2 of 6
    assert sorted(r.rejected("orders")["order_id"]) == [103, 104, 105, 108, 109]
    assert r["order_lines"].reason("unknown_reference", "order_id").count == 8
    assert r["events"].reason("unknown_reference", "customer_id").count == 1
    assert set(r.kept) == {"stores", "products"}
    assert count(ws, "customers") == 4 and count(ws, "orders") == 5
    assert count(ws, "order_lines") == 7 and count(ws, "products") == 4
    assert ws.sql("SELECT DISTINCT loyalty_tier FROM customers").fetchall() == [("platinum",)]


def test_tables_not_given_are_kept(loaded_ws):
    ws = loaded_ws
    r = ws.load(stores=frames.stores().assign(channel="app"))
    assert r.ok, r
    assert set(r.tables) == {"stores", "orders", "order_lines"}  # orders refer to stores
    assert set(r.kept) == {"customers", "products", "events"}
    assert ws.sql("SELECT DISTINCT channel FROM stores").fetchall() == [("app",)]
    for name, frame in frames.all_tables().items():
        assert count(ws, name) == len(frame)


# -- computed columns and id types ----------------------------------------------------------

def test_total_amount_and_line_no_are_computed_when_missing(ws):
    o = frames.orders().drop(columns=["total"])
    lines = frames.order_lines().drop(columns=["amount", "line_no"])
    r = ws.load(customers=frames.customers(), orders=o, order_lines=lines)
    assert r.ok, r
    assert any("total computed" in n for n in r["orders"].notes)
    got = {k: Decimal(v) for k, v in ws.sql("SELECT order_id, total::VARCHAR FROM orders").fetchall()}
    expected: dict[int, Decimal] = {}
    for oid, _, _, q, p in frames.LINES:
        expected[oid] = expected.get(oid, Decimal(0)) + Decimal(str(q)) * Decimal(str(p))
    assert got == expected
    assert ws.sql("SELECT line_no, product_id FROM order_lines WHERE order_id = 104 "
                  "ORDER BY line_no").fetchall() == [(1, 1), (2, 2), (3, 4)]


def test_order_without_lines_gets_no_total_warning(ws):
    o = minimal_orders([1, 2], [1, 1]).drop(columns=["total"])
    lines = pd.DataFrame({"order_id": [1], "line_no": [1], "product_id": [5], "quantity": [2],
                          "amount": [3.5]})
    r = ws.load(customers=frames.customers(), orders=o, order_lines=lines)
    w = r["orders"].warning("no_total")
    assert (w.count, w.example_rows()) == (1, [2])
    assert ws.sql("SELECT order_id, coalesce(total::VARCHAR, 'null') FROM orders ORDER BY 1"
                  ).fetchall() == [(1, "3.50"), (2, "null")]


def test_text_ids_make_text_keys_everywhere(ws):
    c = frames.customers().assign(customer_id=["C1", "C2", "007", "C4", "C5", "C6"])
    o = minimal_orders(["A1", "A2", "A3"], ["C1", "007", "7"])
    r = ws.load(customers=c, orders=o)
    assert col_types(ws, "customers")["customer_id"] == "VARCHAR"
    assert col_types(ws, "orders")["customer_id"] == "VARCHAR"
    assert col_types(ws, "orders")["order_id"] == "VARCHAR"
    assert r["orders"].reason("unknown_reference").example_rows() == [3]  # "7" is not "007"


def test_float_ids_from_pandas_nan_stay_integers(ws):
    c = pd.DataFrame({"customer_id": [1.0, 2.0, float("nan")]})
    r = ws.load(customers=c, orders=minimal_orders([10, 11], [1.0, 2.0]))
    assert col_types(ws, "customers")["customer_id"] == "BIGINT"
    assert r["customers"].reason("missing_key").count == 1
    assert ws.sql("SELECT customer_id FROM orders ORDER BY 1").fetchall() == [(1,), (2,)]


def test_time_zone_aware_timestamps_become_workspace_local_time(ws):
    ws.timezone = "Europe/Madrid"
    o = minimal_orders([1], [1])
    o["ordered_at"] = pd.to_datetime(["2024-07-01 08:00"]).tz_localize("UTC")
    ws.load(customers=frames.customers(), orders=o)
    assert ws.sql("SELECT ordered_at FROM orders").scalar() == dt.datetime(2024, 7, 1, 10, 0)
    assert col_types(ws, "orders")["ordered_at"] == "TIMESTAMP"


def test_reopened_workspace_keeps_loaded_data(loaded_ws):
    path = loaded_ws.path
    loaded_ws.close()
    again = segjupyter.open(path)
    try:
        assert count(again, "order_lines") == len(frames.LINES)
    finally:
        again.close()


# -- in-memory sources: Arrow tables, checks answered in NumPy ------------------------------

def test_arrow_table_sources_load_like_dataframes(ws):
    import pyarrow as pa

    tables = {n: pa.Table.from_pandas(f, preserve_index=False)
              for n, f in frames.all_tables().items()}
    orders = frames.orders()
    orders.loc[3, "customer_id"] = 99  # an order of an unknown customer
    tables["orders"] = pa.Table.from_pandas(orders, preserve_index=False)
    report = ws.load(**tables)
    assert count(ws, "orders") == 9 and count(ws, "events") == 4
    count_, rows = reason_rows(report, "orders", "unknown_reference", "customer_id")
    assert (count_, rows) == (1, [4])
    assert report.rejected("orders")["customer_id"].tolist() == [99]
    assert report["orders"].source == "Arrow table (10 rows)"


@pytest.mark.parametrize("ids", [[7, 8, 7], [1, 10**12, 1]])  # dense ids, and ids too spread
def test_integer_duplicates_of_in_memory_sources_are_still_rejected(ws, ids):
    customers = pd.DataFrame({"customer_id": ids, "first_name": ["a", "b", "c"]})
    lines = frames.order_lines()
    lines.loc[1, "line_no"] = 1  # (100, 1) twice
    report = ws.load(customers=customers,
                     orders=minimal_orders([100, 101], [ids[0], ids[1]]),
                     order_lines=lines[lines["order_id"].isin([100, 101])],
                     products=frames.products())
    assert reason_rows(report, "customers", "duplicate_id") == (1, [3])
    assert reason_rows(report, "order_lines", "duplicate_id") == (1, [2])
    assert ws.sql("SELECT first_name FROM customers WHERE customer_id = ?", [ids[0]]
                  ).scalar() == "a"


def test_orders_and_lines_are_stored_by_customer_in_any_source_order(ws):
    shuffled = frames.orders().sample(frac=1.0, random_state=3).reset_index(drop=True)
    lines = frames.order_lines().sample(frac=1.0, random_state=4).reset_index(drop=True)
    ws.load(customers=frames.customers(), orders=shuffled, order_lines=lines,
            products=frames.products())
    for t in ("orders", "order_lines"):
        stored = [r[0] for r in ws.sql(f"SELECT customer_id FROM {t} ORDER BY rowid"
                                       ).fetchall()]
        assert stored == sorted(stored), t


def test_source_checks_prove_or_say_they_cannot():
    import numpy as np

    from segjupyter.workspace import source_checks as sc

    a = np.array([5, 3, 9])
    assert sc.unique_keys([a]) is True
    assert sc.unique_keys([np.array([5, 3, 5])]) is False
    assert sc.unique_keys([np.array([1, 2**40])]) is None  # too spread for a bitmap
    assert sc.unique_keys([np.array([1, 1, 2]), np.array([1, 2, 1])]) is True
    assert sc.unique_keys([np.array([1, 1, 2]), np.array([2, 2, 1])]) is False
    assert sc.int_column(pd.DataFrame({"x": [1.0]}), "x") is None


def test_a_source_may_be_a_function_called_when_its_table_is_read(ws):
    calls = []

    def events():
        calls.append("events")
        return frames.events()

    def orders():
        calls.append("orders")
        return frames.orders()

    report = ws.load(customers=frames.customers(), orders=orders, events=events)
    assert report.ok, report
    assert calls == ["orders", "events"] and count(ws, "events") == 4
