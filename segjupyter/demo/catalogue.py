"""The demo shop's stores and products."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .reference import BRANDS, CATEGORIES, CITIES, ONLINE_STORES


@dataclass
class Stores:
    frame: pd.DataFrame
    physical: np.ndarray      # store ids of the physical stores
    weight: np.ndarray        # share of walk-in traffic of each physical store
    web: int
    app: int
    by_city: dict[str, np.ndarray]  # city -> its store ids


def make_stores() -> Stores:
    """~25 stores in Spanish, Portuguese and French cities, then the web shop and the app."""
    rows = []
    by_city: dict[str, list[int]] = {}
    weight = []
    for city, (country, share, _postal, names) in CITIES.items():
        for k, name in enumerate(names):
            sid = len(rows) + 1
            rows.append((sid, name, city, country, "store"))
            by_city.setdefault(city, []).append(sid)
            weight.append(share / len(names) * (1.4 if k == 0 else 1.0))  # flagship busier
    physical = np.arange(1, len(rows) + 1)
    for name, channel in ONLINE_STORES:
        rows.append((len(rows) + 1, name, None, None, channel))
    frame = pd.DataFrame(rows, columns=["store_id", "name", "city", "country", "channel"])
    frame["store_id"] = frame["store_id"].astype("int64")
    w = np.asarray(weight)
    return Stores(frame, physical, w / w.sum(), web=len(rows) - 1, app=len(rows),
                  by_city={c: np.asarray(v) for c, v in by_city.items()})


@dataclass
class Products:
    frame: pd.DataFrame
    price_cents: np.ndarray   # by product index (product_id - 1)
    category: np.ndarray      # category index by product index
    popularity: np.ndarray    # sums to 1
    gifts: np.ndarray         # product indexes of the Gifts category


def make_products(rng: np.random.Generator, n: int) -> Products:
    """``n`` products: sku, name, category, brand (with category affinity), tags, price."""
    cats = list(CATEGORIES)
    share = np.array([CATEGORIES[c][0] for c in cats])
    cat = rng.choice(len(cats), size=n, p=share / share.sum())
    cat.sort(kind="stable")  # catalogue grouped by category, as a shop lists it
    brands = list(BRANDS)
    brand = np.empty(n, dtype=np.int64)
    item = np.empty(n, dtype=object)
    size_label = np.empty(n, dtype=object)
    price = np.empty(n)
    for ci, c in enumerate(cats):
        idx = np.flatnonzero(cat == ci)
        makers = [b for b, made in BRANDS.items() if c in made]
        bw = np.array([1.0 / len(BRANDS[b]) for b in makers])  # specialists make more of it
        brand[idx] = [brands.index(makers[k]) for k in rng.choice(len(makers), len(idx),
                                                                  p=bw / bw.sum())]
        _share, median, items, sizes = CATEGORIES[c]
        item[idx] = np.asarray(items, dtype=object)[rng.integers(0, len(items), len(idx))]
        sz = rng.integers(0, len(sizes), len(idx))
        size_label[idx] = np.asarray([s for s, _ in sizes], dtype=object)[sz]
        mult = np.asarray([m for _, m in sizes])[sz]
        price[idx] = median * mult * rng.lognormal(0.0, 0.3, len(idx))
    # shop prices: whole euros minus 1, 5 or 50 cents (4.99, 12.95, 19.50)
    ending = rng.choice(np.array([1, 5, 50]), n, p=[0.6, 0.3, 0.1])
    price_cents = np.maximum(np.round(price).astype(np.int64) * 100 - ending, 95)

    popularity = 1.0 / (rng.permutation(n) + 8.0) ** 0.9  # Zipf-like, random order
    popularity /= popularity.sum()
    rank = np.argsort(-popularity)
    brand_names = np.asarray(brands, dtype=object)[brand]
    cat_names = np.asarray(cats, dtype=object)[cat]

    organic = rng.random(n) < np.where(np.isin(brand_names, ["Verde", "Bosque"]), 0.7, 0.12)
    vegan = rng.random(n) < np.where(np.isin(cat_names, ["Tea", "Infusions", "Coffee"]), 0.35,
                                     0.06)
    gift = (cat_names == "Gifts") | (rng.random(n) < 0.04)
    limited = rng.random(n) < 0.05
    new = rng.random(n) < 0.08
    bestseller = np.zeros(n, bool)
    bestseller[rank[: max(1, n // 15)]] = True
    fair = rng.random(n) < np.where(np.isin(cat_names, ["Coffee", "Chocolate"]), 0.3, 0.03)
    sugar_free = rng.random(n) < np.where(np.isin(cat_names, ["Biscuits", "Chocolate"]), 0.1,
                                          0.0)
    flags = [("bestseller", bestseller), ("new", new), ("gift", gift), ("limited", limited),
             ("organic", organic), ("vegan", vegan), ("fair-trade", fair),
             ("sugar-free", sugar_free)]
    matrix = np.column_stack([f for _, f in flags])
    names = [t for t, _ in flags]
    tags = [[names[j] for j in np.flatnonzero(row)][:3] for row in matrix]  # products only

    prefix = np.asarray([c[:3].upper() for c in cats], dtype=object)[cat]
    ids = np.arange(1, n + 1, dtype=np.int64)
    sku = pd.Series(prefix) + "-" + pd.Series(ids).astype(str).str.zfill(5)
    name = (pd.Series(brand_names) + " " + pd.Series(item) + " " + pd.Series(size_label)
            ).str.strip()
    frame = pd.DataFrame({
        "product_id": ids, "sku": sku, "name": name, "category": cat_names.astype(str),
        "brand": brand_names.astype(str), "tags": tags, "price": price_cents / 100.0,
    })
    return Products(frame, price_cents, cat, popularity,
                    gifts=np.flatnonzero(cat_names == "Gifts"))
