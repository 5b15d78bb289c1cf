"""A plan store held locked by another process: the server keeps serving, waits a bounded time, and a plan that
cannot be saved goes back to the client marked as not saved, never lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest
from mcp import Client

from retention_mcp.generation.sqlite_store import SQLitePlanStore
from retention_mcp.generation.store import NewPlan, StoreBusyError
from retention_mcp.models import ValidationReport
from retention_mcp.server import build_server
from retention_mcp.settings import ModelSettings
from tests.conftest import SCENARIOS, fixture_plan, plan_file
from tests.standin_model import plan

pytestmark = pytest.mark.anyio

EXAMPLE = next(s for s in SCENARIOS if plan_file(s["id"]))
PLAN = fixture_plan(EXAMPLE["id"])

HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
    """
)


class LockHolder:
    """Another process holding the SQLite file's write lock until told to let go."""

    def __init__(self, path: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("\n")
            self.process.stdin.flush()
            self.process.wait(timeout=10)


@pytest.fixture
def store_path(tmp_path) -> Path:
    path = tmp_path / "plans.sqlite3"
    SQLitePlanStore(path).list()  # the schema exists, as on any server that has run before
    return path


def plan_server(registry, standin, store_path):
    settings = ModelSettings(
        provider="openai", base_url=standin.openai_url, model="stand-in-1", timeout=5, max_retries=0, total_timeout=30
    )
    return build_server(registry, model=settings, plan_store=store_path)


async def list_plans(client: Client) -> list[dict]:
    result = await client.call_tool("list_plans", {})
    assert not result.is_error, result.content
    return result.structured_content["plans"]


async def test_a_store_locked_past_the_timeout_returns_the_plan_marked_not_saved(
    registry, standin, store_path, monkeypatch
):
    monkeypatch.setenv("RETENTION_MCP_STORE_TIMEOUT", "0.5")
    standin.queue(plan(PLAN))
    holder = LockHolder(store_path)
    try:
        async with Client(plan_server(registry, standin, store_path)) as client:
            result = await client.call_tool(EXAMPLE["tool"], {**EXAMPLE["arguments"], "mode": "plan"})
            assert not result.is_error, result.content
            data = result.structured_content
            assert data["store_status"] == "not_saved" and "plan_id" not in data
            assert "locked" in data["store_error"] and "RETENTION_MCP_STORE_TIMEOUT" in data["store_error"]
            assert data["plan"]["title"] == PLAN["title"]  # the plan itself came back whole
            text = result.content[0].text
            assert text.startswith("> **") and PLAN["title"] in text
            holder.release()
            assert await list_plans(client) == []  # nothing half-written
            standin.queue(plan(PLAN))
            again = await client.call_tool(EXAMPLE["tool"], {**EXAMPLE["arguments"], "mode": "plan"})
            assert again.structured_content["store_status"] == "saved"
            assert [p["id"] for p in await list_plans(client)] == [again.structured_content["plan_id"]]
    finally:
        holder.release()


async def test_while_a_save_waits_on_the_lock_the_server_keeps_answering(registry, standin, store_path):
    standin.queue(plan(PLAN))
    holder = LockHolder(store_path)
    saving = anyio.Event()
    outcome: dict = {}

    async def on_progress(progress, total, message):
        if message and ("Saving" in message or "保存" in message):
            saving.set()

    try:
        async with Client(plan_server(registry, standin, store_path)) as client:

            async def generate() -> None:
                result = await client.call_tool(
                    EXAMPLE["tool"], {**EXAMPLE["arguments"], "mode": "plan"}, progress_callback=on_progress
                )
                outcome["result"] = result

            async with anyio.create_task_group() as tg:
                tg.start_soon(generate)
                with anyio.fail_after(20):  # the lock is held until released below: a stuck loop never gets here
                    await saving.wait()
                    rendered = await client.call_tool(EXAMPLE["tool"], EXAMPLE["arguments"])  # prompt mode
                    assert not rendered.is_error
                    assert await list_plans(client) == []  # reading needs no write lock
                assert "result" not in outcome  # the save is still waiting on the other process
                holder.release()
            data = outcome["result"].structured_content
            assert data["store_status"] == "saved"
            assert [p["id"] for p in await list_plans(client)] == [data["plan_id"]]
    finally:
        holder.release()


def test_store_gives_up_after_its_bounded_time(store_path):
    """The backoff clock is injected: the store's waiting adds up to its bound, then it says so."""
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    store = SQLitePlanStore(store_path, write_timeout=4.0, sleep=sleep, clock=lambda: now[0])
    holder = LockHolder(store_path)
    try:
        with pytest.raises(StoreBusyError) as caught:
            store.save(
                NewPlan(
                    template="t",
                    version="1",
                    language="en",
                    model="m",
                    arguments={},
                    plan={"title": "x"},
                    validation=ValidationReport(passed=True, checks=[]),
                    markdown="",
                )
            )
    finally:
        holder.release()
    assert len(waits) >= 3 and waits == sorted(waits[:3]) + waits[3:]  # backoff grows
    assert sum(waits) == pytest.approx(4.0)
    assert "4 s" in str(caught.value) and "锁定" in str(caught.value)
    assert store.list() == []  # after the lock is gone the store works again
