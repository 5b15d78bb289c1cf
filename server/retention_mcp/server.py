"""MCP wiring: one tool, one prompt and resources per template, from the same `Template` objects.

This module knows nothing of template files; it reads only the registry.
"""

import functools
import hashlib
import hmac
import inspect
import json
import logging
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import Message, Prompt, PromptArgument
from mcp.server.mcpserver.resources import FunctionResource, TextResource
from mcp.server.subscriptions import PromptsListChanged, ResourcesListChanged, ToolsListChanged
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    ClientCapabilities,
    SamplingCapability,
    TextContent,
    ToolAnnotations,
)
from pydantic import Field, ValidationError

from retention_mcp import __version__
from retention_mcp.errors import UnknownTemplateError, UserError, invalid_arguments
from retention_mcp.models import PlanResult, RenderResult, TemplateList
from retention_mcp.registry import LANGUAGE_FIELD, Registry, Template
from retention_mcp.settings import ModelSettings, ToolsMode, default_data_dirs
from retention_mcp.template import TemplateError

log = logging.getLogger("retention_mcp")

INSTRUCTIONS = (
    "retention-mcp turns customer-retention prompt templates into tools. Call a template tool (or render_template) "
    "with the user's facts; the result is a complete prompt. Then follow that prompt to write the plan for the user. "
    "With mode='plan' the server has a model write the plan and returns it typed and checked against the user's "
    "constraints. Every template works in Chinese and English; 'language' defaults to the language of the facts.\n"
    "retention-mcp 把客户留存提示词模板变成工具。用用户提供的事实调用模板工具(或 render_template),"
    "得到完整的提示词,再按提示词为用户撰写方案。mode='plan' 时由服务端模型直接生成结构化方案,并按用户的约束逐条检查。"
    "每个模板都有中英文版本,language 默认跟随所填内容的语言。"
)
MODE_DESCRIPTION = (
    "'prompt' (default): return the filled prompt for your own model. 'plan': the server's model (or yours, through "
    "sampling) writes the full plan; it comes back typed, checked against the stated budget, discount cap, horizon, "
    "goals and channels, and saved. / 'prompt'(默认):返回填好的提示词;'plan':由服务端模型(或经 sampling 由客户端模型)"
    "生成完整方案,按预算、折扣上限、周期、目标与渠道约束检查后返回并保存。"
)
Mode = Literal["prompt", "plan"]
ModeParam = Annotated[Mode, Field(description=MODE_DESCRIPTION)]
# parameters shared by render_template and generate_plan
ArgumentsParam = Annotated[dict[str, Any], Field(description="The template's parameters as an object / 模板参数(对象)")]
LanguageParam = Annotated[
    Literal["auto", "zh", "en"],
    Field(description="'auto' follows the language of the values / 'auto' 跟随所填内容的语言"),
]

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
# Template tools render by default; in plan mode they call a model and save the plan.
PLAN_CAPABLE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)


