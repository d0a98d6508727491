"""Events: e-mail campaigns (sent, opened, clicked) and web/app sessions (visits and page
views). Engaged customers (high buying propensity) open and click more; every online order
starts with a visit. Total events stay around 2-3 times the orders."""

from __future__ import annotations

import numpy as np

from .calendar import DAY, N_DAYS, START_DAY, Calendar, time_order, to_timestamps
from .draws import pick
from .orders import Orders
from .population import APP, STORE, Population
from .text import Coded

SENT_PER_ORDER = 0.6      # e-mails sent, relative to the number of orders
BROWSE_PER_ORDER = 0.4    # visits without an order, relative to online orders

KINDS = ("email_sent", "email_open", "email_click", "visit", "page_view")
THEMES = {1: "rebajas", 2: "valentines", 7: "summer-sale", 11: "black-friday",
          12: "christmas-gifts"}


def _campaigns() -> list[tuple[int, str]]:
    """(send instant in seconds, campaign name): first Tuesday and third Thursday of each
    month, 10:00."""
    out = []
    months = np.arange(START_DAY.astype("datetime64[M]"),
                       (START_DAY + N_DAYS).astype("datetime64[M]") + 1)
    for m in months:
        d0 = m.astype("datetime64[D]")
        wd = (d0.astype(int) + 3) % 7
        tue = d0 + (1 - wd) % 7
        thu = d0 + (3 - wd) % 7 + 14
        month = int(m.astype(int) % 12) + 1
        for k, day in enumerate((tue, thu)):
            offset = int((day - START_DAY).astype(int))
            if 0 <= offset < N_DAYS:
                theme = THEMES.get(month, "newsletter") if k == 1 else "newsletter"
                out.append((offset * DAY + 10 * 3600, f"{day}-{theme}"))
    return out


def make_events(rng: np.random.Generator, cal: Calendar, pop: Population, orders: Orders,
                subscribed: np.ndarray, has_email: np.ndarray, registered: np.ndarray,
                skus: np.ndarray, popularity: np.ndarray) -> dict:
    """The events' columns, in time order; ``registered`` holds registration instants in
    seconds from the start."""
    engagement = np.argsort(np.argsort(pop.propensity)) / max(pop.n - 1, 1)
    parts_c, parts_t, parts_k, parts_p = [], [], [], []
    # event types and properties are codes into these vocabularies until the very end
    campaigns = _campaigns()
    props_vocab = ([f'{{"campaign": "{name}"}}' for _, name in campaigns]
                   + ['{"channel": "app"}', '{"channel": "web"}']
                   + [f'{{"page": "/products/{s}"}}' for s in skus])
    app_prop, web_prop, page0 = len(campaigns), len(campaigns) + 1, len(campaigns) + 2

    def add(cust, sec, kind, props):
        parts_c.append(cust)
        parts_t.append(sec)
        parts_k.append(np.full(len(cust), KINDS.index(kind), dtype=np.int8))
        parts_p.append(props)

    # -- e-mail campaigns --------------------------------------------------------------------
    reachable = subscribed & has_email
    eligible = sum(int((reachable & (registered < t)).sum()) for t, _ in campaigns)
    share = min(1.0, SENT_PER_ORDER * len(orders.seconds) / max(eligible, 1))
    sent_c, sent_t, sent_p = [], [], []
    for k, (t, _name) in enumerate(campaigns):
        who = np.flatnonzero(reachable & (registered < t))
        who = who[rng.random(len(who)) < share]
        sent_c.append(who)
        sent_t.append(np.full(len(who), t, dtype=np.int64) + rng.integers(0, 900, len(who)))
        sent_p.append(np.full(len(who), k, dtype=np.int32))
    sc, st, sp = np.concatenate(sent_c), np.concatenate(sent_t), np.concatenate(sent_p)
    del sent_c, sent_t, sent_p
    add(sc, st, "email_sent", sp)
    opened = rng.random(len(sc)) < 0.08 + 0.35 * engagement[sc]
    oc, ot, op = sc[opened], st[opened] + (rng.exponential(5 * 3600, int(opened.sum()))
                                           ).astype(np.int64) + 30, sp[opened]
    add(oc, ot, "email_open", op)
    clicked = rng.random(len(oc)) < 0.10 + 0.25 * engagement[oc]
    add(oc[clicked], ot[clicked] + 5 + rng.exponential(120, int(clicked.sum())).astype(np.int64),
        "email_click", op[clicked])

    # -- web and app sessions ----------------------------------------------------------------
    online = orders.channel != STORE
    vc = orders.customer[online]
    vt = orders.seconds[online] - rng.integers(60, 1800, len(vc))
    vch = orders.channel[online]
    n_browse = int(round(BROWSE_PER_ORDER * len(vc)))
    w = pop.propensity * pop.buyer * cal.mass("web", pop.start, pop.end)
    bc = np.minimum(np.searchsorted(np.cumsum(w / w.sum()), rng.random(n_browse), side="right"),
                    pop.n - 1)
    bday = cal.draw_days(rng, "web", pop.start[bc], pop.end[bc])
    bch = np.where((pop.channel[bc] == APP) & (bday >= cal.app_launch_day), APP, 1)
    bt = bday * DAY + cal.draw_seconds_of_day(rng, "web", n_browse)
    visit_c = np.concatenate([vc, bc])
    visit_t = np.concatenate([vt, bt])
    visit_p = np.where(np.concatenate([vch, bch]) == APP, app_prop, web_prop).astype(np.int32)
    add(visit_c, visit_t, "visit", visit_p)
    pages = 1 + rng.poisson(0.4, len(visit_c))
    pv_of = np.repeat(np.arange(len(visit_c)), pages)
    pv_t = visit_t[pv_of] + rng.integers(20, 240, len(pv_of))
    prod = pick(rng, np.cumsum(popularity), len(pv_of))
    add(visit_c[pv_of], pv_t, "page_view", (page0 + prod).astype(np.int32))
    # 25M events at L: let go of the parts as soon as they are joined
    del sc, st, sp, oc, ot, op, opened, clicked, vc, vt, vch, bc, bday, bch, bt
    del visit_c, visit_t, visit_p, pages, pv_of, pv_t, prod

    def joined(parts):
        out = np.concatenate(parts)
        parts.clear()
        return out

    cust, sec, kind, props = joined(parts_c), joined(parts_t), joined(parts_k), joined(parts_p)
    keep = (sec <= cal.end_second) & (sec >= registered[cust])
    order = np.flatnonzero(keep)
    del keep
    order = order[time_order(sec[order])]
    return {
        "customer_id": cust[order] + 1,
        "event_type": Coded(KINDS, kind[order]),
        "occurred_at": to_timestamps(sec[order]),
        "properties": Coded(props_vocab, props[order]),
    }
