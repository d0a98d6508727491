"""BG/NBD and Gamma-Gamma customer-value models, written on scipy (no database here).

Per customer the models read the classic summary of their purchases up to an instant:
``x`` repeat purchases (purchase *days* after the first one), ``t_x`` the age of the last
purchase and ``T`` the age of the customer at the instant (both in days since the first
purchase), and ``m`` the mean value of the repeat purchases.

* **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive
  a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase they drop out with
  probability p ~ Beta(a, b). Gives ``p_alive`` and the expected purchases in the next t days.
* **Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV"): purchase values are
  Gamma(p, ν) with ν ~ Gamma(q, v), independent of the purchase process. Gives the expected
  value of a customer's future purchases.

Parameters are fitted by maximum likelihood (L-BFGS-B on log parameters, customers with
the same summary pooled with weights). :func:`simulate_bgnbd` / :func:`simulate_gamma_gamma`
draw data from known parameters, which is how the fit is validated.

>>> fit = fit_bgnbd(x, t_x, T)
>>> fit.p_alive(x, t_x, T), fit.expected_orders(90, x, t_x, T)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# scipy is imported where it is used: importing segjupyter (every dashboard kernel) should
# not pay for it


class FitFailed(ValueError):
    """The likelihood could not be maximised (too little or degenerate data)."""


def _pool(*columns) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of ``columns`` and how many customers share each (the likelihood is a
    sum over customers, so equal summaries are computed once)."""
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(float)


def _maximise(negll, start: np.ndarray) -> np.ndarray:
    from scipy import optimize
    res = optimize.minimize(negll, np.log(start), method="L-BFGS-B",
                            bounds=[(-12.0, 12.0)] * len(start),
                            options={"maxiter": 2000})
    if not np.all(np.isfinite(res.x)) or not np.isfinite(res.fun):
        raise FitFailed(f"the likelihood did not converge ({res.message})")
    return np.exp(res.x)