class RetentionServer(MCPServer):
    """MCPServer whose errors name the field and the rule, in English and Chinese."""

    def __init__(
        self,
        registry: Registry,
        model: ModelSettings | None = None,
        plan_store: Path | None = None,
        data_dirs: Sequence[Path] | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            "retention-mcp",
            title="Customer retention templates · 客户留存模板",
            version=__version__,
            instructions=INSTRUCTIONS,
            log_level="WARNING",
            **kwargs,
        )
        self.registry = registry
        self.model_settings = model or ModelSettings()
        self.plan_store_path = plan_store
        self.data_dirs = list(data_dirs) if data_dirs is not None else default_data_dirs()
        self._plans: Any = None  # PlanService, built on the first plan-mode call
        self._output_schemas: dict[type, dict[str, Any] | None] = {}
        self._plans_owner: RetentionServer | None = None
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self.middleware.append(self._track_connection)
        self._advertise_list_changed()

    async def _track_connection(self, ctx: Any, call_next: Any) -> Any:
        """Remember each client connection, to tell it when the templates change."""
        connection = getattr(ctx.session, "_connection", None)
        if connection is not None:
            self._connections.add(connection)
        return await call_next(ctx)

    def _advertise_list_changed(self) -> None:
        """Handshake-era clients learn from the capabilities that tool, prompt and resource lists can change."""
        lowlevel = self._lowlevel_server
        create = lowlevel.create_initialization_options

        def with_list_changed(notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any):
            options = notification_options or NotificationOptions(True, True, True)
            return create(options, *args, **kwargs)

        lowlevel.create_initialization_options = with_list_changed  # type: ignore[method-assign]

    def add_typed_tool(
        self, fn: Callable[..., Any], output_model: type, name: str | None = None, **kwargs: Any
    ) -> None:
        """add_tool, computing the JSON Schema of an output model shared by several tools only once."""
        name = name or fn.__name__
        schema = self._output_schemas.get(output_model)
        if schema is None:
            self.add_tool(fn, name=name, **kwargs)
            self._output_schemas[output_model] = self._tool_manager.get_tool(name).fn_metadata.output_schema
            return
        self.add_tool(fn, name=name, structured_output=False, **kwargs)
        metadata = self._tool_manager.get_tool(name).fn_metadata
        metadata.output_model, metadata.output_schema = output_model, schema  # read live by the SDK

    @property
    def plans(self) -> Any:
        """The plan service; generation code is imported only when a plan is first asked for."""
        if self._plans_owner is not None:  # after a template reload: the serving server's service
            return self._plans_owner.plans
        if self._plans is None:
            from retention_mcp.generation.service import PlanService

            self._plans = PlanService.from_settings(self.model_settings, self.plan_store_path, self.data_dirs)
        return self._plans

    async def grounded(self, template: Template, arguments: dict[str, Any]) -> dict[str, Any]:
        """Arguments with a `dataset` path replaced by the facts computed from it (in a worker thread)."""
        from retention_mcp.grounding import ground_async

        grounded, _ = await ground_async(template, arguments, self.data_dirs)
        return grounded

    async def render(self, template: Template, arguments: dict[str, Any]) -> CallToolResult:
        try:
            arguments = await self.grounded(template, arguments)
        except UserError as exc:
            raise ToolError(str(exc)) from None
        return _render(template, arguments)

    async def run(
        self, template: Template, arguments: dict[str, Any], mode: Mode, ctx: Context | None
    ) -> CallToolResult:
        """A template call: the filled prompt, or in plan mode the checked plan."""
        if mode == "plan":
            return await self.generate_plan(template, arguments, ctx)
        return await self.render(template, arguments)

    async def generate_plan(self, template: Template, arguments: dict[str, Any], ctx: Context | None) -> CallToolResult:
        """Plan mode of every template tool and of generate_plan."""
        from retention_mcp.generation.backends import SamplingBackend
        from retention_mcp.generation.service import PlanError

        service = self.plans
        backend = None
        if service.backend is None and ctx is not None and _client_samples(ctx):
            backend = SamplingBackend(ctx.session)

        async def progress(done: float, total: float, message: str) -> None:
            if ctx is not None:
                try:
                    await ctx.report_progress(done, total, message)
                except Exception:  # a client that cannot take progress still gets its plan
                    log.debug("progress notification not delivered", exc_info=True)

        try:
            result = await service.generate(template, arguments, backend=backend, progress=progress)
        except PlanError as exc:
            content = [TextContent(type="text", text=str(exc))]
            structured = None
            if exc.rendered is not None:
                content.append(TextContent(type="text", text=exc.rendered.prompt))
                structured = exc.rendered.model_dump(mode="json")
            return CallToolResult(content=content, structured_content=structured, is_error=True)
        except UserError as exc:
            raise ToolError(str(exc)) from None
        return CallToolResult(
            content=[TextContent(type="text", text=result.markdown or "")],
            structured_content=result.model_dump(mode="json", exclude_none=True),
        )

    async def swap_templates(self, fresh: "RetentionServer") -> None:
        """Serve the tools, prompts and resources of `fresh` from now on, and tell connected clients."""
        self._tool_manager = fresh._tool_manager
        self._prompt_manager = fresh._prompt_manager
        self._resource_manager = fresh._resource_manager
        self.registry = fresh.registry
        fresh._plans_owner = self  # tools built for `fresh` keep using this server's model and plan store
        for event in (ToolsListChanged(), PromptsListChanged(), ResourcesListChanged()):
            await self._subscriptions.publish(event)  # 2026-07-28 clients listening on subscriptions/listen
        for connection in list(self._connections):  # handshake-era clients
            try:
                await connection.send_tool_list_changed()
                await connection.send_prompt_list_changed()
                await connection.send_resource_list_changed()
            except Exception:  # a closed connection: forget it
                self._connections.discard(connection)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            available = ", ".join(t.name for t in self._tool_manager.list_tools())
            raise ToolError(
                f"Unknown tool '{name}'. Available: {available}. / 未知工具「{name}」。可用工具:{available}。"
            )
        allowed = set(tool.parameters.get("properties", {}))
        unknown = set(arguments) - allowed
        if unknown:
            try:  # report the other problems of the same call too
                tool.fn_metadata.validate_arguments({k: v for k, v in arguments.items() if k in allowed})
                problems = None
            except ValidationError as exc:
                problems = exc
            raise ToolError(invalid_arguments(name, allowed, problems, unknown))
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(invalid_arguments(name, allowed, exc.__cause__)) from None
            raise

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Context | None = None):
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            raise MCPError(code=INVALID_PARAMS, message=str(UnknownTemplateError(name, self.registry.names())))
        provided = {k for k, v in (arguments or {}).items() if v not in (None, "")}
        missing = sorted(a.name for a in prompt.arguments or [] if a.required and a.name not in provided)
        if missing:
            names = ", ".join(missing)
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Prompt '{name}' is missing required arguments: {names} / 提示词「{name}」缺少必填参数:{names}",
            )
        return await super().get_prompt(name, arguments, context)


