"""Template versions in the plan store's database: immutable versions, movable labels and the history of every move.

A version is one template in all its languages (`files`: language -> source), numbered 1, 2, 3… per template, with
its content hash, author, time and message; it never changes once written. A label (`production`, `staging`, any
name) points at one version of a template; every move of a label (a publish with a label, `templates label`, a
rollback) is one row of `template_label_moves`, with who moved it and why. Replicas learn of a change from the change
marker (`marker`), which grows with every version and every move; on PostgreSQL each change is also announced on the
CHANNEL with NOTIFY, so a listener hears of it at once.

The tables are made by the plan store's migrations (MIGRATION_SQLITE, MIGRATION_POSTGRES); this module runs its
queries through the plan store's connection and retry helpers (`_run`), so a busy database is retried within the
store's bounded time, as plans are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from retention_mcp.errors import UserError
from retention_mcp.generation.store import now_iso

T = TypeVar("T")
CHANNEL = "retention_mcp_templates"
DEFAULT_LABEL = "production"
LABEL_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")
SEED_AUTHOR = "retention-mcp"  # the author of the bundled templates' versions

_TABLES = """
    CREATE TABLE IF NOT EXISTS template_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at TEXT NOT NULL,
        message TEXT NOT NULL,
        files TEXT NOT NULL,
        PRIMARY KEY (name, version)
    );
    CREATE INDEX IF NOT EXISTS template_versions_hash ON template_versions (name, content_hash);
    CREATE TABLE IF NOT EXISTS template_labels (
        name TEXT NOT NULL,
        label TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (name, label)
    );
    CREATE TABLE IF NOT EXISTS template_label_moves (
        seq {serial},
        name TEXT NOT NULL,
        label TEXT NOT NULL,
        from_version INTEGER,
        to_version INTEGER NOT NULL,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        action TEXT NOT NULL,
        note TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS template_label_moves_name ON template_label_moves (name, seq);
"""
MIGRATION_SQLITE = (
    _TABLES.replace("{serial}", "INTEGER PRIMARY KEY AUTOINCREMENT")
    + """
    ALTER TABLE plans ADD COLUMN template_revision INTEGER;
    ALTER TABLE plans ADD COLUMN template_hash TEXT;
"""
)
MIGRATION_POSTGRES = (
    _TABLES.replace("{serial}", "BIGSERIAL PRIMARY KEY")
    + """
    ALTER TABLE plans ADD COLUMN IF NOT EXISTS template_revision INTEGER;
    ALTER TABLE plans ADD COLUMN IF NOT EXISTS template_hash TEXT;
"""
)
VERSION_COLUMNS = "name, version, content_hash, author, created_at, message"
MOVE_COLUMNS = "seq, name, label, from_version, to_version, at, who, action, note"


class TemplateVersion(BaseModel):
    name: str
    version: int = Field(description="1, 2, 3… per template / 版本号")
    content_hash: str = Field(description="sha256 of every language's source / 内容哈希")
    author: str = Field(description="Token name or user who published it / 发布者")
    created_at: str = Field(description="UTC time, ISO 8601")
    message: str = Field(description="What changed, as the publisher wrote it / 发布说明")
    labels: list[str] = Field(default_factory=list, description="Labels pointing at it now / 当前标签")
    files: dict[str, str] | None = Field(None, description="Source by language / 各语言源文件")


class LabelMove(BaseModel):
    seq: int
    name: str
    label: str
    from_version: int | None = Field(description="None: the label is new / 原版本")
    to_version: int
    at: str
    who: str
    action: str = Field(description="publish, label or rollback")
    note: str = ""


class TemplateHistory(BaseModel):
    """One template's versions (oldest first), its labels and every label move (oldest first)."""

    name: str
    versions: list[TemplateVersion]
    labels: dict[str, int]
    moves: list[LabelMove]


class Published(BaseModel):
    version: TemplateVersion
    created: bool = Field(description="False: identical to an existing version; nothing was written / 内容未变")
    move: LabelMove | None = None


class TemplateVersionError(UserError):
    pass


def check_label(label: str) -> str:
    if not LABEL_PATTERN.match(label):
        raise TemplateVersionError(
            f"label {label!r}: use 1-40 lower-case letters, digits, '.', '_' or '-', starting with a letter / "
            "标签只能包含小写字母、数字和 . _ -,并以字母开头"
        )
    return label


def unknown_version(name: str, version: int) -> TemplateVersionError:
    return TemplateVersionError(
        f"template '{name}' has no version {version} in the store ('templates history {name}' lists them) / "
        f"模板「{name}」没有版本 {version}"
    )


class TemplateStore:
    """Versions and labels of templates, over a plan store (SQLite or PostgreSQL) and its connection helpers."""

    def __init__(self, plans: Any):
        self.plans = plans
        self.postgres = hasattr(plans, "dsn")
        self.mark = "%s" if self.postgres else "?"
        self.description: str = plans.description

    # -- running ------------------------------------------------------------------------------------------------------
    def _q(self, sql: str) -> str:
        return sql.replace("?", self.mark)

    def _read(self, operation: Callable[[Any], T]) -> T:
        return self.plans._run(operation)  # type: ignore[no-any-return]

    def _write(self, name: str, operation: Callable[[Any], T]) -> T:
        """`operation` in one transaction that holds the template's write lock (one publisher of a name at a time)."""
        if self.postgres:

            def locked(conn: Any) -> T:
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"template:{name}",))
                result = operation(conn)
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, name))
                return result

            return self.plans._run(locked)  # type: ignore[no-any-return]

        def immediate(conn: Any) -> T:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                return operation(conn)

        return self.plans._run(immediate)  # type: ignore[no-any-return]

    # -- reading ------------------------------------------------------------------------------------------------------
    def marker(self) -> tuple[int, int]:
        """Grows with every version written and every label moved: what replicas compare to see a change."""
        return self._read(
            lambda c: tuple(
                c.execute(
                    "SELECT (SELECT COUNT(*) FROM template_versions), "
                    "(SELECT COALESCE(MAX(seq), 0) FROM template_label_moves)"
                ).fetchone()
            )
        )

    def names(self) -> list[str]:
        rows = self._read(lambda c: c.execute("SELECT DISTINCT name FROM template_versions ORDER BY name").fetchall())
        return [r[0] for r in rows]

    def history(self, name: str) -> TemplateHistory:
        def read(conn: Any) -> TemplateHistory:
            rows = conn.execute(
                self._q(f"SELECT {VERSION_COLUMNS} FROM template_versions WHERE name = ? ORDER BY version"), (name,)
            ).fetchall()
            labels = dict(
                tuple(r)
                for r in conn.execute(self._q("SELECT label, version FROM template_labels WHERE name = ?"), (name,))
            )
            moves = conn.execute(
                self._q(f"SELECT {MOVE_COLUMNS} FROM template_label_moves WHERE name = ? ORDER BY seq"), (name,)
            ).fetchall()
            versions = [_version(r, labels) for r in rows]
            return TemplateHistory(
                name=name, versions=versions, labels=dict(sorted(labels.items())), moves=[_move(m) for m in moves]
            )

        return self._read(read)

    def get(self, name: str, version: int) -> TemplateVersion:
        def read(conn: Any) -> TemplateVersion:
            row = conn.execute(
                self._q(f"SELECT {VERSION_COLUMNS}, files FROM template_versions WHERE name = ? AND version = ?"),
                (name, version),
            ).fetchone()
            if row is None:
                raise unknown_version(name, version)
            labels = [
                r[0]
                for r in conn.execute(
                    self._q("SELECT label FROM template_labels WHERE name = ? AND version = ?"), (name, version)
                )
            ]
            return _version(row, {label: version for label in labels}, files=row[6])

        return self._read(read)

    def served(self, label: str = DEFAULT_LABEL) -> dict[str, TemplateVersion]:
        """The version each template serves under `label` (under `production` for a template without that label)."""

        def read(conn: Any) -> dict[str, TemplateVersion]:
            rows = conn.execute(
                self._q(
                    f"SELECT v.{VERSION_COLUMNS.replace(', ', ', v.')}, v.files, l.label FROM template_labels l "
                    "JOIN template_versions v ON v.name = l.name AND v.version = l.version WHERE l.label IN (?, ?)"
                ),
                (label, DEFAULT_LABEL),
            ).fetchall()
            found: dict[str, TemplateVersion] = {}
            for row in sorted(rows, key=lambda r: r[7] == label):  # the asked label last: it wins
                found[row[0]] = _version(row, {row[7]: row[1]}, files=row[6])
            return found

        return self._read(read)

    # -- writing ------------------------------------------------------------------------------------------------------
    def publish(
        self,
        name: str,
        files: Mapping[str, str],
        content_hash: str,
        author: str,
        message: str = "",
        label: str | None = None,
    ) -> Published:
        """A new version of `name` (and `label` moved to it); content identical to an existing version writes
        nothing and says which version it is."""
        if label is not None:
            check_label(label)

        def write(conn: Any) -> Published:
            same = conn.execute(
                self._q("SELECT version FROM template_versions WHERE name = ? AND content_hash = ? ORDER BY version"),
                (name, content_hash),
            ).fetchone()
            if same is not None:
                return Published(version=self._get_in(conn, name, same[0]), created=False)
            last = conn.execute(
                self._q("SELECT MAX(version) FROM template_versions WHERE name = ?"), (name,)
            ).fetchone()
            number = (last[0] or 0) + 1
            conn.execute(
                self._q(f"INSERT INTO template_versions ({VERSION_COLUMNS}, files) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                (name, number, content_hash, author, now_iso(), message, json.dumps(dict(files), ensure_ascii=False)),
            )
            move = self._move_in(conn, name, label, number, author, "publish", message) if label else None
            return Published(version=self._get_in(conn, name, number), created=True, move=move)

        return self._write(name, write)

    def move_label(
        self, name: str, label: str, version: int, who: str, action: str = "label", note: str = ""
    ) -> LabelMove | None:
        """Point `label` at `version`; the move joins the history. None when it already points there."""
        check_label(label)

        def write(conn: Any) -> LabelMove | None:
            exists = conn.execute(
                self._q("SELECT 1 FROM template_versions WHERE name = ? AND version = ?"), (name, version)
            ).fetchone()
            if exists is None:
                raise unknown_version(name, version)
            return self._move_in(conn, name, label, version, who, action, note)

        return self._write(name, write)

    def rollback(self, name: str, who: str, label: str = DEFAULT_LABEL, to: int | None = None) -> LabelMove:
        """Move `label` back: to version `to`, or to the latest older version it pointed at before (so a second
        rollback goes further back, never forward to the version just rolled back from)."""
        check_label(label)
        if to is None:
            moves = [m for m in self.history(name).moves if m.label == label]
            current = moves[-1].to_version if moves else None
            earlier = [
                m.from_version
                for m in reversed(moves)
                if m.from_version is not None and current is not None and m.from_version < current
            ]
            if not earlier:
                raise TemplateVersionError(
                    f"'{name}' has no earlier version under '{label}' to roll back to; name one with --to / "
                    f"模板「{name}」的标签「{label}」没有可回滚的早先版本,请用 --to 指定"
                )
            to = earlier[0]
        move = self.move_label(name, label, to, who, "rollback", f"rollback to {to}")
        if move is None:
            raise TemplateVersionError(
                f"'{label}' of '{name}' already points at version {to} / 标签「{label}」已指向版本 {to}"
            )
        return move

    def seed(self, bundled: Mapping[str, tuple[Mapping[str, str], str]]) -> list[str]:
        """Keep each bundled template (name -> (files, hash)) as a version: version 1 at first start. A bundled
        template that changed since (a new release) becomes a new version, and `production` follows it only while
        it pointed at a bundled version (a team's own publish stays live). The names written."""
        known = self._read(
            lambda c: {
                (r[0], r[1]): r[2]
                for r in c.execute("SELECT name, content_hash, author FROM template_versions").fetchall()
            }
        )
        written = []
        for name, (files, digest) in bundled.items():
            if (name, digest) in known:
                continue
            outcome = self.publish(name, files, digest, SEED_AUTHOR, "bundled with retention-mcp")
            if outcome.created:
                history = self.history(name)
                live = history.labels.get(DEFAULT_LABEL)
                authors = {v.version: v.author for v in history.versions}
                if live is None or authors.get(live) == SEED_AUTHOR:
                    self.move_label(name, DEFAULT_LABEL, outcome.version.version, SEED_AUTHOR, "publish", "bundled")
                written.append(name)
        return written

    def audit(self, who: str, tool: str, name: str | None, outcome: str = "ok") -> None:
        """One entry in the audit log, written now: a publish, a label move, a rollback, or a refusal."""
        from retention_mcp.generation.store import AuditEntry

        self.plans.record([AuditEntry(at=now_iso(), who=who, tool=tool, template=name, outcome=outcome)])  # type: ignore[arg-type]

    # -- inside a transaction -----------------------------------------------------------------------------------------
    def _get_in(self, conn: Any, name: str, version: int) -> TemplateVersion:
        row = conn.execute(
            self._q(f"SELECT {VERSION_COLUMNS} FROM template_versions WHERE name = ? AND version = ?"), (name, version)
        ).fetchone()
        labels = [
            r[0]
            for r in conn.execute(
                self._q("SELECT label FROM template_labels WHERE name = ? AND version = ?"), (name, version)
            )
        ]
        return _version(row, {label: version for label in labels})

    def _move_in(
        self, conn: Any, name: str, label: str, version: int, who: str, action: str, note: str
    ) -> LabelMove | None:
        row = conn.execute(
            self._q("SELECT version FROM template_labels WHERE name = ? AND label = ?"), (name, label)
        ).fetchone()
        before = row[0] if row is not None else None
        if before == version:
            return None
        if before is None:
            conn.execute(
                self._q("INSERT INTO template_labels (name, label, version) VALUES (?, ?, ?)"), (name, label, version)
            )
        else:
            conn.execute(
                self._q("UPDATE template_labels SET version = ? WHERE name = ? AND label = ?"), (version, name, label)
            )
        conn.execute(
            self._q(
                "INSERT INTO template_label_moves (name, label, from_version, to_version, at, who, action, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (name, label, before, version, now_iso(), who, action, note),
        )
        last = conn.execute(
            self._q(f"SELECT {MOVE_COLUMNS} FROM template_label_moves WHERE name = ? ORDER BY seq DESC LIMIT 1"),
            (name,),
        ).fetchone()
        return _move(last)


def _version(row: Any, labels: Mapping[str, int], files: str | None = None) -> TemplateVersion:
    name, version, digest, author, created_at, message = tuple(row)[:6]
    return TemplateVersion(
        name=name,
        version=version,
        content_hash=digest,
        author=author,
        created_at=created_at,
        message=message,
        labels=sorted(label for label, v in labels.items() if v == version),
        files=json.loads(files) if files is not None else None,
    )


def _move(row: Any) -> LabelMove:
    seq, name, label, before, after, at, who, action, note = tuple(row)
    return LabelMove(
        seq=seq, name=name, label=label, from_version=before, to_version=after, at=at, who=who, action=action, note=note
    )
