"""ASGI middleware in front of the MCP endpoint of a team server: per-token rate limits, sessions tied to the token
that opened them, per-token session caps, and request bodies read under a size and a nesting limit.

Order of the checks on a request to the endpoint:
1. A request that presents no valid token while tokens are required goes straight to the app, which answers 401: it
   uses nobody's budget (in particular not that of the callers of a server without tokens).
2. A request naming a session opened by another token is answered 404, as for a session that does not exist.
3. A POST body is read (413 past the size limit) and parsed (400 when nested too deep); what the request may run
   (call_costs.py) is counted against the caller's plans, analyses and renders per minute, and an `initialize`
   without a session against the caller's open sessions: 429 with Retry-After past a limit, recorded in the audit log.
4. The app answers. A session is booked to its token when the app opens it, and forgotten only when the app has
   accepted its owner's DELETE, said it no longer exists, or it has been idle (with no request in flight) for the
   session idle timeout, as the SDK closes it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from retention_mcp import json_body
from retention_mcp.call_costs import ANALYSIS, KINDS, PLAN, request_costs
from retention_mcp.team import ANONYMOUS, RateLimiter, TeamLimits, TokenTable

# who, tool (or method), template name as given (checked by the recorder): one audit entry for a refused call
AuditRefusal = Callable[..., None]  # (who, tool, template[, outcome]): `rate_limited` unless told
WHAT = {  # kind: English, Chinese, the setting
    PLAN: ("plans", "方案", "RETENTION_MCP_PLANS_PER_MINUTE"),
    ANALYSIS: ("analyses", "分析", "RETENTION_MCP_ANALYSES_PER_MINUTE"),
    "render": ("renders", "渲染", "RETENTION_MCP_RENDERS_PER_MINUTE"),
}


@dataclass
class _Session:
    owner: str
    last_seen: float
    in_flight: int = 0


@dataclass
class SessionBook:
    """Which token opened which stateful session, and when each was last used. Thread-safe."""

    limits: TeamLimits
    clock: Callable[[], float] = time.monotonic
    sessions: dict[str, _Session] = field(default_factory=dict)
    opening: Counter[str] = field(default_factory=Counter)  # sessions being opened, per token
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _expire(self) -> None:
        cutoff = self.clock() - self.limits.session_idle_seconds
        for sid in [s for s, info in self.sessions.items() if info.in_flight <= 0 and info.last_seen < cutoff]:
            del self.sessions[sid]

    def _held(self, owner: str) -> int:
        return sum(1 for s in self.sessions.values() if s.owner == owner) + self.opening[owner]

    def can_open(self, owner: str) -> bool:
        with self._lock:
            self._expire()
            cap = self.limits.sessions_per_token
            return cap <= 0 or self._held(owner) < cap

    def reserve(self, owner: str) -> bool:
        """Hold one of `owner`'s session slots while an `initialize` is answered; False at the cap."""
        with self._lock:
            self._expire()
            cap = self.limits.sessions_per_token
            if cap > 0 and self._held(owner) >= cap:
                return False
            self.opening[owner] += 1
            return True

    def release(self, owner: str) -> None:
        with self._lock:
            self.opening[owner] -= 1
            if self.opening[owner] <= 0:
                del self.opening[owner]

    def owner(self, sid: str) -> str | None:
        with self._lock:
            info = self.sessions.get(sid)
            return info.owner if info is not None else None

    def opened(self, sid: str, owner: str) -> None:
        with self._lock:
            self.sessions[sid] = _Session(owner, self.clock())

    def seen(self, sid: str, in_flight: int = 0) -> None:
        """A request on `sid` began (in_flight=1), ended (-1), or just happened (0)."""
        with self._lock:
            info = self.sessions.get(sid)
            if info is not None:
                info.last_seen = self.clock()
                info.in_flight += in_flight

    def closed(self, sid: str) -> None:
        with self._lock:
            self.sessions.pop(sid, None)


