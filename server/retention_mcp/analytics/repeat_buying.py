"""Non-contractual repeat buying: RFM summaries, RFM scores and the BG/NBD model (Fader, Hardie & Lee 2005).

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


def bgnbd_log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray
) -> float:
    r, alpha, a, b = params
    ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    ln_a2 = special.betaln(a, b + x) - special.betaln(a, b)
    ln_a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        ln_a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return float(weights @ (ln_a1 + ln_a2 + np.logaddexp(ln_a3, ln_a4)))


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BGNBDFit:
    """Maximum likelihood. Identical (x, t_x, T) rows are pooled first, which makes large bases cheap."""
    data = np.column_stack([np.asarray(v, dtype=float) for v in (x, t_x, T)])
    unique, counts = np.unique(data, axis=0, return_counts=True)
    ux, ut_x, uT = unique.T
    weights = counts.astype(float)

    def negative(log_params: np.ndarray) -> float:
        return -bgnbd_log_likelihood(np.exp(log_params), ux, ut_x, uT, weights)

    result = optimize.minimize(negative, np.zeros(4), method="L-BFGS-B", options={"maxiter": 500})
    polished = optimize.minimize(
        negative, result.x, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-8, "maxiter": 2000}
    )
    best = polished if polished.fun <= result.fun else result
    r, alpha, a, b = np.exp(best.x)
    return BGNBDFit(float(r), float(alpha), float(a), float(b), -float(best.fun), int(data.shape[0]))


def rfm_scores(recency_days: np.ndarray, frequency: np.ndarray, monetary: np.ndarray, bins: int = 5) -> np.ndarray:
    """R, F and M scores 1..bins by quantile (recent, frequent and high-spending customers score high)."""

    def score(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
        ranks = values.argsort(kind="stable").argsort(kind="stable") / max(values.size - 1, 1)
        scores = np.minimum((ranks * bins).astype(int) + 1, bins)
        return scores if higher_is_better else bins + 1 - scores

    return np.column_stack([score(recency_days, False), score(frequency, True), score(monetary, True)])
