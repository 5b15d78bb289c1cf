"""`templates`, `config` (client configuration), `demo` and `schemas`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from retention_mcp.cli.common import app_for, fail

VERSION_COMMANDS = ("publish", "history", "diff", "label", "rollback", "rerender")


def cmd_templates(args: argparse.Namespace) -> int:
    if args.templates_command == "check":
        return _check(args.dirs)
    app = app_for(args)
    if args.templates_command in VERSION_COMMANDS:
        from retention_mcp.cli.template_versions import cmd_versions

        return cmd_versions(args, app)
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
