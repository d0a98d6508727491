"""A small hand-made retail workspace for compiler tests.

Random but seeded (a few hundred customers, a few thousand orders spread over 2021-2024) plus
*edge customers*: each has one order at an instant chosen to sit exactly on, or one
microsecond beside, a window boundary for the ``as_of`` instants in :data:`EDGE_AS_OF`, so a
test can see a single customer enter or leave when the compiler is off by one.

The tables are written straight into the retail file with the canonical schema (no loader
involved), so these tests do not depend on the loading code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

import segjupyter

US = dt.timedelta(microseconds=1)
EOD = dt.time(23, 59, 59, 999999)

#: as_of instants the edge orders are placed around.
MONTH_END = dt.datetime.combine(dt.date(2024, 3, 31), EOD)
LEAP_DAY = dt.datetime.combine(dt.date(2024, 2, 29), EOD)
MIDDAY = dt.datetime(2024, 3, 15, 12, 0)
EDGE_AS_OF = (MONTH_END, LEAP_DAY, MIDDAY)
DEFAULT_AS_OF = MONTH_END

CITIES = ("Madrid", "Barcelona", "Valencia", "Lisboa", "Porto", "Paris", "Málaga", "O'Brien Town")
BRANDS = ("Acme", "Globex", "Initech", "Umbrella", "Nordés")
CATEGORIES = ("Tea", "Coffee", "Snacks", "Kitchen")
TAGS = ("organic", "vegan", "gift", "new", "sale")
OFFERS = ("SPRING10", "WELCOME", "VIP-20")
EVENT_TYPES = ("visit", "email_sent", "email_open", "email_click")
STORES = (  # id, name, city, country, channel
    (1, "Madrid Centro", "Madrid", "Spain", "store"),
    (2, "Barcelona Port", "Barcelona", "Spain", "store"),
    (3, "Lisboa Chiado", "Lisboa", "Portugal", "store"),
    (4, "Web shop", None, "Spain", "web"),
    (5, "App", None, "Spain", "app"),
)


def edge_instants() -> list[dt.datetime]:
    """Instants on and beside every window boundary of every :data:`EDGE_AS_OF`."""
    out: set[dt.datetime] = set()
    for a in EDGE_AS_OF:
        pa = pd.Timestamp(a)
        day = dt.datetime.combine(a.date(), dt.time.min)
        month_start = day.replace(day=1)
        year_start = month_start.replace(month=1)
        cands = [a, a + US, day, month_start, month_start - US, year_start, year_start - US,
                 year_start.replace(year=year_start.year - 1),
                 year_start.replace(year=year_start.year - 1) - US,
                 (pd.Timestamp(month_start) - pd.DateOffset(months=1)).to_pydatetime(),
                 (pd.Timestamp(month_start) - pd.DateOffset(months=1)).to_pydatetime() - US]
        for n, unit in ((1, "days"), (7, "days"), (30, "days"), (90, "days"), (2, "weeks"),
                        (1, "months"), (3, "months"), (6, "months"), (1, "years"),
                        (2, "years")):
            edge = (pa - pd.DateOffset(**{unit: n})).to_pydatetime()
            cands += [edge, edge + US, edge - US]
        for days in (365, 90, 180, 730):  # RFM period and lifecycle thresholds
            edge = a - dt.timedelta(days=days)
            cands += [edge, edge + US]
        out.update(cands)
    return sorted(out)


def tables(seed: int = 7, n_customers: int = 400, n_orders: int = 4000) -> dict[str, pd.DataFrame]:
    """The hand-made tables as DataFrames (canonical columns plus custom fields)."""
    rng = np.random.default_rng(seed)
    edges = edge_instants()
    n_edge = len(edges)
    n = n_customers + n_edge
    ids = np.arange(1, n + 1)
    city = rng.choice(np.array(CITIES + (None,), dtype=object), n)
    birth = pd.Series(pd.to_datetime("1950-01-01") + pd.to_timedelta(
        rng.integers(0, 365 * 55, n), unit="D")).dt.date.astype(object)
    # birthdays the year-ignoring ranges care about
    specials = [dt.date(1984, 2, 29), dt.date(1992, 2, 29), dt.date(1990, 2, 28),
                dt.date(1991, 3, 1), dt.date(1980, 12, 31), dt.date(1985, 1, 1),
                dt.date(1970, 12, 2), dt.date(1971, 1, 3), dt.date(1972, 1, 4),
                dt.date(1973, 12, 1)]
    for i, d in enumerate(specials):
        birth.iloc[10 + i] = d
    birth[rng.random(n) < 0.05] = None
    registered = pd.Timestamp("2020-01-01") + pd.to_timedelta(
        rng.integers(0, 4 * 365 * 86400, n), unit="s")
    first = rng.choice(np.array(["Ana", "Luis", "Zoë", "José", "Émile", "Ann", "O'Neil",
                                 "Bob"], dtype=object), n)
    customers = pd.DataFrame({
        "customer_id": ids,
        "first_name": first,
        "last_name": [f"Surname{i % 37}" for i in ids],
        "email": [None if i % 23 == 0 else f"user{i}@{'shop' if i % 3 else 'Mail'}.example"
                  for i in ids],
        "phone": [f"+34 6{i:08d}" for i in ids],
        "birth_date": birth,
        "gender": rng.choice(np.array(["F", "M", "X", None], dtype=object), n),
        "city": city,
        "country": [None if c is None else ("Portugal" if c in ("Lisboa", "Porto") else
                    "France" if c == "Paris" else "Spain") for c in city],
        "postal_code": [f"{28000 + i % 50:05d}" for i in ids],
        "registered_at": registered,
        "customer_type": rng.choice(np.array(["person", "business"], dtype=object), n,
                                    p=[0.9, 0.1]),
        "source": rng.choice(np.array(["store", "web", "referral"], dtype=object), n),
        "subscribed": pd.array(rng.choice([True, False, None], n, p=[0.45, 0.45, 0.1]),
                               dtype="boolean"),
        # custom fields: integer, number, list
        "loyalty_points": pd.array(np.where(rng.random(n) < 0.1, None,
                                            rng.integers(0, 1000, n)), dtype="Int64"),
        "score": [None if i % 17 == 0 else Decimal(int(rng.integers(0, 10000))) / 100
                  for i in ids],
        "interests": [None if i % 11 == 0 else list(rng.choice(TAGS, int(rng.integers(0, 3)),
                                                               replace=False))
                      for i in ids],
    })
    stores = pd.DataFrame(STORES, columns=["store_id", "name", "city", "country", "channel"])
    n_products = 40
    products = pd.DataFrame({
        "product_id": np.arange(1, n_products + 1),
        "sku": [f"SKU-{i:04d}" for i in range(1, n_products + 1)],
        "name": [f"{BRANDS[i % 5]} {CATEGORIES[i % 4]} #{i}" for i in range(1, n_products + 1)],
        "category": [None if i == 40 else CATEGORIES[i % 4] for i in range(1, n_products + 1)],
        "brand": [BRANDS[(i * 7) % 5] for i in range(1, n_products + 1)],
        "tags": [list(rng.choice(TAGS, int(rng.integers(0, 4)), replace=False))
                 for _ in range(n_products)],
        "price": [Decimal(int(rng.integers(100, 5000))) / 100 for _ in range(n_products)],
    })
    # orders: heavy-tailed buyers among the random customers, then one per edge customer
    weights = rng.gamma(0.6, 1.0, n_customers)
    weights[rng.random(n_customers) < 0.1] = 0  # never buy
    cust = rng.choice(ids[:n_customers], n_orders, p=weights / weights.sum())
    t0 = pd.Timestamp("2021-01-01")
    at = t0 + pd.to_timedelta(rng.integers(0, int((pd.Timestamp("2024-07-01") - t0)
                                                  .total_seconds()), n_orders), unit="s")
    order_cust = np.concatenate([cust, ids[n_customers:]])
    order_at = list(at.to_pydatetime()) + edges
    n_all = len(order_cust)
    orders = pd.DataFrame({
        "order_id": np.arange(1, n_all + 1),
        "customer_id": order_cust,
        "store_id": rng.choice(np.array([1, 2, 3, 4, 5]), n_all),
        "ordered_at": pd.Series(order_at, dtype="datetime64[us]"),
        "offer_code": rng.choice(np.array(OFFERS + (None, None, None), dtype=object), n_all),
    })
    # lines: 1-4 per order
    k = rng.integers(1, 5, n_all)
    oid = np.repeat(orders["order_id"].to_numpy(), k)
    line_no = np.concatenate([np.arange(1, x + 1) for x in k])
    pid = rng.integers(1, n_products + 1, len(oid))
    qty = rng.integers(1, 4, len(oid))
    qty[rng.random(len(oid)) < 0.02] = -1  # a few returns
    price = products.set_index("product_id")["price"]
    unit = [price[p] for p in pid]
    lines = pd.DataFrame({"order_id": oid, "line_no": line_no, "product_id": pid,
                          "quantity": qty, "unit_price": unit,
                          "amount": [u * int(q) for u, q in zip(unit, qty)]})
    totals = lines.groupby("order_id")["amount"].sum()
    orders["total"] = orders["order_id"].map(totals)
    ev_n = 3000
    ev_c = rng.choice(ids, ev_n)
    ev_at = t0 + pd.to_timedelta(rng.integers(0, int((pd.Timestamp("2024-07-01") - t0)
                                                     .total_seconds()), ev_n), unit="s")
    events = pd.DataFrame({"customer_id": np.concatenate([ev_c, ids[n_customers:]]),
                           "event_type": np.concatenate([
                               rng.choice(np.array(EVENT_TYPES, dtype=object), ev_n),
                               np.array(["visit"] * n_edge, dtype=object)]),
                           "occurred_at": pd.Series(list(ev_at.to_pydatetime()) + edges,
                                                    dtype="datetime64[us]"),
                           "properties": None})
    return {"customers": customers, "stores": stores, "products": products, "orders": orders,
            "order_lines": lines, "events": events}


_DDL = {
    "customers": """customer_id BIGINT PRIMARY KEY, first_name VARCHAR, last_name VARCHAR,
        email VARCHAR, phone VARCHAR, birth_date DATE, gender VARCHAR, city VARCHAR,
        country VARCHAR, postal_code VARCHAR, registered_at TIMESTAMP, customer_type VARCHAR,
        source VARCHAR, subscribed BOOLEAN, loyalty_points BIGINT, score DECIMAL(18,2),
        interests VARCHAR[]""",
    "stores": "store_id BIGINT, name VARCHAR, city VARCHAR, country VARCHAR, channel VARCHAR",
    "products": """product_id BIGINT, sku VARCHAR, name VARCHAR, category VARCHAR,
        brand VARCHAR, tags VARCHAR[], price DECIMAL(18,2)""",
    "orders": """order_id BIGINT, customer_id BIGINT, store_id BIGINT, ordered_at TIMESTAMP,
        total DECIMAL(18,2), offer_code VARCHAR""",
    "order_lines": """order_id BIGINT, line_no INTEGER, product_id BIGINT, quantity INTEGER,
        unit_price DECIMAL(18,2), amount DECIMAL(18,2), customer_id BIGINT, store_id BIGINT,
        ordered_at TIMESTAMP""",
    "events": """customer_id BIGINT, event_type VARCHAR, occurred_at TIMESTAMP,
        properties VARCHAR""",
}


def build(path, seed: int = 7, mutate=None) -> "segjupyter.Workspace":
    """Write the hand-made tables into a new workspace at ``path`` and open it; ``mutate``
    may change the DataFrames first (``mutate(tables)``)."""
    data = tables(seed)
    if mutate is not None:
        mutate(data)
    ws = segjupyter.open(path)
    with ws.storage.replace_retail() as con:
        for name, df in data.items():
            con.execute(f"CREATE TABLE retail_new.{name} ({_DDL[name]})")
            cols = list(df.columns)
            src = df
            if name == "order_lines":
                o = data["orders"][["order_id", "customer_id", "store_id", "ordered_at"]]
                src = df.merge(o, on="order_id", how="left")
                cols = cols + ["customer_id", "store_id", "ordered_at"]
            con.register("_src", src)
            con.execute(f"INSERT INTO retail_new.{name} ({', '.join(cols)}) "
                        f"SELECT {', '.join(cols)} FROM _src")
            con.unregister("_src")
    ws._registry = None
    ws.default_as_of = DEFAULT_AS_OF
    return ws


def edge_customer(instant: dt.datetime, n_customers: int = 400) -> int:
    """Id of the edge customer whose only order (and visit) is at ``instant``."""
    return n_customers + 1 + edge_instants().index(instant)
