"""A stand-in model server on 127.0.0.1 that speaks the OpenAI chat-completions and Anthropic Messages dialects.

Tests queue what it answers (a plan, raw text, an HTTP error, a hang) and read back what it received. It runs in a
thread with its own event loop, so the code under test talks to it over a real socket, from any loop or process.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import free_port


@dataclass
class Reply:
    kind: str  # plan | text | status | hang | no_json_schema
    data: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def plan(data: dict[str, Any], delay: float = 0.0) -> Reply:
    return Reply("plan", data, seconds=delay)


def text(content: str) -> Reply:
    return Reply("text", content)


def status(code: int, message: str = "error", headers: dict[str, str] | None = None) -> Reply:
    return Reply("status", message, status=code, headers=headers or {})


def hang(seconds: float) -> Reply:
    return Reply("hang", seconds=seconds)


def no_json_schema() -> Reply:
    return Reply("no_json_schema")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def dialect(self) -> str:
        return "anthropic" if self.path.endswith("/messages") else "openai"

    @property
    def is_extraction(self) -> bool:
        """A constraint-extraction call (answered from its own queue), not a plan call."""
        schema = self.body.get("response_format", {}).get("json_schema", {})
        tools = self.body.get("tools") or [{}]
        return schema.get("name") == "extract_constraints" or "(extract_constraints)" in tools[0].get("description", "")

    def prompt_text(self) -> str:
        """Every message text of the request, the Anthropic system prompt included."""
        parts = [self.body.get("system", "")] if isinstance(self.body.get("system"), str) else []
        parts += [m["content"] for m in self.body.get("messages", []) if isinstance(m.get("content"), str)]
        return "\n\n".join(parts)


class StandInModel:
    def __init__(self) -> None:
        self.port = free_port()
        self.replies: deque[Reply] = deque()
        self.default: Callable[[Received], Reply] | None = None
        self.received: list[Received] = []
        # constraint-extraction calls: answered from their own queue (an empty object when it is empty), and kept
        # apart from `received`, so a plan test sees only its plan calls
        self.extraction_replies: deque[Reply] = deque()
        self.extractions: list[Received] = []
        self.disconnects = 0
        self.active = 0
        self.peak = 0
        self.handler_seconds: list[float] = []  # time each request spent in here: the "model's" time
        self._lock = threading.Lock()
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._handle, methods=["POST"]),
                Route("/v1/messages", self._handle, methods=["POST"]),
            ]
        )
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, provider: str) -> str:
        return self.anthropic_url if provider == "anthropic" else self.openai_url

    def start(self) -> StandInModel:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stand-in model server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def reset(self) -> None:
        self.replies.clear()
        self.received.clear()
        self.extraction_replies.clear()
        self.extractions.clear()
        self.handler_seconds.clear()
        self.disconnects = self.peak = 0
        self.default = None

    async def _handle(self, request: Request) -> Response:
        started = time.perf_counter()
        body = await request.json()
        received = Received(request.url.path, dict(request.headers), body, time.monotonic())
        if received.is_extraction:
            with self._lock:
                self.extractions.append(received)
                reply = self.extraction_replies.popleft() if self.extraction_replies else plan({})
            return await self._answer(request, received, reply)
        with self._lock:
            self.received.append(received)
            self.active += 1
            self.peak = max(self.peak, self.active)
            reply = self.replies.popleft() if self.replies else None
        try:
            if reply is None:
                if self.default is None:
                    return JSONResponse({"error": {"message": "no reply queued"}}, status_code=500)
                reply = self.default(received)
            return await self._answer(request, received, reply)
        finally:
            with self._lock:
                self.active -= 1
                self.handler_seconds.append(time.perf_counter() - started)

    async def _answer(self, request: Request, received: Received, reply: Reply) -> Response:
        if reply.kind == "hang":
            deadline = time.monotonic() + reply.seconds
            while time.monotonic() < deadline:
                if await request.is_disconnected():
                    with self._lock:
                        self.disconnects += 1
                    return Response(status_code=499)
                await asyncio.sleep(0.02)
            return JSONResponse({"error": {"message": "hung"}}, status_code=504)
        if reply.kind == "status":
            error = {"type": "error", "error": {"type": "api_error", "message": reply.data}}
            return JSONResponse(error, status_code=reply.status, headers=reply.headers)
        if reply.kind == "no_json_schema":
            if "response_format" in received.body:
                kind = received.body["response_format"].get("type")
                if kind == "json_schema":
                    message = "Invalid parameter: 'response_format' of type 'json_schema' is not supported"
                    return JSONResponse({"error": {"message": message}}, status_code=400)
            self.replies.appendleft(plan(self.default_plan(received)) if self.default else text("{}"))
            return await self._answer(request, received, self.replies.popleft())
        if reply.seconds:
            await asyncio.sleep(reply.seconds)
        if reply.kind == "plan":
            return JSONResponse(self._format(received, reply.data, None))
        return JSONResponse(self._format(received, None, reply.data))

    def default_plan(self, received: Received) -> Any:
        assert self.default is not None
        return self.default(received).data

    @staticmethod
    def _format(received: Received, data: Any, raw: str | None) -> dict[str, Any]:
        model = received.body.get("model", "stand-in")
        if received.dialect == "anthropic":
            if data is not None:
                content = [{"type": "tool_use", "id": "toolu_1", "name": "submit_plan", "input": data}]
            else:
                content = [{"type": "text", "text": raw}]
            return {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": "tool_use" if data is not None else "end_turn",
                "usage": {"input_tokens": 10, "output_tokens": 10},
            }
        content = json.dumps(data, ensure_ascii=False) if data is not None else raw
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
