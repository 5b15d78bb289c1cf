"""The fixed tools: list_plans (saved plans) and analyze_churn (churn facts from the customer's data)."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any, Literal

import anyio
from mcp.server.mcpserver import Context
from mcp_types import (
    CallToolResult,
    ImageContent,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, ConfigDict, Field

from retention_mcp.errors import ArgumentError
from retention_mcp.json_body import DEFAULT_MAX_DEPTH, read_object
from retention_mcp.mcp.audit import caller
from retention_mcp.mcp.parts import ServerParts
from retention_mcp.mcp.surface import (
    BRIEF_CHARS,
    JSONText,
    ToolSpec,
    churn_report_model,
    result_model,
    with_template_names,
)
from retention_mcp.mcp.texts import (
    ANALYZE,
    ANALYZE_DESCRIPTION,
    CHECK_PLAN,
    CHECK_PLAN_DESCRIPTION,
    LEAN_ANALYZE_DESCRIPTION,
    READ_ONLY,
    pick,
    tool_title,
)
from retention_mcp.mcp.views import shows_views
from retention_mcp.registry import LANGUAGE_FIELD
from retention_mcp.untrusted import one_line

log = logging.getLogger("retention_mcp")

if TYPE_CHECKING:
    from retention_mcp.analytics.params import AnalyzeParams


class ListPlansParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(None, description="Only plans of this template / 仅此模板的方案")
    failed_only: bool = Field(False, description="Only plans that did not pass / 仅含未通过的方案")
    limit: int = Field(20, ge=1, le=200, description="How many, newest first / 数量(最新在前)")


class CheckPlanArguments(BaseModel):
    """check_plan's arguments; `template` is narrowed to the served templates' names (`template_names_of`)."""

    model_config = ConfigDict(extra="forbid")

    template: str = Field(description="Template name / 模板名称")
    plan: JSONText = Field(description="The plan as JSON text (format: schema://TEMPLATE/plan) / 方案的 JSON 文本")
    arguments: JSONText | None = Field(
        None,
        description="The brief as JSON text: the template tool's arguments; omit for a revision / "
        "需求的 JSON 文本(即模板工具的参数);提交修订时可省略",
    )
    language: Literal["en", "zh"] | None = Field(
        None, description="Language of the report; default: the brief's / 报告语言,默认同需求"
    )
    plan_id: str | None = Field(
        None, max_length=64, description="For a revision: the earlier plan_id / 提交修订时填上一版的 plan_id"
    )


class PlanTools(ServerParts):
    def _check_plan_spec(self) -> ToolSpec[CheckPlanArguments]:
        language = self.surface_language
        params = with_template_names(CheckPlanArguments, "template", self.registry.names())

        async def handler(v: CheckPlanArguments, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            from retention_mcp.generation.checking import read_plan_json

            template = self.app.template(v.template)
            plan = read_plan_json(v.plan)  # a plan that is no JSON object is said first, whatever else is missing
            revises = (v.plan_id or "").strip() or None
            brief = read_object(v.arguments, "arguments", BRIEF_CHARS, DEFAULT_MAX_DEPTH) if v.arguments else {}
            if not brief and revises is None:
                raise ArgumentError(
                    f"arguments: required for a first submission: the brief the plan answers, as JSON text (the "
                    f"arguments of the {template.name} tool); give plan_id instead to submit a revision of a saved plan "
                    f"/ arguments:首次提交时必填,即方案所依据的需求(JSON 文本,{template.name} 工具的参数);提交已保存方案的"
                    "修订时改填 plan_id"
                )
            if revises is not None and not brief:  # a revision answers the brief of the plan it revises
                brief = dict((await anyio.to_thread.run_sync(self.app.get_plan, revises)).arguments)
            if v.language is not None:
                brief[LANGUAGE_FIELD] = v.language
            try:
                checked = template.validate(brief)
            except ArgumentError as exc:  # the fields are inside `arguments`: say so
                raise ArgumentError(str(exc).replace("\n- ", "\n- arguments.")) from None
            result = await self.app.check_plan(template, checked, plan, revises=revises, author=caller())
            text = check_summary(result) + "\n\n" + (result.markdown or "")
            return CallToolResult(
                content=[TextContent(type="text", text=text)],
                structured_content=result.model_dump(mode="json", exclude_none=True),
            )

        return ToolSpec(
            name="check_plan",
            title=tool_title(CHECK_PLAN, language),
            description=pick(CHECK_PLAN_DESCRIPTION, language),
            annotations=ToolAnnotations(
                read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
            ),
            model_of=lambda: params,
            handler=handler,
            output_schema=self._plan_output,
        )

    def _list_plans_spec(self) -> ToolSpec[ListPlansParams]:
        language = self.surface_language

        async def handler(values: ListPlansParams, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            from retention_mcp.generation.store import revision_note
            from retention_mcp.models import PlanListResult

            found = await anyio.to_thread.run_sync(  # a store may wait on a lock: never in the event loop
                functools.partial(
                    self.app.list_plans,
                    template=values.template,
                    limit=values.limit,
                    failed_only=values.failed_only,
                )
            )
            listing = PlanListResult(plans=[p.model_dump() for p in found])
            verdicts = {"passed": "PASSED", "failed": "FAILED", "unverified": "UNVERIFIED"}
            lines = [  # one plan per line: a title (or any stored field) with a line break can't forge another
                f"- {p.uri} {one_line(p.created_at)} {one_line(p.template)} ({one_line(p.language)}, "
                f"{one_line(p.model)}) {verdicts[p.status or 'failed']}{revision_note(p)} — {one_line(p.title)}"
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
            title=tool_title("List saved plans / 列出已保存方案", language),
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

    def _analyze_spec(self) -> ToolSpec[AnalyzeParams]:
        from retention_mcp.analytics.params import AnalyzeParams

        language = self.surface_language

        async def handler(values: AnalyzeParams, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
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

            view = shows_views(ctx)  # a client with the analysis view draws the charts itself
            if view and not values.charts_dir:
                values = values.model_copy(update={"charts": False})  # no PNG to draw (a second or more saved)
            outcome = await self.app.analyze(values, say)
            content: list[Any] = [TextContent(type="text", text=outcome.markdown)]
            if not view:
                content += [
                    ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mime_type="image/png")
                    for png in outcome.charts.values()
                ]
            return CallToolResult(content=content, structured_content=outcome.report.model_dump(mode="json"))

        return ToolSpec(
            name="analyze_churn",
            title=tool_title("Analyse churn from your data / 用你的数据分析流失", language),
            description=pick(LEAN_ANALYZE_DESCRIPTION, language) if language else ANALYZE_DESCRIPTION,
            annotations=ANALYZE,
            model_of=lambda: AnalyzeParams,
            handler=handler,
            # the shipped schemas/churn_report.json, so start-up never imports the analytics package
            output_schema=lambda: self.output_schema("churn_report.json", churn_report_model),
        )


def check_summary(result: Any) -> str:
    """The verdict first, for the model that wrote the plan: what failed, and how to submit the fix."""
    report = result.validation
    zh = result.language == "zh"
    where = f"{result.plan_id} r{result.revision}" if result.plan_id else ("未保存" if zh else "not saved")
    verdict = {
        "passed": ("passed", "通过"),
        "failed": ("FAILED", "未通过"),
        "unverified": ("unverified", "未能全部核验"),
    }
    en, cn = verdict[report.status]
    lines = [f"检查结果({where}):{cn}" if zh else f"Check ({where}): {en}"]
    lines += [f"- {c.name}: {c.detail}" for c in report.checks if c.status != "passed"]
    lines += [f"- {'待补充' if zh else 'to fill'}: {item}" for item in report.to_fill]
    if report.status != "passed" and result.plan_id:
        lines.append(
            f'修正上述问题后再次调用 check_plan,并填写 plan_id="{result.plan_id}"。'
            if zh
            else f'Fix these and call check_plan again with plan_id="{result.plan_id}".'
        )
    return "\n".join(lines)
