"""One analysis for any front end: sandboxed paths, a worker thread, progress, charts, the summary.

Knows nothing of MCP or of the command line: it returns the report, its Markdown and the charts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from retention_mcp.analytics.engine import Analysis, AnalysisRequest, analyze
from retention_mcp.analytics.loading import DataError
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
    roots = [Path(d).expanduser().resolve() for d in data_dirs]
    if not roots:
        raise DataError(
            f"{folder}: no data directory is set, so charts cannot be written / 未设置数据目录,无法写入图表"
        )
    raw = Path(folder).expanduser()
    target = (raw if raw.is_absolute() else roots[0] / raw).resolve()
    if not any(target == root or root in target.parents for root in roots):
        raise DataError(f"{folder}: charts can only be written inside the data directories / 图表只能写入数据目录")
    target.mkdir(parents=True, exist_ok=True)
    return target


def write_charts(analysis: Analysis, folder: Path) -> list[str]:
    written = []
    for name, png in analysis.charts.items():
        path = folder / name
        path.write_bytes(png)
        written.append(str(path))
    analysis.report.charts = written
    return written


def request_for(params: AnalyzeParams) -> AnalysisRequest:
    return AnalysisRequest(
        path=params.path,
        csv_text=params.csv,
        columns=dict(params.columns),
        segments=list(params.segments),
        delimiter=params.delimiter,
        charts=params.charts or bool(params.charts_dir),
        tenure_unit=params.tenure_unit,
        period=params.period,
        as_of=params.as_of,
        date_format=params.date_format,
        calibration_end=params.calibration_end,
        encoding=params.encoding,
        decimal=params.decimal,
    )


def run_analysis(
    params: AnalyzeParams,
    data_dirs: list[Path],
    progress: Callable[[str], None] | None = None,
    charts_folder: Path | None = None,
) -> AnalysisOutcome:
    """Analyse (blocking). Charts go to `charts_dir` inside a data directory, or to `charts_folder` (the command
    line's own choice), and come back as PNGs when `params.charts`."""
    request = request_for(params)
    request.charts = request.charts or charts_folder is not None
    analysis = analyze(request, readable_dirs(data_dirs), progress)
    folder = writable_dir(params.charts_dir, data_dirs) if params.charts_dir else charts_folder
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        write_charts(analysis, folder)
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
    """`run_analysis` in a worker thread, so the event loop keeps serving; `progress` is called from that thread."""
    return await anyio.to_thread.run_sync(lambda: run_analysis(params, data_dirs, progress))
