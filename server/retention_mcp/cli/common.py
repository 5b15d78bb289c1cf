"""What every command shares: settings from the environment with the flags in their place, the app, and how a
failure is reported (one line on stderr, an exit code)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from retention_mcp.settings import (
    ENV_DATA_DIRS,
    ENV_LANGUAGE,
    ENV_LLM_BASE_URL,
    ENV_LLM_MODEL,
    ENV_LLM_PROVIDER,
    ENV_LLM_TIMEOUT,
    ENV_PLAN_STORE,
    ENV_TOOLS,
    Settings,
)

EXIT_USAGE = 2


def reader_went_away() -> int:
    """The reader of our output closed it (`... | head`): stop quietly, as other command-line tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's last flush has somewhere to go
    except (OSError, ValueError, AttributeError):  # stdout is not a file (captured output)
        pass
    return 0


def fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"retention-mcp: {message}", file=sys.stderr)
    return code


def settings_for(args: argparse.Namespace) -> Settings:
    """Settings from the environment; command-line flags take the place of their environment variables."""
    flags = {
        ENV_LLM_PROVIDER: getattr(args, "llm_provider", None),
        ENV_LLM_BASE_URL: getattr(args, "llm_base_url", None),
        ENV_LLM_MODEL: getattr(args, "llm_model", None),
        ENV_LLM_TIMEOUT: getattr(args, "llm_timeout", None),
        ENV_PLAN_STORE: getattr(args, "plan_store", None),
        ENV_DATA_DIRS: os.pathsep.join(str(d) for d in getattr(args, "data_dir", [])) or None,
        ENV_TOOLS: getattr(args, "tools", None),
    }
    if args.command == "serve":
        flags[ENV_LANGUAGE] = getattr(args, "language", None)
    environ = {**os.environ, **{name: str(value) for name, value in flags.items() if value is not None}}
    settings = Settings.from_env(environ)
    settings.template_dirs = [*settings.template_dirs, *getattr(args, "templates", [])]
    return settings


OPENED: list[Any] = []  # the apps this command made: `main` closes them when the command ends


def app_for(args: argparse.Namespace, settings: Settings | None = None):
    from retention_mcp.app import RetentionApp

    app = RetentionApp(settings or settings_for(args))
    OPENED.append(app)
    return app


def close_apps() -> None:
    """Close what the command's apps opened (a PostgreSQL store's connections), once the command is done."""
    while OPENED:
        OPENED.pop().close()
