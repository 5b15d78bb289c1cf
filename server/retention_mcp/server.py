"""MCP adapter: tools, prompts and resources over a `RetentionApp`, through the SDK's public API only.

The server is assembled here from its parts in `retention_mcp.mcp`: the template tools (template_tools), list_plans
and analyze_churn (plan_tools), prompts and resources (prompts), over what they share (parts); tool specs and the
published schemas are in surface, texts in texts, what a call records in audit; the audit log and the sessions kept
for list changes are SDK middleware (middleware). Every tool is described by a `ToolSpec`: its parameter model
validates the arguments once, in the tool itself; the SDK passes them through untouched. Results and user errors are
converted in one place per kind, here: `call_tool` (tool errors), `get_prompt` and `read_resource` (invalid params,
through `invalid_params`). This module knows nothing of template files; it reads only the app.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
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
)
from mcp_types import Tool as MCPTool
from pydantic import SkipValidation

from retention_mcp import __version__
from retention_mcp.app import RetentionApp
from retention_mcp.errors import UnknownTemplateError, UserError
from retention_mcp.mcp.asking import ANSWER, answer_parameter
from retention_mcp.mcp.audit import invalid_params, user_error
from retention_mcp.mcp.middleware import audit_log, session_keeper
from retention_mcp.mcp.plan_tools import PlanTools
from retention_mcp.mcp.prompts import PromptsAndResources
from retention_mcp.mcp.surface import ToolSpec, is_text, published_schema, without_client_added
from retention_mcp.mcp.template_tools import TemplateTools
from retention_mcp.mcp.texts import INSTRUCTIONS
from retention_mcp.mcp.version_tools import PUBLISH_TOOLS, ForbiddenError, VersionTools
from retention_mcp.mcp.views import view_extension, view_meta
from retention_mcp.registry import Registry
from retention_mcp.sdk_shim import advertise_list_changed
from retention_mcp.settings import ModelSettings, Settings, SurfaceLanguage, ToolsMode

if TYPE_CHECKING:
    from retention_mcp.team import TokenTable


# -- the server -------------------------------------------------------------------------------------------------------
class RetentionServer(TemplateTools, PlanTools, PromptsAndResources, VersionTools):
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
            extensions=[view_extension()],
            **kwargs,
        )
        self._specs: dict[str, ToolSpec] = {}
        self._in_sdk: set[str] = set()  # tools the SDK has been handed (on their first call)
        self._template_tools: list[str] = []
        self._prompts: dict[str, set[str]] = {}  # prompt name -> required arguments
        self._resource_owner: dict[str, tuple[str, str | None]] = {}  # uri -> (template, language or None)
        self._sessions: OrderedDict[int, Any] = OrderedDict()  # handshake-era sessions, to tell of list changes
        self._output_schemas: dict[str, dict[str, Any]] = {}
        self.middleware.append(session_keeper(self._sessions))
        if audit:
            self.middleware.append(audit_log(self))
        advertise_list_changed(self)
        self._add_templates()
        self._add_fixed()

    # -- registration ---------------------------------------------------------------------------------------------
    def add_spec(self, spec: ToolSpec) -> None:
        """Offer a tool: tools/list shows it from the spec; the SDK gets it on its first call (`_hand_to_sdk`), so
        start-up builds no per-tool argument model in the SDK."""
        spec.input_schema = spec.input_schema or published_schema(spec.model, self.surface_language, extra=spec.extra)
        self._drop_spec(spec.name)
        self._specs[spec.name] = spec

    def _hand_to_sdk(self, spec: ToolSpec) -> None:
        """Register a tool whose arguments the SDK passes through and `spec.model` validates, in the tool."""

        async def tool(ctx: Context, **arguments: Any) -> CallToolResult:
            answer = arguments.pop(ANSWER, None)  # filled by the question's resolver, never sent by the client
            model, extras = spec.check(arguments)
            if spec.question is not None:
                extras[ANSWER] = answer
            return await spec.handler(model, extras, ctx)

        # The SDK hands the values over as they came: text stays text (SkipValidation), and other values get its
        # usual help with JSON sent as a string (a list as '["a", "b"]'); `spec.check` validates them all at once.
        params = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str, SkipValidation] if is_text(info.annotation) else Any,
                default=None,
            )
            for name, info in spec.model.model_fields.items()
        ]
        params += [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Any, default=None) for name in spec.extra
        ]
        if spec.question is not None:
            params.append(answer_parameter(spec, spec.question))
        params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
        tool.__name__ = spec.name
        tool.__signature__ = inspect.Signature(params, return_annotation=CallToolResult)  # type: ignore[attr-defined]
        tool.__annotations__ = {p.name: p.annotation for p in params} | {"return": CallToolResult}
        self.add_tool(
            tool, name=spec.name, title=spec.title, description=spec.description, annotations=spec.annotations
        )
        self._in_sdk.add(spec.name)

    def _drop_spec(self, name: str) -> None:
        self._specs.pop(name, None)
        if name in self._in_sdk:
            self._in_sdk.discard(name)
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
        self.add_spec(self._check_plan_spec())  # its template enum follows the registry

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
        self._add_version_tools()  # listed only to tokens with the publish role

    def _add_fixed(self) -> None:
        self._add_fixed_tools()
        self._add_version_resources()
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

    # -- template tools -------------------------------------------------------------------------------------------

    # -- compact tools: any template by name ----------------------------------------------------------------------

    # -- plans and analytics --------------------------------------------------------------------------------------

    # -- prompts and resources ------------------------------------------------------------------------------------

    # -- the adapter's one conversion per kind --------------------------------------------------------------------
    def refusal(self, name: str) -> Literal["unknown_tool", "forbidden"] | None:
        """Why a call to `name` is refused before its tool runs (the caller's token decides publishing), if it is."""
        if name not in self._specs:
            return "unknown_tool"
        return "forbidden" if name in PUBLISH_TOOLS and not self.may_publish() else None

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        refused = self.refusal(name)
        if refused == "unknown_tool":
            available = ", ".join(self._specs)
            raise ToolError(
                f"Unknown tool '{name}'. Available: {available}. / 未知工具「{name}」。可用工具:{available}。"
            )
        if refused == "forbidden":
            raise ToolError(str(ForbiddenError(name)))
        spec = self._specs[name]
        arguments = without_client_added(name, arguments, spec.allowed)
        unknown = set(arguments) - spec.allowed
        try:
            if unknown:
                spec.check(arguments, unknown)  # raises, naming the unknown and every other bad field
            if name not in self._in_sdk:
                self._hand_to_sdk(spec)
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            user = user_error(exc)
            if user is None:
                raise
            raise ToolError(str(user)) from None
        except UserError as exc:
            raise ToolError(str(exc)) from None

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
        with invalid_params():
            return await super().get_prompt(name, arguments, context)

    async def read_resource(self, uri: Any, context: Context | None = None) -> Any:
        owner = self._resource_owner.get(str(uri))
        if owner is not None and not self._serves(owner):
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown resource: {uri} / 未知资源:{uri}")
        with invalid_params():
            return await super().read_resource(uri, context)

    async def list_tools(self) -> list[Any]:
        """Every spec, in the order offered, with the schemas it publishes (the SDK may not have been handed it)."""
        shown = [
            MCPTool(
                name=spec.name,
                title=spec.title,
                description=spec.description,
                input_schema=spec.input_schema,
                output_schema=spec.output_schema() if spec.output_schema else None,
                annotations=spec.annotations,
                _meta=view_meta(spec.name, self._template_tools),
            )
            for spec in self._specs.values()
            if spec.name not in PUBLISH_TOOLS or self.may_publish()
        ]
        return shown + [tool for tool in await super().list_tools() if tool.name not in self._specs]

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
    async def reload(self) -> Registry:
        """Load the templates again and serve them; tell every client. On a TemplateError keep the old ones."""
        registry = await anyio.to_thread.run_sync(self.app.reload)  # may read the template store: not in the loop
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
