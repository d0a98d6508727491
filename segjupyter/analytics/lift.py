"""Did the campaign work? Target vs control after the send instant (docs/campaigns.md).

Per customer of the frozen lists (``ws.campaigns``), the metric over the orders in the
window ``[send_at, send_at + window)`` (cut at the workspace's now): ``spend`` (sum of order
totals), ``orders`` (their number) or ``conversion`` (1 if the customer ordered at all).
The arms are compared with **Welch's t-test**: the difference of means, its 95% confidence
interval with the Welch-Satterthwaite degrees of freedom, and the two-sided p-value. Welch
because the arms have unequal sizes (a 10% holdout is 9 times smaller) and unequal variances
(the campaign changes the spread as well as the mean), and because at the hundreds or
thousands of customers per arm that a campaign has the mean is close to normal even for
heavy-tailed spend; it is exact, fast and needs no random resampling, so a report gives the
same figures on every run. The relative lift's interval is the delta-method interval of the
ratio of means.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re

import numpy as np
import pandas as pd

from ..errors import AnalyticsError
from ..rules.windows import shift

METRICS = ("spend", "orders", "conversion")
LIFT_COLUMNS = ["campaign", "metric", "window_start", "window_end", "target_customers",
                "control_customers", "target_mean", "control_mean", "lift", "lift_low",
                "lift_high", "relative_lift", "relative_low", "relative_high", "p_value",
                "t_stat", "df", "test"]
TIMELINE_COLUMNS = ["day", "days_since_send", "target", "control"]
_WINDOW = re.compile(r"^(\d+)\s*(days?|weeks?|months?|years?|d|w|m|y)$")
_UNIT = {"d": "day", "w": "week", "m": "month", "y": "year"}
_tags = itertools.count()


def window_bounds(ws, send_at: dt.datetime, window) -> tuple[dt.datetime, dt.datetime]:
    """``[send_at, end)`` of a window: days (int) or text such as ``"30 days"``, ``"4
    weeks"``, ``"2 months"``; cut at the workspace's now."""
    if isinstance(window, bool):
        window = None
    if isinstance(window, (int, np.integer)) and window > 0:
        n, unit = int(window), "day"
    elif isinstance(window, str) and (m := _WINDOW.match(window.strip().lower())):
        n, unit = int(m[1]), _UNIT[m[2][0]]
        if n < 1:
            raise AnalyticsError(f"window {window!r} needs a positive length")
    else:
        raise AnalyticsError(f"window must be a number of days or text like '30 days', "
                             f"'4 weeks', '2 months', not {window!r}")
    end = min(shift(send_at, n, unit), ws.now() + dt.timedelta(microseconds=1))
    if end <= send_at:
        raise AnalyticsError(f"the campaign was sent at {send_at:%Y-%m-%d %H:%M}, after the "
                             "workspace's now: there is nothing to measure yet")
    return send_at, end


def _metrics(metric) -> list[str]:
    ms = [metric] if isinstance(metric, str) else list(metric)
    for m in ms:
        if m not in METRICS:
            raise AnalyticsError(f"metric must be one of {', '.join(METRICS)}, not {m!r}")
    if not ms:
        raise AnalyticsError("name at least one metric")
    return ms


def _per_customer(ws, campaign: str, start, end) -> pd.DataFrame:
    """``customer_id, arm, spend, orders`` of every frozen campaign member in the window."""
    cid = ws.campaigns.info(campaign)["campaign_id"]
    tmp = f"_sj_lift_{os.getpid()}_{next(_tags)}"
    key = ws.fields.customer["customer_id"].sql_type
    st = ws.storage
    try:
        with st.read(catalog=True) as con:  # copy the lists: no catalog lock while scanning
            con.execute(f"CREATE TEMP TABLE {tmp} AS SELECT TRY_CAST(customer_id AS {key}) "
                        "AS customer_id, arm FROM catalog.campaign_members "
                        "WHERE campaign_id = ?", [cid])
        with st.read() as con:
            return con.execute(
                f"SELECT m.customer_id, m.arm, CAST(coalesce(sum(o.total), 0) AS DOUBLE) AS "
                f"spend, CAST(count(o.order_id) AS DOUBLE) AS orders FROM {tmp} m LEFT JOIN "
                "orders o ON o.customer_id = m.customer_id AND o.ordered_at >= ? AND "
                "o.ordered_at < ? GROUP BY 1, 2 ORDER BY 1", [start, end]).df()
    finally:
        if not st.closed:
            with st.read() as con:
                con.execute(f"DROP TABLE IF EXISTS temp.main.{tmp}")


