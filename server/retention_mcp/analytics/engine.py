"""One analysis, start to finish: read the file, map the columns, build a clean customer table in DuckDB, aggregate
there, and fit the models on the aggregates with numpy and scipy."""

from __future__ import annotations

import logging
from pathlib import Path

from retention_mcp.analytics.dialect import csv_options
from retention_mcp.analytics.limits import AnalysisStopped, Cancellation, LimitError, Limits
from retention_mcp.analytics.loading import (
    DataError,
    _duckdb_problem,
    map_columns,
    open_table,
)
from retention_mcp.analytics.mrr import panel_mrr, panel_to_customers
from retention_mcp.analytics.report import (
    BUNDLED,
    ChurnReport,
)
from retention_mcp.analytics.request import Analysis, AnalysisRequest, Progress, check_request
from retention_mcp.analytics.sandbox import check_data_path, is_bundled
from retention_mcp.analytics.shape import (
    dates_are_ends,
    intervals_not_months,
    kind_of_data,
    rows_are_customers,
)
from retention_mcp.analytics.subscriptions import analyze_subscriptions
from retention_mcp.analytics.transactions import analyze_transactions
from retention_mcp.analytics.workbook import SheetChoice
from retention_mcp.errors import UserError

log = logging.getLogger("retention_mcp.analytics")


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

    if request.source or request.table:
        return _analyze_table(request, say, cancel, limits)
    if bool(request.path) == bool(request.csv_text):
        raise DataError("Give either a file path or inline CSV text / 请提供文件路径或内联 CSV 文本(二选一)")
    check_request(request)
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
            report = analyze_transactions(table, mapping, say, request)
        elif kind == "monthly":
            say("Turning monthly revenue into customer lifetimes")
            mapping = panel_to_customers(table, mapping, request, notes)
            report = analyze_subscriptions(table, mapping, say, curves, request)
            report.mode = "monthly"
            panel_mrr(table.con, report)
        else:
            report = analyze_subscriptions(table, mapping, say, curves, request)
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


FILE_ONLY = ("delimiter", "encoding", "decimal", "date_format", "timezone", "sheet", "header_row")


def _analyze_table(request: AnalysisRequest, say: Progress, cancel, limits) -> Analysis:
    """A table or view in a database connection: aggregated there (pushdown.py)."""
    from retention_mcp.analytics.pushdown import analyze_table
    from retention_mcp.analytics.pushdown_monthly import analyze_monthly_table
    from retention_mcp.analytics.pushdown_orders import analyze_orders, is_orders
    from retention_mcp.analytics.warehouse import open_warehouse

    if request.path or request.csv_text:
        raise DataError("Give a file or a source and table, not both / 文件与数据库表只能二选一")
    if not (request.source and request.table and request.source_url):
        raise DataError("source and table: give both / source 与 table 需同时提供")
    check_request(request)
    file_only = [name for name in FILE_ONLY if getattr(request, name) is not None]
    if file_only:
        raise DataError(
            f"{', '.join(file_only)}: how a file's text is read; a table's columns have types, so leave "
            f"{'it' if len(file_only) == 1 else 'them'} out / 这些选项只用于读取文件文本;数据库表的列有类型,请去掉"
        )
    say("Connecting to the database")
    wh = open_warehouse(request.source, request.source_url, request.table, limits.timeout, request.source_password)
    cancel.attach(wh)  # a client's cancel or the timeout cancels the running query
    try:
        mapping = map_columns(list(wh.table.columns), request.columns, request.segments)
        curves: dict = {}
        if mapping.get("month"):
            report = analyze_monthly_table(wh, mapping, say, curves, request)
        elif is_orders(mapping):
            report = analyze_orders(wh, mapping, say, request)
        else:
            report = analyze_table(wh, mapping, say, curves, request)
        analysis = Analysis(report)
        if request.charts and report.mode in ("subscriptions", "monthly"):
            say("Drawing charts")
            _draw(analysis, curves)
        return analysis
    finally:
        cancel.detach(wh)
        wh.close()


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


# -- segments ---------------------------------------------------------------------------------------------------------


# -- models -----------------------------------------------------------------------------------------------------------


# -- monthly revenue (one row per customer and month) -----------------------------------------------------------------


# -- transactions -----------------------------------------------------------------------------------------------------
