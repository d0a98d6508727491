"""Predicted customer value (BG/NBD + Gamma-Gamma, ``rules/predicted.py``) as frames: per
customer, in bands for the CLV chart, and the hold-out calibration of the models.

>>> an.predicted_values(ws, vip, horizon="12 months").head()
>>> an.clv_bands(ws, vip)                       # the CLV chart's frame
>>> an.clv_calibration(ws, "2025-12-31", holdout="180 days")
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from ..errors import AnalyticsError
from ..rules import predicted
from ..rules.windows import shift
from .period import resolve_as_of
from .population import as_segment, populations
from .shaping import ratio

#: band edges of predicted CLV (money); the last band is open
CLV_BANDS = (0, 50, 100, 200, 500, 1000)
NO_ORDERS = "no orders"
VALUE_COLUMNS = ["customer_id", "p_alive", "predicted_orders", "predicted_clv", "x", "t_x",
                 "T", "m"]
BAND_COLUMNS = ["band", "customers", "share", "predicted_clv", "avg_clv", "avg_p_alive",
                "avg_predicted_orders"]
CALIBRATION_COLUMNS = ["repeat_purchases", "customers", "predicted", "actual"]
_HORIZON = re.compile(r"^(\d+)\s*(days?|weeks?|months?|years?)$")


def parse_horizon(horizon) -> tuple[int, str]:
    """``"12 months"``, ``"90 days"`` or ``(12, "month")`` → ``(n, unit)``."""
    if isinstance(horizon, tuple) and len(horizon) == 2:
        n, unit = horizon
    elif isinstance(horizon, str) and (m := _HORIZON.match(horizon.strip().lower())):
        n, unit = int(m[1]), m[2].rstrip("s")
    else:
        raise AnalyticsError(f"horizon must be text like '12 months' or '90 days', not "
                             f"{horizon!r}")
    if not isinstance(n, int) or n < 1 or unit not in ("day", "week", "month", "year"):
        raise AnalyticsError(f"horizon must be N >= 1 days, weeks, months or years, not "
                             f"{horizon!r}")
    return n, unit


def predicted_values(ws, segment=None, as_of=None, horizon="12 months") -> pd.DataFrame:
    """Per member (all customers by default): ``p_alive``, ``predicted_orders`` and
    ``predicted_clv`` over ``horizon``, and the purchase summary ``x, t_x, T, m`` the models
    read; members who never ordered have NaN. The values the rule fields use."""
    at = resolve_as_of(ws, as_of)
    h = parse_horizon(horizon)
    seg = as_segment(ws, segment)
    with populations(ws, [seg], at) as scope:
        members = scope.run("SELECT customer_id FROM pop0 ORDER BY 1")
        values = predicted.predictions(ws, scope.con, at, h)
    out = members.merge(values, on="customer_id", how="left")
    return out[VALUE_COLUMNS].reset_index(drop=True)


def clv_bands(ws, segment=None, as_of=None, horizon="12 months", bands=CLV_BANDS
              ) -> pd.DataFrame:
    """Members per band of predicted CLV over ``horizon`` (``0-50``, ``50-100``, ...,
    ``1000+``, then ``no orders``): customers, share, total and average predicted value,
    average P(alive) and predicted orders. No members gives no rows."""
    edges = [float(b) for b in bands]
    if sorted(edges) != edges or len(edges) < 1:
        raise AnalyticsError(f"bands must be increasing numbers, not {bands!r}")
    vals = predicted_values(ws, segment, as_of, horizon)
    labels = [f"{_money(lo)}-{_money(hi)}" for lo, hi in zip(edges, edges[1:])] + \
        [f"{_money(edges[-1])}+"]
    v = vals["predicted_clv"].to_numpy(float)
    idx = np.where(np.isnan(v), len(labels), np.clip(np.searchsorted(edges, v, "right") - 1,
                                                     0, len(labels) - 1))
    names = labels + [NO_ORDERS]
    rows = []
    for i, name in enumerate(names):
        sel = vals[idx == i]
        rows.append({"band": name, "customers": len(sel),
                     "predicted_clv": float(sel["predicted_clv"].fillna(0).sum()),
                     "avg_p_alive": float(sel["p_alive"].mean()) if len(sel) and i < len(labels)
                     else 0.0,
                     "avg_predicted_orders": float(sel["predicted_orders"].mean())
                     if len(sel) and i < len(labels) else 0.0})
    out = pd.DataFrame(rows)
    out["customers"] = out["customers"].astype("int64")
    out["share"] = ratio(out["customers"], out["customers"].sum())
    out["avg_clv"] = ratio(out["predicted_clv"], out["customers"])
    out = out[BAND_COLUMNS]
    return out.iloc[0:0].reset_index(drop=True) if len(vals) == 0 else out


def clv_params(ws, as_of=None) -> pd.DataFrame:
    """The fitted parameters used as of ``as_of`` (BG/NBD r, alpha, a, b in days;
    Gamma-Gamma p, q, v), with the fit day and the customers it saw."""
    at = resolve_as_of(ws, as_of)
    with ws.storage.read() as con:
        fit = predicted.get_fit(ws, con, at)
    return pd.DataFrame([{**fit.params(), "fit_day": fit.fit_day, "customers": fit.customers,
                          "repeat_customers": fit.repeat_customers,
                          "fit_seconds": fit.seconds}])


def clv_calibration(ws, calibration_end, holdout="180 days", max_repeat: int = 7
                    ) -> pd.DataFrame:
    """Fit the models on the orders up to the end of ``calibration_end`` (a date), predict
    each customer's purchase days in the ``holdout`` that follows and compare with what
    happened: per number of repeat purchases in the calibration period (``0`` ...
    ``max_repeat+``), customers and the mean predicted and actual purchases. ``attrs`` hold
    the totals (``predicted_total``, ``actual_total``) and the fitted parameters."""
    end_day = resolve_as_of(ws, calibration_end).date()
    cutoff = dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time.min)
    n, unit = parse_horizon(holdout)
    stop = shift(cutoff, n, unit)
    if stop > ws.now() + dt.timedelta(microseconds=1):
        raise AnalyticsError(f"the hold-out {cutoff:%Y-%m-%d}..{stop:%Y-%m-%d} ends after the "
                             f"workspace's now ({ws.now():%Y-%m-%d}); choose an earlier "
                             "calibration end or a shorter hold-out")
    with ws.storage.read() as con:
        summary = predicted.summaries(con, cutoff, cutoff.date())
        fit = predicted.fit_summaries(summary, cutoff.date())
        actual = con.execute(
            "SELECT customer_id, CAST(count(DISTINCT CAST(ordered_at AS DATE)) AS DOUBLE) AS "
            "actual FROM orders WHERE ordered_at >= ? AND ordered_at < ? GROUP BY 1",
            [cutoff, stop]).df()
    frame = summary.merge(actual, on="customer_id", how="left").fillna({"actual": 0.0})
    days = (stop - cutoff).total_seconds() / 86400.0
    frame["predicted"] = fit.bgnbd.expected_orders(days, frame["x"], frame["t_x"], frame["T"])
    frame["group"] = np.minimum(frame["x"].to_numpy(int), max_repeat)
    g = frame.groupby("group").agg(customers=("customer_id", "size"),
                                   predicted=("predicted", "mean"), actual=("actual", "mean"))
    g = g.reindex(range(max_repeat + 1), fill_value=0).reset_index()
    g["repeat_purchases"] = [str(i) if i < max_repeat else f"{max_repeat}+"
                             for i in g["group"]]
    out = g[CALIBRATION_COLUMNS].copy()
    out["customers"] = out["customers"].astype("int64")
    out.attrs.update(predicted_total=float(frame["predicted"].sum()),
                     actual_total=float(frame["actual"].sum()), params=fit.params(),
                     calibration_end=end_day, holdout_end=stop.date())
    return out


def _money(v: float) -> str:
    return f"{v:,.0f}"