def welch(target: np.ndarray, control: np.ndarray, level: float = 0.95) -> dict:
    """Welch's t-test of ``mean(target) - mean(control)`` with its confidence interval and
    the delta-method interval of the relative lift."""
    from scipy import stats
    nt, nc = len(target), len(control)
    mt, mc = float(np.mean(target)), float(np.mean(control))
    vt = float(np.var(target, ddof=1)) / nt
    vc = float(np.var(control, ddof=1)) / nc
    diff, se = mt - mc, float(np.sqrt(vt + vc))
    if se > 0:
        df = se ** 4 / (vt ** 2 / (nt - 1) + vc ** 2 / (nc - 1))
        t = diff / se
        p = float(2 * stats.t.sf(abs(t), df))
        q = float(stats.t.ppf(0.5 + level / 2, df))
    else:
        df, t, q = float(nt + nc - 2), (0.0 if diff == 0 else np.inf), 0.0
        p = 1.0 if diff == 0 else 0.0
    rel = rel_lo = rel_hi = float("nan")
    if mc != 0:
        ratio = mt / mc
        rel = ratio - 1
        se_r = abs(ratio) * float(np.sqrt((vt / mt ** 2 if mt else 0.0) + vc / mc ** 2))
        rel_lo, rel_hi = rel - q * se_r, rel + q * se_r
    return {"target_customers": nt, "control_customers": nc, "target_mean": mt,
            "control_mean": mc, "lift": diff, "lift_low": diff - q * se,
            "lift_high": diff + q * se, "relative_lift": rel, "relative_low": rel_lo,
            "relative_high": rel_hi, "p_value": p, "t_stat": float(t), "df": float(df),
            "test": "welch"}


def campaign_lift(ws, campaign: str, metric="spend", window=30) -> pd.DataFrame:
    """Target vs control of ``campaign`` over ``window`` after its send instant: one row per
    metric (``"spend"``, ``"orders"``, ``"conversion"`` or a list of them) with the arms'
    means, the absolute lift (target − control) and its 95% CI, the relative lift
    (target / control − 1) and its CI, Welch's t statistic, degrees of freedom and p-value.

    >>> campaign_lift(ws, "winback_may", ["spend", "orders", "conversion"], window="30 days")
    """
    metrics = _metrics(metric)
    info = ws.campaigns.info(campaign)
    start, end = window_bounds(ws, info["send_at"], window)
    per = _per_customer(ws, campaign, start, end)
    per["conversion"] = (per["orders"] > 0).astype(float)
    rows = []
    for m in metrics:
        t = per.loc[per["arm"] == "target", m].to_numpy(float)
        c = per.loc[per["arm"] == "control", m].to_numpy(float)
        if len(t) < 2 or len(c) < 2:
            raise AnalyticsError(f"campaign {campaign!r} has fewer than two customers in an "
                                 "arm; nothing to compare")
        rows.append({"campaign": campaign, "metric": m, "window_start": start,
                     "window_end": end, **welch(t, c)})
    return pd.DataFrame(rows, columns=LIFT_COLUMNS)


def campaign_timeline(ws, campaign: str, metric: str = "spend", window=30) -> pd.DataFrame:
    """Per day of the window: the cumulative ``metric`` per customer of each arm up to the
    end of that day (``day, days_since_send, target, control``), for the lift chart."""
    (m,) = _metrics(metric)
    info = ws.campaigns.info(campaign)
    start, end = window_bounds(ws, info["send_at"], window)
    cid = info["campaign_id"]
    key = ws.fields.customer["customer_id"].sql_type
    tmp = f"_sj_tl_{os.getpid()}_{next(_tags)}"
    st = ws.storage
    value = {"spend": "sum(o.total)", "orders": "count(*)",
             "conversion": "count(DISTINCT o.customer_id) FILTER (WHERE o.first_of_customer)"}[m]
    try:
        with st.read(catalog=True) as con:
            con.execute(f"CREATE TEMP TABLE {tmp} AS SELECT TRY_CAST(customer_id AS {key}) "
                        "AS customer_id, arm FROM catalog.campaign_members "
                        "WHERE campaign_id = ?", [cid])
        with st.read() as con:
            sizes = dict(con.execute(f"SELECT arm, count(*) FROM {tmp} GROUP BY 1").fetchall())
            daily = con.execute(
                f"""SELECT m.arm, CAST(o.ordered_at AS DATE) AS day,
                           CAST({value} AS DOUBLE) AS v
                    FROM (SELECT *, row_number() OVER (PARTITION BY customer_id
                                                       ORDER BY ordered_at) = 1
                                    AS first_of_customer
                          FROM orders WHERE ordered_at >= ? AND ordered_at < ?) o
                    JOIN {tmp} m ON m.customer_id = o.customer_id
                    GROUP BY 1, 2""", [start, end]).df()
    finally:
        if not st.closed:
            with st.read() as con:
                con.execute(f"DROP TABLE IF EXISTS temp.main.{tmp}")
    last = (end - dt.timedelta(microseconds=1)).date()
    days = pd.date_range(start.date(), last, freq="D")
    out = pd.DataFrame({"day": days.date, "days_since_send": np.arange(len(days))})
    for arm in ("target", "control"):
        d = daily[daily["arm"] == arm].set_index("day")["v"]
        d.index = pd.to_datetime(d.index)
        cum = d.reindex(days, fill_value=0.0).cumsum().to_numpy(float)
        out[arm] = cum / max(sizes.get(arm, 0), 1)
    return out[TIMELINE_COLUMNS]