# -- BG/NBD ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BGNBD:
    """Fitted BG/NBD parameters (time unit: days)."""

    r: float
    alpha: float
    a: float
    b: float

    def params(self) -> dict:
        return asdict(self)

    def _ratio(self, x, t_x, T):
        """``a/(b+x-1) * ((α+T)/(α+t_x))^(r+x)`` for x > 0, else 0 (the odds of having
        dropped out after the last purchase)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        rep = x > 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_odds = (np.log(self.a) - np.log(np.where(rep, self.b + x - 1, 1.0))
                        + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
            return np.where(rep, np.exp(np.minimum(log_odds, 700.0)), 0.0)

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """Probability that the customer is still alive at T."""
        return 1.0 / (1.0 + self._ratio(x, t_x, T))

    def expected_orders(self, t: float, x, t_x, T) -> np.ndarray:
        """Expected purchases in the ``t`` days after T (FHL 2005, eq. 10)."""
        from scipy import special
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if t <= 0:
            return np.zeros_like(x)
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        head = (a + b + x - 1) / (a - 1)
        body = 1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
        out = head * body / (1.0 + self._ratio(x, t_x, T))
        return np.clip(np.nan_to_num(out, nan=0.0, posinf=0.0), 0.0, None)

    def expected_orders_new(self, t) -> np.ndarray:
        """Expected purchases in ``t`` days of a customer just acquired (FHL 2005, eq. 7)."""
        from scipy import special
        t = np.asarray(t, dtype=float)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return (a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyp)


def bgnbd_loglik(params, x, t_x, T, weights=None) -> float:
    """Log-likelihood of BG/NBD ``(r, alpha, a, b)`` for the summaries (FHL 2005, eq. 6)."""
    from scipy import special
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
          - special.gammaln(a + b + x))
    a3 = -(r + x) * np.log(alpha + T)
    rep = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(rep, np.log(a) - np.log(np.where(rep, b + x - 1, 1.0))
                      - (r + x) * np.log(alpha + t_x), -np.inf)
    return float(np.sum(w * (a1 + a2 + np.logaddexp(a3, a4))))


def fit_bgnbd(x, t_x, T) -> BGNBD:
    """Maximum-likelihood BG/NBD parameters for the summaries ``x, t_x, T`` (days)."""
    (ux, ut, uT), w = _pool(x, t_x, T)
    if len(w) == 0 or not np.any(ux > 0):
        raise FitFailed("BG/NBD needs customers with repeat purchases")
    scale = float(np.sum(w))

    def negll(logp):
        v = -bgnbd_loglik(np.exp(logp), ux, ut, uT, w) / scale
        return v if np.isfinite(v) else 1e10

    start = np.array([1.0, max(float(np.average(uT, weights=w)), 1.0) / 10.0, 1.0, 1.0])
    return BGNBD(*map(float, _maximise(negll, start)))


# -- Gamma-Gamma ----------------------------------------------------------------------------
@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma spend parameters."""

    p: float
    q: float
    v: float

    def params(self) -> dict:
        return asdict(self)

    def population_mean(self) -> float:
        """Mean purchase value of a customer with no repeat purchase (needs q > 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("nan")

    def expected_value(self, x, m) -> np.ndarray:
        """Expected value of a future purchase given ``x`` repeat purchases of mean ``m``
        (customers with x = 0 get the population mean)."""
        x = np.asarray(x, dtype=float)
        m = np.nan_to_num(np.asarray(m, dtype=float), nan=0.0)
        return self.p * (self.v + x * m) / (self.p * x + self.q - 1)


def gamma_gamma_loglik(params, x, m, weights=None) -> float:
    """Log-likelihood of Gamma-Gamma ``(p, q, v)`` for customers with ``x`` > 0 repeat
    purchases of mean value ``m`` > 0."""
    from scipy import special
    p, q, v = params
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    px = p * x
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
          + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(x * m + v))
    return float(np.sum(w * ll))


def fit_gamma_gamma(x, m) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters from customers with repeat purchases."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    if keep.sum() < 2:
        raise FitFailed("Gamma-Gamma needs customers with repeat purchases of positive value")
    (ux, um), w = _pool(x[keep], m[keep])
    scale = float(np.sum(w))

    def negll(logp):
        val = -gamma_gamma_loglik(np.exp(logp), ux, um, w) / scale
        return val if np.isfinite(val) else 1e10

    mean = float(np.average(um, weights=w))
    return GammaGamma(*map(float, _maximise(negll, np.array([2.0, 3.0, mean]))))


# -- simulation (validation) ----------------------------------------------------------------
def simulate_bgnbd(n: int, params: dict, T, seed: int = 0, horizon: float = 0.0
                   ) -> dict[str, np.ndarray]:
    """Summaries ``x, t_x, T`` of ``n`` customers drawn from BG/NBD ``params`` (first
    purchase at day 0, observed for ``T`` days: a number or an array of n), and
    ``x_holdout``, their purchases in the ``horizon`` days after T."""
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    x, last, hold = np.zeros(n), np.zeros(n), np.zeros(n)
    now = np.zeros(n)
    alive = np.ones(n, bool)  # alive at the first purchase; drop-outs follow repeat ones
    end = T + horizon
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1.0 / lam[idx])
        inside = now[idx] <= end[idx]
        alive[idx[~inside]] = False
        hit = idx[inside]
        calib = now[hit] <= T[hit]
        x[hit[calib]] += 1
        last[hit[calib]] = now[hit[calib]]
        hold[hit[~calib]] += 1
        alive[hit] = rng.random(len(hit)) >= p[hit]
    return {"x": x, "t_x": last, "T": T, "x_holdout": hold}


def simulate_gamma_gamma(x, params: dict, seed: int = 0) -> np.ndarray:
    """Mean purchase value of customers with ``x`` repeat purchases under Gamma-Gamma
    ``params`` (NaN for x = 0)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=float)
    nu = rng.gamma(params["q"], 1.0 / params["v"], len(x))
    total = rng.gamma(np.maximum(params["p"] * x, 1e-12), 1.0 / nu)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(x > 0, total / np.maximum(x, 1), np.nan)
