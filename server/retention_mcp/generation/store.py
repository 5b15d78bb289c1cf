"""Where generated plans are kept, and the audit log of who did what: the `PlanStore` protocol, the records both
backends return (`stores.open_store` chooses one from a setting).

Two backends implement the protocol: SQLite (one file, for one host; `sqlite_store.py`) and PostgreSQL (shared by
replicas; `pg_store.py`). Both keep the same records and return them byte for byte alike, so a plan saved through one
server reads the same through any other. The API key is never part of a record: only the model's name is kept, and
the audit log keeps who, when, which tool and template, the plan id and the outcome, never argument values.

A store that is busy or unreachable (a lock held by another process, a database restarting) is retried with backoff
inside a bounded time (RETENTION_MCP_STORE_TIMEOUT) and, past it, raises StoreBusyError: the caller decides what to
do with a plan that could not be saved; it is never dropped here.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from retention_mcp import redaction
from retention_mcp.errors import UserError
from retention_mcp.models import ConstraintFill, EffectiveConstraints, PlanRevision, ValidationReport

log = logging.getLogger("retention_mcp.store")
T = TypeVar("T")

DEFAULT_WRITE_TIMEOUT = 30.0  # seconds an operation may wait on a busy store, retries included
BACKOFF_BASE = 0.05
BACKOFF_CAP = 2.0
Outcome = Literal["ok", "error", "not_saved", "rate_limited", "unknown_tool", "forbidden"]


class PlanSummary(BaseModel):
    id: str
    uri: str = Field(description="plan://ID")
    created_at: str = Field(description="UTC time, ISO 8601")
    template: str
    version: str
    language: str
    model: str
    passed: bool = Field(description="Whether the plan passed (status passed)")
    title: str
    author: str | None = Field(None, description="Name of the token that generated it (team servers) / 生成者")
    status: Literal["passed", "failed", "unverified"] | None = Field(
        None, description="passed, failed or unverified (None: saved before statuses existed) / 校验结果"
    )
    repaired: bool | None = Field(None, description="Whether a repair round was needed / 是否经过一轮修正")
    lineage: str | None = Field(None, description="The id of the plan's first revision, shared by all / 首版编号")
    revision: int | None = Field(None, description="1 for a first submission, then 2, 3… / 修订号")
    history: list[PlanRevision] = Field(
        default_factory=list, description="Every revision of this plan, oldest first / 全部修订(旧到新)"
    )
    template_revision: int | None = Field(
        None, description="The template's version in the template store it was made with / 所用模板版本号"
    )
    template_hash: str | None = Field(None, description="sha256 of the template's exact text / 所用模板的内容哈希")


class StoredPlan(PlanSummary):
    arguments: dict[str, Any]
    plan: dict[str, Any]
    validation: ValidationReport
    markdown: str
    constraints: EffectiveConstraints | None = Field(
        None, description="The effective constraints the plan was checked against, with their sources / 生效的约束"
    )
    constraint_fill: ConstraintFill | None = Field(None, description="How missing constraints were filled / 约束填补")


class PlanList(BaseModel):
    plans: list[PlanSummary]


class AuditEntry(BaseModel):
    """One call on a team server: who, when, what, and how it ended. No argument values."""

    at: str = Field(description="UTC time, ISO 8601")
    who: str = Field(description="Token name, or 'local' without tokens / 调用者")
    tool: str
    template: str | None = None
    plan_id: str | None = None
    outcome: Outcome


Summaries = list[PlanSummary]  # aliases: inside the store classes `list` names their method
AuditEntries = list[AuditEntry]
Versions = list[int]


class PlanNotFoundError(UserError):
    def __init__(self, plan_id: str):
        super().__init__(f"No plan with id '{plan_id}' / 没有编号为「{plan_id}」的方案")


class StoreBusyError(UserError):
    """The store stayed busy (locked, unreachable) for longer than the time allowed."""

    def __init__(self, where: str, seconds: float, why: str = "locked by another process"):
        super().__init__(
            f"The plan store {where} stayed {why} for {seconds:g} s; nothing was written. Try again, or raise "
            f"RETENTION_MCP_STORE_TIMEOUT. / 方案库 {where} 超过 {seconds:g} 秒不可用(已被锁定或无法连接),未能写入。"
            f"请稍后重试,或调大 RETENTION_MCP_STORE_TIMEOUT。"
        )


class NewPlan(BaseModel):
    """A plan as the plan service hands it to a store, written once: what was asked and what came back. The store
    adds the id, the time, the title and the status."""

    template: str
    version: str
    language: str
    model: str
    arguments: dict[str, Any]
    plan: dict[str, Any]
    validation: ValidationReport
    markdown: str
    author: str | None = None
    constraints: EffectiveConstraints | None = None
    repaired: bool | None = None
    constraint_fill: ConstraintFill | None = None
    revises: str | None = None  # the id of any earlier revision of the plan this one replaces
    template_revision: int | None = None  # the template store's version number it was made with
    template_hash: str | None = None  # sha256 of the template's text


class PlanRevisionError(UserError):
    """A revision names a plan of another template."""

    def __init__(self, plan_id: str, template: str, asked: str):
        super().__init__(
            f"plan_id: plan '{plan_id}' is a {template} plan, not {asked}; a revision keeps its template (leave plan_id "
            f"out to start a new plan) / plan_id:方案「{plan_id}」属于模板 {template},不是 {asked};修订须沿用原模板"
            "(新方案请不填 plan_id)"
        )


class PlanStore(Protocol):
    """What the plan service and the adapters need of a store. Calls block: run them in a worker thread."""

    description: str  # where the plans are, without credentials

    def save(self, new: NewPlan) -> StoredPlan: ...

    def get(self, plan_id: str) -> StoredPlan: ...

    def list(
        self, template: str | None = None, limit: int = 20, failed_only: bool = False, author: str | None = None
    ) -> Summaries: ...

    def record(self, entries: Sequence[AuditEntry]) -> None: ...  # a batch, in one transaction

    def audit_log(self, limit: int = 100, who: str | None = None) -> AuditEntries: ...

    def migrate(self) -> Versions: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_record(new: NewPlan, lineage: str | None = None, revision: int = 1) -> StoredPlan:
    """A plan record with a fresh id and time, as every backend saves it; a revision joins `lineage` as number
    `revision`. What the model wrote (its name, the plan, the Markdown) is scrubbed of secrets once more here, the
    last step before anything is kept."""
    plan_id = secrets.token_hex(6)
    model, plan, markdown = redaction.scrub(new.model), redaction.scrub_data(new.plan), redaction.scrub(new.markdown)
    excluded = {"model", "plan", "markdown", "validation", "constraints", "constraint_fill", "revises"}
    return StoredPlan(
        **new.model_dump(exclude=excluded),
        lineage=lineage or plan_id,
        revision=revision,
        id=plan_id,
        uri=f"plan://{plan_id}",
        created_at=now_iso(),
        model=model,
        plan=plan,
        markdown=markdown,
        validation=new.validation,
        constraints=new.constraints,
        constraint_fill=new.constraint_fill,
        passed=new.validation.passed,
        status=new.validation.status,
        title=str(plan.get("title", "")),
    )


PLAN_COLUMNS = ("id", "created_at", "template", "version", "language", "model", "passed", "title", "arguments", "plan",
                "validation", "markdown", "author", "status", "repaired", "constraints", "constraint_fill", "lineage",
                "revision", "template_revision", "template_hash")  # fmt: skip
SUMMARY_COLUMNS = ("id", "created_at", "template", "version", "language", "model", "passed", "title", "author",
                   "status", "repaired", "lineage", "revision", "template_revision", "template_hash")  # fmt: skip
REVISION_COLUMNS = ("id", "revision", "status", "passed", "created_at", "lineage")
# What `get` selects after SUMMARY_COLUMNS; the JSON ones as text
DETAIL_COLUMNS = ("arguments", "plan", "validation", "markdown", "constraints", "constraint_fill")
AUDIT_COLUMNS = ("at", "who", "tool", "template", "plan_id", "outcome")


def plan_row(record: StoredPlan) -> tuple[Any, ...]:
    """A plan as its row, in PLAN_COLUMNS order; JSON as written, so every backend reads back the same bytes."""
    return (
        record.id,
        record.created_at,
        record.template,
        record.version,
        record.language,
        record.model,
        record.passed,
        record.title,
        json.dumps(record.arguments, ensure_ascii=False),
        json.dumps(record.plan, ensure_ascii=False),
        record.validation.model_dump_json(),
        record.markdown,
        record.author,
        record.status,
        record.repaired,
        record.constraints.model_dump_json() if record.constraints is not None else None,
        record.constraint_fill.model_dump_json() if record.constraint_fill is not None else None,
        record.lineage,
        record.revision,
        record.template_revision,
        record.template_hash,
    )


def summary_from_row(row: Sequence[Any]) -> PlanSummary:
    """A PlanSummary from a row whose first values are SUMMARY_COLUMNS, in that order."""
    fields = dict(zip(SUMMARY_COLUMNS, row[: len(SUMMARY_COLUMNS)], strict=True))
    if fields["status"] is None:  # saved before statuses: it passed or it did not
        fields["status"] = "passed" if fields["passed"] else "failed"
    if fields["repaired"] is not None:
        fields["repaired"] = bool(fields["repaired"])
    fields["lineage"] = fields["lineage"] or fields["id"]  # saved before revisions: a lineage of its own
    fields["revision"] = fields["revision"] or 1
    return PlanSummary(**fields, uri=f"plan://{fields['id']}")


def stored_from_row(row: Sequence[Any]) -> StoredPlan:
    """A StoredPlan from SUMMARY_COLUMNS followed by DETAIL_COLUMNS (JSON as text)."""
    arguments, plan, validation, markdown, constraints, fill = row[len(SUMMARY_COLUMNS) :]
    return StoredPlan(
        **summary_from_row(row).model_dump(),
        arguments=json.loads(arguments),
        plan=json.loads(plan),
        validation=ValidationReport.model_validate_json(validation),
        markdown=markdown,
        constraints=EffectiveConstraints.model_validate_json(constraints) if constraints else None,
        constraint_fill=ConstraintFill.model_validate_json(fill) if fill else None,
    )


def revision_from_row(row: Sequence[Any]) -> PlanRevision:
    """A PlanRevision from REVISION_COLUMNS, in that order."""
    plan_id, revision, status, passed, created_at, _ = row
    status = status or ("passed" if passed else "failed")
    return PlanRevision(
        id=plan_id, uri=f"plan://{plan_id}", revision=revision or 1, status=status, created_at=created_at
    )


def revision_note(summary: PlanSummary) -> str:
    """' r2 (r1 failed)' for a plan with earlier revisions; '' for a first one."""
    earlier = [r for r in summary.history if r.id != summary.id]
    if not earlier:
        return ""
    return f" r{summary.revision} (" + ", ".join(f"r{r.revision} {r.status}" for r in earlier) + ")"


def history_query(count: int, mark: str) -> str:
    """The revisions of `count` lineages, oldest first; a plan saved before revisions is its own lineage."""
    marks = ", ".join([mark] * count)
    return (
        f"SELECT {', '.join(REVISION_COLUMNS)} FROM plans WHERE lineage IN ({marks}) OR (lineage IS NULL AND id IN "
        f"({marks})) ORDER BY revision, created_at"
    )


def with_history(summaries: Sequence[PlanSummary], rows: Sequence[Sequence[Any]]) -> list[PlanSummary]:
    """Each summary with the revisions of its lineage (from `history_query`'s rows)."""
    by_lineage: dict[str, list[PlanRevision]] = {}
    for row in rows:
        by_lineage.setdefault(row[-1] or row[0], []).append(revision_from_row(row))
    for summary in summaries:
        summary.history = by_lineage.get(summary.lineage or summary.id, [])
    return list(summaries)


def next_revision(parent: Sequence[Any] | None, last: int | None, revises: str, template: str) -> tuple[str, int]:
    """The lineage and number of a revision of `revises`, from its row (id, template, lineage) and the lineage's
    highest revision number so far."""
    if parent is None:
        raise PlanNotFoundError(revises)
    plan_id, parent_template, lineage = parent
    if parent_template != template:
        raise PlanRevisionError(plan_id, parent_template, template)
    return lineage or plan_id, (last or 1) + 1


def plan_filter(template: str | None, failed_only: bool, author: str | None, mark: str) -> tuple[str, list[Any]]:
    """The WHERE clause (or "") and its parameters for listing plans, the latest revision of each plan only;
    `mark` is the driver's placeholder."""
    clauses: list[str] = [
        "NOT EXISTS (SELECT 1 FROM plans later WHERE later.lineage = plans.lineage AND later.revision > plans.revision)"
    ]
    params: list[Any] = []
    if template:
        clauses.append(f"template = {mark}")
        params.append(template)
    if failed_only:
        clauses.append("NOT passed")
    if author:
        clauses.append(f"author = {mark}")
        params.append(author)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def audit_row(entry: AuditEntry) -> tuple[Any, ...]:
    return tuple(getattr(entry, name) for name in AUDIT_COLUMNS)


def audit_from_row(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(**dict(zip(AUDIT_COLUMNS, row, strict=True)))


def retrying(
    operation: Callable[[], T],
    transient: Callable[[Exception], bool],
    timeout: float,
    where: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    why: str = "locked by another process",
) -> T:
    """Run `operation`; while it fails transiently, back off (growing, jittered) and retry within `timeout` s."""
    deadline = clock() + timeout
    attempt = 0
    while True:
        attempt += 1
        try:
            return operation()
        except Exception as exc:
            if not transient(exc):
                raise
            left = deadline - clock()
            if left <= 0:
                raise StoreBusyError(where, timeout, why) from None
            ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
            delay = min(left, ceiling / 2 + random.uniform(0, ceiling / 2))
            log.warning("plan store %s is busy (%s); retry %d in %.2f s", where, type(exc).__name__, attempt, delay)
            sleep(delay)


def is_postgres(spec: str | Path) -> bool:
    return str(spec).startswith(("postgresql://", "postgres://"))


class AuditWriter:
    """Audit entries written in the background, in batches, so a call never waits on the audit log.

    `put` returns at once; a daemon thread writes what has queued up, one transaction per batch. `flush` waits until
    everything queued before it is written (before the log is read, and when the server stops). A store that fails is
    retried within its own bounded time; a batch it still cannot take is logged with its size and dropped, so calls
    never fail for the audit log's sake. A process killed outright loses what was still queued: at most one batch.
    """

    def __init__(self, store: PlanStore, batch: int = 200):
        import queue

        self.store = store
        self.batch = batch
        self._queue: queue.Queue[AuditEntry | threading.Event] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, entry: AuditEntry) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="retention-mcp-audit", daemon=True)
                self._thread.start()
        self._queue.put(entry)

    def flush(self, timeout: float = 30.0) -> None:
        if self._thread is None:
            return
        done = threading.Event()
        self._queue.put(done)  # set by the writer once everything queued before it is written
        done.wait(timeout)

    def _run(self) -> None:
        import queue

        while True:
            items = [self._queue.get()]
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            entries = [i for i in items if isinstance(i, AuditEntry)]
            if entries:
                try:
                    self.store.record(entries)
                except Exception as exc:
                    log.error("audit log: %d entries not written: %s", len(entries), exc)
            for item in items:
                if isinstance(item, threading.Event):
                    item.set()
