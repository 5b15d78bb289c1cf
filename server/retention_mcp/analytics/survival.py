"""Kaplan-Meier survival with a confidence band, the median lifetime, and the log-rank test between groups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass
class KaplanMeier:
    times: np.ndarray  # distinct event times, ascending
    survival: np.ndarray  # S(t) just after each event time
    lower: np.ndarray  # 95% band (Greenwood variance, log(-log) transform)
    upper: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    n: int

    @property
    def median(self) -> float | None:
        """The first time S(t) falls to 0.5 or below; None while more than half survive."""
        hit = np.nonzero(self.survival <= 0.5 + 1e-12)[0]
        return float(self.times[hit[0]]) if hit.size else None

    def at(self, t: float) -> float:
        """S(t) as a step function."""
        index = np.searchsorted(self.times, t, side="right") - 1
        return 1.0 if index < 0 else float(self.survival[index])


def kaplan_meier(durations: np.ndarray, observed: np.ndarray, z: float = 1.959964) -> KaplanMeier:
    """Product-limit estimate. `observed` is 1 where the end was seen (churn), 0 where it was censored."""
    durations = np.asarray(durations, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    times, inverse = np.unique(durations, return_inverse=True)
    events = np.bincount(inverse, weights=observed, minlength=times.size)
    removed = np.bincount(inverse, minlength=times.size)
    at_risk = durations.size - np.concatenate(([0], np.cumsum(removed)[:-1]))
    keep = events > 0
    times, events, at_risk = times[keep], events[keep], at_risk[keep]
    factors = 1.0 - events / at_risk
    survival = np.cumprod(factors)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(events / (at_risk * (at_risk - events)))
        log_s = np.log(survival)
        se = np.sqrt(greenwood) / np.abs(log_s)
        lower = np.exp(-np.exp(np.log(-log_s) + z * se))
        upper = np.exp(-np.exp(np.log(-log_s) - z * se))
    lower = np.where(survival > 0, np.nan_to_num(lower, nan=0.0), 0.0)
    upper = np.where(survival > 0, np.nan_to_num(upper, nan=1.0), 0.0)
    return KaplanMeier(times, survival, lower, upper, at_risk, events, int(durations.size))


@dataclass
class LogRank:
    statistic: float  # chi-square with groups - 1 degrees of freedom
    dof: int
    p_value: float


def log_rank(durations: np.ndarray, observed: np.ndarray, groups: np.ndarray) -> LogRank:
    """The log-rank test that all groups share one survival curve (Mantel-Haenszel, k groups)."""
    durations = np.asarray(durations, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    labels, group_index = np.unique(np.asarray(groups), return_inverse=True)
    k = labels.size
    if k < 2:
        return LogRank(0.0, 0, 1.0)
    times = np.unique(durations[observed])
    # at risk and events per (time, group)
    at_risk = np.empty((times.size, k))
    events = np.empty((times.size, k))
    for g in range(k):
        d_g = durations[group_index == g]
        o_g = observed[group_index == g]
        sorted_d = np.sort(d_g)
        at_risk[:, g] = d_g.size - np.searchsorted(sorted_d, times, side="left")
        event_times = np.sort(d_g[o_g])
        events[:, g] = np.searchsorted(event_times, times, side="right") - np.searchsorted(
            event_times, times, side="left"
        )
    n = at_risk.sum(axis=1)
    d = events.sum(axis=1)
    valid = n > 1
    n, d, at_risk, events = n[valid], d[valid], at_risk[valid], events[valid]
    expected = at_risk * (d / n)[:, None]
    observed_minus_expected = (events - expected).sum(axis=0)
    factor = (d * (n - d) / (n * n * (n - 1)))[:, None, None]
    share = at_risk[:, :, None]
    variance = (factor * (n[:, None, None] * np.eye(k)[None] * share - share * share.transpose(0, 2, 1))).sum(axis=0)
    # drop one group: the remaining k-1 form a full-rank system
    stat = float(observed_minus_expected[:-1] @ np.linalg.solve(variance[:-1, :-1], observed_minus_expected[:-1]))
    dof = k - 1
    return LogRank(stat, dof, float(stats.chi2.sf(stat, dof)))