def build_server(
    registry: Registry,
    tools: ToolsMode = "all",
    tokens: Sequence[str] = (),
    issuer_url: str = "http://127.0.0.1:8000",
    model: ModelSettings | None = None,
    plan_store: Path | None = None,
    data_dirs: Sequence[Path] | None = None,
) -> RetentionServer:
    """Build the MCP server for a registry. `tokens` turns on bearer-token auth for HTTP.

    `model` configures plan mode (none: the client's sampling, if offered); `plan_store` keeps every plan.
    """
    auth: dict[str, Any] = {}
    if tokens:
        auth = {
            "token_verifier": StaticTokenVerifier(tokens),
            "auth": AuthSettings(issuer_url=issuer_url, resource_server_url=None),
        }
    server = RetentionServer(registry, model=model, plan_store=plan_store, data_dirs=data_dirs, **auth)
    for template in registry:
        if tools in ("full", "all"):
            server.add_typed_tool(
                template_tool_function(template, server),
                PlanResult,
                name=template.name,
                title=template.title,
                description=_tool_description(template),
                annotations=PLAN_CAPABLE,
            )
        server.add_prompt(template_prompt(template, server))
        _add_resources(server, template)
    if tools in ("compact", "all"):
        _add_compact_tools(server, registry)
    _add_plan_access(server)
    _add_analytics(server)
    server.add_resource(
        lazy_resource(
            uri="template://index",
            name="templates",
            title="All templates · 全部模板",
            description="Every template with its parameters, as JSON / 全部模板及其参数(JSON)",
            mime_type="application/json",
            produce=lambda: _template_list(registry).model_dump_json(indent=2),
        )
    )
    return server


# -- tools ------------------------------------------------------------------------------------------------------------
def to_call_result(result: RenderResult) -> CallToolResult:
    """Both structured content and a text block: some clients reject a typed tool that returns only one."""
    return CallToolResult(
        content=[TextContent(type="text", text=result.prompt)],
        structured_content=result.model_dump(mode="json"),
    )


def _render(template: Template, arguments: dict[str, Any]) -> CallToolResult:
    try:
        return to_call_result(template.render(arguments))
    except UserError as exc:
        raise ToolError(str(exc)) from None
    except TemplateError as exc:
        log.error("template failed to render: %s", exc)
        raise ToolError(f"Template '{template.name}' could not be rendered: {exc.message}") from None


def template_tool_function(template: Template, server: RetentionServer):
    """A tool function whose signature is the template's parameter model, field by field, plus `mode`."""

    async def tool(ctx: Context, mode: Mode = "prompt", **kwargs: Any) -> CallToolResult:
        return await server.run(template, kwargs, mode, ctx)

    params = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[info.annotation, info],
            default=inspect.Parameter.empty if info.is_required() else info.default,
        )
        for name, info in template.parameter_fields().items()
    ]
    params.append(
        inspect.Parameter(
            "mode",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=ModeParam,
            default="prompt",
        )
    )
    params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    returns = Annotated[CallToolResult, PlanResult]
    tool.__name__ = template.name
    tool.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    return tool


def _client_samples(ctx: Context) -> bool:
    try:
        return ctx.session.check_client_capability(ClientCapabilities(sampling=SamplingCapability()))
    except Exception:  # no session capabilities (stateless HTTP): no sampling
        return False


