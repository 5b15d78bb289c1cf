"""MCP adapter: tools, prompts and resources over a `RetentionApp`, through the SDK's public API only.

Every tool is described by a `ToolSpec`: its parameter model validates the arguments once, in the tool itself; the
SDK passes them through untouched, and the published input schema is built here from the same model (lean in the
default surface, in full bilingual detail in the `all` mode and the schema:// resources). Results and user errors
are converted in one place per kind: `call_tool` (tool errors), `get_prompt` and `read_resource` (invalid params).
This module knows nothing of template files; it reads only the app.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import anyio
from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import Message, Prompt, PromptArgument
from mcp.server.mcpserver.resources import FunctionResource
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
    ToolsListChanged,
)
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    ClientCapabilities,
    ElicitationCapability,
    ImageContent,
    SamplingCapability,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, ConfigDict, Field, SkipValidation, ValidationError, create_model

from retention_mcp import __version__
from retention_mcp.app import RetentionApp
from retention_mcp.constraints.typed import (
    CONSTRAINTS_FIELD,
    GOALS_FIELD,
    LEAN_DESCRIPTIONS,
    LEAN_KEYS_IN_DESCRIPTION,
    LEAN_REQUIRED_ONLY,
)
from retention_mcp.errors import ArgumentError, UnknownTemplateError, UserError, invalid_arguments
from retention_mcp.registry import LANGUAGE_FIELD, Registry, Template
from retention_mcp.sdk_shim import advertise_list_changed
from retention_mcp.settings import ModelSettings, Settings, SurfaceLanguage, ToolsMode
from retention_mcp.untrusted import one_line

if TYPE_CHECKING:
    from retention_mcp.team import TokenTable

log = logging.getLogger("retention_mcp")

INSTRUCTIONS = {
    "en": "retention-mcp turns customer-retention prompt templates into tools. Call a template tool with the user's "
    "facts; the result is a complete prompt: follow it to write the plan for the user. With mode='plan' the "
    "server's model writes the plan and returns it typed and checked against the user's constraints. Every "
    "template works in Chinese and English; 'language' defaults to the language of the facts.",
    "zh": "retention-mcp 把客户留存提示词模板变成工具。用用户提供的事实调用模板工具,得到完整的提示词,再按提示词为用户"
    "撰写方案。mode='plan' 时由服务端模型直接生成结构化方案,并按用户的约束逐条检查。每个模板都有中英文版本,language "
    "默认跟随所填内容的语言。",
}
MODE_DESCRIPTION = (
    "'prompt' (default): return the filled prompt for your own model. 'plan': the server's model (or yours, through "
    "sampling) writes the full plan; it comes back typed, checked against the stated budget, discount cap, horizon, "
    "goals and channels, and saved. / 'prompt'(默认):返回填好的提示词;'plan':由服务端模型(或经 sampling 由客户端模型)"
    "生成完整方案,按预算、折扣上限、周期、目标与渠道约束检查后返回并保存。"
)
# The lean surface says the same in fewer words: every tools/list costs every conversation its context.
LEAN_MODE_DESCRIPTION = "prompt (default), or plan: the server's model writes a checked plan / prompt(默认)或 plan:服务端模型撰写经检查的方案"
LEAN_LANGUAGE_DESCRIPTION = "auto (default) follows the values / auto(默认)跟随所填内容"
LEAN_TEMPLATE_RETURNS = (
    "Returns the filled prompt, or with mode='plan' a checked plan. / 返回填好的提示词;mode='plan' 时返回经检查的方案。"
)
LEAN_ANALYZE_DESCRIPTION = (
    "Churn facts from the customer's own data file (CSV, Parquet, JSON Lines, .xlsx) or inline CSV: churn rates, "
    "cohorts, survival, drivers, high-risk groups, MRR, retention models, summary and charts. Try "
    "path='subscriptions.csv'. / 用客户自己的数据文件(CSV、Parquet、JSON Lines、.xlsx)或内联 CSV 计算流失事实:流失率、"
    "同期群、生存分析、驱动因素、高风险客群、MRR、留存模型、摘要与图表。可试 path='subscriptions.csv'。"
)
TEMPLATE_RETURNS = (
    "Returns the filled prompt (structured: messages and prompt); with mode='plan', the full plan, typed and checked "
    "against the stated constraints, and saved. / 返回填好的提示词(结构化:messages 与 prompt);mode='plan' 时返回"
    "经约束检查并已保存的完整结构化方案。"
)
MODES: tuple[str, ...] = ("prompt", "plan")

# Annotations hold for every call a tool accepts. A render only reads and stays inside the server; a template tool
# also accepts mode='plan', which calls a model outside and saves a new plan, so its hints are that union.
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
RENDER_OR_PLAN = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)
# analyze_churn reads files; with charts_dir it also writes (and may replace) PNG files inside a data directory.
ANALYZE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)


def pick(text: str, language: SurfaceLanguage | None) -> str:
    """One language of an "English / 中文" text (both when `language` is None)."""
    if language is None or " / " not in text:
        return text
    english, chinese = text.rsplit(" / ", 1)
    return chinese if language == "zh" else english


# -- tool specs -------------------------------------------------------------------------------------------------------
Handler = Callable[[BaseModel, dict[str, Any], Context | None], Awaitable[CallToolResult]]
# arguments that are not fields of the parameter model (a template tool's `mode`): name -> (JSON Schema, allowed)
Extra = dict[str, tuple[dict[str, Any], tuple[str, ...]]]


@dataclass
class ToolSpec:
    """One tool: the model its arguments are validated by (once), the handler, and what tools/list shows."""

    name: str
    title: str
    description: str
    annotations: ToolAnnotations
    model: type[BaseModel]
    handler: Handler
    output_schema: Callable[[], dict[str, Any]] | None = None
    extra: Extra = field(default_factory=dict)
    input_schema: dict[str, Any] = field(default_factory=dict)
    # checks the model's types cannot state (a template's object-size limit); raise ArgumentError
    after: Callable[[BaseModel], None] | None = None

    @property
    def allowed(self) -> set[str]:
        return set(self.model.model_fields) | set(self.extra)

    def check(self, arguments: dict[str, Any], unknown: Iterable[str] = ()) -> tuple[BaseModel, dict[str, Any]]:
        """The validated model and the extra arguments; ArgumentError names every bad field and its rule."""
        fields = {k: v for k, v in arguments.items() if k in self.model.model_fields and v is not None}
        extras = {name: arguments.get(name) for name in self.extra}
        problems: ValidationError | None = None
        model: BaseModel | None = None
        try:
            model = self.model.model_validate(fields)
        except ValidationError as exc:
            problems = exc
        bad_extras = [
            (name, allowed)
            for name, (schema, allowed) in self.extra.items()
            if extras[name] is not None and extras[name] not in allowed
        ]
        unknown = list(unknown)
        if problems is not None or bad_extras or unknown:
            text = invalid_arguments(self.name, self.allowed, problems, unknown)
            for name, allowed in bad_extras:
                expected = " or ".join(repr(a) for a in allowed)
                text += f"\n- {name}: must be one of {expected} / 必须是以下之一:{expected}"
            raise ArgumentError(text)
        assert model is not None
        if self.after is not None:
            self.after(model)
        return model, {k: (v if v is not None else self.extra[k][0].get("default")) for k, v in extras.items()}


def _lean_property(prop: dict[str, Any], description: str | None) -> dict[str, Any]:
    """A property of the published input schema without what a model does not need: titles, examples, the
    `null` branch of optional values (leaving a value out is how to say "none")."""
    prop = {k: v for k, v in prop.items() if k not in ("title", "examples", "maxLength")}
    branches = prop.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        if len(rest) == 1:
            del prop["anyOf"]
            prop = {**rest[0], **prop}
            if prop.get("default", 0) is None:
                del prop["default"]
    if prop.get("minLength") == 1:
        del prop["minLength"]  # a blank optional value counts as left out; a blank required one gets a clear error
    if description:
        prop["description"] = description
    elif description == "":
        prop.pop("description", None)
    if "enum" in prop and prop.get("type") == "string":
        del prop["type"]  # the values say it
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict) and prop["items"].get("type") == "object":
        prop.pop("maxItems", None)  # a list of objects (goals): the server names its limit when it is passed
    return dict(sorted(prop.items()))


_LEAN_DROPS = frozenset(
    {"title", "examples", "maxLength", "minLength", "maxItems", "minimum", "maximum", "additionalProperties", "default"}
)


def _inline(node: Any, defs: dict[str, Any], language: SurfaceLanguage) -> Any:
    """A nested part of a lean schema: references resolved in place, each description in one language, and what a
    model does not need left out: titles and the limits the server checks and names in its errors (lengths, ranges,
    unknown keys)."""
    if isinstance(node, list):
        return [_inline(item, defs, language) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        return _inline({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs, language)
    if node.get("title") in LEAN_KEYS_IN_DESCRIPTION:
        return {"type": "object"}  # its keys are named in the description of the field that holds it
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _LEAN_DROPS or key == "$defs":
            continue
        if key == "description":
            continue  # the field's own description (given by the caller) says what the nested keys mean
        if key == "properties":
            keep = node.get("required") if node.get("title") in LEAN_REQUIRED_ONLY else None
            out[key] = {
                name: _lean_property(_inline(p, defs, language), None)
                for name, p in value.items()
                if keep is None or name in keep
            }
        else:
            out[key] = _inline(value, defs, language)
    return out


def published_schema(
    model: type[BaseModel],
    language: SurfaceLanguage | None,
    describe: Callable[[str, str], str] | None = None,
    extra: Extra | None = None,
) -> dict[str, Any]:
    """The input schema tools/list shows for `model`: pydantic's own in full detail (language None), else lean and
    in one language, nested models inlined. `describe(name, description)` gives a field's description in that
    language."""
    schema = copy.deepcopy(model.model_json_schema())
    schema.pop("title", None)
    props = schema.setdefault("properties", {})
    if language is not None:
        schema.pop("additionalProperties", None)  # an unknown argument gets an error that names it
        defs = schema.pop("$defs", {})
        for name, prop in list(props.items()):
            text = prop.get("description", "")
            prop = _inline(prop, defs, language) if defs or "anyOf" in prop else prop
            props[name] = _lean_property(prop, describe(name, text) if describe else pick(text, language))
    for name, (prop, _allowed) in (extra or {}).items():
        props[name] = copy.deepcopy(prop)  # already in the surface's language
    return schema


def _mode_property(language: SurfaceLanguage | None, described: bool = True) -> dict[str, Any]:
    """The `mode` argument; a template tool's lean surface leaves its description to the tool's own."""
    prop = {
        "default": "prompt",
        "description": MODE_DESCRIPTION,
        "enum": list(MODES),
        "title": "Mode",
        "type": "string",
    }
    if language is not None:
        prop = _lean_property(prop, pick(LEAN_MODE_DESCRIPTION, language))
        if not described:
            del prop["description"]
    return prop


# -- the server -------------------------------------------------------------------------------------------------------
class RetentionServer(MCPServer):
    """The MCP server over a RetentionApp: errors name the field and the rule, in English and Chinese."""

    def __init__(
        self,
        app: RetentionApp,
        tools: ToolsMode | None = None,
        language: SurfaceLanguage | None = None,
        audit: bool = False,
        **kwargs: Any,
    ):
        self.app = app
        self.audit = audit  # record who called which tool, when, and how it ended (team servers with tokens)
        self.tools_mode: ToolsMode = tools or app.settings.tools
        # the language of the tool surface; None: both (the fuller `all` mode)
        self.surface_language: SurfaceLanguage | None = (
            None if self.tools_mode == "all" else (language or app.settings.language)
        )
        self._bus = InMemorySubscriptionBus()
        instructions = (
            INSTRUCTIONS[self.surface_language]
            if self.surface_language
            else INSTRUCTIONS["en"] + "\n" + INSTRUCTIONS["zh"]
        )
        super().__init__(
            "retention-mcp",
            title="Customer retention templates · 客户留存模板",
            version=__version__,
            instructions=instructions,
            log_level="WARNING",
            warn_on_duplicate_resources=False,
            subscriptions=self._bus,
            **kwargs,
        )
        self._specs: dict[str, ToolSpec] = {}
        self._template_tools: list[str] = []
        self._prompts: dict[str, set[str]] = {}  # prompt name -> required arguments
        self._resource_owner: dict[str, tuple[str, str | None]] = {}  # uri -> (template, language or None)
        self._sessions: OrderedDict[int, Any] = OrderedDict()  # handshake-era sessions, to tell of list changes
        self._output_schemas: dict[str, dict[str, Any]] = {}
        self.middleware.append(self._remember_session)
        advertise_list_changed(self)
        self._add_templates()
        self._add_fixed()

    @property
    def registry(self) -> Registry:
        return self.app.registry

    # -- registration ---------------------------------------------------------------------------------------------
    def add_spec(self, spec: ToolSpec) -> None:
        """Register a tool whose arguments the SDK passes through and `spec.model` validates, in the tool."""
        spec.input_schema = spec.input_schema or published_schema(spec.model, self.surface_language, extra=spec.extra)

        async def tool(ctx: Context, **arguments: Any) -> CallToolResult:
            model, extras = spec.check(arguments)
            return await spec.handler(model, extras, ctx)

        # The SDK hands the values over as they came: text stays text (SkipValidation), and other values get its
        # usual help with JSON sent as a string (a list as '["a", "b"]'); `spec.check` validates them all at once.
        params = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str, SkipValidation] if _is_text(info.annotation) else Any,
                default=None,
            )
            for name, info in spec.model.model_fields.items()
        ]
        params += [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Any, default=None) for name in spec.extra
        ]
        params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
        tool.__name__ = spec.name
        tool.__signature__ = inspect.Signature(params, return_annotation=CallToolResult)  # type: ignore[attr-defined]
        tool.__annotations__ = {p.name: p.annotation for p in params} | {"return": CallToolResult}
        if spec.name in self._specs:
            self.remove_tool(spec.name)
        self._specs[spec.name] = spec
        self.add_tool(
            tool, name=spec.name, title=spec.title, description=spec.description, annotations=spec.annotations
        )

    def _drop_spec(self, name: str) -> None:
        if self._specs.pop(name, None) is not None:
            self.remove_tool(name)

    def _add_templates(self) -> None:
        for template in self.registry:
            if self.tools_mode in ("full", "all"):
                self.add_spec(self._template_spec(template))
                self._template_tools.append(template.name)
            self.add_prompt(self._template_prompt(template))
            self._prompts[template.name] = {s.name for s in template.inputs if s.required}
            self._add_template_resources(template)
        if self.tools_mode in ("compact", "all"):
            for spec in self._compact_specs():
                self.add_spec(spec)

    def _remove_templates(self) -> None:
        for name in self._template_tools:
            self._drop_spec(name)
        self._template_tools = []
        for name in list(self._prompts):
            self.remove_prompt(name)
        self._prompts = {}

    def _add_fixed_tools(self) -> None:
        self.add_spec(self._list_plans_spec())
        self.add_spec(self._analyze_spec())

    def _add_fixed(self) -> None:
        self._add_fixed_tools()
        self.add_resource(
            FunctionResource(
                fn=self._read_index,
                uri="template://index",
                name="templates",
                title="All templates · 全部模板",
                description="Every template with its parameters, as JSON / 全部模板及其参数(JSON)",
                mime_type="application/json",
            )
        )
        self.resource(
            "plan://{plan_id}",
            name="plan",
            title="A generated plan · 已生成的方案",
            description="A saved plan with its arguments, validation report and Markdown, as JSON / 已保存方案(JSON)",
            mime_type="application/json",
        )(self._read_plan)

    def output_schema(self, file: str, make: Callable[[], type[BaseModel]]) -> dict[str, Any]:
        # `make` imports the result model only when the shipped file is missing: tools/list needs no models
        """An output schema, read from the shipped schemas/ (kept equal to the models by a test) so start-up never
        builds it; from the model when the file is missing."""
        if file not in self._output_schemas:
            try:
                self._output_schemas[file] = _shipped_schema(file)
            except (FileNotFoundError, OSError):
                from retention_mcp.schema_forms import checkable

                self._output_schemas[file] = checkable(make().model_json_schema())
        return self._output_schemas[file]

    def _plan_output(self) -> dict[str, Any]:
        return self.output_schema("plan_result.json", lambda: _model("PlanResult"))

    # -- template tools -------------------------------------------------------------------------------------------
    def _template_spec(self, template: Template) -> ToolSpec:
        language = self.surface_language
        name = template.name

        async def handler(values: BaseModel, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            current = self.app.template(name)
            if extras["mode"] == "plan":
                return await self._generate(current, values, ctx)
            return _render_result(await self.app.render(current, values))

        def describe(field_name: str, text: str) -> str:
            if field_name == LANGUAGE_FIELD:
                return ""  # said in the tool's description
            if field_name in LEAN_DESCRIPTIONS:  # the typed constraints and goals every template has
                return pick(LEAN_DESCRIPTIONS[field_name], language)
            return template.input_description(field_name, language)

        extra: Extra = {"mode": (_mode_property(language, described=False), MODES)}
        title = template.files[language].title if language in template.files else template.title
        description = (
            _headline(template.description_in(language))
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
            model=template.parameters,
            handler=handler,
            output_schema=self._plan_output,
            extra=extra,
            input_schema=published_schema(template.parameters, language, describe, extra),
            after=template.check_sizes,
        )

    async def _generate(self, template: Template, values: BaseModel, ctx: Context | None) -> CallToolResult:
        """Plan mode of every template tool and of generate_plan."""
        from retention_mcp.generation.service import PlanError
        from retention_mcp.sampling import SamplingBackend

        backend = None
        if (
            not self.app.model_configured
            and ctx is not None
            and _client_offers(ctx, ClientCapabilities(sampling=SamplingCapability()))
        ):
            backend = SamplingBackend(ctx.session)

        async def progress(done: float, total: float, message: str) -> None:
            if ctx is not None:
                try:
                    await ctx.report_progress(done, total, message)
                except Exception:  # a client that cannot take progress still gets its plan
                    log.debug("progress notification not delivered", exc_info=True)

        ask = None
        if ctx is not None and _client_offers(ctx, ClientCapabilities(elicitation=ElicitationCapability())):

            async def ask(message: str, form: type[BaseModel]) -> tuple[str, dict[str, Any] | None]:
                from mcp.shared.exceptions import NoBackChannelError

                from retention_mcp.constraints.fill import CannotAsk

                try:
                    answer = await ctx.elicit(message, form)
                except NoBackChannelError:
                    raise CannotAsk() from None
                data = getattr(answer, "data", None)
                return answer.action, data.model_dump(exclude_none=True) if data is not None else None

        try:
            result = await self.app.generate(
                template, values, backend=backend, progress=progress, author=caller(), ask=ask
            )
        except PlanError as exc:  # no plan: say why, and hand over the prompt to go on with
            content: list[Any] = [TextContent(type="text", text=str(exc))]
            structured = None
            if exc.rendered is not None:
                content.append(TextContent(type="text", text=exc.rendered.prompt))
                structured = exc.rendered.model_dump(mode="json")
            return CallToolResult(content=content, structured_content=structured, is_error=True)
        return CallToolResult(
            content=[TextContent(type="text", text=result.markdown or "")],
            structured_content=result.model_dump(mode="json", exclude_none=True),
        )

    # -- compact tools: any template by name ----------------------------------------------------------------------
    def _compact_specs(self) -> list[ToolSpec]:
        language = self.surface_language
        names = tuple(self.registry.names())
        name_type: Any = Literal[names] if names else str  # type: ignore[valid-type]
        fields: dict[str, Any] = {
            "name": (name_type, Field(description="Template name, from list_templates / 模板名称(见 list_templates)")),
            "arguments": (
                dict[str, Any],
                Field(default_factory=dict, description="The template's parameters as an object / 模板参数(对象)"),
            ),
            "language": (
                Literal["auto", "zh", "en"],
                Field("auto", description="'auto' follows the language of the values / 'auto' 跟随所填内容的语言"),
            ),
        }
        config = ConfigDict(extra="forbid")
        by_name = create_model("ByNameArguments", __config__=config, **fields)

        def resolve(values: BaseModel) -> tuple[Template, BaseModel]:
            template = self.app.template(values.name)  # type: ignore[attr-defined]
            merged = dict(values.arguments)  # type: ignore[attr-defined]
            if values.language != "auto" or LANGUAGE_FIELD not in merged:  # type: ignore[attr-defined]
                merged[LANGUAGE_FIELD] = values.language  # type: ignore[attr-defined]
            return template, template.validate(merged)

        async def render(values: BaseModel, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            template, checked = resolve(values)
            if extras["mode"] == "plan":
                return await self._generate(template, checked, ctx)
            return _render_result(await self.app.render(template, checked))

        async def generate(values: BaseModel, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            template, checked = resolve(values)
            return await self._generate(template, checked, ctx)

        async def list_templates(values: BaseModel, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
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
            return self.output_schema("template_list.json", lambda: _model("TemplateList"))

        mode: Extra = {"mode": (_mode_property(language), MODES)}
        return [
            ToolSpec(
                name="list_templates",
                title=pick("List templates / 列出模板", language).replace(" / ", " · "),
                description=pick(
                    "List every template with its title, languages, version and parameters. / "
                    "列出全部模板及其标题、语言、版本和参数。",
                    language,
                ),
                annotations=READ_ONLY,
                model=create_model("NoArguments", __config__=config),
                handler=list_templates,
                output_schema=listing_schema,
            ),
            ToolSpec(
                name="render_template",
                title=pick("Render a template / 渲染模板", language).replace(" / ", " · "),
                description=pick(
                    "Render any template by name with its arguments; returns the filled prompt, or with mode='plan' "
                    "the checked plan. / 按名称渲染任一模板,返回填好的提示词;mode='plan' 时返回经检查的方案。",
                    language,
                ),
                annotations=RENDER_OR_PLAN,
                model=by_name,
                handler=render,
                output_schema=self._plan_output,
                extra=mode,
            ),
            ToolSpec(
                name="generate_plan",
                title=pick("Generate a plan / 生成方案", language).replace(" / ", " · "),
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
                model=by_name,
                handler=generate,
                output_schema=self._plan_output,
            ),
        ]

    # -- plans and analytics --------------------------------------------------------------------------------------
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
            return self.output_schema("plan_list.json", lambda: _model("PlanListResult"))

        return ToolSpec(
            name="list_plans",
            title=pick("List saved plans / 列出已保存方案", language).replace(" / ", " · "),
            description=pick(
                "Plans generated on this server, newest first; read one with the plan://ID resource. "
                "/ 本服务生成过的方案(最新在前);用 plan://ID 资源读取全文。",
                language,
            ),
            annotations=READ_ONLY,
            model=ListPlansParams,
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
            model=AnalyzeParams,
            handler=handler,
            # the shipped schemas/churn_report.json, so start-up never imports the analytics package
            output_schema=lambda: self.output_schema("churn_report.json", _churn_report_model),
        )

    # -- prompts and resources ------------------------------------------------------------------------------------
    def _template_prompt(self, template: Template) -> Prompt:
        name = template.name

        async def render(**arguments: Any) -> list[Message]:
            current = self.app.template(name)
            result = await self.app.render(current, current.coerce_strings(arguments))
            # MCP prompts have no system role: the instructions travel as the first user message.
            return [Message(m.content, role="assistant" if m.role == "assistant" else "user") for m in result.messages]

        args = [
            PromptArgument(name=s.name, description=template.input_description(s.name), required=s.required)
            for s in template.inputs
        ]
        args += [
            PromptArgument(
                name=CONSTRAINTS_FIELD, description="JSON object: " + pick(LEAN_DESCRIPTIONS[CONSTRAINTS_FIELD], "en")
            ),
            PromptArgument(
                name=GOALS_FIELD, description="JSON list of {text, …}, or one goal per line / JSON 列表,或每行一个目标"
            ),
            PromptArgument(name=LANGUAGE_FIELD, description="auto | " + " | ".join(template.languages)),
        ]
        return Prompt(
            name=name,
            title=template.title,
            description=template.description,
            arguments=args,
            fn=render,
            context_kwarg=None,
        )

    def _add_template_resources(self, template: Template) -> None:
        """Resources read the app's current templates, so a reload needs no new objects for the same URIs."""
        name = template.name
        for language, file in template.files.items():

            async def source(language: str = language) -> str:
                current = self.app.template(name)
                if language not in current.files:
                    raise UnknownTemplateError(f"{name}/{language}", self._resource_uris())
                return current.files[language].source

            self._add_owned(
                (name, language),
                fn=source,
                uri=f"template://{name}/{language}",
                name=f"{name}.{language}",
                title=f"{file.title} ({language})",
                description=f"Source of the '{name}' template in {language} (Prompty) / 模板源文件",
                mime_type="text/x-prompty",
            )
        for kind, label in (("input", "输入"), ("output", "输出"), ("plan", "方案")):

            async def schema(kind: str = kind) -> str:
                return json.dumps(self._schema_of(name, kind), ensure_ascii=False, indent=2)

            self._add_owned(
                (name, None),
                fn=schema,
                uri=f"schema://{name}/{kind}",
                name=f"{name}.{kind}.schema",
                title=f"{name} {kind} JSON Schema",
                description=f"JSON Schema of the '{name}' tool's {kind} / 工具{label}的 JSON Schema",
                mime_type="application/schema+json",
            )

    def _add_owned(self, owner: tuple[str, str | None], uri: str, **fields: Any) -> None:
        """A template's resource, added once (the SDK has no public remove: a reload re-owns it instead)."""
        if uri not in self._resource_owner:
            self.add_resource(FunctionResource(uri=uri, **fields))
        self._resource_owner[uri] = owner

    def _schema_of(self, name: str, kind: str) -> dict[str, Any]:
        template = self.app.template(name)
        if kind == "input":
            return template.parameters.model_json_schema()
        if kind == "output":
            from retention_mcp.models import PlanResult

            return PlanResult.model_json_schema()
        from retention_mcp.generation.plans import plan_model_for, plan_schema

        return plan_schema(plan_model_for(name))

    def _resource_uris(self) -> list[str]:
        return [uri for uri, owner in self._resource_owner.items() if self._serves(owner)]

    def _serves(self, owner: tuple[str, str | None]) -> bool:
        name, language = owner
        return name in self.registry and (language is None or language in self.registry.get(name).files)

    async def _read_index(self) -> str:
        return self.app.template_list().model_dump_json(indent=2)

    async def _read_plan(self, plan_id: str) -> str:
        record = await anyio.to_thread.run_sync(self.app.get_plan, plan_id)  # never wait on a lock in the event loop
        return record.model_dump_json(indent=2)

    # -- the adapter's one conversion per kind --------------------------------------------------------------------
    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        spec = self._specs.get(name)
        if spec is None:
            if self.audit:  # a probe for tools that do not exist is worth a line: who tried what
                await self._record(audited_name(name), {}, "unknown_tool", None)
            available = ", ".join(self._specs)
            raise ToolError(
                f"Unknown tool '{name}'. Available: {available}. / 未知工具「{name}」。可用工具:{available}。"
            )
        unknown = set(arguments) - spec.allowed
        outcome, result = "error", None
        try:
            if unknown:
                spec.check(arguments, unknown)  # raises, naming the unknown and every other bad field
            result = await super().call_tool(name, arguments, context)
            outcome = "error" if getattr(result, "is_error", False) else "ok"
            return result
        except ToolError as exc:
            user = _user_error(exc)
            if user is None:
                raise
            raise ToolError(str(user)) from None
        except UserError as exc:
            raise ToolError(str(exc)) from None
        finally:
            if self.audit and name not in NOT_AUDITED:
                await self._record(name, arguments, outcome, result)

    async def _record(self, tool: str, arguments: dict[str, Any], outcome: str, result: Any) -> None:
        """One audit entry: who, when, tool, template, plan id, outcome; never argument values."""
        from retention_mcp.generation.store import AuditEntry, now_iso

        structured = getattr(result, "structured_content", None) or {}
        if structured.get("store_status") == "not_saved":
            outcome = "not_saved"
        template = tool if tool in self._template_tools else arguments.get("name") if tool != "analyze_churn" else None
        entry = AuditEntry(
            at=now_iso(),
            who=caller(),
            tool=tool,
            template=template if isinstance(template, str) and template in self.registry else None,
            plan_id=structured.get("plan_id"),
            outcome=outcome,  # type: ignore[arg-type]
        )
        try:
            self.app.record(entry)
        except Exception as exc:  # the call's own outcome stands; a store that cannot take the entry is logged
            log.warning("audit entry not recorded: %s", exc)

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Context | None = None):
        required = self._prompts.get(name)
        if required is None:
            raise MCPError(code=INVALID_PARAMS, message=str(UnknownTemplateError(name, self.registry.names())))
        provided = {k for k, v in (arguments or {}).items() if v not in (None, "")}
        missing = sorted(required - provided)
        if missing:
            names = ", ".join(missing)
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Prompt '{name}' is missing required arguments: {names} / 提示词「{name}」缺少必填参数:{names}",
            )
        try:
            return await super().get_prompt(name, arguments, context)
        except ValueError as exc:
            user = _user_error(exc)
            if user is None:
                raise
            raise MCPError(code=INVALID_PARAMS, message=str(user)) from None

    async def read_resource(self, uri: Any, context: Context | None = None) -> Any:
        owner = self._resource_owner.get(str(uri))
        if owner is not None and not self._serves(owner):
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown resource: {uri} / 未知资源:{uri}")
        try:
            return await super().read_resource(uri, context)
        except Exception as exc:
            user = _user_error(exc)
            if user is None:
                raise
            raise MCPError(code=INVALID_PARAMS, message=str(user)) from None

    async def list_tools(self) -> list[Any]:
        tools = await super().list_tools()
        shown = []
        for tool in tools:
            spec = self._specs.get(tool.name)
            if spec is not None:
                output = spec.output_schema() if spec.output_schema else None
                tool = tool.model_copy(update={"input_schema": spec.input_schema, "output_schema": output})
            shown.append(tool)
        return shown

    async def list_resources(self) -> list[Any]:
        """Resources of templates a reload removed are no longer listed (the SDK has no public remove)."""
        resources = await super().list_resources()
        owners = self._resource_owner
        return [r for r in resources if str(r.uri) not in owners or self._serves(owners[str(r.uri)])]

    async def run_stdio_async(self) -> None:
        """The SDK's stdio transport, with a JSON-RPC error reply to each line that is not a message (see stdio.py)."""
        from retention_mcp.stdio import answering_unparseable_lines

        with answering_unparseable_lines():
            await super().run_stdio_async()

    # -- hot reload -----------------------------------------------------------------------------------------------
    async def _remember_session(self, ctx: Any, call_next: Any) -> Any:
        """Keep the session of each handshake, to tell that client when the templates change."""
        if getattr(ctx, "method", None) == "notifications/initialized":
            session = ctx.session
            self._sessions[id(session)] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return await call_next(ctx)

    async def reload(self) -> Registry:
        """Load the templates again and serve them; tell every client. On a TemplateError keep the old ones."""
        registry = self.app.reload()
        self._remove_templates()
        for name in list(self._specs):  # every tool again, so the list keeps its order
            self._drop_spec(name)
        self._add_templates()
        self._add_fixed_tools()
        await self.notify_lists_changed()
        return registry

    async def notify_lists_changed(self) -> None:
        for event in (ToolsListChanged(), PromptsListChanged(), ResourcesListChanged()):
            await self._bus.publish(event)  # 2026-07-28 clients listening on subscriptions/listen
        for key, session in list(self._sessions.items()):  # handshake-era clients
            try:
                await session.send_tool_list_changed()
                await session.send_prompt_list_changed()
                await session.send_resource_list_changed()
            except Exception:  # a closed connection: forget it
                self._sessions.pop(key, None)


