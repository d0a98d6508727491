"""Assemble the demo dataset from its parts (see :func:`segjupyter.demo.generate`)."""

from __future__ import annotations

import numpy as np

from ..errors import SegjupyterError
from .calendar import START_DAY, Calendar
from .catalogue import make_products, make_stores
from .events import make_events
from .orders import draw_orders
from .people import make_customers
from .population import draw_population
from .reference import SIZES
from .text import to_arrow, to_frame


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


def generate_dataset(size: str = "S", seed: int = 42, step=None, *,
                     for_load: bool = False) -> dict:
    """The demo frames; ``step(message)`` is called after each of the GENERATE_STEPS parts.

    ``for_load=True`` (the build) gives the same rows, leaner, for the loader: orders, lines
    and events as Arrow tables with text as dictionary arrays, orders and lines in customer
    order (the order they are stored in: the loader's sort then costs little) with int32
    line ids, and the events
    as a function that makes them when called (the loader calls it once the lines are
    written and freed)."""
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
    orders = draw_orders(streams[2], spec, cal, pop, stores, products, by_customer=for_load)
    step(f"{len(orders.orders['order_id']):,} orders, "
         f"{len(orders.order_lines['order_id']):,} lines")
    customers = make_customers(streams[3], pop, orders)
    step("customer details")
    table = to_arrow if for_load else to_frame
    out = {"customers": customers, "stores": stores.frame, "products": products.frame,
           "orders": table(orders.orders), "order_lines": table(orders.order_lines)}
    # only the tables hold them now; the events need the orders' customers, instants and
    # channels only
    orders.orders = orders.order_lines = orders.total_cents = None
    registered = ((customers["registered_at"].to_numpy().astype("datetime64[s]")
                   - START_DAY.astype("datetime64[s]")).astype(np.int64))
    todo = [(streams[4], cal, pop, orders, customers["subscribed"].to_numpy(),
             customers["email"].notna().to_numpy(), registered,
             products.frame["sku"].to_numpy(dtype=object), products.popularity)]

    def events():
        rng, cal_, pop_, orders_, subscribed, has_email, reg, skus, popularity = todo.pop()
        columns = make_events(rng, cal_, pop_, orders_, subscribed=subscribed,
                              has_email=has_email, registered=reg, skus=skus,
                              popularity=popularity)
        step(f"{len(columns['customer_id']):,} events")
        return table(columns)

    # made once; the function lets go of the orders' arrays when it has run
    out["events"] = events if for_load else events()
    return out
