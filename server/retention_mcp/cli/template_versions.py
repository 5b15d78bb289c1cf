"""`templates publish`, `history`, `diff`, `label` and `rollback`: template versions in the plan store's database.
Every publish, label move and rollback is in the audit log under the name of the user who ran it."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from retention_mcp.cli.common import fail
from retention_mcp.settings import ENV_PLAN_STORE
from retention_mcp.untrusted import one_line


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): still one line in the log
        return "cli"


def cmd_versions(args: argparse.Namespace, app: Any) -> int:
    store = app.template_store()
    if store is None:
        return fail(
            f"template versions live in the plan store, and plans are not kept here ({ENV_PLAN_STORE}=off); set "
            f"{ENV_PLAN_STORE} or --plan-store / 模板版本保存在方案库中,请设置方案库"
        )
    from retention_mcp.generation.served_templates import bundled_sources
    from retention_mcp.registry import Registry

    store.seed(bundled_sources(Registry.load((), app.settings.limits)))  # version 1 of each, at first use
    command = args.templates_command
    if command == "publish":
        return _publish(args, app, store)
    if command == "history":
        return _history(args, store, app)
    if command == "rerender":
        return _rerender(args, app, store)
    if command == "diff":
        from retention_mcp.generation.template_versions import diff, diff_text

        result = diff(store, args.name, args.old, args.new, app.settings.limits)
        print(result.model_dump_json(indent=2) if args.json else diff_text(result))
        return 0
    who = _who()
    if command == "label":
        move = store.move_label(args.name, args.label, args.version, who, "label", args.message or "")
        if move is None:
            print(f"{args.name}: '{args.label}' already points at version {args.version}; nothing moved / 标签未变")
        else:
            store.audit(who, "templates label", args.name)
            print(f"{args.name}: '{args.label}' {_arrow(move)} / 标签已移动")
        return 0
    move = store.rollback(args.name, who, args.label, args.to)
    store.audit(who, "templates rollback", args.name)
    print(f"{args.name}: rolled back '{args.label}' {_arrow(move)} / 已回滚")
    return 0


def _arrow(move: Any) -> str:
    before = "(new)" if move.from_version is None else f"version {move.from_version}"
    return f"{before} -> version {move.to_version}"


def _publish(args: argparse.Namespace, app: Any, store: Any) -> int:
    from retention_mcp.generation.template_versions import PublishProblems, publish

    who = _who()
    try:
        outcomes = publish(store, args.path, who, args.message or "", args.label, app.settings.limits)
    except PublishProblems as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found; nothing was published / 发现问题,未发布", file=sys.stderr)
        return 1
    for outcome in outcomes:
        version = outcome.published.version
        if not outcome.published.created:
            labels = f" (labels: {', '.join(version.labels)})" if version.labels else ""
            print(
                f"{outcome.name}: identical to version {version.version}{labels}; nothing published / "
                f"内容与版本 {version.version} 相同,未发布"
            )
            continue
        store.audit(who, "templates publish", outcome.name)
        line = f"{outcome.name}: published version {version.version} ({version.content_hash[:19]})"
        if outcome.published.move is not None:
            line += f"; '{outcome.published.move.label}' {_arrow(outcome.published.move)}"
        if outcome.parameter_changes:
            line += f"; parameters changed: {'; '.join(outcome.parameter_changes)}"
        print(line + " / 已发布")
    return 0


def _history(args: argparse.Namespace, store: Any, app: Any) -> int:
    from retention_mcp.generation.template_versions import history_entries

    entries = history_entries(store, args.name, app.settings.limits)
    if not entries:
        return fail(f"'{args.name}' has no versions in the template store / 模板「{args.name}」没有已发布的版本")
    moves = store.history(args.name).moves
    if args.json:
        print(
            json.dumps(
                {
                    "name": args.name,
                    "versions": [e.model_dump(mode="json") for e in entries],
                    "moves": [m.model_dump(mode="json") for m in moves],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(f"{args.name}: versions / 版本")
    for entry in entries:
        v = entry.version
        labels = f" [{', '.join(v.labels)}]" if v.labels else ""
        print(
            f"  v{v.version}{labels}  {v.created_at}  {one_line(v.author)}  {v.content_hash[:19]}  {one_line(v.message)}"
        )
        if entry.parameter_changes:
            print(f"      parameters changed: {'; '.join(entry.parameter_changes)}")
    print("label moves / 标签变动")
    for m in moves:
        before = "-" if m.from_version is None else str(m.from_version)
        print(
            f"  {m.at}  {m.label}: {before} -> {m.to_version}  {m.action} by {one_line(m.who)}  {one_line(m.note)}".rstrip()
        )
    return 0


def _rerender(args: argparse.Namespace, app: Any, store: Any) -> int:
    """A saved plan's prompt again, from the template version it was made with (not the one served now)."""
    from retention_mcp.generation.served_templates import template_of
    from retention_mcp.registry import Registry

    record = app.get_plan(args.plan_id)
    versions = store.history(record.template).versions
    match = [v for v in versions if record.template_hash and v.content_hash == record.template_hash]
    match = match or [v for v in versions if v.version == record.template_revision and not record.template_hash]
    if not match:
        return fail(
            f"plan {record.id}: the template text it was made with is not in the template store (made before versions "
            f"were kept, or from a template folder) / 方案所用的模板版本不在模板库中",
            1,
        )
    bundled = {t.name: t for t in Registry.load((), app.settings.limits)}
    template = template_of(store.get(record.template, match[0].version), app.settings.limits, bundled)
    result = app.render_blocking(template, record.arguments)
    print(f"template: {record.template} version {match[0].version} ({match[0].content_hash})", file=sys.stderr)
    print(result.model_dump_json(indent=2) if args.json else result.prompt)
    return 0
