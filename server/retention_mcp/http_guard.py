"""Slow clients cannot hold the HTTP server: request headers must arrive within a bounded time, and so must a body.

uvicorn closes idle keep-alive connections, but a client that sends its headers one byte at a time keeps a socket
(and a file descriptor) for as long as it likes: every byte resets the keep-alive timer. `guarded_h11` is uvicorn's
h11 protocol with one deadline per request for its headers (armed when the connection opens and after each
response, disarmed when a request's headers are complete). `BodyDeadline` is ASGI middleware giving the body of a
request a deadline from the moment its headers arrived; past it the request is answered 408 and the connection
closed. Both deadlines are settings (RETENTION_MCP_HTTP_HEADER_TIMEOUT, RETENTION_MCP_HTTP_BODY_TIMEOUT).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("retention_mcp.http")

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0


def guarded_h11(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request headers take longer than `header_timeout`."""

    class HeaderDeadlineProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not before:  # a request's headers are complete: its body has its own deadline
                self._disarm()

        def on_response_complete(self) -> None:
            self._arm()  # before the pipelined next request is looked at, which disarms it again
            super().on_response_complete()

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                log.warning("closed a connection whose request headers took longer than %g s", header_timeout)
                self.transport.close()

    return HeaderDeadlineProtocol


class BodyDeadline:
    """ASGI middleware: the whole request body within `timeout` seconds, or 408 and the connection closed."""

    def __init__(self, app: Any, timeout: float):
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.timeout
        state = {"body_done": False, "timed_out": False, "started": False}

        async def guarded_receive() -> dict[str, Any]:
            if state["body_done"] or state["timed_out"]:
                return await receive()  # waiting for a disconnect after the body is not the client's slowness
            try:
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    message = await receive()
            except TimeoutError:
                await self._too_slow(send, state)
                return {"type": "http.disconnect"}  # the app stops; whatever it still sends is dropped
            if message["type"] != "http.request" or not message.get("more_body", False):
                state["body_done"] = True
            return message

        async def tracked_send(message: dict[str, Any]) -> None:
            if state["timed_out"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, guarded_receive, tracked_send)

    async def _too_slow(self, send: Any, state: dict[str, bool]) -> None:
        state["timed_out"] = True
        if state["started"]:
            return
        log.warning("answered 408: a request body took longer than %g s", self.timeout)
        text = f"Request body not received within {self.timeout:g} s / 请求体未在 {self.timeout:g} 秒内收完".encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 408, "headers": headers})
        await send({"type": "http.response.body", "body": text})
