"""The aggregate steps of a subscription analysis over the customers relation `c`, run by `run` (anything with the
`fetch` and `one` of a Warehouse): each step's expression (expressions.py) is aggregated where the data are, and its
counts go to the fit and report code a file's counts go to."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from retention_mcp.analytics.cohorts import cohorts_from_counts
from retention_mcp.analytics.expressions import (
    km_counts_expr,
    mrr_window,
    period_grid,
    sbg_counts,
    segment_counts,
    segment_key,
    timed_customers,
)
from retention_mcp.analytics.mrr import mrr_from_sums
from retention_mcp.analytics.report import ChurnReport
from retention_mcp.analytics.retention_models import sbg_from_counts, survival_from_counts
from retention_mcp.analytics.segments import drivers_of, risk_groups_from, segment_from_counts


def _arrays(run: Any, expr: Any) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=object if k == "g" else float) for k, v in run.fetch(expr).items()}


def cohorts_step(run: Any, c: Any, report: ChurnReport, observation_end: date, period: str) -> None:
    rows = run.fetch(period_grid(c, period))
    cohorts_from_counts(list(zip(rows["s"], rows["e"], rows["n"], strict=True)), report, observation_end, period)


def segments_step(run: Any, c: Any, kinds: dict[str, str], report: ChurnReport) -> dict[str, Any]:
    """Segments, drivers and high-risk groups; gives each segment column's key (the value of each customer)."""
    keys = {column: segment_key(c, column, kind, run) for column, kind in kinds.items()}
    for column, key in keys.items():
        rows = run.fetch(segment_counts(c, key))
        # ordered here, by code point as DuckDB orders text, whatever the database's collation
        by_value = sorted(zip(rows["v"], rows["n"], rows["d"], strict=True))
        segment = segment_from_counts(column, kinds[column], by_value, report)
        if segment:
            report.segments.append(segment)
    report.drivers = drivers_of(report.segments)

    def count(rule: list[tuple[str, str]]) -> tuple:
        where = c.filter([keys[column] == value for column, value in rule])
        got = run.one(where.aggregate(n=where.count(), d=where.churned.sum(), a=(~where.churned).sum()))
        return int(got["n"]), int(got["d"] or 0), int(got["a"] or 0)

    report.high_risk = risk_groups_from(report, count)
    return keys


def survival_step(run: Any, c: Any, keys: dict[str, Any], report: ChurnReport, curves: dict, unit: str) -> None:
    timed = timed_customers(c)

    def by_group(column: str) -> dict:
        return _arrays(run, km_counts_expr(timed.mutate(g=keys[column]), ["g"]))

    survival_from_counts(_arrays(run, km_counts_expr(timed, [])), by_group, report, curves, unit)


def sbg_step(run: Any, c: Any, report: ChurnReport, period: str) -> None:
    sbg_from_counts(_arrays(run, sbg_counts(c)), report, period)


def mrr_step(run: Any, c: Any, report: ChurnReport, observation_end: date) -> None:
    import ibis

    obs = ibis.literal(observation_end)
    active = ~c.churned & (c.start_date.isnull() | (c.start_date <= obs))
    now = run.one(c.aggregate(current=c.mrr.sum(where=active), first=c.start_date.min(where=c.start_date <= obs)))

    def window_sums(start: date, end: date) -> tuple:
        sums = run.one(mrr_window(c, start, end))
        return tuple(float(sums[k] or 0.0) for k in ("starting", "churned", "new"))

    mrr_from_sums(report, observation_end, now["current"] or 0.0, now["first"], window_sums)
