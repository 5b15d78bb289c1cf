"""Churn per period and cohorts from counts of customers by the period they started and the period they left."""

from __future__ import annotations

import numpy as np

from retention_mcp.analytics.report import ChurnReport, Cohorts, Period
from retention_mcp.analytics.request import PERIOD_MONTHS, last_full_month, months_between, period_label


def cohorts_from_counts(rows: list, report: ChurnReport, observation_end, period: str = "month") -> None:
    """Periods and cohorts from (start period, end period or None, customers) counts, wherever they were counted."""
    step = PERIOD_MONTHS[period]
    first = min(r[0] for r in rows)
    months = months_between(first, observation_end, step)
    index = {ym: i for i, ym in enumerate(months)}
    n = len(months)
    # grid[s, e]: customers who started in period s and ended in period e (column n: not ended)
    grid = np.zeros((n, n + 1), dtype=np.int64)
    for s, e, count in rows:
        grid[index[(s.year, s.month)], n if e is None else index[(e.year, e.month)]] += count
    starts = grid.sum(axis=1)
    ended = grid[:, :n].sum(axis=0)
    ended_same_month = np.diag(grid[:, :n])
    started_before = np.concatenate(([0], np.cumsum(starts)[:-1]))
    ended_before = np.concatenate(([0], np.cumsum(ended)[:-1]))
    at_start = started_before - ended_before
    lost = ended - ended_same_month
    last_full = last_full_month(n, observation_end, step)
    periods = []
    for i, (y, m) in enumerate(months):
        rate = float(lost[i] / at_start[i]) if at_start[i] else None
        periods.append(
            Period(
                month=f"{y:04d}-{m:02d}",
                period=period_label(y, m, period),
                active_at_start=int(at_start[i]),
                new=int(starts[i]),
                churned=int(lost[i]),
                churn_rate=round(rate, 6) if rate is not None else None,
                active_at_end=int(at_start[i] + starts[i] - ended[i]),
            )
        )
    report.periods = periods
    full = slice(0, last_full + 1)
    if at_start[full].sum():
        report.churn_rate = round(float(lost[full].sum() / at_start[full].sum()), 6)
    # cohorts: share of each signup cohort not yet ended at the start of its k-th period after signup
    retention: list[list[float | None]] = []
    for s in range(n):
        size = starts[s]
        retention.append([round(float(1 - grid[s, s : s + k].sum() / size), 4) if size else None for k in range(n - s)])
    report.cohorts = Cohorts(months=[p.period for p in periods], sizes=[int(x) for x in starts], retention=retention)
