"""Model backends: any OpenAI-compatible chat-completions endpoint, the Anthropic Messages API, or the MCP client's
own model through sampling.

Every HTTP call is retried on 429, 5xx, timeouts and dropped connections, with exponential backoff and jitter,
honouring Retry-After, inside a bound on the total time. Cancelling the caller cancels the request in flight.
The API key is sent in a header and nowhere else: errors are scrubbed of it (and of every other configured secret)
before they are shortened and before anyone sees them. Everything an endpoint answers is untrusted, a successful
answer included: its model name, id, stop reason, usage and every string of the plan are scrubbed as they arrive,
before anything reads them, so a key echoed (or encoded, split, masked) in any field is never kept or shown.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import httpx2

from retention_mcp import redaction
from retention_mcp.errors import UserError
from retention_mcp.json_body import NotFinite, loads_finite
from retention_mcp.settings import ENV_LLM_API_KEY, ENV_LLM_BASE_URL, ModelSettings

if TYPE_CHECKING:
    import ssl

log = logging.getLogger("retention_mcp.generation")

RetryHook = Callable[[int, float, str], Awaitable[None]]  # (attempt, delay in seconds, reason)
ANTHROPIC_VERSION = "2023-06-01"
PLAN_TOOL = "submit_plan"
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
MAX_RETRY_AFTER = 60.0
MAX_TOKENS = 8192
MAX_ERROR_CHARS = 300  # of an endpoint's error text kept in a message


class ModelError(UserError):
    """The model could not produce an answer: unreachable, refused, rate-limited past the retries, timed out."""


class NoSamplingError(ModelError):
    """The client declared sampling, but this connection cannot carry a request to it (2026-07-28 protocol)."""


@dataclass
class Message:
    role: str  # system | user | assistant
    content: str


@dataclass
class Completion:
    text: str  # the answer as text (a tool call's input is given as its JSON)
    data: Any | None  # the parsed object when the API returned structured arguments
    model: str  # the model that answered, as the API reports it
    seconds: float = 0.0  # time spent waiting for the model, retries included


class Backend(Protocol):
    label: str

    async def complete(
        self, messages: Sequence[Message], schema: dict[str, Any], schema_name: str, on_retry: RetryHook | None = None
    ) -> Completion: ...


# -- HTTP -------------------------------------------------------------------------------------------------------------
class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class HTTPBackend:
    """What both API dialects share: the client, retries, time bounds, error wording."""

    provider = "http"
    # the backoff clock: how the wait between retries is spent (tests put a recording fake here)
    sleep: Callable[[float], Awaitable[Any]] = staticmethod(anyio.sleep)

    def __init__(self, settings: ModelSettings, client: httpx2.AsyncClient | None = None):
        self.settings = settings
        self._client = client
        self._own_client = client is None
        self.label = f"{settings.provider}:{settings.model}"
        redaction.register(settings.api_key)

    @property
    def client(self) -> httpx2.AsyncClient:
        if self._client is None:
            limits = httpx2.Limits(max_connections=64, max_keepalive_connections=16)
            self._client = httpx2.AsyncClient(limits=limits, follow_redirects=False, verify=tls_context())
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    def redact(self, text: str) -> str:
        return redaction.scrub(text)

    async def complete(
        self, messages: Sequence[Message], schema: dict[str, Any], schema_name: str, on_retry: RetryHook | None = None
    ) -> Completion:
        started = time.perf_counter()
        total = self.settings.total_timeout
        try:
            with anyio.fail_after(total):
                completion = await self._complete(messages, schema, schema_name, on_retry, started)
        except TimeoutError:
            raise ModelError(
                f"The model did not answer within {total:g} s in all (retries included) / "
                f"模型在 {total:g} 秒内(含重试)没有给出回答"
            ) from None
        completion.seconds = time.perf_counter() - started
        return completion

    async def _complete(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        schema_name: str,
        on_retry: RetryHook | None,
        started: float,
    ) -> Completion:
        raise NotImplementedError

    async def post(
        self, url: str, headers: dict[str, str], body: dict[str, Any], on_retry: RetryHook | None, started: float
    ):
        """POST with retries; return the decoded JSON of a 2xx answer or raise ModelError."""
        attempts = self.settings.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._post_once(url, headers, body)
            except _Retryable as exc:
                if attempt == attempts:
                    raise ModelError(
                        f"The model endpoint failed {attempts} time(s); last: {exc.reason} / "
                        f"模型接口连续失败 {attempts} 次;最后一次:{exc.reason}"
                    ) from None
                delay = self._delay(attempt, exc.retry_after)
                left = self.settings.total_timeout - (time.perf_counter() - started)
                if delay >= left:
                    raise ModelError(
                        f"The model endpoint asks to wait {delay:.1f} s ({exc.reason}), longer than the {left:.1f} s "
                        f"left / 模型接口要求等待 {delay:.1f} 秒({exc.reason}),超过剩余的 {left:.1f} 秒"
                    ) from None
                log.warning("model call failed (%s); retry %d in %.2f s", exc.reason, attempt, delay)
                if on_retry is not None:
                    await on_retry(attempt, delay, exc.reason)
                await self.sleep(delay)
        raise AssertionError("unreachable")

    async def _post_once(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
        timeout = httpx2.Timeout(self.settings.timeout, connect=min(10.0, self.settings.timeout))
        try:
            response = await self.client.post(url, json=body, headers=headers, timeout=timeout)
        except httpx2.TimeoutException:
            raise _Retryable(f"no answer within {self.settings.timeout:g} s") from None
        except httpx2.TransportError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})") from None
        status = response.status_code
        if status == 429 or status == 408 or status >= 500:
            raise _Retryable(f"HTTP {status} {self._error_text(response)}".strip(), retry_after(response.headers))
        if status >= 400:
            raise self._client_error(response)
        try:
            data = response.json()
        except ValueError:
            raise _Retryable(f"HTTP {status} with a body that is not JSON") from None
        return redaction.scrub_data(data)  # every field, from here on

    def _error_text(self, response: httpx2.Response) -> str:
        try:
            data = response.json()
            error = data.get("error", data) if isinstance(data, dict) else data
            text = error.get("message", "") if isinstance(error, dict) else str(error)
        except ValueError:
            text = response.text
        # scrubbed while its line breaks still show where a key was broken, again once cut (cut scrubs first)
        return redaction.cut(" ".join(redaction.scrub(str(text)).split()), MAX_ERROR_CHARS)

    def _client_error(self, response: httpx2.Response) -> ModelError:
        status = response.status_code
        detail = self._error_text(response)
        hint = ""
        if status in (401, 403):
            hint = f" Check {ENV_LLM_API_KEY}. / 请检查 {ENV_LLM_API_KEY}。"
        elif status == 404:
            hint = f" Check {ENV_LLM_BASE_URL} and the model name. / 请检查 {ENV_LLM_BASE_URL} 与模型名称。"
        return ModelError(f"The model endpoint refused the request: HTTP {status} {detail}.{hint}".strip())

    @staticmethod
    def _delay(attempt: int, retry_after_seconds: float | None) -> float:
        if retry_after_seconds is not None:
            return min(max(retry_after_seconds, 0.0), MAX_RETRY_AFTER)
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # equal jitter: spread out, never zero


def tls_context() -> ssl.SSLContext:
    """httpx2's default TLS context (its certificates, and SSL_CERT_FILE / SSL_CERT_DIR when set), made once per
    process and per value of those variables: loading the certificates takes about 20 ms, once per model backend."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx2.create_ssl_context()


