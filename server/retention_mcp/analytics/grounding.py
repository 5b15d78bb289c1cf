"""Grounding a prompt in the customer's own data: a template input named `dataset` takes a file path; before the
template is rendered, the server analyses the file and puts the computed facts (D1, D2, ...) in its place.

Templates stay plain text files: the facts arrive as the value of `dataset`, so they are data like any other value.
Grounding works on arguments already validated by the template's parameter model, and never validates them again.
"""

from __future__ import annotations

from pathlib import Path

import anyio
from pydantic import BaseModel

from retention_mcp.errors import ArgumentError
from retention_mcp.paths import readable_dirs
from retention_mcp.registry import LANGUAGE_FIELD, Template

DATASET_FIELD = "dataset"


def uses_dataset(template: Template) -> bool:
    return any(spec.name == DATASET_FIELD for spec in template.inputs)


def _dataset(template: Template, values: BaseModel) -> str | None:
    """The dataset path to analyse, if the template takes one and the caller gave it."""
    value = getattr(values, DATASET_FIELD, None) if uses_dataset(template) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


async def ground_async(template: Template, values: BaseModel, data_dirs: list[Path]) -> tuple[BaseModel, list[str]]:
    """`ground` in a worker thread, so the event loop keeps serving while the file is analysed."""
    if _dataset(template, values) is None:
        return values, []
    return await anyio.to_thread.run_sync(ground, template, values, data_dirs)


def ground(template: Template, values: BaseModel, data_dirs: list[Path]) -> tuple[BaseModel, list[str]]:
    """Validated arguments with `dataset` replaced by the facts computed from it, and those facts ([] when not asked
    for). The facts are the server's own text, so the per-field size limit of user values does not apply to them."""
    path = _dataset(template, values)
    if path is None:
        return values, []
    from retention_mcp.analytics.engine import AnalysisRequest, analyze
    from retention_mcp.analytics.loading import DataError
    from retention_mcp.analytics.summary import facts

    others = {s.name: getattr(values, s.name) for s in template.inputs if s.name != DATASET_FIELD}
    language = template.resolve_language(str(getattr(values, LANGUAGE_FIELD, None) or "auto"), others)
    try:
        analysis = analyze(AnalysisRequest(path=path), readable_dirs(data_dirs))
    except DataError as exc:
        raise ArgumentError(
            f"Invalid arguments for '{template.name}' / 「{template.name}」的参数无效:\n- {DATASET_FIELD}: {exc}"
        ) from None
    lines = facts(analysis.report, language)
    return values.model_copy(update={DATASET_FIELD: "\n".join(lines)}), lines
