"""The SQLite plan store: one file, WAL mode, so several server processes on one host and the CLI can share it.

Another process may hold the file locked for a while (a backup, a long write, a stuck client); every operation then
retries within the store's bounded time. Opening a store whose schema is current takes no write lock, so listing
plans works while a writer holds the file. The schema version is SQLite's `user_version`; migrations run in order.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from retention_mcp.errors import UserError
from retention_mcp.generation.storable import storable
from retention_mcp.generation.store import (
    AUDIT_COLUMNS,
    DEFAULT_WRITE_TIMEOUT,
    DETAIL_COLUMNS,
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
from retention_mcp.generation.template_store import MIGRATION_SQLITE

T = TypeVar("T")
BUSY_TIMEOUT = 0.25  # seconds SQLite itself waits on one attempt before we back off and try again

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
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
        """,
    ),
    (
        2,
        """
        ALTER TABLE plans ADD COLUMN author TEXT;
        CREATE TABLE audit (
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            tool TEXT NOT NULL,
            template TEXT,
            plan_id TEXT,
            outcome TEXT NOT NULL
        );
        CREATE INDEX audit_at ON audit (at DESC);
        """,
    ),
    (
        3,
        """
        ALTER TABLE plans ADD COLUMN status TEXT;
        ALTER TABLE plans ADD COLUMN repaired INTEGER;
        ALTER TABLE plans ADD COLUMN constraints TEXT;
        ALTER TABLE plans ADD COLUMN constraint_fill TEXT;
        """,
    ),
    (
        4,
        """
        ALTER TABLE plans ADD COLUMN lineage TEXT;
        ALTER TABLE plans ADD COLUMN revision INTEGER;
        UPDATE plans SET lineage = id, revision = 1 WHERE lineage IS NULL;
        CREATE UNIQUE INDEX IF NOT EXISTS plans_lineage ON plans (lineage, revision);
        """,
    ),
    (5, MIGRATION_SQLITE),  # template versions, labels and label moves; plans name the version they were made from
]
LATEST = MIGRATIONS[-1][0]
SUMMARY = ", ".join(SUMMARY_COLUMNS)


