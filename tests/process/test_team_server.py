"""A server shared by a team, through real HTTP servers on 127.0.0.1: named tokens, the author of each plan and the
audit log, per-token rate limits (429 with Retry-After), per-token session caps, readiness, refusal to serve a
non-loopback address without tokens, and two stateless replicas sharing one PostgreSQL store."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from retention_mcp.cli import main
from tests.conftest import SCENARIOS, fixture_plan, plan_file
from tests.process.test_transports import ENV, http_server
from tests.standin_model import plan

pytestmark = pytest.mark.anyio

EXAMPLE = next(s for s in SCENARIOS if s["tool"] == "retention_strategy" and plan_file(s["id"]))
PLAN = fixture_plan(EXAMPLE["id"])
JSONRPC = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def server_env(team, store, standin=None, **extra: str) -> dict:
    env = ENV | {"RETENTION_MCP_TOKENS_FILE": str(team["file"]), "RETENTION_MCP_PLAN_STORE": str(store)} | extra
    if standin is not None:
        env |= {
            "RETENTION_MCP_LLM_PROVIDER": "openai",
            "RETENTION_MCP_LLM_BASE_URL": standin.openai_url,
            "RETENTION_MCP_LLM_MODEL": "stand-in-1",
            "RETENTION_MCP_LLM_MAX_RETRIES": "0",
        }
    return env


def client_for(base: str, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return Client(streamable_http_client(f"{base}/mcp", http_client=http))


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def call(base: str, token: str, name: str, arguments: dict, request_id: int = 1) -> httpx2.Response:
    """One tools/call on a stateless server, as raw JSON-RPC, to see the HTTP status itself."""
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    return httpx2.post(f"{base}/mcp", json=body, headers=JSONRPC | {"Authorization": f"Bearer {token}"}, timeout=60)


@pytest.mark.parametrize("mode", [["--stateless"], []], ids=["stateless", "stateful"])
async def test_named_tokens_record_the_author_and_an_audit_log_without_argument_values(team, tmp_path, standin, mode):
    store = tmp_path / "plans.sqlite3"
    standin.queue(plan(PLAN))
    with http_server(*mode, env=server_env(team, store, standin)) as base:
        assert httpx2.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}).status_code == 401
        async with client_for(base, team["alice"]) as alice:
            made = await alice.call_tool(EXAMPLE["tool"], {**EXAMPLE["arguments"], "mode": "plan"})
        assert not made.is_error, made.content
        plan_id = made.structured_content["plan_id"]
        async with client_for(base, team["bob"]) as bob:
            rendered = await bob.call_tool(EXAMPLE["tool"], EXAMPLE["arguments"])
            refused = await bob.call_tool(EXAMPLE["tool"], {})
            listed = await bob.call_tool("list_plans", {})
        assert not rendered.is_error and refused.is_error
        assert listed.structured_content["plans"][0]["author"] == "alice"
    code, out = cli("audit", "--json", "--plan-store", str(store))
    assert code == 0
    entries = json.loads(out)
    assert [(e["who"], e["tool"], e["outcome"]) for e in entries] == [
        ("bob", EXAMPLE["tool"], "error"),
        ("bob", EXAMPLE["tool"], "ok"),
        ("alice", EXAMPLE["tool"], "ok"),
    ]  # newest first; listing plans is not audited
    assert entries[-1]["plan_id"] == plan_id and entries[-1]["template"] == EXAMPLE["tool"]
    for value in EXAMPLE["arguments"].values():  # who, when, what and how it ended: never what was asked
        if isinstance(value, str) and len(value) > 3:
            assert value not in out
    code, out = cli("audit", "--plan-store", str(store))
    head, *rows = out.splitlines()
    assert head.split() == ["when", "(UTC)", "who", "tool", "template", "plan", "outcome"] and len(rows) == 3
    assert rows[-1].split()[1:] == ["alice", EXAMPLE["tool"], EXAMPLE["tool"], plan_id, "ok"]
    code, out = cli("plans", "list", "--json", "--plan-store", str(store))
    assert json.loads(out)[0]["author"] == "alice"


async def test_rate_limits_answer_429_with_retry_after_per_token(team, tmp_path):
    env = server_env(team, tmp_path / "plans.sqlite3", RETENTION_MCP_ANALYSES_PER_MINUTE="2")
    with http_server("--stateless", env=env) as base:
        analysis = {"path": "subscriptions.csv", "charts": False}
        first = [call(base, team["alice"], "analyze_churn", analysis, i) for i in (1, 2)]
        assert [r.status_code for r in first] == [200, 200]
        limited = call(base, team["alice"], "analyze_churn", analysis, 3)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        error = limited.json()
        assert error["id"] == 3 and "2 analyses per minute" in error["error"]["message"]
        assert call(base, team["bob"], "analyze_churn", analysis, 4).status_code == 200  # bob has his own budget
        renders = [call(base, team["alice"], EXAMPLE["tool"], EXAMPLE["arguments"], i) for i in range(5, 9)]
        assert {r.status_code for r in renders} == {200}  # renders have their own, larger budget


async def test_sessions_are_capped_per_token(team, tmp_path):
    env = server_env(team, tmp_path / "plans.sqlite3", RETENTION_MCP_SESSIONS_PER_TOKEN="2")
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    with http_server(env=env) as base:

        def open_session(token: str) -> httpx2.Response:
            return httpx2.post(f"{base}/mcp", json=initialize, headers=JSONRPC | {"Authorization": f"Bearer {token}"})

        opened = [open_session(team["alice"]) for _ in range(2)]
        assert [r.status_code for r in opened] == [200, 200]
        third = open_session(team["alice"])
        assert third.status_code == 429 and "retry-after" in third.headers
        assert open_session(team["bob"]).status_code == 200  # others are not held up
        sid = opened[0].headers["mcp-session-id"]
        closed = httpx2.delete(
            f"{base}/mcp", headers={"Authorization": f"Bearer {team['alice']}", "mcp-session-id": sid}
        )
        assert closed.status_code < 300
        assert open_session(team["alice"]).status_code == 200


def test_a_non_loopback_address_without_tokens_is_refused(capsys):
    code = main(["serve", "--transport", "http", "--host", "0.0.0.0", "--port", "9"])
    assert code == 2
    err = capsys.readouterr().err
    assert "without authentication" in err and "--allow-no-auth" in err and "RETENTION_MCP_TOKENS_FILE" in err


async def test_readiness_follows_the_plan_store(team, tmp_path):
    with http_server("--stateless", env=server_env(team, tmp_path / "plans.sqlite3")) as base:
        assert httpx2.get(f"{base}/readyz").json() == {"status": "ready"}
    unreachable = "postgresql://nobody:pw@127.0.0.1:9/none"
    env = server_env(team, unreachable, RETENTION_MCP_STORE_TIMEOUT="1")
    with http_server("--stateless", env=env) as base:
        ready = httpx2.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        assert "pw" not in ready.text
        assert httpx2.get(f"{base}/healthz").status_code == 200  # alive, just not ready


async def test_two_replicas_share_one_postgres_store(team, standin, postgres_url):
    standin.default = lambda received: plan(PLAN)
    env = server_env(team, postgres_url, standin)
    code, out = cli("store", "migrate", "--plan-store", postgres_url)
    assert code == 0 and "migration" in out and "@" in out and "postgres@" in out  # no password in this URL
    with http_server("--stateless", env=env) as one, http_server("--stateless", env=env) as two:
        async with client_for(one, team["alice"]) as alice:
            made = await alice.call_tool(EXAMPLE["tool"], {**EXAMPLE["arguments"], "mode": "plan"})
        assert not made.is_error, made.content
        plan_id = made.structured_content["plan_id"]
        async with client_for(two, team["bob"]) as bob:
            listed = await bob.call_tool("list_plans", {})
            read = await bob.read_resource(f"plan://{plan_id}")
        assert [p["id"] for p in listed.structured_content["plans"]] == [plan_id]
        stored = json.loads(read.contents[0].text)
        assert stored["plan"] == made.structured_content["plan"] and stored["author"] == "alice"

        ids: list[str] = []

        async def generate(base: str, token: str) -> None:
            async with client_for(base, token) as client:
                for _ in range(3):
                    result = await client.call_tool(EXAMPLE["tool"], {**EXAMPLE["arguments"], "mode": "plan"})
                    assert not result.is_error, result.content
                    ids.append(result.structured_content["plan_id"])

        async with anyio.create_task_group() as tg:
            for base, token in ((one, team["alice"]), (two, team["bob"]), (one, team["bob"]), (two, team["alice"])):
                tg.start_soon(generate, base, token)
    code, out = cli("plans", "list", "--json", "--limit", "100", "--plan-store", postgres_url)
    saved = {p["id"] for p in json.loads(out)}
    assert len(ids) == 12 and saved == {plan_id, *ids}  # nothing lost, nothing doubled
    code, out = cli("plans", "export", plan_id, "--format", "json", "--out", "-", "--plan-store", postgres_url)
    assert code == 0 and json.loads(out)["id"] == plan_id


async def test_over_http_the_folder_the_server_starts_in_is_not_readable(team, tmp_path):
    """A shared server reads only the data folders it is given: not whatever folder it was started from."""
    (tmp_path / "creds.csv").write_text("customer_id,password\na,hunter2\nb,Winter2026!\n")
    env = server_env(team, tmp_path / "plans.sqlite3")
    with http_server("--stateless", env=env, cwd=tmp_path) as base:
        refused = call(base, team["alice"], "analyze_churn", {"path": "creds.csv", "charts": False})
        example = call(base, team["alice"], "analyze_churn", {"path": "subscriptions.csv", "charts": False})
    assert "hunter2" not in refused.text
    assert "no such file in the data directories" in refused.text or "outside the data directories" in refused.text
    assert example.status_code == 200 and '"isError":true' not in example.text.replace(" ", "")