MAX_SESSIONS = 1024
AUDITED_NAME_CHARS = 64


def audited_name(name: str) -> str:
    """A tool name a caller sent, as the audit log keeps it: letters, digits and `_./-` only (anything else becomes
    `?`), at most AUDITED_NAME_CHARS characters (a longer one ends with `…`)."""
    cleaned = re.sub(r"[^\w./-]", "?", one_line(name)[:AUDITED_NAME_CHARS], flags=re.ASCII) or "?"
    return cleaned + ("…" if len(name) > AUDITED_NAME_CHARS else "")


NOT_AUDITED = frozenset({"list_templates", "list_plans"})  # listings: who looked is not worth a log line


class ListPlansParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(None, description="Only plans of this template / 仅此模板的方案")
    failed_only: bool = Field(False, description="Only plans that did not pass / 仅含未通过的方案")
    limit: int = Field(20, ge=1, le=200, description="How many, newest first / 数量(最新在前)")


ANALYZE_DESCRIPTION = (
    "Compute churn facts from the customer's own data: a CSV, Parquet, JSON Lines or Excel .xlsx file in the server's "
    "data directories (or inline CSV). Returns customers, churn rate per month, quarter or year, cohort retention, Kaplan-Meier survival with "
    "median lifetime and log-rank tests, churn by segment with 95% intervals and lift, the strongest drivers, "
    "high-risk groups, MRR movements with GRR/NRR, the sBG retention model (or, for transactions, RFM and BG/NBD), "
    "a Markdown summary and PNG charts. Columns are detected from common English and Chinese names. Try "
    "path='subscriptions.csv' (bundled example). / 用客户自己的数据计算流失事实:服务器数据目录中的 CSV、Parquet、"
    "JSON Lines 或 Excel .xlsx 文件(或内联 CSV)。返回客户数、按月/季度/年的流失率、同期群留存、Kaplan-Meier 生存曲线与中位生命周期、log-rank 检验、"
    "带 95% 区间与提升倍数的分客群流失、主要驱动因素、高风险客群、MRR 变动与 GRR/NRR、sBG 留存模型(交易数据则为 RFM 与 "
    "BG/NBD)、Markdown 摘要和 PNG 图表。可用内置示例 path='subscriptions.csv' 试用。"
)


