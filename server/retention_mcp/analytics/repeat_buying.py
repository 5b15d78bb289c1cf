"""Non-contractual repeat buying: the BG/NBD model (Fader, Hardie & Lee 2005).

While active, a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after any purchase they may drop out with
probability p ~ Beta(a, b). From each customer's x (repeat purchases), t_x (time of the last one) and T (time
observed since the first), the model gives expected future purchases and the probability of being alive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


@dataclass
class BGNBDFit:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int

    def expected_purchases(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (eq. 10 of the paper)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        first = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        alive = self.alive_probability(x, t_x, T)
        return first * alive

    def alive_probability(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
        return 1.0 / (1.0 + odds)


class _Indexed:
    """Distinct values of a column and where each row's value sits among them: special functions are evaluated
    once per distinct value, not once per customer."""

    def __init__(self, values: np.ndarray):
        self.rows = np.asarray(values, dtype=float)
        self.values, self.index = np.unique(self.rows, return_inverse=True)

    def apply(self, fn) -> np.ndarray:
        return fn(self.values)[self.index]


def bgnbd_log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None = None,
    gradient: bool = False,
):  # fmt: skip
    """The log-likelihood (eq. 6 of the paper) and, if asked, its gradient in (r, alpha, a, b)."""
    return _likelihood(params, _Indexed(x), _Indexed(t_x), _Indexed(T), weights, gradient)


def _likelihood(params, ix: _Indexed, itx: _Indexed, iT: _Indexed, weights, gradient: bool):
    r, alpha, a, b = params
    x = ix.rows
    repeat = x > 0
    log_alpha_T = iT.apply(lambda v: np.log(alpha + v))
    log_alpha_tx = itx.apply(lambda v: np.log(alpha + v))
    ln_a12 = ix.apply(
        lambda v: special.gammaln(r + v) - special.gammaln(r) + r * np.log(alpha) + special.betaln(a, b + v)
        - special.betaln(a, b)
    )  # fmt: skip
    ln_a3 = -(r + x) * log_alpha_T
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_a4 = np.where(
            repeat,
            ix.apply(lambda v: np.log(a) - np.log(np.maximum(b + v - 1, 1e-300))) - (r + x) * log_alpha_tx,
            -np.inf,
        )
    mix = np.logaddexp(ln_a3, ln_a4)
    terms = ln_a12 + mix
    value = float(terms.sum() if weights is None else weights @ terms)
    if not gradient:
        return value
    w3 = np.exp(ln_a3 - mix)
    w4 = np.where(repeat, np.exp(ln_a4 - mix), 0.0)
    dig_ab = special.digamma(a + b)
    d_r = (
        ix.apply(lambda v: special.digamma(r + v) - special.digamma(r) + np.log(alpha))
        - w3 * log_alpha_T
        - w4 * log_alpha_tx
    )
    inv_T = iT.apply(lambda v: 1.0 / (alpha + v))
    inv_tx = itx.apply(lambda v: 1.0 / (alpha + v))
    d_alpha = r / alpha - (r + x) * (w3 * inv_T + w4 * inv_tx)
    d_a = ix.apply(lambda v: dig_ab - special.digamma(a + b + v)) + w4 / a
    with np.errstate(divide="ignore", invalid="ignore"):
        d_b = ix.apply(
            lambda v: special.digamma(b + v) - special.digamma(a + b + v) - special.digamma(b) + dig_ab
        ) - np.where(repeat, w4 * ix.apply(lambda v: 1.0 / np.maximum(b + v - 1, 1e-300)), 0.0)
    parts = (d_r, d_alpha, d_a, d_b)
    grad = np.array([p.sum() if weights is None else weights @ p for p in parts])
    return value, grad


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None = None) -> BGNBDFit:
    """Maximum likelihood with the exact gradient, on the log scale so the parameters stay positive. `weights`
    counts customers per row when identical (x, t_x, T) rows were pooled beforehand."""
    ix, itx, iT = _Indexed(x), _Indexed(t_x), _Indexed(T)
    w = None if weights is None else np.asarray(weights, dtype=float)

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value, grad = _likelihood(params, ix, itx, iT, w, True)
        return -value, -grad * params

    best = None
    for start in (np.zeros(4), np.log([0.5, 10.0, 0.5, 2.0])):  # the second only if the first fails
        result = optimize.minimize(
            negative, start, jac=True, method="L-BFGS-B", options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-7}
        )
        if best is None or result.fun < best.fun:
            best = result
        if best.success and np.all(np.isfinite(best.x)):
            break
    assert best is not None
    r, alpha, a, b = np.exp(best.x)
    customers = int(np.asarray(x).size if w is None else w.sum())
    return BGNBDFit(float(r), float(alpha), float(a), float(b), -float(best.fun), customers)
