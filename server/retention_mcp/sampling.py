"""The MCP client's own model as a plan backend: sampling/createMessage, for clients that offer it. A legacy path:
the 2026-07-28 protocol deprecates sampling and carries no request to the client during a call, so it is used only on
handshake-era sessions with a back channel (mcp.asking.can_sample). Part of the MCP adapter: it is the one backend
that speaks MCP, so it lives beside the server, not among the HTTP backends."""

from __future__ import annotations

import time
from typing import Any

from retention_mcp import redaction
from retention_mcp.generation.backends import (
    MAX_ERROR_CHARS,
    MAX_TOKENS,
    Completion,
    ModelError,
    NoSamplingError,
    alternating,
)


# -- MCP sampling -----------------------------------------------------------------------------------------------------
class SamplingBackend:
    """The MCP client's own model, through sampling/createMessage (handshake-era clients that offer it)."""

    def __init__(self, session: Any):
        self.session = session
        self.label = "sampling"

    async def complete(self, messages, schema, schema_name, on_retry=None) -> Completion:
        import warnings

        from mcp_types import SamplingMessage, TextContent

        started = time.perf_counter()
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        turns = [
            SamplingMessage(role=t["role"], content=TextContent(type="text", text=t["content"]))  # type: ignore[arg-type]
            for t in alternating(messages)
        ]
        from mcp.shared.exceptions import NoBackChannelError

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # sampling is deprecated in the newest protocol; still useful here
                result = await self.session.create_message(messages=turns, max_tokens=MAX_TOKENS, system_prompt=system)
        except NoBackChannelError:
            raise NoSamplingError() from None
        except Exception as exc:
            reason = redaction.cut(str(exc), MAX_ERROR_CHARS)
            raise ModelError(
                f"The client's model could not be used (sampling failed: {reason}). Configure a model for the server, "
                "or write the plan from the prompt and submit it with the check_plan tool. / 客户端模型调用失败"
                f"(sampling 出错:{reason})。请为服务器配置模型,或根据提示词写出方案,用 check_plan 工具提交。"
            ) from None
        content = result.content
        blocks = content if isinstance(content, list) else [content]
        text = redaction.scrub("".join(getattr(b, "text", "") for b in blocks))
        model = redaction.scrub(f"sampling:{result.model}")
        return Completion(text=text, data=None, model=model, seconds=time.perf_counter() - started)
