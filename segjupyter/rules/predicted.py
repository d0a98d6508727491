"""Predicted customer value as rule fields: ``p_alive``, ``predicted_orders(N units)``,
``predicted_clv(N units)`` (the models are in :mod:`.clv_model`).

* **Summaries** come from the workspace's orders in one SQL pass (:data:`SUMMARY_SQL`):
  purchase *days* (orders of one day count once, their totals summed), ``x`` = days after
  the first, ``t_x`` / ``T`` = days from the first purchase day to the last one / to the
  as-of day, ``m`` = mean spend of the repeat days. Customers who never ordered have no
  prediction (a rule on a predicted field is false for them).
* **Fitting** uses the orders of the whole days before ``as_of``'s day, so every evaluation
  of one day shares one fit. The parameters are cached per *data version* (the retail file:
  a load makes a new one) and fit day: in this process, and in ``catalog.clv_fits`` so other
  processes and later refreshes reuse them.
* **Per-customer values** (the summaries as of ``as_of`` itself, run through the fitted
  models) are computed with numpy once per (data version, as_of, field, horizon) and kept in
  a temporary table of this process; a rule joins it like the RFM table, so once fitted a
  predicted field costs a join.

``predicted_clv(N units)`` = expected purchase days in the next N units × expected value of
a purchase (Gamma-Gamma; the population mean for customers without repeat purchases), not
discounted. A horizon is converted to days calendar-correctly from ``as_of``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
import weakref
from dataclasses import dataclass

import pandas as pd

from ..errors import PredictionError
from . import clv_model
from .windows import shift

#: fewer customers with a repeat purchase than this: too little history to fit
MIN_REPEAT_CUSTOMERS = 30

SUMMARY_SQL = """
WITH days AS (
  SELECT customer_id, CAST(ordered_at AS DATE) AS day, sum(total) AS spend
  FROM orders WHERE ordered_at < $cutoff GROUP BY 1, 2)
SELECT customer_id, CAST(count(*) - 1 AS DOUBLE) AS x,
       CAST(date_diff('day', min(day), max(day)) AS DOUBLE) AS t_x,
       CAST(date_diff('day', min(day), CAST($as_of_day AS DATE)) AS DOUBLE) AS "T",
       CASE WHEN count(*) > 1
            THEN CAST((sum(spend) - arg_min(spend, day)) AS DOUBLE) / (count(*) - 1) END AS m
