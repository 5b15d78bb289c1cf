"""Command line: serve, render, generate, analyze, plans, templates, config, demo, schemas, store, audit, token.

One module per command group (serve, plans, analyze, templates), the parser in `parser`, what they share in
`common`. Imports stay inside the commands so `retention-mcp render` and `templates check` never pay for the MCP
stack.
"""

from __future__ import annotations

import sys

from retention_mcp.cli.analyze import cmd_analyze
from retention_mcp.cli.common import close_apps, fail, reader_went_away
from retention_mcp.cli.parser import build_parser
from retention_mcp.cli.plans import cmd_audit, cmd_check, cmd_generate, cmd_plans, cmd_render, cmd_store, cmd_token
from retention_mcp.cli.serve import cmd_serve
from retention_mcp.cli.templates import cmd_config, cmd_demo, cmd_schemas, cmd_templates
from retention_mcp.errors import UserError
from retention_mcp.settings import SettingsError
from retention_mcp.template import TemplateError

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["serve", *argv]  # what MCP clients launch: the bare command serves over stdio
    args = build_parser(serve_only=argv[0] == "serve").parse_args(argv)
    command = args.command
    handler = {
        "serve": cmd_serve,
        "render": cmd_render,
        "generate": cmd_generate,
        "check": cmd_check,
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
        return reader_went_away()
    except TemplateError as exc:
        return fail(f"template error: {exc}")
    except (UserError, SettingsError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    finally:
        close_apps()


# -- serve ------------------------------------------------------------------------------------------------------------


# -- generate and plans -----------------------------------------------------------------------------------------------


# -- templates --------------------------------------------------------------------------------------------------------


# -- config -----------------------------------------------------------------------------------------------------------


# -- demo and schemas -------------------------------------------------------------------------------------------------
