"""Plan mode end to end: MCP client -> server -> a stand-in model server on 127.0.0.1 (both API dialects),
with the faults real endpoints have, the repair round, the plan store and the fallbacks."""

from __future__ import annotations

import copy
import io
import json
import logging
import re
import sqlite3
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp_types import CreateMessageResult, TextContent

from retention_mcp.models import EffectiveConstraints
from retention_mcp.server import build_server
from retention_mcp.settings import ModelSettings
from tests.conftest import SCENARIOS, TEMPLATE_VERSIONS, fixture_plan, plan_file
from tests.standin_model import StandInModel, hang, no_json_schema, plan, status, text

pytestmark = pytest.mark.anyio

PUBLIC = [s for s in SCENARIOS if plan_file(s["id"])]
KEY = "sk-test-DO-NOT-LEAK-1234567890"
PROVIDERS = ["openai", "anthropic"]


def scenario(scenario_id: str) -> dict:
    return next(s for s in SCENARIOS if s["id"] == scenario_id)


SAAS_ZH = scenario("saas-collaboration-zh")


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "plans.sqlite3"


@pytest.fixture
def backoff(monkeypatch) -> list[float]:
    """The backends' backoff clock, replaced by one that records each wait and does not spend it."""
    from retention_mcp.generation.backends import HTTPBackend

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(HTTPBackend, "sleep", staticmethod(sleep))
    return waits


def settings(standin: StandInModel, provider: str = "openai", **overrides) -> ModelSettings:
    values = dict(
        provider=provider,
        base_url=standin.url(provider),
        model="stand-in-1",
        api_key=KEY,
        timeout=5.0,
        max_retries=3,
        total_timeout=30.0,
    )
    values.update(overrides)
    return ModelSettings(**values)


def plan_server(registry, standin, store, provider="openai", **overrides):
    return build_server(registry, "all", model=settings(standin, provider, **overrides), plan_store=store)


async def call_plan(client: Client, scenario_data: dict, **extra):
    return await client.call_tool(scenario_data["tool"], {**scenario_data["arguments"], "mode": "plan"}, **extra)


# -- the public scenarios -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("example", PUBLIC, ids=lambda s: s["id"])
async def test_public_scenarios_get_plans_that_pass_validation(registry, standin, store, provider, example):
    standin.queue(plan(fixture_plan(example["id"])))
    async with Client(plan_server(registry, standin, store, provider)) as client:
        result = await call_plan(client, example)
        assert not result.is_error, result.content
        data = result.structured_content
        assert data["mode"] == "plan" and data["template"] == example["tool"]
        assert data["language"] == example["language"]
        unverified = example["id"] == "subscription-playbook-en"  # no budget, cap, horizon, team or goal to check
        assert data["validation"]["status"] == ("unverified" if unverified else "passed"), data["validation"]
        assert data["validation"]["passed"] is not unverified
        assert data["repaired"] is False and data["model"] == "stand-in-1"
        assert data["plan"]["kpis"] and data["plan"]["timeline"]["phases"]
        # the Markdown is in the plan's language: the status first, the server's checks at the end
        markdown = result.content[0].text
        assert markdown == data["markdown"]
        zh = example["language"] == "zh"
        status = markdown.split("\n")[2]
        if unverified:
            assert status.startswith("> **Validation: unverified**"), status
            assert data["validation"]["to_fill"] and "### To fill in" in markdown
        else:
            assert status.startswith("> **校验结果:通过**" if zh else "> **Validation: passed**"), status
        assert ("## 服务器校验" if zh else "## Checks by the server") in markdown
        # saved, and readable as a resource
        stored = await client.read_resource(data["plan_uri"])
    record = json.loads(stored.contents[0].text)
    assert record["plan"] == data["plan"] and record["validation"] == data["validation"]
    assert record["status"] == data["validation"]["status"] and record["repaired"] is False
    # the store keeps the effective constraints and their sources (the result leaves out empty values)
    assert EffectiveConstraints.model_validate(record["constraints"]) == EffectiveConstraints(**data["constraints"])
    # the result and the stored plan carry the template version they were written with
    assert data["version"] == record["version"] == TEMPLATE_VERSIONS[example["tool"]]
    assert record["arguments"]["language"] == "auto" or record["arguments"] == {
        **example["arguments"],
        "language": "auto",
    }
    (request,) = standin.received
    assert request.dialect == provider
    # the model was told the constraints it will be checked against
    facts = example.get("facts_a_good_plan_respects", {})
    if "discount_cap_pct" in facts:
        assert f"{facts['discount_cap_pct']:g}" in request.prompt_text().split("<plan_schema>\n")[0]


