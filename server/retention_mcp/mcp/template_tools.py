"""Template tools: one per template (full surface) or any template by name (compact), each rendering the prompt or,
with mode='plan', wiring plan generation to the client (sampling, elicitation, progress)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from retention_mcp.constraints.typed import (
    LEAN_DESCRIPTIONS,
)
from retention_mcp.json_body import DEFAULT_MAX_DEPTH, read_object
from retention_mcp.mcp.asking import ANSWER, asked, can_ask, can_sample, form_answer, modern, offers_sampling
from retention_mcp.mcp.audit import caller, render_result
from retention_mcp.mcp.parts import ServerParts
from retention_mcp.mcp.surface import (
    BRIEF_CHARS,
    Extra,
    JSONText,
    ToolSpec,
    headline,
    mode_property,
    published_schema,
    result_model,
    with_template_names,
)
from retention_mcp.mcp.texts import (
    LEAN_LANGUAGE_DESCRIPTION,
    LEAN_TEMPLATE_RETURNS,
    MODES,
    READ_ONLY,
    RENDER_OR_PLAN,
    TEMPLATE_RETURNS,
    pick,
    tool_title,
)
from retention_mcp.registry import LANGUAGE_FIELD, Template

log = logging.getLogger("retention_mcp")

if TYPE_CHECKING:
    from retention_mcp.models import RenderResult


def prompt_result(rendered: RenderResult) -> CallToolResult:
    """Prompt mode as a tool result: the prompt, then the plan's JSON shape and how to have it checked and saved with
    check_plan (a tool call comes from a client that can call tools; prompts/get returns the prompt alone)."""
    from retention_mcp.plan_shape import submit_note

    result = render_result(rendered)
    result.content.append(TextContent(type="text", text=submit_note(rendered.template, rendered.language)))
    return result


def plan_error(exc: Any) -> CallToolResult:
    """No plan: say why, and hand over the prompt (and how to submit a plan written from it) to go on with."""
    from retention_mcp.plan_shape import submit_note

    content: list[Any] = [TextContent(type="text", text=str(exc))]
    structured = None
    if exc.rendered is not None:
        content.append(TextContent(type="text", text=exc.rendered.prompt))
        content.append(TextContent(type="text", text=submit_note(exc.rendered.template, exc.rendered.language)))
        structured = exc.rendered.model_dump(mode="json")
    return CallToolResult(content=content, structured_content=structured, is_error=True)


class ByNameArguments(BaseModel):
    """render_template's and generate_plan's arguments; `name` is narrowed to the served templates' names."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Template name, from list_templates / 模板名称(见 list_templates)")
    arguments: JSONText | None = Field(
        None, description="The template's parameters as JSON text (an object) / 模板参数(JSON 对象文本)"
    )
    language: Literal["auto", "zh", "en"] = Field(
        "auto", description="'auto' follows the language of the values / 'auto' 跟随所填内容的语言"
    )


class NoArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateTools(ServerParts):
    def _template_spec(self, template: Template) -> ToolSpec:
        language = self.surface_language
        name = template.name

        async def handler(values: BaseModel, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            current = self.app.template(name)
            if extras["mode"] == "plan":
                return await self._generate(current, values, ctx, extras.get(ANSWER))
            return prompt_result(await self.app.render(current, values))

        async def question(ctx: Context, values: BaseModel, extras: dict[str, Any]) -> Elicit[Any] | None:
            return await self._question(self.app.template(name), values, ctx) if extras["mode"] == "plan" else None

        def describe(field_name: str, text: str) -> str:
            if field_name == LANGUAGE_FIELD:
                return pick(LEAN_LANGUAGE_DESCRIPTION, language)
            if field_name in LEAN_DESCRIPTIONS:  # the typed constraints and goals every template has
                return pick(LEAN_DESCRIPTIONS[field_name], language)
            return template.input_description(field_name, language)

        extra: Extra = {"mode": (mode_property(language), MODES)}
        title = template.files[language].title if language in template.files else template.title
        description = (
            headline(template.description_in(language))
            + ("。" if language == "zh" else ". ")
            + pick(LEAN_TEMPLATE_RETURNS, language)
            if language
            else f"{template.description}\n\n{TEMPLATE_RETURNS}"
        )
        return ToolSpec(
            name=name,
            title=title,
            description=description,
            annotations=RENDER_OR_PLAN,
            model_of=lambda: template.parameters,
            handler=handler,
            output_schema=self._plan_output,
            extra=extra,
            input_schema=published_schema(template.parameters_schema(), language, describe, extra),
            after=template.check_sizes,
            question=question,
        )

    async def _question(self, template: Template, values: BaseModel, ctx: Context | None) -> Elicit[Any] | None:
        """The form for the constraints a plan call is missing, put by the SDK's resolver on a 2026-07-28 session (an
        input-required round trip: the only way a form reaches the client there) when plan mode can go on (a model
        is configured: such a session cannot sample); None otherwise. A handshake-era session is asked in the middle
        of the call instead (`_generate`), where a client that fails to answer leaves the form failed and the plan
        still comes, where through the resolver it would end the call."""
        if ctx is None or not modern(ctx) or not self.app.model_configured or not can_ask(ctx):
            return None
        from retention_mcp.constraints.effective import effective_constraints_async
        from retention_mcp.constraints.fill import form_for, form_message, missing
        from retention_mcp.prompting import goal_field

        constraints = await effective_constraints_async(values, goal_field(template))
        fields = missing(constraints)
        if not fields:
            return None
        language = template.resolve_language(getattr(values, LANGUAGE_FIELD, "auto"), template.text_values(values))
        return Elicit(form_message(constraints, fields, language == "zh"), form_for(fields))

    async def _generate(
        self, template: Template, values: BaseModel, ctx: Context | None, outcome: Any = None
    ) -> CallToolResult:
        """Plan mode of every template tool and of generate_plan. `outcome` is what the SDK's resolver put in before
        the call ran: on a 2026-07-28 session, the user's answer to the form for missing constraints (`_question`);
        a handshake-era session is asked here, when the plan service finds constraints missing."""
        from retention_mcp.generation.service import PlanError, no_backend_message
        from retention_mcp.sampling import SamplingBackend

        backend = None
        if not self.app.model_configured:
            if not can_sample(ctx):  # say why plan mode cannot go on, and hand over the prompt to go on with
                reason = "no_back_channel" if offers_sampling(ctx) else "not_offered"
                rendered = await self.app.render(template, values)
                return plan_error(PlanError(no_backend_message(reason), rendered))
            backend = SamplingBackend(ctx.session)  # type: ignore[union-attr]

        async def progress(done: float, total: float, message: str) -> None:
            if ctx is not None:
                try:
                    await ctx.report_progress(done, total, message)
                except Exception:  # a client that cannot take progress still gets its plan
                    log.debug("progress notification not delivered", exc_info=True)

        ask: Any = None
        if asked(outcome):  # a 2026-07-28 session: the resolver put the same form before the call ran

            async def ask(message: str, form: type[BaseModel]) -> tuple[str, dict[str, Any] | None]:
                return form_answer(outcome)

        elif ctx is not None and not modern(ctx) and can_ask(ctx):  # a handshake-era session: asked in the call

            async def ask(message: str, form: type[BaseModel]) -> tuple[str, dict[str, Any] | None]:
                from mcp.shared.exceptions import NoBackChannelError

                from retention_mcp.constraints.fill import CannotAsk

                try:
                    return form_answer(await ctx.elicit(message, form))
                except NoBackChannelError:
                    raise CannotAsk() from None

        try:
            result = await self.app.generate(
                template, values, backend=backend, progress=progress, author=caller(), ask=ask
            )
        except PlanError as exc:
            return plan_error(exc)
        return CallToolResult(
            content=[TextContent(type="text", text=result.markdown or "")],
            structured_content=result.model_dump(mode="json", exclude_none=True),
        )

    def _compact_specs(self) -> list[ToolSpec[Any]]:
        language = self.surface_language
        by_name = with_template_names(ByNameArguments, "name", self.registry.names())

        def resolve(values: ByNameArguments) -> tuple[Template, BaseModel]:
            template = self.app.template(values.name)
            merged = (
                read_object(values.arguments, "arguments", BRIEF_CHARS, DEFAULT_MAX_DEPTH) if values.arguments else {}
            )
            if values.language != "auto" or LANGUAGE_FIELD not in merged:
                merged[LANGUAGE_FIELD] = values.language
            return template, template.validate(merged)

        async def render(values: ByNameArguments, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            template, checked = resolve(values)
            if extras["mode"] == "plan":
                return await self._generate(template, checked, ctx, extras.get(ANSWER))
            return prompt_result(await self.app.render(template, checked))

        async def generate(values: ByNameArguments, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            template, checked = resolve(values)
            return await self._generate(template, checked, ctx, extras.get(ANSWER))

        async def question(ctx: Context, values: ByNameArguments, extras: dict[str, Any]) -> Elicit[Any] | None:
            if extras.get("mode", "plan") != "plan":
                return None
            try:
                template, checked = resolve(values)
            except Exception:  # a bad name or arguments: the tool itself reports them
                return None
            return await self._question(template, checked, ctx)

        async def list_templates(values: NoArguments, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            listing = self.app.template_list()
            text = "\n".join(
                f"- {t.name} ({', '.join(t.languages)}, v{t.version}): {t.title}. Parameters: "
                + ", ".join(p.name + ("*" if p.required else "") for p in t.parameters)
                for t in listing.templates
            )
            return CallToolResult(
                content=[TextContent(type="text", text=text + "\n(* = required / 必填)")],
                structured_content=listing.model_dump(mode="json"),
            )

        def listing_schema() -> dict[str, Any]:
            return self.output_schema("template_list.json", lambda: result_model("TemplateList"))

        mode: Extra = {"mode": (mode_property(language), MODES)}
        return [
            ToolSpec(
                name="list_templates",
                title=tool_title("List templates / 列出模板", language),
                description=pick(
                    "List every template with its title, languages, version and parameters. / "
                    "列出全部模板及其标题、语言、版本和参数。",
                    language,
                ),
                annotations=READ_ONLY,
                model_of=lambda: NoArguments,
                handler=list_templates,
                output_schema=listing_schema,
            ),
            ToolSpec(
                name="render_template",
                title=tool_title("Render a template / 渲染模板", language),
                description=pick(
                    "Render any template by name with its arguments; returns the filled prompt, or with mode='plan' "
                    "the checked plan. / 按名称渲染任一模板,返回填好的提示词;mode='plan' 时返回经检查的方案。",
                    language,
                ),
                annotations=RENDER_OR_PLAN,
                model_of=lambda: by_name,
                handler=render,
                output_schema=self._plan_output,
                extra=mode,
                question=question,
            ),
            ToolSpec(
                name="generate_plan",
                title=tool_title("Generate a plan / 生成方案", language),
                description=pick(
                    "Have a model write the full plan for any template: typed (budget, timeline, KPIs, offers…), "
                    "checked against the budget, discount cap, horizon, goals and channels the user stated, repaired "
                    "once if needed, and saved as plan://ID. / 由模型为任一模板生成完整方案:结构化(预算、时间线、"
                    "KPI、优惠等),按用户给出的预算、折扣上限、周期、目标与渠道检查,必要时修正一轮,并保存为 plan://ID。",
                    language,
                ),
                annotations=ToolAnnotations(
                    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
                ),
                model_of=lambda: by_name,
                handler=generate,
                output_schema=self._plan_output,
                question=question,
            ),
        ]
