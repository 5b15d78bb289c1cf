"""A server shared by a team: named tokens, per-token rate limits and per-token caps on open sessions.

Tokens: a file (RETENTION_MCP_TOKENS_FILE) of `name:sha256-hex` lines, made with `retention-mcp token new NAME`, so
the server never holds the tokens themselves and every plan and audit entry carries a name; plain tokens from
RETENTION_MCP_TOKENS / --token still work for one person (named token-1, token-2, ...). A presented token is hashed
and compared with every entry in constant time.

Limits live in memory, per server process (each replica counts on its own): requests per minute per token for plan
generation and for analysis (answered 429 with Retry-After), and open stateful sessions per token (429 as well).
The HTTP middleware reads the JSON-RPC request to tell a plan or an analysis from a cheap call; it never looks at
more than the method, the tool name, `mode` and whether a `dataset` is given.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.server.auth.provider import AccessToken, TokenVerifier

from retention_mcp import redaction
from retention_mcp.settings import SettingsError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
HASH = re.compile(r"^[0-9a-f]{64}$")
TOKEN_PREFIX = "rmcp_"
ANONYMOUS = "anonymous"  # the caller's name when the server has no tokens


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(name: str) -> tuple[str, str]:
    """A fresh random token for `name`, and the line for the tokens file (which holds only its hash)."""
    if not NAME.match(name):
        raise SettingsError(
            f"token name {name!r}: use 1-64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit / "
            "令牌名称只能包含字母、数字和 . _ - @"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, f"{name}:{token_hash(token)}"


class TokenTable:
    """Token hashes by name: from a tokens file and from plain tokens."""

    def __init__(self, entries: Iterable[tuple[str, str]] = ()):
        self.entries: list[tuple[str, bytes]] = []
        for name, digest in entries:
            self.entries.append((name, bytes.fromhex(digest)))

    def __bool__(self) -> bool:
        return bool(self.entries)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.entries]

    @classmethod
    def load(cls, plain: Iterable[str] = (), file: Path | None = None) -> TokenTable:
        entries = [(f"token-{i}", token_hash(t)) for i, t in enumerate(plain, 1)]
        redaction.register(*plain)
        if file is not None:
            entries += parse_tokens_file(file)
        names = [n for n, _ in entries]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise SettingsError(f"token names used twice: {', '.join(duplicated)} / 令牌名称重复")
        return cls(entries)

    def lookup(self, token: str) -> str | None:
        """The name of `token`, or None. Compares with every entry, so the time says nothing about the match."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found = None
        for name, known in self.entries:
            if hmac.compare_digest(digest, known) and found is None:
                found = name
        return found


def parse_tokens_file(path: Path) -> list[tuple[str, str]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"RETENTION_MCP_TOKENS_FILE {path}: cannot be read ({exc.strerror}) / 令牌文件无法读取"
        ) from None
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, digest = line.partition(":")
        digest = digest.strip().lower().removeprefix("sha256:")
        if not NAME.match(name.strip()) or not HASH.match(digest):
            raise SettingsError(  # the line itself is not echoed: it may be a token pasted by mistake
                f"{path}:{number}: expected NAME:SHA256 (64 hex digits), as `retention-mcp token new NAME` prints / "
                f"第 {number} 行格式应为 名称:SHA256"
            )
        entries.append((name.strip(), digest))
    return entries


class NamedTokenVerifier(TokenVerifier):
    """Bearer tokens checked against the table; the token's name becomes the caller's identity (client_id)."""

    def __init__(self, table: TokenTable):
        self.table = table

    async def verify_token(self, token: str) -> AccessToken | None:
        name = self.table.lookup(token)
        if name is None:
            return None
        return AccessToken(token=token, client_id=name, scopes=[])


