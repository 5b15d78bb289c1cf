"""One structure per template: every section its prompt asks for has a typed place in its plan, and a plan that
uses every section comes back as Markdown with nothing lost (through the MCP client and the stand-in model)."""

from __future__ import annotations

import re
import types
import typing
from typing import Any, Literal

import pytest
from mcp import Client
from pydantic import BaseModel

from retention_mcp.generation.labels import ENUM_ZH
from retention_mcp.generation.markdown import PERIODS, format_number
from retention_mcp.generation.plan_parts import EXTRAS
from retention_mcp.generation.plans import PLAN_MODELS, plan_model_for
from retention_mcp.generation.sections import SECTIONS
from retention_mcp.server import build_server
from retention_mcp.settings import ModelSettings
from retention_mcp.vocabulary import CHANNEL_KINDS, channel_label
from tests.conftest import TEMPLATE_NAMES, example_arguments
from tests.standin_model import plan as plan_answer

LANGUAGES = ["en", "zh"]
_NUMBERING = re.compile(r"^(\d+\.|[一二三四五六七八九十]+、)\s*")
_PART = re.compile(r"^- \*\*(.+?)\*\*[::]")


def prompt_structure(system_text: str) -> list[tuple[str, list[str]]]:
    """The headings (## ...) of the prompt's output structure, each with its labelled sub-items (- **Label**:)."""
    lines = system_text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() in ("# Output structure", "# 输出结构"))
    structure: list[tuple[str, list[str]]] = []
    for line in lines[start + 1 :]:
        if line.startswith("# "):
            break
        if line.startswith("## "):
            structure.append((_NUMBERING.sub("", line[3:].strip()), []))
        elif structure and (match := _PART.match(line)):
            structure[-1][1].append(match.group(1))
    return structure


def section_structure(template: str, language: str) -> list[tuple[str, list[str]]]:
    return [(s.heading(language), [p.heading(language) for p in s.parts]) for s in SECTIONS[template]]


def structure_problems(template: str, language: str, system_text: str) -> list[str]:
    """What in the prompt has no place in the plan (or the other way round)."""
    prompt, table = prompt_structure(system_text), section_structure(template, language)
    problems = [f"prompt section '{h}' has no place in the plan" for h, _ in prompt if h not in dict(table)]
    problems += [f"plan section '{h}' is not in the prompt" for h, _ in table if h not in dict(prompt)]
    for heading, parts in prompt:
        for part in set(parts) - set(dict(table).get(heading, [])):
            problems.append(f"prompt item '{heading} / {part}' has no place in the plan")
    if not problems and prompt != table:
        problems.append("the sections are in a different order in the prompt and in the plan")
    return problems


def system_message(registry, template: str, language: str) -> str:
    result = registry.get(template).render({**example_arguments(registry, template, language), "language": language})
    return result.messages[0].content


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_every_prompt_section_has_a_place_in_the_plan(registry, template, language):
    text = system_message(registry, template, language)
    assert prompt_structure(text), "no output structure found"
    assert structure_problems(template, language, text) == []


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_every_section_maps_to_plan_fields_and_every_field_to_one_section(template):
    model = PLAN_MODELS[template]
    placed: list[str] = []
    for section in SECTIONS[template]:
        assert section.all_fields(), f"section '{section.en}' holds no plan field"
        for part in section.parts:
            assert part.fields, f"item '{section.en} / {part.en}' holds no plan field"
        placed += section.all_fields()
    assert set(placed) <= set(model.model_fields), set(placed) - set(model.model_fields)
    assert sorted(placed) == sorted(set(placed)), "a field is placed in two sections"
    assert set(model.model_fields) - set(placed) == {"title", EXTRAS}


def test_a_new_prompt_section_without_a_place_fails(registry):
    text = system_message(registry, "renewal_campaign", "en")
    added = text.replace(
        "## 11. Constraint check", "## 11. Referral push\nAsk for referrals.\n\n## 12. Constraint check"
    )
    assert structure_problems("renewal_campaign", "en", added) == [
        "prompt section 'Referral push' has no place in the plan"
    ]
    item = text.replace("- **Review rules**:", "- **Churn interviews**: five calls.\n- **Review rules**:")
    assert structure_problems("renewal_campaign", "en", item) == [
        "prompt item 'Measurement and optimisation / Churn interviews' has no place in the plan"
    ]
    zh = system_message(registry, "loyalty_program", "zh").replace("## 七、旧体系迁移", "## 七、储值卡")
    assert "prompt section '储值卡' has no place in the plan" in structure_problems("loyalty_program", "zh", zh)


