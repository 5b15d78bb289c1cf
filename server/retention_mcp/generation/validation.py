"""Check a typed plan against the constraints the user stated and against its own arithmetic.

Each check has a stable name, a status (passed, failed, or unverified when it could not be carried out) and a detail
in the plan's language that says what was compared. Checks that do not apply (no budget stated, no offers) are left
out rather than reported as passed. The report is:
- failed when any check failed;
- unverified when nothing failed but something could not be checked: a check that could not be carried out, a span
  of the user's constraint text the server could not read, a constraint the user was asked for and did not give, a
  stated constraint no check read (each one says what to fill in), or no constraint at all;
- passed otherwise. A check that ran on nothing, or only on the plan's own arithmetic, never makes a plan "passed".

The checks of each constraint kind live with the kind (`retention_mcp.constraints`, one module per kind, listed in
`constraints.kinds`); the checks on the plan's substance are in `substance_checks`, and the lines that tell a model what
these checks hold it to in `constraints.rules`.
"""

from __future__ import annotations

from collections.abc import Sequence

from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.discount import text_discounts as text_discounts
from retention_mcp.constraints.kinds import UNREAD_FIELDS, Subject, checked_by, field_list, run_checks, stated_checks
from retention_mcp.constraints.record import Constraints, parameter_of
from retention_mcp.constraints.rules import constraint_rules as constraint_rules
from retention_mcp.generation.plan_parts import PlanBase
from retention_mcp.generation.substance_checks import check_data_figures, check_substance, compared_checks
from retention_mcp.models import CheckStatus, ValidationReport


def _unchecked(c: Constraints, checks: CheckList) -> None:
    """Every stated constraint is checked, or the plan says it was not: never a silent pass."""
    names = {x.name for x in checks.items}
    for kind in c.sources:
        if getattr(c, kind, None) in (None, [], {}):
            continue
        if names & checked_by().get(kind, frozenset()) or any(n.startswith(kind) for n in names):
            continue
        checks.record(
            "stated_not_checked",
            "unverified",
            f"{parameter_of(kind)} was stated, but no check of this plan reads it: the plan is not verified against it.",
            f"{parameter_of(kind)} 已声明,但没有检查项核对它:方案未就此核验。",
        )


def validate_plan(
    plan: PlanBase,
    constraints: Constraints,
    language: str,
    data_facts: list[str] | None = None,
    *,
    brief: str = "",
    not_given: Sequence[str] = (),
) -> ValidationReport:
    """`brief` is the user's text (its own prices are list prices, not discounts of the plan); `not_given` names the
    constraints the user was asked for and did not give (a declined, cancelled or failed form): the plan cannot be
    checked against them, so it is at best unverified."""
    checks = CheckList(language)
    dumped = plan.model_dump()
    run_checks(Subject(plan, dumped, brief), constraints, checks)
    check_data_figures(plan, data_facts or [], checks, brief)
    check_substance(plan, dumped, checks)
    _unchecked(constraints, checks)  # after every check: a stated kind none of them read
    for name in not_given:
        checks.fill(
            f"{parameter_of(name)}: asked for and not given, so the plan could not be checked against it",
            f"{parameter_of(name)}:已询问但未填写,方案无法就此核对",
        )
    for span in constraints.unread:
        fields = UNREAD_FIELDS.get(span.kind, ())
        en_fields = " or ".join(parameter_of(f) for f in fields) or "constraints"
        zh_fields = " 或 ".join(parameter_of(f) for f in fields) or "constraints"
        checks.fill(
            f"{span.input}: '{span.text}' → fill {en_fields}", f"{span.input}:「{span.text}」→ 请填写 {zh_fields}"
        )
    against = compared_checks() if data_facts else stated_checks()  # the brief's own figures are no constraint
    compared = any(c.name in against for c in checks.items)
    if not compared:
        checks.fill(
            "No constraint was stated or read, so the plan was checked only against its own arithmetic: fill "
            f"constraints ({field_list()}) and goals",
            "资料中没有读到任何约束,只核对了方案自身的算术:请填写 constraints("
            + field_list().replace(", ", "、")
            + ")与 goals",
        )
    if any(c.status == "failed" for c in checks.items):
        status: CheckStatus = "failed"
    elif any(c.status == "unverified" for c in checks.items) or constraints.unread or not compared or not_given:
        status = "unverified"
    else:
        status = "passed"
    return ValidationReport(status=status, passed=status == "passed", checks=checks.items, to_fill=checks.to_fill)
