"""Runtime settings, read from the environment and overridden by command-line flags.

Plain dataclasses: they are built on every start-up, before the server answers its first request.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from retention_mcp import redaction

ToolsMode = Literal["full", "compact", "all"]
TOOLS_MODES: tuple[ToolsMode, ...] = ("full", "compact", "all")
DEFAULT_TOOLS: ToolsMode = "full"
SurfaceLanguage = Literal["en", "zh"]
SURFACE_LANGUAGES: tuple[SurfaceLanguage, ...] = ("en", "zh")

ENV_TEMPLATES = "RETENTION_MCP_TEMPLATES"
ENV_TOOLS = "RETENTION_MCP_TOOLS"
ENV_LANGUAGE = "RETENTION_MCP_LANGUAGE"
ENV_MAX_FIELD_CHARS = "RETENTION_MCP_MAX_FIELD_CHARS"
ENV_MAX_PROMPT_CHARS = "RETENTION_MCP_MAX_PROMPT_CHARS"
ENV_TOKENS = "RETENTION_MCP_TOKENS"
ENV_LLM_PROVIDER = "RETENTION_MCP_LLM_PROVIDER"
ENV_LLM_BASE_URL = "RETENTION_MCP_LLM_BASE_URL"
ENV_LLM_MODEL = "RETENTION_MCP_LLM_MODEL"
ENV_LLM_API_KEY = "RETENTION_MCP_LLM_API_KEY"
ENV_LLM_TIMEOUT = "RETENTION_MCP_LLM_TIMEOUT"
ENV_LLM_MAX_RETRIES = "RETENTION_MCP_LLM_MAX_RETRIES"
ENV_LLM_TOTAL_TIMEOUT = "RETENTION_MCP_LLM_TOTAL_TIMEOUT"
ENV_PLAN_STORE = "RETENTION_MCP_PLAN_STORE"
ENV_DATA_DIRS = "RETENTION_MCP_DATA_DIRS"
ENV_STORE_TIMEOUT = "RETENTION_MCP_STORE_TIMEOUT"
ENV_TEMPLATE_LABEL = "RETENTION_MCP_TEMPLATE_LABEL"
ENV_PUBLISHERS = "RETENTION_MCP_PUBLISHERS"
DEFAULT_STORE_TIMEOUT = 30.0  # seconds a plan-store operation may wait on a lock held by another process
ENV_HTTP_HEADER_TIMEOUT = "RETENTION_MCP_HTTP_HEADER_TIMEOUT"
ENV_HTTP_BODY_TIMEOUT = "RETENTION_MCP_HTTP_BODY_TIMEOUT"
ENV_TOKENS_FILE = "RETENTION_MCP_TOKENS_FILE"
ENV_PLANS_PER_MINUTE = "RETENTION_MCP_PLANS_PER_MINUTE"
ENV_ANALYSES_PER_MINUTE = "RETENTION_MCP_ANALYSES_PER_MINUTE"
ENV_SESSIONS_PER_TOKEN = "RETENTION_MCP_SESSIONS_PER_TOKEN"
ENV_MAX_SESSIONS = "RETENTION_MCP_MAX_SESSIONS"
ENV_SESSION_IDLE_TIMEOUT = "RETENTION_MCP_SESSION_IDLE_TIMEOUT"
ENV_RENDERS_PER_MINUTE = "RETENTION_MCP_RENDERS_PER_MINUTE"
ENV_HTTP_MAX_BODY_MB = "RETENTION_MCP_HTTP_MAX_BODY_MB"
ENV_HTTP_MAX_JSON_DEPTH = "RETENTION_MCP_HTTP_MAX_JSON_DEPTH"
ENV_HTTP_FIRST_BYTE_TIMEOUT = "RETENTION_MCP_HTTP_FIRST_BYTE_TIMEOUT"
ENV_MAX_CONNECTIONS_PER_ADDRESS = "RETENTION_MCP_MAX_CONNECTIONS_PER_ADDRESS"
ENV_MAX_CONNECTIONS = "RETENTION_MCP_MAX_CONNECTIONS"

DEFAULT_MAX_FIELD_CHARS = 8_000
DEFAULT_MAX_PROMPT_CHARS = 100_000
MAX_ARRAY_ITEMS = 100
LIMIT_MINIMUMS = {"max_field_chars": 100, "max_prompt_chars": 1_000, "max_array_items": 1}


class SettingsError(ValueError):
    """A setting from the environment or the command line is not usable."""


@dataclass(frozen=True)
class Limits:
    """Size limits that protect the client's model and the server from oversized input."""

    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS  # characters allowed in one value
    max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS  # characters in a rendered prompt
    max_array_items: int = MAX_ARRAY_ITEMS  # items allowed in one list value

    def __post_init__(self) -> None:
        for name, minimum in LIMIT_MINIMUMS.items():
            if getattr(self, name) < minimum:
                raise SettingsError(f"{name} must be at least {minimum}, not {getattr(self, name)}")