class TeamGuard:
    """ASGI middleware in front of the MCP endpoint (see the module's description)."""

    def __init__(
        self,
        app: Any,
        table: TokenTable,
        limits: TeamLimits,
        path: str,
        clock: Callable[[], float] = time.monotonic,
        audit: AuditRefusal | None = None,
        stateful: bool = True,
        refuses: Callable[[str, str], bool] | None = None,
    ):
        """`audit` records the calls answered 429; `stateful` False (a stateless server) keeps no session book."""
        self.app = app
        self.table = table
        self.limits = limits
        self.path = path.rstrip("/") or "/"
        self.limiters = {kind: RateLimiter(limits.per_minute(kind), clock) for kind in KINDS}
        self.book = SessionBook(limits, clock)
        self.max_body = limits.max_body_mb * 1024 * 1024
        self.audit = audit
        self.stateful = stateful
        self.refuses = refuses  # (caller, tool) -> True: the caller's token may not call that tool (403)

    def _caller(self, headers: dict[bytes, bytes]) -> str | None:
        """The token's name; ANONYMOUS on a server without tokens; None for a missing or unknown token."""
        if not self.table:
            return ANONYMOUS
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        return self.table.lookup(token.strip()) if scheme.lower() == "bearer" else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        caller = self._caller(headers)
        if caller is None:
            await self.app(scope, receive, send)  # 401 from the app's authentication
            return
        sid = headers.get(b"mcp-session-id", b"").decode("latin-1") or None
        owner = self.book.owner(sid) if sid else None
        if owner is not None and owner != caller:
            await _answer(send, 404, None, _NOT_FOUND)
            return
        message: Any = None
        if scope.get("method") == "POST":
            try:
                body, receive = await _buffer(receive, self.max_body)
                message = json_body.parse(body, self.limits.max_json_depth)
            except json_body.BodyRefused as refused:
                await _answer(send, refused.status, None, str(refused), close=refused.status == 413)
                return
            except json_body.NotJSON:
                message = None  # the app answers with a JSON-RPC parse error
            if await self._forbidden(send, caller, message):
                return
            if await self._over_limits(send, caller, message):
                return
        opening = self.stateful and sid is None and _method(message) == "initialize"
        if opening and not self.book.reserve(caller):
            await self._too_many_sessions(send, caller, message)
            return
        await self._serve(scope, receive, send, caller, sid, opening)

    async def _over_limits(self, send: Any, caller: str, message: Any) -> bool:
        """Count what `message` may run; answer 429 (and audit it) and return True past a limit."""
        costs = request_costs(message)
        for kind, count in costs.items():
            wait = self.limiters[kind].wait(caller, count)
            if wait is not None:
                limit = self.limits.per_minute(kind)
                english, chinese, setting = WHAT[kind]
                retry = math.ceil(wait)
                text = (
                    f"Rate limit: {limit} {english} per minute ({setting}) for '{caller}'; retry in {retry} s / "
                    f"已达速率上限:每分钟 {limit} 次{chinese},请 {retry} 秒后重试"
                )
                self._audit(caller, message)
                await _answer(send, 429, _request_id(message), text, retry_after=wait)
                return True
        for kind, count in costs.items():
            self.limiters[kind].acquire(caller, count)
        return False

    async def _forbidden(self, send: Any, caller: str, message: Any) -> bool:
        """A call of a tool the caller's token may not use: 403, recorded in the audit log."""
        if self.refuses is None or _method(message) != "tools/call":
            return False
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        tool = params.get("name")
        if not isinstance(tool, str) or not self.refuses(caller, tool):
            return False
        self._audit(caller, message, "forbidden")
        text = f"403 Forbidden: '{tool}' needs a token with the publish role / 「{tool}」需要具有发布权限的令牌"
        await _answer(send, 403, _request_id(message), text)
        return True

    async def _too_many_sessions(self, send: Any, caller: str, message: Any) -> None:
        cap = self.limits.sessions_per_token
        text = (
            f"Session limit: '{caller}' has {cap} open sessions (RETENTION_MCP_SESSIONS_PER_TOKEN); close one or wait "
            f"for an idle one to expire / 该令牌已打开 {cap} 个会话,请关闭或等待空闲会话过期"
        )
        self._audit(caller, message)
        await _answer(send, 429, _request_id(message), text, retry_after=self.limits.session_idle_seconds)

    async def _serve(self, scope: dict[str, Any], receive: Any, send: Any, caller: str, sid: str | None, opening: bool):
        method = scope.get("method")
        status: list[int] = []

        async def tracked_send(event: dict[str, Any]) -> None:
            if event["type"] == "http.response.start":
                status.append(event.get("status", 500))
                new_sid = dict(event.get("headers") or []).get(b"mcp-session-id")
                if opening and new_sid and status[0] < 300:
                    self.book.opened(new_sid.decode("latin-1"), caller)
            await send(event)

        if sid:
            self.book.seen(sid, +1)
        try:
            await self.app(scope, receive, tracked_send)
        finally:
            if opening:
                self.book.release(caller)
            if sid:
                self.book.seen(sid, -1)
                gone = bool(status) and (status[0] == 404 or (method == "DELETE" and status[0] < 300))
                if gone and self.book.owner(sid) in (caller, None):
                    self.book.closed(sid)  # the app closed it for its owner, or no longer knows it

    def _audit(self, caller: str, message: Any, outcome: str = "rate_limited") -> None:
        if self.audit is None or caller == ANONYMOUS:
            return
        first = message[0] if isinstance(message, list) and message else message
        method = _method(first) or "?"
        params = first.get("params") if isinstance(first, dict) else None
        params = params if isinstance(params, dict) else {}
        tool, template = method, None
        if method == "tools/call" and isinstance(params.get("name"), str):
            tool = params["name"]
            arguments = params.get("arguments")
            nested = arguments.get("name") if isinstance(arguments, dict) else None
            template = nested if isinstance(nested, str) else tool
        elif method == "prompts/get" and isinstance(params.get("name"), str):
            template = params["name"]
        self.audit(caller, tool, template, outcome)


_NOT_FOUND = "Session not found or expired; open a new one / 会话不存在或已过期,请重新建立会话"


def _method(message: Any) -> str | None:
    method = message.get("method") if isinstance(message, dict) else None
    return method if isinstance(method, str) else None


def _request_id(message: Any) -> Any:
    request_id = message.get("id") if isinstance(message, dict) else None
    return request_id if isinstance(request_id, (str, int)) and not isinstance(request_id, bool) else None


async def _buffer(receive: Any, limit: int) -> tuple[bytes, Any]:
    """The whole request body (BodyRefused past `limit` bytes), and a receive that replays it to the app."""
    chunks: list[dict[str, Any]] = []
    size = 0
    while True:
        event = await receive()
        chunks.append(event)
        if event["type"] != "http.request":
            break
        size += len(event.get("body", b""))
        if size > limit:
            raise json_body.too_large(limit)
        if not event.get("more_body", False):
            break
    body = b"".join(c.get("body", b"") for c in chunks if c["type"] == "http.request")

    async def replay() -> dict[str, Any]:
        if chunks:
            return chunks.pop(0)
        return await receive()

    return body, replay


async def _answer(
    send: Any, status: int, request_id: Any, message: str, retry_after: float | None = None, close: bool = False
) -> None:
    """A JSON-RPC error with an HTTP status (and Retry-After for 429)."""
    code = -32000 if status == 429 else -32600
    payload = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(max(1, math.ceil(retry_after))).encode()))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
