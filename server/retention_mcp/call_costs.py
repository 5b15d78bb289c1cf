"""What one JSON-RPC request costs a team server, read from its envelope before the MCP app sees it.

Three costs are limited per token (team.py): a plan (the configured model writes one), an analysis (a customer file
is read and modelled) and a render (a template is filled; a long brief makes this CPU work). Every route that can run
one is counted here, in one place:

- tools/call of a template tool: a render, or a plan with `mode: plan`; an analysis too when `dataset` is given;
- tools/call of render_template and generate_plan (the compact tools): the same, with the template's arguments nested
  under `arguments`;
- tools/call of analyze_churn: an analysis;
- prompts/get: a render, and an analysis when the prompt's `dataset` argument is given;
- resources/read runs none (template sources, schemas, the index and saved plans are read as they are);
- a batch (a JSON array) costs what its requests cost together, though the transport refuses batches today.

Only the method, the tool name, `mode` and whether a `dataset` is given are looked at, never other values. The
reading is deliberately generous: a tool name the guard does not know counts as a render (template tools are named
after templates, which can be reloaded), and any `dataset` that is not empty counts as an analysis, so a call the app
would refuse later may still use some of its caller's budget, but no call that does the work goes uncounted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

PLAN = "plan"
ANALYSIS = "analysis"
RENDER = "render"
KINDS = (PLAN, ANALYSIS, RENDER)

DATASET_FIELD = "dataset"
FREE_TOOLS = frozenset({"list_templates", "list_plans"})
BY_NAME_TOOLS = frozenset({"render_template", "generate_plan"})


def request_costs(message: Any) -> Counter[str]:
    """How many plans, analyses and renders `message` (a parsed request, or a batch of them) may run."""
    costs: Counter[str] = Counter()
    for request in message if isinstance(message, list) else [message]:
        costs.update(_one(request))
    return costs


def _one(request: Any) -> set[str]:
    if not isinstance(request, dict):
        return set()
    method = request.get("method")
    params = _mapping(request.get("params"))
    if method == "prompts/get":
        return {RENDER} | ({ANALYSIS} if _has_dataset(params.get("arguments")) else set())
    if method != "tools/call":
        return set()
    name = params.get("name")
    arguments = _mapping(params.get("arguments"))
    if not isinstance(name, str) or name in FREE_TOOLS:
        return set()
    if name == "analyze_churn":
        return {ANALYSIS}
    plan = name == "generate_plan" or _is_plan(arguments.get("mode"))
    kinds = {PLAN if plan else RENDER}
    nested = arguments.get("arguments") if name in BY_NAME_TOOLS else None
    if _has_dataset(arguments) or _has_dataset(nested):
        kinds.add(ANALYSIS)
    return kinds


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_plan(mode: Any) -> bool:
    return isinstance(mode, str) and mode.strip().lower() == PLAN


def _has_dataset(arguments: Any) -> bool:
    if not isinstance(arguments, dict) or arguments.get(DATASET_FIELD) is None:
        return False
    value = arguments[DATASET_FIELD]
    return not (isinstance(value, str) and not value.strip())


def primary_kind(costs: Counter[str]) -> str | None:
    """The dearest kind in `costs` (plan, then analysis, then render), or None for a free call."""
    return next((kind for kind in KINDS if costs[kind]), None)
