"""Runtime settings, read from the environment and overridden by command-line flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

ToolsMode = Literal["full", "compact", "all"]

ENV_TEMPLATES = "RETENTION_MCP_TEMPLATES"
ENV_TOOLS = "RETENTION_MCP_TOOLS"
ENV_MAX_FIELD_CHARS = "RETENTION_MCP_MAX_FIELD_CHARS"
ENV_MAX_PROMPT_CHARS = "RETENTION_MCP_MAX_PROMPT_CHARS"
ENV_TOKENS = "RETENTION_MCP_TOKENS"

DEFAULT_MAX_FIELD_CHARS = 8_000
DEFAULT_MAX_PROMPT_CHARS = 100_000
MAX_ARRAY_ITEMS = 100


class Limits(BaseModel):
    """Size limits that protect the client's model and the server from oversized input."""

    max_field_chars: int = Field(DEFAULT_MAX_FIELD_CHARS, ge=100, description="Characters allowed in one value")
    max_prompt_chars: int = Field(DEFAULT_MAX_PROMPT_CHARS, ge=1_000, description="Characters in a rendered prompt")
    max_array_items: int = Field(MAX_ARRAY_ITEMS, ge=1, description="Items allowed in one list value")


class Settings(BaseModel):
    template_dirs: list[Path] = Field(default_factory=list, description="User template directories, in order")
    tools: ToolsMode = "all"
    limits: Limits = Field(default_factory=Limits)
    tokens: list[str] = Field(default_factory=list, description="Bearer tokens accepted over HTTP")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        dirs = [Path(p).expanduser() for p in env.get(ENV_TEMPLATES, "").split(os.pathsep) if p.strip()]
        try:
            limits = Limits(
                max_field_chars=_int_env(env, ENV_MAX_FIELD_CHARS, DEFAULT_MAX_FIELD_CHARS),
                max_prompt_chars=_int_env(env, ENV_MAX_PROMPT_CHARS, DEFAULT_MAX_PROMPT_CHARS),
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            name = {"max_field_chars": ENV_MAX_FIELD_CHARS, "max_prompt_chars": ENV_MAX_PROMPT_CHARS}[err["loc"][0]]
            raise SettingsError(f"{name}: {err['msg']}") from None
        tokens = [t.strip() for t in env.get(ENV_TOKENS, "").split(",") if t.strip()]
        tools = env.get(ENV_TOOLS, "all").strip() or "all"
        if tools not in ("full", "compact", "all"):
            raise SettingsError(f"{ENV_TOOLS} must be full, compact or all, not {tools!r}")
        return cls(template_dirs=dirs, tools=tools, limits=limits, tokens=tokens)


class SettingsError(ValueError):
    """A setting from the environment or the command line is not usable."""


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw.replace("_", ""))
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