def _tool_description(template: Template) -> str:
    required = ", ".join(s.name for s in template.inputs if s.required)
    return (
        f"{template.description}\n\nReturns the filled prompt (structured: messages and prompt); with mode='plan', the "
        f"full plan, typed and checked against the stated constraints. Required: {required}. "
        f"/ 返回填好的提示词(结构化:messages 与 prompt);mode='plan' 时返回经约束检查的完整结构化方案。必填:{required}。"
    )


def _template_list(registry: Registry) -> TemplateList:
    return TemplateList(templates=[t.summary() for t in registry])


def _add_compact_tools(server: RetentionServer, registry: Registry) -> None:
    names = tuple(registry.names())
    listing = _template_list(registry)
    listing_text = "\n".join(
        f"- {t.name} ({', '.join(t.languages)}, v{t.version}): {t.title}. Parameters: "
        + ", ".join(p.name + ("*" if p.required else "") for p in t.parameters)
        for t in listing.templates
    )

    async def list_templates() -> Annotated[CallToolResult, TemplateList]:
        return CallToolResult(
            content=[TextContent(type="text", text=listing_text + "\n(* = required / 必填)")],
            structured_content=listing.model_dump(mode="json"),
        )

    server.add_tool(
        list_templates,
        title="List templates · 列出模板",
        description="List every template with its title, languages, version and parameters. "
        "/ 列出全部模板及其标题、语言、版本和参数。",
        annotations=READ_ONLY,
    )

    name_type = Literal[names] if names else str  # type: ignore[valid-type]
    NameParam = Annotated[name_type, Field(description="Template name, from list_templates / 模板名称")]

    async def render_template(
        ctx: Context,
        name: NameParam,  # type: ignore[valid-type]
        arguments: ArgumentsParam = {},  # noqa: B006 - never mutated; the default appears in the input schema
        language: LanguageParam = "auto",
        mode: ModeParam = "prompt",
    ) -> Annotated[CallToolResult, PlanResult]:
        template, merged = _resolve(registry, name, arguments, language)
        return await server.run(template, merged, mode, ctx)

    server.add_typed_tool(
        render_template,
        PlanResult,
        title="Render a template · 渲染模板",
        description="Render any template by name with its arguments; returns the filled prompt, or with mode='plan' "
        "the checked plan. / 按名称渲染任一模板,返回填好的提示词;mode='plan' 时返回经检查的方案。",
        annotations=PLAN_CAPABLE,
    )

    async def generate_plan(
        ctx: Context,
        name: NameParam,  # type: ignore[valid-type]
        arguments: ArgumentsParam = {},  # noqa: B006 - never mutated; the default appears in the input schema
        language: LanguageParam = "auto",
    ) -> Annotated[CallToolResult, PlanResult]:
        template, merged = _resolve(registry, name, arguments, language)
        return await server.generate_plan(template, merged, ctx)

    server.add_typed_tool(
        generate_plan,
        PlanResult,
        title="Generate a plan · 生成方案",
        description="Have a model write the full plan for any template: typed (budget, timeline, KPIs, offers…), "
        "checked against the budget, discount cap, horizon, goals and channels the user stated, repaired once if "
        "needed, and saved as plan://ID. / 由模型为任一模板生成完整方案:结构化(预算、时间线、KPI、优惠等),"
        "按用户给出的预算、折扣上限、周期、目标与渠道检查,必要时修正一轮,并保存为 plan://ID。",
        annotations=PLAN_CAPABLE,
    )


def _resolve(registry: Registry, name: str, arguments: dict[str, Any], language: str) -> tuple[Template, dict]:
    try:
        template = registry.get(name)
    except UnknownTemplateError as exc:
        raise ToolError(str(exc)) from None
    merged = dict(arguments)
    if language != "auto" or LANGUAGE_FIELD not in merged:
        merged[LANGUAGE_FIELD] = language
    return template, merged