Provider = Literal["openai", "anthropic"]
DEFAULT_BASE_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}


@dataclass(frozen=True)
class ModelSettings:
    """Where plans are generated. No provider means: use the client's sampling, if it offers it."""

    provider: Provider | None = None
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never printed, logged or stored
    timeout: float = 120.0  # seconds for one request
    max_retries: int = 3  # on 429, 5xx, timeouts and dropped connections
    total_timeout: float = 300.0  # seconds for the whole call, retries and repair included

    def __post_init__(self) -> None:
        if self.provider not in (None, "openai", "anthropic"):
            raise SettingsError(f"{ENV_LLM_PROVIDER} must be openai or anthropic, not {self.provider!r}")
        if self.provider and not self.model:
            raise SettingsError(f"{ENV_LLM_PROVIDER}={self.provider} needs a model: set {ENV_LLM_MODEL} or --llm-model")
        if self.timeout <= 0 or self.total_timeout <= 0:
            raise SettingsError("model timeouts must be positive numbers of seconds")
        if self.max_retries < 0:
            raise SettingsError(f"{ENV_LLM_MAX_RETRIES} must be 0 or more")
        redaction.register(self.api_key)  # from now on scrubbed from every error, progress message and log line

    @property
    def configured(self) -> bool:
        return self.provider is not None

    @property
    def url(self) -> str:
        return (self.base_url or DEFAULT_BASE_URLS[self.provider or "openai"]).rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ModelSettings:
        provider = env.get(ENV_LLM_PROVIDER, "").strip().lower() or None
        return cls(
            provider=provider,  # type: ignore[arg-type]
            base_url=env.get(ENV_LLM_BASE_URL, "").strip() or None,
            model=env.get(ENV_LLM_MODEL, "").strip() or None,
            api_key=env.get(ENV_LLM_API_KEY, "").strip() or None,
            timeout=float_env(env, ENV_LLM_TIMEOUT, 120.0),
            max_retries=int_env(env, ENV_LLM_MAX_RETRIES, 3, 0),
            total_timeout=float_env(env, ENV_LLM_TOTAL_TIMEOUT, 300.0),
        )


def default_data_dirs() -> list[Path]:
    """The working directory, unless it is a file-system root (as for servers some desktop apps launch): reading
    the whole disk is never a default. Then only the bundled example data is readable until a folder is set."""
    cwd = Path.cwd()
    return [] if cwd == Path(cwd.anchor) else [cwd]


def default_plan_store() -> Path:
    """plans.sqlite3 in the user's data directory (XDG on Linux, Application Support on macOS, LOCALAPPDATA)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "retention-mcp" / "plans.sqlite3"


@dataclass
class Settings:
    template_dirs: list[Path] = field(default_factory=list)  # user template folders, in order
    tools: ToolsMode = DEFAULT_TOOLS  # full: one tool per template; compact: by name; all: both, bilingual
    language: SurfaceLanguage = "en"  # language of tool descriptions (errors stay bilingual)
    limits: Limits = field(default_factory=Limits)
    tokens: list[str] = field(default_factory=list)  # bearer tokens accepted over HTTP
    tokens_file: Path | None = None  # name:sha256 lines (retention-mcp token new NAME)
    model: ModelSettings = field(default_factory=ModelSettings)
    plan_store: Path | str | None = None  # a SQLite file, a postgresql:// URL, or None: plans are not kept
    data_dirs: list[Path] = field(default_factory=lambda: default_data_dirs())  # where analyses may read files
    # the label of the template versions served from the plan store; None: the template files (HTTP serves
    # `production` unless told otherwise)
    template_label: str | None = None
    publishers: list[str] = field(default_factory=list)  # token names that may publish templates and move labels

    def __post_init__(self) -> None:
        redaction.register(*self.tokens)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        dirs = [Path(p).expanduser() for p in env.get(ENV_TEMPLATES, "").split(os.pathsep) if p.strip()]
        field_chars = int_env(env, ENV_MAX_FIELD_CHARS, DEFAULT_MAX_FIELD_CHARS, LIMIT_MINIMUMS["max_field_chars"])
        prompt_chars = int_env(env, ENV_MAX_PROMPT_CHARS, DEFAULT_MAX_PROMPT_CHARS, LIMIT_MINIMUMS["max_prompt_chars"])
        tokens = [t.strip() for t in env.get(ENV_TOKENS, "").split(",") if t.strip()]
        tokens_file = env.get(ENV_TOKENS_FILE, "").strip()
        tools = env.get(ENV_TOOLS, "").strip() or DEFAULT_TOOLS
        if tools not in TOOLS_MODES:
            raise SettingsError(f"{ENV_TOOLS} must be full, compact or all, not {tools!r}")
        language = env.get(ENV_LANGUAGE, "").strip().lower() or "en"
        if language not in SURFACE_LANGUAGES:
            raise SettingsError(f"{ENV_LANGUAGE} must be en or zh, not {language!r}")
        limits = Limits(max_field_chars=field_chars, max_prompt_chars=prompt_chars)
        label = env.get(ENV_TEMPLATE_LABEL, "").strip() or None
        if label is not None and not re.match(r"^[a-z][a-z0-9_.-]{0,39}$", label):
            raise SettingsError(
                f"{ENV_TEMPLATE_LABEL} must be 1-40 lower-case letters, digits, '.', '_' or '-', starting with a "
                f"letter, not {label!r} / 标签只能包含小写字母、数字和 . _ -,并以字母开头"
            )
        data_dirs = [Path(p).expanduser() for p in env.get(ENV_DATA_DIRS, "").split(os.pathsep) if p.strip()]
        store = env.get(ENV_PLAN_STORE, "").strip()
        plan_store: Path | str | None
        if store.lower() in ("off", "none", "0"):
            plan_store = None
        elif store.startswith(("postgresql://", "postgres://")):
            plan_store = store  # a URL: Path() would fold its "//"
        else:
            plan_store = Path(store).expanduser() if store else default_plan_store()
        return cls(
            template_dirs=dirs,
            tools=tools,  # type: ignore[arg-type]
            language=language,  # type: ignore[arg-type]
            limits=limits,
            tokens=tokens,
            tokens_file=Path(tokens_file).expanduser() if tokens_file else None,
            model=ModelSettings.from_env(env),
            plan_store=plan_store,
            data_dirs=data_dirs or default_data_dirs(),
            template_label=label,
            publishers=[n.strip() for n in env.get(ENV_PUBLISHERS, "").split(",") if n.strip()],
        )


def store_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds a plan-store operation may wait on a lock held by another process (RETENTION_MCP_STORE_TIMEOUT)."""
    return float_env(os.environ if environ is None else environ, ENV_STORE_TIMEOUT, DEFAULT_STORE_TIMEOUT)


