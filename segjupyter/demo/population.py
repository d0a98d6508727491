"""Who the demo customers are and when they shop.

The population is drawn before any order: city, channel preference, home store, whether and
when the customer starts buying (the acquisition day), when they lapse, and a heavy-tailed
buying propensity (gamma): most customers buy once or twice, a few buy every week.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import N_DAYS, Calendar
from .catalogue import Stores
from .reference import CITIES, Size

SOURCES = ("store", "web", "referral", "social")
STORE, WEB, APP = 0, 1, 2


@dataclass
class Population:
    n: int
    city: np.ndarray          # index into CITIES
    business: np.ndarray      # bool
    buyer: np.ndarray         # bool: places at least one order
    existing: np.ndarray      # bool: registered before the data starts
    channel: np.ndarray       # preferred channel: STORE / WEB / APP
    source: np.ndarray        # index into SOURCES
    home_store: np.ndarray    # store id
    start: np.ndarray         # first active day (acquisition)
    end: np.ndarray           # day after the last active day (lapse or reference date)
    propensity: np.ndarray    # relative buying rate


def draw_population(rng: np.random.Generator, size: Size, cal: Calendar,
                    stores: Stores) -> Population:
    n = size.customers
    names = list(CITIES)
    share = np.array([CITIES[c][1] for c in names])
    city = rng.choice(len(names), n, p=share / share.sum())
    has_store = np.array([bool(CITIES[c][3]) for c in names])[city]
    business = rng.random(n) < 0.04
    buyer = rng.random(n) < 0.92
    existing = buyer & (rng.random(n) < 0.40)

    # customers near a store mostly shop there; the others mostly online
    u = rng.random(n)
    p_store = np.where(has_store, 0.62, 0.10)
    p_web = np.where(has_store, 0.28, 0.65)
    channel = np.where(u < p_store, STORE, np.where(u < p_store + p_web, WEB, APP))
    src_p = np.array([[0.70, 0.12, 0.10, 0.08],   # by preferred channel: store, web, app
                      [0.10, 0.60, 0.12, 0.18],
                      [0.08, 0.42, 0.15, 0.35]])
    cum = np.cumsum(src_p, axis=1)[channel]
    source = (rng.random(n)[:, None] > cum).sum(axis=1)

    home_store = np.zeros(n, dtype=np.int64)
    countries = np.array([CITIES[c][0] for c in names])
    for ci, c in enumerate(names):
        mask = city == ci
        local = stores.by_city.get(c)
        if local is None:  # nearest thing: the flagship of the country's biggest city
            biggest = max((x for x in names if CITIES[x][0] == countries[ci] and CITIES[x][3]),
                          key=lambda x: CITIES[x][1])
            local = stores.by_city[biggest][:1]
        home_store[mask] = local[rng.integers(0, len(local), int(mask.sum()))]

    start = np.zeros(n, dtype=np.int64)
    new = buyer & ~existing
    start[new] = cal.draw_days(rng, "all", np.zeros(int(new.sum()), np.int64),
                               np.full(int(new.sum()), N_DAYS))
    loyal = rng.random(n) < 0.35
    life = 1 + rng.exponential(420.0, n).astype(np.int64)
    end = np.where(loyal, N_DAYS, np.minimum(N_DAYS, start + life))
    propensity = rng.gamma(0.55, 1.0, n) * np.where(business, 1.5, 1.0)
    return Population(n, city, business, buyer, existing, channel, source, home_store,
                      start, end, propensity)