# -- limits -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TeamLimits:
    plans_per_minute: int = 20  # per token; 0 turns the limit off
    analyses_per_minute: int = 30
    sessions_per_token: int = 20  # open stateful sessions per token
    session_idle_seconds: float = 600.0  # a stateful session with no request for this long is closed
    max_sessions: int = 1000  # open stateful sessions in all

    def __post_init__(self) -> None:
        for name in ("plans_per_minute", "analyses_per_minute", "sessions_per_token", "max_sessions"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must be 0 or more")
        if not (math.isfinite(self.session_idle_seconds) and self.session_idle_seconds > 0):
            raise SettingsError("session_idle_seconds must be a positive number of seconds")


class RateLimiter:
    """At most `per_minute` events per key in any 60 s window (a sliding log: exact, small at these rates)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """None when allowed (and counted); else the seconds until the next event would be allowed."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - 60.0:
                events.popleft()
            if len(events) >= self.per_minute:
                return max(0.001, events[0] + 60.0 - now)
            events.append(now)
            return None


@dataclass
class _Session:
    owner: str
    last_seen: float


@dataclass
class SessionBook:
    """Which token opened which stateful session, and when each was last used."""

    limits: TeamLimits
    clock: Callable[[], float] = time.monotonic
    sessions: dict[str, _Session] = field(default_factory=dict)

    def _expire(self) -> None:
        cutoff = self.clock() - self.limits.session_idle_seconds
        for sid in [s for s, info in self.sessions.items() if info.last_seen < cutoff]:
            del self.sessions[sid]

    def can_open(self, owner: str) -> bool:
        self._expire()
        cap = self.limits.sessions_per_token
        return cap <= 0 or sum(1 for s in self.sessions.values() if s.owner == owner) < cap

    def opened(self, sid: str, owner: str) -> None:
        self.sessions[sid] = _Session(owner, self.clock())

    def seen(self, sid: str) -> None:
        if sid in self.sessions:
            self.sessions[sid].last_seen = self.clock()

    def closed(self, sid: str) -> None:
        self.sessions.pop(sid, None)


def call_kind(message: Any) -> tuple[str | None, Any]:
    """('plan' | 'analysis' | None, JSON-RPC id) for one request: what a call costs, read from its envelope."""
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None, message.get("id") if isinstance(message, dict) else None
    raw_params = message.get("params")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    name = params.get("name")
    raw_arguments = params.get("arguments")
    arguments: dict[str, Any] = raw_arguments if isinstance(raw_arguments, dict) else {}
    if name == "generate_plan" or arguments.get("mode") == "plan":
        return "plan", message.get("id")
    if name == "analyze_churn" or arguments.get("dataset"):
        return "analysis", message.get("id")
    return None, message.get("id")


class TeamGuard:
    """ASGI middleware in front of the MCP endpoint: rate limits and per-token session caps, 429 with Retry-After."""

    def __init__(
        self, app: Any, table: TokenTable, limits: TeamLimits, path: str, clock: Callable[[], float] = time.monotonic
    ):
        self.app = app
        self.table = table
        self.limits = limits
        self.path = path.rstrip("/") or "/"
        self.limiters = {
            "plan": RateLimiter(limits.plans_per_minute, clock),
            "analysis": RateLimiter(limits.analyses_per_minute, clock),
        }
        self.book = SessionBook(limits, clock)
        self.max_body = 4 * 1024 * 1024

    def _caller(self, headers: dict[bytes, bytes]) -> str:
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if not self.table:
            return ANONYMOUS
        scheme, _, token = auth.partition(" ")
        return (self.table.lookup(token.strip()) if scheme.lower() == "bearer" else None) or ANONYMOUS

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        caller = self._caller(headers)
        sid = headers.get(b"mcp-session-id", b"").decode("latin-1") or None
        method = scope.get("method", "GET")
        if sid:
            if method == "DELETE":
                self.book.closed(sid)
            else:
                self.book.seen(sid)
        if method != "POST":
            await self.app(scope, receive, send)
            return
        body, receive = await _buffer(receive, self.max_body)
        try:
            message = json.loads(body) if body is not None else None
        except ValueError:
            message = None
        kind, request_id = call_kind(message)
        if kind is not None:
            wait = self.limiters[kind].acquire(caller)
            if wait is not None:
                what = "plans" if kind == "plan" else "analyses"
                limit = self.limits.plans_per_minute if kind == "plan" else self.limits.analyses_per_minute
                await _too_many(
                    send, request_id, wait, f"Rate limit: {limit} {what} per minute for '{caller}'; retry in "
                    f"{math.ceil(wait)} s / 已达速率上限:每分钟 {limit} 次,请 {math.ceil(wait)} 秒后重试",
                )  # fmt: skip
                return
        opening = sid is None and isinstance(message, dict) and message.get("method") == "initialize"
        if opening and not self.book.can_open(caller):
            await _too_many(
                send, request_id, self.limits.session_idle_seconds,
                f"'{caller}' has {self.limits.sessions_per_token} open sessions; close one or wait for an idle one to "
                f"expire / 该令牌已打开 {self.limits.sessions_per_token} 个会话,请关闭或等待空闲会话过期",
            )  # fmt: skip
            return

        async def tracked_send(event: dict[str, Any]) -> None:
            if opening and event["type"] == "http.response.start" and event.get("status", 500) < 300:
                new_sid = dict(event.get("headers") or []).get(b"mcp-session-id")
                if new_sid:
                    self.book.opened(new_sid.decode("latin-1"), caller)
            await send(event)

        await self.app(scope, receive, tracked_send)


async def _buffer(receive: Any, limit: int) -> tuple[bytes | None, Any]:
    """The request body (None past `limit`: left to the app to refuse), and a receive that replays it."""
    chunks: list[dict[str, Any]] = []
    size = 0
    while True:
        event = await receive()
        chunks.append(event)
        if event["type"] != "http.request":
            break
        size += len(event.get("body", b""))
        if not event.get("more_body", False) or size > limit:
            break
    complete = chunks[-1]["type"] == "http.request" and not chunks[-1].get("more_body", False)
    body = b"".join(c.get("body", b"") for c in chunks if c["type"] == "http.request") if complete else None

    async def replay() -> dict[str, Any]:
        if chunks:
            return chunks.pop(0)
        return await receive()

    return body, replay


async def _too_many(send: Any, request_id: Any, wait: float, message: str) -> None:
    payload = {"jsonrpc": "2.0", "id": request_id, "error": {"code": -32000, "message": message}}
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(max(1, math.ceil(wait))).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