FROM days GROUP BY customer_id
"""

FITS_DDL = """CREATE TABLE IF NOT EXISTS catalog.clv_fits (
    data_version VARCHAR NOT NULL,   -- the retail file (a load makes a new version)
    fit_day DATE NOT NULL,           -- fitted on the orders before this day
    r DOUBLE, alpha DOUBLE, a DOUBLE, b DOUBLE,   -- BG/NBD (days)
    p DOUBLE, q DOUBLE, v DOUBLE,                 -- Gamma-Gamma
    customers BIGINT, repeat_customers BIGINT,
    fitted_at TIMESTAMP, seconds DOUBLE)"""


@dataclass(frozen=True)
class ClvFit:
    """Fitted BG/NBD and Gamma-Gamma models of one data version and fit day."""

    bgnbd: clv_model.BGNBD
    gamma_gamma: clv_model.GammaGamma
    fit_day: dt.date
    data_version: str
    customers: int
    repeat_customers: int
    seconds: float

    def params(self) -> dict:
        return {**self.bgnbd.params(), **self.gamma_gamma.params()}

    def predict(self, summary: pd.DataFrame, horizon_days: float) -> pd.DataFrame:
        """``customer_id, p_alive, predicted_orders, predicted_clv`` for the summaries."""
        x, t_x, T = (summary[c].to_numpy(float) for c in ("x", "t_x", "T"))
        orders = self.bgnbd.expected_orders(horizon_days, x, t_x, T)
        value = self.gamma_gamma.expected_value(x, summary["m"].to_numpy(float))
        return pd.DataFrame({"customer_id": summary["customer_id"],
                             "p_alive": self.bgnbd.p_alive(x, t_x, T),
                             "predicted_orders": orders, "predicted_clv": orders * value})


def horizon_days(as_of: dt.datetime, n: int, unit: str) -> float:
    """Days from ``as_of`` to ``as_of`` + n units (calendar months and years)."""
    return (shift(as_of, n, unit) - as_of).total_seconds() / 86400.0


def data_version(storage) -> str:
    """Identity of the retail data currently attached (inside an operation)."""
    ino, mtime = storage._retail_id
    return f"{ino}-{mtime}"


def summaries(con, cutoff: dt.datetime, as_of_day: dt.date) -> pd.DataFrame:
    """Purchase summaries from the orders before ``cutoff``, ages up to ``as_of_day``."""
    return con.execute(SUMMARY_SQL, {"cutoff": cutoff, "as_of_day": as_of_day}).df()


def fit_summaries(summary: pd.DataFrame, fit_day: dt.date, version: str = "") -> ClvFit:
    """Fit both models on purchase summaries; :class:`PredictionError` when there is too
    little history."""
    repeaters = int((summary["x"] > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        raise PredictionError(
            f"too little purchase history to fit the customer-value models before "
            f"{fit_day:%Y-%m-%d}: {repeaters} customer(s) with a repeat purchase, at least "
            f"{MIN_REPEAT_CUSTOMERS} needed (p_alive, predicted_orders, predicted_clv)")
    t0 = time.perf_counter()
    try:
        bg = clv_model.fit_bgnbd(summary["x"], summary["t_x"], summary["T"])
        gg = clv_model.fit_gamma_gamma(summary["x"], summary["m"].fillna(0.0))
    except clv_model.FitFailed as e:
        raise PredictionError(f"the customer-value models could not be fitted before "
                              f"{fit_day:%Y-%m-%d}: {e}") from None
    return ClvFit(bg, gg, fit_day, version, len(summary), repeaters,
                  time.perf_counter() - t0)


# -- caches ---------------------------------------------------------------------------------
class _Cache:
    """Per storage (process): fits by (version, day), value tables by their key."""

    def __init__(self):
        self.fits: dict[tuple, ClvFit] = {}
        self.tables: dict[tuple, str] = {}  # insertion order = age
        self.summaries: dict[tuple, pd.DataFrame] = {}  # (version, as_of): the last two
        self.lock = threading.RLock()


_caches: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_names = itertools.count()
MAX_TABLES = 16


def _cache(storage) -> _Cache:
    c = _caches.get(storage)
    if c is None:
        c = _caches[storage] = _Cache()
    return c


def _stored_fit(con, version: str, day: dt.date):
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                         "'catalog' AND table_name = 'clv_fits'").fetchone()[0]
    if not exists:
        return None
    return con.execute("SELECT r, alpha, a, b, p, q, v, customers, repeat_customers, seconds "
                       "FROM catalog.clv_fits WHERE data_version = ? AND fit_day = ? "
                       "ORDER BY fitted_at DESC LIMIT 1", [version, day]).fetchone()


def get_fit(ws, con, as_of: dt.datetime) -> ClvFit:
    """The fit for ``as_of``'s day (inside an operation on ``con``): from this process's
    cache, else the catalog, else fitted now and stored (when the workspace is writable and
    no catalog transaction is open)."""
    st = ws.storage
    version, day = data_version(st), as_of.date()
    cache = _cache(st)
    with cache.lock:
        fit = cache.fits.get((version, day))
        if fit is not None:
            return fit
        row = None
        if st._catalog_mode is not None:
            row = _stored_fit(con, version, day)
        else:
            with st.read(catalog=True) as ccon:
                row = _stored_fit(ccon, version, day)
        if row is not None:
            fit = ClvFit(clv_model.BGNBD(*row[:4]), clv_model.GammaGamma(*row[4:7]), day,
                         version, int(row[7]), int(row[8]), float(row[9]))
        else:
            cutoff = dt.datetime.combine(day, dt.time.min)
            fit = fit_summaries(summaries(con, cutoff, day), day, version)
            if not st.read_only and st._catalog_mode is None:
                _store_fit(ws, fit)
        cache.fits[(version, day)] = fit
        return fit


def _store_fit(ws, fit: ClvFit) -> None:
    import zoneinfo
    now = dt.datetime.now(zoneinfo.ZoneInfo(ws.timezone)).replace(tzinfo=None)
    with ws.storage.write() as w:
        w.execute(FITS_DDL)
        w.execute("DELETE FROM catalog.clv_fits WHERE data_version = ? AND fit_day = ?",
                  [fit.data_version, fit.fit_day])
        p = fit.params()
        w.execute("INSERT INTO catalog.clv_fits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  [fit.data_version, fit.fit_day, p["r"], p["alpha"], p["a"], p["b"], p["p"],
                   p["q"], p["v"], fit.customers, fit.repeat_customers, now,
                   fit.seconds])


def predictions(ws, con, as_of: dt.datetime, horizon: tuple[int, str] = (12, "month")
                ) -> pd.DataFrame:
    """Per customer who ordered up to ``as_of``: ``p_alive, predicted_orders,
    predicted_clv`` over ``horizon``, plus the summary ``x, t_x, T, m``."""
    fit = get_fit(ws, con, as_of)
    cache = _cache(ws.storage)
    key = (data_version(ws.storage), as_of)
    with cache.lock:
        summary = cache.summaries.get(key)
        if summary is None:  # every field and horizon as of this instant shares it
            eps = dt.timedelta(microseconds=1)
            summary = cache.summaries[key] = summaries(con, as_of + eps, as_of.date())
            while len(cache.summaries) > 2:
                cache.summaries.pop(next(iter(cache.summaries)))
    out = fit.predict(summary, horizon_days(as_of, *horizon))
    return pd.concat([out, summary[["x", "t_x", "T", "m"]]], axis=1)


def value_table(ws, con, as_of: dt.datetime, field: str, horizon) -> str:
    """Name of a temporary table ``(customer_id, value)`` holding ``field`` as of
    ``as_of``; made once per (data version, as_of, field, horizon) in this process."""
    st = ws.storage
    key = (data_version(st), as_of, field, None if horizon is None else tuple(horizon))
    cache = _cache(st)
    with cache.lock:
        name = cache.tables.get(key)
        if name is not None:
            return name
        frame = predictions(ws, con, as_of, horizon or (1, "day"))
        name = f"_sj_pred_{next(_names)}"
        df = pd.DataFrame({"customer_id": frame["customer_id"],
                           "value": frame[field].to_numpy(float)})
        con.register(name + "_df", df)
        try:
            con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM "{name}_df"')
        finally:
            con.unregister(name + "_df")
        cache.tables[key] = name
        while len(cache.tables) > MAX_TABLES:
            old = cache.tables.pop(next(iter(cache.tables)))
            con.execute(f'DROP TABLE IF EXISTS temp.main."{old}"')
        return name


def clear_cache(ws) -> None:
    """Forget this process's fits and value tables (the catalog's stored fits stay)."""
    cache = _caches.pop(ws.storage, None)
    if cache is not None and not ws.storage.closed:
        with ws.storage.read() as con:
            for name in cache.tables.values():
                con.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')


__all__ = ["ClvFit", "MIN_REPEAT_CUSTOMERS", "fit_summaries", "get_fit", "horizon_days",
           "predictions", "summaries", "value_table", "clear_cache"]
