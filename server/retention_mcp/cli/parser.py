"""The command line's parser: every command and its flags; the `analyze` flags come from the analysis parameters'
model (analytics.params), one flag per field."""

from __future__ import annotations

import argparse
import os
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
)

TOOLS_HELP = (
    "which tools to offer: full (default): one typed tool per template, plus list_plans and analyze_churn; "
    "compact: list_templates, render_template and generate_plan (any template by name) instead of the per-template "
    f"tools; all: both sets, with descriptions in English and Chinese (also {ENV_TOOLS})"
)


def build_parser(serve_only: bool = False) -> argparse.ArgumentParser:
    """Every command; with `serve_only`, the `serve` command alone (what an MCP client launches, parsed as quickly as
    it can be: the other commands' flags, the `analyze` ones among them, are not built)."""
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

    def arguments_options(p: argparse.ArgumentParser, named: bool = True) -> None:
        if named:
            p.add_argument("name", help="template name, e.g. retention_strategy")
        p.add_argument(
            "--arg",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="an argument (repeatable; repeat a key to build a list)",
        )
        p.add_argument("--args-file", type=Path, metavar="FILE", help="JSON object of arguments ('-' for stdin)")
        p.add_argument(
            "--example",
            metavar="ID",
            help="start from the arguments of a bundled example, e.g. saas-collaboration-en (retention-mcp demo "
            "lists them)",
        )
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
    if serve_only:
        return parser

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

    check = commands.add_parser(
        "check",
        help="check a plan written elsewhere (JSON) against a brief, as plan mode checks its own, and save it",
        description="Check a plan written elsewhere (by an assistant in a chat, or by hand) against the brief given "
        "with --arg/--args-file: its format, then the checks of plan mode. No model is needed. Exit codes as "
        "'generate': 0 passed, 3 failed, 4 unverified.",
    )
    check.add_argument("plan", type=Path, help="the plan as a JSON file ('-' reads stdin)")
    check.add_argument("--template", dest="name", required=True, metavar="NAME", help="the template the plan answers")
    arguments_options(check, named=False)
    check.add_argument(
        "--plan-id", metavar="ID", help="submit a revision of this saved plan (its brief is reused when none is given)"
    )
    templates_option(check)
    data_option(check)
    check.add_argument("--json", action="store_true", help="print the structured result (plan, validation) as JSON")
    check.add_argument("--out", type=Path, metavar="FILE", help="also write the plan's Markdown to FILE")

    analyze = commands.add_parser(
        "analyze",
        help="compute churn facts and retention models from a customer file (CSV, Parquet, JSON Lines, .xlsx)",
    )
    analyze.add_argument(
        "file",
        nargs="?",
        help="the file, named relative to a data directory, not to the current folder ('subscriptions.csv' is the "
        "bundled example); '-' reads CSV from stdin; none with --source NAME --table SCHEMA.TABLE",
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

    templates = commands.add_parser(
        "templates", help="list, show or check templates; publish, compare, label and roll back their versions"
    )
    templates_commands = _described(templates.add_subparsers(dest="templates_command", metavar="ACTION", required=True))
    t_list = templates_commands.add_parser("list", help="list the available templates")
    templates_option(t_list)
    t_list.add_argument("--json", action="store_true", help="print as JSON")
    t_show = templates_commands.add_parser("show", help="print a template's source")
    templates_option(t_show)
    t_show.add_argument("name")
    t_show.add_argument("--language", choices=["zh", "en"], default=None, help="default: every language")
    t_check = templates_commands.add_parser(
        "check", help="validate folders of templates, or .prompty files; exit 1 on any problem"
    )
    t_check.add_argument("dirs", nargs="+", type=Path, metavar="DIR|FILE")
    _version_commands(templates_commands)

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


def _version_commands(commands: Any) -> None:
    """`templates publish`, `history`, `diff`, `label` and `rollback`: versions in the plan store's database."""
    store_help = f"SQLite file or postgresql:// URL that keeps the versions (also {ENV_PLAN_STORE})"
    publish = commands.add_parser(
        "publish", help="check a template file or folder and keep it as a new version (identical content: no-op)"
    )
    publish.add_argument("path", type=Path, metavar="PATH", help="a .prompty file, or a folder of them")
    publish.add_argument("--label", metavar="LABEL", help="move this label (e.g. production, staging) to the version")
    publish.add_argument("-m", "--message", metavar="MESSAGE", help="what changed")
    history = commands.add_parser("history", help="a template's versions, labels and label moves")
    history.add_argument("name")
    history.add_argument("--json", action="store_true", help="print as JSON")
    diff = commands.add_parser("diff", help="compare two versions: sections, parameters and types, then the text")
    diff.add_argument("name")
    diff.add_argument("old", type=int, metavar="V1")
    diff.add_argument("new", type=int, metavar="V2")
    diff.add_argument("--json", action="store_true", help="print as JSON")
    label = commands.add_parser("label", help="point a label (production, staging, any name) at a version")
    label.add_argument("name")
    label.add_argument("version", type=int, metavar="VERSION")
    label.add_argument("label", metavar="LABEL")
    label.add_argument("-m", "--message", metavar="MESSAGE", help="why (kept in the history)")
    rollback = commands.add_parser(
        "rollback", help="move a label back to the version it pointed at before (or to --to VERSION)"
    )
    rollback.add_argument("name")
    rollback.add_argument("--to", type=int, metavar="VERSION", help="the version to serve (default: the previous)")
    rollback.add_argument("--label", default="production", metavar="LABEL", help="default: production")
    rerender = commands.add_parser(
        "rerender", help="render a saved plan's prompt again with the template version the plan was made with"
    )
    rerender.add_argument("plan_id", metavar="PLAN_ID")
    rerender.add_argument("--json", action="store_true", help="print the structured result as JSON")
    for p in (publish, history, diff, label, rollback, rerender):
        p.add_argument("--plan-store", metavar="FILE|URL", help=store_help)


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
