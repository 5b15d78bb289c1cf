"""A template call prepared once: arguments validated, grounded in the customer's data when a dataset is given, the
effective constraints read, and the prompt rendered with its <stated_constraints> block. Rendering returns the
prompt; plan generation starts from the whole record, so both prepare a call the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from retention_mcp.analytics.grounding import ground, ground_async
from retention_mcp.constraints.block import stated_block
from retention_mcp.constraints.effective import constraints_result, effective_constraints, effective_constraints_async
from retention_mcp.constraints.record import Constraints
from retention_mcp.models import RenderResult
from retention_mcp.registry import Template

# The argument that holds the goals each KPI must trace to, per template (others: the first input ending in "goals").
GOAL_FIELDS = {
    "retention_strategy": "retention_goals",
    "loyalty_program": "business_goals",
    "renewal_campaign": "campaign_goals",
    "churn_analysis": None,
    "subscription_playbook": None,
}


def goal_field(template: Template) -> str | None:
    if template.name in GOAL_FIELDS:
        return GOAL_FIELDS[template.name]
    return next((s.name for s in template.inputs if s.name.endswith("goals")), None)


def render_stated(template: Template, values: BaseModel, constraints: Constraints | None = None) -> RenderResult:
    """The prompt with its stated-constraints block, and the effective constraints in the result. `values` are
    validated (and, with a dataset, grounded) arguments; `constraints` are computed from them when not given."""
    if constraints is None:
        constraints = effective_constraints(values, goal_field(template))
    language = template.resolve_language(getattr(values, "language", "auto"), template.text_values(values))
    analysis = template.name == "churn_analysis"
    rendered = template.render_validated(values, stated_block(constraints, language, analysis), language)
    rendered.constraints = constraints_result(constraints)
    return rendered


@dataclass
class PreparedCall:
    """One template call, prepared once: validated arguments, the same with `dataset` replaced by the facts computed
    from it, those facts, the effective constraints, and the rendered prompt."""

    template: Template
    values: BaseModel
    grounded: BaseModel
    data_facts: list[str]
    constraints: Constraints
    rendered: RenderResult

    def render_again(self) -> RenderResult:
        """The prompt once more, after constraints were filled in (a form, or the model's reading of the brief)."""
        self.rendered = render_stated(self.template, self.grounded, self.constraints)
        return self.rendered


def _validated(template: Template, arguments: Mapping[str, Any] | BaseModel) -> BaseModel:
    return arguments if isinstance(arguments, BaseModel) else template.validate(arguments)


async def prepare(template: Template, arguments: Mapping[str, Any] | BaseModel, data_dirs: list[Path]) -> PreparedCall:
    """Validate (unless already validated), ground and read in worker threads, render: the event loop keeps serving."""
    values = _validated(template, arguments)
    grounded, facts = await ground_async(template, values, data_dirs)
    constraints = await effective_constraints_async(values, goal_field(template))
    return PreparedCall(template, values, grounded, facts, constraints, render_stated(template, grounded, constraints))


def prepare_blocking(
    template: Template, arguments: Mapping[str, Any] | BaseModel, data_dirs: list[Path]
) -> PreparedCall:
    """`prepare` without an event loop (the command line)."""
    values = _validated(template, arguments)
    grounded, facts = ground(template, values, data_dirs)
    constraints = effective_constraints(values, goal_field(template))
    return PreparedCall(template, values, grounded, facts, constraints, render_stated(template, grounded, constraints))
