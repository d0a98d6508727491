"""Assemble the demo dataset from its parts (see :func:`segjupyter.demo.generate`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SegjupyterError
from .calendar import START_DAY, Calendar
from .catalogue import make_products, make_stores
from .events import make_events
from .orders import draw_orders
from .people import make_customers
from .population import draw_population
from .reference import SIZES


def check_size(size: str) -> str:
    key = str(size).upper()
    if key not in SIZES:
        raise SegjupyterError(f"unknown demo size {size!r}: use one of "
                              f"{', '.join(SIZES)} (S ≈ 10k customers, M ≈ 100k, L ≈ 1M)")
    return key


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SegjupyterError(f"demo seed must be a non-negative integer, not {seed!r}")
    return int(seed)


#: Steps of :func:`generate_dataset` reported to ``step`` (for a progress bar).
GENERATE_STEPS = 4


def generate_dataset(size: str = "S", seed: int = 42, step=None) -> dict[str, pd.DataFrame]:
    """The demo frames; ``step(message)`` is called after each of the GENERATE_STEPS parts."""
    size, seed = check_size(size), check_seed(seed)
    step = step or (lambda message: None)
    spec = SIZES[size]
    # one independent stream per part, so changing one part leaves the others as they were
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    cal = Calendar()
    stores = make_stores()
    products = make_products(streams[0], spec.products)
    pop = draw_population(streams[1], spec, cal, stores)
    step(f"{spec.customers:,} customers drawn")
    orders = draw_orders(streams[2], spec, cal, pop, stores, products)
    step(f"{len(orders.orders):,} orders, {len(orders.order_lines):,} lines")
    customers = make_customers(streams[3], pop, orders)
    step("customer details")
    registered = ((customers["registered_at"].to_numpy().astype("datetime64[s]")
                   - START_DAY.astype("datetime64[s]")).astype(np.int64))
    events = make_events(streams[4], cal, pop, orders,
                         subscribed=customers["subscribed"].to_numpy(),
                         has_email=customers["email"].notna().to_numpy(),
                         registered=registered,
                         skus=products.frame["sku"].to_numpy(dtype=object),
                         popularity=products.popularity)
    step(f"{len(events):,} events")
    return {"customers": customers, "stores": stores.frame, "products": products.frame,
            "orders": orders.orders, "order_lines": orders.order_lines, "events": events}
