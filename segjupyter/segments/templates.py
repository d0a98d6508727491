"""A gallery of ready segment definitions with parameters.

``ws.segments.from_template("high_spenders", min_spend=1000)`` returns a
:class:`~segjupyter.rules.segment.Segment` to count, inspect, refine or save. Parameters are
Python values given when the template is built; the rule tree holds plain values.

"This month" and "the next days" are relative to the ``as_of`` of each evaluation
(``start of month``, ``end of month``, ``today``, ``+7d``), so a saved dynamic segment built
from ``new_customers_this_month``, ``birthday_this_month`` or ``birthday_next_7_days`` rolls
with every refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from ..errors import CatalogError
from ..rules.model import Attribute, Behaviour, Derived, Group, RelativeDate, Window
from ..rules.segment import Segment


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    description: str
    params: dict  # name -> (default, help)
    build: Callable  # (ws, **params) -> rule tree


def _last(n: int, unit: str) -> Window:
    return Window("last", n=int(n), unit=unit)


START_OF_MONTH = RelativeDate(0, "day", "month_start")
END_OF_MONTH = RelativeDate(0, "day", "month_end")


def _birthday_between(lo: RelativeDate, hi: RelativeDate) -> Attribute:
    return Attribute("birth_date", "between", (lo, hi), ignore_year=True)


def _next_days(days) -> RelativeDate:
    days = int(days)
    if not 0 <= days <= 365:  # a longer range would lap the year
        raise CatalogError(f"days must be 0..365, not {days}")
    return RelativeDate(days)


TEMPLATES: dict[str, Template] = {t.name: t for t in [
    Template("rfm_champions", "RFM champions",
             "Recent, frequent, high-value buyers (RFM segment of the last 365 days).",
             {"segments": (("champions",), "RFM segment names to include")},
             lambda ws, segments: Derived("rfm_segment", "in", tuple(segments))),
    Template("at_risk", "At risk",
             "Good customers who are slipping away (RFM 'at risk' and 'can't lose them').",
             {"segments": (("at risk", "can't lose them"), "RFM segment names to include")},
             lambda ws, segments: Derived("rfm_segment", "in", tuple(segments))),
    Template("new_customers_this_month", "New customers (this month)",
             "First order in the calendar month of the evaluation (since its 1st).",
             {}, lambda ws: Behaviour("first_order", ">=", START_OF_MONTH)),
    Template("lapsed_buyers", "Lapsed buyers",
             "Bought at least `min_orders` times, but nothing in the last `days` days.",
             {"min_orders": (2, "orders ever"), "days": (180, "days without an order")},
             lambda ws, min_orders, days: Group("and", (
                 Behaviour("orders", ">=", int(min_orders)),
                 Behaviour("orders", "=", 0, window=_last(days, "day"))))),
    Template("high_spenders", "High spenders",
             "Spent at least `min_spend` in the last `months` months.",
             {"min_spend": (500, "amount, in the data's currency"), "months": (12, "window")},
             lambda ws, min_spend, months: Behaviour("spend", ">=", min_spend,
                                                     window=_last(months, "month"))),
    Template("birthday_this_month", "Birthday this month",
             "Birthday (any year) in the calendar month of the evaluation; Feb 29 birthdays "
             "count in every February.",
             {}, lambda ws: _birthday_between(START_OF_MONTH, END_OF_MONTH)),
    Template("birthday_next_7_days", "Birthday in the next 7 days",
             "Birthday (any year) from the day of the evaluation to `days` days later "
             "(across the new year at the end of December).",
             {"days": (7, "days ahead")},
             lambda ws, days: _birthday_between(RelativeDate(0), _next_days(days))),
    Template("one_time_buyers", "One-time buyers",
             "Exactly one order ever, placed more than `days` days ago.",
             {"days": (30, "age of that order in days")},
             lambda ws, days: Group("and", (
                 Behaviour("orders", "=", 1),
                 Behaviour("orders", "=", 0, window=_last(days, "day"))))),
    Template("discount_hunters", "Discount hunters",
             "At least `min_orders` orders with an offer code in the last `months` months.",
             {"min_orders": (3, "orders with an offer code"), "months": (12, "window")},
             lambda ws, min_orders, months: Behaviour(
                 "orders", ">=", int(min_orders),
                 filter=Group("and", (Attribute("offer_code", "is not null"),)),
                 window=_last(months, "month"))),
    Template("multi_channel", "Multi-channel buyers",
             "Bought in a physical store and online (web or app) in the last `months` months.",
             {"months": (12, "window"), "store": ("store", "channel of physical stores"),
              "online": (("web", "app"), "online channels")},
             lambda ws, months, store, online: Group("and", (
                 Behaviour("bought", filter=Group("and", (Attribute("channel", "=", store),)),
                           window=_last(months, "month")),
                 Behaviour("bought", filter=Group("and", (
                     Attribute("channel", "in", tuple(online)),)),
                           window=_last(months, "month"))))),
    Template("newsletter_engaged", "Newsletter engaged",
             "Subscribed, and opened at least `min_opens` emails in the last `days` days.",
             {"min_opens": (1, "email opens"), "days": (90, "window"),
              "event_type": ("email_open", "event type counted")},
             lambda ws, min_opens, days, event_type: Group("and", (
                 Attribute("subscribed", "is true"),
                 Behaviour("events", ">=", int(min_opens), window=_last(days, "day"),
                           event_type=event_type)))),
    Template("loyal_regulars", "Loyal regulars",
             "At least `min_orders` orders in the last `months` months.",
             {"min_orders": (6, "orders"), "months": (12, "window")},
             lambda ws, min_orders, months: Behaviour("orders", ">=", int(min_orders),
                                                      window=_last(months, "month"))),
    Template("win_back", "Win back",
             "Subscribed customers whose lifecycle stage is at risk or hibernating.",
             {"stages": (("at risk", "hibernating"), "lifecycle stages")},
             lambda ws, stages: Group("and", (Attribute("subscribed", "is true"),
                                              Derived("lifecycle", "in", tuple(stages))))),
]}


def gallery() -> pd.DataFrame:
    """name, title, description and parameters (with defaults) of every template."""
    return pd.DataFrame([{
        "name": t.name, "title": t.title, "description": t.description,
        "parameters": {k: v[0] for k, v in t.params.items()},
        "help": {k: v[1] for k, v in t.params.items()}} for t in TEMPLATES.values()])


def build(ws, name: str, **params) -> Segment:
    """The segment of template ``name`` with ``params`` (others take their defaults)."""
    t = TEMPLATES.get(name)
    if t is None:
        from ..workspace.registry import suggest
        s = suggest(name, TEMPLATES)
        raise CatalogError(f"no template named {name!r}" +
                           (f" — did you mean {s!r}?" if s else
                            f" (templates: {', '.join(TEMPLATES)})"))
    unknown = sorted(set(params) - set(t.params))
    if unknown:
        raise CatalogError(f"template {name!r} has no parameter {unknown[0]!r} "
                           f"(parameters: {', '.join(t.params) or 'none'})")
    values = {k: params.get(k, v[0]) for k, v in t.params.items()}
    try:
        tree = t.build(ws, **values)
    except (ValueError, TypeError) as e:
        raise CatalogError(f"template {name!r}: bad parameter value ({e})") from None
    return Segment(ws, tree, name=name)
