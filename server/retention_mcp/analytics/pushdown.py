"""The subscription analysis as Ibis expressions, run where the table lives: the customer table normalised, periods
and cohorts, Kaplan-Meier counts, segments, sBG counts and MRR sums are aggregated by the database; only those
aggregates come back, and the fits (survival, log-rank, sBG) run on them here, as for a file.

A database table has types: dates are DATE or TIMESTAMP columns (or ISO text), amounts and tenure numbers, the
churned flag a boolean, a number or one of the words a file may hold."""

from __future__ import annotations

from datetime import date
from typing import Any

from retention_mcp.analytics.loading import DataError, Mapping
from retention_mcp.analytics.mrr import mrr_from_sums
from retention_mcp.analytics.numbers import INTERVAL_WORDS, unit_of_name
from retention_mcp.analytics.report import Absent, ChurnReport
from retention_mcp.analytics.request import (
    DAYS_PER_MONTH,
    MAX_SEGMENT_VALUES,
    MONTHLY_AMOUNT_NAMES,
    PERIOD_MONTHS,
    TENURE_UNITS,
    AnalysisRequest,
    Progress,
    parse_day,
)
from retention_mcp.analytics.retention_models import sbg_from_counts, survival_from_counts
from retention_mcp.analytics.roles import normalise
from retention_mcp.analytics.segments import drivers_of, risk_groups_from, segment_from_counts
from retention_mcp.analytics.shape import COMPUTED
from retention_mcp.analytics.subscriptions import cohorts_from_counts
from retention_mcp.analytics.values import FALSE_WORDS, TRUE_WORDS
from retention_mcp.analytics.warehouse import Warehouse

MISSING = "(missing)"


def _date(t: Any, column: str) -> Any:
    value = t[column]
    kind = value.type()
    if kind.is_timestamp():
        return value.date()
    if kind.is_date():
        return value
    if kind.is_string():
        return value.strip().nullif("").cast("date")
    raise DataError(f"{column}: a date needs a DATE, TIMESTAMP or text column / {column} 应为日期、时间戳或文本列")


def _number(t: Any, column: str) -> Any:
    value = t[column]
    if not value.type().is_numeric():
        raise DataError(f"{column}: a number needs a numeric column / {column} 应为数值列")
    return value.cast("float64")


def _flag(t: Any, column: str) -> Any:
    import ibis

    value = t[column]
    kind = value.type()
    if kind.is_boolean():
        return value
    if kind.is_numeric():
        return value != 0
    text = value.cast("string").strip().lower()
    return ibis.cases((text.isin(TRUE_WORDS), True), (text.isin(FALSE_WORDS), False), else_=ibis.null("boolean"))


def _months_per_interval(t: Any, column: str) -> Any:
    import ibis

    text = t[column].cast("string").strip().lower()
    by_months: dict[float, list[str]] = {}
    for word, months in INTERVAL_WORDS.items():
        by_months.setdefault(months, []).append(word)
    return ibis.cases(*((text.isin(words), months) for months, words in by_months.items()), else_=ibis.null("float64"))


def whole_periods(start: Any, end: Any, months: int, exact: bool) -> Any:
    """As subscriptions.periods_between: the period (1-based) a customer who left on `end` churned in, or
    (exact=False) the whole calendar periods completed by `end`."""
    import ibis

    end_is_last = (end + ibis.interval(days=1)).month() != end.month()
    short = (end.day() < start.day()) & ~end_is_last
    whole_months = (end.year() - start.year()) * 12 + end.month() - start.month() - ibis.ifelse(short, 1, 0)
    whole = whole_months // months
    if not exact:
        return whole
    on_day = (end.day() == start.day()) | (end_is_last & (start.day() > end.day()))
    on_boundary = (whole_months % months == 0) & on_day
    return ibis.cases((on_boundary & (whole >= 1), whole), else_=whole + 1)


