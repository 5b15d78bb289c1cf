"""Grounding a prompt in the customer's own data: a template input named `dataset` takes a file path; before the
template is rendered, the server analyses the file and puts the computed facts (D1, D2, ...) in its place.

Templates stay plain text files: the facts arrive as the value of `dataset`, so they are data like any other value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from retention_mcp.errors import ArgumentError
from retention_mcp.paths import shipped_dir
from retention_mcp.registry import LANGUAGE_FIELD, Template

DATASET_FIELD = "dataset"


def uses_dataset(template: Template) -> bool:
    return any(spec.name == DATASET_FIELD for spec in template.inputs)


def readable_dirs(data_dirs: list[Path]) -> list[Path]:
    """The configured data directories, then the bundled example data (read-only, always available)."""
    return [*data_dirs, shipped_dir("examples")]


def _dataset(template: Template, arguments: Mapping[str, Any]) -> str | None:
    """The dataset path to analyse, if the template takes one and the caller gave it."""
    value = arguments.get(DATASET_FIELD)
    return value.strip() if uses_dataset(template) and isinstance(value, str) and value.strip() else None


async def ground_async(
    template: Template, arguments: Mapping[str, Any], data_dirs: list[Path]
) -> tuple[dict[str, Any], list[str]]:
    """`ground` for the server: the caller's own argument mistakes are reported first, and the file is analysed in
    a worker thread so the event loop keeps serving."""
    if _dataset(template, arguments) is None:
        return dict(arguments), []
    template.validate(arguments)
    return await anyio.to_thread.run_sync(ground, template, arguments, data_dirs)


def ground(template: Template, arguments: Mapping[str, Any], data_dirs: list[Path]) -> tuple[dict[str, Any], list[str]]:
    """Arguments with `dataset` replaced by the facts computed from it, and those facts ([] when not asked for)."""
    path = _dataset(template, arguments)
    if path is None:
        return dict(arguments), []
    from retention_mcp.analytics.engine import AnalysisRequest, analyze
    from retention_mcp.analytics.loading import DataError
    from retention_mcp.analytics.summary import facts

    others = {k: v for k, v in arguments.items() if k not in (DATASET_FIELD, LANGUAGE_FIELD)}
    language = template.resolve_language(str(arguments.get(LANGUAGE_FIELD) or "auto"), others)
    try:
        analysis = analyze(AnalysisRequest(path=path), readable_dirs(data_dirs))
    except DataError as exc:
        raise ArgumentError(
            f"Invalid arguments for '{template.name}' / 「{template.name}」的参数无效:\n- {DATASET_FIELD}: {exc}"
        ) from None
    lines = facts(analysis.report, language)
    return {**arguments, DATASET_FIELD: "\n".join(lines), LANGUAGE_FIELD: arguments.get(LANGUAGE_FIELD, "auto")}, lines
