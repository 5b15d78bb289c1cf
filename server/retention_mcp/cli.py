"""Command line: serve, render, generate, plans, templates, config, demo, schemas.

Imports stay inside the commands so `retention-mcp render` and `templates check` never pay for the MCP stack.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from retention_mcp import __version__
from retention_mcp.errors import ArgumentError, UserError
from retention_mcp.settings import (
    ENV_DATA_DIRS,
    ENV_LANGUAGE,
    ENV_LLM_API_KEY,
    ENV_LLM_BASE_URL,
    ENV_LLM_MODEL,
    ENV_LLM_PROVIDER,
    ENV_LLM_TIMEOUT,
    ENV_PLAN_STORE,
    ENV_TEMPLATES,
    ENV_TOKENS,
    ENV_TOKENS_FILE,
    ENV_TOOLS,
    Settings,
    SettingsError,
)
from retention_mcp.template import TemplateError
from retention_mcp.untrusted import one_line

EXIT_USAGE = 2
TOOLS_HELP = (
    "which tools to offer: full (default): one typed tool per template, plus list_plans and analyze_churn; "
    "compact: list_templates, render_template and generate_plan (any template by name) instead of the per-template "
    f"tools; all: both sets, with descriptions in English and Chinese (also {ENV_TOOLS})"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retention-mcp",
        description="Customer-retention prompt templates (zh/en) as typed MCP tools, prompts and resources.",
        epilog="Run 'retention-mcp COMMAND --help' for a command's options. With no command, serves over stdio.",
    )
    parser.add_argument("--version", action="version", version=f"retention-mcp {__version__}")
    commands = _described(parser.add_subparsers(dest="command", metavar="COMMAND"))

    def templates_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--templates",
            action="append",
            type=Path,
            default=[],
            metavar="DIR",
            help=f"folder of .prompty templates that add to or override the shipped ones (repeatable; "
            f"also {ENV_TEMPLATES}, separated by '{os.pathsep}')",
        )

    def model_options(p: argparse.ArgumentParser) -> None:
        group = p.add_argument_group(
            "plan generation", f"The API key is read from {ENV_LLM_API_KEY} only, never from the command line."
        )
        group.add_argument(
            "--llm-provider", choices=["openai", "anthropic"], help=f"model API dialect (also {ENV_LLM_PROVIDER})"
        )
        group.add_argument(
            "--llm-base-url",
            metavar="URL",
            help=f"endpoint, e.g. https://api.deepseek.com/v1 or http://localhost:11434/v1 (also {ENV_LLM_BASE_URL})",
        )
        group.add_argument("--llm-model", metavar="NAME", help=f"model name (also {ENV_LLM_MODEL})")
        group.add_argument(
            "--llm-timeout", type=float, metavar="SECONDS", help=f"per request, default 120 (also {ENV_LLM_TIMEOUT})"
        )
        group.add_argument(
            "--plan-store",
            metavar="FILE|off",
            help=f"SQLite file that keeps generated plans, or 'off' (also {ENV_PLAN_STORE}; "
            "default: plans.sqlite3 in your user data folder)",
        )

    def data_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir",
            action="append",
            type=Path,
            default=[],
            metavar="DIR",
            help=f"folder that analyses may read (repeatable; also {ENV_DATA_DIRS}; default: the current folder, "
            "except for serve --transport http, which reads none unless told; the bundled example data is always "
            "readable)",
        )

    def arguments_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("name", help="template name, e.g. retention_strategy")
        p.add_argument(
            "--arg",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="an argument (repeatable; repeat a key to build a list)",
        )
        p.add_argument("--args-file", type=Path, metavar="FILE", help="JSON object of arguments ('-' for stdin)")
        p.add_argument("--language", choices=["auto", "zh", "en"], default=None, help="default: auto")

    serve = commands.add_parser("serve", help="run the MCP server (stdio by default, or streamable HTTP)")
    templates_option(serve)
    model_options(serve)
    data_option(serve)
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="default: stdio")
    serve.add_argument("--tools", choices=["full", "compact", "all"], default=None, help=TOOLS_HELP)
    serve.add_argument(
        "--language",
        choices=["en", "zh"],
        default=None,
        help=f"language of the tool descriptions in the full and compact modes (default en; also {ENV_LANGUAGE}); "
        "error messages are always in both",
    )
    serve.add_argument(
        "--watch",
        action="store_true",
        help="reload templates when their files change; clients are told their lists changed",
    )
    serve.add_argument(
        "--watch-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="with --watch: how often to look for changes (default 1)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="HTTP: address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP: port (default 8000)")
    serve.add_argument("--path", default="/mcp", help="HTTP: endpoint path (default /mcp)")
    serve.add_argument(
        "--stateless",
        action="store_true",
        help="HTTP: stateless mode with JSON responses, for several replicas behind a load balancer",
    )
    serve.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN",
        help=f"HTTP: require this bearer token (repeatable; also {ENV_TOKENS}, comma-separated); for a team, "
        f"named tokens from {ENV_TOKENS_FILE} (see `retention-mcp token new`)",
    )
    serve.add_argument(
        "--allow-no-auth",
        action="store_true",
        help="HTTP: serve on a non-loopback address without tokens (refused otherwise)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="HTTP: extra Host header value to accept (DNS-rebinding protection), e.g. mcp.example.com:*",
    )
    serve.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="HTTP: extra Origin to accept, e.g. https://mcp.example.com",
    )

    render = commands.add_parser("render", help="render a template and print the prompt")
    templates_option(render)
    arguments_options(render)
    data_option(render)
    render.add_argument("--json", action="store_true", help="print the structured result as JSON")

    generate = commands.add_parser(
        "generate", help="have the configured model write the full plan, check it and save it"
    )
    templates_option(generate)
    arguments_options(generate)
    model_options(generate)
    data_option(generate)
    generate.add_argument("--json", action="store_true", help="print the structured result (plan, validation) as JSON")
    generate.add_argument("--out", type=Path, metavar="FILE", help="also write the plan's Markdown to FILE")

    analyze = commands.add_parser(
        "analyze",
        help="compute churn facts and retention models from a customer file (CSV, Parquet, JSON Lines, .xlsx)",
    )
    analyze.add_argument(
        "file",
        help="the file, named relative to a data directory, not to the current folder ('subscriptions.csv' is the "
        "bundled example); '-' reads CSV from stdin",
    )
    analyze_options(analyze)
    analyze.add_argument("--json", action="store_true", help="print the structured result as JSON")
    analyze.add_argument("--charts", type=Path, metavar="DIR", help="write survival.png and cohorts.png to DIR")
    data_option(analyze)
    from retention_mcp.analytics import limits

    limits.add_flags(analyze)

    plans = commands.add_parser("plans", help="list, show or export saved plans")
    plans_commands = _described(plans.add_subparsers(dest="plans_command", metavar="ACTION", required=True))
    p_list = plans_commands.add_parser("list", help="saved plans, newest first")
    p_list.add_argument("--template", metavar="NAME", help="only plans of this template")
    p_list.add_argument("--failed", action="store_true", help="only plans that did not pass (failed or unverified)")
    p_list.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    p_list.add_argument("--json", action="store_true", help="print as JSON")
    p_show = plans_commands.add_parser("show", help="print one plan")
    p_show.add_argument("id")
    p_show.add_argument("--format", choices=["md", "json"], default="md", help="default: md")
    p_export = plans_commands.add_parser("export", help="write one plan to a file")
    p_export.add_argument("id")
    p_export.add_argument("--format", choices=["md", "json"], default="md", help="default: md")
    p_export.add_argument("--out", type=Path, metavar="FILE", help="default: plan-<id>.md or .json here; '-' prints")
    for p in (p_list, p_show, p_export):
        p.add_argument(
            "--plan-store", metavar="FILE|URL", help=f"SQLite file or postgresql:// URL (also {ENV_PLAN_STORE})"
        )

    store = commands.add_parser("store", help="manage the plan store (SQLite file or PostgreSQL)")
    store_commands = _described(store.add_subparsers(dest="store_command", metavar="ACTION", required=True))
    s_migrate = store_commands.add_parser("migrate", help="apply the plan store's schema migrations now")
    s_migrate.add_argument(
        "--plan-store", metavar="FILE|URL", help=f"SQLite file or postgresql:// URL (also {ENV_PLAN_STORE})"
    )

    audit = commands.add_parser("audit", help="print the audit log of a team server: who called what, and the outcome")
    audit.add_argument("--limit", type=int, default=50, help="how many entries, newest first (default 50)")
    audit.add_argument("--who", metavar="NAME", help="only calls made with this token name")
    audit.add_argument("--json", action="store_true", help="print as JSON")
    audit.add_argument(
        "--plan-store", metavar="FILE|URL", help=f"SQLite file or postgresql:// URL (also {ENV_PLAN_STORE})"
    )

    token = commands.add_parser("token", help="make named tokens for a shared HTTP server")
    token_commands = _described(token.add_subparsers(dest="token_command", metavar="ACTION", required=True))
    t_new = token_commands.add_parser(
        "new", help="print a new random token for NAME, and the line for the tokens file (which keeps only its hash)"
    )
    t_new.add_argument("name", help="who the token is for, e.g. alice or growth-team")
    t_new.add_argument(
        "--file",
        type=Path,
        metavar="FILE",
        help=f"append the line to FILE (created with mode 600) for {ENV_TOKENS_FILE}",
    )

    templates = commands.add_parser("templates", help="list, show or check templates")
    templates_commands = _described(templates.add_subparsers(dest="templates_command", metavar="ACTION", required=True))
    t_list = templates_commands.add_parser("list", help="list the available templates")
    templates_option(t_list)
    t_list.add_argument("--json", action="store_true", help="print as JSON")
    t_show = templates_commands.add_parser("show", help="print a template's source")
    templates_option(t_show)
    t_show.add_argument("name")
    t_show.add_argument("--language", choices=["zh", "en"], default=None, help="default: every language")
    t_check = templates_commands.add_parser("check", help="validate folders of templates; exit 1 on any problem")
    t_check.add_argument("dirs", nargs="+", type=Path, metavar="DIR")

    config = commands.add_parser("config", help="print the configuration entry for an MCP client")
    config.add_argument("client", choices=["claude-desktop", "cursor", "vscode", "codex"])
    templates_option(config)
    config.add_argument(
        "--tools",
        choices=["full", "compact", "all"],
        default=None,
        help="put '--tools MODE' in the entry, so the client's server offers those tools: full (the default), "
        "compact or all; see 'retention-mcp serve --help'",
    )
    data_option(config)
    config.add_argument("--llm-provider", choices=["openai", "anthropic"], help="plan mode: model API dialect")
    config.add_argument("--llm-base-url", metavar="URL", help="plan mode: endpoint, e.g. https://api.deepseek.com/v1")
    config.add_argument(
        "--llm-model", metavar="NAME", help="plan mode: model name (the API key goes in as a placeholder to fill)"
    )

    demo = commands.add_parser("demo", help="start the server over stdio and render every bundled example")
    demo.add_argument("--full", action="store_true", help="print every rendered prompt in full")
    demo.add_argument("--out", type=Path, metavar="DIR", help="also write each prompt to DIR/<scenario>.md")
    demo.add_argument("--scenarios", type=Path, metavar="FILE", help="a scenarios JSON file (default: bundled)")

    schemas = commands.add_parser(
        "schemas",
        help="export or check the JSON Schemas of inputs and outputs",
        description="export: write the JSON Schemas of every tool's input and output, and of every plan, to DIR. "
        "check: compare DIR with the models and exit 1 when it is missing or out of date.",
    )
    schemas.add_argument("action", choices=["export", "check"])
    schemas.add_argument(
        "dir", type=Path, nargs="?", default=Path("schemas"), metavar="DIR", help="the folder (default: schemas)"
    )
    return parser


def _described(subparsers: Any) -> Any:
    """A subparsers object whose commands show their one-line help as the description of their own help page."""
    add = subparsers.add_parser

    def add_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if "help" in kwargs and "description" not in kwargs:
            text = kwargs["help"]
            kwargs["description"] = text[:1].upper() + text[1:] + "."
        return add(name, **kwargs)

    subparsers.add_parser = add_parser
    return subparsers


def analyze_options(p: argparse.ArgumentParser) -> None:
    """The analyze command's flags, from the same model as the analyze_churn tool's parameters."""
    from typing import Literal, get_args, get_origin

    from retention_mcp.analytics.params import CLI_FLAGS, CLI_POSITIONAL, AnalyzeParams

    for name, info in AnalyzeParams.model_fields.items():
        if name in CLI_POSITIONAL:
            continue
        flag, metavar = CLI_FLAGS.get(name, ("--" + name.replace("_", "-"), name.upper()))
        text = (info.description or "").rsplit(" / ", 1)[0]
        annotation = info.annotation
        options = [a for a in get_args(annotation) if a is not type(None)] if get_origin(annotation) else []
        if get_origin(annotation) not in (dict, list, Literal) and len(options) == 1:
            annotation = options[0]  # X | None
        origin = get_origin(annotation)
        if origin is dict or origin is list:
            p.add_argument(flag, dest=name, action="append", default=[], metavar=metavar, help=text + " (repeatable)")
        elif annotation is bool:
            p.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif origin is Literal and name not in CLI_FLAGS:  # a spelled-out flag takes what the model normalises
            default = "" if info.default is None else f" (default {info.default})"
            p.add_argument(flag, dest=name, choices=list(get_args(annotation)), default=None, help=text + default)
        else:
            p.add_argument(flag, dest=name, default=None, metavar=metavar, help=text)


def analyze_params(args: argparse.Namespace, path: str | None, csv: str | None, charts: bool):
    """AnalyzeParams from the analyze command's flags; ArgumentError names each bad one."""
    from pydantic import ValidationError

    from retention_mcp.analytics.params import CLI_FLAGS, CLI_POSITIONAL, AnalyzeParams
    from retention_mcp.errors import invalid_arguments

    values: dict[str, Any] = {"path": path, "csv": csv, "charts": charts}
    for name, info in AnalyzeParams.model_fields.items():
        if name in CLI_POSITIONAL:
            continue
        raw = getattr(args, name, None)
        if raw is None or raw == []:
            continue
        if get_origin_is_dict(info.annotation):
            flag, metavar = CLI_FLAGS.get(name, ("--" + name.replace("_", "-"), "KEY=VALUE"))
            pairs: dict[str, str] = {}
            for item in raw:
                key, sep, value = item.partition("=")
                if not sep or not key.strip() or not value.strip():
                    raise UserError(f"{flag} takes {metavar}, got {item!r}")
                pairs[key.strip()] = value.strip()
            raw = pairs
        values[name] = raw
    try:
        return AnalyzeParams.model_validate(values)
    except ValidationError as exc:
        raise ArgumentError(invalid_arguments("analyze", AnalyzeParams.model_fields, exc)) from None


