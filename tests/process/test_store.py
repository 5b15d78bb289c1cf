"""The plan-store contract, run against both backends: SQLite and a real PostgreSQL server on loopback."""

from __future__ import annotations

import threading

import pytest

from retention_mcp.generation.pg_store import PostgresPlanStore, safe_dsn
from retention_mcp.generation.sqlite_store import SQLitePlanStore
from retention_mcp.generation.store import (
    AuditEntry,
    AuditWriter,
    NewPlan,
    PlanNotFoundError,
    PlanRevisionError,
    now_iso,
)
from retention_mcp.generation.stores import open_store
from retention_mcp.models import Check, ValidationReport


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        made = open_store(tmp_path / "plans.sqlite3")
        assert isinstance(made, SQLitePlanStore)
    else:
        made = open_store(request.getfixturevalue("postgres_url"))
        assert isinstance(made, PostgresPlanStore)
    yield made
    made.close()


def save(store, title="Plan", template="retention_strategy", passed=True, author=None, **extra):
    report = ValidationReport(passed=passed, checks=[Check(name="budget_lines_sum", passed=passed, detail="42 = 42")])
    return store.save(
        NewPlan(
            template=template,
            version="1.2.0",
            language="zh",
            model="stand-in-1",
            arguments={"company": "轻食连锁", "budget": "¥30万", "nested": {"b": 1, "a": [2, 1]}},
            plan={"title": title, "z_last": 1, "a_first": 2, "预算": [{"item": "短信", "amount": 1.5}]},
            validation=report,
            markdown=f"# {title}\n\n内容",
            author=author,
            **extra,
        )
    )


def test_saved_plans_read_back_exactly(store):
    saved = save(store, author="alice")
    got = store.get(saved.id)
    assert got == saved
    assert list(got.plan) == ["title", "z_last", "a_first", "预算"]  # key order as written, on both backends
    assert got.model_dump_json() == saved.model_dump_json()
    assert store.get(f"  {saved.id} ").id == saved.id


def test_listing_filters_and_orders_newest_first(store):
    first = save(store, "A")
    second = save(store, "B", template="renewal_campaign", passed=False, author="bob")
    third = save(store, "C", author="alice")
    assert [p.id for p in store.list()] == [third.id, second.id, first.id]  # same second: insertion order decides
    assert [p.id for p in store.list(limit=2)] == [third.id, second.id]
    assert [p.id for p in store.list(template="renewal_campaign")] == [second.id]
    assert [p.id for p in store.list(failed_only=True)] == [second.id]
    assert [p.id for p in store.list(author="alice")] == [third.id]
    assert store.list()[0].author == "alice" and store.list()[-1].author is None


def test_unknown_plan_is_a_clear_error(store):
    with pytest.raises(PlanNotFoundError) as caught:
        store.get("nope")
    assert "nope" in str(caught.value) and "没有编号" in str(caught.value)


def test_audit_log_keeps_who_what_and_outcome_without_arguments(store):
    saved = save(store, author="alice")
    store.record([AuditEntry(at=now_iso(), who="alice", tool="retention_strategy", template="retention_strategy",
                             plan_id=saved.id, outcome="ok")])  # fmt: skip
    store.record([AuditEntry(at=now_iso(), who="bob", tool="analyze_churn", outcome="error")])
    log = store.audit_log()
    assert [(e.who, e.tool, e.outcome) for e in log] == [("bob", "analyze_churn", "error"),
                                                         ("alice", "retention_strategy", "ok")]  # fmt: skip
    assert log[1].plan_id == saved.id
    assert [e.who for e in store.audit_log(who="alice")] == ["alice"]
    assert set(AuditEntry.model_fields) == {"at", "who", "tool", "template", "plan_id", "outcome"}


def test_migrations_apply_once(store, tmp_path, request):
    store.ping()  # opens and migrates
    assert store.migrate() in ([], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4, 5])  # whatever opening applied
    again = open_store(store.dsn) if isinstance(store, PostgresPlanStore) else open_store(store.path)
    assert again.migrate() == []
    again.close()


def test_concurrent_saves_lose_nothing(store):
    ids: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(10):
            record = save(store, f"P{n}-{i}")
            with lock:
                ids.append(record.id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.id for p in store.list(limit=100)) == sorted(ids) and len(ids) == 40


