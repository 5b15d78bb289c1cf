"""What the adapter records of a call and how it turns outcomes into MCP results: the caller, the audited tool name,
user errors and rendered results (what a client offers, sampling or a form: asking.py; the audit log itself, as
SDK middleware: middleware.py)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent
from pydantic import ValidationError

from retention_mcp.errors import UserError
from retention_mcp.untrusted import one_line

log = logging.getLogger("retention_mcp")

MAX_SESSIONS = 1024


AUDITED_NAME_CHARS = 64


def audited_name(name: str) -> str:
    """A tool name a caller sent, as the audit log keeps it: letters, digits and `_./-` only (anything else becomes
    `?`), at most AUDITED_NAME_CHARS characters (a longer one ends with `…`)."""
    cleaned = re.sub(r"[^\w./-]", "?", one_line(name)[:AUDITED_NAME_CHARS], flags=re.ASCII) or "?"
    return cleaned + ("…" if len(name) > AUDITED_NAME_CHARS else "")


NOT_AUDITED = frozenset({"list_templates", "list_plans"})  # listings: who looked is not worth a log line


def caller() -> str:
    """The name of the token this request came with ('local' without tokens: stdio, or HTTP without auth)."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    token = get_access_token()
    return token.client_id if token is not None else "local"


def user_error(exc: BaseException) -> UserError | None:
    """The UserError an SDK error wraps, if it wraps one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UserError):
            return seen
        if isinstance(seen, ValidationError):
            return None
        seen = seen.__cause__
    return None


def write_entry(
    app: Any,
    who: str,
    tool: str,
    template: object,
    outcome: str,
    plan_id: str | None = None,
    logger: logging.Logger = log,
) -> None:
    """One audit entry: who, when, tool, template (when `app` serves one by that name), plan id, outcome; never
    argument values. The call's own outcome stands: a store that cannot take the entry is logged to `logger`."""
    from retention_mcp.generation.store import AuditEntry, now_iso

    entry = AuditEntry(
        at=now_iso(),
        who=who,
        tool=tool,
        template=template if isinstance(template, str) and template in app.registry else None,
        plan_id=plan_id,
        outcome=outcome,  # type: ignore[arg-type]
    )
    try:
        app.record(entry)
    except Exception as exc:
        logger.warning("audit entry not recorded: %s", exc)


@contextmanager
def invalid_params() -> Iterator[None]:
    """A UserError raised inside (or wrapped by the SDK) becomes an invalid-params error with its message; any other
    error passes unchanged. For prompts and resources, whose errors the SDK turns into MCP errors itself."""
    try:
        yield
    except Exception as exc:
        user = user_error(exc)
        if user is None:
            raise
        raise MCPError(code=INVALID_PARAMS, message=str(user)) from None


def render_result(result: Any) -> CallToolResult:
    """Both structured content and a text block: some clients reject a typed tool that returns only one."""
    return CallToolResult(
        content=[TextContent(type="text", text=result.prompt)],
        structured_content=result.model_dump(mode="json", exclude_none=True),
    )
