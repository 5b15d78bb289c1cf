"""check_plan: a plan the client's model wrote is checked as plan mode checks its own, saved, and revised, without
any model configured on the server."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from mcp import Client

from retention_mcp.server import build_server
from tests.conftest import SCENARIOS, fixture_plan, plan_file
from tests.standin_model import plan as model_answer

pytestmark = pytest.mark.anyio

SAAS_EN = next(s for s in SCENARIOS if s["id"] == "saas-collaboration-en")
SAAS_ZH = next(s for s in SCENARIOS if s["id"] == "saas-collaboration-zh")


def over_the_cap(plan: dict) -> dict:
    broken = copy.deepcopy(plan)
    broken["offers"][0]["discount_pct"] = 25  # the brief caps discounts at 15%
    return broken


async def check(client: Client, scenario: dict, plan: dict | str, **extra):
    arguments = {
        "template": scenario["tool"],
        "plan": plan if isinstance(plan, str) else json.dumps(plan, ensure_ascii=False),
        "arguments": json.dumps(scenario["arguments"], ensure_ascii=False),
        **extra,
    }
    return await client.call_tool("check_plan", {k: v for k, v in arguments.items() if v is not None})


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "plans.sqlite3"


async def test_a_failed_plan_names_the_rule_and_its_revision_passes_with_one_history(registry, store):
    async with Client(build_server(registry, plan_store=store)) as client:
        first = await check(client, SAAS_EN, over_the_cap(fixture_plan(SAAS_EN["id"])))
        r1 = first.structured_content
        # the revision names the earlier plan and leaves the brief out: it answers the same one
        second = await client.call_tool(
            "check_plan",
            {
                "template": "retention_strategy",
                "plan": json.dumps(fixture_plan(SAAS_EN["id"])),
                "plan_id": r1["plan_id"],
            },
        )
        r2 = second.structured_content
        listing = await client.call_tool("list_plans", {})
        latest = json.loads((await client.read_resource(r2["plan_uri"])).contents[0].text)
        earliest = json.loads((await client.read_resource(r1["plan_uri"])).contents[0].text)

    assert not first.is_error and r1["validation"]["status"] == "failed"
    failed = [c for c in r1["validation"]["checks"] if c["status"] == "failed"]
    assert [c["name"] for c in failed] == ["discount_cap"] and "25" in failed[0]["detail"]
    text = first.content[0].text
    assert text.startswith(f"Check ({r1['plan_id']} r1): FAILED\n- discount_cap: ")
    assert f'call check_plan again with plan_id="{r1["plan_id"]}"' in text
    assert r1["store_status"] == "saved" and r1["revision"] == 1 and r1["model"] == "submitted"

    assert not second.is_error and r2["validation"]["status"] == "passed", r2["validation"]
    assert r2["revision"] == 2 and r2["plan_id"] != r1["plan_id"]
    assert [(h["revision"], h["status"]) for h in r2["history"]] == [(1, "failed"), (2, "passed")]
    # list_plans shows the latest revision only, with its history
    plans = listing.structured_content["plans"]
    assert [p["id"] for p in plans] == [r2["plan_id"]]
    assert plans[0]["lineage"] == r1["plan_id"] and plans[0]["revision"] == 2
    assert [h["id"] for h in plans[0]["history"]] == [r1["plan_id"], r2["plan_id"]]
    assert "PASSED r2 (r1 failed)" in listing.content[0].text
    # plan:// reads each revision, with the whole history
    assert latest["validation"]["status"] == "passed" and latest["revision"] == 2
    assert earliest["validation"]["status"] == "failed" and earliest["revision"] == 1
    assert [h["revision"] for h in earliest["history"]] == [1, 2]
    assert latest["arguments"] == earliest["arguments"]  # the revision answered the same brief
    assert latest["version"] == registry.get("retention_strategy").version


@pytest.mark.parametrize("example", [SAAS_EN, SAAS_ZH], ids=lambda s: s["id"])
async def test_the_checks_are_exactly_those_of_plan_mode(registry, standin, store, example):
    """The same plan, written by a model in plan mode and submitted through check_plan, gets the same report."""
    from tests.mcp.test_plan_generation import settings

    plan = over_the_cap(fixture_plan(example["id"]))
    standin.queue(model_answer(plan), model_answer(plan))  # the repair round gets the same plan back
    server = build_server(registry, "all", model=settings(standin), plan_store=store)
    async with Client(server) as client:
        generated = await client.call_tool(example["tool"], {**example["arguments"], "mode": "plan"})
        checked = await check(client, example, plan)
    by_model, submitted = generated.structured_content, checked.structured_content
    assert by_model["validation"] == submitted["validation"]
    assert by_model["validation"]["status"] == "failed"
    assert by_model["plan"] == submitted["plan"]
    assert by_model["constraints"] == submitted["constraints"]
    zh = example["language"] == "zh"
    assert checked.content[0].text.startswith("检查结果(" if zh else "Check (")
    assert ("修正上述问题后再次调用 check_plan" if zh else "Fix these and call check_plan again") in checked.content[
        0
    ].text


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        ('{"title": "x", "budget": ', "plan: is not valid JSON (Expecting value; line 1, column 26)"),
        ("[1, 2]", "plan: must be a JSON object (found list)"),
        ("   ", "plan: is required but missing"),  # a blank value is "not stated", as everywhere
        ("x" * 200_001, "plan: is 200,001 characters; the limit is 200,000"),
        ("[" * 50_000 + "]" * 50_000, "plan: is nested more than 32 levels deep; it needs a handful"),
        ('{"a": ' * 40 + "1" + "}" * 40, "plan: is nested more than 32 levels deep; it needs a handful"),
        ('{"title": "x", "budget": {"total": NaN}}', "plan: holds a number that is not finite"),
        ('{"title": "x", "budget": {"total": 1e400}}', "plan: holds a number that is not finite"),
        ('{"title": "x", "mood": -Infinity}', "plan: holds a number that is not finite"),
    ],
    ids=["truncated", "array", "blank", "too long", "deep array", "deep object", "NaN", "1e400", "-Infinity"],
)
async def test_plan_text_that_is_not_a_json_object_is_refused_by_rule(registry, store, plan, expected):
    async with Client(build_server(registry, plan_store=store)) as client:
        result = await check(client, SAAS_EN, plan)
        listing = await client.call_tool("list_plans", {})
    assert result.is_error
    message = result.content[0].text
    assert expected in message and " / " in message  # in both languages
    assert "budget" not in message.split(expected)[1] and "mood" not in message  # the text itself is never echoed
    assert listing.structured_content["plans"] == []  # nothing was kept


async def test_a_plan_outside_the_format_gets_every_problem_by_json_path(registry, store):
    plan = fixture_plan(SAAS_EN["id"])
    plan["offers"][0]["discount_pct"] = "a lot"
    del plan["kpis"][1]["target"]
    plan["timeline"]["phases"] = {"not": "a list"}
    async with Client(build_server(registry, plan_store=store)) as client:
        result = await check(client, SAAS_EN, plan)
    assert result.is_error
    message = result.content[0].text
    assert message.startswith(
        "plan: does not match the retention_strategy plan format (schema://retention_strategy/plan) / "
    )
    assert "- $.offers[0].discount_pct: must be a number / 必须是数字" in message
    assert "- $.kpis[1].target: is required by the plan format but missing / 是方案格式的必填项,但缺失" in message
    assert "- $.timeline.phases: must be a list / 必须是列表" in message


async def test_a_brief_that_breaks_the_templates_rules_names_the_argument(registry, store):
    arguments = {k: v for k, v in SAAS_EN["arguments"].items() if k != "service_type"}
    async with Client(build_server(registry, plan_store=store)) as client:
        missing = await check(client, {**SAAS_EN, "arguments": arguments}, fixture_plan(SAAS_EN["id"]))
        not_json = await client.call_tool(
            "check_plan", {"template": "retention_strategy", "plan": "{}", "arguments": "{service_type: SaaS"}
        )
        unknown = await client.call_tool(
            "check_plan", {"template": "retention_strategy", "plan": "{}", "arguments": "{}", "colour": "red"}
        )
    assert (
        missing.is_error and "- arguments.service_type: is required but missing / 为必填项" in missing.content[0].text
    )
    assert not_json.is_error and "arguments: is not valid JSON" in not_json.content[0].text
    assert unknown.is_error and "colour: is not a parameter" in unknown.content[0].text


async def test_revisions_name_a_plan_of_the_same_template(registry, store):
    loyalty = next(s for s in SCENARIOS if s["tool"] == "loyalty_program")
    async with Client(build_server(registry, plan_store=store)) as client:
        first = await check(client, SAAS_EN, fixture_plan(SAAS_EN["id"]))
        nowhere = await check(client, SAAS_EN, fixture_plan(SAAS_EN["id"]), plan_id="0123456789ab")
        other = await check(client, loyalty, fixture_plan(loyalty["id"]), plan_id=first.structured_content["plan_id"])
    assert nowhere.is_error and "No plan with id '0123456789ab'" in nowhere.content[0].text
    assert other.is_error
    assert "plan_id: plan" in other.content[0].text and "is a retention_strategy plan, not loyalty_program" in (
        other.content[0].text
    )


async def test_an_object_is_taken_for_its_json_text_and_plans_not_kept_are_still_checked(registry):
    async with Client(build_server(registry, plan_store=None)) as client:
        result = await client.call_tool(
            "check_plan",
            {"template": "retention_strategy", "plan": fixture_plan(SAAS_EN["id"]), "arguments": SAAS_EN["arguments"]},
        )
        revision = await check(client, SAAS_EN, fixture_plan(SAAS_EN["id"]), plan_id="0123456789ab")
    data = result.structured_content
    assert not result.is_error and data["validation"]["status"] == "passed"
    assert data["store_status"] == "off" and "plan_id" not in data
    assert result.content[0].text.startswith("Check (not saved): passed")
    assert revision.is_error and "Plans are not kept on this server" in revision.content[0].text


async def test_keys_outside_the_format_are_kept_and_said(registry, store):
    plan = fixture_plan(SAAS_EN["id"])
    plan["mood"] = "upbeat"
    async with Client(build_server(registry, plan_store=store)) as client:
        result = await check(client, SAAS_EN, plan)
    data = result.structured_content
    assert data["plan"]["extras"] == {"mood": "upbeat"}
    assert "These keys are not in the plan format; they are kept as written but not checked: mood" in data["markdown"]


async def test_check_plan_is_offered_with_json_text_parameters(registry):
    async with Client(build_server(registry)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    schema = tools["check_plan"].input_schema
    assert schema["required"] == ["template", "plan"]
    assert schema["properties"]["plan"]["type"] == "string"
    assert schema["properties"]["arguments"]["type"] == ["string", "null"]  # optional: nullable
    assert schema["properties"]["template"]["enum"] == sorted(registry.names())
    assert tools["check_plan"].annotations.read_only_hint is False
    assert tools["check_plan"].output_schema["title"] == "PlanResult"


# -- the command line ---------------------------------------------------------------------------------------------------
def test_the_check_command_exits_as_generate_does_and_keeps_the_revision(tmp_path):
    from retention_mcp.paths import EXAMPLES_FILE
    from tests.unit.test_cli import ENV, run

    env = {**ENV, "RETENTION_MCP_PLAN_STORE": str(tmp_path / "plans.sqlite3")}
    examples = EXAMPLES_FILE.parent / "plans"
    draft, fixed = examples / "saas-collaboration-en.draft.json", examples / "saas-collaboration-en.json"
    first = run("check", str(draft), "--template", "retention_strategy", "--example", "saas-collaboration-en", env=env)
    assert first.returncode == 3, first.stderr
    assert first.stdout.startswith("# 90-day retention plan") and "**Validation: failed**" in first.stdout
    assert "still fails these checks: discount_cap" in first.stderr
    plan_id = first.stderr.split("plans show ")[1].split(")")[0]
    assert f"saved as plan://{plan_id}, revision 1" in first.stderr

    second = run("check", str(fixed), "--template", "retention_strategy", "--plan-id", plan_id, "--json", env=env)
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    assert data["validation"]["status"] == "passed" and data["revision"] == 2
    assert [h["status"] for h in data["history"]] == ["failed", "passed"]
    listed = run("plans", "list", env=env)
    assert listed.stdout.count("\n") == 1 and listed.stdout.rstrip().endswith("r2 (r1 failed)")

    playbook = plan_file("subscription-playbook-en")  # its brief states no budget, cap, horizon or team
    unverified = run("check", str(playbook), "--template", "subscription_playbook", "--example",
                     "subscription-playbook-en", env=env)  # fmt: skip
    assert unverified.returncode == 4, unverified.stderr
    assert "the plan is unverified" in unverified.stderr

    broken = tmp_path / "broken.json"
    broken.write_text('{"title": ', encoding="utf-8")
    bad = run("check", str(broken), "--template", "retention_strategy", "--example", "saas-collaboration-en", env=env)
    assert bad.returncode == 2 and "plan: is not valid JSON" in bad.stderr
    absent = run("check", str(tmp_path / "nope.json"), "--template", "retention_strategy", env=env)
    assert absent.returncode == 2 and "cannot read the plan (No such file or directory)" in absent.stderr
    unknown = run("check", str(fixed), "--template", "retention_strategy", "--example", "nope", env=env)
    assert (
        unknown.returncode == 2 and "--example: no example 'nope'; there are: saas-collaboration-zh" in unknown.stderr
    )


async def test_a_model_answer_with_a_number_json_cannot_hold_goes_back_for_repair(registry, standin, store):
    """Plan mode reads the model's JSON with the same rule: NaN or 1e400 is no answer, and the repair round says why."""
    from tests.mcp.test_plan_generation import settings
    from tests.standin_model import text

    good = fixture_plan(SAAS_EN["id"])
    broken = json.dumps(good).replace('"total": 115000', '"total": 1e400')
    assert "1e400" in broken
    standin.queue(text(broken), model_answer(good))
    server = build_server(registry, "all", model=settings(standin), plan_store=store)
    async with Client(server) as client:
        result = await client.call_tool(SAAS_EN["tool"], {**SAAS_EN["arguments"], "mode": "plan"})
    data = result.structured_content
    assert not result.is_error and data["repaired"] is True and data["validation"]["status"] == "passed"
    repair = standin.received[-1].body["messages"][-1]["content"]
    assert "a number is not finite (NaN, Infinity or beyond 1e308)" in repair


