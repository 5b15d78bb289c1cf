"""A plan written elsewhere (the client's model in the chat, a person, another tool), checked exactly as plan mode
checks its own: the same plan model, the same constraint checks against the same brief, the same Markdown, kept in the
same store. A plan submitted again with the id of an earlier one is a revision: it joins that plan's lineage.

Nothing is repaired here: the result names every check that failed, and the writer fixes the plan and submits it
again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from retention_mcp.errors import UserError, field_rule
from retention_mcp.generation.markdown import plan_markdown
from retention_mcp.generation.plan_parts import PlanBase
from retention_mcp.generation.plans import plan_model_for, unknown_keys
from retention_mcp.generation.store import NewPlan
from retention_mcp.generation.validation import validate_plan
from retention_mcp.json_body import read_object
from retention_mcp.models import PlanResult
from retention_mcp.prompting import prepare
from retention_mcp.redaction import scrub
from retention_mcp.registry import Template

SUBMITTED = "submitted"  # the `model` of a plan written outside this server
MAX_PLAN_CHARS = 200_000  # a plan as JSON text; the largest bundled example is under 10,000
MAX_PROBLEMS = 30
MAX_DEPTH = 32  # a plan nests five or six levels; its free keys a few more


class PlanFormatError(UserError):
    """A submitted plan that is not JSON, or not a plan of its template: every problem with its JSON path."""


def read_plan_json(text: str | Mapping[str, Any], field: str = "plan") -> dict[str, Any]:
    """The plan as an object, from JSON text (or an object already); see `json_body.read_object`."""
    return read_object(text, field, MAX_PLAN_CHARS, MAX_DEPTH)


def json_path(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a JSON path: ('budget', 'items', 0, 'amount') -> $.budget.items[0].amount."""
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def typed_plan(template: Template, data: dict[str, Any]) -> PlanBase:
    """The plan as its template's plan model, or PlanFormatError listing each problem by JSON path and rule."""
    model_cls = plan_model_for(template.name)
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False)[:MAX_PROBLEMS]:
            en, zh = field_rule(err, [])
            if err["type"] == "missing":
                en, zh = "is required by the plan format but missing", "是方案格式的必填项,但缺失"
            problems.append(f"- {json_path(tuple(err['loc']))}: {en}" + (f" / {zh}" if zh else ""))
        more = exc.error_count() - len(problems)
        if more > 0:
            problems.append(f"- … {more} more / 另有 {more} 处")
        raise PlanFormatError(
            f"plan: does not match the {template.name} plan format (schema://{template.name}/plan) / "
            f"plan:不符合 {template.name} 的方案格式(schema://{template.name}/plan):\n" + "\n".join(problems)
        ) from None


def unknown_keys_text(plan: PlanBase, zh: bool) -> str:
    """A line naming the keys the plan format does not know (they are kept as written, and not checked)."""
    keys = unknown_keys(plan)
    if not keys:
        return ""
    shown = ", ".join(keys[:20]) + (" …" if len(keys) > 20 else "")
    if zh:
        return f"以下字段不在方案格式中,已原样保留但未检查:{shown}"
    return f"These keys are not in the plan format; they are kept as written but not checked: {shown}"


def brief_text(template: Template, values: BaseModel) -> str:
    """The user's own text, where the brief's prices are stated."""
    return "\n".join(v for k, v in template.text_values(values).items() if isinstance(v, str) and k != "dataset")


Keep = Callable[[PlanResult, NewPlan, bool], Awaitable[None]]


async def check_submitted(
    keep: Keep,
    template: Template,
    arguments: Mapping[str, Any] | BaseModel,
    plan: str | Mapping[str, Any],
    data_dirs: list[Path],
    *,
    revises: str | None = None,
    author: str | None = None,
) -> PlanResult:
    """Check a plan against the brief it answers (`arguments`, the template tool's own) and `keep` it (the plan
    service's store, with its revisions); `revises` is the id of an earlier revision."""
    call = await prepare(template, arguments, data_dirs)
    rendered = call.rendered
    typed = typed_plan(template, read_plan_json(plan))
    report = validate_plan(
        typed,
        constraints=call.constraints,
        language=rendered.language,
        data_facts=call.data_facts,
        brief=brief_text(template, call.values),
    )
    markdown = scrub(plan_markdown(typed, rendered.language, report, rendered.constraints, None))
    unknown = unknown_keys_text(typed, rendered.language == "zh")
    if unknown:
        markdown = f"> {unknown}\n\n{markdown}"
    plan_data = typed.model_dump(mode="json")
    result = PlanResult(
        **rendered.model_dump(),
        mode="plan",
        model=SUBMITTED,
        plan=plan_data,
        validation=report,
        markdown=markdown,
        repaired=False,
    )
    await keep(
        result,
        NewPlan(
            template=template.name,
            version=template.version,
            template_revision=template.revision,
            template_hash=template.content_hash,
            language=rendered.language,
            model=SUBMITTED,
            arguments=call.values.model_dump(mode="json", exclude_none=True),
            plan=plan_data,
            validation=report,
            markdown=markdown,
            author=author,
            constraints=rendered.constraints,
            repaired=False,
            revises=revises,
        ),
        True,
    )
    return result