async def test_checks_cover_every_stated_constraint(registry, standin, store):
    standin.queue(plan(fixture_plan("saas-collaboration-zh")))
    async with Client(plan_server(registry, standin, store)) as client:
        data = (await call_plan(client, SAAS_ZH)).structured_content
    names = [c["name"] for c in data["validation"]["checks"]]
    stated = data["constraints"]
    assert ("channels_allowed" in names) is bool(stated["channels_allowed"])  # an allow-list is checked when stated
    assert [n for n in names if n != "channels_allowed"] == [
        "budget_lines_sum",
        "budget_within_stated",
        "discount_cap",
        "phase_order",
        "timeline_within_horizon",
        "kpi_deadlines_within_horizon",
        "team_size",
        "excluded_channels",
        "goals_have_kpis",
        "segment_coverage",
    ]
    budget = stated["budget"]
    assert (budget["amount"], budget["currency"], budget["period"], budget["source"]) == (
        120000,
        "CNY",
        "quarter",
        "text",
    )
    assert (stated["discount_cap_pct"], stated["horizon_days"], stated["team_size"]) == (15, 90, 3)
    assert [g["id"] for g in stated["goals"]] == ["G1", "G2", "G3", "G4", "G5"]
    assert all("。" in c["detail"] for c in data["validation"]["checks"])  # details in the plan's language


# -- request formats ----------------------------------------------------------------------------------------------------
async def test_openai_dialect_asks_for_a_json_schema_response(registry, standin, store):
    standin.queue(plan(fixture_plan("saas-collaboration-zh")))
    async with Client(plan_server(registry, standin, store, "openai")) as client:
        await call_plan(client, SAAS_ZH)
    (request,) = standin.received
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = request.body
    assert body["model"] == "stand-in-1"
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    assert {"budget", "timeline", "kpis", "offers"} <= set(schema["properties"])
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "system"]  # the template's messages, then the plan-mode addendum
    assert "<user_facts>" in body["messages"][1]["content"]


async def test_anthropic_dialect_forces_a_plan_tool_call(registry, standin, store):
    standin.queue(plan(fixture_plan("saas-collaboration-zh")))
    async with Client(plan_server(registry, standin, store, "anthropic")) as client:
        result = await call_plan(client, SAAS_ZH)
    assert result.structured_content["validation"]["passed"] is True
    (request,) = standin.received
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == KEY and request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    body = request.body
    assert body["tool_choice"] == {"type": "tool", "name": "submit_plan"}
    assert body["tools"][0]["input_schema"]["title"] == "RetentionStrategyPlan"
    assert "system" in body and [m["role"] for m in body["messages"]] == ["user"]
    assert body["max_tokens"] > 0


async def test_endpoint_without_json_schema_support_falls_back(registry, standin, store):
    good = fixture_plan("saas-collaboration-zh")
    standin.queue(no_json_schema(), plan(good))
    async with Client(plan_server(registry, standin, store)) as client:
        result = await call_plan(client, SAAS_ZH)
    assert result.structured_content["validation"]["passed"] is True
    formats = [r.body.get("response_format", {}).get("type") for r in standin.received]
    assert formats == ["json_schema", "json_object"]


async def test_concurrent_calls_each_fall_back_through_every_format_once(standin):
    """Two calls at once against an endpoint that rejects json_schema: each asks json_schema, then json_object (none
    skips a format), and a later call starts from what was learned."""
    import time

    from retention_mcp.generation.backends import Message, make_backend

    good = fixture_plan("saas-collaboration-en")

    def reply(received):
        if received.body.get("response_format", {}).get("type") == "json_schema":
            time.sleep(0.2)  # both calls have asked before either hears the rejection
            return no_json_schema()
        return plan(good)

    standin.default = reply
    backend = make_backend(settings(standin))
    try:
        async with anyio.create_task_group() as tasks:
            for caller in ("a", "b"):
                tasks.start_soon(backend.complete, [Message("user", f"call {caller}")], {"type": "object"}, "p")
        await backend.complete([Message("user", "call c")], {"type": "object"}, "p")
    finally:
        await backend.aclose()
    asked: dict[str, list[str]] = {}
    for r in standin.received:
        asked.setdefault(r.body["messages"][-1]["content"], []).append(r.body["response_format"]["type"])
    assert asked == {
        "call a": ["json_schema", "json_object"],
        "call b": ["json_schema", "json_object"],
        "call c": ["json_object"],
    }


