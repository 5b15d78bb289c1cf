"""The subscription analysis of a database table, run where the table lives: the steps (expressions.py) are aggregated
by the database; only those aggregates come back, and the fits (survival, log-rank, sBG) run on them here, as for a
file."""

from __future__ import annotations

from datetime import date
from typing import Any

from retention_mcp.analytics.expressions import (
    _date,
    base_expr,
    customers_expr,
    integer_dates_checked,
    intervals_read,
)
from retention_mcp.analytics.loading import DataError, Mapping
from retention_mcp.analytics.numbers import unit_of_name
from retention_mcp.analytics.report import Absent, ChurnReport, no_transactions
from retention_mcp.analytics.request import MAX_SEGMENT_VALUES, AnalysisRequest, Progress, parse_day
from retention_mcp.analytics.shape import COMPUTED
from retention_mcp.analytics.steps import cohorts_step, mrr_step, sbg_step, segments_step, survival_step
from retention_mcp.analytics.warehouse import Warehouse


def segment_columns(t: Any, mapping: Mapping, wh: Warehouse) -> list[tuple[str, str]]:
    roles = mapping.roles
    used = {v for k, v in roles.items() if k != "plan"}
    if mapping.segments:
        extra = [roles["plan"]] if roles.get("plan") and roles["plan"] not in mapping.segments else []
        candidates = mapping.segments + extra
    else:
        candidates = [c for c in t.columns if c not in used and c.lower() not in COMPUTED]
    if not candidates:
        return []
    counts = wh.one(t.aggregate(**{f"n{i}": t[c].nunique() for i, c in enumerate(candidates)}))
    out = []
    for i, column in enumerate(candidates):
        kind, distinct = t[column].type(), counts[f"n{i}"]
        if kind.is_numeric() and not kind.is_boolean() and distinct > MAX_SEGMENT_VALUES:
            out.append((column, "quartile"))
        elif 2 <= distinct <= MAX_SEGMENT_VALUES and not (kind.is_date() or kind.is_timestamp()):
            out.append((column, "category"))
    return out


def observation_end_of(t: Any, mapping: Mapping, request: AnalysisRequest, wh: Warehouse) -> date | None:
    """`as_of` when given; else the latest start or end date that is not after today."""
    import ibis

    as_of = parse_day(request.as_of, "as_of")
    dates = [_date(t, mapping.roles[r]) for r in ("start_date", "end_date") if mapping.roles.get(r)]
    if as_of or not dates:
        return as_of
    today = ibis.literal(request.today or date.today())
    found = wh.one(t.aggregate(**{f"d{i}": d.max(where=d <= today) for i, d in enumerate(dates)}))
    latest = max((d for d in found.values() if d is not None), default=None)
    if latest is None:
        raise DataError(
            f"{wh.source}: no date up to today; pass the observation end with --as-of YYYY-MM-DD (tool: as_of) / "
            f"没有不晚于今天的日期,请用 --as-of 指定观察截止日"
        )
    return latest


def exact_repeats_once(wh: Warehouse, t: Any, counts: dict[str, Any], column: str, notes: list[str]) -> Any:
    """One row per customer (`counts` has the table's rows and distinct ids): rows that repeat another row exactly
    are read once, with a note, as in a file; an id on rows that differ is a DataError naming the column."""
    distinct = t.distinct()
    rows = int(wh.one(distinct.aggregate(n=distinct.count()))["n"])
    if rows != counts["ids"]:
        raise DataError(
            f"{wh.source}: {counts['rows'] - counts['ids']} row(s) repeat a customer id in {column}; keep one row per "
            f"customer / 客户编号有重复"
        )
    copies = counts["rows"] - rows
    notes.append(
        f"{column}: {copies} row(s) repeat another row exactly and are read once / {column}:{copies} 行与另一行完全相同,"
        f"只计一次"
    )
    return distinct


