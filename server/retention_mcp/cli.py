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
from retention_mcp.errors import UserError
from retention_mcp.settings import (
    ENV_DATA_DIRS,
    ENV_LLM_API_KEY,
    ENV_LLM_BASE_URL,
    ENV_LLM_MODEL,
    ENV_LLM_PROVIDER,
    ENV_LLM_TIMEOUT,
    ENV_PLAN_STORE,
    ENV_TEMPLATES,
    ENV_TOKENS,
    Settings,
    SettingsError,
)
from retention_mcp.template import TemplateError

EXIT_USAGE = 2
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retention-mcp",
        description="Customer-retention prompt templates (zh/en) as typed MCP tools, prompts and resources.",
        epilog="Run 'retention-mcp COMMAND --help' for a command's options. With no command, serves over stdio.",
    )
    parser.add_argument("--version", action="version", version=f"retention-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

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
            help=f"folder that analyses may read (repeatable; also {ENV_DATA_DIRS}; default: the current folder; "
            "the bundled example data is always readable)",
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
    serve.add_argument(
        "--tools",
        choices=["full", "compact", "all"],
        default=None,
        help="full: one tool per template; compact: list_templates + render_template; all (default)",
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
        help=f"HTTP: require this bearer token (repeatable; also {ENV_TOKENS}, comma-separated)",
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
        "analyze", help="compute churn facts and retention models from a customer file (CSV, Parquet, JSON Lines)"
    )
    analyze.add_argument(
        "file",
        help="the file, inside a data directory ('subscriptions.csv' is the bundled example); '-' reads CSV from stdin",
    )
    analyze.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="ROLE=COLUMN",
        help="name a column's role where detection needs help (repeatable); roles: customer_id, start_date, "
        "end_date, churned, tenure, plan, amount, billing_interval, transaction_date",
    )
    analyze.add_argument("--segment", action="append", default=[], metavar="COLUMN", help="segment by this column")
    analyze.add_argument("--delimiter", metavar="CHAR", help="CSV delimiter, when sniffing gets it wrong")
    analyze.add_argument("--language", choices=["auto", "zh", "en"], default="auto", help="summary language")
    analyze.add_argument("--json", action="store_true", help="print the structured result as JSON")
    analyze.add_argument("--charts", type=Path, metavar="DIR", help="write survival.png and cohorts.png to DIR")
    data_option(analyze)
    from retention_mcp.analytics import limits

    limits.add_flags(analyze)

    plans = commands.add_parser("plans", help="list, show or export saved plans")
    plans_commands = plans.add_subparsers(dest="plans_command", metavar="ACTION", required=True)
    p_list = plans_commands.add_parser("list", help="saved plans, newest first")
    p_list.add_argument("--template", metavar="NAME", help="only plans of this template")
    p_list.add_argument("--failed", action="store_true", help="only plans with failed checks")
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
        p.add_argument("--plan-store", metavar="FILE", help=f"the SQLite file (also {ENV_PLAN_STORE})")

    templates = commands.add_parser("templates", help="list, show or check templates")
    templates_commands = templates.add_subparsers(dest="templates_command", metavar="ACTION", required=True)
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
    config.add_argument("--tools", choices=["full", "compact", "all"], default=None)
    data_option(config)

    demo = commands.add_parser("demo", help="start the server over stdio and render every bundled example")
    demo.add_argument("--full", action="store_true", help="print every rendered prompt in full")
    demo.add_argument("--out", type=Path, metavar="DIR", help="also write each prompt to DIR/<scenario>.md")
    demo.add_argument("--scenarios", type=Path, metavar="FILE", help="a scenarios JSON file (default: bundled)")

    schemas = commands.add_parser("schemas", help="export or check the JSON Schemas of inputs and outputs")
    schemas.add_argument("action", choices=["export", "check"])
    schemas.add_argument("dir", type=Path, nargs="?", default=Path("schemas"))
    return parser


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
    }[command]
    try:
        return handler(args)
    except TemplateError as exc:
        return fail(f"template error: {exc}")
    except (UserError, SettingsError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130


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
    }
    environ = {**os.environ, **{name: str(value) for name, value in flags.items() if value is not None}}
    settings = Settings.from_env(environ)
    settings.template_dirs = [*settings.template_dirs, *getattr(args, "templates", [])]
    if getattr(args, "tools", None):
        settings.tools = args.tools
    return settings


def _registry(settings: Settings):
    from retention_mcp.registry import Registry

    return Registry.load(settings.template_dirs, settings.limits)