async def test_plan_read_from_prose_and_code_fences(registry, standin, store):
    good = fixture_plan("saas-collaboration-zh")
    standin.queue(text("好的,方案如下:\n```json\n" + json.dumps(good, ensure_ascii=False) + "\n```\n祝顺利。"))
    async with Client(plan_server(registry, standin, store)) as client:
        result = await call_plan(client, SAAS_ZH)
    assert result.structured_content["validation"]["passed"] is True
    assert result.structured_content["repaired"] is False


# -- faults -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_with_retry_after_is_honoured(registry, standin, store, provider, backoff):
    standin.queue(status(429, "rate limited", {"Retry-After": "1"}), plan(fixture_plan("saas-collaboration-zh")))
    messages: list[str] = []

    async def on_progress(progress, total, message):
        messages.append(message or "")

    async with Client(plan_server(registry, standin, store, provider)) as client:
        result = await call_plan(client, SAAS_ZH, progress_callback=on_progress)
    assert result.structured_content["validation"]["passed"] is True
    assert len(standin.received) == 2
    # the wait is the one the endpoint asked for, not the backoff's
    assert any("1.0 秒后第 1 次重试" in m and "429" in m for m in messages), messages
    assert backoff == [1.0]


async def test_500_is_retried_with_backoff(registry, standin, store, backoff):
    standin.queue(status(500, "boom"), status(503, "overloaded"), plan(fixture_plan("saas-collaboration-zh")))
    messages: list[str] = []

    async def on_progress(progress, total, message):
        messages.append(message or "")

    async with Client(plan_server(registry, standin, store)) as client:
        result = await call_plan(client, SAAS_ZH, progress_callback=on_progress)
    assert not result.is_error and len(standin.received) == 3
    delays = [float(re.search(r"(\d+\.\d) 秒后第 (\d) 次重试", m).group(1)) for m in messages if "重试" in m]
    # exponential backoff with jitter: 0.25-0.5 s, then 0.5-1.0 s
    assert len(delays) == 2 and 0.2 <= delays[0] <= 0.5 and 0.5 <= delays[1] <= 1.0, messages
    assert [round(w, 1) for w in backoff] == delays  # each announced wait is the one taken


async def test_a_hang_past_the_timeout_is_abandoned_and_retried(registry, standin, store, backoff):
    standin.queue(hang(30), plan(fixture_plan("saas-collaboration-zh")))
    async with Client(plan_server(registry, standin, store, timeout=0.5)) as client:
        result = await call_plan(client, SAAS_ZH)
    assert result.structured_content["validation"]["passed"] is True
    assert len(standin.received) == 2
    await anyio.sleep(0.2)
    assert standin.disconnects == 1  # the hung request was closed, not left open


async def test_retries_give_up_with_a_clear_error_and_the_prompt(registry, standin, store, backoff):
    standin.queue(*[status(502, "bad gateway")] * 3)
    async with Client(plan_server(registry, standin, store, max_retries=2)) as client:
        result = await call_plan(client, SAAS_ZH)
        follow_up = await client.call_tool("retention_strategy", SAAS_ZH["arguments"])
    assert result.is_error
    message = result.content[0].text
    assert "failed 3 time(s)" in message and "HTTP 502" in message and "连续失败" in message
    assert "<user_facts>" in result.content[1].text  # the rendered prompt, to go on in prompt mode
    assert not follow_up.is_error  # the server keeps serving
    assert len(backoff) == 2


async def test_total_time_is_bounded(registry, standin, store):
    standin.queue(hang(30), hang(30))
    async with Client(plan_server(registry, standin, store, timeout=5, total_timeout=1.0)) as client:
        result = await call_plan(client, SAAS_ZH)
    assert result.is_error and "1 s" in result.content[0].text


async def test_client_errors_are_not_retried_and_never_show_the_key(registry, standin, store, caplog):
    caplog.set_level(logging.DEBUG)
    standin.queue(status(401, f"Incorrect API key provided: {KEY}"))
    async with Client(plan_server(registry, standin, store)) as client:
        result = await call_plan(client, SAAS_ZH)
    assert result.is_error and len(standin.received) == 1
    message = result.content[0].text
    assert "HTTP 401" in message and "RETENTION_MCP_LLM_API_KEY" in message
    assert KEY not in message and KEY not in caplog.text
    assert "***" in message


