"""The customers table: identities, contact data, demographics and custom fields, drawn
after the orders so that registration precedes the first order, subscription follows buying
frequency and the loyalty tier follows spend. Contact strings are built with Arrow compute
functions (1M customers at L: ~0.3 s instead of ~3 s of pandas string operations)."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .calendar import DAY, END_SECOND, to_timestamps
from .orders import Orders
from .population import SOURCES, Population
from .reference import (CHANNELS, CITIES, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, PHONE_PREFIX,
                        REFERENCE_DATE)
from .text import Coded, labels

#: Lifetime net spend (EUR) at which each loyalty tier starts.
LOYALTY_TIERS = (("platinum", 2000), ("gold", 800), ("silver", 250), ("bronze", float("-inf")))
SUBSCRIBED_SHARE = 0.45


def _ascii(s: str) -> str:
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return s.lower().replace(" ", "").replace("'", "")


def _digits(rng, n: int, k: int) -> pa.Array:
    """``n`` random ``k``-digit strings, zero-padded."""
    return pc.utf8_lpad(pa.array(rng.integers(0, 10 ** k, n)).cast(pa.string()), k, "0")


def _join(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays and constants."""
    return pc.binary_join_element_wise(*parts, "")


def _fill(pattern: str, digits: pa.Array) -> pa.Array:
    """``"1###-###"`` with each ``#`` replaced by the next digit of ``digits``."""
    parts, j = [], 0
    for run in re.findall(r"#+|[^#]+", pattern):  # one string operation per run, not per digit
        if run[0] == "#":
            parts.append(pc.utf8_slice_codeunits(digits, j, j + len(run)))
            j += len(run)
        else:
            parts.append(run)
    return _join(*parts) if len(parts) > 1 else pc.cast(parts[0], pa.string())


def _text(values: pa.Array, missing: np.ndarray | None = None):
    """A pandas ``str`` array of ``values``, missing where ``missing``."""
    if missing is not None:
        values = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), values)
    return pd.array(values, dtype="str")


def _names(rng, pop: Population, female: np.ndarray):
    n = pop.n
    countries = list(dict.fromkeys(CITIES[c][0] for c in CITIES))
    country = np.array([countries.index(CITIES[c][0]) for c in CITIES], np.int8)[pop.city]
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    first_a = np.empty(n, dtype=object)
    last_a = np.empty(n, dtype=object)
    for c, (fem, mal) in FIRST_NAMES.items():
        for names, mask in ((fem, female), (mal, ~female)):
            who = np.flatnonzero((country == countries.index(c)) & mask)
            k = rng.integers(0, len(names), len(who))
            first[who] = np.asarray(names, dtype=object)[k]
            first_a[who] = np.asarray([_ascii(x) for x in names], dtype=object)[k]
        who = np.flatnonzero(country == countries.index(c))
        surnames = np.asarray(LAST_NAMES[c], dtype=object)
        k1 = rng.integers(0, len(surnames), len(who))
        last[who] = surnames[k1]
        last_a[who] = np.asarray([_ascii(x) for x in surnames], dtype=object)[k1]
        if c == "Spain":  # two surnames, mostly
            two = rng.random(len(who)) < 0.7
            k2 = rng.integers(0, len(surnames), int(two.sum()))
            last[who[two]] = last[who[two]] + " " + surnames[k2]
    return Coded(countries, country), first, last, first_a, last_a


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

    domain = pa.array(list(EMAIL_DOMAINS)).take(rng.integers(0, len(EMAIL_DOMAINS), n))
    email = _text(_join(pa.array(first_a, pa.string()), ".", pa.array(last_a, pa.string()),
                        pa.array(ids).cast(pa.string()), "@", domain),
                  rng.random(n) < 0.02)
    prefixes = pa.array([PHONE_PREFIX[CITIES[c][0]][0] for c in CITIES]).take(pop.city)
    d = _digits(rng, n, 8)
    phone = _text(_join(prefixes, pc.utf8_slice_codeunits(d, 0, 2), " ",
                        pc.utf8_slice_codeunits(d, 2, 5), " ", pc.utf8_slice_codeunits(d, 5, 8)),
                  rng.random(n) < 0.18)
    del d
    # each city's codes, then put back in customer order
    whos, codes = [], []
    for ci, (city, (_c, _s, pattern, _st)) in enumerate(CITIES.items()):
        who = np.flatnonzero(pop.city == ci)
        whos.append(who)
        codes.append(_fill(pattern, _digits(rng, len(who), pattern.count("#"))))
    where = np.empty(n, dtype=np.int64)
    where[np.concatenate(whos)] = np.arange(n)
    postal = _text(pa.concat_arrays(codes).take(where))

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
    # few distinct order counts: the logistic of each, then spread to customers (the same
    # values, so the same mean)
    x_values, x_of = np.unique(x, return_inverse=True)
    slope = 0.9 * x_values
    lo, hi = -10.0, 10.0  # intercept giving the wanted share; frequent buyers subscribe more
    for _ in range(50):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(mid + slope))))[x_of].mean() < SUBSCRIBED_SHARE:
            lo = mid
        else:
            hi = mid
    subscribed = u < (1 / (1 + np.exp(-(lo + slope))))[x_of]
    tier = np.select([spend >= t for _, t in LOYALTY_TIERS[:-1]],
                     range(len(LOYALTY_TIERS) - 1), len(LOYALTY_TIERS) - 1)

    return pd.DataFrame({
        "customer_id": ids,
        "first_name": pd.array(first, dtype="str"),
        "last_name": pd.array(last, dtype="str"),
        "email": email,
        "phone": phone,
        "birth_date": _birth_dates(rng, pop),
        "gender": pd.array(gender, dtype="str"),
        "city": labels(list(CITIES), pop.city),
        "country": country.labels(),
        "postal_code": postal,
        "registered_at": to_timestamps(registered),
        "customer_type": labels(("individual", "business"), pop.business.astype(np.int8)),
        "source": labels(SOURCES, pop.source),
        "subscribed": subscribed,
        "loyalty_tier": labels([name for name, _ in LOYALTY_TIERS], tier),
        "preferred_channel": labels(CHANNELS, pop.channel),
    })
