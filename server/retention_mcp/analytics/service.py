"""One analysis for any front end: sandboxed paths, a worker thread, progress, charts, the summary.

Knows nothing of MCP or of the command line: it returns the report, its Markdown and the charts.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from retention_mcp.analytics.charts import chart_folder, save_charts
from retention_mcp.analytics.engine import Analysis, AnalysisRequest, analyze
from retention_mcp.analytics.limits import Cancellation, Limits
from retention_mcp.analytics.params import AnalyzeParams
from retention_mcp.analytics.report import ChurnReport
from retention_mcp.analytics.summary import report_markdown
from retention_mcp.paths import readable_dirs

STEPS = 7


@dataclass
class AnalysisOutcome:
    report: ChurnReport
    markdown: str  # the summary in the chosen language
    charts: dict[str, bytes] = field(default_factory=dict)  # file name -> PNG, when asked for


def pick_language(requested: str, columns: list[str]) -> str:
    if requested in ("zh", "en"):
        return requested
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for c in columns for ch in c) else "en"


def writable_dir(folder: str, data_dirs: list[Path]) -> Path:
    """A folder for charts: inside a data directory (created if missing), never elsewhere."""
    return chart_folder(folder, data_dirs)


def write_charts(analysis: Analysis, folder: Path, data_dirs: list[Path] | None = None) -> list[str]:
    """Write the PNGs with no-follow semantics (see charts.save_charts), inside `data_dirs` when given."""
    written = save_charts(folder, analysis.charts, data_dirs)
    analysis.report.charts = written
    return written


def request_for(params: AnalyzeParams) -> AnalysisRequest:
    """The engine's request from the parameters: every field they share by name (a new parameter is one field in
    each), the inline CSV, and whether charts are drawn (for the reply or for a folder)."""
    shared = {
        f.name: copy.copy(getattr(params, f.name))
        for f in dataclasses.fields(AnalysisRequest)
        if f.name in AnalyzeParams.model_fields and f.name != "charts"
    }
    return AnalysisRequest(**shared, csv_text=params.csv, charts=params.charts or bool(params.charts_dir))


def resolve_source(request: AnalysisRequest, allow_url: bool) -> None:
    """The connection a source names, configured on the server; a URL only when the caller is the command line."""
    from retention_mcp.analytics.loading import DataError
    from retention_mcp.analytics.warehouse import is_url
    from retention_mcp.settings import sources

    name = request.source or ""
    if is_url(name):
        if not allow_url:
            raise DataError(
                "source: name a connection configured on the server (RETENTION_MCP_SOURCES), not a URL / "
                "source 只能是服务器上配置的连接名,不能是 URL"
            )
        request.source_url = name
        return
    known = sources()
    if name not in known:
        raise DataError(
            f"source: {name[:64]!r} is not a connection configured on the server; configured: "
            f"{', '.join(sorted(known)) or '(none)'} / 服务器上没有配置这个连接"
        )
    request.source_url, request.source_password = known[name].url, known[name].password


def run_analysis(
    params: AnalyzeParams,
    data_dirs: list[Path],
    progress: Callable[[str], None] | None = None,
    charts_folder: Path | None = None,
    cancel: Cancellation | None = None,
    limits: Limits | None = None,
    allow_url: bool = False,
) -> AnalysisOutcome:
    """Analyse (blocking), within `limits` (default: from the environment); `cancel` lets another thread stop it.
    Charts go to `charts_dir` inside a data directory, or to `charts_folder` (the command line's own choice), and
    come back as PNGs when `params.charts`."""
    request = request_for(params)
    if params.source:
        resolve_source(request, allow_url)
    request.charts = request.charts or charts_folder is not None
    folder = writable_dir(params.charts_dir, data_dirs) if params.charts_dir else None  # a bad folder fails first
    analysis = analyze(request, readable_dirs(data_dirs), progress, cancel, limits)
    if folder is not None:
        write_charts(analysis, folder, data_dirs)
    elif charts_folder is not None:
        charts_folder.mkdir(parents=True, exist_ok=True)
        write_charts(analysis, charts_folder)
    report = analysis.report
    chosen = pick_language(params.language, list(report.columns.values()))
    return AnalysisOutcome(
        report=report,
        markdown=report_markdown(report, chosen),
        charts=dict(analysis.charts) if params.charts else {},
    )


async def run_analysis_async(
    params: AnalyzeParams, data_dirs: list[Path], progress: Callable[[str], None] | None = None
) -> AnalysisOutcome:
    """`run_analysis` in a worker thread, so the event loop keeps serving; `progress` is called from that thread.
    When the caller is cancelled (the client cancels the call) the call returns at once and the analysis is
    interrupted, ending at its next step."""
    limits = Limits.from_env()
    cancel = Cancellation(limits.timeout)
    try:
        return await anyio.to_thread.run_sync(
            lambda: run_analysis(params, data_dirs, progress, cancel=cancel, limits=limits), abandon_on_cancel=True
        )
    except anyio.get_cancelled_exc_class():
        cancel.cancel("cancelled")
        raise
    finally:
        cancel.close()
