"""The PostgreSQL plan store, for a team: replicas of the server behind a load balancer share one history of plans
and one audit log.

psycopg 3 with a connection pool (the `postgres` extra: `pip install 'retention-mcp[postgres]'`), imported only
when a postgresql:// store is configured. Migrations are numbered, recorded in `retention_mcp_migrations`, applied
at start-up (and by `retention-mcp store migrate`) under an advisory lock, so replicas starting together apply each
once. Records are kept as the SQLite store keeps them (times as ISO text, JSON as written), so both backends return
the same bytes. A database that is restarting or unreachable is retried within the store's bounded time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from retention_mcp.errors import UserError
from retention_mcp.generation.storable import storable
from retention_mcp.generation.store import (
    AUDIT_COLUMNS,
    DEFAULT_WRITE_TIMEOUT,
    PLAN_COLUMNS,
    SUMMARY_COLUMNS,
    AuditEntries,
    AuditEntry,
    NewPlan,
    PlanNotFoundError,
    PlanSummary,
    StoredPlan,
    Summaries,
    Versions,
    audit_from_row,
    audit_row,
    history_query,
    new_record,
    next_revision,
    plan_filter,
    plan_row,
    retrying,
    stored_from_row,
    summary_from_row,
    with_history,
)
from retention_mcp.generation.template_store import MIGRATION_POSTGRES

T = TypeVar("T")
MIGRATION_LOCK = 0x72657465  # pg_advisory_xact_lock key: "rete"

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE IF NOT EXISTS plans (
            seq BIGSERIAL UNIQUE,
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            template TEXT NOT NULL,
            version TEXT NOT NULL,
            language TEXT NOT NULL,
            model TEXT NOT NULL,
            passed BOOLEAN NOT NULL,
            title TEXT NOT NULL,
            arguments JSON NOT NULL,
            plan JSON NOT NULL,
            validation JSON NOT NULL,
            markdown TEXT NOT NULL,
            author TEXT
        );
        CREATE INDEX IF NOT EXISTS plans_created ON plans (created_at DESC, seq DESC);
        CREATE INDEX IF NOT EXISTS plans_template ON plans (template, created_at DESC);
        CREATE TABLE IF NOT EXISTS audit (
            seq BIGSERIAL PRIMARY KEY,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            tool TEXT NOT NULL,
            template TEXT,
            plan_id TEXT,
            outcome TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS audit_at ON audit (at DESC, seq DESC);
        """,
    ),
    (
        2,
        """
        ALTER TABLE plans ADD COLUMN IF NOT EXISTS status TEXT;
        ALTER TABLE plans ADD COLUMN IF NOT EXISTS repaired BOOLEAN;
        ALTER TABLE plans ADD COLUMN IF NOT EXISTS constraints JSON;
        ALTER TABLE plans ADD COLUMN IF NOT EXISTS constraint_fill JSON;
        """,
    ),
    (
        3,
        """
        ALTER TABLE plans ADD COLUMN IF NOT EXISTS lineage TEXT;
        ALTER TABLE plans ADD COLUMN IF NOT EXISTS revision INTEGER;
        UPDATE plans SET lineage = id, revision = 1 WHERE lineage IS NULL;
        CREATE UNIQUE INDEX IF NOT EXISTS plans_lineage ON plans (lineage, revision);
        """,
    ),
    (4, MIGRATION_POSTGRES),  # template versions, labels and label moves; plans name the version they were made from
]
SUMMARY = ", ".join(SUMMARY_COLUMNS)


