"""analyze_churn over MCP and the command line: sandboxed paths, a worker thread, progress, charts, the result."""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Any

import anyio

from retention_mcp.analytics.engine import Analysis, AnalysisRequest, analyze
from retention_mcp.analytics.loading import DataError
from retention_mcp.analytics.summary import report_markdown
from retention_mcp.grounding import readable_dirs

STEPS = 7


def pick_language(requested: str, columns: list[str]) -> str:
    if requested in ("zh", "en"):
        return requested
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for c in columns for ch in c) else "en"


def writable_dir(folder: str, data_dirs: list[Path]) -> Path:
    """A folder for charts: inside a data directory (created if missing), never elsewhere."""
    roots = [Path(d).expanduser().resolve() for d in data_dirs]
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
    analysis = await anyio.to_thread.run_sync(lambda: analyze(request, readable_dirs(data_dirs), say))
    if charts_dir:
        folder = writable_dir(charts_dir, data_dirs)
        await anyio.to_thread.run_sync(write_charts, analysis, folder)
    report = analysis.report
    chosen = pick_language(language, list(report.columns.values()))
    content: list[Any] = [TextContent(type="text", text=report_markdown(report, chosen))]
    if images:
        content += [
            ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mime_type="image/png")
            for png in analysis.charts.values()
        ]
    return CallToolResult(content=content, structured_content=report.model_dump(mode="json"))
