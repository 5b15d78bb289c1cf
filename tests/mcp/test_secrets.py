"""Configured secrets never leave the process: not in tool results, progress messages, logs or CLI output, whatever
the key looks like and wherever in a long error body an endpoint echoes it."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import httpx2
import pytest
from mcp import Client

from retention_mcp import redaction
from retention_mcp.errors import UserError
from retention_mcp.generation.backends import Message, ModelError, make_backend
from retention_mcp.server import build_server
from retention_mcp.settings import ModelSettings, Settings
from tests.conftest import SCENARIOS
from tests.standin_model import status

pytestmark = pytest.mark.anyio

# Keys of several shapes: none of them starts with "sk-", one holds characters that JSON and URLs escape.
KEYS = [
    "Zq9x7fPx2LmN4tRv8WbY1cKdQ3",
    "dashscope.AbC123/xyz+Q==9876",
    "4f1e2d3c4b5a69788796a5b4c3d2e1f0",
]
FILLER = "The upstream proxy rejected the request; headers follow. " * 12  # ~680 characters


def leaked_part(key: str, text: str, shortest: int = 6) -> str | None:
    """The longest piece of `key` (at least `shortest` characters) found in `text`, if any."""
    for size in range(len(key), shortest - 1, -1):
        for start in range(len(key) - size + 1):
            if key[start : start + size] in text:
                return key[start : start + size]
    return None


def body_with_key(key: str, offset: int, dialect: str) -> bytes:
    message = FILLER[:offset] + key + FILLER[offset:]
    if dialect == "anthropic":
        payload = {"type": "error", "error": {"type": "api_error", "message": message}}
    else:
        payload = {"error": {"message": message, "type": "invalid_request_error"}}
    return json.dumps(payload, ensure_ascii=False).encode()


def backend_for(key: str, dialect: str, handler) -> object:
    settings = ModelSettings(
        provider=dialect,  # type: ignore[arg-type]
        base_url="http://model.test/v1" if dialect == "openai" else "http://model.test",
        model="m",
        api_key=key,
        max_retries=0,
        timeout=5,
        total_timeout=10,
    )
    return make_backend(settings, httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("code", [400, 500])
@pytest.mark.parametrize("key", KEYS, ids=["letters", "escapes", "hex"])
async def test_key_at_every_offset_of_a_long_error_body_is_scrubbed(dialect, code, key):
    """Refused (4xx) and failed (5xx, past the retries) requests, with the key at each offset of the body."""
    offsets = range(0, len(FILLER) + 1)
    offset = 0

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(code, content=body_with_key(key, offset, dialect), headers={"content-type": "x"})

    backend = backend_for(key, dialect, handler)
    for offset in offsets:
        with pytest.raises(ModelError) as caught:
            await backend.complete([Message("user", "hi")], {"type": "object"}, "plan")
        message = str(caught.value)
        assert leaked_part(key, message) is None, (offset, message)
        if offset < 250:  # the echo lies inside the part that is kept: it is shown blanked, not cut away
            assert "***" in message, (offset, message)
    await backend.aclose()


@pytest.mark.parametrize("form", ["url", "slash"])
async def test_escaped_forms_of_the_key_are_scrubbed(form):
    """A proxy answering in plain text with the key URL-encoded, or JSON-escaped with "\\/" for "/"."""
    key = KEYS[1]
    shown = {"url": quote(key, safe=""), "slash": key.replace("/", "\\/")}[form]
    assert shown != key

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(401, content=f"proxy: rejected credential {shown} for upstream".encode())

    backend = backend_for(key, "openai", handler)
    with pytest.raises(ModelError) as caught:
        await backend.complete([Message("user", "hi")], {"type": "object"}, "plan")
    message = str(caught.value)
    assert leaked_part(shown, message) is None and "***" in message, message
    await backend.aclose()


def test_credentials_of_unknown_shape_in_headers_are_blanked():
    echoed = (
        "request headers: Authorization: Bearer abcDEF123456ghiJKL x-api-key: QWERTY9876543210zz "
        '{"api_key": "pl41nText0k3nValue"}'
    )
    clean = redaction.scrub(echoed)
    for secret in ("abcDEF123456ghiJKL", "QWERTY9876543210zz", "pl41nText0k3nValue"):
        assert secret not in clean
    assert "Authorization: Bearer ***" in clean
    ordinary = "Send a Bearer token; key_accounts and the basic plan are parameters / 使用 Bearer 令牌"
    assert redaction.scrub(ordinary) == ordinary


def test_settings_register_tokens_and_key_for_every_error_and_log_line(caplog):
    Settings(tokens=["team-token-Hq7Lw2Zx9"], model=ModelSettings(api_key="key-Np4Rt8Vb2Mx6"))
    error = UserError("upstream said: team-token-Hq7Lw2Zx9 and key-Np4Rt8Vb2Mx6")
    assert "Hq7Lw2Zx9" not in str(error) and "Np4Rt8Vb2Mx6" not in str(error)
    with caplog.at_level(logging.WARNING, logger="retention_mcp.test"):
        logging.getLogger("retention_mcp.test").warning("echo %s / %s", "team-token-Hq7Lw2Zx9", "key-Np4Rt8Vb2Mx6")
        try:
            raise RuntimeError("boom key-Np4Rt8Vb2Mx6")
        except RuntimeError:
            logging.getLogger("retention_mcp.test").exception("failed")
    assert "Hq7Lw2Zx9" not in caplog.text and "Np4Rt8Vb2Mx6" not in caplog.text
    assert "***" in caplog.text


def test_scrub_before_cut_never_leaves_a_prefix():
    key = "Kx81mQz0Lp37Vw92Tn45"
    redaction.register(key)
    for offset in range(0, 60):
        text = "x" * offset + key + "y" * 40
        assert leaked_part(key, redaction.cut(text, 50), shortest=4) is None


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_key_echoed_by_a_failing_endpoint_reaches_no_client_text(registry, standin, tmp_path, provider, caplog):
    """Through the MCP client: the tool result, progress messages and the server log, with the echo placed around
    the point where error texts are shortened."""
    key = "AIzaSyQ7-nonstandard-key-Ux93"
    settings = ModelSettings(
        provider=provider,
        base_url=standin.url(provider),
        model="stand-in-1",
        api_key=key,
        timeout=5,
        max_retries=1,
        total_timeout=30,
    )
    example = next(s for s in SCENARIOS if s["tool"] == "retention_strategy")
    server = build_server(registry, model=settings, plan_store=tmp_path / "plans.sqlite3")
    seen: list[str] = []

    async def on_progress(progress, total, message):
        seen.append(message or "")

    async with Client(server) as client:
        for offset in (0, 250, 280, 290, 295, 299, 300, 310):
            echo = FILLER[:offset] + f"Authorization: Bearer {key}" + FILLER[offset:]
            standin.queue(status(503, echo, {"retry-after": "0"}), status(500, echo))
            with caplog.at_level(logging.DEBUG):
                result = await client.call_tool(
                    example["tool"], {**example["arguments"], "mode": "plan"}, progress_callback=on_progress
                )
            assert result.is_error
            text = " ".join(getattr(c, "text", "") for c in result.content)
            for where in (text, " ".join(seen), caplog.text):
                assert leaked_part(key, where) is None, (offset, where[-400:])
