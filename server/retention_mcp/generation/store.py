"""Every generated plan, kept in SQLite: template, version, arguments, language, model, plan, validation, time.

One file, WAL mode, so several server processes (HTTP replicas on one host) and the CLI can share it.
The API key is never part of a record: only the model's name is kept.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from retention_mcp.errors import UserError
from retention_mcp.models import ValidationReport

SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    template TEXT NOT NULL,
    version TEXT NOT NULL,
    language TEXT NOT NULL,
    model TEXT NOT NULL,
    passed INTEGER NOT NULL,
    title TEXT NOT NULL,
    arguments TEXT NOT NULL,
    plan TEXT NOT NULL,
    validation TEXT NOT NULL,
    markdown TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS plans_created ON plans (created_at DESC);
CREATE INDEX IF NOT EXISTS plans_template ON plans (template, created_at DESC);
"""


class PlanSummary(BaseModel):
    id: str
    uri: str = Field(description="plan://ID")
    created_at: str = Field(description="UTC time, ISO 8601")
    template: str
    version: str
    language: str
    model: str
    passed: bool = Field(description="Whether every constraint check passed")
    title: str


class StoredPlan(PlanSummary):
    arguments: dict[str, Any]
    plan: dict[str, Any]
    validation: ValidationReport
    markdown: str


class PlanList(BaseModel):
    plans: list[PlanSummary]


class PlanNotFoundError(UserError):
    def __init__(self, plan_id: str):
        super().__init__(f"No plan with id '{plan_id}' / 没有编号为「{plan_id}」的方案")


class PlanStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe against crashes in WAL
                conn.executescript(SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise UserError(
                    f"Cannot open the plan store {self.path}: {exc}. Set RETENTION_MCP_PLAN_STORE to a writable file, "
                    f"or 'off'. / 无法打开方案库 {self.path}:{exc}"
                ) from None
            conn.row_factory = sqlite3.Row
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

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
    ) -> StoredPlan:
        record = StoredPlan(
            id=secrets.token_hex(6),
            uri="",
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            template=template,
            version=version,
            language=language,
            model=model,
            passed=validation.passed,
            title=str(plan.get("title", "")),
            arguments=arguments,
            plan=plan,
            validation=validation,
            markdown=markdown,
        )
        record.uri = f"plan://{record.id}"
        row = (
            record.id,
            record.created_at,
            template,
            version,
            language,
            model,
            int(record.passed),
            record.title,
            json.dumps(arguments, ensure_ascii=False),
            json.dumps(plan, ensure_ascii=False),
            validation.model_dump_json(),
            markdown,
        )
        with self._lock:
            conn = self._connection()
            with conn:
                conn.execute("INSERT INTO plans VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
        return record

    def get(self, plan_id: str) -> StoredPlan:
        with self._lock:
            row = self._connection().execute("SELECT * FROM plans WHERE id = ?", (plan_id.strip(),)).fetchone()
        if row is None:
            raise PlanNotFoundError(plan_id)
        return StoredPlan(
            **_summary_fields(row),
            arguments=json.loads(row["arguments"]),
            plan=json.loads(row["plan"]),
            validation=ValidationReport.model_validate_json(row["validation"]),
            markdown=row["markdown"],
        )

    def list(self, template: str | None = None, limit: int = 20, failed_only: bool = False) -> list[PlanSummary]:
        query = "SELECT id, created_at, template, version, language, model, passed, title FROM plans"
        clauses, params = [], []
        if template:
            clauses.append("template = ?")
            params.append(template)
        if failed_only:
            clauses.append("passed = 0")
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        params.append(max(1, limit))
        with self._lock:
            rows = self._connection().execute(query, params).fetchall()
        return [PlanSummary(**_summary_fields(r)) for r in rows]


def _summary_fields(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "uri": f"plan://{row['id']}",
        "created_at": row["created_at"],
        "template": row["template"],
        "version": row["version"],
        "language": row["language"],
        "model": row["model"],
        "passed": bool(row["passed"]),
        "title": row["title"],
    }