def customers_expr(t: Any, mapping: Mapping, request: AnalysisRequest, observation_end: date | None, unit: str) -> Any:
    """One row per customer, as the file path's `customers` table: churned, end_seen, tenure_t and sbg_t."""
    import ibis

    roles = mapping.roles
    base = base_expr(t, mapping, request)
    obs = ibis.literal(observation_end) if observation_end else None
    keep = ibis.literal(True)
    if obs is not None and roles.get("start_date"):
        keep = base.start_date.isnull() | (base.start_date <= obs)
    if roles.get("churned"):
        keep = keep & base.flag.notnull()
    base = base.filter(keep)
    end_seen = ibis.ifelse(base.end_date <= obs, base.end_date, ibis.null("date")) if obs is not None else base.end_date
    base = base.mutate(end_seen=end_seen)
    base = base.mutate(churned=base.flag if roles.get("churned") else base.end_seen.notnull())
    unit_days, months = TENURE_UNITS[unit], PERIOD_MONTHS[request.period]
    if roles.get("start_date"):
        to_obs = (
            [(~base.churned, obs.delta(base.start_date, unit="day").cast("float64") / unit_days)]
            if obs is not None
            else []
        )
        tenure = ibis.cases(
            (base.start_date.isnull(), base.tenure_given),
            (
                base.churned & base.end_seen.notnull(),
                base.end_seen.delta(base.start_date, unit="day").cast("float64") / unit_days,
            ),
            (base.churned, base.tenure_given),
            *to_obs,
            else_=base.tenure_given,
        )
    else:
        tenure = base.tenure_given
    base = base.mutate(tenure_t=tenure)
    in_periods = base.tenure_t * (unit_days / DAYS_PER_MONTH / months)
    by_dates = []
    if roles.get("start_date"):
        dated = base.start_date.notnull()
        by_dates.append(
            (
                dated & base.churned & base.end_seen.notnull(),
                whole_periods(base.start_date, base.end_seen, months, True),
            )
        )
        if obs is not None:
            by_dates.append((dated & ~base.churned, whole_periods(base.start_date, obs, months, False)))
    sbg_t = ibis.cases(
        *by_dates,
        (base.churned, ibis.greatest((in_periods - 1e-9).ceil(), 1)),
        else_=(in_periods + 1e-9).floor(),
    ).cast("int64")
    return base.mutate(sbg_t=sbg_t)


def base_expr(t: Any, mapping: Mapping, request: AnalysisRequest) -> Any:
    """The roles read into typed columns, segment candidates kept as they are."""
    import ibis

    roles = mapping.roles
    amount = _number(t, roles["amount"]) if roles.get("amount") else ibis.null("float64")
    monthly = not roles.get("amount") or normalise(roles["amount"]) in MONTHLY_AMOUNT_NAMES
    if not monthly and roles.get("billing_interval"):
        amount = amount / _months_per_interval(t, roles["billing_interval"])
    columns = {
        "customer_id": t[roles["customer_id"]].cast("string") if roles.get("customer_id") else ibis.null("string"),
        "start_date": _date(t, roles["start_date"]) if roles.get("start_date") else ibis.null("date"),
        "end_date": _date(t, roles["end_date"]) if roles.get("end_date") else ibis.null("date"),
        "flag": _flag(t, roles["churned"]) if roles.get("churned") else ibis.null("boolean"),
        "mrr": amount,
        "tenure_given": _number(t, roles["tenure"]) if roles.get("tenure") else ibis.null("float64"),
    }
    used = {v for k, v in roles.items() if k != "plan"}
    kept = {c: t[c] for c in t.columns if c not in used and c.lower() not in COMPUTED}
    return t.select(**columns, **kept)


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


