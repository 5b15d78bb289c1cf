"""Subscription data: churn per period, cohorts, and the steps each analysis of a subscription file runs, in order
(segments, survival and sBG, MRR)."""

from __future__ import annotations

from datetime import date

from retention_mcp.analytics.cohorts import cohorts_from_counts
from retention_mcp.analytics.loading import DataError, Mapping, Table, quote, row_name
from retention_mcp.analytics.mrr import mrr_at_end
from retention_mcp.analytics.numbers import (
    amount_reading,
    duration_reading,
    interval_expression,
)
from retention_mcp.analytics.report import (
    Absent,
    ChurnReport,
    no_transactions,
)
from retention_mcp.analytics.request import (
    DAYS_PER_MONTH,
    MONTHLY_AMOUNT_NAMES,
    PERIOD_MONTHS,
    TENURE_UNITS,
    AnalysisRequest,
    Progress,
    parse_day,
)
from retention_mcp.analytics.retention_models import sbg_fit, survival_curves
from retention_mcp.analytics.roles import normalise
from retention_mcp.analytics.segments import drivers_of, risk_groups, segment_key, segment_of, segments_to_read
from retention_mcp.analytics.shape import (
    check_ids,
    hidden_columns,
)
from retention_mcp.analytics.values import (
    bad_durations,
    date_expression,
    flag_expression,
)


def observation_end_of(con, request: AnalysisRequest, has_dates: bool) -> date | None:
    """`as_of` when given; else the latest start or end date that is not after today."""
    as_of = parse_day(request.as_of, "as_of")
    if as_of or not has_dates:
        return as_of
    today = request.today or date.today()
    found = con.execute(
        "SELECT max(d) FROM (SELECT start_date AS d FROM base UNION ALL SELECT end_date FROM base) WHERE d <= ?",
        [today],
    ).fetchone()[0]
    if (
        found is None
        and con.execute("SELECT count(*) FROM base WHERE coalesce(start_date, end_date) IS NOT NULL").fetchone()[0]
    ):
        raise DataError(
            f"Every date in the file is after today ({today}); pass the observation end with --as-of YYYY-MM-DD "
            f"(tool: as_of) / 文件中所有日期都晚于今天,请用 --as-of 指定观察截止日"
        )
    return found


def periods_between(start: str, end: str, months: int, exact: bool) -> str:
    """SQL: the period (1-based) a customer who left on `end` churned in, or (exact=False) the whole periods an
    active customer has completed by `end`. Whole periods are calendar ones: a customer who started on 15 March and
    cancels on their anniversary, 15 March a year later, churned at the end of period 1 (of a year)."""
    whole_months = (
        f"((year({end}) - year({start})) * 12 + month({end}) - month({start}) - "
        f"CASE WHEN day({end}) < day({start}) AND {end} <> last_day({end}) THEN 1 ELSE 0 END)"
    )
    whole = f"({whole_months} // {months})"
    if not exact:
        return whole
    on_boundary = f"({whole_months} % {months} = 0 AND CAST({start} + to_months({whole_months}) AS DATE) = {end})"
    return f"(CASE WHEN {on_boundary} AND {whole} >= 1 THEN {whole} ELSE {whole} + 1 END)"


