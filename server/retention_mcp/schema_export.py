"""JSON Schemas generated from the pydantic models, as shipped in schemas/ (kept in sync by a test)."""

from __future__ import annotations

import json
from pathlib import Path

from retention_mcp.constraints.typed import SHIPPED_SCHEMAS, build_typed_json_schemas
from retention_mcp.generation.plans import plan_model_for
from retention_mcp.models import PlanListResult, PlanResult, RenderResult, TemplateList
from retention_mcp.registry import Registry
from retention_mcp.schema_forms import checkable
from retention_mcp.settings import Limits


def generate() -> dict[str, str]:
    """File name -> JSON text, for the shipped templates with the default limits (never the environment's)."""
    registry = Registry.load(limits=Limits())
    files: dict[str, dict] = {
        # what the tools return: in the form their clients check quickly (see schema_forms)
        "render_result.json": checkable(RenderResult.model_json_schema()),
        "template_list.json": checkable(TemplateList.model_json_schema()),
        "plan_result.json": checkable(PlanResult.model_json_schema()),
        "plan_list.json": checkable(PlanListResult.model_json_schema()),
        "churn_report.json": _churn_report_schema(),
        SHIPPED_SCHEMAS: build_typed_json_schemas(),  # read at start-up instead of built (see constraints.typed)
    }
    for template in registry:
        files[f"{template.name}.input.json"] = template.parameters.model_json_schema()
        files[f"{template.name}.plan.json"] = plan_model_for(template.name).model_json_schema()
    return {name: json.dumps(schema, ensure_ascii=False, indent=2) + "\n" for name, schema in sorted(files.items())}


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def drift(directory: Path) -> list[str]:
    """Names of schema files that are missing, stale or unexpected in `directory`."""
    expected = generate()
    problems = [name for name, text in expected.items() if _read(directory / name) != text]
    problems += sorted(p.name for p in directory.glob("*.json") if p.name not in expected)
    return problems


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _churn_report_schema() -> dict:
    """As the SDK publishes an output schema (strict generator, no root $ref), so the tool can ship this file."""
    from mcp.server.mcpserver.utilities.func_metadata import StrictJsonSchema
    from pydantic import TypeAdapter

    from retention_mcp.analytics.report import ChurnReport

    return TypeAdapter(ChurnReport).json_schema(schema_generator=StrictJsonSchema)