async def test_a_first_submission_without_a_brief_is_told_what_to_send_and_a_broken_plan_is_said_first(registry, store):
    plan = json.dumps(fixture_plan(SAAS_EN["id"]))
    async with Client(build_server(registry, plan_store=store)) as client:
        no_brief = await client.call_tool("check_plan", {"template": "retention_strategy", "plan": plan})
        both = await client.call_tool("check_plan", {"template": "retention_strategy", "plan": '{"title": '})
    assert no_brief.is_error
    assert no_brief.content[0].text.startswith("arguments: required for a first submission: the brief the plan answers")
    assert (
        "give plan_id instead to submit a revision" in no_brief.content[0].text
        and "首次提交时必填" in no_brief.content[0].text
    )
    assert both.is_error and both.content[0].text.startswith("plan: is not valid JSON")


async def test_a_typed_start_date_is_read_by_the_horizon_checks_and_the_plan_can_pass(registry):
    """The start date is day 0 of the plan: the horizon's checks read it, so stating it leaves nothing unchecked."""
    arguments = {**SAAS_EN["arguments"], "constraints": {"start_date": "2027-01-01"}}
    async with Client(build_server(registry)) as client:
        result = await check(client, {**SAAS_EN, "arguments": arguments}, fixture_plan(SAAS_EN["id"]))
    data = result.structured_content
    assert data["constraints"]["start_date"] == "2027-01-01"
    assert data["validation"]["status"] == "passed", data["validation"]
    assert not any(c["name"] == "stated_not_checked" for c in data["validation"]["checks"])