# -- a plan that uses every section ------------------------------------------------------------------------------------
class _Values:
    """Distinct, recognisable values for every field: strings name their path, numbers count up, channel fields take
    the channel kinds in turn (a channel field holds a kind, not a free name)."""

    def __init__(self) -> None:
        self.ints = 100
        self.floats = 0
        self.kinds = 0

    def kind(self) -> str:
        self.kinds += 1
        return CHANNEL_KINDS[self.kinds % len(CHANNEL_KINDS)]

    def integer(self) -> int:
        self.ints += 1
        return self.ints

    def number(self) -> float:
        self.floats += 1
        return 10 + self.floats * 0.75 if self.floats < 110 else 9.5


def _fill(annotation: Any, path: str, values: _Values) -> Any:
    if path.rsplit(".", 1)[-1] == "channel" or path.rsplit(".", 2)[-2:-1] == ["channels"]:
        return values.kind()
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return _fill(args[0], path, values)
    if origin is Literal:
        return args[-1]
    if origin is list:
        return [_fill(args[0], f"{path}.{i}", values) for i in range(2)]
    if origin is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {
            name: _fill(field.annotation, f"{path}.{name}" if path else name, values)
            for name, field in annotation.model_fields.items()
            if name != EXTRAS
        }
    if annotation is int:
        return values.integer()
    if annotation is float:
        return values.number()
    return f"«{path}»"  # placeholders that read as no HTML tag


def full_plan(template: str) -> dict[str, Any]:
    data = _fill(plan_model_for(template), "", _Values())
    data["title"] = f"Full {template} plan"
    for phase in data["timeline"]["phases"]:  # a valid timeline: days within any horizon, in order
        phase["start_day"], phase["end_day"] = sorted((phase["start_day"] - 100, phase["end_day"] - 100))
    data["kpis"][0]["owner_note"] = "«kpis.0.owner_note: a key the schema does not know»"
    data["launch_checklist"] = ["«launch_checklist.0»", "«launch_checklist.1»"]
    return data


def leaves(value: Any, key: str = "") -> typing.Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item, key)
    else:
        yield key, value


def shown(key: str, value: Any, language: str) -> str | None:
    """How a leaf value reads in the Markdown; None for the few that are shown through another one."""
    if key == "relative_to":
        return None  # shown through the day: T-30 or day 3
    if key in ("channel", "channels"):
        return channel_label(value, language)  # a channel kind reads as its name
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return format_number(value)
    if key == "period":
        return PERIODS.get(value, (value, value))[1 if language == "zh" else 0]
    if language == "zh" and value in ENUM_ZH and key in {"confidence", "source", "severity", "kind", "term", "basis"}:
        return ENUM_ZH[value]
    return value


@pytest.mark.anyio
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATE_NAMES)
async def test_a_plan_using_every_section_round_trips_to_markdown(registry, standin, template, language):
    data = full_plan(template)
    standin.queue(plan_answer(data), plan_answer(data))  # a failed check gets one repair round: same answer
    model = ModelSettings(provider="openai", base_url=standin.url("openai"), model="stand-in-1", api_key="sk-test")
    arguments = example_arguments(registry, template, language)
    async with Client(build_server(registry, "all", model=model)) as client:  # "all": generate_plan by name
        result = await client.call_tool(
            "generate_plan", {"name": template, "arguments": arguments, "language": language}
        )
    assert not result.is_error, result.content[0].text
    structured = result.structured_content
    markdown = structured["markdown"]
    assert result.content[0].text == markdown
    # nothing the model wrote was dropped: unknown keys are kept, at the top under extras and inside their part
    assert structured["plan"][EXTRAS] == {"launch_checklist": data["launch_checklist"]}
    assert structured["plan"]["kpis"][0]["owner_note"] == data["kpis"][0]["owner_note"]
    missing = []
    for key, value in leaves(data):
        text = shown(key, value, language)
        if text is not None and text not in markdown:
            missing.append(f"{key}={value!r}")
    assert missing == [], f"{len(missing)} values missing from the Markdown: {missing[:10]}"
    # laid out as the prompt is: every section heading, in the prompt's order
    headings = [s.heading(language) for s in SECTIONS[template]]
    positions = [markdown.find(f"\n## {h}\n") for h in headings]
    assert -1 not in positions and positions == sorted(positions), list(zip(headings, positions, strict=True))
    assert markdown.index("Validation" if language == "en" else "校验结果") < positions[0]  # the status comes first


# -- the Markdown a marketing lead forwards ----------------------------------------------------------------------------
def _settings(standin) -> ModelSettings:
    return ModelSettings(provider="openai", base_url=standin.url("openai"), model="stand-in-1", api_key="sk-test")