def analyze_subscriptions(
    table: Table, mapping: Mapping, say: Progress, curves: dict, request: AnalysisRequest
) -> ChurnReport:
    roles = mapping.roles
    if not (roles.get("start_date") or roles.get("tenure")) or not (roles.get("end_date") or roles.get("churned")):
        needed = "a start date (or tenure) and an end/cancel date (or a churned flag)"
        raise DataError(
            f"To measure churn the file needs {needed}. Columns found: {', '.join(table.columns)}. Name them with "
            f"start_date_column and end_date_column (CLI: --map start_date=COLUMN) / "
            f"需要开始日期(或在网时长)以及结束日期(或流失标记)"
        )
    con = table.con
    read_notes: list[str] = []
    cid = quote(roles["customer_id"])
    check_ids(table, roles["customer_id"], read_notes)
    fmt, zone = request.date_format, request.timezone
    start = (
        date_expression(table, roles["start_date"], fmt, zone, read_notes)
        if roles.get("start_date")
        else "CAST(NULL AS DATE)"
    )
    end = (
        date_expression(table, roles["end_date"], fmt, zone, read_notes)
        if roles.get("end_date")
        else "CAST(NULL AS DATE)"
    )
    flags = flag_expression(table, roles["churned"]) if roles.get("churned") else None
    amount = amount_reading(table, roles.get("amount"), request.decimal)
    read_notes += amount.notes
    monthly_already = not roles.get("amount") or normalise(roles["amount"]) in MONTHLY_AMOUNT_NAMES
    interval = (
        "1.0" if monthly_already else interval_expression(table, roles.get("billing_interval"), amount.expression)
    )
    unit = request.tenure_unit or "month"
    tenure = "CAST(NULL AS DOUBLE)"
    if roles.get("tenure"):
        given = duration_reading(table, roles["tenure"], request.tenure_unit, request.decimal)
        tenure, unit = given.expression, given.unit or unit
        read_notes += given.notes
        bad_durations(con, tenure, roles["tenure"])
    period = request.period
    unit_days, months = TENURE_UNITS[unit], PERIOD_MONTHS[period]
    hidden = hidden_columns(table, mapping, read_notes)
    con.execute(
        f"CREATE TEMP VIEW base AS SELECT CAST({cid} AS VARCHAR) AS customer_id, {start} AS start_date, {end} AS end_date,"
        f" {flags.expression if flags else 'NULL'} AS flag, {amount.expression} / {interval} AS mrr, {tenure} AS "
        f"tenure_given, * EXCLUDE ({', '.join(dict.fromkeys([cid, *map(quote, hidden)]))}) FROM data"
    )
    if roles.get("start_date") and roles.get("end_date"):
        bad = con.execute(f"SELECT count(*), min(rowid) FROM data WHERE {end} < {start}").fetchone()
        if bad[0]:
            raise DataError(
                f"{bad[0]} customer(s) end before they start (first on {row_name(bad[1])}): check "
                f"{roles['start_date']} and {roles['end_date']} / 有 {bad[0]} 个客户的结束日期早于开始日期"
            )
    has_dates = bool(roles.get("start_date") or roles.get("end_date"))
    observation_end = observation_end_of(con, request, has_dates)
    notes: list[str] = read_notes
    obs = f"DATE '{observation_end}'" if observation_end else None
    keep = "true"
    if obs and roles.get("start_date"):
        later = con.execute(f"SELECT count(*) FROM base WHERE start_date > {obs}").fetchone()[0]
        if later:
            notes.append(
                f"{later} customer(s) start after the observation end ({observation_end}) and are left out / "
                f"{later} 个客户的开始日期晚于观察截止日({observation_end}),未计入"
            )
            keep = f"(start_date IS NULL OR start_date <= {obs})"
    unknown = 0
    if flags:
        unknown = con.execute(f"SELECT count(*) FROM base WHERE {keep} AND flag IS NULL").fetchone()[0]
        if unknown:
            notes.append(
                f"{unknown} customer(s) have an unknown churn flag in {roles['churned']} (blank, NA or another "
                f"word) and are left out of every rate / {unknown} 个客户的流失标记未知(空白、NA 或其他取值),"
                f"不计入任何比率"
            )
            keep += " AND flag IS NOT NULL"
    if obs and roles.get("end_date"):
        scheduled = con.execute(f"SELECT count(*) FROM base WHERE {keep} AND end_date > {obs}").fetchone()[0]
        if scheduled:
            notes.append(
                f"{scheduled} end date(s) fall after the observation end ({observation_end}): scheduled, not churn / "
                f"{scheduled} 个结束日期晚于观察截止日({observation_end}):属于计划中的结束,不算流失"
            )
    end_seen = f"CASE WHEN end_date <= {obs} THEN end_date END" if obs else "end_date"
    churned_expr = "flag" if flags else "(end_seen IS NOT NULL)"
    per_unit = f"/ {unit_days}"
    if roles.get("start_date"):
        tenure_expr = (
            f"CASE WHEN start_date IS NULL THEN tenure_given "
            f"WHEN churned AND end_seen IS NOT NULL THEN date_diff('day', start_date, end_seen) {per_unit} "
            f"WHEN churned THEN tenure_given "
            + (f"ELSE date_diff('day', start_date, {obs}) {per_unit} END" if obs else "ELSE tenure_given END")
        )
        by_dates = (
            f"WHEN start_date IS NOT NULL AND churned AND end_seen IS NOT NULL "
            f"THEN {periods_between('start_date', 'end_seen', months, True)} "
        )
        if obs:
            by_dates += (
                f"WHEN start_date IS NOT NULL AND NOT churned THEN {periods_between('start_date', obs, months, False)} "
            )
    else:
        tenure_expr = "tenure_given"
        by_dates = ""
    in_periods = f"(tenure_t * {unit_days / DAYS_PER_MONTH / months!r})"  # tenure in the unit -> periods
    sbg_expr = (
        f"CAST(CASE {by_dates}WHEN churned THEN greatest(1, ceil({in_periods} - 1e-9)) "
        f"ELSE floor({in_periods} + 1e-9) END AS INTEGER)"
    )
    con.execute(
        f"CREATE TABLE customers AS SELECT *, {sbg_expr} AS sbg_t FROM (SELECT *, {tenure_expr} AS tenure_t FROM "
        f"(SELECT *, {churned_expr} AS churned FROM (SELECT *, {end_seen} AS end_seen FROM base WHERE {keep})))"
    )
    missing_tenure, churned_unknown = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE churned) FROM customers WHERE tenure_t IS NULL"
    ).fetchone()
    customers, churned = con.execute("SELECT count(*), count(*) FILTER (WHERE churned) FROM customers").fetchone()
    if not customers:
        raise DataError(
            f"No customer is left to analyse: {'; '.join(n.partition(' / ')[0] for n in notes)}. Check as_of "
            f"(--as-of) and the churn flag / 没有可分析的客户,请检查观察截止日与流失标记"
        )
    report = ChurnReport(
        source=table.source,
        rows=table.rows,
        mode="subscriptions",
        columns=dict(roles) | ({"segments": ", ".join(mapping.segments)} if mapping.segments else {}),
        observation_end=str(observation_end) if observation_end else None,
        period=period,
        customers=int(customers),
        active=int(customers - churned),
        churned=int(churned),
        churn_share=round(churned / customers, 6) if customers else None,
        unknown_churn=int(unknown) if flags else None,
        notes=notes,
    )
    active_unknown = missing_tenure - churned_unknown
    if active_unknown:
        report.absent.append(
            Absent(
                name="tenure",
                reason=f"{active_unknown} customers have no start date or tenure / {active_unknown} 个客户没有开始日期或在网时长",
            )
        )
    undated = (
        con.execute("SELECT count(*) FROM customers WHERE churned AND end_seen IS NULL").fetchone()[0]
        if roles.get("end_date")
        else 0
    )
    if roles.get("start_date") and roles.get("end_date") and observation_end is not None and customers and not undated:
        say("Churn per period and cohorts")
        periods_and_cohorts(con, report, observation_end, period)
    elif roles.get("start_date") and undated:
        reason = (
            f"{undated} churned customers have no end date (on or before {observation_end}): when they left is "
            f"unknown / {undated} 个已流失客户没有结束日期,不知道何时流失"
        )
        report.absent += [Absent(name="periods", reason=reason), Absent(name="cohorts", reason=reason)]
    elif roles.get("start_date"):
        report.absent += [
            Absent(
                name="periods", reason="no end date: when customers left is unknown / 没有结束日期,不知道客户何时流失"
            ),
            Absent(
                name="cohorts", reason="no end date: when customers left is unknown / 没有结束日期,不知道客户何时流失"
            ),
        ]
    else:
        report.absent += [
            Absent(name="periods", reason="no start date: churn per period needs one / 没有开始日期,无法计算每期流失"),
            Absent(name="cohorts", reason="no start date: cohorts need one / 没有开始日期,无法划分同期群"),
        ]
    say("Segments and drivers")
    segment_columns = segments_to_read(table, mapping)
    keys = {column: segment_key(column, kind, con) for column, kind in segment_columns}
    report.segments = [
        s for s in (segment_of(con, column, kind, keys[column], report) for column, kind in segment_columns) if s
    ]
    report.drivers = drivers_of(report.segments)
    report.high_risk = risk_groups(con, report, keys)
    if not segment_columns:
        report.absent.append(
            Absent(
                name="segments",
                reason="no categorical or numeric column besides the roles / 除已识别角色外没有分类或数值列",
            )
        )
    if churned_unknown:
        reason = (
            f"{churned_unknown} churned customers have no end date (on or before the observation end) or tenure, so "
            f"lifetimes are unknown / "
            f"{churned_unknown} 个已流失客户没有结束日期或在网时长,无法得知其生命周期"
        )
        report.absent += [Absent(name="survival", reason=reason), Absent(name="sbg", reason=reason)]
    else:
        say("Survival curves")
        survival_curves(con, report, curves, keys, unit)
        say("Retention model (sBG)")
        sbg_fit(con, report, period)
    if roles.get("amount") and observation_end is not None:
        say("MRR movements")
        mrr_at_end(con, report, observation_end)
    elif roles.get("amount"):
        report.absent.append(
            Absent(name="mrr", reason="no dates: MRR needs an observation end / 没有日期,无法计算 MRR")
        )
    else:
        report.absent.append(Absent(name="mrr", reason="no amount/MRR column / 没有金额或 MRR 列"))
    report.absent += no_transactions()
    return report


def periods_and_cohorts(con, report: ChurnReport, observation_end, period: str = "month") -> None:
    rows = con.execute(
        f"SELECT date_trunc('{period}', start_date) AS s, CASE WHEN churned THEN date_trunc('{period}', end_seen) END "
        "AS e, count(*) FROM customers WHERE start_date IS NOT NULL GROUP BY ALL"
    ).fetchall()
    cohorts_from_counts(rows, report, observation_end, period)
