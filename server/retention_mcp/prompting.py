"""A template rendered with its stated constraints: the goal input of each template, the effective constraints read
from validated arguments, and the prompt with its <stated_constraints> block. Used by the app for prompts and by
plan generation, so both render a call the same way."""

from __future__ import annotations

from pydantic import BaseModel

from retention_mcp.constraints.block import stated_block
from retention_mcp.constraints.effective import constraints_result, effective_constraints
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
