"""analyze_churn over MCP and the command line: sandboxed paths, a worker thread, progress, charts, the result."""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Any

import anyio

from retention_mcp.analytics.charts import chart_folder, save_charts
from retention_mcp.analytics.engine import Analysis, AnalysisRequest, analyze
from retention_mcp.analytics.limits import Cancellation, Limits
from retention_mcp.analytics.summary import report_markdown
from retention_mcp.grounding import readable_dirs

STEPS = 7


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


async def run_analysis(
    data_dirs: list[Path],
    request: AnalysisRequest,
    language: str,
    images: bool,
    charts_dir: str | None,
    ctx: Any = None,
):
    """Analyse in a worker thread with progress; the charts go back as images when `images`, and to `charts_dir`
    (inside a data directory) when given."""
    from mcp_types import CallToolResult, ImageContent, TextContent

    step = 0

    def say(message: str) -> None:
        nonlocal step
        step += 1
        if ctx is not None:
            with contextlib.suppress(Exception):  # progress is a courtesy; the analysis goes on
                anyio.from_thread.run(ctx.report_progress, min(step, STEPS), STEPS, message)

    request.charts = images or bool(charts_dir)
    folder = writable_dir(charts_dir, data_dirs) if charts_dir else None  # a bad folder fails before the work
    limits = Limits.from_env()
    cancel = Cancellation(limits.timeout)
    try:  # on the client's cancel the call returns at once, and the interrupted worker ends at its next step
        analysis = await anyio.to_thread.run_sync(
            lambda: analyze(request, readable_dirs(data_dirs), say, cancel, limits), abandon_on_cancel=True
        )
    except anyio.get_cancelled_exc_class():
        cancel.cancel("cancelled")
        raise
    finally:
        cancel.close()
    if folder is not None:
        await anyio.to_thread.run_sync(write_charts, analysis, folder, data_dirs)
    report = analysis.report
    chosen = pick_language(language, list(report.columns.values()))
    content: list[Any] = [TextContent(type="text", text=report_markdown(report, chosen))]
    if images:
        content += [
            ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mime_type="image/png")
            for png in analysis.charts.values()
        ]
    return CallToolResult(content=content, structured_content=report.model_dump(mode="json"))