def get_origin_is_dict(annotation: Any) -> bool:
    from typing import get_origin

    return get_origin(annotation) is dict


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["serve", *argv]  # what MCP clients launch: the bare command serves over stdio
    args = parser.parse_args(argv)
    command = args.command
    handler = {
        "serve": cmd_serve,
        "render": cmd_render,
        "generate": cmd_generate,
        "analyze": cmd_analyze,
        "plans": cmd_plans,
        "templates": cmd_templates,
        "config": cmd_config,
        "demo": cmd_demo,
        "schemas": cmd_schemas,
        "store": cmd_store,
        "audit": cmd_audit,
        "token": cmd_token,
    }[command]
    try:  # the command line's one conversion of errors into messages and exit codes
        code = handler(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _reader_went_away()
    except TemplateError as exc:
        return fail(f"template error: {exc}")
    except (UserError, SettingsError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130


def _reader_went_away() -> int:
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


def _settings(args: argparse.Namespace) -> Settings:
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


def _app(args: argparse.Namespace, settings: Settings | None = None):
    from retention_mcp.app import RetentionApp

    return RetentionApp(settings or _settings(args))


# -- serve ------------------------------------------------------------------------------------------------------------
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
    settings = _settings(args)
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
    app = _app(args, settings)
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
            try:
                await serve()
            finally:
                tasks.cancel_scope.cancel()
                await server.app.aclose()

    anyio.run(main)


def cmd_render(args: argparse.Namespace) -> int:
    app = _app(args)
    template = app.template(args.name)
    result = app.render_blocking(template, _arguments(args, template))
    print(result.model_dump_json(indent=2, exclude_none=True) if args.json else result.prompt)
    return 0


def _arguments(args: argparse.Namespace, template: Any) -> dict[str, Any]:
    """--args-file, then --arg KEY=VALUE (a repeated key builds a list), then --language."""
    arguments: dict[str, Any] = {}
    if args.args_file:
        arguments.update(_read_args_file(args.args_file))
    repeated: dict[str, list[str]] = {}
    for item in args.arg:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--arg takes KEY=VALUE, got {item!r}")
        repeated.setdefault(key.strip(), []).append(value)
    kinds = {spec.name: spec.kind for spec in template.inputs}
    for key, values in repeated.items():
        if len(values) > 1 and kinds.get(key) != "array":
            raise UserError(
                f"--arg {key} is given {len(values)} times; only list inputs take several values / "
                f"--arg {key} 出现了 {len(values)} 次;只有列表类参数可以给多个值"
            )
    arguments.update({k: v[0] if len(v) == 1 else v for k, v in repeated.items()})
    arguments = template.coerce_strings(arguments)
    if args.language:
        arguments["language"] = args.language
    return arguments


# -- generate and plans -----------------------------------------------------------------------------------------------
def cmd_generate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    app = _app(args, settings)
    template = app.template(args.name)
    arguments = _arguments(args, template)
    if not settings.model.configured:
        return fail(
            f"no model configured: set {ENV_LLM_PROVIDER} (openai or anthropic), {ENV_LLM_MODEL} and "
            f"{ENV_LLM_API_KEY} (and {ENV_LLM_BASE_URL} for a compatible endpoint), or pass --llm-provider and "
            f"--llm-model; 'retention-mcp render {args.name}' prints the prompt instead"
        )
    import anyio

    from retention_mcp.generation.service import PlanError

    async def progress(done: float, total: float, message: str) -> None:
        print(f"[{done:g}/{total:g}] {message}", file=sys.stderr, flush=True)

    async def run():
        try:
            return await app.generate(template, arguments, progress=progress)
        finally:
            await app.aclose()

    try:
        result = anyio.run(run)
    except PlanError as exc:
        return fail(str(exc), 1)
    if args.out:
        args.out.write_text(result.markdown or "", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    print(result.model_dump_json(indent=2, exclude_none=True) if args.json else result.markdown)
    if result.plan_uri:
        print(f"saved as {result.plan_uri} (retention-mcp plans show {result.plan_id})", file=sys.stderr)
    if result.validation and result.validation.status == "failed":
        failed = ", ".join(c.name for c in result.validation.checks if c.status == "failed")
        print(f"retention-mcp: the plan still fails these checks: {failed}", file=sys.stderr)
        return 3
    if result.validation and result.validation.status == "unverified":
        unchecked = [c.name for c in result.validation.checks if c.status == "unverified"]
        reasons = [
            *result.validation.to_fill,
            *([f"could not be checked: {', '.join(unchecked)}"] if unchecked else []),
        ]
        todo = "; ".join(reasons) or "no constraint was stated"
        print(f"retention-mcp: the plan is unverified: {todo}", file=sys.stderr)
        return 4
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from_stdin = args.file == "-"
    params = analyze_params(
        args,
        path=None if from_stdin else args.file,
        csv=sys.stdin.read() if from_stdin else None,
        charts=False,
    )
    from retention_mcp.analytics.service import run_analysis

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    from retention_mcp.analytics.limits import from_flags

    outcome = run_analysis(
        params, _settings(args).data_dirs, progress, charts_folder=args.charts, limits=from_flags(args)
    )
    for path in outcome.report.charts if args.charts else []:
        print(f"wrote {path}", file=sys.stderr)
    print(outcome.report.model_dump_json(indent=2) if args.json else outcome.markdown)
    return 0


def _store_app(args: argparse.Namespace) -> Any:
    settings = _settings(args)
    if settings.plan_store is None:
        raise UserError(f"plans are not kept ({ENV_PLAN_STORE}=off); pass --plan-store FILE|URL")
    return _app(args, settings)


def cmd_store(args: argparse.Namespace) -> int:
    app = _store_app(args)
    applied = app.migrate()
    where = app.plans.store.description
    print(f"{where}: applied migration(s) {', '.join(map(str, applied))}" if applied else f"{where}: up to date")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    entries = _store_app(args).audit_log(limit=args.limit, who=args.who)
    if args.json:
        print(json.dumps([e.model_dump() for e in entries], ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print("no audit entries", file=sys.stderr)
        return 0
    print(f"{'when (UTC)':<25}  {'who':<16} {'tool':<22} {'template':<22} {'plan':<12}  outcome")
    for e in entries:
        who, tool = one_line(e.who), one_line(e.tool)  # one entry a line, whatever a name holds
        print(f"{e.at:<25}  {who:<16} {tool:<22} {e.template or '-':<22} {e.plan_id or '-':<12}  {e.outcome}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from retention_mcp.team import new_token, parse_tokens_file

    token, line = new_token(args.name)
    if args.file is None:
        print(token)
        print(f"add this line to the file named by {ENV_TOKENS_FILE}:\n{line}", file=sys.stderr)
        return 0
    path = args.file.expanduser()
    if path.exists() and args.name in {n for n, _ in parse_tokens_file(path)}:
        return fail(f"{path} already has a token named {args.name!r} / 该名称已有令牌")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    print(token)
    print(
        f"added {args.name!r} to {path}; give the token above to {args.name} (it is shown only once)", file=sys.stderr
    )
    return 0


def cmd_plans(args: argparse.Namespace) -> int:
    settings = _settings(args)
    path = settings.plan_store
    if path is None:
        return fail(f"plans are not kept ({ENV_PLAN_STORE}=off); pass --plan-store FILE")
    if isinstance(path, Path) and not path.exists():
        return fail(f"no plans yet: {path} does not exist")
    app = _app(args, settings)
    if args.plans_command == "list":
        found = app.list_plans(template=args.template, limit=args.limit, failed_only=args.failed)
        if args.json:
            print(json.dumps([p.model_dump() for p in found], ensure_ascii=False, indent=2))
            return 0
        for p in found:
            verdict = {"passed": "passed", "failed": "FAILED", "unverified": "UNVERIFIED"}[p.status or "failed"]
            template, model, title = one_line(p.template), one_line(p.model), one_line(p.title)  # one plan a line
            print(f"{p.id}  {p.created_at}  {template:<22} {p.language}  {verdict:<10}  {model}  {title}")
        if not found:
            print("no plans", file=sys.stderr)
        return 0
    record = app.get_plan(args.id)
    text = record.markdown if args.format == "md" else record.model_dump_json(indent=2)
    if args.plans_command == "show":
        print(text)
        return 0
    out = args.out or Path(f"plan-{record.id}.{args.format}")
    if str(out) == "-":
        print(text)
        return 0
    out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


def _read_args_file(path: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise UserError(f"--args-file {path}: cannot read it ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise UserError(
            f"--args-file {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("arguments"), dict):
        data = data["arguments"]  # a scenario object works as it is
    if not isinstance(data, dict):
        raise UserError(f"--args-file {path}: must hold a JSON object of arguments")
    return data


# -- templates --------------------------------------------------------------------------------------------------------
def cmd_templates(args: argparse.Namespace) -> int:
    if args.templates_command == "check":
        return _check(args.dirs)
    app = _app(args)
    if args.templates_command == "list":
        summaries = app.template_list().templates
        if args.json:
            print(json.dumps([s.model_dump(mode="json") for s in summaries], ensure_ascii=False, indent=2))
            return 0
        for s in summaries:
            params = ", ".join(p.name + ("*" if p.required else "") for p in s.parameters)
            print(f"{s.name:<22} v{s.version:<7} {'/'.join(s.languages):<6} {s.title}")
            print(f"{'':<22} {params}")
        print("\n(* = required)")
        return 0
    template = app.template(args.name)
    languages = [args.language] if args.language else template.languages
    for language in languages:
        if language not in template.files:
            return fail(f"'{template.name}' has no {language} version; available: {', '.join(template.languages)}")
        file = template.files[language]
        print(f"# {file.path}\n{file.source}" if len(languages) > 1 else file.source)
    return 0


def _check(dirs: list[Path]) -> int:
    from retention_mcp.registry import check_directory

    problems = []
    for directory in dirs:
        found = check_directory(directory)
        problems += found
        if not found:
            from retention_mcp.template import find_template_files

            print(f"ok: {directory} ({len(find_template_files(directory))} files)")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    return 0


# -- config -----------------------------------------------------------------------------------------------------------
def cmd_config(args: argparse.Namespace) -> int:
    from retention_mcp.client_config import client_config

    entry, instructions = client_config(
        args.client,
        templates=args.templates,
        tools=args.tools,
        data_dirs=args.data_dir,
        provider=args.llm_provider,
        base_url=args.llm_base_url,
        model=args.llm_model,
    )
    print(entry)
    print(instructions, file=sys.stderr)
    return 0


# -- demo and schemas -------------------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    import anyio

    from retention_mcp.demo import EXAMPLES_FILE, run_demo

    failures = anyio.run(lambda: run_demo(args.scenarios or EXAMPLES_FILE, args.out, args.full))
    return 1 if failures else 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from retention_mcp import schema_export as schemas

    if str(args.dir) == "-":
        return fail("schemas are written as a folder of files: give a folder, e.g. 'schemas export schemas'")
    if args.action == "export":
        for path in schemas.export(args.dir):
            print(f"wrote {path}")
        return 0
    if not args.dir.is_dir():
        return fail(
            f"no {args.dir}/ folder here ({Path.cwd()}); run it from a checkout of retention-mcp, or give the "
            f"folder: 'retention-mcp schemas check DIR' ('schemas export DIR' writes one)",
            1,
        )
    stale = schemas.drift(args.dir)
    if stale:
        return fail(f"schemas out of date in {args.dir}: {', '.join(stale)}; run 'make schemas'", 1)
    print(f"ok: {args.dir} matches the models")
    return 0