def _add_plan_access(server: RetentionServer) -> None:
    """list_plans and plan://{id}: the plans this server generated."""
    from retention_mcp.models import PlanListResult

    async def list_plans(
        template: Annotated[str | None, Field(description="Only plans of this template / 仅此模板的方案")] = None,
        failed_only: Annotated[bool, Field(description="Only plans with failed checks / 仅含未通过检查的方案")] = False,
        limit: Annotated[int, Field(ge=1, le=200, description="How many, newest first / 数量(最新在前)")] = 20,
    ) -> Annotated[CallToolResult, PlanListResult]:
        store = server.plans.store
        if store is None:
            raise ToolError(
                "Plans are not kept on this server (RETENTION_MCP_PLAN_STORE=off) / 本服务未保存方案"
                "(RETENTION_MCP_PLAN_STORE=off)"
            )
        try:
            found = store.list(template=template, limit=limit, failed_only=failed_only)
        except UserError as exc:
            raise ToolError(str(exc)) from None
        listing = PlanListResult(plans=[p.model_dump() for p in found])
        lines = [
            f"- {p.uri} {p.created_at} {p.template} ({p.language}, {p.model}) "
            f"{'passed' if p.passed else 'FAILED checks'}: {p.title}"
            for p in found
        ]
        return CallToolResult(
            content=[TextContent(type="text", text="\n".join(lines) or "No plans yet / 暂无方案")],
            structured_content=listing.model_dump(mode="json"),
        )

    server.add_tool(
        list_plans,
        title="List saved plans · 列出已保存方案",
        description="Plans generated on this server, newest first; read one with the plan://ID resource. "
        "/ 本服务生成过的方案(最新在前);用 plan://ID 资源读取全文。",
        annotations=READ_ONLY,
    )

    @server.resource(
        "plan://{plan_id}",
        name="plan",
        title="A generated plan · 已生成的方案",
        description="A saved plan with its arguments, validation report and Markdown, as JSON / 已保存方案(JSON)",
        mime_type="application/json",
    )
    async def read_plan(plan_id: str) -> str:
        store = server.plans.store
        if store is None:
            raise ValueError("Plans are not kept on this server / 本服务未保存方案")
        try:
            return store.get(plan_id).model_dump_json(indent=2)
        except UserError as exc:
            raise ValueError(str(exc)) from None


# -- analytics --------------------------------------------------------------------------------------------------------
ANALYZE_DESCRIPTION = (
    "Compute churn facts from the customer's own data: a CSV, Parquet or JSON Lines file in the server's data "
    "directories (or inline CSV). Returns customers, monthly churn rate, cohort retention, Kaplan-Meier survival with "
    "median lifetime and log-rank tests, churn by segment with 95% intervals and lift, the strongest drivers, "
    "high-risk groups, MRR movements with GRR/NRR, the sBG retention model (or, for transactions, RFM and BG/NBD), "
    "a Markdown summary and PNG charts. Columns are detected from common English and Chinese names. Try "
    "path='subscriptions.csv' (bundled example). / 用客户自己的数据计算流失事实:服务器数据目录中的 CSV、Parquet 或 "
    "JSON Lines 文件(或内联 CSV)。返回客户数、月度流失率、同期群留存、Kaplan-Meier 生存曲线与中位生命周期、log-rank 检验、"
    "带 95% 区间与提升倍数的分客群流失、主要驱动因素、高风险客群、MRR 变动与 GRR/NRR、sBG 留存模型(交易数据则为 RFM 与 "
    "BG/NBD)、Markdown 摘要和 PNG 图表。可用内置示例 path='subscriptions.csv' 试用。"
)
ROLE_HELP = "customer_id, start_date, end_date, churned, tenure, plan, amount, billing_interval, transaction_date"


