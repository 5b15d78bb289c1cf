"""Every generated plan, kept in SQLite: template, version, arguments, language, model, plan, validation, time.

One file, WAL mode, so several server processes (HTTP replicas on one host) and the CLI can share it.
The API key is never part of a record: only the model's name is kept.

Another process may hold the file locked for a while (a backup, a long write, a stuck client). Every operation then
retries with backoff inside a bounded time (`write_timeout`, RETENTION_MCP_STORE_TIMEOUT) and, past it, raises
StoreBusyError: the caller decides what to do with a plan that could not be saved; it is never dropped here. Reading
an existing store takes no write lock, so listing plans works while a writer holds the file.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from retention_mcp.errors import UserError
from retention_mcp.models import ValidationReport

log = logging.getLogger("retention_mcp.store")
T = TypeVar("T")

DEFAULT_WRITE_TIMEOUT = 30.0  # seconds an operation may wait for a lock held by someone else, retries included
BUSY_TIMEOUT = 0.25  # seconds SQLite itself waits on one attempt before we back off and try again
BACKOFF_BASE = 0.05
BACKOFF_CAP = 2.0

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


class StoreBusyError(UserError):
    """The store stayed locked by someone else for longer than the time allowed."""

    def __init__(self, path: Path, seconds: float):
        super().__init__(
            f"The plan store {path} stayed locked by another process for {seconds:g} s; nothing was written. "
            f"Try again, or raise RETENTION_MCP_STORE_TIMEOUT. / 方案库 {path} 被其他进程锁定超过 {seconds:g} 秒,"
            f"未能写入。请稍后重试,或调大 RETENTION_MCP_STORE_TIMEOUT。"
        )


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class PlanStore:
    def __init__(
        self,
        path: Path,
        write_timeout: float = DEFAULT_WRITE_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.path = Path(path)
        self.write_timeout = write_timeout
        self._sleep, self._clock = sleep, clock  # injectable, so tests need not wait for real backoff
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        """The open connection; the schema is created only when missing, so opening an existing store needs no
        write lock."""
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_TIMEOUT)
            except (OSError, sqlite3.Error) as exc:
                raise self._cannot_open(exc) from None
            try:
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe against crashes in WAL
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='plans'").fetchone() is None:
                    conn.executescript(SCHEMA)
            except sqlite3.Error as exc:
                conn.close()
                if _is_busy(exc):
                    raise
                raise self._cannot_open(exc) from None
            self._conn = conn
        return self._conn

    def _cannot_open(self, exc: Exception) -> UserError:
        return UserError(
            f"Cannot open the plan store {self.path}: {exc}. Set RETENTION_MCP_PLAN_STORE to a writable file, "
            f"or 'off'. / 无法打开方案库 {self.path}:{exc}"
        )

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run `operation`, retrying with backoff while another process holds the lock, within `write_timeout`."""
        deadline = self._clock() + self.write_timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._lock:  # released between attempts, so other threads are not held up by our waiting
                    return operation(self._connection())
            except sqlite3.Error as exc:
                if not _is_busy(exc):
                    raise UserError(f"The plan store {self.path} failed: {exc} / 方案库出错:{exc}") from None
                left = deadline - self._clock()
                if left <= 0:
                    raise StoreBusyError(self.path, self.write_timeout) from None
                ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
                delay = min(left, ceiling / 2 + random.uniform(0, ceiling / 2))
                log.warning("plan store %s is locked; retry %d in %.2f s", self.path, attempt, delay)
                self._sleep(delay)

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

        def insert(conn: sqlite3.Connection) -> None:
            with conn:  # one transaction: committed, or rolled back and retried
                conn.execute("INSERT INTO plans VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)

        self._run(insert)
        return record

    def get(self, plan_id: str) -> StoredPlan:
        row = self._run(lambda c: c.execute("SELECT * FROM plans WHERE id = ?", (plan_id.strip(),)).fetchone())
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
        rows = self._run(lambda c: c.execute(query, params).fetchall())
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
