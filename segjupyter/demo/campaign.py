"""A synthetic campaign with a known effect, to check that measured lift finds it.

:func:`inject_campaign_effect` adds extra orders to a random share of a campaign's *target*
customers inside the window after its send instant and reloads the orders, so the true
effect per target customer is known exactly. It rewrites the retail data: run it on a copy
of a workspace (``shutil.copytree``), never on data you care about.

>>> ws.campaigns.create("repeat_buyers", "spring", holdout=0.2, seed=7, send_date="2026-05-01")
>>> truth = inject_campaign_effect(ws, "spring", share=0.3, amount=25, days=30)
>>> analytics.campaign_lift(ws, "spring", "spend", window=30)   # covers truth["spend"]
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..errors import SegjupyterError


def inject_campaign_effect(ws, campaign: str, share: float = 0.3, amount: float = 25.0,
                           days: int = 30, seed: int = 0) -> dict:
    """Give one extra order of ``amount`` to each target customer of ``campaign`` with
    probability ``share``, at a random instant in the ``days`` after the send instant (and
    before the workspace's now); reload the orders. Returns the true effects per target
    customer: ``{"spend": ..., "orders": ..., "customers_with_extra": n, "target": n}``."""
    if not 0 < share <= 1 or amount <= 0 or days < 1:
        raise SegjupyterError("share must be in (0, 1], amount > 0 and days >= 1")
    info = ws.campaigns.info(campaign)
    start = info["send_at"]
    end = min(start + dt.timedelta(days=days), ws.now())
    span = (end - start).total_seconds()
    if span <= 0:
        raise SegjupyterError("the campaign's window is after the workspace's now")
    target = ws.campaigns.members(campaign, "target")["customer_id"].to_numpy()
    rng = np.random.default_rng(seed)
    lucky = target[rng.random(len(target)) < share]
    orders = ws.sql("SELECT * FROM orders ORDER BY order_id").df()
    seconds = np.floor(rng.random(len(lucky)) * span)
    extra = pd.DataFrame({
        "order_id": orders["order_id"].max() + 1 + np.arange(len(lucky)),
        "customer_id": lucky,
        "store_id": orders["store_id"].iloc[0] if "store_id" in orders else None,
        "ordered_at": pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s"),
        "total": float(amount),
    })
    for col in orders.columns:
        if col not in extra:
            extra[col] = None
    frame = pd.concat([orders.astype({"total": float}), extra[orders.columns]],
                      ignore_index=True)
    report = ws.load(orders=frame, strict=True)
    if not report.ok:
        raise SegjupyterError(f"reloading the orders failed: {report}")
    n = len(target)
    return {"spend": len(lucky) * float(amount) / n, "orders": len(lucky) / n,
            "customers_with_extra": int(len(lucky)), "target": int(n)}