async def test_in_store_events_a_brief_allows_are_an_allowed_channel(registry):
    plan = fixture_plan(SAAS_ZH["id"])
    arguments = {**SAAS_ZH["arguments"], "budget_constraints": "季度预算12万元;可用渠道:企业微信、短信、到店活动"}
    async with Client(build_server(registry)) as client:
        result = await check(client, {**SAAS_ZH, "arguments": arguments}, plan)
    assert result.structured_content["constraints"]["channels_allowed"] == ["offline_events", "sms", "im"]


async def test_the_budget_total_reads_as_the_whole_plans(registry):
    async with Client(build_server(registry)) as client:
        en = await check(client, SAAS_EN, fixture_plan(SAAS_EN["id"]))
        zh = await check(client, SAAS_ZH, fixture_plan(SAAS_ZH["id"]))
    assert "**Total**: 115,000 CNY (whole plan; lines by quarter)" in en.structured_content["markdown"]
    assert "**总预算**:120,000 CNY(整个方案;科目按季度计)" in zh.structured_content["markdown"]


async def test_a_segment_the_plan_does_not_reach_is_told_where_this_plan_can_name_it(registry):
    plan = fixture_plan(SAAS_EN["id"])
    plan["segments"].append({"name": "Ghost admins", "definition": "No login in 30 days"})
    plan["initiatives"][1]["segment"] = "Post-archive quiet"  # no entry for everyone: each segment needs its own
    async with Client(build_server(registry)) as client:
        result = await check(client, SAAS_EN, plan)
    (coverage,) = [c for c in result.structured_content["validation"]["checks"] if c["name"] == "segment_coverage"]
    assert coverage["status"] == "failed" and "Ghost admins" in coverage["detail"]
    assert "in one of: offers, initiatives, win_back" in coverage["detail"]
    assert "messaging" not in coverage["detail"] and "sequence" not in coverage["detail"]  # no such parts in this plan
