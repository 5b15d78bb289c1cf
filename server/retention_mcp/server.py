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
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError

from retention_mcp import __version__
from retention_mcp.errors import UnknownTemplateError, UserError, invalid_arguments
from retention_mcp.models import RenderResult, TemplateList
from retention_mcp.registry import LANGUAGE_FIELD, Registry, Template
from retention_mcp.settings import ToolsMode
from retention_mcp.template import TemplateError

log = logging.getLogger("retention_mcp")

INSTRUCTIONS = (
    "retention-mcp turns customer-retention prompt templates into tools. Call a template tool (or render_template) "
    "with the user's facts; the result is a complete prompt. Then follow that prompt to write the plan for the user. "
    "Every template works in Chinese and English; 'language' defaults to the language of the facts.\n"
    "retention-mcp 把客户留存提示词模板变成工具。用用户提供的事实调用模板工具(或 render_template),"
    "得到完整的提示词,再按提示词为用户撰写方案。每个模板都有中英文版本,language 默认跟随所填内容的语言。"
)

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


class RetentionServer(MCPServer):
    """MCPServer whose errors name the field and the rule, in English and Chinese."""

    def __init__(self, registry: Registry, **kwargs: Any):
        super().__init__(
            "retention-mcp",
            title="Customer retention templates · 客户留存模板",
            version=__version__,
            instructions=INSTRUCTIONS,
            log_level="WARNING",
            **kwargs,
        )
        self.registry = registry
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

    async def swap_templates(self, fresh: "RetentionServer") -> None:
        """Serve the tools, prompts and resources of `fresh` from now on, and tell connected clients."""
        self._tool_manager = fresh._tool_manager
        self._prompt_manager = fresh._prompt_manager
        self._resource_manager = fresh._resource_manager
        self.registry = fresh.registry
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
) -> RetentionServer:
    """Build the MCP server for a registry. `tokens` turns on bearer-token auth for HTTP."""
    auth: dict[str, Any] = {}
    if tokens:
        auth = {
            "token_verifier": StaticTokenVerifier(tokens),
            "auth": AuthSettings(issuer_url=issuer_url, resource_server_url=None),
        }
    server = RetentionServer(registry, **auth)
    for template in registry:
        if tools in ("full", "all"):
            server.add_tool(
                template_tool_function(template),
                name=template.name,
                title=template.title,
                description=_tool_description(template),
                annotations=READ_ONLY,
            )
        server.add_prompt(template_prompt(template))
        _add_resources(server, template)
    if tools in ("compact", "all"):
        _add_compact_tools(server, registry)
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


def template_tool_function(template: Template):
    """A tool function whose signature is the template's parameter model, field by field."""

    async def tool(**kwargs: Any) -> CallToolResult:
        return _render(template, kwargs)

    params = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[info.annotation, info],
            default=inspect.Parameter.empty if info.is_required() else info.default,
        )
        for name, info in template.parameter_fields().items()
    ]
    returns = Annotated[CallToolResult, RenderResult]
    tool.__name__ = template.name
    tool.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    return tool


def _tool_description(template: Template) -> str:
    required = ", ".join(s.name for s in template.inputs if s.required)
    return (
        f"{template.description}\n\nReturns the filled prompt (structured: messages and prompt). Required: {required}. "
        f"/ 返回填好的提示词(结构化:messages 与 prompt)。必填:{required}。"
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

    async def render_template(
        name: Annotated[name_type, Field(description="Template name, from list_templates / 模板名称")],  # type: ignore[valid-type]
        arguments: Annotated[
            dict[str, Any],
            Field(description="The template's parameters as an object / 模板参数(对象)"),
        ] = {},  # noqa: B006 - never mutated; the default appears in the input schema
        language: Annotated[
            Literal["auto", "zh", "en"],
            Field(description="'auto' follows the language of the values / 'auto' 跟随所填内容的语言"),
        ] = "auto",
    ) -> Annotated[CallToolResult, RenderResult]:
        try:
            template = registry.get(name)
        except UnknownTemplateError as exc:
            raise ToolError(str(exc)) from None
        merged = dict(arguments)
        if language != "auto" or LANGUAGE_FIELD not in merged:
            merged[LANGUAGE_FIELD] = language
        return _render(template, merged)

    server.add_tool(
        render_template,
        title="Render a template · 渲染模板",
        description="Render any template by name with its arguments; returns the filled prompt. "
        "/ 按名称渲染任一模板,返回填好的提示词。",
        annotations=READ_ONLY,
    )


# -- prompts ----------------------------------------------------------------------------------------------------------
def template_prompt(template: Template) -> Prompt:
    def render(**arguments: Any) -> list[Message]:
        try:
            result = template.render(template.coerce_strings(arguments))
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
        "output": ("输出", RenderResult.model_json_schema),
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
