"""Grounding a prompt in the customer's own data: a template input named `dataset` takes a file path; before the
template is rendered, the server analyses the file and puts the computed facts (D1, D2, ...) in its place.

Templates stay plain text files: the facts arrive as the value of `dataset`, so they are data like any other value.
Grounding works on arguments already validated by the template's parameter model, and never validates them again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from retention_mcp.analytics.params import AnalyzeParams
from retention_mcp.errors import ArgumentError
from retention_mcp.registry import LANGUAGE_FIELD, Template

if TYPE_CHECKING:
    from retention_mcp.analytics.report import ChurnReport

DATASET_FIELD = "dataset"


def uses_dataset(template: Template) -> bool:
    return any(spec.name == DATASET_FIELD for spec in template.inputs)


def _dataset(template: Template, values: BaseModel) -> str | None:
    """The dataset path to analyse, if the template takes one and the caller gave it."""
    value = getattr(values, DATASET_FIELD, None) if uses_dataset(template) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


async def ground_async(template: Template, values: BaseModel, data_dirs: list[Path]) -> tuple[BaseModel, list[str]]:
    """`ground` through the analytics service's asynchronous entrance: in a worker thread, so the event loop keeps
    serving, within the limits, and stopped when the caller is cancelled."""
    path = _dataset(template, values)
    if path is None:
        return values, []
    import anyio

    from retention_mcp.analytics import recent
    from retention_mcp.analytics.service import run_analysis_async

    key = await anyio.to_thread.run_sync(recent.file_key, path, data_dirs)  # file system calls: not in the loop
    report = recent.recall(key)
    if report is None:
        with _as_argument(template):
            report = (await run_analysis_async(_params(path), data_dirs)).report
        recent.keep(key, report)
    return _grounded(template, values, report)


def ground(template: Template, values: BaseModel, data_dirs: list[Path]) -> tuple[BaseModel, list[str]]:
    """Validated arguments with `dataset` replaced by the facts computed from it, and those facts ([] when not asked
    for). The facts are the server's own text, so the per-field size limit of user values does not apply to them.
    The analysis goes through the analytics service, as every other analysis does, within the limits; a file analysed
    recently and unchanged since is not analysed again (recent.py)."""
    path = _dataset(template, values)
    if path is None:
        return values, []
    from retention_mcp.analytics import recent
    from retention_mcp.analytics.limits import Limits
    from retention_mcp.analytics.service import run_analysis

    key = recent.file_key(path, data_dirs)
    report = recent.recall(key)
    if report is None:
        with _as_argument(template):
            report = run_analysis(_params(path), data_dirs, limits=Limits.from_env()).report
        recent.keep(key, report)
    return _grounded(template, values, report)


def _params(path: str) -> AnalyzeParams:
    return AnalyzeParams(path=path, charts=False)


@contextmanager
def _as_argument(template: Template) -> Iterator[None]:
    """A file the analysis cannot read is an invalid `dataset` argument of the template."""
    from retention_mcp.analytics.loading import DataError

    try:
        yield
    except DataError as exc:
        raise ArgumentError(
            f"Invalid arguments for '{template.name}' / 「{template.name}」的参数无效:\n- {DATASET_FIELD}: {exc}"
        ) from None


def _grounded(template: Template, values: BaseModel, report: ChurnReport) -> tuple[BaseModel, list[str]]:
    from retention_mcp.analytics.summary import facts

    others = {s.name: getattr(values, s.name) for s in template.inputs if s.name != DATASET_FIELD}
    language = template.resolve_language(str(getattr(values, LANGUAGE_FIELD, None) or "auto"), others)
    lines = facts(report, language)
    return values.model_copy(update={DATASET_FIELD: "\n".join(lines)}), lines
