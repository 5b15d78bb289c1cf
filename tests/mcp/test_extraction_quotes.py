"""Values a model reads out of a brief (the extraction call of plan mode) stand on a verbatim quote of the brief: a
value without one, or with a quote that does not state it, is dropped and its sentence stays unread. Through the
in-memory MCP client (generate_plan) and the stand-in model server on 127.0.0.1."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.mcp.test_plan_generation import fixture_plan, plan_server, scenario
from tests.standin_model import plan

pytestmark = pytest.mark.anyio

BARE = scenario("subscription-playbook-en")  # states no budget, horizon, discount cap or team


@pytest.fixture
def store(tmp_path):
    return tmp_path / "plans.sqlite3"


async def generate(registry, standin, store, arguments: dict, extraction: dict) -> dict:
    standin.extraction_replies.append(plan(extraction))
    standin.default = lambda received: plan(fixture_plan(BARE["id"]))  # the plan, and its repair
    async with Client(plan_server(registry, standin, store)) as client:
        result = await client.call_tool("generate_plan", {"name": BARE["tool"], "arguments": arguments})
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def test_quoted_values_are_kept_and_shown_as_read_by_the_model(registry, standin, store):
    arguments = {
        **BARE["arguments"],
        "team_resources": "Half a dozen CSMs plus one marketer; a budget of fifty thousand dollars in total; "
        "discounts never deeper than twenty percent off; the pilot lasts twenty-six weeks",
    }
    extraction = {
        "budget": {
            "amount": 50000,
            "currency": "USD",
            "period": "total",
            "quote": "a budget of fifty thousand dollars",
        },
        "discount_cap_pct": {"value": 20, "quote": "discounts  never deeper than\ntwenty percent off"},
        "horizon_days": {"value": 182, "quote": "the pilot lasts twenty-six weeks"},
    }
    data = await generate(registry, standin, store, arguments, extraction)
    c = data["constraints"]
    assert c["budget"]["amount"] == 50000 and c["discount_cap_pct"] == 20 and c["horizon_days"] == 182
    assert {c["sources"][k] for k in ("discount_cap_pct", "horizon_days")} == {"model"}
    assert c["sources"]["budget"] == "text"  # an amount in words the server reads itself: the model is not needed
    assert c["read_from"]["horizon_days"] == {"input": "team_resources", "text": "the pilot lasts twenty-six weeks"}
    assert c["unread"] == []  # every sentence is accounted for
    assert data["constraint_fill"]["fields"] == ["horizon_days", "discount_cap_pct"]
    markdown = data["markdown"]
    assert "read by the model from: «the pilot lasts twenty-six weeks»" in markdown
    assert "read by the model from: «discounts never deeper than twenty percent off»" in markdown
    # never labelled as what the user typed or what the server read from the facts
    assert "typed by the user" not in markdown and "read from the facts: `horizon_days`" not in markdown
    assert "extracted by the model" in markdown


# Sentences the text reader leaves alone, read by the model with a quote that states them: kept, as model-read.
KEPT = [
    pytest.param(
        "优惠不超过百分之二十",
        {"discount_cap_pct": {"value": 20, "quote": "优惠不超过百分之二十"}},
        id="zh-percent-in-words",
    ),
    pytest.param(
        "Discounts never deeper than twenty percent off",
        {"discount_cap_pct": {"value": 20, "quote": "Discounts never deeper than twenty percent off"}},
        id="en-percent-in-words",
    ),
    pytest.param(
        "The pilot lasts twenty-six weeks",
        {"horizon_days": {"value": 182, "quote": "The pilot lasts twenty-six weeks"}},
        id="horizon-in-words",
    ),
]

# What the reader now reads in words by itself: the model's reading is not needed, and the value is the text's.
READ_BY_THE_SERVER = [
    pytest.param("全年不打折", "discount_cap_pct", 0, id="zh-no-discount"),
    pytest.param("We never discount", "discount_cap_pct", 0, id="never-discount"),
    pytest.param("A dozen agents run support", "team_size", 12, id="a-dozen"),
    pytest.param("We can use email and in-app", "channels_allowed", ["email", "in_app"], id="allow-list-without-only"),
]


@pytest.mark.parametrize(("sentence", "name", "expected"), READ_BY_THE_SERVER)
async def test_words_the_server_reads_need_no_model(registry, standin, store, sentence, name, expected):
    extraction = {name: {"value": expected, "quote": sentence}}
    data = await generate(registry, standin, store, {**BARE["arguments"], "team_resources": sentence}, extraction)
    c = data["constraints"]
    assert c[name] == expected and c["sources"][name] == "text"
    assert "read by the model" not in data["markdown"]


@pytest.mark.parametrize(("sentence", "extraction"), KEPT)
async def test_a_value_with_a_quote_of_its_kind_is_kept(registry, standin, store, sentence, extraction):
    data = await generate(registry, standin, store, {**BARE["arguments"], "team_resources": sentence}, extraction)
    ((name, read),) = extraction.items()
    c = data["constraints"]
    assert c[name] == read["value"] and c["sources"][name] == "model"
    assert c["read_from"][name] == {"input": "team_resources", "text": read["quote"]}
    assert data["constraint_fill"]["fields"] == [name] and "detail" not in data["constraint_fill"]
    assert f"read by the model from: «{read['quote']}»" in data["markdown"]


LONG = "Two CSMs run onboarding calls for new teams. " * 6 + "Annual plans are 10% off, the price we list."
# A value of the extraction, the brief it is read from, and the reason it is dropped.
DROPPED = [
    pytest.param(
        {},
        {"horizon_days": {"value": 90, "quote": "the playbook runs for 90 days"}},
        "horizon_days",
        "not in the brief",
        id="guessed-horizon-quote-not-in-brief",
    ),
    pytest.param(
        {},
        {"horizon_days": {"value": 180, "quote": "growth days 31-180"}},
        "horizon_days",
        "no length of time",
        id="guessed-horizon-from-a-stage-window",
    ),
    pytest.param(
        {},
        {"horizon_days": {"value": 14, "quote": "no login for 14 days"}},
        "horizon_days",
        "not about how long the plan runs",
        id="guessed-horizon-from-a-signal",
    ),
    pytest.param(
        {"team_resources": "We want results through Q4"},
        {"horizon_days": {"value": 90, "quote": "through Q4"}},
        "horizon_days",
        "no length of time",
        id="calendar-deadline-is-no-day-count",
    ),
    pytest.param(
        {"team_resources": "Marketing cost at most 5% of revenue"},
        {"discount_cap_pct": {"value": 5, "quote": "marketing cost at most 5% of revenue"}},
        "discount_cap_pct",
        "cost share",
        id="cost-cap-reused-as-discount-cap",
    ),
    pytest.param(
        {"pricing_plans": "Basic $29/mo, Team $99/mo, Business $299/mo; annual billing is 15% off"},
        {"discount_cap_pct": {"value": 15, "quote": "annual billing is 15% off"}},
        "discount_cap_pct",
        "not a cap",
        id="list-price-discount-read-as-cap",
    ),
    pytest.param(
        {},
        {"budget": {"amount": 299, "currency": "USD", "period": "month", "quote": "Business $299/mo"}},
        "budget",
        "price, not a budget",
        id="list-price-read-as-budget",
    ),
    pytest.param(
        {"pricing_plans": "基础版每月 29 元,团队版每月 99 元;年付8.5折"},
        {"discount_cap_pct": {"value": 15, "quote": "年付8.5折"}},
        "discount_cap_pct",
        "not a cap",
        id="zh-annual-price-read-as-cap",
    ),
    pytest.param(
        {"team_resources": "Two CSMs. Budget: EUR 3k per week for ads"},
        {"budget": {"amount": 3000, "currency": "EUR", "period": "total", "quote": "Budget: EUR 3k per week for ads"}},
        "budget",
        "per week, not in total",
        id="weekly-budget-read-as-total",
    ),
    pytest.param(
        {"team_resources": "Rewards budget of at most 60 EUR per member"},
        {
            "budget": {
                "amount": 60,
                "currency": "EUR",
                "period": "total",
                "quote": "budget of at most 60 EUR per member",
            }
        },
        "budget",
        "per customer",
        id="per-member-cap-read-as-budget",
    ),
    pytest.param(
        {"team_resources": LONG},
        {"discount_cap_pct": {"value": 10, "quote": LONG}},
        "discount_cap_pct",
        "longer than the sentence",
        id="whole-brief-as-quote",
    ),
    pytest.param(
        {"team_resources": "We can use email and in-app"},
        {"channels_excluded": {"value": ["sms"], "quote": "We can use email and in-app"}},
        "channels_excluded",
        "does not name sms",
        id="channel-not-in-the-quote",
    ),
]


@pytest.mark.parametrize(("extra", "extraction", "name", "reason"), DROPPED)
async def test_a_value_without_a_quote_of_its_kind_is_dropped(
    registry, standin, store, extra, extraction, name, reason
):
    arguments = {**BARE["arguments"], **extra}
    data = await generate(registry, standin, store, arguments, extraction)
    c = data["constraints"]
    assert c.get(name) in (None, []) or c["sources"].get(name) != "model"
    assert "model" not in c["sources"].values()
    fill = data["constraint_fill"]
    assert fill["outcome"] == "nothing_found" and fill["fields"] == []
    assert f"{name}: " in fill["detail"] and reason in fill["detail"]
    assert data["validation"]["status"] != "passed"
    assert "read by the model" not in data["markdown"]


async def test_a_dropped_value_leaves_its_sentence_unread(registry, standin, store):
    arguments = {
        **BARE["arguments"],
        "team_resources": "Two CSMs; the pilot lasts twenty-six weeks; discounts never deeper than twenty percent off",
    }
    extraction = {
        "horizon_days": {"value": 90, "quote": "the pilot lasts twenty-six weeks"},  # 90 days are not 26 weeks
        "discount_cap_pct": {"value": 20, "quote": "never deeper than twenty percent off"},
    }
    data = await generate(registry, standin, store, arguments, extraction)
    c = data["constraints"]
    assert c.get("horizon_days") is None and c["discount_cap_pct"] == 20 and c["sources"]["discount_cap_pct"] == "model"
    assert data["constraint_fill"]["fields"] == ["discount_cap_pct"]
    assert "horizon_days: the quote states no length of time of that many days" in data["constraint_fill"]["detail"]
    assert [u["text"] for u in c["unread"]] == ["the pilot lasts twenty-six weeks"]
    assert data["validation"]["status"] == "unverified"


async def test_a_model_value_settles_only_the_sentence_it_quotes(registry, standin, store):
    arguments = {
        **BARE["arguments"],
        "team_resources": "Two CSMs; the pilot lasts twenty-six weeks; the upgrade pilot lasts eight weeks",
    }
    extraction = {"horizon_days": {"value": 182, "quote": "the pilot lasts twenty-six weeks"}}
    data = await generate(registry, standin, store, arguments, extraction)
    c = data["constraints"]
    assert c["horizon_days"] == 182 and c["sources"]["horizon_days"] == "model"
    unread = [u["text"] for u in c["unread"]]
    assert "the pilot lasts twenty-six weeks" not in unread
    assert unread == ["the upgrade pilot lasts eight weeks"]  # the other sentence is still to be read
    assert data["validation"]["status"] != "passed"


async def test_the_extraction_call_asks_for_quotes(registry, standin, store):
    await generate(registry, standin, store, BARE["arguments"], {})
    (call,) = standin.extractions
    schema = call.body["response_format"]["json_schema"]["schema"]
    assert "quote" in str(schema["$defs"]["QuotedDays"]["required"])
    assert "copied verbatim" in call.prompt_text()
