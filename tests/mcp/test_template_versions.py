"""Template versions on a SQLite plan store: the command line (publish checked as `templates check`, identical content
a no-op, history with parameter changes, diff by sections and parameters, label, rollback, re-rendering a plan with
its version), the MCP resources and publish tools (absent and refused without the publish role), the bundled
templates seeded at first start and after an upgrade, and a server following the store as it changes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import anyio
import pytest
from mcp import Client

from retention_mcp.app import RetentionApp
from retention_mcp.generation.served_templates import bundled_sources
from retention_mcp.generation.stores import open_store
from retention_mcp.generation.template_store import TemplateStore
from retention_mcp.registry import Registry
from retention_mcp.reload import StoreWatcher
from retention_mcp.server import build_server
from retention_mcp.settings import Settings
from tests.conftest import MINIMAL_TEMPLATE, write_template
from tests.unit.test_cli import ENV, run

pytestmark = pytest.mark.anyio


def note(version: str = "1.0.0", extra: str = "") -> str:
    """A one-language template; `extra` adds an input (declared and used) named `tone` of that kind."""
    text = MINIMAL_TEMPLATE.format(name="note", title="Note", version=version, locale="en").lstrip("\n")
    if extra:
        declared = f"  - name: tone\n    kind: {extra}\n    description: The tone.\n"
        text = text.replace("inputs:\n", "inputs:\n" + declared).replace("</topic>\n", "</topic>\n{{ tone }}\n")
    return text


@pytest.fixture
def store_env(tmp_path) -> dict:
    return ENV | {"RETENTION_MCP_PLAN_STORE": str(tmp_path / "plans.sqlite3")}


def folder(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    write_template(path, "note.en.prompty", text)
    return path


def test_publish_history_diff_label_and_rollback_from_the_command_line(tmp_path, store_env):
    first, second = folder(tmp_path, "a", note()), folder(tmp_path, "b", note("1.1.0", extra="integer"))
    published = run("templates", "publish", str(first), "--label", "production", "-m", "first", env=store_env)
    assert published.returncode == 0, published.stderr
    assert "note: published version 1" in published.stdout and "'production' (new) -> version 1" in published.stdout
    again = run("templates", "publish", str(first), "--label", "production", env=store_env)
    assert again.returncode == 0 and "identical to version 1 (labels: production); nothing published" in again.stdout
    changed = run("templates", "publish", str(second), "--label", "staging", "-m", "tone", env=store_env)
    assert "published version 2" in changed.stdout and "parameters changed: added tone (integer)" in changed.stdout

    history = run("templates", "history", "note", env=store_env)
    assert history.returncode == 0, history.stderr
    assert "v1 [production]" in history.stdout and "v2 [staging]" in history.stdout
    assert "parameters changed: added tone (integer)" in history.stdout
    diff = run("templates", "diff", "note", "1", "2", "--json", env=store_env)
    result = json.loads(diff.stdout)
    assert result["metadata"] == ["version: 1.0.0 -> 1.1.0"] and result["parameters"] == ["added tone (integer)"]
    assert any(line.startswith("+{{ tone }}") for line in result["text"])

    label = run("templates", "label", "note", "2", "production", env=store_env)
    assert "'production' version 1 -> version 2" in label.stdout
    back = run("templates", "rollback", "note", env=store_env)
    assert back.returncode == 0 and "rolled back 'production' version 2 -> version 1" in back.stdout
    again = run("templates", "rollback", "note", env=store_env)  # never forward to the version just rolled back from
    assert again.returncode != 0 and "no earlier version under 'production'" in again.stderr
    none_left = run("templates", "rollback", "note", "--label", "staging", env=store_env)
    assert none_left.returncode != 0 and "no earlier version under 'staging'" in none_left.stderr
    moves = json.loads(run("templates", "history", "note", "--json", env=store_env).stdout)["moves"]
    assert [(m["label"], m["from_version"], m["to_version"], m["action"]) for m in moves] == [
        ("production", None, 1, "publish"),
        ("staging", None, 2, "publish"),
        ("production", 1, 2, "label"),
        ("production", 2, 1, "rollback"),
    ]
    audit = json.loads(run("audit", "--json", env=store_env).stdout)
    assert [e["tool"] for e in audit] == [
        "templates rollback",
        "templates label",
        "templates publish",
        "templates publish",
    ]  # the identical publish wrote nothing, so it is not a publish


def test_publish_checks_as_templates_check_does_and_writes_nothing_on_a_problem(tmp_path, store_env):
    broken = folder(tmp_path, "bad", note().replace("{{ topic }}", "{{ topic }} {{ missing }}"))
    refused = run("templates", "publish", str(broken), "--label", "production", env=store_env)
    assert refused.returncode == 1 and "nothing was published" in refused.stderr
    assert f"{broken / 'note.en.prompty'}:" in refused.stderr and "missing" in refused.stderr
    assert run("templates", "history", "note", env=store_env).returncode == 2  # no versions: bad input, as diff says


def test_the_bundled_templates_are_version_1_and_an_upgrade_follows_only_a_bundled_label(tmp_path):
    store = TemplateStore(open_store(tmp_path / "plans.sqlite3"))
    bundled = bundled_sources(Registry.load())
    assert sorted(store.seed(bundled)) == sorted(bundled) and store.seed(bundled) == []
    assert {n: v.version for n, v in store.served().items()} == dict.fromkeys(bundled, 1)
    files, _ = bundled["churn_analysis"]
    store.publish("loyalty_program", {"en": "team's own"}, "sha256:own", "alice", "ours", "production")
    upgraded = dict(bundled)
    for name in ("churn_analysis", "loyalty_program"):
        changed = {language: text + "\n" for language, text in bundled[name][0].items()}
        upgraded[name] = (changed, f"sha256:new-{name}")
    store.seed(upgraded)
    served = store.served()
    assert served["churn_analysis"].version == 3 - 1  # the new release's text, as version 2
    assert served["loyalty_program"].author == "alice"  # the team's own publish stays live
    assert files == store.get("churn_analysis", 1).files


async def test_publish_tools_are_listed_and_allowed_only_with_the_publish_role(tmp_path):
    path = tmp_path / "plans.sqlite3"
    plain = build_server(RetentionApp(Settings(plan_store=path, template_label="production")))
    publisher = build_server(RetentionApp(Settings(plan_store=path, template_label="production", publishers=["local"])))
    async with Client(plain) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool("publish_template", {"name": "note", "files": {"en": note()}})
    assert "publish_template" not in names and "move_template_label" not in names
    assert refused.is_error and "publish role" in refused.content[0].text
    async with Client(publisher) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        made = await client.call_tool(
            "publish_template", {"name": "note", "files": {"en": note()}, "label": "production"}
        )
        served = {t.name for t in (await client.list_tools()).tools}
        listing = json.loads((await client.read_resource("template://note/versions")).contents[0].text)
        version = json.loads((await client.read_resource("template://note@1")).contents[0].text)
        await client.call_tool("publish_template", {"name": "note", "files": {"en": note("1.1.0", "string")}})
        compared = json.loads((await client.read_resource("template://note/compare/1/2")).contents[0].text)
        moved = await client.call_tool("move_template_label", {"name": "note", "version": 2})
        bad = await client.call_tool("publish_template", {"name": "note", "files": {"en": "no front matter"}})
    assert {"publish_template", "move_template_label"} <= names
    assert not made.is_error and made.structured_content["published"]["created"] is True
    assert "note" in served  # published with a label: served at once
    assert listing["labels"] == {"production": 1} and version["files"]["en"].startswith("---\nname: note")
    assert compared["parameters"] == ["added tone (string)"] and not moved.is_error
    assert bad.is_error and "note.en.prompty:1" in bad.content[0].text


async def test_a_server_follows_a_publish_and_a_rollback_made_elsewhere(tmp_path, store_env):
    path = tmp_path / "plans.sqlite3"
    write_template(tmp_path, "note.en.prompty", note())
    assert (
        run(
            "templates", "publish", str(tmp_path / "note.en.prompty"), "--label", "production", env=store_env
        ).returncode
        == 0
    )
    server = build_server(RetentionApp(Settings(plan_store=path, template_label="production")))
    log = io.StringIO()
    watcher = StoreWatcher(server, wait=0.05, log=log)
    notified: list[str] = []

    async def on_message(message) -> None:
        notified.append(getattr(message, "method", ""))

    async with Client(server, mode="legacy", message_handler=on_message) as client, anyio.create_task_group() as tasks:
        tasks.start_soon(watcher.run)
        before = (await client.list_tools()).tools
        changed = folder(tmp_path, "next", note("1.1.0", extra="boolean"))
        await anyio.to_thread.run_sync(
            lambda: run("templates", "publish", str(changed), "--label", "production", env=store_env)
        )
        with anyio.fail_after(30):
            while watcher.reloads < 1:
                await anyio.sleep(0.02)
        after = {t.name: t for t in (await client.list_tools()).tools}
        await anyio.to_thread.run_sync(lambda: run("templates", "rollback", "note", env=store_env))
        with anyio.fail_after(30):
            while watcher.reloads < 2:
                await anyio.sleep(0.02)
        rolled = {t.name: t for t in (await client.list_tools()).tools}
        tasks.cancel_scope.cancel()
    assert "tone" not in next(t for t in before if t.name == "note").input_schema["properties"]
    assert (
        "tone" in after["note"].input_schema["properties"] and "tone" not in rolled["note"].input_schema["properties"]
    )
    assert "notifications/tools/list_changed" in notified
    assert "serving note version 2 (production); parameters changed: added tone (boolean)" in log.getvalue()
    assert "serving note version 1 (production); parameters changed: removed tone" in log.getvalue()


def test_a_plan_names_its_template_version_and_renders_again_with_it(tmp_path, store_env):
    plan_file = Path(__file__).parents[2] / "server/retention_mcp/examples/plans/saas-collaboration-en.json"
    checked = run(
        "check", str(plan_file), "--template", "retention_strategy", "--example", "saas-collaboration-en",
        env=store_env | {"RETENTION_MCP_TEMPLATE_LABEL": "production"},
    )  # fmt: skip
    assert checked.returncode in (0, 3, 4), checked.stderr
    plan_id = json.loads(run("plans", "list", "--json", env=store_env).stdout)[0]["id"]
    shown = run("plans", "show", plan_id, env=store_env)
    assert "template: retention_strategy version 1 (" in shown.stderr and "sha256:" in shown.stderr
    again = run("templates", "rerender", plan_id, env=store_env)
    assert again.returncode == 0 and "retention_strategy version 1" in again.stderr
    assert again.stdout.startswith("You are a senior customer-retention strategist")


async def test_a_server_serves_the_label_its_setting_names_and_production_where_that_label_is_absent(
    tmp_path, store_env
):
    assert (
        run(
            "templates", "publish", str(folder(tmp_path, "a", note())), "--label", "production", env=store_env
        ).returncode
        == 0
    )
    assert (
        run(
            "templates", "publish", str(folder(tmp_path, "b", note("1.1.0"))), "--label", "staging", env=store_env
        ).returncode
        == 0
    )
    path = tmp_path / "plans.sqlite3"
    staging = RetentionApp(Settings(plan_store=path, template_label="staging")).registry
    production = RetentionApp(Settings.from_env(store_env | {"RETENTION_MCP_TEMPLATE_LABEL": "production"})).registry
    assert (staging.get("note").version, staging.get("note").revision) == ("1.1.0", 2)
    assert (production.get("note").version, production.get("note").revision) == ("1.0.0", 1)
    assert staging.get("churn_analysis").revision == 1  # no staging label: production's version
    bad = run("templates", "list", env=store_env | {"RETENTION_MCP_TEMPLATE_LABEL": "Prod"})
    assert bad.returncode != 0 and "RETENTION_MCP_TEMPLATE_LABEL must be 1-40 lower-case letters" in bad.stderr


def test_publishing_one_language_of_a_two_language_template_is_refused(tmp_path, store_env):
    """A publish that leaves out a language the served version has would stop serving that language: refused, and
    nothing is written."""
    from tests.conftest import ROOT

    edited = tmp_path / "edited"
    edited.mkdir()
    source = (ROOT / "templates" / "retention_strategy.en.prompty").read_text("utf-8")
    (edited / "retention_strategy.en.prompty").write_text(source.replace("# ", "# Edited: ", 1), encoding="utf-8")
    assert run("templates", "history", "retention_strategy", env=store_env).returncode == 0  # the store is seeded
    refused = run("templates", "publish", str(edited), "--label", "production", env=store_env)
    assert refused.returncode != 0
    assert "the served version has zh too, and this publish has only en" in refused.stderr
    assert "请把模板的所有语言文件一起发布" in refused.stderr
    history = json.loads(run("templates", "history", "retention_strategy", "--json", env=store_env).stdout)
    assert [v["version"]["version"] for v in history["versions"]] == [1]