async def _plan_call(registry, standin, scenario_id: str, *answers: dict) -> dict:
    from tests.mcp.test_plan_generation import scenario

    example = scenario(scenario_id)
    standin.queue(*[plan_answer(a) for a in answers])
    async with Client(build_server(registry, model=_settings(standin))) as client:
        result = await client.call_tool(example["tool"], {**example["arguments"], "mode": "plan"})
    assert not result.is_error, result.content[0].text
    return result.structured_content


@pytest.mark.anyio
async def test_markdown_sorts_sequences_by_day_and_keeps_terms_apart(registry, standin):
    from tests.mcp.test_plan_generation import fixture_plan

    renewal = await _plan_call(
        registry, standin, "renewal-campaign-membership-zh", fixture_plan("renewal-campaign-membership-zh")
    )
    assert [d["day"] for d in renewal["plan"]["sequence"]] == [-7, -30, -45, 0, 7]  # as the model wrote them
    text = renewal["markdown"]
    order = [text.index(f"| {t} |") for t in ("T-45", "T-30", "T-7", "T", "T+7")]
    assert order == sorted(order)
    assert "| 相对到期日(T=到期日) |" in text
    strategy = await _plan_call(registry, standin, "saas-collaboration-zh", fixture_plan("saas-collaboration-zh"))
    text = strategy["markdown"]
    assert text.index("第 0–14 天 · 搭建与基线") < text.index("第 15–60 天 · 规模化运行")  # phases by start day
    assert "| 实验假设 |" in text and "### 前提假设" in text and "| 假设 |" not in text
    assert "- **G1** 第90天前月度流失率从4.8%降至3.2%" in text
    # actions are a list, not one cell joined with 、
    assert "- 行动:\n  - 第1、3、7天发送邀请提示\n  - 邀请3人解锁看板模板" in text
    # the server's table of constraints: stated values with their result, and the kinds nobody stated
    assert "| 折扣上限 | 15% | ✅ |" in text and "| 成本上限(占收入) | 未声明 | — |" in text
    assert "| 禁用渠道 | 外呼/电话、线下活动 | ✅ |" in text


@pytest.mark.anyio
async def test_status_says_failed_and_what_was_not_checked(registry, standin):
    from tests.mcp.test_plan_generation import fixture_plan

    bad = fixture_plan("saas-collaboration-en")
    bad["win_back"][1]["discount_pct"] = 40  # a discount outside offers[] is checked too
    del bad["team_size_needed"]
    data = await _plan_call(registry, standin, "saas-collaboration-en", bad, bad)
    assert data["repaired"] is True and data["validation"]["passed"] is False
    failed = [c for c in data["validation"]["checks"] if c["status"] == "failed"]
    assert [c["name"] for c in failed] == ["discount_cap"]
    assert "Reason unknown (win_back.1) = 40% off" in failed[0]["detail"]
    # stated, but the plan gives no headcount to check: that check is unverified, not passed and not failed
    (team,) = [c for c in data["validation"]["checks"] if c["name"] == "team_size"]
    assert team["status"] == "unverified" and team["passed"] is False and "team_size_needed" in team["detail"]
    status = data["markdown"].split("\n")[2]
    assert status.startswith("> **Validation: failed** — 1 of ") and "`discount_cap`" in status
    assert "| Team | 3 people | ⚠️ unverified |" in data["markdown"]
    assert "- ⚠️ `team_size`: The team has 3 people" in data["markdown"]


@pytest.mark.anyio
async def test_unknown_keys_are_kept_and_named_in_the_repair_round(registry, standin):
    from tests.mcp.test_plan_generation import fixture_plan

    first = fixture_plan("saas-collaboration-en")
    first["offers"][0]["discount_pct"] = 30  # fails the cap, so a repair round happens
    first["referral_program"] = {"reward": "one free month per referred team"}
    first["risks"][0]["owner"] = "Customer success"
    data = await _plan_call(registry, standin, "saas-collaboration-en", first, first)
    feedback = standin.received[1].body["messages"][-1]["content"]
    assert "discount_cap" in feedback
    assert "not in the plan schema" in feedback and "referral_program" in feedback and "risks.0.owner" in feedback
    assert data["plan"]["extras"] == {"referral_program": {"reward": "one free month per referred team"}}
    assert data["plan"]["risks"][0]["owner"] == "Customer success"
    markdown = data["markdown"]
    assert "## Other content from the model" in markdown and "one free month per referred team" in markdown
    assert "| Customer success |" in markdown  # the part's unknown key is a column of its table
