"""Model backends as units, over httpx2's MockTransport: request shapes, retries on the backoff clock, the format
fallback. The end-to-end paths (a real HTTP stand-in model) are in test_plan_generation.py."""

from __future__ import annotations

import json

import anyio
import httpx2
import pytest

from retention_mcp.generation.backends import HTTPBackend, Message, ModelError, make_backend
from retention_mcp.settings import ModelSettings

pytestmark = pytest.mark.anyio
KEY = "sk-unit-test-key-000000"


def backend_for(provider: str, handler, **settings):
    config = ModelSettings(provider=provider, model="m-1", api_key=KEY, base_url="http://model.test/v1", **settings)
    return make_backend(config, httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    recorded: list[float] = []

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(HTTPBackend, "sleep", staticmethod(sleep))
    return recorded


def openai_answer(content: str) -> httpx2.Response:
    return httpx2.Response(200, json={"model": "m-1", "choices": [{"message": {"content": content}}]})


async def test_openai_request_and_answer():
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return openai_answer('{"title": "x"}')

    backend = backend_for("openai", handler)
    completion = await backend.complete([Message("user", "hi")], {"type": "object"}, "p")
    (request,) = seen
    body = json.loads(request.content)
    assert str(request.url) == "http://model.test/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert body["response_format"]["type"] == "json_schema" and body["messages"] == [{"role": "user", "content": "hi"}]
    assert completion.text == '{"title": "x"}' and completion.model == "m-1"


async def test_anthropic_plan_arrives_as_a_tool_call():
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        assert request.headers["x-api-key"] == KEY and body["tool_choice"]["type"] == "tool"
        assert body["system"] == "rules" and [m["role"] for m in body["messages"]] == ["user"]
        block = {"type": "tool_use", "id": "t1", "name": body["tools"][0]["name"], "input": {"title": "y"}}
        return httpx2.Response(200, json={"model": "m-1", "content": [block]})

    backend = backend_for("anthropic", handler)
    completion = await backend.complete([Message("system", "rules"), Message("user", "hi")], {"type": "object"}, "p")
    assert completion.data == {"title": "y"}


async def test_retry_after_is_waited_on_the_backoff_clock(waits):
    answers = iter([httpx2.Response(429, headers={"Retry-After": "2"}, json={}), openai_answer("{}")])
    backend = backend_for("openai", lambda request: next(answers))
    announced: list[float] = []

    async def on_retry(attempt: int, delay: float, reason: str) -> None:
        announced.append(delay)

    await backend.complete([Message("user", "hi")], {}, "p", on_retry)
    assert waits == announced == [2.0]


async def test_server_errors_back_off_exponentially_then_give_up(waits):
    backend = backend_for("openai", lambda request: httpx2.Response(503, json={"error": {"message": "busy"}}))
    with pytest.raises(ModelError, match="failed 4 time"):
        await backend.complete([Message("user", "hi")], {}, "p")
    assert len(waits) == 3 and 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0 and 1.0 <= waits[2] <= 2.0


async def test_a_learned_format_is_where_later_calls_start():
    asked: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        kind = json.loads(request.content).get("response_format", {}).get("type", "text")
        asked.append(kind)
        if kind == "json_schema":
            return httpx2.Response(400, json={"error": {"message": "'response_format' json_schema is unsupported"}})
        return openai_answer("{}")

    backend = backend_for("openai", handler)
    await backend.complete([Message("user", "one")], {}, "p")
    await backend.complete([Message("user", "two")], {}, "p")
    assert asked == ["json_schema", "json_object", "json_object"]


async def test_the_key_never_reaches_an_error_message():
    backend = backend_for("openai", lambda request: httpx2.Response(401, json={"error": {"message": f"bad {KEY}"}}))
    with pytest.raises(ModelError) as caught:
        await backend.complete([Message("user", "hi")], {}, "p")
    assert KEY not in str(caught.value) and "HTTP 401" in str(caught.value)


def test_backends_share_one_tls_context_per_certificate_setting(monkeypatch):
    """Loading the certificates costs about 20 ms: every backend of the process shares the context, and setting
    SSL_CERT_FILE (honoured by httpx2) gives a context of its own."""
    import certifi

    from retention_mcp.generation.backends import tls_context

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    settings = ModelSettings(provider="openai", model="m-1", api_key=KEY, base_url="http://model.test/v1")
    first, second = make_backend(settings), make_backend(settings)
    assert first.client is not second.client
    assert first.client._transport._pool._ssl_context is tls_context() is second.client._transport._pool._ssl_context
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    assert tls_context() is not first.client._transport._pool._ssl_context
