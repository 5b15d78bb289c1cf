"""One analysis, start to finish: read the file, map the columns, build a clean customer table in DuckDB, aggregate
there, and fit the models on the aggregates with numpy and scipy."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from scipy import special

from retention_mcp.analytics.limits import AnalysisStopped, Cancellation, LimitError, Limits
from retention_mcp.analytics.loading import (
    DataError,
    Mapping,
    Table,
    check_data_path,
    date_expression,
    flag_expression,
    map_columns,
    normalise,
    open_table,
    quote,
    row_name,
)
from retention_mcp.analytics.report import (
    BGNBD,
    MRR,
    RFM,
    SBG,
    Absent,
    ChurnReport,
    Cohorts,
    Driver,
    GroupSurvival,
    LogRankResult,
    MRRMonth,
    Period,
    RiskGroup,
    Segment,
    SegmentValue,
    Survival,
    SurvivalPoint,
)

DAYS_PER_MONTH = 365.25 / 12
MAX_SEGMENT_VALUES = 20
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "REAL")
INTERVAL_MONTHS = {"month": 1, "monthly": 1, "月": 1, "月付": 1, "quarter": 3, "quarterly": 3, "季": 3, "季付": 3,
                   "year": 12, "yearly": 12, "annual": 12, "annually": 12, "年": 12, "年付": 12}  # fmt: skip

MONTHLY_AMOUNT_NAMES = {"mrr", "monthly_revenue", "monthly_charges", "monthlycharges", "月费", "月收入", "月度收入"}

Progress = Callable[[str], None]


@dataclass
class AnalysisRequest:
    path: str | None = None
    csv_text: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # role -> column
    segments: list[str] = field(default_factory=list)
    delimiter: str | None = None
    charts: bool = False  # also draw PNG charts


@dataclass
class Analysis:
    report: ChurnReport
    charts: dict[str, bytes] = field(default_factory=dict)  # file name -> PNG


def analyze(
    request: AnalysisRequest,
    data_dirs: list[Path],
    progress: Progress | None = None,
    cancel: Cancellation | None = None,
    limits: Limits | None = None,
) -> Analysis:
    """Analyse a file or inline CSV; raise DataError with a clear message when the data cannot support it.

    Bounded by `limits` (default: from the environment); `cancel` lets another thread stop it (AnalysisStopped)."""
    limits = limits or Limits.from_env()
    own = cancel is None
    cancel = cancel or Cancellation(limits.timeout)
    try:
        analysis = _analyze(request, data_dirs, progress or (lambda _message: None), cancel, limits)
        # the report as it will be serialised: numbers that are not finite or break the schema's bounds are blanked
        # with a reason in `absent` (see finite.py), so the summary never prints them either
        analysis.report = ChurnReport.model_validate(analysis.report.model_dump())
        return analysis
    except Exception as exc:
        if cancel.reason is not None and not isinstance(exc, AnalysisStopped):
            raise cancel.error() from None  # DuckDB interrupted mid-query
        if type(exc).__name__ == "OutOfMemoryException":  # duckdb's, raised by a query after the file was read
            raise LimitError(
                f"The analysis needs more memory than {limits.memory} (RETENTION_MCP_DUCKDB_MEMORY) / "
                f"分析所需内存超过 {limits.memory} 的上限(RETENTION_MCP_DUCKDB_MEMORY)"
            ) from None
        raise
    finally:
        if own:
            cancel.close()


def _analyze(request: AnalysisRequest, data_dirs: list[Path], progress: Progress, cancel, limits) -> Analysis:
    def say(message: str) -> None:
        cancel.check()
        progress(message)

    if bool(request.path) == bool(request.csv_text):
        raise DataError("Give either a file path or inline CSV text / 请提供文件路径或内联 CSV 文本(二选一)")
    checked = check_data_path(request.path, data_dirs) if request.path else None
    say("Reading the data")
    table = open_table(checked, request.csv_text, request.delimiter, limits, cancel)
    try:
        mapping = map_columns(table.columns, request.columns, request.segments)
        if not mapping.get("customer_id"):
            raise DataError(
                "No customer id column found; name it with columns={'customer_id': ...} (CLI: --map "
                f"customer_id=COLUMN). Columns found: {', '.join(table.columns)} / 找不到客户编号列"
            )
        _dates_are_ends(table, mapping)
        curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        subscription_roles = ("start_date", "end_date", "churned", "tenure")
        only_orders = mapping.get("transaction_date") and not any(mapping.get(r) for r in subscription_roles)
        may_repeat = mapping.get("transaction_date") or (mapping.get("month") and mapping.get("amount"))
        repeats = bool(may_repeat) and not only_orders and _has_repeats(table, mapping)
        if only_orders or (mapping.get("transaction_date") and repeats):
            report = _transactions(table, mapping, say)
        elif mapping.get("month") and mapping.get("amount") and repeats:
            say("Turning monthly revenue into customer lifetimes")
            mapping = _panel_to_customers(table, mapping)
            report = _subscriptions(table, mapping, say, curves)
            report.mode = "monthly"
            _panel_mrr(table.con, report)
        else:
            report = _subscriptions(table, mapping, say, curves)
        analysis = Analysis(report)
        if request.charts and report.mode in ("subscriptions", "monthly"):
            say("Drawing charts")
            from retention_mcp.analytics.charts import cohort_heatmap, survival_chart

            if curves:
                column = report.drivers[0].column if report.drivers else "all customers"
                analysis.charts["survival.png"] = survival_chart(curves, f"Survival by {column}")
            heatmap = cohort_heatmap(report)
            if heatmap:
                analysis.charts["cohorts.png"] = heatmap
        return analysis
    finally:
        table.close()


def _dates_are_ends(table: Table, mapping: Mapping) -> None:
    """A 'cancelled' or 'churned' column that holds dates is the end date, not a yes/no flag."""
    column = mapping.roles.get("churned")
    if not column or mapping.roles.get("end_date"):
        return
    kind = table.types[column].upper()
    dates = (
        kind.startswith(("DATE", "TIMESTAMP"))
        or table.con.execute(
            f"SELECT bool_or(regexp_matches(trim(CAST({quote(column)} AS VARCHAR)), '^\\d{{4}}[-/.]\\d{{1,2}}[-/.]\\d{{1,2}}')) "
            f"FROM data"
        ).fetchone()[0]
    )
    if dates:
        mapping.roles["end_date"] = mapping.roles.pop("churned")


def _has_repeats(table: Table, mapping: Mapping) -> bool:
    cid = quote(mapping.roles["customer_id"])
    distinct = table.con.execute(f"SELECT count(DISTINCT {cid}) FROM data").fetchone()[0]
    return distinct < table.rows


# -- subscriptions ----------------------------------------------------------------------------------------------------
def _subscriptions(table: Table, mapping: Mapping, say: Progress, curves: dict) -> ChurnReport:
    roles = mapping.roles
    if not (roles.get("start_date") or roles.get("tenure")) or not (roles.get("end_date") or roles.get("churned")):
        needed = "a start date (or tenure) and an end/cancel date (or a churned flag)"
        raise DataError(
            f"To measure churn the file needs {needed}. Columns found: {', '.join(table.columns)}. Name them with "
            f"columns={{'start_date': ..., 'end_date': ...}} (CLI: --map start_date=COLUMN) / "
            f"需要开始日期(或在网时长)以及结束日期(或流失标记)"
        )
    con = table.con
    cid = quote(roles["customer_id"])
    _check_ids(table, cid)
    start = date_expression(table, roles["start_date"]) if roles.get("start_date") else "CAST(NULL AS DATE)"
    end = date_expression(table, roles["end_date"]) if roles.get("end_date") else "CAST(NULL AS DATE)"
    flag = flag_expression(table, roles["churned"]) if roles.get("churned") else None
    amount = f"TRY_CAST({quote(roles['amount'])} AS DOUBLE)" if roles.get("amount") else "CAST(NULL AS DOUBLE)"
    monthly_already = roles.get("amount") and normalise(roles["amount"]) in MONTHLY_AMOUNT_NAMES
    interval = "1.0" if monthly_already else _interval_expression(roles.get("billing_interval"))
    tenure = f"TRY_CAST({quote(roles['tenure'])} AS DOUBLE)" if roles.get("tenure") else "CAST(NULL AS DOUBLE)"
    con.execute(
        f"CREATE TEMP VIEW base AS SELECT CAST({cid} AS VARCHAR) AS customer_id, {start} AS start_date, {end} AS end_date,"
        f" {flag or 'NULL'} AS flag, {amount} / {interval} AS mrr, {tenure} AS tenure_given, * EXCLUDE ({cid}) "
        f"FROM data"
    )
    if roles.get("start_date") and roles.get("end_date"):
        bad = con.execute(f"SELECT count(*), min(rowid) FROM data WHERE {end} < {start}").fetchone()
        if bad[0]:
            raise DataError(
                f"{bad[0]} customer(s) end before they start (first on {row_name(bad[1])}): check "
                f"{roles['start_date']} and {roles['end_date']} / 有 {bad[0]} 个客户的结束日期早于开始日期"
            )
    observation_end = con.execute(
        "SELECT max(greatest(coalesce(end_date, start_date), coalesce(start_date, end_date))) FROM base"
    ).fetchone()[0]
    churned_expr = "flag" if flag else "(end_date IS NOT NULL)"
    if roles.get("start_date"):
        obs = f"DATE '{observation_end}'"
        # a churned customer without an end date has an unknown lifetime unless a tenure column gives it
        tenure_expr = (
            f"CASE WHEN end_date IS NOT NULL THEN date_diff('day', start_date, end_date) / {DAYS_PER_MONTH} "
            f"WHEN {churned_expr} THEN tenure_given "
            f"ELSE coalesce(date_diff('day', start_date, {obs}) / {DAYS_PER_MONTH}, tenure_given) END"
        )
    else:
        tenure_expr = "tenure_given"
    con.execute(
        f"CREATE TABLE customers AS SELECT *, {churned_expr} AS churned, {tenure_expr} AS tenure_months FROM base"
    )
    missing_tenure, churned_unknown = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE churned) FROM customers WHERE tenure_months IS NULL"
    ).fetchone()
    customers, churned = con.execute("SELECT count(*), count(*) FILTER (WHERE churned) FROM customers").fetchone()
    report = ChurnReport(
        source=table.source,
        rows=table.rows,
        mode="subscriptions",
        columns=dict(roles) | ({"segments": ", ".join(mapping.segments)} if mapping.segments else {}),
        observation_end=str(observation_end) if observation_end else None,
        customers=int(customers),
        active=int(customers - churned),
        churned=int(churned),
        churn_share=round(churned / customers, 6) if customers else None,
    )
    active_unknown = missing_tenure - churned_unknown
    if active_unknown:
        report.absent.append(
            Absent(
                name="tenure",
                reason=f"{active_unknown} customers have no start date or tenure / {active_unknown} 个客户没有开始日期或在网时长",
            )
        )
    if roles.get("start_date") and roles.get("end_date") and observation_end is not None:
        say("Monthly churn and cohorts")
        _periods_and_cohorts(con, report, observation_end)
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
            Absent(name="periods", reason="no start date: churn per month needs one / 没有开始日期,无法计算月度流失"),
            Absent(name="cohorts", reason="no start date: cohorts need one / 没有开始日期,无法划分同期群"),
        ]
    say("Segments and drivers")
    segment_columns = _segment_columns(table, mapping)
    keys = {column: _segment_key(column, kind, con) for column, kind in segment_columns}
    report.segments = [
        s for s in (_segment(con, column, kind, keys[column], report) for column, kind in segment_columns) if s
    ]
    report.drivers = _drivers(report.segments)
    report.high_risk = _risk_groups(con, report, keys)
    if not segment_columns:
        report.absent.append(
            Absent(
                name="segments",
                reason="no categorical or numeric column besides the roles / 除已识别角色外没有分类或数值列",
            )
        )
    if churned_unknown:
        reason = (
            f"{churned_unknown} churned customers have no end date or tenure, so lifetimes are unknown / "
            f"{churned_unknown} 个已流失客户没有结束日期或在网时长,无法得知其生命周期"
        )
        report.absent += [Absent(name="survival", reason=reason), Absent(name="sbg", reason=reason)]
    else:
        say("Survival curves")
        _survival(con, report, curves, keys)
        say("Retention model (sBG)")
        _sbg(con, report)
    if roles.get("amount"):
        say("MRR movements")
        _mrr(con, report, observation_end)
    else:
        report.absent.append(Absent(name="mrr", reason="no amount/MRR column / 没有金额或 MRR 列"))
    report.absent += [
        Absent(
            name="bgnbd", reason="subscription data: BG/NBD needs repeat transactions / 订阅数据:BG/NBD 需要重复交易"
        ),
        Absent(name="rfm", reason="subscription data: RFM needs transactions / 订阅数据:RFM 需要交易记录"),
    ]
    return report


def _check_ids(table: Table, cid: str) -> None:
    con = table.con
    nulls = con.execute(f"SELECT count(*) FROM data WHERE {cid} IS NULL").fetchone()[0]
    if nulls:
        raise DataError(f"{nulls} row(s) have no customer id / 有 {nulls} 行没有客户编号")
    duplicates = con.execute(
        f"SELECT count(*) FROM (SELECT {cid} AS id FROM data GROUP BY 1 HAVING count(*) > 1)"
    ).fetchone()
    if duplicates[0]:
        repeat = con.execute(
            f"SELECT min(rowid) FROM (SELECT rowid, row_number() OVER (PARTITION BY {cid} ORDER BY rowid) AS k "
            "FROM data) WHERE k = 2"
        ).fetchone()[0]
        raise DataError(
            f"{duplicates[0]} customer id(s) appear on more than one row (first repeat on {row_name(repeat)}); "
            f"subscription data "
            f"needs one row per customer (for orders, name the transaction_date column) / "
            f"有 {duplicates[0]} 个客户编号重复出现"
        )


def _interval_expression(column: str | None) -> str:
    if not column:
        return "1.0"
    text = f"lower(trim(CAST({quote(column)} AS VARCHAR)))"
    cases = " ".join(f"WHEN {text} = '{k}' THEN {v}" for k, v in INTERVAL_MONTHS.items())
    return f"(CASE {cases} ELSE 1 END)"


def _months(first, last) -> list:
    months = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def _periods_and_cohorts(con, report: ChurnReport, observation_end) -> None:
    rows = con.execute(
        "SELECT date_trunc('month', start_date) AS s, date_trunc('month', end_date) AS e, count(*) "
        "FROM customers WHERE start_date IS NOT NULL GROUP BY ALL"
    ).fetchall()
    first = min(r[0] for r in rows)
    months = _months(first, observation_end)
    index = {ym: i for i, ym in enumerate(months)}
    n = len(months)
    # grid[s, e]: customers who started in month s and ended in month e (column n: not ended)
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
    last_full = _last_full_month(n, observation_end)
    periods = []
    for i, (y, m) in enumerate(months):
        rate = float(lost[i] / at_start[i]) if at_start[i] else None
        periods.append(
            Period(
                month=f"{y:04d}-{m:02d}",
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
    # cohorts: share of each signup cohort not yet ended at the start of its k-th month after signup
    retention: list[list[float | None]] = []
    for s in range(n):
        size = starts[s]
        retention.append([round(float(1 - grid[s, s : s + k].sum() / size), 4) if size else None for k in range(n - s)])
    report.cohorts = Cohorts(months=[p.month for p in periods], sizes=[int(x) for x in starts], retention=retention)


def _last_full_month(months: int, observation_end) -> int:
    """Index of the last month the data cover to its end (the final month counts only if the data reach its end)."""
    return months - 1 if (observation_end + timedelta(days=1)).day == 1 else months - 2


# -- segments ---------------------------------------------------------------------------------------------------------
def _segment_columns(table: Table, mapping: Mapping) -> list[tuple[str, str]]:
    roles = mapping.roles
    used = {v for k, v in roles.items() if k != "plan"}
    if mapping.segments:
        candidates = mapping.segments + (
            [roles["plan"]] if roles.get("plan") and roles["plan"] not in mapping.segments else []
        )
    else:
        candidates = [c for c in table.columns if c not in used]
    if not candidates:
        return []
    counts = table.con.execute(
        "SELECT " + ", ".join(f"approx_count_distinct({quote(c)})" for c in candidates) + " FROM data"
    ).fetchone()
    out = []
    for column, distinct in zip(candidates, counts, strict=True):
        kind = table.types[column].upper()
        numeric = kind in NUMERIC_TYPES or kind.startswith("DECIMAL")
        if numeric and distinct > MAX_SEGMENT_VALUES:
            out.append((column, "quartile"))
        elif 2 <= distinct <= MAX_SEGMENT_VALUES and not kind.startswith(("DATE", "TIMESTAMP")):
            out.append((column, "category"))
    return out


def _segment_key(column: str, kind: str, con) -> str:
    """SQL giving each customer's segment value: the category, or the quartile of a numeric column."""
    quoted = quote(column)
    if kind == "category":
        return f"coalesce(CAST({quoted} AS VARCHAR), '(missing)')"
    cuts = con.execute(
        f"SELECT quantile_cont({quoted}, [0.25, 0.5, 0.75]) FROM customers WHERE {quoted} IS NOT NULL"
    ).fetchone()[0]
    q1, q2, q3 = (round(float(c), 4) for c in cuts)
    expr = (
        f"CASE WHEN {quoted} IS NULL THEN '(missing)' WHEN {quoted} <= {q1} THEN 'Q1 (<= {q1:g})' "
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


def _segment(con, column: str, kind: str, key: str, report: ChurnReport) -> Segment | None:
    rows = con.execute(
        f"SELECT {key} AS v, count(*), count(*) FILTER (WHERE churned) FROM customers GROUP BY 1 ORDER BY 1"
    ).fetchall()
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


def _drivers(segments: list[Segment]) -> list[Driver]:
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


def _risk_groups(con, report: ChurnReport, keys: dict[str, str]) -> list[RiskGroup]:
    if not report.customers or not report.churned:
        return []
    minimum = max(30, int(report.customers * 0.005))
    by_column = {s.column: s for s in report.segments}
    conditions: list[tuple[str, str, str]] = []  # (column, value, sql key)
    for driver in report.drivers[:4]:
        segment = by_column[driver.column]
        key = keys[segment.column]
        for value in segment.values:
            if value.lift >= 1.2 and value.customers >= minimum:
                conditions.append((segment.column, value.value, key))
    rules = [[c] for c in conditions]
    rules += [[a, b] for i, a in enumerate(conditions) for b in conditions[i + 1 :] if a[0] != b[0]]
    base = report.churned / report.customers
    groups = []
    for rule in rules:
        where = " AND ".join(f"{key} = ?" for _, _, key in rule)
        n, churned, active = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE churned), count(*) FILTER (WHERE NOT churned) "
            f"FROM customers WHERE {where}",
            [value for _, value, _ in rule],
        ).fetchone()
        if n < minimum:
            continue
        rate = churned / n
        groups.append(
            RiskGroup(
                rule=" AND ".join(f"{column} = {value}" for column, value, _ in rule),
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


# -- models -----------------------------------------------------------------------------------------------------------
def _survival(con, report: ChurnReport, curves: dict, keys: dict[str, str]) -> None:
    """Kaplan-Meier and log-rank from counts aggregated in DuckDB (tenure rounded to 0.01 month)."""
    from retention_mcp.analytics.survival import kaplan_meier_counts, log_rank_counts

    overall = con.execute(
        "SELECT round(tenure_months, 2) AS t, count(*) FILTER (WHERE churned) AS d, count(*) AS n "
        "FROM customers WHERE tenure_months IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchnumpy()
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
    step = max(1, km.times.size // 60)
    picks = sorted(set(range(0, km.times.size, step)) | {km.times.size - 1})
    points = [
        SurvivalPoint(
            month=round(float(km.times[i]), 2),
            survival=round(float(km.survival[i]), 4),
            lower=round(float(km.lower[i]), 4),
            upper=round(float(km.upper[i]), 4),
            at_risk=int(km.at_risk[i]),
        )
        for i in picks
    ]
    survival = Survival(median=round(km.median, 2) if km.median is not None else None, points=points)
    curves["all customers"] = (km.times, km.survival)
    for segment in report.segments[:8]:
        key = keys[segment.column]
        rows = con.execute(
            f"SELECT {key} AS g, round(tenure_months, 2) AS t, count(*) FILTER (WHERE churned) AS d, count(*) AS n "
            f"FROM customers WHERE tenure_months IS NOT NULL GROUP BY ALL"
        ).fetchnumpy()
        values, group_index = np.unique(np.asarray(rows["g"], dtype=str), return_inverse=True)
        time_index = np.searchsorted(times, rows["t"].astype(float))
        events = np.zeros((times.size, values.size))
        removed = np.zeros((times.size, values.size))
        np.add.at(events, (time_index, group_index), rows["d"])
        np.add.at(removed, (time_index, group_index), rows["n"])
        test = log_rank_counts(events, removed)
        survival.log_rank.append(
            LogRankResult(column=segment.column, statistic=round(test.statistic, 4), dof=test.dof, p_value=test.p_value)
        )
        if report.drivers and segment.column == report.drivers[0].column:
            by_value = []
            for g, value in enumerate(values):
                group_km = kaplan_meier_counts(times, events[:, g], removed[:, g])
                curves[f"{segment.column} = {value}"] = (group_km.times, group_km.survival)
                by_value.append(
                    GroupSurvival(
                        value=str(value),
                        customers=int(removed[:, g].sum()),
                        median=round(group_km.median, 2) if group_km.median is not None else None,
                    )
                )
            survival.by_segment[segment.column] = by_value
    report.survival = survival


def _sbg(con, report: ChurnReport) -> None:
    from retention_mcp.analytics.sbg import fit_sbg

    counts = con.execute(
        "SELECT CAST(floor(tenure_months) AS INTEGER) AS p, count(*) FILTER (WHERE churned) AS lost, "
        "count(*) FILTER (WHERE NOT churned) AS active FROM customers WHERE tenure_months IS NOT NULL GROUP BY 1"
    ).fetchnumpy()
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
    # a customer who churned during period t (1-based) completed t - 1 whole periods; an active one survived p
    lost = np.zeros(horizon + 1)
    np.add.at(lost, periods + 1, counts["lost"])
    survivors = np.zeros(horizon + 1)
    np.add.at(survivors, periods, counts["active"])
    fit = fit_sbg(lost[1:], survivors)
    first_year = [float(x) for x in fit.retention_rate(np.arange(1, 13))]
    # S(t) as the product of r(1..t): the same function, without the betaln difference that loses every digit
    # when alpha and beta are huge
    survival = [float(x) for x in np.cumprod(fit.retention_rate(np.arange(1, 25)))]
    constant = [first_year[0] ** t for t in range(1, 25)]
    degenerate = fit.degenerate
    report.sbg = SBG(
        alpha=None if degenerate else round(fit.alpha, 6),
        beta=None if degenerate else round(fit.beta, 6),
        degenerate=degenerate,
        note="degenerate fit: no spread in churn propensity between customers, so the model reduces to a constant "
        "churn rate; alpha and beta are not estimates / 拟合退化:客户之间的流失倾向没有差异,模型退化为固定流失率,"
        "alpha 与 beta 不是有效估计"
        if degenerate
        else "",
        log_likelihood=None if degenerate else round(fit.log_likelihood, 4),
        retention_rate=[round(x, 4) for x in first_year],
        projected_survival=[round(x, 4) for x in survival],
        constant_rate_projection=[round(x, 4) for x in constant],
        derl={str(n): round(v, 3) for n in (1, 6, 12) if math.isfinite(v := fit.derl(n, 0.01))},
    )


def monthly_mrr(amount: float, interval: str = "month") -> float:
    """Normalise a subscription's price to a month: $600/year -> $50."""
    return amount / INTERVAL_MONTHS.get(interval.strip().lower(), 1)


def mrr_movements(previous: dict[str, float], current: dict[str, float], seen_before: set[str]) -> dict[str, float]:
    """MRR movements between two months, by customer: new, expansion, contraction, churn and reactivation."""
    moves = dict.fromkeys(("new", "expansion", "contraction", "churn", "reactivation"), 0.0)
    for customer in set(previous) | set(current):
        before, after = previous.get(customer, 0.0), current.get(customer, 0.0)
        if before == 0 and after > 0:
            moves["reactivation" if customer in seen_before else "new"] += after
        elif before > 0 and after == 0:
            moves["churn"] += before
        elif after > before:
            moves["expansion"] += after - before
        elif after < before:
            moves["contraction"] += before - after
    return moves


def retention_ratios(starting: float, churn: float, contraction: float, expansion: float) -> tuple[float, float]:
    """GRR and NRR; new business never counts in either."""
    grr = 1 - (churn + contraction) / starting
    nrr = 1 - (churn + contraction - expansion) / starting
    return grr, nrr


def _mrr(con, report: ChurnReport, observation_end) -> None:
    obs = f"DATE '{observation_end}'"
    current = con.execute(
        f"SELECT coalesce(sum(mrr), 0) FROM customers WHERE NOT churned AND (start_date IS NULL OR start_date <= {obs})"
    ).fetchone()[0]
    if not report.periods:
        report.absent.append(
            Absent(name="mrr_movements", reason="no start dates: movements need them / 没有开始日期,无法计算 MRR 变动")
        )
        return
    months = [p.month for p in report.periods]
    last_full = _last_full_month(len(months), observation_end)
    first = max(0, last_full - 11)
    window_start = f"DATE '{months[first]}-01'"
    window_end_month = months[last_full]
    y, m = map(int, window_end_month.split("-"))
    window_end = f"DATE '{y + (m == 12):04d}-{m % 12 + 1:02d}-01'"
    starting, churned, new = con.execute(
        f"SELECT coalesce(sum(mrr) FILTER (WHERE start_date < {window_start} AND (end_date IS NULL OR end_date >= {window_start})), 0),"
        f" coalesce(sum(mrr) FILTER (WHERE start_date < {window_start} AND end_date >= {window_start} AND end_date < {window_end}), 0),"
        f" coalesce(sum(mrr) FILTER (WHERE start_date >= {window_start} AND start_date < {window_end}), 0) FROM customers"
    ).fetchone()
    if not starting:
        report.absent.append(
            Absent(name="mrr_movements", reason="no MRR at the start of the window / 统计窗口开始时没有 MRR")
        )
        return
    grr, nrr = retention_ratios(starting, churned, 0.0, 0.0)
    report.mrr = MRR(
        current=round(float(current), 2),
        window=f"{months[first]}..{window_end_month}",
        starting=round(float(starting), 2),
        new=round(float(new), 2),
        expansion=None,
        contraction=None,
        churned=round(float(churned), 2),
        reactivation=None,
        grr=round(grr, 6),
        nrr=round(nrr, 6),
        note="One amount per customer: expansion, contraction and reactivation cannot be seen, so NRR equals GRR.",
    )


# -- monthly revenue (one row per customer and month) -----------------------------------------------------------------
def _panel_to_customers(table: Table, mapping: Mapping) -> Mapping:
    """Replace `data` by one row per customer: first paying month, the month after the last one (if they stopped
    before the data end), their latest MRR and the other columns; keep the monthly MRR as `panel`."""
    con = table.con
    roles = mapping.roles
    cid = quote(roles["customer_id"])
    month = date_expression(table, roles["month"])
    monthly_already = normalise(roles["amount"]) in MONTHLY_AMOUNT_NAMES
    interval = "1.0" if monthly_already else _interval_expression(roles.get("billing_interval"))
    con.execute(
        f"CREATE TABLE panel AS SELECT CAST({cid} AS VARCHAR) AS customer_id, date_trunc('month', {month}) AS month, "
        f"sum(TRY_CAST({quote(roles['amount'])} AS DOUBLE) / {interval}) AS mrr FROM data GROUP BY 1, 2"
    )
    last = con.execute("SELECT max(month) FROM panel").fetchone()[0]
    used = set(roles.values())
    others = [c for c in table.columns if c not in used or c == roles.get("plan")]
    kept = "".join(f", any_value({quote(c)}) AS {quote(c)}" for c in others)
    con.execute(
        f"CREATE TABLE customers_monthly AS SELECT p.*{''.join(f', s.{quote(c)}' for c in others)} FROM "
        f"(SELECT customer_id, min(month) AS start_date, CASE WHEN max(month) < DATE '{last}' THEN "
        f"CAST(max(month) + INTERVAL 1 MONTH AS DATE) END AS end_date, arg_max(mrr, month) AS mrr "
        f"FROM panel WHERE mrr > 0 GROUP BY 1) p JOIN "
        f"(SELECT CAST({cid} AS VARCHAR) AS customer_id{kept} FROM data GROUP BY 1) s USING (customer_id)"
    )
    con.execute("DROP TABLE data")
    con.execute("ALTER TABLE customers_monthly RENAME TO data")
    described = con.execute("DESCRIBE data").fetchall()
    table.columns = [row[0] for row in described]
    table.types = {row[0]: row[1] for row in described}
    new_roles = {"customer_id": "customer_id", "start_date": "start_date", "end_date": "end_date", "amount": "mrr"}
    if roles.get("plan"):
        new_roles["plan"] = roles["plan"]
    return Mapping(roles=new_roles, segments=mapping.segments)


def _panel_mrr(con, report: ChurnReport) -> None:
    """MRR movements month by month, and GRR/NRR of the customers paying 12 months before the last month."""
    rows = con.execute(
        "WITH cur AS (SELECT customer_id, month, mrr FROM panel WHERE mrr > 0), "
        "prev AS (SELECT customer_id, CAST(month + INTERVAL 1 MONTH AS DATE) AS month, mrr AS prev_mrr FROM cur), "
        "seen AS (SELECT customer_id, min(month) AS first_month FROM cur GROUP BY 1), "
        "j AS (SELECT coalesce(c.customer_id, p.customer_id) AS customer_id, coalesce(c.month, p.month) AS month, "
        "coalesce(c.mrr, 0) AS mrr, coalesce(p.prev_mrr, 0) AS prev_mrr FROM cur c FULL OUTER JOIN prev p "
        "ON c.customer_id = p.customer_id AND c.month = p.month) "
        "SELECT strftime(j.month, '%Y-%m'), sum(mrr), "
        "sum(mrr) FILTER (WHERE prev_mrr = 0 AND j.month = s.first_month), "
        "sum(mrr - prev_mrr) FILTER (WHERE prev_mrr > 0 AND mrr > prev_mrr), "
        "sum(prev_mrr - mrr) FILTER (WHERE prev_mrr > 0 AND mrr > 0 AND mrr < prev_mrr), "
        "sum(prev_mrr) FILTER (WHERE prev_mrr > 0 AND mrr = 0), "
        "sum(mrr) FILTER (WHERE prev_mrr = 0 AND j.month > s.first_month) "
        "FROM j JOIN seen s USING (customer_id) WHERE j.month <= (SELECT max(month) FROM panel) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    months = [
        MRRMonth(
            month=m,
            mrr=round(total or 0, 2),
            new=round(new or 0, 2),
            expansion=round(expansion or 0, 2),
            contraction=round(contraction or 0, 2),
            churned=round(churned or 0, 2),
            reactivation=round(reactivation or 0, 2),
        )
        for m, total, new, expansion, contraction, churned, reactivation in rows
    ]
    first = max(0, len(months) - 13)
    start_month, end_month = months[first].month, months[-1].month
    starting, kept, ending = con.execute(
        "WITH s AS (SELECT customer_id, mrr FROM panel WHERE strftime(month, '%Y-%m') = ? AND mrr > 0), "
        "e AS (SELECT customer_id, mrr FROM panel WHERE strftime(month, '%Y-%m') = ?) "
        "SELECT sum(s.mrr), sum(least(s.mrr, coalesce(e.mrr, 0))), sum(coalesce(e.mrr, 0)) "
        "FROM s LEFT JOIN e USING (customer_id)",
        [start_month, end_month],
    ).fetchone()
    if not starting:
        report.absent.append(
            Absent(name="mrr", reason="no MRR in the first month of the window / 统计窗口第一个月没有 MRR")
        )
        report.mrr = None
        return
    lost = con.execute(
        "WITH s AS (SELECT customer_id, mrr FROM panel WHERE strftime(month, '%Y-%m') = ? AND mrr > 0), "
        "e AS (SELECT customer_id, mrr FROM panel WHERE strftime(month, '%Y-%m') = ? AND mrr > 0) "
        "SELECT coalesce(sum(s.mrr), 0) FROM s LEFT JOIN e USING (customer_id) WHERE e.customer_id IS NULL",
        [start_month, end_month],
    ).fetchone()[0]
    contraction = starting - kept - lost
    expansion = ending - kept
    grr, nrr = retention_ratios(starting, lost, contraction, expansion)
    window = months[first + 1 :] if len(months) > 1 else months
    report.mrr = MRR(
        current=months[-1].mrr,
        window=f"{start_month}..{end_month}",
        starting=round(float(starting), 2),
        new=round(sum(m.new for m in window), 2),
        expansion=round(float(expansion), 2),
        contraction=round(float(contraction), 2),
        churned=round(float(lost), 2),
        reactivation=round(sum(m.reactivation for m in window), 2),
        grr=round(grr, 6),
        nrr=round(nrr, 6),
        months=months,
        note=f"GRR and NRR follow the customers paying in {start_month} to {end_month}; new and reactivated MRR are "
        "the window's flows and count in neither.",
    )


# -- transactions -----------------------------------------------------------------------------------------------------
def _transactions(table: Table, mapping: Mapping, say: Progress) -> ChurnReport:
    from retention_mcp.analytics.repeat_buying import fit_bgnbd

    roles = mapping.roles
    con = table.con
    cid = quote(roles["customer_id"])
    day = date_expression(table, roles["transaction_date"])
    amount = f"TRY_CAST({quote(roles['amount'])} AS DOUBLE)" if roles.get("amount") else "1.0"
    say("Summarising transactions (RFM)")
    observation_end = con.execute(f"SELECT max({day}) FROM data").fetchone()[0]
    end = f"DATE '{observation_end}'"
    # one row per customer and purchase day (several orders on one day count as one transaction), then per customer
    con.execute(
        f"CREATE TABLE rfm AS SELECT customer_id, count(*) - 1 AS x, date_diff('day', min(day), max(day)) AS tx_days, "
        f"date_diff('day', min(day), {end}) AS T_days, date_diff('day', max(day), {end}) AS recency_days, "
        f"sum(spent) AS monetary FROM (SELECT CAST({cid} AS VARCHAR) AS customer_id, {day} AS day, "
        f"sum({amount}) AS spent FROM data WHERE {day} IS NOT NULL GROUP BY 1, 2) GROUP BY customer_id"
    )
    # customers with the same (x, t_x, T) share one likelihood term: fit on the pooled rows
    pooled = con.execute("SELECT x, tx_days, T_days, count(*) AS n FROM rfm GROUP BY ALL").fetchnumpy()
    x, t_x, T = pooled["x"].astype(float), pooled["tx_days"] / 7.0, pooled["T_days"] / 7.0
    weights = pooled["n"].astype(float)
    customers = int(weights.sum())
    report = ChurnReport(
        source=table.source,
        rows=table.rows,
        mode="transactions",
        columns=dict(roles),
        observation_end=str(observation_end),
        customers=customers,
    )
    say("Fitting BG/NBD")
    fit = fit_bgnbd(x, t_x, T, weights)
    expected = fit.expected_purchases(12.0, x, t_x, T)
    alive = fit.alive_probability(x, t_x, T)
    report.bgnbd = BGNBD(
        r=round(fit.r, 6),
        alpha=round(fit.alpha, 6),
        a=round(fit.a, 6),
        b=round(fit.b, 6),
        log_likelihood=round(fit.log_likelihood, 4),
        customers=fit.customers,
        expected_purchases_next_12_weeks=round(float(weights @ expected), 2),
        share_probably_inactive=round(float(weights @ (alive < 0.5) / customers), 4),
    )
    # RFM scores 1..5 by quintile: recent, frequent, high-spending customers score high
    champions, at_risk, hibernating = con.execute(
        "WITH s AS (SELECT ntile(5) OVER (ORDER BY recency_days DESC) AS r, ntile(5) OVER (ORDER BY x) AS f FROM rfm) "
        "SELECT count(*) FILTER (WHERE r = 5 AND f >= 4), count(*) FILTER (WHERE r <= 2 AND f >= 4), "
        "count(*) FILTER (WHERE r <= 2 AND f <= 2) FROM s"
    ).fetchone()
    report.rfm = RFM(customers=customers, champions=champions, at_risk=at_risk, hibernating=hibernating)
    report.absent += [
        Absent(name=name, reason="transaction data: no subscription start and end / 交易数据:没有订阅的开始与结束")
        for name in ("churn_rate", "periods", "cohorts", "survival", "segments", "sbg", "mrr")
    ]
    return report
