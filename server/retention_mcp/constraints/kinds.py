"""What every constraint kind declares, and the list of kinds.

Each kind module (budget, cost_share, discount, horizon, team, channels, goals, customer_cap, free_periods) reads its
kind from text, checks a plan against it, and says it in the stated-constraints block and in the plan's Markdown. It
declares that here with one `Kind`; the block, the checks and the Markdown walk `KINDS` instead of naming fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.record import Constraints


@dataclass(frozen=True)
class Subject:
    """The plan a check reads: the typed object, its dumped form, the user's text (its own prices are list prices,
    not the plan's discounts)."""

    plan: Any
    dumped: dict[str, Any]
    brief: str = ""


Check = Callable[[Subject, Constraints, CheckList], None]
Line = Callable[[Constraints, bool], "str | None"]
Row = Callable[[Any, bool], "str | None"]


@dataclass(frozen=True)
class Kind:
    field: str  # the field of Constraints, of the effective result and of the typed `constraints` parameter
    name: tuple[str, str]  # how a line about a typed value names it (en, zh)
    checks: frozenset[str] = frozenset()  # the checks that read it: a stated kind none of them read is unverified
    check: Check | None = None
    line: Line | None = None  # its line in the stated block (a whole line, "- Label: …"), None when not stated
    label: tuple[str, str] | None = None  # its row label in the Markdown table of stated constraints
    row: Row | None = None  # its value in that table, from the effective result; None when not stated
    ask: str | None = None  # the block line a missing value gets ("none stated: propose one"), by this label
    unread: tuple[str, ...] = ()  # unread-span kinds whose words this kind's line stands for
    always: bool = True  # a row in the Markdown table even when not stated


def mark(c: Constraints, field: str, text: str, zh: bool) -> str:
    """A block line's value, marked when a model read it from the brief (never shown as the user's words)."""
    if c.sources.get(field) == "model":
        return text + (
            "(由模型从资料中读出,非用户原话)" if zh else " (read by a model from the brief, not the user's words)"
        )
    return text


def _kinds() -> tuple[Kind, ...]:
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

    return (
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


class _Registry:
    """The kinds, built on first use: the kind modules import this one for `Kind`."""

    _all: tuple[Kind, ...] | None = None

    def __call__(self) -> tuple[Kind, ...]:
        if self._all is None:
            type(self)._all = _kinds()
        assert self._all is not None
        return self._all


kinds = _Registry()


def kind(field: str) -> Kind | None:
    return next((k for k in kinds() if k.field == field), None)


def checked_by() -> dict[str, frozenset[str]]:
    """Field -> the checks that read it."""
    return {k.field: k.checks for k in kinds() if k.checks}


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
