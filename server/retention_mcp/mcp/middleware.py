"""The server's links in the SDK's middleware chain (`MCPServer.middleware`: `async (ctx, call_next)` callables that
see every inbound message on the wire, after the transport and its token check, before params validation).

- `audit_log`: one audit entry per `tools/call` on a server that keeps one (team servers with tokens): who, when,
  tool, template, plan id and outcome, never argument values. It reads the tool name and arguments from the raw
  params, awaits the rest of the chain and derives the outcome from what came back: the result's `isError` and its
  structured `store_status`, or the error raised. Listings (NOT_AUDITED) are skipped; a call to a tool that does not
  exist is recorded under its cleaned name (`audited_name`), as is a publish call from a token without the role.
- `session_keeper`: keeps the session of each handshake, to tell that client when the templates change.

Errors are not converted here. The SDK turns whatever a tool raises into a result with `isError` before any
middleware sees it, so a tool's user errors are still converted in `RetentionServer.call_tool`; and it turns a
resource's error into an MCP error (logging the trace) before middleware too, so user errors of prompts and
resources are converted where they are raised, by `invalid_params` (audit.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from retention_mcp.mcp.audit import MAX_SESSIONS, NOT_AUDITED, audited_name, caller, write_entry

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext


def audit_log(server: Any) -> ServerMiddleware[Any]:
    """The middleware that records each `tools/call` in the audit log of `server` (a RetentionServer: its app, its
    registry, its template tools and its `refusal` of a call; see the module's docstring)."""

    async def record_calls(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        params = ctx.params or {}
        name, arguments = params.get("name"), params.get("arguments") or {}
        if not isinstance(name, str) or not isinstance(arguments, Mapping):
            return await call_next(ctx)  # params the SDK refuses before any tool runs
        refused = server.refusal(name)
        if refused == "unknown_tool":  # a probe for tools that do not exist is worth a line: who tried what
            name, arguments = audited_name(name), {}
        audited = refused is not None or name not in NOT_AUDITED
        outcome: str = refused or "error"
        result: HandlerResult = None
        try:
            result = await call_next(ctx)
            if refused is None and isinstance(result, Mapping):
                outcome = "error" if result.get("isError") else "ok"
            return result
        except ValidationError:  # malformed params: no tool was called
            audited = False
            raise
        finally:
            if audited:
                structured = result.get("structuredContent") if isinstance(result, Mapping) and not refused else None
                record(server, name, arguments, outcome, structured if isinstance(structured, Mapping) else {})

    return record_calls


def record(server: Any, tool: str, arguments: Mapping[str, Any], outcome: str, structured: Mapping) -> None:
    """The entry of one call: its template is the tool's own, or the one a compact tool was asked for."""
    if structured.get("store_status") == "not_saved":
        outcome = "not_saved"
    template = tool if tool in server._template_tools else arguments.get("name") if tool != "analyze_churn" else None
    write_entry(server.app, caller(), tool, template, outcome, structured.get("plan_id"))


def session_keeper(sessions: OrderedDict[int, Any]) -> ServerMiddleware[Any]:
    """The middleware that keeps the session of each handshake in `sessions` (the latest MAX_SESSIONS)."""

    async def remember_session(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if getattr(ctx, "method", None) == "notifications/initialized":
            session = ctx.session
            sessions[id(session)] = session
            while len(sessions) > MAX_SESSIONS:
                sessions.popitem(last=False)
        return await call_next(ctx)

    return remember_session
