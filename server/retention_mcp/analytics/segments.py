"""Segments, drivers and high-risk groups: churn per value of each segment column, with Wilson intervals and a
chi-square test, ranked."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from retention_mcp.analytics.loading import (
    Mapping,
    Table,
    quote,
)
from retention_mcp.analytics.numbers import (
    is_numeric,
)
from retention_mcp.analytics.report import (
    ChurnReport,
    Driver,
    RiskGroup,
    Segment,
    SegmentValue,
)
from retention_mcp.analytics.request import MAX_SEGMENT_VALUES
from retention_mcp.analytics.shape import (
    COMPUTED,
)


def segments_to_read(table: Table, mapping: Mapping) -> list[tuple[str, str]]:
    roles = mapping.roles
    used = {v for k, v in roles.items() if k != "plan"}
    if mapping.segments:
        candidates = mapping.segments + (
            [roles["plan"]] if roles.get("plan") and roles["plan"] not in mapping.segments else []
        )
    else:
        candidates = [c for c in table.columns if c not in used and c.lower() not in COMPUTED]
    if not candidates:
        return []
    counts = table.con.execute(
        "SELECT " + ", ".join(f"approx_count_distinct({quote(c)})" for c in candidates) + " FROM data"
    ).fetchone()
    out = []
    for column, distinct in zip(candidates, counts, strict=True):
        kind = table.types[column].upper()
        numeric = is_numeric(kind)
        if numeric and distinct > MAX_SEGMENT_VALUES:
            out.append((column, "quartile"))
        elif 2 <= distinct <= MAX_SEGMENT_VALUES and not kind.startswith(("DATE", "TIMESTAMP")):
            out.append((column, "category"))
    return out


def segment_key(column: str, kind: str, con) -> str:
    """SQL giving each customer's segment value: the category, or the quartile of a numeric column."""
    quoted = quote(column)
    if kind == "category":
        return f"coalesce(CAST({quoted} AS VARCHAR), '(missing)')"
    cuts = con.execute(
        f"SELECT quantile_cont({quoted}, [0.25, 0.5, 0.75]) FROM customers WHERE isfinite(CAST({quoted} AS DOUBLE))"
    ).fetchone()[0]
    if cuts is None:  # no finite value: one group, never a segment
        return "'(missing)'"
    q1, q2, q3 = (round(float(c), 4) for c in cuts)
    expr = (
        f"CASE WHEN NOT coalesce(isfinite(CAST({quoted} AS DOUBLE)), false) THEN '(missing)' WHEN {quoted} <= {q1} THEN 'Q1 (<= {q1:g})' "
        f"WHEN {quoted} <= {q2} THEN 'Q2 ({q1:g}-{q2:g}]' WHEN {quoted} <= {q3} THEN 'Q3 ({q2:g}-{q3:g}]' "
        f"ELSE 'Q4 (> {q3:g})' END"
    )
    return expr


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def chi_square(table: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-square test of independence for a contingency table (no continuity correction)."""
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    return statistic, float(special.chdtrc(dof, statistic))


def segment_of(con, column: str, kind: str, key: str, report: ChurnReport) -> Segment | None:
    rows = con.execute(
        f"SELECT {key} AS v, count(*), count(*) FILTER (WHERE churned) FROM customers GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return segment_from_counts(column, kind, rows, report)


def segment_from_counts(column: str, kind: str, rows: list, report: ChurnReport) -> Segment | None:
    """A segment from (value, customers, churned) rows ordered by value, wherever they were counted."""
    if len(rows) < 2:
        return None
    base = (report.churned or 0) / report.customers if report.customers else 0
    values = []
    for value, n, churned in rows:
        low, high = wilson(churned, n)
        rate = churned / n
        values.append(
            SegmentValue(
                value=str(value),
                customers=int(n),
                churned=int(churned),
                churn_rate=round(rate, 6),
                ci_low=round(low, 6),
                ci_high=round(high, 6),
                lift=round(rate / base, 4) if base else 0.0,
            )
        )
    table = np.array([[v.churned, v.customers - v.churned] for v in values], dtype=float)
    if (table.sum(axis=0) == 0).any():
        v, p = 0.0, 1.0
    else:
        chi2, p = chi_square(table)
        v = math.sqrt(chi2 / (table.sum() * (min(table.shape) - 1)))
    return Segment(column=column, kind=kind, values=values, cramers_v=round(v, 6), p_value=float(p))


def drivers_of(segments: list[Segment]) -> list[Driver]:
    ranked = sorted(segments, key=lambda s: -s.cramers_v)
    drivers = []
    for s in ranked:
        if s.p_value >= 0.05:
            continue
        riskiest = max((v for v in s.values if v.customers >= 10), key=lambda v: v.lift, default=s.values[0])
        drivers.append(
            Driver(
                column=s.column,
                cramers_v=s.cramers_v,
                p_value=s.p_value,
                riskiest_value=riskiest.value,
                lift=riskiest.lift,
            )
        )
    return drivers


def risk_groups(con, report: ChurnReport, keys: dict[str, str]) -> list[RiskGroup]:
    def count(rule: list[tuple[str, str]]) -> tuple:
        where = " AND ".join(f"{keys[column]} = ?" for column, _ in rule)
        return con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE churned), count(*) FILTER (WHERE NOT churned) "
            f"FROM customers WHERE {where}",
            [value for _, value in rule],
        ).fetchone()

    return risk_groups_from(report, count)


def risk_groups_from(report: ChurnReport, count) -> list[RiskGroup]:
    """Rules over one or two driver values; `count(rule)` gives (customers, churned, active) of the customers with
    every (column, value) of the rule, wherever they are counted."""
    if not report.customers or not report.churned:
        return []
    minimum = max(30, int(report.customers * 0.005))
    by_column = {s.column: s for s in report.segments}
    conditions: list[tuple[str, str]] = []  # (column, value)
    for driver in report.drivers[:4]:
        segment = by_column[driver.column]
        for value in segment.values:
            if value.lift >= 1.2 and value.customers >= minimum:
                conditions.append((segment.column, value.value))
    rules = [[c] for c in conditions]
    rules += [[a, b] for i, a in enumerate(conditions) for b in conditions[i + 1 :] if a[0] != b[0]]
    base = report.churned / report.customers
    groups = []
    for rule in rules:
        n, churned, active = count(rule)
        if n < minimum:
            continue
        rate = churned / n
        groups.append(
            RiskGroup(
                rule=" AND ".join(f"{column} = {value}" for column, value in rule),
                customers=int(n),
                share=round(n / report.customers, 4),
                churned=int(churned),
                churn_rate=round(rate, 6),
                lift=round(rate / base, 4),
                active_now=int(active),
            )
        )
    groups.sort(key=lambda g: (-g.churn_rate, -g.customers))
    return groups[:8]