# -- repair -------------------------------------------------------------------------------------------------------------
async def test_malformed_json_is_repaired(registry, standin, store):
    standin.queue(text('{"title": "方案", "summary": '), plan(fixture_plan("saas-collaboration-zh")))
    async with Client(plan_server(registry, standin, store)) as client:
        result = await call_plan(client, SAAS_ZH)
    data = result.structured_content
    assert data["repaired"] is True and data["validation"]["passed"] is True
    repair = standin.received[1].body["messages"]
    assert repair[-2]["role"] == "assistant" and repair[-1]["role"] == "user"
    assert "不是 JSON" in repair[-1]["content"] or "not a JSON object" in repair[-1]["content"]


async def test_schema_invalid_plan_is_fixed_on_repair(registry, standin, store):
    broken = fixture_plan("saas-collaboration-zh")
    del broken["kpis"]
    broken["timeline"]["phases"][0]["start_day"] = "第一周"
    standin.queue(plan(broken), plan(fixture_plan("saas-collaboration-zh")))
    async with Client(plan_server(registry, standin, store, "anthropic")) as client:
        result = await call_plan(client, SAAS_ZH)
    assert result.structured_content["repaired"] is True
    assert result.structured_content["validation"]["passed"] is True
    feedback = standin.received[1].body["messages"][-1]["content"]
    assert "kpis" in feedback and "timeline.phases.0.start_day" in feedback


@pytest.mark.parametrize("break_it", ["budget", "discount"])
async def test_broken_constraint_is_repaired(registry, standin, store, break_it):
    bad = fixture_plan("saas-collaboration-zh")
    if break_it == "budget":
        bad["budget"]["lines"].append({"item": "额外投放", "amount": 30000, "purpose": "拉新"})
        expected = "budget_lines_sum"
    else:
        bad["offers"][0]["discount_pct"] = 30
        expected = "discount_cap"
    standin.queue(plan(bad), plan(fixture_plan("saas-collaboration-zh")))
    async with Client(plan_server(registry, standin, store)) as client:
        result = await call_plan(client, SAAS_ZH)
    data = result.structured_content
    assert data["repaired"] is True and data["validation"]["passed"] is True
    feedback = standin.received[1].body["messages"][-1]["content"]
    assert feedback.startswith("你的方案未通过以下检查") and expected in feedback


async def test_a_plan_that_stays_broken_is_reported_not_dropped(registry, standin, store):
    bad = fixture_plan("saas-collaboration-zh")
    bad["timeline"]["phases"][-1]["end_day"] = 120
    bad["initiatives"][0]["channels"].append("电话外呼")
    standin.queue(plan(bad), plan(copy.deepcopy(bad)))
    async with Client(plan_server(registry, standin, store)) as client:
        result = await call_plan(client, SAAS_ZH)
        listing = await client.call_tool("list_plans", {"failed_only": True})
    assert not result.is_error  # a plan came back: it is the user's to see, with what failed
    data = result.structured_content
    assert data["repaired"] is True and data["validation"]["passed"] is False
    failed = {c["name"]: c["detail"] for c in data["validation"]["checks"] if not c["passed"]}
    # outbound calls are ruled out (and, with the allow-list, not among the allowed channels either)
    assert {"timeline_within_horizon", "excluded_channels"} <= set(failed)
    assert set(failed) <= {"timeline_within_horizon", "excluded_channels", "channels_allowed"}
    assert "第 90 天" in failed["timeline_within_horizon"]
    assert "外呼/电话" in failed["excluded_channels"] and "initiatives.0.channels" in failed["excluded_channels"]
    assert data["plan"]["initiatives"][0]["channels"][-1] == "outbound_calls"  # "电话外呼" is stored as its kind
    assert "❌ `timeline_within_horizon`" in data["markdown"]
    assert [p["id"] for p in listing.structured_content["plans"]] == [data["plan_id"]]
    assert len(standin.received) == 2  # one repair round, no more


async def test_schema_invalid_twice_is_an_error_with_the_prompt(registry, standin, store):
    standin.queue(text("I cannot help with that."), text("Still no."))
    async with Client(plan_server(registry, standin, store)) as client:
        result = await call_plan(client, SAAS_ZH)
    assert result.is_error and "after one repair round" in result.content[0].text
    assert result.structured_content["template"] == "retention_strategy"  # the rendered prompt, structured


