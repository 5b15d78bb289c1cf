"""The constraint kinds, in the order the block lists them: the block, the checks and the plan's Markdown walk this
list instead of naming fields (each kind declares itself with a `kind.Kind` in its own module)."""

from __future__ import annotations

from retention_mcp.constraints import (
    budget,
    channels,
    cost_share,
    customer_cap,
    discount,
    free_periods,
    goals,
    horizon,
    team,
)
from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.kind import Kind, Subject
from retention_mcp.constraints.record import Constraints

KINDS: tuple[Kind, ...] = (
    budget.KIND,
    cost_share.KIND,
    discount.KIND,
    horizon.KIND,
    team.KIND,
    customer_cap.KIND,
    free_periods.KIND,
    horizon.START_DATE,
    channels.ALLOWED,
    channels.EXCLUDED,
    goals.KIND,
)


# The fields of the kinds a span of unread words could stand for, by the span's kind, in the order a fill hint names
# them: once they are all known, the span is accounted for; a kind with no value whose spans are unread is said to be
# stated in them (the block).
UNREAD_FIELDS: dict[str, tuple[str, ...]] = {
    "amount": ("budget",),
    "percent": ("discount_cap_pct", "cost_cap_pct_of_revenue"),
    "duration": ("horizon_days",),
    "headcount": ("team_size",),
    "goal": ("goals",),  # goals past the most a call numbers (20): give the goals typed
    "channels": ("channels_allowed", "channels_excluded"),
    "deadline": ("start_date", "horizon_days"),
    "per_customer": ("per_customer_cap",),
    "free_periods": ("free_periods_cap",),
}


def kinds() -> tuple[Kind, ...]:
    return KINDS


def unread_spans_of(field: str) -> frozenset[str]:
    """The kinds of unread span that could stand for a kind's field."""
    return frozenset(span for span, fields in UNREAD_FIELDS.items() if field in fields)


def kind(field: str) -> Kind | None:
    return next((k for k in kinds() if k.field == field), None)


def checked_by() -> dict[str, frozenset[str]]:
    """Field -> the checks that read it (for a kind read through another, that kind's)."""
    own = {k.field: k.checks for k in kinds() if k.checks}
    return own | {k.field: own[k.via] for k in kinds() if k.via and k.via in own}


def checked(field: str) -> frozenset[str]:
    """The checks that read one field (none for a field no kind declares)."""
    found = kind(field)
    return found.checks if found else frozenset()


def stated_checks() -> frozenset[str]:
    """Every check that compares a plan with what the user stated."""
    return frozenset(name for k in kinds() for name in k.checks)


def run_checks(subject: Subject, c: Constraints, checks: CheckList) -> None:
    for k in kinds():
        if k.check is not None:
            k.check(subject, c, checks)


def field_list() -> str:
    """The typed fields, for a line that asks the user to fill them in."""
    return ", ".join(k.field for k in kinds() if k.field not in ("goals", "start_date"))