def safe_dsn(dsn: str) -> str:
    """The connection string without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", re.sub(r"(?i)(password=)\S+", r"\1***", dsn))


class PostgresPlanStore:
    def __init__(
        self,
        dsn: str,
        write_timeout: float = DEFAULT_WRITE_TIMEOUT,
        min_size: int = 1,
        max_size: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.dsn = dsn
        self.description = safe_dsn(dsn)
        self.write_timeout = write_timeout
        self.min_size, self.max_size = min_size, max_size
        self._sleep, self._clock = sleep, clock
        self._pool: Any = None
        self._lock = threading.Lock()
        self._applied: list[int] | None = None

    # -- connection and schema --------------------------------------------------------------------------------------
    def _get_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                try:
                    from psycopg_pool import ConnectionPool
                except ImportError:
                    raise UserError(
                        "A postgresql:// plan store needs psycopg: pip install 'retention-mcp[postgres]' / "
                        "使用 PostgreSQL 方案库需要安装 psycopg:pip install 'retention-mcp[postgres]'"
                    ) from None
                self._pool = ConnectionPool(
                    self.dsn,
                    min_size=self.min_size,
                    max_size=self.max_size,
                    open=True,  # connections are made in the background; the first call waits up to `timeout`
                    timeout=self.write_timeout,
                    kwargs={"connect_timeout": max(1, int(min(self.write_timeout, 10)))},
                    check=ConnectionPool.check_connection,
                    name="retention-mcp",
                )
            return self._pool

    def _transient(self, exc: Exception) -> bool:
        import psycopg
        from psycopg_pool import PoolTimeout

        transient = (
            psycopg.OperationalError,
            PoolTimeout,
            psycopg.errors.SerializationFailure,
            psycopg.errors.DeadlockDetected,
        )
        return isinstance(exc, transient)

    def _run(self, operation: Callable[[Any], T], migrate: bool = True) -> T:
        """Run `operation(connection)` in one transaction, retrying transient failures within `write_timeout`."""
        import psycopg

        pool = self._get_pool()
        if migrate and self._applied is None:
            self.migrate()

        def attempt() -> T:
            with pool.connection() as conn:
                try:
                    with conn.transaction():
                        return operation(conn)
                except psycopg.Error as exc:
                    if self._transient(exc):
                        raise
                    raise UserError(
                        f"The plan store {self.description} failed: {type(exc).__name__}: {exc} / 方案库出错"
                    ) from None

        return retrying(
            attempt, self._transient, self.write_timeout, self.description, self._sleep, self._clock, "unreachable"
        )

    def migrate(self) -> Versions:
        """Apply the migrations this database has not seen, once even with several replicas starting together; the
        versions this store applied since it opened ([] when the database was current)."""

        def apply(conn: Any) -> list[int]:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS retention_mcp_migrations "
                "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM retention_mcp_migrations")}
            applied = []
            for version, script in MIGRATIONS:
                if version in done:
                    continue
                conn.execute(script)
                conn.execute("INSERT INTO retention_mcp_migrations (version) VALUES (%s)", (version,))
                applied.append(version)
            return applied

        applied = self._run(apply, migrate=False)
        self._applied = (self._applied or []) + applied  # what this store applied since it opened, as SQLite's says
        return list(self._applied)

    def ping(self) -> None:
        self._run(lambda c: c.execute("SELECT 1").fetchone())

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    # -- plans ------------------------------------------------------------------------------------------------------
    def save(self, new: NewPlan) -> StoredPlan:
        """Keep a plan; a revision (`new.revises`) joins the lineage of the plan it revises, numbered next."""

        def insert(conn: Any) -> StoredPlan:
            lineage, revision = None, 1
            if new.revises is not None:
                parent = conn.execute(
                    "SELECT id, template, lineage FROM plans WHERE id = %s", (new.revises.strip(),)
                ).fetchone()
                lineage = parent[2] or parent[0] if parent is not None else None
                # one reviser of a lineage at a time, on every replica: the numbers never collide
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lineage or "",))
                last = conn.execute("SELECT MAX(revision) FROM plans WHERE lineage = %s", (lineage,)).fetchone()
                lineage, revision = next_revision(parent, last[0], new.revises, new.template)
            record = storable(new_record(new, lineage, revision))  # NUL kept as U+FFFD, as every store keeps it
            row = plan_row(record)
            marks = ", ".join(["%s"] * len(row))
            conn.execute(f"INSERT INTO plans ({', '.join(PLAN_COLUMNS)}) VALUES ({marks})", row)
            keys = [record.lineage, record.lineage]
            with_history([record], conn.execute(history_query(1, "%s"), keys).fetchall())
            return record

        return self._run(insert)

    def get(self, plan_id: str) -> StoredPlan:
        query = (
            f"SELECT {SUMMARY}, arguments::text, plan::text, validation::text, markdown, constraints::text, "
            "constraint_fill::text FROM plans WHERE id = %s"
        )
        row = self._run(lambda c: c.execute(query, (plan_id.strip(),)).fetchone())
        if row is None:
            raise PlanNotFoundError(plan_id)
        record = stored_from_row(row)
        self._add_history([record])
        return record

    def _add_history(self, summaries: Sequence[PlanSummary]) -> None:
        if summaries:
            keys = [s.lineage or s.id for s in summaries]
            query = history_query(len(keys), "%s")
            with_history(summaries, self._run(lambda c: c.execute(query, keys + keys).fetchall()))

    def list(
        self, template: str | None = None, limit: int = 20, failed_only: bool = False, author: str | None = None
    ) -> Summaries:
        where, params = plan_filter(template, failed_only, author, "%s")
        query = f"SELECT {SUMMARY} FROM plans{where} ORDER BY created_at DESC, seq DESC LIMIT %s"
        params.append(max(1, limit))
        rows = self._run(lambda c: c.execute(query, params).fetchall())
        summaries = [summary_from_row(r) for r in rows]
        self._add_history(summaries)
        return summaries

    # -- audit ------------------------------------------------------------------------------------------------------
    def record(self, entries: Sequence[AuditEntry]) -> None:
        rows = [audit_row(storable(e)) for e in entries]
        self._run(
            lambda c: c.cursor().executemany(
                f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)}) VALUES (%s,%s,%s,%s,%s,%s)", rows
            )
        )

    def audit_log(self, limit: int = 100, who: str | None = None) -> AuditEntries:
        where, params = ("", []) if not who else (" WHERE who = %s", [who])
        query = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit{where} ORDER BY at DESC, seq DESC LIMIT %s"
        rows = self._run(lambda c: c.execute(query, [*params, max(1, limit)]).fetchall())
        return [audit_from_row(r) for r in rows]