# -- progress, cancellation, concurrency ------------------------------------------------------------------------------
async def test_progress_notifications(registry, standin, store):
    standin.queue(plan(fixture_plan("saas-collaboration-en")))
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    async with Client(plan_server(registry, standin, store)) as client:
        await call_plan(client, scenario("saas-collaboration-en"), progress_callback=on_progress)
    assert [p for p, _, _ in seen] == sorted(p for p, _, _ in seen) and len(seen) >= 4
    assert {t for _, t, _ in seen} == {5}
    assert seen[0][2] == "Read the constraints in your facts" and seen[-1][2] == "Plan ready"
    assert any("stand-in-1" in (m or "") for _, _, m in seen)


async def test_cancelling_the_call_stops_the_model_request(registry, store):
    from tests.standin_model import StandInModel

    standin = StandInModel().start()  # its own: a late disconnect of another test's call must not count here
    try:
        standin.queue(hang(30))
        async with Client(plan_server(registry, standin, store)) as client:
            with anyio.move_on_after(1.0):
                await call_plan(client, SAAS_ZH)
            with anyio.fail_after(5):
                while standin.disconnects == 0:
                    await anyio.sleep(0.05)
            follow_up = await client.call_tool("list_plans", {})
    finally:
        standin.stop()
    assert standin.disconnects == 1 and len(standin.received) == 1
    assert follow_up.structured_content == {"plans": []}


async def test_ten_plans_at_once(registry, standin, store):
    good = fixture_plan("saas-collaboration-zh")
    standin.queue(*[plan(good, delay=0.3) for _ in range(10)])
    results = [None] * 10
    async with Client(plan_server(registry, standin, store)) as client:

        async def one(i: int) -> None:
            results[i] = await call_plan(client, SAAS_ZH)

        async with anyio.create_task_group() as tasks:
            for i in range(10):
                tasks.start_soon(one, i)
        listing = await client.call_tool("list_plans", {"limit": 50})
    assert standin.peak == 10  # all ten were with the model at the same time
    assert all(r is not None and r.structured_content["validation"]["passed"] for r in results)
    ids = {r.structured_content["plan_id"] for r in results}
    assert len(ids) == 10 and {p["id"] for p in listing.structured_content["plans"]} == ids


# -- without a configured model -----------------------------------------------------------------------------------------
async def test_no_model_and_no_sampling_says_how_to_configure(registry, store):
    async with Client(build_server(registry, "all", plan_store=store)) as client:
        result = await call_plan(client, SAAS_ZH)
        generic = await client.call_tool("generate_plan", {"name": "loyalty_program", "arguments": {"x": 1}})
    assert result.is_error
    message = result.content[0].text
    assert "RETENTION_MCP_LLM_PROVIDER" in message and "mode='prompt'" in message and "未配置" in message
    assert "<user_facts>" in result.content[1].text and "季度预算12万元" in result.content[1].text
    assert generic.is_error and "x: is not a parameter" in generic.content[0].text  # bad arguments come first


async def test_sampling_is_used_when_no_model_is_configured(registry, store):
    good = fixture_plan("saas-collaboration-en")
    asked: list = []

    async def sampling(context, params):
        asked.append(params)
        answer = TextContent(type="text", text=json.dumps(good))
        return CreateMessageResult(role="assistant", content=answer, model="client-model")

    server = build_server(registry, plan_store=store)
    async with Client(server, mode="legacy", sampling_callback=sampling) as client:
        result = await call_plan(client, scenario("saas-collaboration-en"))
    data = result.structured_content
    assert not result.is_error and data["validation"]["passed"] is True
    assert data["model"] == "sampling:client-model"
    (params,) = asked
    assert "Hard constraints" in params.system_prompt and "<plan_schema>" in params.system_prompt
    assert params.messages[0].role == "user"


async def test_sampling_without_a_back_channel_falls_back_to_the_configuration_hint(registry, store):
    async def sampling(context, params):  # declared, but a 2026-07-28 connection cannot carry the request
        raise AssertionError("not reachable")

    async with Client(build_server(registry, plan_store=store), sampling_callback=sampling) as client:
        result = await call_plan(client, scenario("saas-collaboration-en"))
    assert result.is_error and "RETENTION_MCP_LLM_PROVIDER" in result.content[0].text
    assert "<user_facts>" in result.content[1].text


