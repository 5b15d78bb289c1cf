"""One analysis, start to finish: read the file, map the columns, build a clean customer table in DuckDB, aggregate
there, and fit the models on the aggregates with numpy and scipy."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from scipy import special

from retention_mcp.analytics.dialect import csv_options
from retention_mcp.analytics.limits import AnalysisStopped, Cancellation, LimitError, Limits
from retention_mcp.analytics.loading import (
    DataError,
    Mapping,
    Table,
    _duckdb_problem,
    check_data_path,
    is_bundled,
    map_columns,
    normalise,
    open_table,
    quote,
    row_name,
)
from retention_mcp.analytics.numbers import (
    amount_reading,
    duration_reading,
    interval_expression,
    interval_months,
    is_numeric,
)
from retention_mcp.analytics.report import (
    BGNBD,
    BUNDLED,
    MRR,
    RFM,
    SBG,
    Absent,
    ChurnReport,
    Cohorts,
    Driver,
    GroupSurvival,
    Holdout,
    HoldoutRow,
    LogRankResult,
    MRRMonth,
    Period,
    RiskGroup,
    Segment,
    SegmentValue,
    Survival,
    SurvivalPoint,
)
from retention_mcp.analytics.shape import (
    COMPUTED,
    check_ids,
    dates_are_ends,
    hidden_columns,
    intervals_not_months,
    kind_of_data,
    rows_are_customers,
)
from retention_mcp.analytics.values import (
    bad_durations,
    check_timezone,
    date_expression,
    date_order,
    flag_expression,
)
from retention_mcp.analytics.workbook import SheetChoice
from retention_mcp.errors import UserError

DAYS_PER_MONTH = 365.25 / 12
MAX_SEGMENT_VALUES = 20

MONTHLY_AMOUNT_NAMES = {"mrr", "monthly_revenue", "monthly_charges", "monthlycharges", "月费", "月收入", "月度收入"}
TENURE_UNITS = {"day": 1.0, "week": 7.0, "month": DAYS_PER_MONTH, "year": 365.25}  # days per unit
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
DISCOUNT = {"month": 0.01, "quarter": 0.03, "year": 0.1}  # per period, for DERL
PERIOD_ZH = {"month": "月", "quarter": "季度", "year": "年"}
HOLDOUT_FREQUENCIES = 7  # by_frequency rows 0..6, the last one 7+

log = logging.getLogger("retention_mcp.analytics")
Progress = Callable[[str], None]


@dataclass
class AnalysisRequest:
    path: str | None = None
    csv_text: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # role -> column
    segments: list[str] = field(default_factory=list)
    delimiter: str | None = None
    charts: bool = False  # also draw PNG charts
    tenure_unit: str | None = None  # unit of a tenure column and of survival times (None: from the column's name)
    period: str = "month"  # churn per period, cohorts and the sBG fit
    as_of: str | None = None  # YYYY-MM-DD: the observation end (default: the latest date not in the future)
    date_format: str | None = None  # DD/MM/YYYY or MM/DD/YYYY, where the dates allow both
    calibration_end: str | None = None  # YYYY-MM-DD: BG/NBD fits on purchases up to here, the rest is the holdout
    encoding: str | None = None  # text encoding, where detection does not find it
    decimal: str | None = None  # "," for decimal-comma numbers
    timezone: str | None = None  # IANA name: the zone whose dates timestamps with an offset are read in
    sheet: str | None = None  # a workbook's sheet, by name or 1-based number (default: detected)
    header_row: int | None = None  # a workbook's header row, 1-based (default: detected)
    today: date | None = None  # the clock's date (tests set it)


@dataclass
class Analysis:
    report: ChurnReport
    charts: dict[str, bytes] = field(default_factory=dict)  # file name -> PNG


def parse_day(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise DataError(
            f"{name}: {value[:40]!r} is not a date in YYYY-MM-DD / {name} 应为 YYYY-MM-DD 格式的日期"
        ) from None


def _check_request(request: AnalysisRequest) -> None:
    if request.tenure_unit is not None and request.tenure_unit not in TENURE_UNITS:
        raise DataError(
            f"tenure_unit: {request.tenure_unit!r} is not one of {', '.join(TENURE_UNITS)} / tenure_unit 取值应为 "
            f"{', '.join(TENURE_UNITS)}"
        )
    if request.period not in PERIOD_MONTHS:
        raise DataError(
            f"period: {request.period!r} is not one of {', '.join(PERIOD_MONTHS)} / period 取值应为 "
            f"{', '.join(PERIOD_MONTHS)}"
        )
    parse_day(request.as_of, "as_of")
    parse_day(request.calibration_end, "calibration_end")
    date_order(request.date_format)
    check_timezone(request.timezone)


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
        if isinstance(exc, UserError):
            raise
        # a case the checks did not foresee: the user gets a clear error (no traceback, no file content), the log
        # gets the traceback to report
        log.exception("analysis failed unexpectedly")
        raise DataError(
            f"The analysis could not be completed ({type(exc).__name__}): a case retention-mcp does not handle yet; "
            f"please report it, with the server log / 分析未能完成({type(exc).__name__}):这是尚未处理的情况,请附上服务器日志反馈"
        ) from None
    finally:
        if own:
            cancel.close()


def _analyze(request: AnalysisRequest, data_dirs: list[Path], progress: Progress, cancel, limits) -> Analysis:
    import duckdb

    def say(message: str) -> None:
        cancel.check()
        progress(message)

    if bool(request.path) == bool(request.csv_text):
        raise DataError("Give either a file path or inline CSV text / 请提供文件路径或内联 CSV 文本(二选一)")
    _check_request(request)
    checked = check_data_path(request.path, data_dirs) if request.path else None
    say("Reading the data")
    table = open_table(
        checked, request.csv_text, request.delimiter, limits, cancel, csv_options(request.decimal), request.encoding,
        SheetChoice.of(request.sheet, request.header_row, request.columns),
    )  # fmt: skip
    notes = [table.note] if table.note else []
    if checked is not None and is_bundled(checked, data_dirs):
        table.source += BUNDLED
        notes.append(
            f"{checked.shown}: no such file in your data directories, so the bundled example data were analysed; put "
            f"your file in a data directory (--data-dir, RETENTION_MCP_DATA_DIRS) to analyse it / 您的数据目录中没有该"
            f"文件,分析的是内置示例数据;请把文件放入数据目录(--data-dir)"
        )
    try:
        mapping = map_columns(table.columns, request.columns, request.segments)
        dates_are_ends(table, mapping)
        intervals_not_months(table, mapping, request.columns)
        if not mapping.get("customer_id"):
            rows_are_customers(table, mapping, notes)
        curves: dict = {}  # label -> KaplanMeier, for the survival chart
        kind = kind_of_data(table, mapping, request.columns)
        if kind == "transactions":
            report = _transactions(table, mapping, say, request)
        elif kind == "monthly":
            say("Turning monthly revenue into customer lifetimes")
            mapping = _panel_to_customers(table, mapping, request, notes)
            report = _subscriptions(table, mapping, say, curves, request)
            report.mode = "monthly"
            _panel_mrr(table.con, report)
        else:
            report = _subscriptions(table, mapping, say, curves, request)
        report.notes = notes + report.notes
        analysis = Analysis(report)
        if request.charts and report.mode in ("subscriptions", "monthly"):
            say("Drawing charts")
            _draw(analysis, curves)
        if request.charts and not analysis.charts:
            from retention_mcp.analytics.charts import nothing_drawn

            report.notes.append(nothing_drawn(report))
        return analysis
    except duckdb.Error as exc:  # a value the checks above did not foresee: say so, never a traceback
        if cancel.reason is not None or isinstance(exc, duckdb.OutOfMemoryException):
            raise  # analyze() says why: stopped, or out of memory
        raise DataError(
            f"{table.source}: the data could not be processed ({_duckdb_problem(exc)}) / 无法处理该数据"
        ) from None
    finally:
        table.close()


def _draw(analysis: Analysis, curves: dict) -> None:
    from retention_mcp.analytics.charts import cohort_heatmap, is_chinese, survival_chart

    report = analysis.report
    zh = is_chinese(report)
    if curves and report.survival:
        groups = {k: v for k, v in curves.items() if k != "all customers"}
        column = report.drivers[0].column if report.drivers and groups else None
        if zh:
            title = f"按 {column} 的生存曲线" if column else "全部客户的生存曲线"
        else:
            title = f"Survival by {column}" if column else "Survival, all customers"
        shown = groups or {("全部客户" if zh else "all customers"): curves["all customers"]}
        analysis.charts["survival.png"] = survival_chart(shown, title, report.survival, zh)
    heatmap = cohort_heatmap(report)
    if heatmap:
        analysis.charts["cohorts.png"] = heatmap


# -- subscriptions ----------------------------------------------------------------------------------------------------
def _observation_end(con, request: AnalysisRequest, has_dates: bool) -> date | None:
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


def _periods_between(start: str, end: str, months: int, exact: bool) -> str:
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


def _subscriptions(
    table: Table, mapping: Mapping, say: Progress, curves: dict, request: AnalysisRequest
) -> ChurnReport:
    roles = mapping.roles
    if not (roles.get("start_date") or roles.get("tenure")) or not (roles.get("end_date") or roles.get("churned")):
        needed = "a start date (or tenure) and an end/cancel date (or a churned flag)"
        raise DataError(
            f"To measure churn the file needs {needed}. Columns found: {', '.join(table.columns)}. Name them with "
            f"columns={{'start_date': ..., 'end_date': ...}} (CLI: --map start_date=COLUMN) / "
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
    observation_end = _observation_end(con, request, has_dates)
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
            f"THEN {_periods_between('start_date', 'end_seen', months, True)} "
        )
        if obs:
            by_dates += f"WHEN start_date IS NOT NULL AND NOT churned THEN {_periods_between('start_date', obs, months, False)} "
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
        _periods_and_cohorts(con, report, observation_end, period)
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
            f"{churned_unknown} churned customers have no end date (on or before the observation end) or tenure, so "
            f"lifetimes are unknown / "
            f"{churned_unknown} 个已流失客户没有结束日期或在网时长,无法得知其生命周期"
        )
        report.absent += [Absent(name="survival", reason=reason), Absent(name="sbg", reason=reason)]
    else:
        say("Survival curves")
        _survival(con, report, curves, keys, unit)
        say("Retention model (sBG)")
        _sbg(con, report, period)
    if roles.get("amount") and observation_end is not None:
        say("MRR movements")
        _mrr(con, report, observation_end)
    elif roles.get("amount"):
        report.absent.append(
            Absent(name="mrr", reason="no dates: MRR needs an observation end / 没有日期,无法计算 MRR")
        )
    else:
        report.absent.append(Absent(name="mrr", reason="no amount/MRR column / 没有金额或 MRR 列"))
    report.absent += [
        Absent(
            name="bgnbd", reason="subscription data: BG/NBD needs repeat transactions / 订阅数据:BG/NBD 需要重复交易"
        ),
        Absent(name="rfm", reason="subscription data: RFM needs transactions / 订阅数据:RFM 需要交易记录"),
    ]
    return report


def _months(first, last, step: int = 1) -> list:
    """(year, month) of each period start from the period holding `first` to the one holding `last`."""
    months = []
    y, m = first.year, first.month - (first.month - 1) % step
    while (y, m) <= (last.year, last.month):
        months.append((y, m))
        y, m = (y + 1, m + step - 12) if m + step > 12 else (y, m + step)
    return months


def period_label(y: int, m: int, period: str) -> str:
    if period == "quarter":
        return f"{y:04d}-Q{(m - 1) // 3 + 1}"
    if period == "year":
        return f"{y:04d}"
    return f"{y:04d}-{m:02d}"


def _periods_and_cohorts(con, report: ChurnReport, observation_end, period: str = "month") -> None:
    step = PERIOD_MONTHS[period]
    rows = con.execute(
        f"SELECT date_trunc('{period}', start_date) AS s, CASE WHEN churned THEN date_trunc('{period}', end_seen) END "
        "AS e, count(*) FROM customers WHERE start_date IS NOT NULL GROUP BY ALL"
    ).fetchall()
    first = min(r[0] for r in rows)
    months = _months(first, observation_end, step)
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
    last_full = _last_full_month(n, observation_end, step)
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


def _last_full_month(periods: int, observation_end, step: int = 1) -> int:
    """Index of the last period the data cover to its end (the final one counts only if the data reach its end)."""
    after = observation_end + timedelta(days=1)
    return periods - 1 if after.day == 1 and (after.month - 1) % step == 0 else periods - 2


# -- segments ---------------------------------------------------------------------------------------------------------
def _segment_columns(table: Table, mapping: Mapping) -> list[tuple[str, str]]:
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


def _segment_key(column: str, kind: str, con) -> str:
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
UNIT_PLURAL = {"day": "days", "week": "weeks", "month": "months", "year": "years"}
GROUP_COMPARISONS = 8  # segments given a log-rank test, strongest first
GROUP_CURVES = 3  # drivers given medians by value


def _ranked(segments: list[Segment]) -> list[Segment]:
    """Segments by the measure `drivers` uses (Cramér's V, strongest first; ties by column name)."""
    return sorted(segments, key=lambda s: (-s.cramers_v, s.column))


def _survival(con, report: ChurnReport, curves: dict, keys: dict[str, str], unit: str = "month") -> None:
    """Kaplan-Meier and log-rank from counts aggregated in DuckDB (tenure rounded to 0.01 of the unit)."""
    from retention_mcp.analytics.survival import kaplan_meier_counts, log_rank_counts

    overall = con.execute(
        "SELECT round(tenure_t, 2) AS t, count(*) FILTER (WHERE churned) AS d, count(*) AS n "
        "FROM customers WHERE tenure_t IS NOT NULL GROUP BY 1 ORDER BY 1"
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
    survival = Survival(
        unit=UNIT_PLURAL[unit], median=round(km.median, 2) if km.median is not None else None, points=points
    )
    curves["all customers"] = km
    curve_columns = [d.column for d in report.drivers[:GROUP_CURVES]]
    for segment in _ranked(report.segments)[:GROUP_COMPARISONS]:
        key = keys[segment.column]
        rows = con.execute(
            f"SELECT {key} AS g, round(tenure_t, 2) AS t, count(*) FILTER (WHERE churned) AS d, count(*) AS n "
            f"FROM customers WHERE tenure_t IS NOT NULL GROUP BY ALL"
        ).fetchnumpy()
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
                by_value.append(
                    GroupSurvival(
                        value=str(value),
                        customers=int(removed[:, g].sum()),
                        median=round(group_km.median, 2) if group_km.median is not None else None,
                    )
                )
            survival.by_segment[segment.column] = by_value
    survival.by_segment = {c: survival.by_segment[c] for c in curve_columns if c in survival.by_segment}
    report.survival = survival


DEGENERATE_SIZE = 1e4  # alpha + beta beyond this: Beta(alpha, beta) is a point mass, the model a constant rate
LIKELIHOOD_RATIO_5PCT = 3.841  # chi-square, 1 degree of freedom


def _sbg(con, report: ChurnReport, period: str = "month") -> None:
    from retention_mcp.analytics.sbg import fit_sbg

    counts = con.execute(
        "SELECT sbg_t AS p, count(*) FILTER (WHERE churned) AS lost, count(*) FILTER (WHERE NOT churned) AS active "
        "FROM customers WHERE sbg_t IS NOT NULL GROUP BY 1 ORDER BY 1"
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


def monthly_mrr(amount: float, interval: str = "month") -> float:
    """Normalise a subscription's price to a month: $600/year -> $50."""
    months = interval_months(interval)
    if months is None:
        raise ValueError(f"unknown billing interval: {interval[:20]!r}")
    return amount / months


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
    first_start = con.execute(f"SELECT min(start_date) FROM customers WHERE start_date <= {obs}").fetchone()[0]
    if first_start is None or not report.periods:
        why = next((a.reason for a in report.absent if a.name == "periods"), None)
        reason = (
            "no start dates: movements need them / 没有开始日期,无法计算 MRR 变动"
            if first_start is None or why is None
            else f"when customers left is not known, so neither is when their MRR was lost ({why.partition(' / ')[0]})"
            f" / 不知道客户何时流失,也就无法得知 MRR 何时流失({why.partition(' / ')[2]})"
        )
        report.absent.append(Absent(name="mrr_movements", reason=reason))
        return
    months = [f"{y:04d}-{m:02d}" for y, m in _months(first_start, observation_end)]
    last_full = _last_full_month(len(months), observation_end)
    first = max(0, last_full - 11)
    window_start = f"DATE '{months[first]}-01'"
    window_end_month = months[last_full]
    y, m = map(int, window_end_month.split("-"))
    window_end = f"DATE '{y + (m == 12):04d}-{m % 12 + 1:02d}-01'"
    starting, churned, new = con.execute(
        f"SELECT coalesce(sum(mrr) FILTER (WHERE start_date < {window_start} AND NOT (churned AND end_seen < {window_start})), 0),"
        f" coalesce(sum(mrr) FILTER (WHERE start_date < {window_start} AND churned AND end_seen >= {window_start} AND end_seen < {window_end}), 0),"
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
def _panel_to_customers(table: Table, mapping: Mapping, request: AnalysisRequest, notes: list[str]) -> Mapping:
    """Replace `data` by one row per customer: first paying month, the month after the last one (if they stopped
    before the data end), their latest MRR and the other columns; keep the monthly MRR as `panel`."""
    con = table.con
    roles = mapping.roles
    cid = quote(roles["customer_id"])
    month = date_expression(table, roles["month"], request.date_format, request.timezone, notes)
    amount = amount_reading(table, roles["amount"], request.decimal)
    notes += amount.notes
    monthly_already = normalise(roles["amount"]) in MONTHLY_AMOUNT_NAMES
    interval = (
        "1.0" if monthly_already else interval_expression(table, roles.get("billing_interval"), amount.expression)
    )
    con.execute(
        f"CREATE TABLE panel AS SELECT CAST({cid} AS VARCHAR) AS customer_id, date_trunc('month', {month}) AS month, "
        f"sum({amount.expression} / {interval}) AS mrr FROM data GROUP BY 1, 2"
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
def _transactions(table: Table, mapping: Mapping, say: Progress, request: AnalysisRequest) -> ChurnReport:
    from retention_mcp.analytics.repeat_buying import fit_bgnbd

    roles = mapping.roles
    con = table.con
    cid = quote(roles["customer_id"])
    notes: list[str] = []
    day = date_expression(table, roles["transaction_date"], request.date_format, request.timezone, notes)
    spent = amount_reading(table, roles["amount"], request.decimal) if roles.get("amount") else None
    amount = spent.expression if spent else "1.0"
    notes += spent.notes if spent else []
    say("Summarising transactions (RFM)")
    con.execute(
        f"CREATE TEMP VIEW orders AS SELECT CAST({cid} AS VARCHAR) AS customer_id, {day} AS day, {amount} AS spent "
        f"FROM data WHERE {day} IS NOT NULL"
    )
    as_of = parse_day(request.as_of, "as_of")
    today = request.today or date.today()
    # one scan: the latest purchase not after the cut, and the orders after it (none lie between the two)
    latest, later = con.execute(
        "SELECT max(day) FILTER (WHERE day <= ?), count(*) FILTER (WHERE day > ?) FROM orders",
        [as_of or today, as_of or today],
    ).fetchone()
    if as_of is None and latest is None:
        raise DataError(
            f"Every purchase date is after today ({today}); pass the observation end with --as-of YYYY-MM-DD "
            f"(tool: as_of) / 所有购买日期都晚于今天,请用 --as-of 指定观察截止日"
        )
    observation_end = as_of or latest
    if later:
        notes.append(
            f"{later} order(s) after the observation end ({observation_end}) are left out / "
            f"{later} 笔订单晚于观察截止日({observation_end}),未计入"
        )
    calibration_end = parse_day(request.calibration_end, "calibration_end")
    fit_end = min(calibration_end, observation_end) if calibration_end else observation_end
    end = f"DATE '{observation_end}'"
    _cap_memory(con)
    # per customer, straight from the orders: purchase days (several orders on one day are one transaction)
    con.execute(
        f"CREATE TABLE rfm AS SELECT customer_id, count(DISTINCT day) - 1 AS x, "
        f"date_diff('day', min(day), max(day)) AS tx_days, date_diff('day', min(day), {end}) AS T_days, "
        f"date_diff('day', max(day), {end}) AS recency_days, sum(spent) AS monetary FROM orders "
        f"WHERE day <= {end} GROUP BY customer_id"
    )
    if calibration_end:
        cal = f"DATE '{fit_end}'"
        con.execute(
            f"CREATE TABLE calibration AS SELECT customer_id, count(DISTINCT day) FILTER (WHERE day <= {cal}) - 1 AS x, "
            f"date_diff('day', min(day), max(day) FILTER (WHERE day <= {cal})) AS tx_days, "
            f"date_diff('day', min(day), {cal}) AS T_days, "
            f"count(DISTINCT day) FILTER (WHERE day > {cal}) AS holdout FROM orders WHERE day <= {end} "
            f"GROUP BY customer_id HAVING min(day) <= {cal}"
        )
    con.execute("DROP VIEW orders")
    con.execute("DROP TABLE data")  # the fit below needs memory more than the orders
    customers = con.execute("SELECT count(*) FROM rfm").fetchone()[0]
    report = ChurnReport(
        source=table.source,
        rows=table.rows,
        mode="transactions",
        columns=dict(roles),
        observation_end=str(observation_end),
        customers=int(customers),
        notes=notes,
    )
    say("Fitting BG/NBD")
    fit_table = "calibration" if calibration_end else "rfm"
    # customers with the same (x, t_x, T) share one likelihood term: fit on the pooled rows
    pooled = con.execute(
        f"SELECT x, tx_days, T_days, count(*) AS n FROM {fit_table} GROUP BY ALL ORDER BY ALL"
    ).fetchnumpy()
    if pooled["n"].size == 0:
        raise DataError(
            f"calibration_end: no purchase on or before {fit_end} / calibration_end 之前(含当天)没有购买记录"
        )
    x, t_x, T = pooled["x"].astype(float), pooled["tx_days"] / 7.0, pooled["T_days"] / 7.0
    weights = pooled["n"].astype(float)
    fit = fit_bgnbd(x, t_x, T, weights)
    now = (
        con.execute("SELECT x, tx_days, T_days, count(*) AS n FROM rfm GROUP BY ALL ORDER BY ALL").fetchnumpy()
        if calibration_end
        else pooled
    )
    nx, ntx, nT, nw = now["x"].astype(float), now["tx_days"] / 7.0, now["T_days"] / 7.0, now["n"].astype(float)
    expected = fit.expected_purchases(12.0, nx, ntx, nT)
    alive = fit.alive_probability(nx, ntx, nT)
    report.bgnbd = BGNBD(
        r=round(fit.r, 6),
        alpha=round(fit.alpha, 6),
        a=round(fit.a, 6),
        b=round(fit.b, 6),
        log_likelihood=round(fit.log_likelihood, 4),
        customers=fit.customers,
        expected_purchases_next_12_weeks=round(float(nw @ expected), 2),
        share_probably_inactive=round(float(nw @ (alive < 0.5) / customers), 4),
        calibration_end=str(fit_end) if calibration_end else None,
    )
    if calibration_end and fit_end < observation_end:
        report.bgnbd.holdout = _holdout(con, fit, fit_end, observation_end)
    elif calibration_end:
        report.absent.append(
            Absent(
                name="bgnbd.holdout",
                reason=f"no data after the calibration end ({calibration_end}) / 校准截止日之后没有数据",
            )
        )
    # RFM scores 1..5 by rank: recent, frequent customers score high; tied customers share a score
    champions, at_risk, hibernating = con.execute(
        "WITH s AS (SELECT 1 + (5 * (rank() OVER (ORDER BY recency_days DESC) - 1)) // n AS r, "
        "1 + (5 * (rank() OVER (ORDER BY x) - 1)) // n AS f FROM rfm, (SELECT count(*) AS n FROM rfm)) "
        "SELECT count(*) FILTER (WHERE r = 5 AND f >= 4), count(*) FILTER (WHERE r <= 2 AND f >= 4), "
        "count(*) FILTER (WHERE r <= 2 AND f <= 2) FROM s"
    ).fetchone()
    report.rfm = RFM(customers=int(customers), champions=champions, at_risk=at_risk, hibernating=hibernating)
    report.absent += [
        Absent(name=name, reason="transaction data: no subscription start and end / 交易数据:没有订阅的开始与结束")
        for name in ("churn_rate", "periods", "cohorts", "survival", "segments", "sbg", "mrr")
    ]
    return report


UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
MIN_AGGREGATION_MEMORY = 256 * 2**20


def _cap_memory(con) -> None:
    """Let the per-day aggregation of orders hold at most as much memory again as the orders themselves (it spills
    to disk beyond that): the order table is already in memory, and the aggregation of ten million orders would
    otherwise double the peak. A lower limit set before is kept."""
    used = con.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()").fetchone()[0]
    limit = max(MIN_AGGREGATION_MEMORY, 2 * int(used))
    current = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    number, _, unit = str(current).strip().partition(" ")
    try:
        if float(number) * UNITS[unit.lower() or "b"] <= limit:
            return
    except (ValueError, KeyError):
        pass
    con.execute(f"SET memory_limit = '{limit // 2**20}MiB'")


def _holdout(con, fit, calibration_end: date, holdout_end: date) -> Holdout:
    """Predicted vs actual repeat purchases (purchase days) after the calibration end, for the customers who had
    bought by then, overall and by their calibration frequency (as lifetimes' calibration/holdout plot)."""
    rows = con.execute(
        "SELECT x, tx_days, T_days, holdout AS actual, count(*) AS customers FROM calibration GROUP BY ALL ORDER BY ALL"
    ).fetchnumpy()
    weeks = (holdout_end - calibration_end).days / 7.0
    x = rows["x"].astype(float)
    n = rows["customers"].astype(float)
    actual = rows["actual"].astype(float)
    predicted = fit.expected_purchases(weeks, x, rows["tx_days"] / 7.0, rows["T_days"] / 7.0)
    by_frequency = []
    for k in range(HOLDOUT_FREQUENCIES + 1):
        mine = x >= k if k == HOLDOUT_FREQUENCIES else x == k
        if not mine.any():
            continue
        total = float(n[mine].sum())
        by_frequency.append(
            HoldoutRow(
                frequency=f"{k}+" if k == HOLDOUT_FREQUENCIES else str(k),
                customers=int(total),
                predicted=round(float(n[mine] @ predicted[mine]) / total, 4),
                actual=round(float(n[mine] @ actual[mine]) / total, 4),
            )
        )
    return Holdout(
        calibration_end=str(calibration_end),
        holdout_end=str(holdout_end),
        weeks=round(weeks, 4),
        customers=int(n.sum()),
        predicted=round(float(n @ predicted), 2),
        actual=round(float(n @ actual), 2),
        by_frequency=by_frequency,
    )