def analyze_table(
    wh: Warehouse, mapping: Mapping, say: Progress, curves: dict, request: AnalysisRequest
) -> ChurnReport:
    """The subscription analysis of a database table: every step aggregated in the database."""
    import ibis

    t, roles = wh.table, mapping.roles
    if not (roles.get("start_date") or roles.get("tenure")) or not (roles.get("end_date") or roles.get("churned")):
        raise DataError(
            f"To measure churn the table needs a start date (or tenure) and an end/cancel date (or a churned flag). "
            f"Columns found: {', '.join(t.columns)}. Name them with --map start_date=COLUMN (tool: "
            f"start_date_column) / 需要开始日期(或在网时长)以及结束日期(或流失标记)"
        )
    if not roles.get("customer_id"):
        raise DataError(
            f"A table needs a customer id column; columns found: {', '.join(t.columns)}. Name it with --map "
            f"customer_id=COLUMN / 表需要客户编号列"
        )
    unit = request.tenure_unit or (unit_of_name(roles["tenure"]) if roles.get("tenure") else None) or "month"
    say("Counting customers in the database")
    integer_dates_checked(wh, t, [roles.get("start_date"), roles.get("end_date")])
    t = intervals_read(wh, t, mapping)
    observation_end = observation_end_of(t, mapping, request, wh)
    obs = ibis.literal(observation_end) if observation_end else None

    def checked(t: Any) -> dict[str, Any]:
        base = base_expr(t, mapping, request)
        checks = {
            "rows": base.count(),
            "ids": base.customer_id.nunique(),
            "backwards": (base.end_date < base.start_date).sum().cast("int64"),
            "later": (base.start_date > obs).sum().cast("int64") if obs is not None else ibis.literal(0),
            "unknown": base.flag.isnull().sum().cast("int64") if roles.get("churned") else ibis.literal(0),
            "scheduled": (base.end_date > obs).sum().cast("int64") if obs is not None else ibis.literal(0),
            "negative": (base.tenure_given < 0).sum().cast("int64"),
        }
        return wh.one(base.aggregate(**checks))

    notes = [f"aggregated in the database: {wh.source} / 在数据库中聚合:{wh.source}"]
    first = checked(t)
    if first["ids"] != first["rows"]:
        t = exact_repeats_once(wh, t, first, roles["customer_id"], notes)
        first = checked(t)
    if first["backwards"]:
        raise DataError(
            f"{first['backwards']} customer(s) end before they start: check {roles['start_date']} and "
            f"{roles['end_date']} / 有 {first['backwards']} 个客户的结束日期早于开始日期"
        )
    if first["negative"]:
        raise DataError(f"{roles['tenure']}: {first['negative']} negative tenure(s) / 有负的在网时长")
    if first["later"]:
        notes.append(
            f"{first['later']} customer(s) start after the observation end ({observation_end}) and are left out / "
            f"{first['later']} 个客户的开始日期晚于观察截止日({observation_end}),未计入"
        )
    if first["unknown"]:
        notes.append(
            f"{first['unknown']} customer(s) have an unknown churn flag in {roles['churned']} and are left out of "
            f"every rate / {first['unknown']} 个客户的流失标记未知,不计入任何比率"
        )
    if first["scheduled"]:
        notes.append(
            f"{first['scheduled']} end date(s) fall after the observation end ({observation_end}): scheduled, not churn"
            f" / {first['scheduled']} 个结束日期晚于观察截止日({observation_end}):属于计划中的结束,不算流失"
        )
    c = customers_expr(t, mapping, request, observation_end, unit)
    counts = wh.one(
        c.aggregate(
            customers=c.count(),
            churned=c.churned.sum().cast("int64"),
            missing_tenure=c.tenure_t.isnull().sum().cast("int64"),
            churned_unknown=(c.tenure_t.isnull() & c.churned).sum().cast("int64"),
            undated=(c.churned & c.end_seen.isnull()).sum().cast("int64"),
        )
    )
    customers, churned = int(counts["customers"]), int(counts["churned"] or 0)
    if not customers:
        raise DataError("No customer is left to analyse; check as_of and the churn flag / 没有可分析的客户")
    report = ChurnReport(
        source=wh.source,
        rows=int(first["rows"]),
        mode="subscriptions",
        columns=dict(roles) | ({"segments": ", ".join(mapping.segments)} if mapping.segments else {}),
        observation_end=str(observation_end) if observation_end else None,
        period=request.period,
        customers=customers,
        active=customers - churned,
        churned=churned,
        churn_share=round(churned / customers, 6),
        unknown_churn=int(first["unknown"]) if roles.get("churned") else None,
        notes=notes,
    )
    if roles.get("start_date") and roles.get("end_date") and observation_end is not None and not counts["undated"]:
        say("Churn per period and cohorts")
        cohorts_step(wh, c, report, observation_end, request.period)
    else:
        reason = "when customers left, or when they started, is not known / 不知道客户何时开始或流失"
        report.absent += [Absent(name="periods", reason=reason), Absent(name="cohorts", reason=reason)]
    say("Segments and drivers")
    kinds = dict(segment_columns(t, mapping, wh))
    keys = segments_step(wh, c, kinds, report)
    if not keys:
        report.absent.append(
            Absent(
                name="segments",
                reason="no categorical or numeric column besides the roles / 除已识别角色外没有分类或数值列",
            )
        )

    if counts["churned_unknown"]:
        reason = f"{counts['churned_unknown']} churned customers have no end date or tenure / 已流失客户缺少生命周期"
        report.absent += [Absent(name="survival", reason=reason), Absent(name="sbg", reason=reason)]
    else:
        say("Survival curves")
        survival_step(wh, c, keys, report, curves, unit)
        say("Retention model (sBG)")
        sbg_step(wh, c, report, request.period)
    if roles.get("amount") and observation_end is not None:
        say("MRR movements")
        mrr_step(wh, c, report, observation_end)
    else:
        report.absent.append(Absent(name="mrr", reason="no amount/MRR column or no dates / 没有金额列或日期"))
    report.absent += no_transactions()
    return report
