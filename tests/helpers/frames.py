"""Small hand-made retail tables (pandas) for loader, registry and workspace tests."""

from __future__ import annotations

import pandas as pd

# (order_id, customer_id, store_id, ordered_at, offer_code)
ORDERS = [
    (100, 1, 1, "2024-01-05 10:15:00", None),
    (101, 1, 3, "2024-02-11 21:40:00", "WELCOME"),
    (102, 2, 2, "2024-02-20 12:00:00", None),
    (103, 3, 1, "2024-03-01 09:05:00", None),
    (104, 3, 1, "2024-03-15 18:30:00", "SPRING10"),
    (105, 3, 3, "2024-04-02 23:59:59", None),
    (106, 4, 2, "2024-04-10 11:11:11", None),
    (107, 5, 1, "2024-05-01 08:00:00", None),
    (108, 6, 3, "2024-05-20 16:45:00", "VIP-20"),
    (109, 6, 3, "2024-06-30 20:00:00", None),
]
# (order_id, line_no, product_id, quantity, unit_price)
LINES = [
    (100, 1, 1, 2, 4.50), (100, 2, 3, 1, 9.99),
    (101, 1, 2, 1, 6.00),
    (102, 1, 4, 4, 2.25), (102, 2, 1, 1, 4.50),
    (103, 1, 3, 3, 9.99),
    (104, 1, 1, 1, 4.50), (104, 2, 2, 2, 6.00), (104, 3, 4, 1, 2.25),
    (105, 1, 2, 1, 6.00),
    (106, 1, 3, 1, 9.99),
    (107, 1, 4, 10, 2.25),
    (108, 1, 1, 1, 4.50), (108, 2, 3, 2, 9.99),
    (109, 1, 2, -1, 6.00),  # a return
]


def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [1, 2, 3, 4, 5, 6],
        "first_name": ["Ana", "Bruno", "Carla", "Diego", "Eva", "Fran"],
        "last_name": ["Alba", "Bravo", "Cano", "Díaz", "Espí", "Faro"],
        "email": [f"{n}@example.com" for n in ("ana", "bruno", "carla", "diego", "eva", "fran")],
        "birth_date": pd.to_datetime(["1980-12-24", "1992-02-29", "1975-06-01", "2001-01-02",
                                      "1988-07-15", "1969-03-30"]),
        "city": ["Madrid", "Barcelona", "Madrid", "Valencia", "Madrid", "Lisboa"],
        "country": ["ES", "ES", "ES", "ES", "ES", "PT"],
        "registered_at": pd.to_datetime(["2020-01-01 10:00", "2021-05-05 12:30", "2019-11-11 00:00",
                                         "2023-03-03 08:00", "2022-08-08 00:00", "2024-01-01 00:00"]),
        "subscribed": [True, False, True, True, False, True],
        "loyalty_tier": ["gold", "silver", "bronze", "none", "gold", "silver"],
        "visits": [10, 3, 0, 7, 1, 4],
    })


def stores() -> pd.DataFrame:
    return pd.DataFrame({"store_id": [1, 2, 3],
                         "name": ["Madrid Centro", "Barcelona Port", "Web shop"],
                         "city": ["Madrid", "Barcelona", None], "country": ["ES", "ES", None],
                         "channel": ["store", "store", "web"]})


def products() -> pd.DataFrame:
    return pd.DataFrame({"product_id": [1, 2, 3, 4], "sku": ["TEA-1", "TEA-2", "COF-1", "SNK-1"],
                         "name": ["Green tea", "Black tea", "Espresso", "Crackers"],
                         "category": ["Tea", "Tea", "Coffee", "Snacks"],
                         "brand": ["Acme", "Globex", "Acme", "Initech"],
                         "tags": [["organic", "gift"], ["vegan"], [], ["sale"]],
                         "price": [4.50, 6.00, 9.99, 2.25]})


def order_lines() -> pd.DataFrame:
    df = pd.DataFrame(LINES, columns=["order_id", "line_no", "product_id", "quantity", "unit_price"])
    df["amount"] = (df["quantity"] * df["unit_price"]).round(2)
    return df


def orders() -> pd.DataFrame:
    df = pd.DataFrame(ORDERS, columns=["order_id", "customer_id", "store_id", "ordered_at",
                                       "offer_code"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    totals = order_lines().groupby("order_id")["amount"].sum().round(2)
    df["total"] = df["order_id"].map(totals)
    return df


def events() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [1, 1, 2, 6],
                         "event_type": ["visit", "email_open", "email_sent", "visit"],
                         "occurred_at": pd.to_datetime(["2024-01-04 10:00", "2024-02-01 09:00",
                                                        "2024-02-01 09:00", "2024-06-01 12:00"]),
                         "properties": ['{"page": "/"}', None, None, '{"page": "/tea"}']})


def all_tables() -> dict[str, pd.DataFrame]:
    """Every table, keyed by canonical name (ready for ``ws.load(**all_tables())``)."""
    return {"customers": customers(), "stores": stores(), "products": products(),
            "orders": orders(), "order_lines": order_lines(), "events": events()}
