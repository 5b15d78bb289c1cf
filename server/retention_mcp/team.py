"""A server shared by a team: named tokens, per-token rate limits and per-token caps on open sessions.

Tokens: a file (RETENTION_MCP_TOKENS_FILE) of `name:sha256-hex` lines, made with `retention-mcp token new NAME`, so
the server never holds the tokens themselves and every plan and audit entry carries a name; plain tokens from
RETENTION_MCP_TOKENS / --token still work for one person (named token-1, token-2, ...). A presented token is hashed
and compared with every entry in constant time. `anonymous` is reserved: it names the callers of a server without
tokens, and a token of that name would share their budget.

Limits live in memory, per server process (each replica counts on its own): requests per minute per token for plan
generation, analysis and renders (answered 429 with Retry-After and recorded in the audit log), and open stateful
sessions per token (429 as well). The guard (team_guard.py) applies them in front of the MCP app.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mcp.server.auth.provider import AccessToken, TokenVerifier

from retention_mcp import redaction
from retention_mcp.json_body import DEFAULT_MAX_DEPTH
from retention_mcp.settings import (
    ENV_ANALYSES_PER_MINUTE,
    ENV_HTTP_MAX_BODY_MB,
    ENV_HTTP_MAX_JSON_DEPTH,
    ENV_MAX_SESSIONS,
    ENV_PLANS_PER_MINUTE,
    ENV_RENDERS_PER_MINUTE,
    ENV_SESSION_IDLE_TIMEOUT,
    ENV_SESSIONS_PER_TOKEN,
    SettingsError,
    float_env,
    int_env,
)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
HASH = re.compile(r"^[0-9a-f]{64}$")
TOKEN_PREFIX = "rmcp_"
ANONYMOUS = "anonymous"  # the caller's name when the server has no tokens
RESERVED_NAMES = frozenset({ANONYMOUS})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str, where: str = "token name") -> None:
    """A usable token name: the pattern, and not a reserved name (in any letter case)."""
    if not NAME.match(name):
        raise SettingsError(
            f"{where} {name!r}: use 1-64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit / "
            "令牌名称只能包含字母、数字和 . _ - @"
        )
    if name.lower() in RESERVED_NAMES:
        raise SettingsError(
            f"{where} {name!r}: reserved for callers without a token; choose another name / "
            f"「{name}」是保留名称(指未携带令牌的调用者),请换一个名称"
        )


def new_token(name: str) -> tuple[str, str]:
    """A fresh random token for `name`, and the line for the tokens file (which holds only its hash)."""
    check_name(name)
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
            listed = parse_tokens_file(file)
            if not listed:  # an empty file must not silently turn authentication off
                raise SettingsError(
                    f"RETENTION_MCP_TOKENS_FILE {file}: holds no tokens (only blank lines or comments); add one with "
                    f"`retention-mcp token new NAME --file {file}`, or unset RETENTION_MCP_TOKENS_FILE / "
                    "令牌文件中没有任何令牌:请用 `retention-mcp token new 名称 --file 文件` 添加,或取消该设置"
                )
            entries += listed
        for name, _ in entries:
            check_name(name)
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
        name = name.strip()
        digest = digest.strip().lower().removeprefix("sha256:")
        if not NAME.match(name) or not HASH.match(digest):
            raise SettingsError(  # the line itself is not echoed: it may be a token pasted by mistake
                f"{path}:{number}: expected NAME:SHA256 (64 hex digits), as `retention-mcp token new NAME` prints / "
                f"第 {number} 行格式应为 名称:SHA256"
            )
        check_name(name, f"{path}:{number}: token name")
        entries.append((name, digest))
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
    renders_per_minute: int = 120
    sessions_per_token: int = 20  # open stateful sessions per token
    session_idle_seconds: float = 600.0  # a stateful session with no request for this long is closed
    max_sessions: int = 1000  # open stateful sessions in all
    max_body_mb: int = 32  # a request body to the MCP endpoint (413 past it)
    max_json_depth: int = DEFAULT_MAX_DEPTH  # nesting of a request body (400 past it)

    def __post_init__(self) -> None:
        for name in ("plans_per_minute", "analyses_per_minute", "renders_per_minute", "sessions_per_token"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must be 0 or more")
        if not (math.isfinite(self.session_idle_seconds) and self.session_idle_seconds > 0):
            raise SettingsError("session_idle_seconds must be a positive number of seconds")
        for name in ("max_sessions", "max_body_mb", "max_json_depth"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be 1 or more")

    def per_minute(self, kind: str) -> int:
        return {"plan": self.plans_per_minute, "analysis": self.analyses_per_minute}.get(kind, self.renders_per_minute)


class RateLimiter:
    """At most `per_minute` events per key in any 60 s window (a sliding log: exact, small at these rates)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, count: int = 1) -> float | None:
        """None when `count` more events are allowed (and counted); else the seconds until they would be."""
        wait = self.wait(key, count)
        if wait is None and self.per_minute > 0:
            with self._lock:
                self._events.setdefault(key, deque()).extend([self.clock()] * count)
        return wait

    def wait(self, key: str, count: int = 1) -> float | None:
        """None when `count` more events are allowed now (not counted); else the seconds to wait."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - 60.0:
                events.popleft()
            if len(events) + count <= self.per_minute:
                return None
            if count > self.per_minute:
                return 60.0
            return max(0.001, events[len(events) + count - self.per_minute - 1] + 60.0 - now)


def team_limits(environ: Mapping[str, str] | None = None) -> TeamLimits:
    """Per-token limits of a shared HTTP server: plans, analyses and renders per minute, open sessions, idle time;
    and what one request body to the MCP endpoint may be (size, JSON nesting)."""
    env = os.environ if environ is None else environ
    return TeamLimits(
        plans_per_minute=int_env(env, ENV_PLANS_PER_MINUTE, 20, 0),
        analyses_per_minute=int_env(env, ENV_ANALYSES_PER_MINUTE, 30, 0),
        renders_per_minute=int_env(env, ENV_RENDERS_PER_MINUTE, 120, 0),
        sessions_per_token=int_env(env, ENV_SESSIONS_PER_TOKEN, 20, 0),
        max_sessions=int_env(env, ENV_MAX_SESSIONS, 1000, 1),
        session_idle_seconds=float_env(env, ENV_SESSION_IDLE_TIMEOUT, 600.0),
        max_body_mb=int_env(env, ENV_HTTP_MAX_BODY_MB, 32, 1),
        max_json_depth=int_env(env, ENV_HTTP_MAX_JSON_DEPTH, 64, 8),
    )