# -- serve ------------------------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    registry = _registry(settings)
    tokens = [*settings.tokens, *args.token]
    if args.watch_interval <= 0:
        return fail("--watch-interval must be a positive number of seconds")
    from retention_mcp.server import build_server

    if args.transport == "stdio":
        if tokens:
            print("retention-mcp: tokens apply to HTTP only; ignored over stdio", file=sys.stderr)
        server = build_server(
            registry,
            tools=settings.tools,
            model=settings.model,
            plan_store=settings.plan_store,
            data_dirs=settings.data_dirs,
        )
        _run(server.run_stdio_async, server, settings, args)
        return 0
    display_host = f"[{args.host}]" if ":" in args.host else args.host
    base_url = f"http://{display_host}:{args.port}"
    server = build_server(
        registry,
        tools=settings.tools,
        tokens=tokens,
        issuer_url=base_url,
        model=settings.model,
        plan_store=settings.plan_store,
        data_dirs=settings.data_dirs,
    )
    app = http_app(server, args.host, args.path, args.stateless, args.allowed_host, args.allowed_origin)
    if args.host not in LOOPBACK and not tokens:
        print(
            f"retention-mcp: warning: serving on {args.host} without authentication; "
            f"set --token or {ENV_TOKENS} for a shared server",
            file=sys.stderr,
        )
    print(
        f"retention-mcp {__version__}: {len(registry)} templates at {base_url}{args.path}"
        f"{' (stateless)' if args.stateless else ''}{' (token required)' if tokens else ''}"
        f"{' (watching templates)' if args.watch else ''}; Ctrl+C stops",
        file=sys.stderr,
        flush=True,
    )
    import uvicorn

    http_server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning"))
    _run(http_server.serve, server, settings, args)
    return 0


def _run(serve: Any, server: Any, settings: Settings, args: argparse.Namespace) -> None:
    """Serve until the transport ends; with --watch, reload templates alongside."""
    import anyio

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            if args.watch:
                from retention_mcp.reload import TemplateWatcher

                tasks.start_soon(TemplateWatcher(server, settings, args.watch_interval).run)
            await serve()
            tasks.cancel_scope.cancel()

    anyio.run(main)


def http_app(server: Any, host: str, path: str, stateless: bool, hosts: list[str], origins: list[str]):
    """The streamable-HTTP app with DNS-rebinding protection always on, and a /healthz route without auth."""
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.responses import JSONResponse

    allowed_hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    if host not in LOOPBACK and host not in ("0.0.0.0", "::"):
        allowed_hosts.append(f"{host}:*")
    allowed_hosts += hosts
    allowed_origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *origins]

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request):
        return JSONResponse({"status": "ok", "version": __version__, "templates": server.registry.names()})

    return server.streamable_http_app(
        streamable_http_path=path,
        stateless_http=stateless,
        json_response=stateless,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins
        ),
        host=host,
    )


# -- render -----------------------------------------------------------------------------------------------------------
def cmd_render(args: argparse.Namespace) -> int:
    settings = _settings(args)
    template = _registry(settings).get(args.name)
    arguments = _arguments(args, template)
    if arguments.get("dataset"):
        from retention_mcp.grounding import ground

        template.validate(arguments)
        arguments = ground(template, arguments, settings.data_dirs)[0]
    result = template.render(arguments)
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(result.prompt)
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
    arguments.update({k: v[0] if len(v) == 1 else v for k, v in repeated.items()})
    arguments = template.coerce_strings(arguments)
    if args.language:
        arguments["language"] = args.language
    return arguments


# -- generate and plans -----------------------------------------------------------------------------------------------
def cmd_generate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    template = _registry(settings).get(args.name)
    arguments = _arguments(args, template)
    if not settings.model.configured:
        return fail(
            f"no model configured: set {ENV_LLM_PROVIDER} (openai or anthropic), {ENV_LLM_MODEL} and "
            f"{ENV_LLM_API_KEY} (and {ENV_LLM_BASE_URL} for a compatible endpoint), or pass --llm-provider and "
            f"--llm-model; 'retention-mcp render {args.name}' prints the prompt instead"
        )
    import anyio

    from retention_mcp.generation.service import PlanError, PlanService

    async def progress(done: float, total: float, message: str) -> None:
        print(f"[{done:g}/{total:g}] {message}", file=sys.stderr, flush=True)

    async def run():
        service = PlanService.from_settings(settings.model, settings.plan_store, settings.data_dirs)
        try:
            return await service.generate(template, arguments, progress=progress)
        finally:
            await service.backend.aclose()

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
    if result.validation and not result.validation.passed:
        failed = ", ".join(c.name for c in result.validation.checks if not c.passed)
        print(f"retention-mcp: the plan still fails these checks: {failed}", file=sys.stderr)
        return 3
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    settings = _settings(args)
    roles: dict[str, str] = {}
    for item in args.map:
        role, sep, column = item.partition("=")
        if not sep or not role.strip() or not column.strip():
            return fail(f"--map takes ROLE=COLUMN, got {item!r}")
        roles[role.strip()] = column.strip()
    from retention_mcp.analytics.engine import AnalysisRequest, analyze
    from retention_mcp.analytics.service import pick_language, write_charts
    from retention_mcp.analytics.summary import report_markdown
    from retention_mcp.grounding import readable_dirs

    from_stdin = args.file == "-"
    request = AnalysisRequest(
        path=None if from_stdin else args.file,
        csv_text=sys.stdin.read() if from_stdin else None,
        columns=roles,
        segments=args.segment,
        delimiter=args.delimiter,
        charts=bool(args.charts),
    )

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    from retention_mcp.analytics.limits import from_flags

    analysis = analyze(request, readable_dirs(settings.data_dirs), progress, limits=from_flags(args))
    if args.charts:
        args.charts.mkdir(parents=True, exist_ok=True)
        for path in write_charts(analysis, args.charts):
            print(f"wrote {path}", file=sys.stderr)
    report = analysis.report
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(report_markdown(report, pick_language(args.language, list(report.columns.values()))))
    return 0