def _is_busy(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class SQLitePlanStore:
    def __init__(
        self,
        path: Path,
        write_timeout: float = DEFAULT_WRITE_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.path = Path(path)
        self.description = str(self.path)
        self.write_timeout = write_timeout
        self._sleep, self._clock = sleep, clock  # injectable, so tests need not wait for real backoff
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._applied: list[int] = []

    # -- connection and schema --------------------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        """The open connection, migrated to the current schema (which takes a write lock only when behind)."""
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
                self._applied = self._migrate(conn)
            except sqlite3.Error as exc:
                conn.close()
                if _is_busy(exc):
                    raise
                raise self._cannot_open(exc) from None
            self._conn = conn
        return self._conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> list[int]:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current >= LATEST:
            return []
        applied = []
        conn.execute("BEGIN IMMEDIATE")  # one migrating process at a time; the others wait and then see it done
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for version, script in MIGRATIONS:
                if version <= current:
                    continue
                for statement in (s.strip() for s in script.split(";")):
                    if statement and not _already_there(conn, statement):
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version}")
                applied.append(version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return applied

    def _cannot_open(self, exc: Exception) -> UserError:
        return UserError(
            f"Cannot open the plan store {self.path}: {exc}. Set RETENTION_MCP_PLAN_STORE to a writable file, "
            f"or 'off'. / 无法打开方案库 {self.path}:{exc}"
        )

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run `operation`, retrying with backoff while another process holds the lock, within `write_timeout`."""

        def attempt() -> T:
            with self._lock:  # released between attempts, so other threads are not held up by our waiting
                try:
                    return operation(self._connection())
                except sqlite3.Error as exc:
                    if _is_busy(exc):
                        raise
                    raise UserError(f"The plan store {self.path} failed: {exc} / 方案库出错:{exc}") from None

        return retrying(attempt, _is_busy, self.write_timeout, str(self.path), self._sleep, self._clock)

    def migrate(self) -> Versions:
        """Bring the schema up to date now; the versions this store applied when it opened ([] when current)."""
        self._run(lambda c: None)
        return list(self._applied)

    def ping(self) -> None:
        self._run(lambda c: c.execute("SELECT 1").fetchone())

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- plans ------------------------------------------------------------------------------------------------------
    def save(self, new: NewPlan) -> StoredPlan:
        """Keep a plan; a revision (`new.revises`) joins the lineage of the plan it revises, numbered next."""

        def insert(conn: sqlite3.Connection) -> StoredPlan:
            with conn:  # one transaction: committed, or rolled back and retried
                lineage, revision = None, 1
                if new.revises is not None:
                    conn.execute("BEGIN IMMEDIATE")  # two revisions of one plan never get the same number
                    parent = conn.execute(
                        "SELECT id, template, lineage FROM plans WHERE id = ?", (new.revises.strip(),)
                    ).fetchone()
                    lineage = parent[2] or parent[0] if parent is not None else None
                    last = conn.execute("SELECT MAX(revision) FROM plans WHERE lineage = ?", (lineage,)).fetchone()
                    lineage, revision = next_revision(parent, last[0], new.revises, new.template)
                record = storable(new_record(new, lineage, revision))  # NUL kept as U+FFFD, as every store keeps it
                row = plan_row(record)
                conn.execute(f"INSERT INTO plans ({', '.join(PLAN_COLUMNS)}) VALUES ({', '.join('?' * len(row))})", row)
                keys = [record.lineage, record.lineage]
                with_history([record], [tuple(r) for r in conn.execute(history_query(1, "?"), keys).fetchall()])
            return record

        return self._run(insert)

    def get(self, plan_id: str) -> StoredPlan:
        query = f"SELECT {SUMMARY}, {', '.join(DETAIL_COLUMNS)} FROM plans WHERE id = ?"
        row = self._run(lambda c: c.execute(query, (plan_id.strip(),)).fetchone())
        if row is None:
            raise PlanNotFoundError(plan_id)
        record = stored_from_row(tuple(row))
        self._add_history([record])
        return record

    def _add_history(self, summaries: Sequence[PlanSummary]) -> None:
        if summaries:
            keys = [s.lineage or s.id for s in summaries]
            query = history_query(len(keys), "?")
            rows = self._run(lambda c: c.execute(query, keys + keys).fetchall())
            with_history(summaries, [tuple(r) for r in rows])

    def list(
        self, template: str | None = None, limit: int = 20, failed_only: bool = False, author: str | None = None
    ) -> Summaries:
        where, params = plan_filter(template, failed_only, author, "?")
        query = f"SELECT {SUMMARY} FROM plans{where} ORDER BY created_at DESC, rowid DESC LIMIT ?"
        params.append(max(1, limit))
        rows = self._run(lambda c: c.execute(query, params).fetchall())
        summaries = [summary_from_row(tuple(r)) for r in rows]
        self._add_history(summaries)
        return summaries

    # -- audit ------------------------------------------------------------------------------------------------------
    def record(self, entries: Sequence[AuditEntry]) -> None:
        rows = [audit_row(storable(e)) for e in entries]

        def insert(conn: sqlite3.Connection) -> None:
            with conn:  # the batch in one transaction
                conn.executemany(f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)}) VALUES (?,?,?,?,?,?)", rows)

        self._run(insert)

    def audit_log(self, limit: int = 100, who: str | None = None) -> AuditEntries:
        query = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit"
        params: list[Any] = []
        if who:
            query += " WHERE who = ?"
            params.append(who)
        query += " ORDER BY at DESC, rowid DESC LIMIT ?"
        params.append(max(1, limit))
        rows = self._run(lambda c: c.execute(query, params).fetchall())
        return [audit_from_row(tuple(r)) for r in rows]


def _already_there(conn: sqlite3.Connection, statement: str) -> bool:
    """A column a store made before versioning may already have (ADD COLUMN has no IF NOT EXISTS)."""
    words = statement.split()
    if words[:2] != ["ALTER", "TABLE"] or words[3:5] != ["ADD", "COLUMN"]:
        return False
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({words[2]})")}
    return words[5] in columns