def segment_key(c: Any, column: str, kind: str, t: Any, wh: Warehouse) -> Any:
    """Each customer's segment value: the category, or the quartile of a numeric column (labels as for a file)."""
    import ibis

    value = c[column]
    if kind == "category":
        return value.cast("string").fill_null(MISSING)
    number = value.cast("float64")
    cuts = wh.one(c.aggregate(q1=number.quantile(0.25), q2=number.quantile(0.5), q3=number.quantile(0.75)))
    if cuts["q1"] is None:
        return ibis.literal(MISSING)
    q1, q2, q3 = (round(float(cuts[k]), 4) for k in ("q1", "q2", "q3"))
    return ibis.cases(
        (number.isnull(), MISSING),
        (number <= q1, f"Q1 (<= {q1:g})"),
        (number <= q2, f"Q2 ({q1:g}-{q2:g}]"),
        (number <= q3, f"Q3 ({q2:g}-{q3:g}]"),
        else_=f"Q4 (> {q3:g})",
    )


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


# -- the aggregates a table sends back (tests/unit/test_warehouse_sql.py compiles each for every dialect) ---------------
def period_grid(c: Any, period: str) -> Any:
    """Customers by the period they started and the period they left (null: still active)."""
    import ibis

    unit = period[0].upper()
    grid = c.filter(c.start_date.notnull()).mutate(
        s=c.start_date.truncate(unit), e=ibis.ifelse(c.churned, c.end_seen.truncate(unit), ibis.null("date"))
    )
    return grid.group_by(["s", "e"]).aggregate(n=grid.count())


def segment_counts(c: Any, key: Any) -> Any:
    """Customers and churned customers by one segment's value."""
    g = c.mutate(v=key)
    return g.group_by("v").aggregate(n=g.count(), d=g.churned.sum().cast("int64"))


def timed_customers(c: Any) -> Any:
    """Customers with a tenure, rounded to 0.01 of the unit (the Kaplan-Meier event times)."""
    return c.filter(c.tenure_t.notnull()).mutate(t=c.tenure_t.round(2))


def km_counts_expr(timed: Any, by: list[str]) -> Any:
    """Events and customers at each time (per group `by`): the Kaplan-Meier and log-rank counts."""
    return (
        timed.group_by([*by, "t"]).aggregate(d=timed.churned.sum().cast("int64"), n=timed.count()).order_by([*by, "t"])
    )


def sbg_counts(c: Any) -> Any:
    """Customers lost and still active by the number of periods they stayed: the sBG counts."""
    p = c.filter(c.sbg_t.notnull())
    return (
        p.group_by(p.sbg_t.name("p"))
        .aggregate(lost=p.churned.sum().cast("int64"), active=(~p.churned).sum().cast("int64"))
        .order_by("p")
    )