def retry_after(headers: httpx2.Headers) -> float | None:
    """Seconds to wait from Retry-After (seconds or an HTTP date) or retry-after-ms."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OpenAIBackend(HTTPBackend):
    """Chat completions, as OpenAI, DeepSeek, Qwen (DashScope), vLLM, Ollama and LM Studio serve them.

    Asks for a JSON-schema response format; an endpoint that rejects it is asked for a JSON object, then for plain
    text, and the plan is read from the text.
    """

    provider = "openai"
    FORMATS = ("json_schema", "json_object", "text")

    def __init__(self, settings: ModelSettings, client: httpx2.AsyncClient | None = None):
        super().__init__(settings, client)
        # The simplest format this endpoint was seen to need. Each call keeps its own position in FORMATS and only
        # ever raises this floor (max), so concurrent calls never skip a format or undo what another learned.
        self._format_floor = 0

    async def _complete(self, messages, schema, schema_name, on_retry, started) -> Completion:
        url = f"{self.settings.url}/chat/completions"
        headers = {"Content-Type": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        index = self._format_floor
        while True:
            body: dict[str, Any] = {
                "model": self.settings.model,
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "temperature": 0.2,
            }
            kind = self.FORMATS[index]
            if kind == "json_schema":
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "schema": schema, "strict": False},
                }
            elif kind == "json_object":
                body["response_format"] = {"type": "json_object"}
            try:
                data = await self.post(url, headers, body, on_retry, started)
                break
            except ModelError as exc:
                if "response_format" in str(exc) and index < len(self.FORMATS) - 1:
                    index += 1  # this endpoint does not take that format: ask for a simpler one
                    self._format_floor = max(self._format_floor, index)
                    continue
                raise
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise ModelError("The model endpoint answered without choices / 模型接口的回答中没有 choices") from None
        content = message.get("content")
        if not content:
            refusal = message.get("refusal") or choice.get("finish_reason") or "empty answer"
            raise ModelError(f"The model gave no plan: {self.redact(str(refusal))} / 模型没有给出方案")
        return Completion(text=content, data=None, model=str(data.get("model") or self.settings.model))


class AnthropicBackend(HTTPBackend):
    """The Messages API; the plan comes back as the input of a forced tool call."""

    provider = "anthropic"

    async def _complete(self, messages, schema, schema_name, on_retry, started) -> Completion:
        base = self.settings.url
        url = f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"
        headers = {"Content-Type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        if self.settings.api_key:
            headers["x-api-key"] = self.settings.api_key
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        body: dict[str, Any] = {
            "model": self.settings.model,
            "max_tokens": MAX_TOKENS,
            "messages": alternating(messages),
            "temperature": 0.2,
            "tools": [
                {
                    "name": PLAN_TOOL,
                    "description": f"Submit the complete plan ({schema_name}) / 提交完整方案"
                    if schema_name.endswith("_plan")
                    else f"Submit the result ({schema_name}) / 提交结果",
                    "input_schema": schema,
                }
            ],
            "tool_choice": {"type": "tool", "name": PLAN_TOOL},
        }
        if system:
            body["system"] = system
        data = await self.post(url, headers, body, on_retry, started)
        blocks = data.get("content") if isinstance(data, dict) else None
        if not isinstance(blocks, list):
            raise ModelError("The model endpoint answered without content / 模型接口的回答中没有 content")
        model = str(data.get("model") or self.settings.model)
        for block in blocks:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                payload = block.get("input")
                return Completion(text=json.dumps(payload, ensure_ascii=False), data=payload, model=model)
        text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        text = redaction.scrub(text)  # blocks, each scrubbed, may join into what was not
        if not text:
            raise ModelError(f"The model gave no plan (stop reason: {data.get('stop_reason')}) / 模型没有给出方案")
        return Completion(text=text, data=None, model=model)


def alternating(messages: Sequence[Message]) -> list[dict[str, str]]:
    """User and assistant turns, merged so roles alternate and the first is the user's (the API requires it)."""
    turns: list[dict[str, str]] = []
    for m in messages:
        if m.role == "system":
            continue
        if turns and turns[-1]["role"] == m.role:
            turns[-1]["content"] += "\n\n" + m.content
        else:
            turns.append({"role": m.role, "content": m.content})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": "(see instructions)"})
    return turns


def make_backend(settings: ModelSettings, client: httpx2.AsyncClient | None = None) -> HTTPBackend:
    if settings.provider == "anthropic":
        return AnthropicBackend(settings, client)
    return OpenAIBackend(settings, client)


# -- reading the answer -----------------------------------------------------------------------------------------------
class NotJSONError(ValueError):
    pass


def extract_json(completion: Completion) -> Any:
    """The JSON object in an answer: as given, inside a ``` fence, or between the first '{' and the last '}'; every
    string in it scrubbed of secrets."""
    if completion.data is not None:
        return redaction.scrub_data(completion.data)
    text = completion.text.strip()
    candidates = [text]
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fence:
        candidates.append(fence.group(1))
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start : end + 1])
    last_error = "no JSON object found"
    for candidate in candidates:
        try:
            return redaction.scrub_data(loads_finite(candidate))  # escapes in the JSON may spell out what was scrubbed
        except json.JSONDecodeError as exc:
            last_error = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        except NotFinite:
            last_error = "a number is not finite (NaN, Infinity or beyond 1e308)"
        except RecursionError:  # valid JSON nested deeper than the parser goes: no answer we could use
            last_error = "the JSON is nested too deeply"
    raise NotJSONError(last_error)
