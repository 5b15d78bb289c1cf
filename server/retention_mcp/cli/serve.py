"""`serve`: over stdio (what MCP clients launch) or HTTP for a team; a start-up failure is one line and an exit code,
before any banner."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from retention_mcp.cli.common import app_for, fail, settings_for
from retention_mcp.errors import UserError
from retention_mcp.settings import (
    ENV_DATA_DIRS,
    SettingsError,
)
from retention_mcp.template import TemplateError
from retention_mcp.untrusted import one_line


def cmd_serve(args: argparse.Namespace) -> int:
    """Start-up fails with one line on stderr and an exit code, before the server says it is up."""
    try:
        return _serve(args)
    except BrokenPipeError:
        raise  # the client went away: main() ends quietly
    except (TemplateError, UserError, SettingsError, OSError) as exc:
        return fail(start_failure(exc))


def start_failure(exc: BaseException) -> str:
    """The one line a failed start prints: the English reason as raised, with a Chinese one when it has none."""
    text = one_line(f"template error: {exc}" if isinstance(exc, TemplateError) else exc)
    if isinstance(exc, OSError) and exc.strerror:  # the name of the file, never its contents
        text = one_line(f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror)
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return text
    kind = "模板" if isinstance(exc, TemplateError) else "文件" if isinstance(exc, OSError) else "设置"
    return f"{text} / 服务器未能启动:{kind}有误(原因见斜杠前)"


def _serve(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    if args.watch_interval <= 0:
        return fail("--watch-interval must be a positive number of seconds / --watch-interval 必须是正数(秒)")
    notes = []
    if args.transport == "http" and not (args.data_dir or os.environ.get(ENV_DATA_DIRS, "").strip()):
        # everyone with a token could read the folder the server happens to start in: HTTP reads only what is named
        settings.data_dirs = []
        notes.append(
            f"retention-mcp: no data folder set ({ENV_DATA_DIRS} or --data-dir): analyze_churn reads only the "
            f"bundled example over HTTP / 未设置数据目录,HTTP 模式下 analyze_churn 只能读取内置示例"
        )
    if args.transport == "http" and settings.template_label is None:
        settings.template_label = "production"  # a team server serves the versions the store's label names
    app = app_for(args, settings)
    tokens = [*settings.tokens, *args.token]
    from retention_mcp.server import build_server

    if args.transport == "stdio":
        if tokens:
            print("retention-mcp: tokens apply to HTTP only; ignored over stdio", file=sys.stderr)
        server = build_server(app)
        _run(server.run_stdio_async, server, args)
        return 0
    from retention_mcp.http_host import serve_http

    return serve_http(args, app, tokens, lambda serve, server: _run(serve, server, args), notes)


def _run(serve: Any, server: Any, args: argparse.Namespace) -> None:
    """Serve until the transport ends; with --watch, reload templates alongside."""
    import anyio

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            if args.watch:
                from retention_mcp.reload import TemplateWatcher

                tasks.start_soon(TemplateWatcher(server, args.watch_interval).run)
            if server.app.keeps_plans and server.app.settings.template_label:
                from retention_mcp.reload import StoreWatcher

                tasks.start_soon(StoreWatcher(server).run)  # versions published or labels moved elsewhere
            try:
                await serve()
            finally:
                tasks.cancel_scope.cancel()
                await server.app.aclose()

    anyio.run(main)
