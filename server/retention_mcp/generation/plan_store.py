"""What the plan service needs from a place that keeps plans: save, get and list. The SQLite file in store.py is
one implementation; another (e.g. a team's database) only has to offer these three calls."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from retention_mcp.generation.store import PlanSummary, StoredPlan
    from retention_mcp.models import ValidationReport


@runtime_checkable
class PlanStore(Protocol):
    """Keeps generated plans. `get` raises a UserError naming the id when there is no such plan."""

    def save(
        self,
        *,
        template: str,
        version: str,
        language: str,
        model: str,
        arguments: dict[str, Any],
        plan: dict[str, Any],
        validation: ValidationReport,
        markdown: str,
    ) -> StoredPlan: ...

    def get(self, plan_id: str) -> StoredPlan: ...

    def list(self, template: str | None = None, limit: int = 20, failed_only: bool = False) -> list[PlanSummary]: ...


def sqlite_store(path: Path) -> PlanStore:
    """The SQLite implementation, at `path` (created on the first save)."""
    from retention_mcp.generation.store import PlanStore as SQLitePlanStore

    return SQLitePlanStore(path)