def test_sqlite_store_from_before_versioning_is_migrated(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE plans (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, template TEXT NOT NULL, version TEXT NOT "
        "NULL, language TEXT NOT NULL, model TEXT NOT NULL, passed INTEGER NOT NULL, title TEXT NOT NULL, arguments "
        "TEXT NOT NULL, plan TEXT NOT NULL, validation TEXT NOT NULL, markdown TEXT NOT NULL);"
        "INSERT INTO plans VALUES ('abc', '2026-01-01T00:00:00+00:00', 't', '1', 'en', 'm', 1, 'Old', '{}', "
        '\'{"title": "Old"}\', \'{"passed": true, "checks": []}\', \'# Old\');'
    )
    conn.close()
    store = SQLitePlanStore(path)
    assert store.migrate() == [1, 2, 3, 4, 5]
    old = store.get("abc")
    assert old.title == "Old" and old.author is None
    assert (old.status, old.validation.status, old.constraints, old.repaired) == ("passed", "passed", None, None)
    assert [p.id for p in store.list()] == ["abc"]
    assert (old.lineage, old.revision, [h.id for h in old.history]) == ("abc", 1, ["abc"])
    revised = save(store, "Old, revised", template="t", revises="abc")
    assert (revised.lineage, revised.revision) == ("abc", 2)
    assert [p.id for p in store.list()] == [revised.id]


def test_revisions_share_a_lineage_and_the_list_shows_the_latest(store):
    first = save(store, "Draft", passed=False)
    other = save(store, "Another plan")
    second = save(store, "Fixed", revises=first.id)
    third = save(store, "Fixed again", revises=first.id)  # naming the first revision still appends to the lineage
    assert (first.lineage, first.revision) == (first.id, 1)
    assert (second.lineage, second.revision, third.revision) == (first.id, 2, 3)
    assert [h.id for h in third.history] == [first.id, second.id, third.id]
    assert [h.status for h in third.history] == [first.status, "passed", "passed"] and first.status != "passed"
    listed = store.list()
    assert [p.id for p in listed] == [third.id, other.id]
    assert [h.revision for h in listed[0].history] == [1, 2, 3] and [h.id for h in listed[1].history] == [other.id]
    assert store.list(failed_only=True) == []  # the draft failed, but its latest revision passed
    assert [h.id for h in store.get(first.id).history] == [first.id, second.id, third.id]
    with pytest.raises(PlanNotFoundError):
        save(store, revises="0123456789ab")
    with pytest.raises(PlanRevisionError) as caught:
        save(store, template="loyalty_program", revises=first.id)
    assert "is a retention_strategy plan, not loyalty_program" in str(caught.value)


def test_concurrent_revisions_of_one_plan_get_distinct_numbers(store):
    first = save(store, "Draft")
    revisions: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            record = save(store, "Revision", revises=first.id)
            with lock:
                revisions.append(record.revision)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(revisions) == list(range(2, 22))
    assert [h.revision for h in store.get(first.id).history] == list(range(1, 22))


def test_postgres_password_never_shown():
    assert safe_dsn("postgresql://app:s3cr3t-pw@db:5432/plans") == "postgresql://app:***@db:5432/plans"
    assert "hunter2" not in safe_dsn("host=db password=hunter2 dbname=x")


def test_unreachable_postgres_is_a_bounded_clear_error():
    from retention_mcp.generation.store import StoreBusyError

    store = PostgresPlanStore("postgresql://nobody:pw@127.0.0.1:1/none", write_timeout=1.0)
    with pytest.raises(StoreBusyError) as caught:
        store.list()
    assert "unreachable" in str(caught.value) and "pw@" not in str(caught.value)
    store.close()


def test_audit_entries_are_written_in_the_background_in_batches(store, caplog):
    writer = AuditWriter(store, batch=50)
    for i in range(120):
        writer.put(AuditEntry(at=now_iso(), who=f"user{i % 3}", tool="analyze_churn", outcome="ok"))
    writer.flush()
    assert len(store.audit_log(limit=500)) == 120
    assert len(store.audit_log(limit=500, who="user1")) == 40


def test_an_audit_log_that_fails_never_fails_the_caller(tmp_path, caplog):
    class Broken:
        def record(self, entries):
            raise OSError("disk full")

    writer = AuditWriter(Broken())  # type: ignore[arg-type]
    writer.put(AuditEntry(at=now_iso(), who="alice", tool="analyze_churn", outcome="ok"))
    writer.flush()
    assert "1 entries not written: disk full" in caplog.text
    writer.put(AuditEntry(at=now_iso(), who="alice", tool="analyze_churn", outcome="ok"))  # still accepts entries
    writer.flush()


@pytest.mark.parametrize(
    "argv",
    [["store", "migrate"], ["plans", "list"], ["audit"]],
    ids=["store migrate", "plans list", "audit"],
)
def test_a_command_closes_the_store_it_opened(postgres_url, argv, capsys, monkeypatch):
    """Each command closes the store it opened when it ends, leaving no connection behind; before, the open pool was
    left to the garbage collector, which could reach it in one of the pool's own threads and fail to stop them."""
    import psycopg

    from retention_mcp.cli import main

    main(["store", "migrate", "--plan-store", postgres_url])  # the tables the other commands read
    closed: list[PostgresPlanStore] = []
    close = PostgresPlanStore.close

    def recorded(self: PostgresPlanStore) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(PostgresPlanStore, "close", recorded)
    assert main([*argv, "--plan-store", postgres_url]) == 0, capsys.readouterr().err
    assert len(closed) == 1
    with psycopg.connect(postgres_url) as con:
        others = con.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert others == (0,)
