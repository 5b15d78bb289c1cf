"""The shifted-beta-geometric model of contractual retention (Fader & Hardie 2007, 2010).

Each customer has a constant churn probability theta per period, and theta varies across customers as
Beta(alpha, beta). Then P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), S(t) = B(alpha, beta + t) / B(alpha,
beta), and the retention rate r(t) = (beta + t - 1) / (alpha + beta + t - 1) rises with t: the survivors are the
customers with low theta, which a constant-retention projection misses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

DEGENERATE_BOUND = 1e4  # alpha or beta past this (or below 1 / this): the likelihood has no interior maximum
# On the log scale the optimiser works on, a little past the bound: a fit that gets there is degenerate wherever it
# would stop, so it stops there (on uniform data the likelihood climbs without end, for thousands of iterations).
_LOG_STOP = float(np.log(DEGENERATE_BOUND)) + 1.0


@dataclass
class SBGFit:
    alpha: float
    beta: float
    log_likelihood: float
    periods: int  # periods observed in the fit

    @property
    def degenerate(self) -> bool:
        """The parameters ran to their bounds: every customer looks alike (alpha + beta without limit, the Beta
        collapses to a point) or the optimiser left the usable range; alpha and beta are then not estimates."""
        values = (self.alpha, self.beta)
        return not all(np.isfinite(values)) or any(v > DEGENERATE_BOUND or v < 1 / DEGENERATE_BOUND for v in values)

    def survival(self, t: np.ndarray | float) -> np.ndarray:
        """S(t): share still active after t periods."""
        t = np.asarray(t, dtype=float)
        return np.exp(special.betaln(self.alpha, self.beta + t) - special.betaln(self.alpha, self.beta))

    def retention_rate(self, t: np.ndarray | float) -> np.ndarray:
        """r(t) = S(t) / S(t - 1): the share of those active at t - 1 who renew at t."""
        t = np.asarray(t, dtype=float)
        return (self.beta + t - 1) / (self.alpha + self.beta + t - 1)

    def project(self, cohort_size: float, periods: range) -> list[float]:
        return [float(cohort_size * self.survival(t)) for t in periods]

    def derl(self, renewals: int, discount: float) -> float:
        """Discounted expected residual lifetime of a customer who has made `renewals` renewals (n - 1), in
        multiples of the per-period cash flow received at each renewal (Fader & Hardie 2010, eq. 6)."""
        n = renewals + 1
        a, b = self.alpha, self.beta
        return float((b + n - 1) / (a + b + n - 1) * special.hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + discount)))


def sbg_log_likelihood(alpha: float, beta: float, lost: np.ndarray, survivors_at: np.ndarray) -> float:
    """`lost[t-1]` customers churned in period t (t = 1..len); `survivors_at[t]` were still active after t periods
    and then censored (their end not yet seen)."""
    lost = np.asarray(lost, dtype=float)
    survivors_at = np.asarray(survivors_at, dtype=float)
    t = np.arange(1, lost.size + 1, dtype=float)
    base = special.betaln(alpha, beta)
    log_p = special.betaln(alpha + 1, beta + t - 1) - base
    log_s = special.betaln(alpha, beta + np.arange(survivors_at.size, dtype=float)) - base
    return float(lost @ log_p + survivors_at @ log_s)


def fit_sbg(lost: np.ndarray, survivors_at: np.ndarray) -> SBGFit:
    """Maximum likelihood on counts; parameters estimated on the log scale so they stay positive."""
    lost = np.asarray(lost, dtype=float)
    survivors_at = np.asarray(survivors_at, dtype=float)

    def negative(params: np.ndarray) -> float:
        a, b = np.exp(params)
        return -sbg_log_likelihood(a, b, lost, survivors_at)

    def stop_past_the_bound(intermediate_result: optimize.OptimizeResult) -> None:
        if np.any(np.abs(intermediate_result.x) > _LOG_STOP):
            raise StopIteration

    best = None
    for start in ((0.0, 0.0), (-1.0, 1.0), (1.0, 2.0)):  # later starts only if the first does not converge
        result = optimize.minimize(
            negative,
            np.array(start),
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-9, "maxiter": 4000},
            callback=stop_past_the_bound,
        )
        if best is None or result.fun < best.fun:
            best = result
        if best.success or np.any(np.abs(best.x) > _LOG_STOP):  # converged, or degenerate from any start
            break
    assert best is not None
    alpha, beta = np.exp(best.x)
    return SBGFit(float(alpha), float(beta), -float(best.fun), int(lost.size))


def fit_sbg_from_alive(alive: list[float]) -> SBGFit:
    """Fit from a cohort's count of customers alive at the start of periods 0..n (the published layout)."""
    alive_arr = np.asarray(alive, dtype=float)
    lost = alive_arr[:-1] - alive_arr[1:]
    survivors = np.zeros(alive_arr.size)
    survivors[-1] = alive_arr[-1]
    return fit_sbg(lost, survivors)
