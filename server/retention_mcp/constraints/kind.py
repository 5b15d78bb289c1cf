"""What every constraint kind declares: one `Kind` per kind module (budget, cost_share, discount, horizon, team,
channels, goals, customer_cap, free_periods), which reads its kind from text, checks a plan against it, and says it
in the stated-constraints block and in the plan's Markdown. The list of kinds is in `kinds`.
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
    always: bool = True  # a row in the Markdown table even when not stated
    via: str | None = None  # no checks of its own: the checks of this other kind read it (the start date, day 0)


def mark(c: Constraints, field: str, text: str, zh: bool) -> str:
    """A block line's value, marked when a model read it from the brief (never shown as the user's words)."""
    if c.sources.get(field) == "model":
        return text + (
            "(由模型从资料中读出,非用户原话)" if zh else " (read by a model from the brief, not the user's words)"
        )
    return text