def mrr_window(c: Any, start: date, end: date) -> Any:
    """MRR at the start of a window, lost in it and new in it."""
    import ibis

    s, e = ibis.literal(start), ibis.literal(end)
    return c.aggregate(
        starting=c.mrr.sum(where=(c.start_date < s) & ~(c.churned & (c.end_seen < s))),
        churned=c.mrr.sum(where=(c.start_date < s) & c.churned & (c.end_seen >= s) & (c.end_seen < e)),
        new=c.mrr.sum(where=(c.start_date >= s) & (c.start_date < e)),
    )


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
    observation_end = observation_end_of(t, mapping, request, wh)
    base = base_expr(t, mapping, request)
    obs = ibis.literal(observation_end) if observation_end else None
    checks = {
        "rows": base.count(),
        "ids": base.customer_id.nunique(),
        "backwards": (base.end_date < base.start_date).sum().cast("int64"),
        "later": (base.start_date > obs).sum().cast("int64") if obs is not None else ibis.literal(0),
        "unknown": base.flag.isnull().sum().cast("int64") if roles.get("churned") else ibis.literal(0),
        "scheduled": (base.end_date > obs).sum().cast("int64") if obs is not None else ibis.literal(0),
        "negative": (base.tenure_given < 0).sum().cast("int64"),
    }
    first = wh.one(base.aggregate(**checks))
    if first["ids"] != first["rows"]:
        raise DataError(
            f"{wh.source}: {first['rows'] - first['ids']} row(s) repeat a customer id in {roles['customer_id']}; keep "
            f"one row per customer / 客户编号有重复"
        )
    if first["backwards"]:
        raise DataError(
            f"{first['backwards']} customer(s) end before they start: check {roles['start_date']} and "
            f"{roles['end_date']} / 有 {first['backwards']} 个客户的结束日期早于开始日期"
        )
    if first["negative"]:
        raise DataError(f"{roles['tenure']}: {first['negative']} negative tenure(s) / 有负的在网时长")
    notes = [f"aggregated in the database: {wh.source} / 在数据库中聚合:{wh.source}"]
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
        period = request.period
        rows = wh.fetch(period_grid(c, period))
        cohorts_from_counts(list(zip(rows["s"], rows["e"], rows["n"], strict=True)), report, observation_end, period)
    else:
        reason = "when customers left, or when they started, is not known / 不知道客户何时开始或流失"
        report.absent += [Absent(name="periods", reason=reason), Absent(name="cohorts", reason=reason)]
    say("Segments and drivers")
    kinds = dict(segment_columns(t, mapping, wh))
    keys = {column: segment_key(c, column, kind, t, wh) for column, kind in kinds.items()}
    for column, key in keys.items():
        rows = wh.fetch(segment_counts(c, key))
        # ordered here, by code point as DuckDB orders text, whatever the database's collation
        by_value = sorted(zip(rows["v"], rows["n"], rows["d"], strict=True))
        segment = segment_from_counts(column, kinds[column], by_value, report)
        if segment:
            report.segments.append(segment)
    report.drivers = drivers_of(report.segments)
    if not keys:
        report.absent.append(
            Absent(
                name="segments",
                reason="no categorical or numeric column besides the roles / 除已识别角色外没有分类或数值列",
            )
        )

    def count(rule: list[tuple[str, str]]) -> tuple:
        where = c.filter([keys[column] == value for column, value in rule])
        got = wh.one(where.aggregate(n=where.count(), d=where.churned.sum(), a=(~where.churned).sum()))
        return int(got["n"]), int(got["d"] or 0), int(got["a"] or 0)

    report.high_risk = risk_groups_from(report, count)
    if counts["churned_unknown"]:
        reason = f"{counts['churned_unknown']} churned customers have no end date or tenure / 已流失客户缺少生命周期"
        report.absent += [Absent(name="survival", reason=reason), Absent(name="sbg", reason=reason)]
    else:
        say("Survival curves")
        timed = timed_customers(c)

        def km_counts(expr: Any, by: list[str]) -> dict:
            rows = wh.fetch(km_counts_expr(expr, by))
            import numpy as np

            return {k: np.asarray(v, dtype=object if k == "g" else float) for k, v in rows.items()}

        def by_group(column: str) -> dict:
            return km_counts(timed.mutate(g=keys[column]), ["g"])

        survival_from_counts(km_counts(timed, []), by_group, report, curves, unit)
        say("Retention model (sBG)")
        rows = wh.fetch(sbg_counts(c))
        import numpy as np

        sbg_from_counts({k: np.asarray(v) for k, v in rows.items()}, report, request.period)
    if roles.get("amount") and observation_end is not None:
        say("MRR movements")
        current = (
            wh.one(c.aggregate(v=c.mrr.sum(where=~c.churned & (c.start_date.isnull() | (c.start_date <= obs)))))["v"]
            or 0.0
        )
        first_start = wh.one(c.aggregate(v=c.start_date.min(where=c.start_date <= obs)))["v"]

        def window_sums(start: date, end: date) -> tuple:
            sums = wh.one(mrr_window(c, start, end))
            return tuple(float(sums[k] or 0.0) for k in ("starting", "churned", "new"))

        mrr_from_sums(report, observation_end, current, first_start, window_sums)
    else:
        report.absent.append(Absent(name="mrr", reason="no amount/MRR column or no dates / 没有金额列或日期"))
    report.absent += [
        Absent(
            name="bgnbd", reason="subscription data: BG/NBD needs repeat transactions / 订阅数据:BG/NBD 需要重复交易"
        ),
        Absent(name="rfm", reason="subscription data: RFM needs transactions / 订阅数据:RFM 需要交易记录"),
    ]
    return report
