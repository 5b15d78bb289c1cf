"""Runtime settings, read from the environment and overridden by command-line flags.

Plain dataclasses: they are built on every start-up, before the server answers its first request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ToolsMode = Literal["full", "compact", "all"]

ENV_TEMPLATES = "RETENTION_MCP_TEMPLATES"
ENV_TOOLS = "RETENTION_MCP_TOOLS"
ENV_MAX_FIELD_CHARS = "RETENTION_MCP_MAX_FIELD_CHARS"
ENV_MAX_PROMPT_CHARS = "RETENTION_MCP_MAX_PROMPT_CHARS"
ENV_TOKENS = "RETENTION_MCP_TOKENS"

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


@dataclass
class Settings:
    template_dirs: list[Path] = field(default_factory=list)  # user template folders, in order
    tools: ToolsMode = "all"
    limits: Limits = field(default_factory=Limits)
    tokens: list[str] = field(default_factory=list)  # bearer tokens accepted over HTTP

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        dirs = [Path(p).expanduser() for p in env.get(ENV_TEMPLATES, "").split(os.pathsep) if p.strip()]
        field_chars = _int_env(env, ENV_MAX_FIELD_CHARS, DEFAULT_MAX_FIELD_CHARS, LIMIT_MINIMUMS["max_field_chars"])
        prompt_chars = _int_env(env, ENV_MAX_PROMPT_CHARS, DEFAULT_MAX_PROMPT_CHARS, LIMIT_MINIMUMS["max_prompt_chars"])
        tokens = [t.strip() for t in env.get(ENV_TOKENS, "").split(",") if t.strip()]
        tools = env.get(ENV_TOOLS, "all").strip() or "all"
        if tools not in ("full", "compact", "all"):
            raise SettingsError(f"{ENV_TOOLS} must be full, compact or all, not {tools!r}")
        limits = Limits(max_field_chars=field_chars, max_prompt_chars=prompt_chars)
        return cls(template_dirs=dirs, tools=tools, limits=limits, tokens=tokens)  # type: ignore[arg-type]


def _int_env(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
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
