"""Template versions on team servers, through real HTTP servers on 127.0.0.1: two stateless replicas on one PostgreSQL
(and one server on SQLite) serve what the store's `production` label names; a publish through the command line reaches
the other replica, a rollback takes it back, plans name the version they were made with, and a token without the
publish role neither sees the publish tools nor may call them (403, in the audit log)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from retention_mcp.paths import shipped_dir
from tests.process.test_team_server import EXAMPLE, PLAN, call, cli, client_for, server_env
from tests.process.test_transports import http_server
from tests.standin_model import plan

pytestmark = pytest.mark.anyio


NAME = EXAMPLE["tool"]
MARK = "Name the owner of every action in the plan."


def changed_template(folder: Path) -> Path:
    """The bundled template with one more working rule in each language."""
    folder.mkdir()
    for path in shipped_dir("templates").glob(f"{NAME}.*.prompty"):
        head, sep, rest = path.read_text(encoding="utf-8").partition("\nsystem:\n")
        (folder / path.name).write_text(f"{head}{sep}{MARK}\n{rest}", encoding="utf-8")
    return folder


async def rendered(base: str, token: str) -> str:
    async with client_for(base, token) as client:
        result = await client.call_tool(NAME, EXAMPLE["arguments"])
    assert not result.is_error, result.content
    return result.structured_content["prompt"]


async def serves(base: str, token: str, marked: bool) -> None:
    """Wait until `base` serves the changed template (or the bundled one); a generous bound, not a measurement."""
    with anyio.fail_after(30):
        while (MARK in await rendered(base, token)) != marked:
            await anyio.sleep(0.1)


async def made_plan(base: str, token: str) -> dict:
    async with client_for(base, token) as client:
        made = await client.call_tool(NAME, {**EXAMPLE["arguments"], "mode": "plan"})
        assert not made.is_error, made.content
        read = await client.read_resource(f"plan://{made.structured_content['plan_id']}")
    return json.loads(read.contents[0].text)


async def the_flow(team, standin, store: str, tmp_path: Path, replicas: int) -> None:
    standin.default = lambda received: plan(PLAN)
    env = server_env(team, store, standin, RETENTION_MCP_PUBLISHERS="alice", RETENTION_MCP_RENDERS_PER_MINUTE="0")
    folder = changed_template(tmp_path / "edited")
    with http_server("--stateless", env=env) as one, http_server("--stateless", env=env) as other:
        two = other if replicas == 2 else one
        before = await made_plan(two, team["bob"])
        assert MARK not in await rendered(two, team["bob"])
        code, out = cli(
            "templates", "publish", str(folder), "--label", "production", "-m", "owners", "--plan-store", store
        )
        assert code == 0 and f"{NAME}: published version 2" in out and "'production' version 1 -> version 2" in out
        await serves(two, team["bob"], marked=True)
        after = await made_plan(two, team["bob"])
        code, out = cli("templates", "publish", str(folder), "--label", "production", "--plan-store", store)
        assert code == 0 and "identical to version 2" in out and "nothing published" in out
        code, out = cli("templates", "rollback", NAME, "--plan-store", store)
        assert code == 0 and "version 2 -> version 1" in out
        await serves(two, team["bob"], marked=False)

        async with client_for(one, team["bob"]) as bob:
            bob_tools = {t.name for t in (await bob.list_tools()).tools}
        async with client_for(one, team["alice"]) as alice:
            alice_tools = {t.name for t in (await alice.list_tools()).tools}
            listing = json.loads((await alice.read_resource(f"template://{NAME}/versions")).contents[0].text)
        refused = call(one, team["bob"], "move_template_label", {"name": NAME, "version": 2})
        assert refused.status_code == 403 and "publish role" in refused.json()["error"]["message"]
        await serves(two, team["bob"], marked=False)  # the refused move moved nothing

    assert "publish_template" not in bob_tools and {"publish_template", "move_template_label"} <= alice_tools
    assert [v["version"]["version"] for v in listing["versions"]] == [1, 2] and listing["labels"] == {"production": 1}
    assert [(m["from_version"], m["to_version"], m["action"]) for m in listing["moves"]] == [
        (None, 1, "publish"),
        (1, 2, "publish"),
        (2, 1, "rollback"),
    ]
    assert (before["template_revision"], after["template_revision"]) == (1, 2)
    assert before["template_hash"] != after["template_hash"] and after["template_hash"].startswith("sha256:")
    code, out = cli("audit", "--json", "--plan-store", store)
    entries = json.loads(out)
    assert ("bob", "move_template_label", "forbidden") in {(e["who"], e["tool"], e["outcome"]) for e in entries}
    assert {"templates publish", "templates rollback"} <= {e["tool"] for e in entries}
    code, out = cli("templates", "history", NAME, "--plan-store", store)
    assert code == 0 and "v2" in out and "owners" in out and "rollback" in out


async def test_two_replicas_on_postgres_serve_the_published_version_and_roll_back(
    team, standin, postgres_url, tmp_path
):
    await the_flow(team, standin, postgres_url, tmp_path, replicas=2)


async def test_one_server_on_sqlite_serves_the_published_version_and_rolls_back(team, standin, tmp_path):
    await the_flow(team, standin, str(tmp_path / "plans.sqlite3"), tmp_path, replicas=1)
