"""Survival and the shifted-beta-geometric model: Kaplan-Meier curves and medians, log-rank tests between segment
values, and the sBG fit with its retention projections."""

from __future__ import annotations

import math

import numpy as np

from retention_mcp.analytics.report import (
    SBG,
    Absent,
    ChurnReport,
    GroupSurvival,
    LogRankResult,
    Segment,
    Survival,
    SurvivalPoint,
)
from retention_mcp.analytics.request import DISCOUNT, LIKELIHOOD_RATIO_5PCT, PERIOD_ZH

UNIT_PLURAL = {"day": "days", "week": "weeks", "month": "months", "year": "years"}


GROUP_COMPARISONS = 8  # segments given a log-rank test, strongest first


GROUP_CURVES = 3  # drivers given medians by value


def ranked(segments: list[Segment]) -> list[Segment]:
    """Segments by the measure `drivers` uses (Cramér's V, strongest first; ties by column name)."""
    return sorted(segments, key=lambda s: (-s.cramers_v, s.column))


OVERALL_POINTS = 60  # the curve of all customers, thinned to about this many points
GROUP_POINTS = 30  # each group's curve of the strongest driver (the interactive view draws them)


def curve_points(km, limit: int) -> list[SurvivalPoint]:
    """A Kaplan-Meier curve as about `limit` evenly spaced points of its event times, the last one always kept."""
    if km.times.size == 0:  # a group with no event time of its own
        return []
    step = max(1, km.times.size // limit)
    picks = sorted(set(range(0, km.times.size, step)) | {km.times.size - 1})
    return [
        SurvivalPoint(
            month=round(float(km.times[i]), 2),
            survival=round(float(km.survival[i]), 4),
            lower=round(float(km.lower[i]), 4),
            upper=round(float(km.upper[i]), 4),
            at_risk=int(km.at_risk[i]),
        )
        for i in picks
    ]


def survival_curves(con, report: ChurnReport, curves: dict, keys: dict[str, str], unit: str = "month") -> None:
    """Kaplan-Meier and log-rank from counts aggregated in DuckDB (tenure rounded to 0.01 of the unit)."""
    overall = con.execute(
        "SELECT round(tenure_t, 2) AS t, count(*) FILTER (WHERE churned) AS d, count(*) AS n "
        "FROM customers WHERE tenure_t IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchnumpy()

    def by_group(column: str) -> dict:
        return con.execute(
            f"SELECT {keys[column]} AS g, round(tenure_t, 2) AS t, count(*) FILTER (WHERE churned) AS d, count(*) AS n "
            f"FROM customers WHERE tenure_t IS NOT NULL GROUP BY ALL"
        ).fetchnumpy()

    survival_from_counts(overall, by_group, report, curves, unit)


def survival_from_counts(overall: dict, by_group, report: ChurnReport, curves: dict, unit: str = "month") -> None:
    """Kaplan-Meier and log-rank from counts: `overall` holds arrays t, d (churned), n (customers) by time ordered
    by t; `by_group(column)` the same with g, the segment value, wherever they were counted."""
    from retention_mcp.analytics.survival import kaplan_meier_counts, log_rank_counts

    if overall["t"].size == 0 or not overall["d"].any():
        report.absent.append(
            Absent(
                name="survival",
                reason="no churn observed / 没有观察到流失" if overall["t"].size else "no tenure / 没有在网时长",
            )
        )
        return
    times = overall["t"].astype(float)
    km = kaplan_meier_counts(times, overall["d"], overall["n"])
    survival = Survival(
        unit=UNIT_PLURAL[unit],
        median=round(km.median, 2) if km.median is not None else None,
        points=curve_points(km, OVERALL_POINTS),
    )
    curves["all customers"] = km
    curve_columns = [d.column for d in report.drivers[:GROUP_CURVES]]
    for segment in ranked(report.segments)[:GROUP_COMPARISONS]:
        rows = by_group(segment.column)
        values, group_index = np.unique(np.asarray(rows["g"], dtype=str), return_inverse=True)
        time_index = np.searchsorted(times, rows["t"].astype(float))
        events = np.zeros((times.size, values.size))
        removed = np.zeros((times.size, values.size))
        np.add.at(events, (time_index, group_index), rows["d"])
        np.add.at(removed, (time_index, group_index), rows["n"])
        test = log_rank_counts(events, removed)
        if test is None:
            report.absent.append(
                Absent(
                    name=f"survival.log_rank.{segment.column}",
                    reason="no churn while two or more customers were at risk: the log-rank test has nothing to "
                    "compare / 没有在两名及以上客户处于风险期时发生的流失,log-rank 检验无从比较",
                )
            )
            continue
        survival.log_rank.append(
            LogRankResult(column=segment.column, statistic=round(test.statistic, 4), dof=test.dof, p_value=test.p_value)
        )
        if segment.column in curve_columns:
            by_value = []
            for g, value in enumerate(values):
                group_km = kaplan_meier_counts(times, events[:, g], removed[:, g])
                if segment.column == curve_columns[0]:
                    curves[f"{segment.column} = {value}"] = group_km
                strongest = segment.column == curve_columns[0]
                by_value.append(
                    GroupSurvival(
                        value=str(value),
                        customers=int(removed[:, g].sum()),
                        median=round(group_km.median, 2) if group_km.median is not None else None,
                        points=curve_points(group_km, GROUP_POINTS) if strongest else None,
                    )
                )
            survival.by_segment[segment.column] = by_value
    survival.by_segment = {c: survival.by_segment[c] for c in curve_columns if c in survival.by_segment}
    report.survival = survival


DEGENERATE_SIZE = 1e4  # alpha + beta beyond this: Beta(alpha, beta) is a point mass, the model a constant rate


def sbg_fit(con, report: ChurnReport, period: str = "month") -> None:
    counts = con.execute(
        "SELECT sbg_t AS p, count(*) FILTER (WHERE churned) AS lost, count(*) FILTER (WHERE NOT churned) AS active "
        "FROM customers WHERE sbg_t IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchnumpy()
    sbg_from_counts(counts, report, period)


def sbg_from_counts(counts: dict, report: ChurnReport, period: str = "month") -> None:
    """The sBG fit from arrays p (whole periods), lost and active, wherever they were counted."""
    from retention_mcp.analytics.sbg import fit_sbg

    periods = counts["p"].astype(int)
    if counts["lost"].sum() < 5 or (counts["lost"].sum() + counts["active"].sum()) < 20:
        report.absent.append(
            Absent(
                name="sbg",
                reason="too few customers or churn events to fit the model / 客户或流失事件太少,无法拟合模型",
            )
        )
        return
    horizon = int(periods.max()) + 1
    # a customer who churned in period t (1-based) completed t - 1 whole periods; an active one survived p
    lost = np.zeros(horizon + 1)
    np.add.at(lost, periods, counts["lost"])
    survivors = np.zeros(horizon + 1)
    np.add.at(survivors, periods, counts["active"])
    fit = fit_sbg(lost[1:], survivors)
    t = np.arange(1, horizon + 1)
    exposure = float(lost[1:] @ t + survivors @ np.arange(horizon + 1))
    churn = float(lost.sum() / exposure) if exposure else 1.0
    # the constant-rate (geometric) model is the sBG's limit as alpha + beta grows: when the fit runs that way, or
    # does no better than it (likelihood-ratio test, 5%), rising retention is not something the data show
    with np.errstate(divide="ignore", invalid="ignore"):
        geometric = float(
            lost[1:] @ (np.log(churn) + (t - 1) * np.log1p(-churn))
            + survivors @ (np.arange(horizon + 1) * np.log1p(-churn))
        )
    no_better = 2 * (fit.log_likelihood - geometric) < LIKELIHOOD_RATIO_5PCT
    degenerate = fit.alpha + fit.beta > DEGENERATE_SIZE or min(fit.alpha, fit.beta) < 1e-4 or no_better
    discount = DISCOUNT[period]
    runaway = fit.degenerate  # alpha or beta at its bounds: not estimates at all
    if degenerate:
        keep = 1.0 - churn
        first_year = [keep] * 12
        survival = [keep**k for k in range(1, 25)]
        derl = {str(n): round(keep / (1 + discount - keep) * (1 + discount), 3) for n in range(13)}
    else:
        first_year = [float(x) for x in fit.retention_rate(np.arange(1, 13))]
        # S(t) as the product of r(1..t): the same function, without the betaln difference that loses every digit
        # when alpha and beta are huge
        survival = [float(x) for x in np.cumprod(fit.retention_rate(np.arange(1, 25)))]
        derl = {str(n): round(v, 3) for n in range(13) if math.isfinite(v := fit.derl(n, discount))}
    constant = [first_year[0] ** k for k in range(1, 25)]
    report.sbg = SBG(
        alpha=None if runaway else round(fit.alpha, 6),
        beta=None if runaway else round(fit.beta, 6),
        log_likelihood=None if runaway else round(fit.log_likelihood, 4),
        period=period,
        note=(
            "degenerate fit: no spread in churn propensity between customers shows in the data, so the model reduces "
            "to a constant churn rate"
            + ("; alpha and beta ran to their bounds and are not estimates" if runaway else "")
            + " / 拟合退化:数据未显示客户之间流失倾向的差异,模型退化为固定流失率"
            + (";alpha 与 beta 已达边界,不是有效估计" if runaway else "")
            if degenerate
            else ""
        ),
        retention_rate=[round(x, 4) for x in first_year],
        projected_survival=[round(x, 4) for x in survival],
        constant_rate_projection=[round(x, 4) for x in constant],
        derl=derl,
        discount_rate=discount,
        degenerate=bool(degenerate),
        reduces_to=(
            f"constant retention of {1 - churn:.1%} per {period} (geometric model): the data show no sign that "
            f"customers who stay longer are more loyal / 每{PERIOD_ZH[period]}固定留存率 {1 - churn:.1%}(几何模型):"
            f"数据未显示留存越久越忠诚"
            if degenerate
            else None
        ),
        constant_retention=round(1 - churn, 6),
    )
