"""`analyze`: churn facts from a data file or CSV on stdin, as Markdown or JSON, with charts on request."""

from __future__ import annotations

import argparse
import sys

from retention_mcp.cli.common import settings_for
from retention_mcp.cli.parser import analyze_params


def cmd_analyze(args: argparse.Namespace) -> int:
    from_stdin = args.file == "-"
    if args.file is None and not getattr(args, "source", None):
        from retention_mcp.errors import UserError

        raise UserError(
            "analyze: give a file, or --source NAME --table SCHEMA.TABLE / 请给出文件,或 --source 与 --table"
        )
    params = analyze_params(
        args,
        path=None if from_stdin or args.file is None else args.file,
        csv=sys.stdin.read() if from_stdin else None,
        charts=False,
    )
    from retention_mcp.analytics.service import run_analysis

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    from retention_mcp.analytics.limits import from_flags

    outcome = run_analysis(
        params,
        settings_for(args).data_dirs,
        progress,
        charts_folder=args.charts,
        limits=from_flags(args),
        allow_url=True,
    )
    for path in outcome.report.charts if args.charts else []:
        print(f"wrote {path}", file=sys.stderr)
    print(outcome.report.model_dump_json(indent=2) if args.json else outcome.markdown)
    return 0
