"""Hand-made shop data for the catalog tests: few customers, orders placed so that membership
of ``spend(last 30 days) >= 100`` moves as ``as_of`` moves.

Expected members below are worked out by hand from these rows (windows: the 30 calendar days
ending on the as_of day):

=========  =================================  ==========================
as_of      spend(last 30 days) >= 100         why
=========  =================================  ==========================
2026-01-31 {1}                                c1 120.00 on Jan 10
2026-02-28 {2, 4}                             c2 150.50 Feb 10, c4 200 Feb 20
2026-03-31 {}                                 only c1 30.00 on Mar 5
=========  =================================  ==========================
"""

from __future__ import annotations

import pandas as pd

JAN, FEB, MAR = "2026-01-31", "2026-02-28", "2026-03-31"
BIG_SPENDERS = {JAN: [1], FEB: [2, 4], MAR: []}

# (id, first, last, email, city, country, postal_code, registered_at, subscribed)
CUSTOMERS = [
    (1, "Ana", "García", "ana@example.com", "Madrid", "Spain", "28001", "2025-01-15 09:30:00", True),
    (2, "Bruno", "Díaz, Jr", None, "Madrid", "Spain", "28002", "2025-02-01 00:00:00", True),
    (3, "Chloé", "Martin", "chloe@example.fr", "Paris", "France", "75001", "2025-03-10 17:00:00", False),
    (4, "Dan", 'O"Neil', "dan@example.com", "Rome", "Italy", None, "2025-04-01 08:00:00", True),
    (5, "Eva", "Ruiz", "eva@example.com", "Madrid", "Spain", "28003", "2025-05-05 12:00:00", False),
    (6, "Femi", "Ade", "femi@example.com", "Paris", "France", "75002", "2025-06-06 06:06:06", True),
]
# (order_id, customer_id, ordered_at, total)
ORDERS = [
    (100, 1, "2026-01-10 10:00:00", "120.00"),
    (101, 2, "2026-02-10 12:00:00", "150.50"),
    (102, 3, "2026-01-20 09:00:00", "80.00"),
    (103, 3, "2026-02-15 09:00:00", "40.00"),
    (104, 4, "2026-02-20 18:00:00", "200.00"),
    (105, 5, "2025-12-01 10:00:00", "99.99"),
    (106, 1, "2026-03-05 11:00:00", "30.00"),
]


def customers(**changes) -> pd.DataFrame:
    """The customers table; ``changes={id: {column: value}}`` edits rows."""
    df = pd.DataFrame(CUSTOMERS, columns=["customer_id", "first_name", "last_name", "email",
                                          "city", "country", "postal_code", "registered_at",
                                          "subscribed"])
    df["registered_at"] = pd.to_datetime(df["registered_at"])
    for cid, cols in changes.get("rows", {}).items():
        for col, value in cols.items():
            df.loc[df["customer_id"] == cid, col] = value
    return df


def orders(extra=()) -> pd.DataFrame:
    df = pd.DataFrame(list(ORDERS) + list(extra),
                      columns=["order_id", "customer_id", "ordered_at", "total"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    return df


def load(ws, customer_rows=None, extra_orders=()):
    report = ws.load(customers=customers(rows=customer_rows or {}), orders=orders(extra_orders))
    assert report.ok, report
    return ws
