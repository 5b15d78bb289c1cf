"""Putting a form to the user, on every protocol version, and what a connection can carry.

On a 2026-07-28 session (stateless HTTP included) a server sends no request to the client during a call: the form goes
through the SDK's resolver (`mcp.server.mcpserver.resolve`), which answers the call with the form as an input-required
result and runs the tool when the client sends the call again with the answer. On a handshake-era session the tool asks
in the middle of the call (`ctx.elicit`, what the resolver would send there too), where a client that fails to answer
leaves the form failed and the call goes on. Sampling (the client's own model) is a legacy feature of handshake-era
sessions with a back channel."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, ElicitationResult, Resolve
from mcp_types.version import is_version_at_least
from pydantic import BaseModel

if TYPE_CHECKING:
    from retention_mcp.mcp.surface import ToolSpec

# The tool parameter the resolver fills: the user's answer to the form, or an accepted outcome with no data when the
# call asked nothing. Not a published argument (the SDK leaves resolved parameters out of the input schema).
ANSWER = "form_answer__"
MODE, PLAN = "mode", "plan"  # a tool with a `mode` argument asks only in plan mode (its default is prompt)
FIRST_WITHOUT_BACK_CHANNEL = "2026-07-28"  # from this version on, a request to the client rides input_required

# (ctx, validated values, extra arguments) -> the form to put to the user, or None to ask nothing
Question = Callable[[Context, BaseModel, dict[str, Any]], Awaitable[Elicit[Any] | None]]


def modern(ctx: Context) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, FIRST_WITHOUT_BACK_CHANNEL)


def _back_channel(ctx: Context) -> bool:
    try:
        return bool(ctx.session.can_send_request)
    except Exception:  # outside a request: nothing can be sent
        return False


def can_ask(ctx: Context | None) -> bool:
    """Whether a form can reach the user on this call: the client declared form elicitation, and the connection
    carries it (every 2026-07-28 session through input_required; a handshake-era one only with a back channel)."""
    if ctx is None:
        return False
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    return modern(ctx) or _back_channel(ctx)


def offers_sampling(ctx: Context | None) -> bool:
    """Whether the client declared sampling (the use of its own model)."""
    capabilities = ctx.client_capabilities if ctx is not None else None
    return capabilities is not None and capabilities.sampling is not None


def can_sample(ctx: Context | None) -> bool:
    """Whether a sampling request can reach the client's model: declared, on a handshake-era session with a back
    channel (the 2026-07-28 protocol deprecates sampling and carries no request in the middle of a call)."""
    return ctx is not None and offers_sampling(ctx) and not modern(ctx) and _back_channel(ctx)


def answer_parameter(spec: ToolSpec, question: Question) -> inspect.Parameter:
    """The tool parameter a resolver fills with the user's answer to `question`'s form. The resolver reads the
    tool's arguments by name, so its signature lists them all beside the context."""

    async def resolver(ctx: Context, **arguments: Any) -> Elicit[Any] | None:
        if arguments.get(MODE, PLAN if MODE not in spec.extra else None) != PLAN:  # prompt mode asks nothing
            return None
        try:
            values, extras = spec.check({k: v for k, v in arguments.items() if v is not None})
        except Exception:  # invalid arguments: the tool itself reports them
            return None
        return await question(ctx, values, extras)

    names = [*spec.model.model_fields, *spec.extra]
    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=Any, default=None) for n in names]
    returns = Elicit[Any] | None
    resolver.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    resolver.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    annotation = Annotated[ElicitationResult[Any], Resolve(resolver)]
    return inspect.Parameter(ANSWER, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=None)


def asked(outcome: Any) -> bool:
    """Whether the resolver put the form to the user (it fills an accepted outcome with no data when it did not)."""
    return outcome is not None and not (outcome.action == "accept" and getattr(outcome, "data", None) is None)


def form_answer(outcome: Any) -> tuple[str, dict[str, Any] | None]:
    """(action, data) of the user's answer to the form; ValueError naming the fields when the answer does not fit
    the form (the call records the form as failed and goes on)."""
    data = getattr(outcome, "data", None)
    problems = getattr(data, "invalid", None)
    if problems:
        raise ValueError(f"the answer does not fit the form: {problems}")
    return outcome.action, data.model_dump(exclude_none=True) if isinstance(data, BaseModel) else None