def _add_analytics(server: RetentionServer) -> None:
    async def analyze_churn(
        ctx: Context,
        path: Annotated[
            str | None,
            Field(description="File inside the data directories, e.g. subscriptions.csv / 数据目录中的文件"),
        ] = None,
        csv: Annotated[
            str | None,
            Field(description="Inline CSV text, header first, instead of a file / 内联 CSV 文本(首行为表头)"),
        ] = None,
        columns: Annotated[
            dict[str, str],
            Field(description=f"Role -> column where detection needs help; roles: {ROLE_HELP} / 角色到列名的映射"),
        ] = {},  # noqa: B006 - never mutated; the default appears in the input schema
        segments: Annotated[
            list[str],
            Field(description="Columns to segment by (default: every low-cardinality or numeric column) / 分群列"),
        ] = [],  # noqa: B006
        delimiter: Annotated[
            Literal[",", ";", "\t", "|", "，"] | None,  # the same set as analytics.loading.DELIMITERS
            Field(description="CSV delimiter, when sniffing gets it wrong / CSV 分隔符(自动识别出错时)"),
        ] = None,
        language: Annotated[
            Literal["auto", "zh", "en"], Field(description="Language of the summary / 摘要语言")
        ] = "auto",
        charts: Annotated[bool, Field(description="Return PNG charts as images / 返回 PNG 图表")] = True,
        charts_dir: Annotated[
            str | None,
            Field(description="Also write the PNGs to this folder inside a data directory / 同时写入此目录"),
        ] = None,
    ) -> CallToolResult:
        from retention_mcp.analytics.engine import AnalysisRequest
        from retention_mcp.analytics.service import run_analysis

        request = AnalysisRequest(
            path=path, csv_text=csv, columns=dict(columns), segments=list(segments), delimiter=delimiter
        )
        try:
            return await run_analysis(server.data_dirs, request, language, charts, charts_dir, ctx)
        except UserError as exc:
            raise ToolError(str(exc)) from None

    server.add_tool(
        analyze_churn,
        title="Analyse churn from your data · 用你的数据分析流失",
        description=ANALYZE_DESCRIPTION,
        annotations=READ_ONLY,
        structured_output=False,
    )
    # The output schema is the shipped schemas/churn_report.json (kept equal to the model by a test), so start-up
    # never imports the analytics package.
    tool = server._tool_manager.get_tool("analyze_churn")
    tool.fn_metadata.output_schema = _shipped_schema("churn_report.json")


@functools.cache
def _shipped_schema(name: str) -> dict[str, Any]:
    from retention_mcp.paths import shipped_dir

    return json.loads((shipped_dir("schemas") / name).read_text(encoding="utf-8"))


# -- prompts ----------------------------------------------------------------------------------------------------------
def template_prompt(template: Template, server: RetentionServer) -> Prompt:
    async def render(**arguments: Any) -> list[Message]:
        try:
            values = await server.grounded(template, template.coerce_strings(arguments))
            result = template.render(values)
        except UserError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None
        # MCP prompts have no system role: the instructions travel as the first user message.
        return [Message(m.content, role="assistant" if m.role == "assistant" else "user") for m in result.messages]

    args = [
        PromptArgument(name=s.name, description=template.input_description(s.name), required=s.required)
        for s in template.inputs
    ]
    args.append(PromptArgument(name=LANGUAGE_FIELD, description="auto | " + " | ".join(template.languages)))
    return Prompt(
        name=template.name,
        title=template.title,
        description=template.description,
        arguments=args,
        fn=render,
    )


# -- resources --------------------------------------------------------------------------------------------------------
def _add_resources(server: RetentionServer, template: Template) -> None:
    for language, file in template.files.items():
        server.add_resource(
            TextResource(
                uri=f"template://{template.name}/{language}",
                name=f"{template.name}.{language}",
                title=f"{file.title} ({language})",
                description=f"Source of the '{template.name}' template in {language} (Prompty) / 模板源文件",
                mime_type="text/x-prompty",
                text=file.source,
            )
        )
    schemas = {
        "input": ("输入", template.parameters.model_json_schema),
        "output": ("输出", PlanResult.model_json_schema),
        "plan": ("方案", lambda: template.plan_model.model_json_schema()),
    }
    for kind, (label, make_schema) in schemas.items():
        server.add_resource(
            lazy_resource(
                uri=f"schema://{template.name}/{kind}",
                name=f"{template.name}.{kind}.schema",
                title=f"{template.name} {kind} JSON Schema",
                description=f"JSON Schema of the '{template.name}' tool's {kind} / 工具{label}的 JSON Schema",
                mime_type="application/schema+json",
                produce=lambda make_schema=make_schema: json.dumps(make_schema(), ensure_ascii=False, indent=2),
            )
        )


def lazy_resource(produce: Callable[[], str], **fields: Any) -> FunctionResource:
    """A text resource computed on its first read and kept, so start-up pays nothing for it."""
    cached = functools.cache(produce)

    async def read() -> str:
        return cached()

    return FunctionResource(fn=read, **fields)


# -- auth -------------------------------------------------------------------------------------------------------------
class StaticTokenVerifier(TokenVerifier):
    """Accepts a fixed set of bearer tokens (a team's shared secrets); compares digests in constant time."""

    def __init__(self, tokens: Sequence[str]):
        self._digests = [hashlib.sha256(t.encode()).digest() for t in tokens]

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode()).digest()
        for index, known in enumerate(self._digests):
            if hmac.compare_digest(digest, known):
                return AccessToken(token=token, client_id=f"token-{index + 1}", scopes=[])
        return None