def _is_text(annotation: Any) -> bool:
    """Whether a field takes text (also optional text, or one of some strings): the SDK then hands it over as it
    came, never parsing a value that happens to look like JSON."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_text(args[0])
    if origin is Literal:
        return all(isinstance(a, str) for a in args)
    if origin in (Union, UnionType) and len(args) == 1:
        return _is_text(args[0])
    return annotation is str


def caller() -> str:
    """The name of the token this request came with ('local' without tokens: stdio, or HTTP without auth)."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    token = get_access_token()
    return token.client_id if token is not None else "local"


def _user_error(exc: BaseException) -> UserError | None:
    """The UserError an SDK error wraps, if it wraps one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UserError):
            return seen
        if isinstance(seen, ValidationError):
            return None
        seen = seen.__cause__
    return None


def _headline(description: str) -> str:
    """What a template is for, without the list of what its answer covers (the prompt itself says that)."""
    cut = min((i for i in (description.find(c) for c in (":", "：", ".", "。")) if i > 0), default=len(description))
    return description[:cut].strip()


def _render_result(result: Any) -> CallToolResult:
    """Both structured content and a text block: some clients reject a typed tool that returns only one."""
    return CallToolResult(
        content=[TextContent(type="text", text=result.prompt)],
        structured_content=result.model_dump(mode="json", exclude_none=True),
    )


def _client_offers(ctx: Context, capability: ClientCapabilities) -> bool:
    """Whether the client declared a capability (sampling, elicitation) on this session."""
    try:
        return ctx.session.check_client_capability(capability)
    except Exception:  # no session capabilities (stateless HTTP): nothing to ask the client for
        return False


def _model(name: str) -> type[BaseModel]:
    from retention_mcp import models

    return getattr(models, name)


def _churn_report_model() -> type[BaseModel]:
    from retention_mcp.analytics.report import ChurnReport

    return ChurnReport


@functools.cache
def _shipped_schema(name: str) -> dict[str, Any]:
    from retention_mcp.paths import shipped_dir

    return json.loads((shipped_dir("schemas") / name).read_text(encoding="utf-8"))


# -- building ---------------------------------------------------------------------------------------------------------
def build_server(
    registry: Registry | RetentionApp | None = None,
    tools: ToolsMode | None = None,
    tokens: Sequence[str] | TokenTable = (),
    issuer_url: str = "http://127.0.0.1:8000",
    model: ModelSettings | None = None,
    plan_store: Path | None = None,
    data_dirs: Sequence[Path] | None = None,
    language: SurfaceLanguage | None = None,
) -> RetentionServer:
    """The MCP server over an app (or over a registry, with settings from the other arguments).

    `tokens` (plain tokens, or a TokenTable of named ones) turns on bearer-token auth for HTTP, and with it the
    audit log of who called what; `model` configures plan mode (none: the client's sampling, if
    offered); `plan_store` keeps every plan. `tools` and `language` default to the app's settings.
    """
    if isinstance(registry, RetentionApp):
        app = registry
    else:
        settings = Settings(model=model or ModelSettings(), plan_store=plan_store)
        if data_dirs is not None:
            settings.data_dirs = list(data_dirs)
        app = RetentionApp(settings, registry=registry)
    auth: dict[str, Any] = {}
    table: TokenTable | None = None
    if tokens:  # the token machinery is imported only for a server that checks tokens
        from retention_mcp.team import NamedTokenVerifier, TokenTable

        table = tokens if isinstance(tokens, TokenTable) else TokenTable.load(plain=tokens)
    if table:
        auth = {
            "token_verifier": NamedTokenVerifier(table),
            "auth": AuthSettings(issuer_url=issuer_url, resource_server_url=None),  # type: ignore[arg-type]
        }
    return RetentionServer(app, tools=tools, language=language, audit=bool(table), **auth)
