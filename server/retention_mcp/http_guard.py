"""Neither slow nor idle clients can hold the HTTP server: connections are capped per client address and in all,
a connection must send its first byte soon, request headers must arrive within a bounded time, and so must a body.

uvicorn closes idle keep-alive connections, but a client that sends its headers one byte at a time keeps a socket
(and a file descriptor) for as long as it likes: every byte resets the keep-alive timer. `guarded_h11` is uvicorn's
h11 protocol with, where the socket is accepted:
- a cap on open connections per client address and in all: one past it is answered 503 and closed at once, so the
  descriptors a flood can hold are bounded (the server keeps the total under its RLIMIT_NOFILE, see http_host.py);
- a first-byte deadline: a connection that sends nothing is closed after it (shorter than the header deadline);
- one deadline per request for its headers (armed when the connection opens and after each response, disarmed when
  a request's headers are complete).
`BodyDeadline` is ASGI middleware giving the body of a request a deadline from the moment its headers arrived; past
it the request is answered 408 and the connection closed. `ThrottledLog` keeps a flood from filling the log: at most
one line per second from the loggers that report refused connections and accept errors, with a count of the rest.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from uvicorn.protocols.http.h11_impl import H11Protocol

from retention_mcp.settings import (
    ENV_HTTP_FIRST_BYTE_TIMEOUT,
    ENV_MAX_CONNECTIONS,
    ENV_MAX_CONNECTIONS_PER_ADDRESS,
    float_env,
    http_timeouts,
    int_env,
)

log = logging.getLogger("retention_mcp.http")

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_FIRST_BYTE_TIMEOUT = 5.0
FLOODING_LOGGERS = ("asyncio", "uvicorn.error", "retention_mcp.http")
REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 1\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
)
REFUSED_TEXT = (
    "Too many open connections (RETENTION_MCP_MAX_CONNECTIONS_PER_ADDRESS, RETENTION_MCP_MAX_CONNECTIONS); retry "
    "shortly / 连接数已达上限,请稍后重试"
).encode()


@dataclass(frozen=True)
class ConnectionLimits:
    per_address: int = 64  # open connections from one client address
    total: int = 512  # open connections in all
    first_byte_timeout: float = DEFAULT_FIRST_BYTE_TIMEOUT  # seconds until a new connection's first byte
    header_timeout: float = DEFAULT_HEADER_TIMEOUT  # seconds for a request's headers


def guarded_h11(limits: ConnectionLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol under `limits` (a cap of 0 is no cap)."""
    header_timeout = limits.header_timeout
    first_byte_timeout = min(limits.first_byte_timeout, header_timeout)
    open_by_address: Counter[str] = Counter()

    class HeaderDeadlineProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _first_byte: asyncio.TimerHandle | None = None
        _address: str | None = None  # set while the connection counts against the caps

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
            total = sum(open_by_address.values())
            if (limits.total and total >= limits.total) or (
                limits.per_address and open_by_address[address] >= limits.per_address
            ):
                self.transport = transport
                log.warning(
                    "refused a connection from %s: %d open from that address, %d in all (limits %d and %d)",
                    address, open_by_address[address], total, limits.per_address, limits.total,
                )  # fmt: skip
                transport.write(REFUSED % (len(REFUSED_TEXT), REFUSED_TEXT))
                transport.close()
                return
            self._address = address
            open_by_address[address] += 1
            super().connection_made(transport)
            self._first_byte = self.loop.call_later(first_byte_timeout, self._silent)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._address is None:
                return  # refused in connection_made: uvicorn never saw it
            open_by_address[self._address] -= 1
            if open_by_address[self._address] <= 0:
                del open_by_address[self._address]
            self._address = None
            self._cancel_first_byte()
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._cancel_first_byte()
            super().data_received(data)

        def _cancel_first_byte(self) -> None:
            if self._first_byte is not None:
                self._first_byte.cancel()
                self._first_byte = None

        def _silent(self) -> None:
            self._first_byte = None
            if not self.transport.is_closing():
                log.warning("closed a connection that sent nothing for %g s", first_byte_timeout)
                self.transport.close()

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


class ThrottledLog(logging.Filter):
    """At most one record per `interval` seconds through the logger it is attached to; the next record let through
    says how many were suppressed. The traceback of an OSError (EMFILE and the like from the accept loop) is cut to
    its one-line message."""

    def __init__(self, interval: float = 1.0, clock: Any = time.monotonic):
        super().__init__()
        self.interval = interval
        self.clock = clock
        self.suppressed = 0
        self._next = 0.0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            now = self.clock()
            if now < self._next:
                self.suppressed += 1
                return False
            self._next = now + self.interval
            suppressed, self.suppressed = self.suppressed, 0
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, OSError):
            record.msg = f"{record.getMessage()}: {exc}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        if suppressed:
            record.msg = (
                f"{record.getMessage()} ({suppressed} more lines from this logger suppressed since the last one)"
            )
            record.args = None
        return True


def throttle_flooding_loggers(interval: float = 1.0) -> None:
    """Attach a ThrottledLog to each logger a connection flood writes to (once per logger)."""
    for name in FLOODING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ThrottledLog) for f in logger.filters):
            logger.addFilter(ThrottledLog(interval))


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


def connection_limits(environ: Mapping[str, str] | None = None) -> ConnectionLimits:
    """Open connections per client address and in all, and the first-byte and header deadlines of a connection."""
    env = os.environ if environ is None else environ
    header_timeout, _ = http_timeouts(env)
    return ConnectionLimits(
        per_address=int_env(env, ENV_MAX_CONNECTIONS_PER_ADDRESS, 64, 1),
        total=int_env(env, ENV_MAX_CONNECTIONS, 512, 1),
        first_byte_timeout=float_env(env, ENV_HTTP_FIRST_BYTE_TIMEOUT, 5.0),
        header_timeout=header_timeout,
    )