async def test_generate_plan_and_render_template_plan_mode(registry, standin, store):
    example = scenario("subscription-playbook-en")
    standin.queue(plan(fixture_plan(example["id"])), plan(fixture_plan(example["id"])))
    async with Client(plan_server(registry, standin, store)) as client:
        by_name = await client.call_tool(
            "generate_plan", {"name": example["tool"], "arguments": example["arguments"], "language": "en"}
        )
        rendered = await client.call_tool(
            "render_template", {"name": example["tool"], "arguments": example["arguments"], "mode": "plan"}
        )
        prompt_only = await client.call_tool(
            "render_template", {"name": example["tool"], "arguments": example["arguments"]}
        )
    for result in (by_name, rendered):
        assert result.structured_content["mode"] == "plan"
        assert result.structured_content["plan"]["title"] == "Subscription retention and expansion playbook"
    assert "plan" not in prompt_only.structured_content and "mode" not in prompt_only.structured_content


async def test_store_keeps_no_key(registry, standin, store):
    standin.queue(plan(fixture_plan("saas-collaboration-zh")))
    async with Client(plan_server(registry, standin, store)) as client:
        data = (await call_plan(client, SAAS_ZH)).structured_content
    raw = store.read_bytes() + (
        store.with_name(store.name + "-wal").read_bytes() if store.with_name(store.name + "-wal").exists() else b""
    )
    assert KEY.encode() not in raw
    row = (
        sqlite3.connect(store)
        .execute("SELECT template, model, passed FROM plans WHERE id = ?", (data["plan_id"],))
        .fetchone()
    )
    assert row == ("retention_strategy", "stand-in-1", 1)


async def test_plan_mode_survives_a_template_reload(registry, standin, store, tmp_path):
    from retention_mcp.reload import TemplateWatcher
    from retention_mcp.settings import Settings

    server = plan_server(registry, standin, store)
    watcher = TemplateWatcher(server, Settings(template_dirs=[tmp_path]), log=io.StringIO())
    standin.queue(plan(fixture_plan("saas-collaboration-zh")), plan(fixture_plan("saas-collaboration-zh")))
    async with Client(server) as client:
        first = await call_plan(client, SAAS_ZH)
        assert await watcher.reload() is True
        second = await call_plan(client, SAAS_ZH)
        listing = await client.call_tool("list_plans", {})
    assert first.structured_content["validation"]["passed"] and second.structured_content["validation"]["passed"]
    assert len(standin.received) == 2  # the reloaded tools still use the configured model
    assert {p["id"] for p in listing.structured_content["plans"]} == {
        first.structured_content["plan_id"],
        second.structured_content["plan_id"],
    }


def churn_plan(churn_value: float, data_ref: str = "D3") -> dict:
    return {
        "title": "Churn analysis",
        "summary": "Month-to-month plans and low usage drive churn.",
        "timeline": {"phases": [{"name": "Act", "start_day": 0, "end_day": 60}]},
        "kpis": [
            {"metric": "Monthly churn", "baseline": churn_value, "target": 2.2, "unit": "%", "data_ref": data_ref}
        ],
        "findings": [
            {"statement": "Monthly churn", "value": churn_value, "source": "data", "data_ref": data_ref},
            {"statement": "Customers", "value": 5000, "source": "data", "data_ref": "D1"},
            {"statement": "Benchmark churn", "value": 1.5, "source": "assumption"},
        ],
    }


async def test_figures_attributed_to_the_data_are_checked(registry, standin, store):
    arguments = {
        "business_context": "B2B SaaS",
        "data_summary": "see the file",
        "dataset": "subscriptions.csv",
        "mode": "plan",
    }
    standin.queue(plan(churn_plan(9.9)), plan(churn_plan(2.85)), plan(churn_plan(2.85)))
    async with Client(plan_server(registry, standin, store)) as client:
        repaired = await client.call_tool("churn_analysis", arguments)
        right_first_time = await client.call_tool("churn_analysis", arguments)
    first_prompt = standin.received[0].prompt_text()
    assert "<computed_facts>\nD1: Customers: 5,000" in first_prompt and "data_ref" in first_prompt
    feedback = standin.received[1].body["messages"][-1]["content"]
    assert "data_figures_match" in feedback and "Monthly churn = 9.9 (D3)" in feedback
    for result in (repaired, right_first_time):
        checks = {c["name"]: c for c in result.structured_content["validation"]["checks"]}
        assert checks["data_figures_match"]["passed"] is True
        assert (
            checks["data_figures_match"]["detail"] == "All 3 figures attributed to the data match the computed facts."
        )
    assert repaired.structured_content["repaired"] is True and right_first_time.structured_content["repaired"] is False
