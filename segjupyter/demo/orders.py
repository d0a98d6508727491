"""Orders and their lines, vectorised: no Python loop runs per order or per line.

Each buyer places ``1 + Poisson(k * propensity * active mass)`` orders: new customers' first
order falls on their acquisition day, the others on days drawn from the channel's calendar
inside the customer's active span. Lines pick the customer's favourite products or popular
ones (gift boxes before Christmas); offer codes discount every line; a few orders are later
returned (a negative order repeating one line).

The tables come out as columns (:func:`~segjupyter.demo.text.to_frame` /
:func:`~segjupyter.demo.text.to_arrow` make DataFrames or Arrow tables of them), by order id
(time order), or ``by_customer`` (each customer's orders together, in time order, and lines
likewise: the order the loader stores them in, so its sort has little to do; the same rows
either way, the lines' ids then as int32).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import draws
from .calendar import DAY, Calendar, black_fridays, time_order, to_timestamps
from .catalogue import Products, Stores
from .population import APP, STORE, WEB, Population
from .reference import CHANNELS, OFFER_CODES, REFERENCE_DATE, START_DATE, Size
from .text import Coded

RETURN_RATE = 0.003
FAVOURITES = 4


@dataclass
class Orders:
    orders: dict             # column name -> array or Coded
    order_lines: dict
    customer: np.ndarray     # customer index of each order, in order id (time) order
    seconds: np.ndarray      # order instant, seconds from the start
    channel: np.ndarray      # STORE / WEB / APP
    total_cents: np.ndarray


_pick = draws.pick


def _favourites(rng, pop: Population, products: Products) -> np.ndarray:
    """``FAVOURITES`` products per customer: half from one favourite category."""
    fav = np.empty((pop.n, FAVOURITES), dtype=np.int64)
    cdf = np.cumsum(products.popularity)
    fav[:, 2:] = _pick(rng, cdf, pop.n * (FAVOURITES - 2)).reshape(pop.n, -1)
    cat_of_customer = products.category[_pick(rng, cdf, pop.n)]
    for ci in np.unique(products.category):
        members = np.flatnonzero(products.category == ci)
        who = np.flatnonzero(cat_of_customer == ci)
        w = products.popularity[members]
        picks = _pick(rng, np.cumsum(w / w.sum()), len(who) * 2)
        fav[who, :2] = members[picks].reshape(-1, 2)
    return fav


def draw_orders(rng: np.random.Generator, size: Size, cal: Calendar, pop: Population,
                stores: Stores, products: Products, by_customer: bool = False) -> Orders:
    # -- how many orders, whose, on which channel ----------------------------------------
    weight = pop.propensity * cal.mass("all", pop.start, pop.end) * pop.buyer
    n_buyers = int(pop.buyer.sum())
    k = max(size.orders - n_buyers, 0) / weight.sum()
    counts = np.where(pop.buyer, 1 + rng.poisson(k * weight), 0)
    P = int(counts.sum())
    cust = np.repeat(np.arange(pop.n), counts)
    first = np.zeros(P, bool)
    first[(np.cumsum(counts) - counts)[pop.buyer]] = True
    forced = first & ~pop.existing[cust]  # a new customer's first order opens their span

    pref = pop.channel[cust]
    other = (pref + rng.integers(1, 3, P)) % 3
    channel = np.where(rng.random(P) < 0.78, pref, other)
    a, e = pop.start[cust], pop.end[cust]
    day = np.where(forced, a, 0)
    # no app before its launch, no store on a day the stores are closed: buy on the web
    no_app = np.where(forced, a < cal.app_launch_day, cal.mass("app", a, e) <= 0)
    channel[(channel == APP) & no_app] = WEB
    no_store = np.where(forced, cal.rate["store"][a] <= 0, cal.mass("store", a, e) <= 0)
    channel[(channel == STORE) & no_store] = WEB
    seconds = np.empty(P, dtype=np.int64)
    for ci, name in enumerate(CHANNELS):
        m = channel == ci
        free = m & ~forced
        day[free] = cal.draw_days(rng, name, a[free], e[free])
        seconds[m] = day[m] * DAY + cal.draw_seconds_of_day(rng, name, int(m.sum()))

    store_id = np.where(channel == WEB, stores.web, stores.app).astype(np.int64)
    is_store = channel == STORE
    wander = is_store & (rng.random(P) < 0.15)
    store_id[is_store] = pop.home_store[cust[is_store]]
    store_id[wander] = stores.physical[_pick(rng, np.cumsum(stores.weight), int(wander.sum()))]
    del pref, other, e, no_app, no_store, m, free, is_store, wander

    # -- offer codes -----------------------------------------------------------------------
    # small dtypes: these are repeated per line below (30M lines at L)
    month, dom = cal.month[day].astype(np.int8), cal.dom[day].astype(np.int8)
    bf_days = np.concatenate([(bf - cal.dates[0]).astype(int) + np.arange(4) for bf in
                              black_fridays(range(START_DATE.year, REFERENCE_DATE.year + 1))])
    codes = list(OFFER_CODES)
    code = np.full(P, -1)
    rules = [
        (forced, 0.35, "WELCOME"),
        (np.isin(day, bf_days), 0.55, "BF25"),
        ((month == 11) & (dom <= 24), 0.22, "XMAS"),
        ((month == 6) | (month == 7), 0.28, "SUMMER10"),
        (((month == 3) & (dom >= 15)) | ((month == 4) & (dom <= 15)), 0.20, "SPRING10"),
        (channel == APP, 0.15, "APP5"),
        (pop.source[cust] == 2, 0.06, "FRIENDS20"),  # referral customers
    ]
    for mask, p, c in rules:
        code[(code < 0) & mask & (rng.random(P) < p)] = codes.index(c)
    pct = np.where(code >= 0, np.asarray([OFFER_CODES[c] for c in codes])[code], 0
                   ).astype(np.int16)
    del rules, mask, a, day

    # -- lines -----------------------------------------------------------------------------
    # 30M lines at L: per-order flags are repeated per line (not per-line copies of order
    # columns), uniforms are drawn in chunks (draws.py) and products computed in place
    n_lines = 1 + rng.poisson(1.9, P) + np.where(pop.business[cust], rng.poisson(2.0, P), 0)
    n_lines = np.minimum(n_lines, 12)
    L = int(n_lines.sum())
    line_order = np.repeat(np.arange(P, dtype=np.int32), n_lines)
    fav = _favourites(rng, pop, products)
    product = _pick(rng, np.cumsum(products.popularity), L)
    loyal = np.flatnonzero(draws.below(rng, L, 0.45))
    slot = cust[line_order[loyal]] * FAVOURITES  # fav[customer, k] of the flat array
    slot += rng.integers(0, FAVOURITES, len(loyal))
    product[loyal] = fav.ravel()[slot]
    del slot
    del loyal, fav
    gift_season = ((month == 10) & (dom >= 20)) | ((month == 11) & (dom <= 24))
    gifted = np.flatnonzero(gift_season[line_order] & draws.below(rng, L, 0.20))
    del gift_season
    product[gifted] = products.gifts[rng.integers(0, len(products.gifts), len(gifted))]
    del gifted
    qty = draws.choice(rng, np.array([1, 2, 3, 4, 6]), L, [0.78, 0.15, 0.04, 0.02, 0.01])
    np.multiply(qty, rng.integers(2, 5, L), out=qty, where=pop.business[cust][line_order])
    unit = products.price_cents[product]
    unit *= (100 - pct)[line_order]
    unit += 50
    unit //= 100
    del line_order
    amount = qty * unit
    starts = np.cumsum(n_lines) - n_lines
    total = np.add.reduceat(amount, starts)

    # -- returns: a later negative order repeating one line of a past order ----------------
    R = int(round(P * RETURN_RATE))
    src = np.sort(rng.choice(P, R, replace=False))
    src_line = starts[src] + rng.integers(0, n_lines[src])
    r_seconds = seconds[src] + rng.integers(1, 31, R) * DAY
    keep = r_seconds <= cal.end_second
    src, src_line, r_seconds = src[keep], src_line[keep], r_seconds[keep]
    R = len(src)

    # -- all orders by time; ids follow time ------------------------------------------------
    by_time = time_order(np.concatenate([seconds, r_seconds]))

    def timed(values, returned):  # an order column in time (order id) order
        return np.concatenate([values, returned])[by_time]

    all_seconds = timed(seconds, r_seconds)
    all_cust = timed(cust, cust[src])
    all_channel = timed(channel, channel[src])
    all_total = timed(total, -amount[src_line])
    # the output rows: by order id, or by customer (a stable sort keeps time order). Each
    # output column is gathered once from the generated arrays, which are customer by
    # customer: by_customer, nearly in sequence
    if by_customer:
        rows = time_order(all_cust)
        pick = by_time[rows]
        order_id = rows + 1
        del rows
    else:
        pick = by_time
        order_id = np.arange(1, P + R + 1, dtype=np.int64)

    def out(values, returned, in_time_order=None):
        if in_time_order is not None and not by_customer:
            return in_time_order
        return np.concatenate([values, returned])[pick]

    orders = {
        "order_id": order_id,
        "customer_id": out(cust, cust[src], all_cust) + 1,
        "store_id": out(store_id, store_id[src]),
        "ordered_at": to_timestamps(out(seconds, r_seconds, all_seconds)),
        "total": out(total, -amount[src_line], all_total) / 100.0,
        "offer_code": Coded(codes, out(code, np.full(R, -1))),  # -1: no code
    }
    del cust, store_id, channel, code, total, amount

    # lines by order: each order's lines are contiguous in the generated arrays (the returns'
    # one line after them all), so lay out their ranges in output order (the permutation a
    # stable argsort of the lines' output order gives, in O(n))
    n_all = out(n_lines, np.ones(R, dtype=n_lines.dtype))
    first_line = out(starts, L + np.arange(R))
    del by_time, pick, n_lines, starts
    group_start = np.cumsum(n_all) - n_all
    line_no = np.arange(L + R, dtype=np.int64)
    line_no -= np.repeat(group_start, n_all)
    line_sort = np.repeat(first_line, n_all)
    line_sort += line_no
    # by_customer (for the loader): the lines' ids as int32, 240 MB less at L (loaded as
    # BIGINT all the same)
    ids = np.int32 if by_customer and P + R < 2**31 else np.int64
    oid = np.repeat(order_id.astype(ids, copy=False), n_all)
    # a return's line is its order's only line: taken from the returned arrays
    returns = first_line >= L
    ret_at, ret_of = group_start[returns], first_line[returns] - L
    line_sort[ret_at] = 0
    del n_all, first_line, group_start, returns

    def by_order(values, returned):
        laid = values[line_sort]
        laid[ret_at] = returned[ret_of]
        return laid

    l_qty = by_order(qty, -qty[src_line]).astype(np.int32)
    del qty
    l_unit = by_order(unit, unit[src_line])
    del unit
    l_product = by_order(product, product[src_line])
    del product, line_sort
    l_product += 1
    l_product = l_product.astype(ids, copy=False)
    line_no += 1
    order_lines = {
        "order_id": oid,
        "line_no": line_no.astype(np.int32),
        "product_id": l_product,
        "quantity": l_qty,
        "unit_price": l_unit / 100.0,
        "amount": (l_qty * l_unit) / 100.0,
    }
    return Orders(orders, order_lines, all_cust, all_seconds, all_channel, all_total)
