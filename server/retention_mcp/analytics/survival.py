"""Kaplan-Meier survival with a confidence band, the median lifetime, and the log-rank test between groups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass
class KaplanMeier:
    times: np.ndarray  # distinct event times, ascending
    survival: np.ndarray  # S(t) just after each event time
    lower: np.ndarray  # 95% band (Greenwood variance, log(-log) transform)
    upper: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    n: int
    all_times: np.ndarray | None = None  # every distinct time, censored ones too (ascending)
    removed: np.ndarray | None = None  # customers leaving the risk set at each of all_times

    def at_risk_at(self, t: float) -> int:
        """Customers still at risk just before time t (for the numbers under a chart)."""
        if self.all_times is None or self.removed is None:
            raise ValueError("at_risk_at needs the counts at every time")
        gone = self.removed[self.all_times < t].sum()
        return round(float(self.n - gone))

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
    times, inverse = np.unique(durations, return_inverse=True)
    events = np.bincount(inverse, weights=np.asarray(observed, dtype=float), minlength=times.size)
    removed = np.bincount(inverse, minlength=times.size).astype(float)
    return kaplan_meier_counts(times, events, removed, z)


def kaplan_meier_counts(times: np.ndarray, events: np.ndarray, removed: np.ndarray, z: float = 1.959964) -> KaplanMeier:
    """The same from counts per distinct time (ascending): churn events, and all who leave the risk set then."""
    times, events, removed = (np.asarray(v, dtype=float) for v in (times, events, removed))
    all_times, all_removed = times, removed
    n = int(removed.sum())
    at_risk = n - np.concatenate(([0.0], np.cumsum(removed)[:-1]))
    keep = events > 0
    times, events, at_risk = times[keep], events[keep], at_risk[keep]
    survival = np.cumprod(1.0 - events / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(events / (at_risk * (at_risk - events)))
        log_s = np.log(survival)
        se = np.sqrt(greenwood) / np.abs(log_s)
        lower = np.exp(-np.exp(np.log(-log_s) + z * se))
        upper = np.exp(-np.exp(np.log(-log_s) - z * se))
    lower = np.where(survival > 0, np.nan_to_num(lower, nan=0.0), 0.0)
    upper = np.where(survival > 0, np.nan_to_num(upper, nan=1.0), 0.0)
    return KaplanMeier(times, survival, lower, upper, at_risk.astype(int), events, n, all_times, all_removed)


@dataclass
class LogRank:
    statistic: float  # chi-square with groups - 1 degrees of freedom
    dof: int
    p_value: float


def log_rank(durations: np.ndarray, observed: np.ndarray, groups: np.ndarray) -> LogRank | None:
    """The log-rank test that all groups share one survival curve (Mantel-Haenszel, k groups)."""
    durations = np.asarray(durations, dtype=float)
    observed = np.asarray(observed, dtype=float)
    _, group_index = np.unique(np.asarray(groups), return_inverse=True)
    times, time_index = np.unique(durations, return_inverse=True)
    k = int(group_index.max()) + 1 if group_index.size else 0
    events = np.zeros((times.size, k))
    removed = np.zeros((times.size, k))
    np.add.at(events, (time_index, group_index), observed)
    np.add.at(removed, (time_index, group_index), 1.0)
    return log_rank_counts(events, removed)


def log_rank_counts(events: np.ndarray, removed: np.ndarray) -> LogRank | None:
    """The same from counts: rows are distinct times (ascending), columns groups; `removed` counts events and
    censored customers together. None when the data hold no information for the test (no event while two or more
    customers were at risk): a statistic of 0 would claim "no difference" without any evidence."""
    events = np.asarray(events, dtype=float)
    removed = np.asarray(removed, dtype=float)
    k = events.shape[1]
    if k < 2:
        return LogRank(0.0, 0, 1.0)
    at_risk = removed.sum(axis=0) - np.vstack((np.zeros((1, k)), np.cumsum(removed, axis=0)[:-1]))
    n = at_risk.sum(axis=1)
    d = events.sum(axis=1)
    valid = (n > 1) & (d > 0)
    n, d, at_risk, events = n[valid], d[valid], at_risk[valid], events[valid]
    expected = at_risk * (d / n)[:, None]
    observed_minus_expected = (events - expected).sum(axis=0)
    factor = d * (n - d) / (n * n * (n - 1))
    share = at_risk * factor[:, None]
    # V = sum_t f_t (n_t diag(n_gt) - n_gt n_ht)
    variance = np.diag((share * n[:, None]).sum(axis=0)) - (at_risk.T * factor) @ at_risk
    # drop one group: the remaining k-1 form a full-rank system when every group was at risk at some event; with
    # groups that never were (tiny files), the test is on the groups that carry information (rank of V, as with a
    # generalized inverse)
    reduced = variance[:-1, :-1]
    dof = int(np.linalg.matrix_rank(reduced)) if reduced.size else 0
    if dof == 0:
        return None
    if dof == k - 1:
        stat = float(observed_minus_expected[:-1] @ np.linalg.solve(reduced, observed_minus_expected[:-1]))
    else:
        stat = float(observed_minus_expected[:-1] @ np.linalg.pinv(reduced) @ observed_minus_expected[:-1])
    return LogRank(stat, dof, float(special.chdtrc(dof, stat)))
