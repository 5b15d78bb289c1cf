"""`render`, `generate`, `plans`, and the team store's `store`, `audit` and `token` commands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from retention_mcp.cli.common import app_for, fail, settings_for
from retention_mcp.errors import UserError
from retention_mcp.settings import (
    ENV_LLM_API_KEY,
    ENV_LLM_BASE_URL,
    ENV_LLM_MODEL,
    ENV_LLM_PROVIDER,
    ENV_PLAN_STORE,
    ENV_TOKENS_FILE,
)
from retention_mcp.untrusted import one_line


def cmd_render(args: argparse.Namespace) -> int:
    app = app_for(args)
    template = app.template(args.name)
    result = app.render_blocking(template, _arguments(args, template))
    print(result.model_dump_json(indent=2, exclude_none=True) if args.json else result.prompt)
    return 0


def _arguments(args: argparse.Namespace, template: Any) -> dict[str, Any]:
    """--example, then --args-file, then --arg KEY=VALUE (a repeated key builds a list), then --language."""
    arguments: dict[str, Any] = {}
    if getattr(args, "example", None):
        arguments.update(_example(args.example))
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


def cmd_generate(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    app = app_for(args, settings)
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
    return _report(args, result)


def cmd_check(args: argparse.Namespace) -> int:
    """A plan written elsewhere, checked against its brief and saved: exit codes as `generate`."""
    import anyio

    from retention_mcp.generation.checking import MAX_PLAN_CHARS

    app = app_for(args)
    template = app.template(args.name)
    arguments = _arguments(args, template)
    if args.plan_id and not (
        args.args_file or args.arg or args.example
    ):  # a revision answers the brief of the one it revises
        arguments = {**app.get_plan(args.plan_id).arguments, **arguments}
    try:
        if str(args.plan) == "-":
            text = sys.stdin.read(MAX_PLAN_CHARS + 1)
        else:
            with open(args.plan, encoding="utf-8") as handle:
                text = handle.read(MAX_PLAN_CHARS + 1)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise UserError(f"{args.plan}: cannot read the plan ({reason}) / 无法读取方案文件") from None

    async def run():
        try:
            return await app.check_plan(template, arguments, text, revises=args.plan_id)
        finally:
            await app.aclose()

    return _report(args, anyio.run(run))


def _report(args: argparse.Namespace, result: Any) -> int:
    """Print a checked plan (Markdown or --json), say where it was saved, and turn its verdict into the exit code:
    0 passed, 3 failed, 4 unverified."""
    if args.out:
        args.out.write_text(result.markdown or "", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    print(result.model_dump_json(indent=2, exclude_none=True) if args.json else result.markdown)
    if result.plan_uri:
        revision = f", revision {result.revision}" if result.revision else ""
        print(f"saved as {result.plan_uri}{revision} (retention-mcp plans show {result.plan_id})", file=sys.stderr)
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


def _example(example_id: str) -> dict[str, Any]:
    """The arguments of a bundled example scenario."""
    from retention_mcp.demo import load_scenarios

    scenarios = {s["id"]: s for s in load_scenarios()}
    if example_id not in scenarios:
        names = ", ".join(scenarios)
        raise UserError(
            f"--example: no example '{example_id}'; there are: {names} / 没有示例「{example_id}」;可用:{names}"
        )
    return dict(scenarios[example_id]["arguments"])


def _read_args_file(path: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise UserError(
            f"--args-file {path}: cannot read it ({exc.strerror or exc}) / --args-file {path}:无法读取该文件"
        ) from None
    except json.JSONDecodeError as exc:
        raise UserError(
            f"--args-file {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}) / "
            f"--args-file {path}:不是有效的 JSON(第 {exc.lineno} 行第 {exc.colno} 列有语法错误)"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("arguments"), dict):
        data = data["arguments"]  # a scenario object works as it is
    if not isinstance(data, dict):
        raise UserError(f"--args-file {path}: must hold a JSON object of arguments")
    return data


def cmd_plans(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    path = settings.plan_store
    if path is None:
        return fail(f"plans are not kept ({ENV_PLAN_STORE}=off); pass --plan-store FILE")
    if isinstance(path, Path) and not path.exists():
        return fail(f"no plans yet: {path} does not exist")
    app = app_for(args, settings)
    if args.plans_command == "list":
        from retention_mcp.generation.store import revision_note

        found = app.list_plans(template=args.template, limit=args.limit, failed_only=args.failed)
        if args.json:
            print(json.dumps([p.model_dump() for p in found], ensure_ascii=False, indent=2))
            return 0
        for p in found:
            verdict = {"passed": "passed", "failed": "FAILED", "unverified": "UNVERIFIED"}[p.status or "failed"]
            template, model, title = one_line(p.template), one_line(p.model), one_line(p.title)  # one plan a line
            print(
                f"{p.id}  {p.created_at}  {template:<22} {p.language}  {verdict:<10}  {model}  {title}{revision_note(p)}"
            )
        if not found:
            print("no plans", file=sys.stderr)
        return 0
    record = app.get_plan(args.id)
    text = record.markdown if args.format == "md" else record.model_dump_json(indent=2)
    if args.plans_command == "show":
        if args.format == "md":
            print(template_line(record), file=sys.stderr)
        print(text)
        return 0
    out = args.out or Path(f"plan-{record.id}.{args.format}")
    if str(out) == "-":
        print(text)
        return 0
    out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


def template_line(record: Any) -> str:
    """Which template text a plan was made with: name, store version, front-matter version and content hash."""
    stored = f" version {record.template_revision}" if record.template_revision else ""
    digest = f", {record.template_hash}" if record.template_hash else ""
    return f"template: {record.template}{stored} ({record.version}{digest}) / 所用模板"


def _store_app(args: argparse.Namespace) -> Any:
    settings = settings_for(args)
    if settings.plan_store is None:
        raise UserError(f"plans are not kept ({ENV_PLAN_STORE}=off); pass --plan-store FILE|URL")
    return app_for(args, settings)


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
