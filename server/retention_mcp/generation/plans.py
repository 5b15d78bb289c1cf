"""Typed plans, one model per template (template_plans.py; the parts they share in plan_parts.py), found here by
template name. Their JSON Schemas are exported to schemas/<template>.plan.json.

One structure per template: every section its prompt asks for has a typed place in its plan model, and the mapping is
data (SECTIONS in sections.py, keyed by template, with the headings as the prompt writes them). A test fails when a
prompt section has no place in the plan, or a plan field belongs to no section; the plan Markdown is laid out by the
same table.

Nothing the model writes is dropped: a key the schema does not know is kept. At the top level it goes under
`extras` (key -> what the model wrote); inside a part (a KPI, an offer...) it stays next to the typed fields.
`unknown_keys(plan)` lists both, so the repair round can name them and the Markdown prints them.

Days: `timeline.phases[]`, `stages[]` and KPI deadlines count from the plan's start (day 0). Contact steps before a
renewal count from the renewal date: T-30 is -30, the renewal day 0, a week after +7 (`sequence[].day`,
`cadence[].day`, touchpoints with relative_to = renewal). Win-back and dunning steps count from the churn or the
failed payment. A touchpoint tied to an event has `trigger` and `offset_days` (days after it) instead of a day. A KPI
target is a number, or the goal in words when the goal states no number.

Budget lines say where they are spent: `period` (1-based, in the budget's period: quarter 1, 2...) or `phase` (a
timeline phase, placed by its start_day), so spending can be checked per period. Channel fields hold a channel kind
(vocabulary.CHANNEL_KINDS; `product` for an in-product feature that sends no message), never a free name. Every part
that can hold an incentive has `discount_pct`, the percent off (7折 = 30).

Stable keys for integrations: budget.total, budget.currency, budget.lines[].item, budget.lines[].amount,
budget.lines[].period, budget.lines[].phase;
timeline.phases[].name, .start_day, .end_day; kpis[].metric, .baseline, .target, .deadline_day, .goal_id;
offers[].description, .discount_pct (percent off the list price: 7折 = 30); goals[].id.
"""

from __future__ import annotations

import functools
import json

from pydantic import BaseModel

from retention_mcp.generation.plan_parts import PlanBase
from retention_mcp.generation.template_plans import (
    ChurnAnalysisPlan,
    GenericPlan,
    LoyaltyProgramPlan,
    RenewalCampaignPlan,
    RetentionStrategyPlan,
    SubscriptionPlaybookPlan,
)
from retention_mcp.schema_forms import model_schema

__all__ = [
    "PLAN_MODELS",
    "ChurnAnalysisPlan",
    "GenericPlan",
    "LoyaltyProgramPlan",
    "RenewalCampaignPlan",
    "RetentionStrategyPlan",
    "SubscriptionPlaybookPlan",
    "plan_model_for",
    "plan_schema_text",
    "unknown_keys",
]

PLAN_MODELS: dict[str, type[PlanBase]] = {
    "retention_strategy": RetentionStrategyPlan,
    "loyalty_program": LoyaltyProgramPlan,
    "renewal_campaign": RenewalCampaignPlan,
    "churn_analysis": ChurnAnalysisPlan,
    "subscription_playbook": SubscriptionPlaybookPlan,
}


def plan_model_for(template_name: str) -> type[PlanBase]:
    return PLAN_MODELS.get(template_name, GenericPlan)


def unknown_keys(plan: BaseModel, path: str = "") -> list[str]:
    """Dotted paths of every key the model wrote that the schema does not know (kept, not dropped)."""
    found: list[str] = []
    if isinstance(plan, PlanBase):
        found += [f"{k}" for k in plan.extras]
    found += [f"{path}{k}" for k in (plan.__pydantic_extra__ or {})]
    for name in type(plan).model_fields:
        value = getattr(plan, name)
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, BaseModel):
                where = f"{path}{name}.{index}." if isinstance(value, list) else f"{path}{name}."
                found += unknown_keys(item, where)
    return found


@functools.cache
def plan_schema_text(model: type[PlanBase]) -> str:
    return json.dumps(model_schema(model), ensure_ascii=False, separators=(",", ":"))
