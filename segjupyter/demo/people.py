"""The customers table: identities, contact data, demographics and custom fields, drawn
after the orders so that registration precedes the first order, subscription follows buying
frequency and the loyalty tier follows spend."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from .calendar import DAY, END_SECOND, to_timestamps
from .orders import Orders
from .population import SOURCES, Population
from .reference import (CHANNELS, CITIES, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, PHONE_PREFIX,
                        REFERENCE_DATE)
from .text import labels

#: Lifetime net spend (EUR) at which each loyalty tier starts.
LOYALTY_TIERS = (("platinum", 2000), ("gold", 800), ("silver", 250), ("bronze", float("-inf")))
SUBSCRIBED_SHARE = 0.45


def _ascii(s: str) -> str:
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return s.lower().replace(" ", "").replace("'", "")


def _digits(rng, n: int, k: int) -> pd.Series:
    return pd.Series(rng.integers(0, 10 ** k, n)).astype(str).str.zfill(k)


def _fill(pattern: str, digits: pd.Series) -> pd.Series:
    """``"1###-###"`` with each ``#`` replaced by the next digit of ``digits``."""
    out = pd.Series("", index=digits.index)
    j = 0
    for run in re.findall(r"#+|[^#]+", pattern):  # one string operation per run, not per digit
        if run[0] == "#":
            out = out + digits.str[j:j + len(run)]
            j += len(run)
        else:
            out = out + run
    return out


def _names(rng, pop: Population, female: np.ndarray):
    n = pop.n
    country = np.array([CITIES[c][0] for c in CITIES])[pop.city]
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    first_a = np.empty(n, dtype=object)
    last_a = np.empty(n, dtype=object)
    for c, (fem, mal) in FIRST_NAMES.items():
        for names, mask in ((fem, female), (mal, ~female)):
            who = np.flatnonzero((country == c) & mask)
            k = rng.integers(0, len(names), len(who))
            first[who] = np.asarray(names, dtype=object)[k]
            first_a[who] = np.asarray([_ascii(x) for x in names], dtype=object)[k]
        who = np.flatnonzero(country == c)
        surnames = np.asarray(LAST_NAMES[c], dtype=object)
        k1 = rng.integers(0, len(surnames), len(who))
        last[who] = surnames[k1]
        last_a[who] = np.asarray([_ascii(x) for x in surnames], dtype=object)[k1]
        if c == "Spain":  # two surnames, mostly
            two = rng.random(len(who)) < 0.7
            k2 = rng.integers(0, len(surnames), int(two.sum()))
            last[who[two]] = last[who[two]] + " " + surnames[k2]
    return country, first, last, first_a, last_a


def _birth_dates(rng, pop: Population) -> pd.Series:
    n = pop.n
    ref = np.datetime64(REFERENCE_DATE.date(), "D")
    age = np.clip(rng.normal(42.0, 14.0, n), 18.05, 85.9)
    born = ref - (age * 365.2425).astype(np.int64)
    # a few leap-day birthdays, in a leap year of about their age
    leap = rng.random(n) < 0.0015
    year = born.astype("datetime64[Y]").astype(int) + 1970
    year = np.minimum(year - year % 4, 2008)
    born[leap] = np.array([np.datetime64(f"{y}-02-29") for y in year[leap]], dtype="datetime64[D]")
    out = pd.Series(born.astype("datetime64[s]"))
    out[pop.business | (rng.random(n) < 0.04)] = pd.NaT
    return out


def make_customers(rng: np.random.Generator, pop: Population, orders: Orders) -> pd.DataFrame:
    n = pop.n
    ids = np.arange(1, n + 1, dtype=np.int64)
    g = rng.random(n)
    gender = np.where(g < 0.52, "female", np.where(g < 0.97, "male", "other")).astype(object)
    gender[(g >= 0.985) | pop.business] = None
    female = (g < 0.52) | ((g >= 0.97) & (g < 0.9775))  # "other": either name list
    country, first, last, first_a, last_a = _names(rng, pop, female)

    domain = np.asarray(EMAIL_DOMAINS, dtype=object)[rng.integers(0, len(EMAIL_DOMAINS), n)]
    email = (pd.Series(first_a) + "." + pd.Series(last_a) + pd.Series(ids).astype(str) + "@"
             + pd.Series(domain))
    email[rng.random(n) < 0.02] = None
    prefixes = pd.Series([PHONE_PREFIX[c][0] for c in country])
    d = _digits(rng, n, 8)
    phone = prefixes + d.str[:2] + " " + d.str[2:5] + " " + d.str[5:]
    phone[rng.random(n) < 0.18] = None
    postal = pd.Series("", index=range(n))
    for ci, (city, (_c, _s, pattern, _st)) in enumerate(CITIES.items()):
        who = np.flatnonzero(pop.city == ci)
        digits = _digits(rng, len(who), pattern.count("#"))
        postal.iloc[who] = _fill(pattern, digits).to_numpy()

    # registration precedes the first order: minutes before (sign-up at the till or the
    # checkout) or days before; customers from before the data registered earlier still
    # first order of each customer: orders are in time order, so the first occurrence
    # (assigning in reverse, the last write wins; no sort)
    first_order = np.zeros(n, dtype=np.int64)
    first_order[orders.customer[::-1]] = orders.seconds[::-1]
    quick = rng.random(n) < 0.55
    delay = np.where(quick, rng.integers(60, 1200, n),
                     60 + (rng.exponential(25.0, n) * DAY).astype(np.int64))
    registered = first_order - delay
    old = pop.existing
    registered[old] = -rng.integers(DAY, 4 * 365 * DAY, int(old.sum()))
    never = ~pop.buyer
    registered[never] = rng.integers(-2 * 365 * DAY, END_SECOND - 3600, int(never.sum()))

    n_orders = np.bincount(orders.customer, minlength=n)
    spend = np.bincount(orders.customer, weights=orders.total_cents, minlength=n) / 100.0
    x = np.log1p(n_orders)
    u = rng.random(n)
    lo, hi = -10.0, 10.0  # intercept giving the wanted share; frequent buyers subscribe more
    for _ in range(50):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(mid + 0.9 * x)))).mean() < SUBSCRIBED_SHARE:
            lo = mid
        else:
            hi = mid
    subscribed = u < 1 / (1 + np.exp(-(lo + 0.9 * x)))
    tier = np.select([spend >= t for _, t in LOYALTY_TIERS[:-1]],
                     [name for name, _ in LOYALTY_TIERS[:-1]], LOYALTY_TIERS[-1][0])

    return pd.DataFrame({
        "customer_id": ids,
        "first_name": pd.array(first, dtype="str"),
        "last_name": pd.array(last, dtype="str"),
        "email": email.astype("str"),
        "phone": phone.astype("str"),
        "birth_date": _birth_dates(rng, pop),
        "gender": pd.array(gender, dtype="str"),
        "city": labels(list(CITIES), pop.city),
        "country": pd.array(country.astype(object), dtype="str"),
        "postal_code": postal.astype("str"),
        "registered_at": to_timestamps(registered),
        "customer_type": labels(("individual", "business"), pop.business.astype(np.int8)),
        "source": labels(SOURCES, pop.source),
        "subscribed": subscribed,
        "loyalty_tier": pd.array(tier.astype(object), dtype="str"),
        "preferred_channel": labels(CHANNELS, pop.channel),
    })