def cmd_plans(args: argparse.Namespace) -> int:
    from retention_mcp.generation.store import PlanStore

    path = _settings(args).plan_store
    if path is None:
        return fail(f"plans are not kept ({ENV_PLAN_STORE}=off); pass --plan-store FILE")
    if not path.exists():
        return fail(f"no plans yet: {path} does not exist")
    store = PlanStore(path)
    if args.plans_command == "list":
        found = store.list(template=args.template, limit=args.limit, failed_only=args.failed)
        if args.json:
            print(json.dumps([p.model_dump() for p in found], ensure_ascii=False, indent=2))
            return 0
        for p in found:
            verdict = "passed" if p.passed else "FAILED"
            print(f"{p.id}  {p.created_at}  {p.template:<22} {p.language}  {verdict:<6}  {p.model}  {p.title}")
        if not found:
            print("no plans", file=sys.stderr)
        return 0
    record = store.get(args.id)
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
    registry = _registry(_settings(args))
    if args.templates_command == "list":
        summaries = [t.summary() for t in registry]
        if args.json:
            print(json.dumps([s.model_dump(mode="json") for s in summaries], ensure_ascii=False, indent=2))
            return 0
        for s in summaries:
            params = ", ".join(p.name + ("*" if p.required else "") for p in s.parameters)
            print(f"{s.name:<22} v{s.version:<7} {'/'.join(s.languages):<6} {s.title}")
            print(f"{'':<22} {params}")
        print("\n(* = required)")
        return 0
    template = registry.get(args.name)
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
def server_command(
    templates: list[Path], tools: str | None, data_dirs: list[Path] | None = None
) -> tuple[str, list[str]]:
    """The absolute command and arguments that start this installation's server over stdio."""
    script = Path(sys.executable).parent / ("retention-mcp.exe" if os.name == "nt" else "retention-mcp")
    extra = [arg for d in templates for arg in ("--templates", str(d.expanduser().resolve()))]
    extra += [arg for d in data_dirs or [] for arg in ("--data-dir", str(d.expanduser().resolve()))]
    if tools:
        extra += ["--tools", tools]
    if script.exists():
        return str(script), ["serve", *extra]
    return str(Path(sys.executable)), ["-m", "retention_mcp", "serve", *extra]


CONFIG_HINTS = {
    "claude-desktop": "Add to claude_desktop_config.json (Settings > Developer > Edit Config), then restart Claude:\n"
    "  macOS: ~/Library/Application Support/Claude/claude_desktop_config.json\n"
    "  Windows: %APPDATA%\\Claude\\claude_desktop_config.json",
    "cursor": "Add to ~/.cursor/mcp.json (all projects) or .cursor/mcp.json (one project).",
    "vscode": "Add to .vscode/mcp.json in your workspace (or run 'MCP: Add Server' and paste it).",
    "codex": "Add to ~/.codex/config.toml.",
}


def cmd_config(args: argparse.Namespace) -> int:
    command, arguments = server_command(args.templates, args.tools, args.data_dir)
    if args.client == "codex":
        quoted = ", ".join(json.dumps(a) for a in arguments)
        print(f"[mcp_servers.retention-mcp]\ncommand = {json.dumps(command)}\nargs = [{quoted}]")
    elif args.client == "vscode":
        entry = {"type": "stdio", "command": command, "args": arguments}
        print(json.dumps({"servers": {"retention-mcp": entry}}, indent=2))
    else:
        print(json.dumps({"mcpServers": {"retention-mcp": {"command": command, "args": arguments}}}, indent=2))
    print(CONFIG_HINTS[args.client], file=sys.stderr)
    return 0


# -- demo and schemas -------------------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    import anyio

    from retention_mcp.demo import EXAMPLES_FILE, run_demo

    failures = anyio.run(lambda: run_demo(args.scenarios or EXAMPLES_FILE, args.out, args.full))
    return 1 if failures else 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from retention_mcp import schema_export as schemas

    if args.action == "export":
        for path in schemas.export(args.dir):
            print(f"wrote {path}")
        return 0
    stale = schemas.drift(args.dir)
    if stale:
        return fail(f"schemas out of date in {args.dir}: {', '.join(stale)}; run 'make schemas'", 1)
    print(f"ok: {args.dir} matches the models")
    return 0