def http_timeouts(environ: Mapping[str, str] | None = None) -> tuple[float, float]:
    """Seconds a client may take to send a request's headers, and then its body (HTTP transport only)."""
    env = os.environ if environ is None else environ
    return float_env(env, ENV_HTTP_HEADER_TIMEOUT, 10.0), float_env(env, ENV_HTTP_BODY_TIMEOUT, 30.0)


def float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be a positive number of seconds, not {raw}")
    return value


def int_env(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value}")
    return value


ENV_SOURCES = "RETENTION_MCP_SOURCES"  # a file of `name = URL` lines: the database connections analyses may read
SOURCE_ENV_PREFIX = "RETENTION_MCP_SOURCE_"  # RETENTION_MCP_SOURCE_<NAME>=URL, and <NAME>_PASSWORD for its password
SOURCE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Source:
    name: str
    url: str = field(repr=False)
    password: str | None = field(default=None, repr=False)


def sources(environ: Mapping[str, str] | None = None) -> dict[str, Source]:
    """The named database connections configured on this server: from the file RETENTION_MCP_SOURCES names (one
    `name = URL` a line, `#` comments) and RETENTION_MCP_SOURCE_<NAME> variables. A password comes from the URL,
    RETENTION_MCP_SOURCE_<NAME>_PASSWORD or the database's own client files (~/.pgpass); it is never shown."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    listed = env.get(ENV_SOURCES, "").strip()
    if listed:
        try:
            lines = Path(listed).expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SettingsError(
                f"{ENV_SOURCES}: the file cannot be read ({exc.strerror}) / 无法读取连接配置文件"
            ) from None
        for number, line in enumerate(lines, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            name, sep, url = (part.strip() for part in text.partition("="))
            if not sep or not SOURCE_NAME.match(name) or "://" not in url:
                raise SettingsError(
                    f"{ENV_SOURCES}: line {number} is not `name = URL` (a name of letters, digits, _ or -) / "
                    f"第 {number} 行应为 `名称 = URL`"
                )
            found[name] = url
    for key, value in env.items():
        name = key[len(SOURCE_ENV_PREFIX) :]
        if key.startswith(SOURCE_ENV_PREFIX) and not name.endswith("_PASSWORD") and "://" in value:
            found[name.lower()] = value.strip()
    out = {}
    for name, url in found.items():
        password = env.get(f"{SOURCE_ENV_PREFIX}{name.upper().replace('-', '_')}_PASSWORD") or None
        try:
            inline = urlsplit(url).password  # a password written in the URL
        except ValueError:
            inline = None
        redaction.register(password, inline)
        out[name] = Source(name, url, password)
    return out
