"""The fixed tools: list_plans (saved plans) and analyze_churn (churn facts from the customer's data)."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import (
    CallToolResult,
    ImageContent,
    TextContent,
)
from pydantic import BaseModel, ConfigDict, Field

from retention_mcp.mcp.parts import ServerParts
from retention_mcp.mcp.surface import ToolSpec, churn_report_model, result_model
from retention_mcp.mcp.texts import ANALYZE, ANALYZE_DESCRIPTION, LEAN_ANALYZE_DESCRIPTION, READ_ONLY, pick
from retention_mcp.untrusted import one_line

log = logging.getLogger("retention_mcp")

if TYPE_CHECKING:
    pass


class ListPlansParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(None, description="Only plans of this template / 仅此模板的方案")
    failed_only: bool = Field(False, description="Only plans that did not pass / 仅含未通过的方案")
    limit: int = Field(20, ge=1, le=200, description="How many, newest first / 数量(最新在前)")


class PlanTools(ServerParts):
    def _list_plans_spec(self) -> ToolSpec:
        language = self.surface_language

        async def handler(values: BaseModel, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            from retention_mcp.models import PlanListResult

            found = await anyio.to_thread.run_sync(  # a store may wait on a lock: never in the event loop
                functools.partial(
                    self.app.list_plans,
                    template=values.template,  # type: ignore[attr-defined]
                    limit=values.limit,  # type: ignore[attr-defined]
                    failed_only=values.failed_only,  # type: ignore[attr-defined]
                )
            )
            listing = PlanListResult(plans=[p.model_dump() for p in found])
            verdicts = {"passed": "passed", "failed": "FAILED checks", "unverified": "unverified"}
            lines = [  # one plan per line: a title (or any stored field) with a line break can't forge another
                f"- {p.uri} {one_line(p.created_at)} {one_line(p.template)} ({one_line(p.language)}, "
                f"{one_line(p.model)}) {verdicts[p.status or 'failed']}"
                f": {one_line(p.title)}"
                for p in found
            ]
            return CallToolResult(
                content=[TextContent(type="text", text="\n".join(lines) or "No plans yet / 暂无方案")],
                structured_content=listing.model_dump(mode="json"),
            )

        def listing_schema() -> dict[str, Any]:
            return self.output_schema("plan_list.json", lambda: result_model("PlanListResult"))

        return ToolSpec(
            name="list_plans",
            title=pick("List saved plans / 列出已保存方案", language).replace(" / ", " · "),
            description=pick(
                "Plans generated on this server, newest first; read one with the plan://ID resource. "
                "/ 本服务生成过的方案(最新在前);用 plan://ID 资源读取全文。",
                language,
            ),
            annotations=READ_ONLY,
            model_of=lambda: ListPlansParams,
            handler=handler,
            output_schema=listing_schema,
        )

    def _analyze_spec(self) -> ToolSpec:
        from retention_mcp.analytics.params import AnalyzeParams

        language = self.surface_language

        async def handler(values: BaseModel, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            import base64

            import anyio

            steps = 7
            step = 0

            def say(message: str) -> None:  # called from the worker thread
                nonlocal step
                step += 1
                if ctx is not None:
                    try:
                        anyio.from_thread.run(ctx.report_progress, min(step, steps), steps, message)
                    except Exception:  # progress is a courtesy; the analysis goes on
                        log.debug("progress notification not delivered", exc_info=True)

            outcome = await self.app.analyze(values, say)  # type: ignore[arg-type]
            content: list[Any] = [TextContent(type="text", text=outcome.markdown)]
            content += [
                ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mime_type="image/png")
                for png in outcome.charts.values()
            ]
            return CallToolResult(content=content, structured_content=outcome.report.model_dump(mode="json"))

        return ToolSpec(
            name="analyze_churn",
            title=pick("Analyse churn from your data / 用你的数据分析流失", language).replace(" / ", " · "),
            description=pick(LEAN_ANALYZE_DESCRIPTION, language) if language else ANALYZE_DESCRIPTION,
            annotations=ANALYZE,
            model_of=lambda: AnalyzeParams,
            handler=handler,
            # the shipped schemas/churn_report.json, so start-up never imports the analytics package
            output_schema=lambda: self.output_schema("churn_report.json", churn_report_model),
        )
