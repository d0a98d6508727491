"""Opening workspaces, read-only SQL, the summary and settings."""

from __future__ import annotations

import pandas as pd
import pytest

import segjupyter
from helpers import frames
from segjupyter.errors import WorkspaceError


def test_open_creates_the_folder_and_reopens_it(tmp_path):
    path = tmp_path / "deep" / "ws"
    ws = segjupyter.open(path)
    assert (path / "retail.duckdb").is_file() and (path / "catalog.duckdb").is_file()
    assert ws.path == str(path.resolve())
    ws.load(customers=frames.customers(), orders=frames.orders())
    ws.close()
    with pytest.raises(WorkspaceError, match="closed"):
        ws.sql("SELECT 1")
    again = segjupyter.open(str(path))
    assert again.tables == {"customers": 6, "orders": 10}
    again.close()


def test_memory_workspace_is_thrown_away():
    ws = segjupyter.open(":memory:")
    root = ws.storage.root
    assert ws.path == ":memory:" and root.is_dir()
    ws.load(customers=frames.customers(), orders=frames.orders())
    assert ws.tables["orders"] == 10
    ws.close()
    assert not root.exists()


def test_a_file_is_not_a_workspace(tmp_path):
    f = tmp_path / "data.csv"
    f.write_text("a,b\n")
    with pytest.raises(WorkspaceError, match="is a file"):
        segjupyter.open(f)


def test_sql_binds_parameters_and_returns_a_frame(loaded_ws):
    res = loaded_ws.sql("SELECT count(*) AS n FROM customers WHERE city = ?", ["Madrid"])
    assert isinstance(res.df(), pd.DataFrame) and res.df()["n"].tolist() == [3]
    named = loaded_ws.sql("SELECT first_name FROM customers WHERE customer_id = $id", {"id": 6})
    assert named.fetchall() == [("Fran",)]
    assert loaded_ws.sql("SELECT value FROM catalog.settings WHERE key = 'nope'").df().empty


@pytest.mark.parametrize("statement", [
    "INSERT INTO customers (customer_id) VALUES (99)",
    "DELETE FROM orders",
    "DROP TABLE order_lines",
    "UPDATE products SET price = 0",
    "INSERT INTO catalog.settings VALUES ('k', 'v')",
])
def test_sql_cannot_change_the_workspace(loaded_ws, statement):
    with pytest.raises(WorkspaceError, match="ws.sql only reads"):
        loaded_ws.sql(statement)
    for name, frame in frames.all_tables().items():
        assert loaded_ws.sql(f"SELECT count(*) FROM {name}").scalar() == len(frame)
    assert loaded_ws.setting("k") is None


def test_repr_summarises_tables_and_order_dates(loaded_ws):
    text = repr(loaded_ws)
    assert "customers" in text and "order_lines" in text
    assert "15 rows" in text  # order lines
    assert "orders from 2024-01-05 to 2024-06-30" in text
    assert "custom fields: loyalty_tier, visits" in text


def test_repr_of_an_empty_workspace_says_how_to_load(ws):
    assert "no data loaded yet" in repr(ws)


def test_time_zone_persists_and_is_checked(tmp_path):
    path = tmp_path / "ws"
    ws = segjupyter.open(path)
    assert ws.timezone == "UTC"
    ws.close()
    ws = segjupyter.open(path, timezone="Europe/Madrid")
    ws.close()
    ws = segjupyter.open(path)
    assert ws.timezone == "Europe/Madrid"
    with pytest.raises(WorkspaceError, match="unknown time zone 'Mars/Olympus'"):
        ws.timezone = "Mars/Olympus"
    assert ws.timezone == "Europe/Madrid"
    ws.close()


def test_settings_round_trip(ws):
    ws.set_setting("counter", 5)
    assert ws.setting("counter") == "5"
    ws.set_setting("counter", None)
    assert ws.setting("counter", "gone") == "gone"
