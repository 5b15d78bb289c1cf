"""Opening the plan store a setting names: a postgresql:// URL (PostgreSQL) or a file path (SQLite). Kept apart from
`store` (the protocol and the records), which both implementations import."""

from __future__ import annotations

from pathlib import Path

from retention_mcp.generation.store import DEFAULT_WRITE_TIMEOUT, PlanStore, is_postgres


def open_store(spec: str | Path, timeout: float = DEFAULT_WRITE_TIMEOUT) -> PlanStore:
    """The store a RETENTION_MCP_PLAN_STORE value names: a postgresql:// URL, or a SQLite file path."""
    if is_postgres(spec):
        from retention_mcp.generation.pg_store import PostgresPlanStore

        return PostgresPlanStore(str(spec), write_timeout=timeout)
    from retention_mcp.generation.sqlite_store import SQLitePlanStore

    return SQLitePlanStore(Path(spec), write_timeout=timeout)
