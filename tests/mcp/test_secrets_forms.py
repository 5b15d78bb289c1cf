"""A hostile model endpoint echoes the API key back in every field of its answer and in every disguise: as the model
name, the id, the stop reason, inside the plan, encoded (base64 at each alignment, hex, reversed), broken over lines,
interleaved with zero-width characters, or masked as a 401 shows it. The key, in any of those forms, must reach no
tool result, no listing, no stored row, no CLI output and no log line."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from pathlib import Path

import pytest
from mcp import Client
from starlette.responses import JSONResponse

from retention_mcp import redaction
from retention_mcp.server import build_server
from retention_mcp.settings import ModelSettings
from tests.mcp.test_plan_generation import fixture_plan, scenario
from tests.standin_model import Reply, StandInModel, status
from tests.unit.test_cli import ENV, run

pytestmark = pytest.mark.anyio

LONG = "Wd4Hs8QpL2vXn7TbK9cRm3Yz6F"  # an ordinary-looking key
SHORT = "k9Vq"  # the shortest key that must be scrubbed
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
EXAMPLE = scenario("saas-collaboration-en")


def disguises(key: str) -> dict[str, str]:
    """How a hostile endpoint may show `key`."""
    raw = key.encode()
    forms = {
        "plain": key,
        "base64": base64.b64encode(raw).decode(),
        "base64-in-run-1": "QUJD" + base64.b64encode(b"x" + raw + b"yz").decode(),
        "base64-in-run-2": "QUJD" + base64.b64encode(b"xy" + raw).decode(),
        "base64-urlsafe-unpadded": base64.urlsafe_b64encode(b"?" + raw + b"?").decode().rstrip("="),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "reversed": key[::-1],
        "split-line": key[: len(key) // 2] + "\n" + key[len(key) // 2 :],
        "split-lines": key[:2] + "\r\n\n" + key[2:-1] + "\n" + key[-1:],
        "zero-width": "".join(c + ZERO_WIDTH[i % len(ZERO_WIDTH)] for i, c in enumerate(key))[:-1],
    }
    if len(key) > 4:
        forms |= {
            "split-space": key[:10] + " " + key[10:],
            "masked-dots": f"sk-...{key[-4:]}",
            "masked-stars": f"sk-****{key[-4:]}",
            "masked-ellipsis": f"sk-…{key[-6:]}",
            "masked-x": f"sk-xxxxxxxx{key[-5:]}",
            "masked-head": f"{key[:5]}****",
        }
    return forms


def leaks(key: str, text: str) -> list[str]:
    """The forms of `key` (and, for a longer key, its first or last 4 characters) found in `text`, whatever
    whitespace or zero-width characters are mixed in."""
    bare = "".join(text.split()).translate({ord(c): None for c in ZERO_WIDTH})
    raw = key.encode()
    needles = {"key": key, "reversed": key[::-1], "hex": raw.hex(), "HEX": raw.hex().upper()}
    for shift in range(3):  # the part of the base64 that depends on the key alone, at each alignment
        core = base64.b64encode(b"\0" * shift + raw + b"\0\0").decode()[
            -(-8 * shift // 6) : 8 * (shift + len(raw)) // 6
        ]
        needles[f"base64-{shift}"] = core
        needles[f"base64url-{shift}"] = core.replace("+", "-").replace("/", "_")
    if len(key) > 4:
        needles |= {"first 4": key[:4], "last 4": key[-4:]}
    return [name for name, needle in needles.items() if needle in bare]


class EchoingModel(StandInModel):
    """The stand-in model server, which can also answer a whole JSON body of the test's making."""

    async def _answer(self, request, received, reply):
        if reply.kind == "raw":
            return JSONResponse(reply.data, status_code=reply.status)
        return await super()._answer(request, received, reply)


def raw(body: dict, code: int = 200) -> Reply:
    return Reply("raw", body, status=code)


@pytest.fixture(scope="module")
def echoing():
    server = EchoingModel().start()
    yield server
    server.stop()


@pytest.fixture
def model(echoing):
    echoing.reset()
    return echoing


def settings(model: StandInModel, provider: str, key: str) -> ModelSettings:
    return ModelSettings(
        provider=provider,  # type: ignore[arg-type]
        base_url=model.url(provider),
        model="stand-in-1",
        api_key=key,
        timeout=5,
        max_retries=0,
        total_timeout=30,
    )


def hostile_plan(form: str) -> dict:
    data = fixture_plan("saas-collaboration-en")
    data["title"] = f"Retention plan {form}"
    data["summary"] += f" Reference: {form}."
    data["assumptions"][0] += f" (source {form})"
    data["risks"][0]["mitigation"] = form
    return data


def answer(provider: str, form: str) -> dict:
    """A successful answer carrying `form` in every field the endpoint fills in."""
    usage = {"note": form}
    if provider == "anthropic":
        block = {"type": "tool_use", "id": form, "name": "submit_plan", "input": hostile_plan(form)}
        return {"id": form, "type": "message", "role": "assistant", "model": form, "content": [block],
                "stop_reason": "tool_use", "stop_sequence": form, "usage": usage}  # fmt: skip
    message = {"role": "assistant", "content": json.dumps(hostile_plan(form), ensure_ascii=False)}
    return {"id": form, "object": "chat.completion", "model": form, "system_fingerprint": form,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage}  # fmt: skip


def tool_text(result) -> str:
    parts = [getattr(c, "text", "") for c in result.content]
    return "\n".join(parts) + "\n" + json.dumps(result.structured_content, ensure_ascii=False)


def stored_rows(store: Path) -> str:
    with sqlite3.connect(store) as db:
        return "\n".join("\t".join(map(str, row)) for row in db.execute("SELECT * FROM plans"))


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("form", list(disguises(LONG)))
async def test_key_in_every_field_of_a_successful_answer_is_never_kept_or_shown(
    registry, model, tmp_path, caplog, provider, form
):
    shown = disguises(LONG)[form]
    store = tmp_path / "plans.sqlite3"
    model.queue(raw(answer(provider, shown)))
    server = build_server(registry, "all", model=settings(model, provider, LONG), plan_store=store)
    with caplog.at_level(logging.DEBUG):
        async with Client(server) as client:
            result = await client.call_tool(
                "generate_plan", {"name": EXAMPLE["tool"], "arguments": EXAMPLE["arguments"]}
            )
            listing = await client.call_tool("list_plans", {})
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["store_status"] == "saved" and "***" in data["plan"]["title"] and "***" in data["model"]
    for where, text in {
        "result": tool_text(result),
        "list_plans": tool_text(listing),
        "stored row": stored_rows(store),
        "log": caplog.text,
    }.items():
        assert leaks(LONG, text) == [], (where, form, text[:3000])


@pytest.mark.parametrize("form", list(disguises(SHORT)))
async def test_a_four_character_key_is_scrubbed_in_every_form_and_ordinary_text_is_kept(
    registry, model, tmp_path, caplog, form
):
    shown = disguises(SHORT)[form]
    store = tmp_path / "plans.sqlite3"
    model.queue(raw(answer("openai", shown)))
    server = build_server(registry, "all", model=settings(model, "openai", SHORT), plan_store=store)
    with caplog.at_level(logging.DEBUG):
        async with Client(server) as client:
            result = await client.call_tool(
                "generate_plan", {"name": EXAMPLE["tool"], "arguments": EXAMPLE["arguments"]}
            )
            listing = await client.call_tool("list_plans", {})
    assert not result.is_error, result.content
    for where, text in {
        "result": tool_text(result),
        "list_plans": tool_text(listing),
        "stored row": stored_rows(store),
        "log": caplog.text,
    }.items():
        assert leaks(SHORT, text) == [], (where, form, text[:3000])
    # only the key was blanked: the rest of the plan is as the model wrote it
    title, summary = result.structured_content["plan"]["title"], result.structured_content["plan"]["summary"]
    if form.startswith("base64"):  # the characters of the run around the key are kept
        assert title.startswith("Retention plan ") and "***" in title, title
    else:
        assert title == "Retention plan ***", title
        assert summary == fixture_plan("saas-collaboration-en")["summary"] + " Reference: ***."
    # a short key is matched exactly: its characters in other words, apart or in another case stay
    ordinary = "k9 Vq, K9VQ, k9vq, Vq9k, mask k9Vx; planning ... **bold** sk-...Vqk9 explanation"
    assert redaction.scrub(ordinary) == ordinary


REFUSALS = {
    "masked-dots": "Incorrect API key provided: sk-...{tail}. You can find your API key at the dashboard.",
    "masked-stars": "Invalid x-api-key sk-****{tail}",
    "masked-long-tail": "Invalid key: sk-proj-********************{tail6}.",
    "masked-ellipsis": "key …{tail} was revoked",
    "masked-x": "credential XXXXXXXX{tail} rejected",
    "masked-head": "key {head}… is not allowed",
    "split-line": "rejected key {half1}\n{half2} for this project",
    "zero-width": "rejected key {zw} for this project",
    "base64": "credentials dXNlcjo{b64} rejected",
    "hex": "token {hex} rejected",
    "reversed": "token {rev} rejected",
}


def refusal(template: str, key: str) -> str:
    return template.format(
        tail=key[-4:],
        tail6=key[-6:],
        head=key[:4],
        half1=key[:13],
        half2=key[13:],
        zw="\u200b".join(key),
        b64=base64.b64encode(b"x" + key.encode()).decode(),
        hex=key.encode().hex(),
        rev=key[::-1],
    )


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("case", list(REFUSALS))
async def test_refused_request_shows_no_part_of_the_key(registry, model, tmp_path, caplog, provider, case):
    """A 401 that shows the key masked or disguised, through the MCP client."""
    model.queue(status(401, refusal(REFUSALS[case], LONG)))
    server = build_server(registry, "all", model=settings(model, provider, LONG), plan_store=tmp_path / "p.sqlite3")
    with caplog.at_level(logging.DEBUG):
        async with Client(server) as client:
            result = await client.call_tool(
                "generate_plan", {"name": EXAMPLE["tool"], "arguments": EXAMPLE["arguments"]}
            )
    assert result.is_error
    text = tool_text(result)
    assert "HTTP 401" in text and "***" in text, text[:600]
    for where, seen in {"result": text, "log": caplog.text}.items():
        assert leaks(LONG, seen) == [], (where, case, seen[:1500])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("form", ["base64-in-run-1", "reversed", "split-line", "zero-width", "masked-dots"])
async def test_key_given_as_the_reason_for_an_empty_answer_is_scrubbed(registry, model, tmp_path, provider, form):
    """No plan, and the key (disguised) as the refusal, finish reason or stop reason."""
    shown = disguises(LONG)[form]
    if provider == "anthropic":
        body = {"id": shown, "type": "message", "model": shown, "content": [], "stop_reason": shown}
    else:
        message = {"role": "assistant", "content": "", "refusal": shown}
        body = {"id": shown, "model": shown, "choices": [{"index": 0, "message": message, "finish_reason": shown}]}
    model.queue(raw(body))
    server = build_server(registry, "all", model=settings(model, provider, LONG), plan_store=tmp_path / "p.sqlite3")
    async with Client(server) as client:
        result = await client.call_tool("generate_plan", {"name": EXAMPLE["tool"], "arguments": EXAMPLE["arguments"]})
    assert result.is_error and "no plan" in tool_text(result)
    assert leaks(LONG, tool_text(result)) == [], tool_text(result)[:1500]


def cli_env(model: StandInModel, store: Path, key: str, provider: str = "openai") -> dict:
    return {
        **ENV,
        "RETENTION_MCP_LLM_PROVIDER": provider,
        "RETENTION_MCP_LLM_BASE_URL": model.url(provider),
        "RETENTION_MCP_LLM_MODEL": "stand-in-1",
        "RETENTION_MCP_LLM_API_KEY": key,
        "RETENTION_MCP_PLAN_STORE": str(store),
    }


def args_file(tmp_path: Path) -> str:
    path = tmp_path / "args.json"
    path.write_text(json.dumps(EXAMPLE["arguments"], ensure_ascii=False), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("form", ["plain", "base64-in-run-2", "hex", "split-line", "zero-width", "masked-stars"])
def test_cli_generate_and_plans_show_no_key(model, tmp_path, form):
    store = tmp_path / "plans.sqlite3"
    env = cli_env(model, store, LONG)
    model.queue(raw(answer("openai", disguises(LONG)[form])))
    made = run("generate", EXAMPLE["tool"], "--args-file", args_file(tmp_path), "--json", env=env)
    assert made.returncode == 0, made.stderr
    plan_id = json.loads(made.stdout)["plan_id"]
    listed = run("plans", "list", "--json", env=env)
    shown = run("plans", "show", plan_id, "--format", "json", env=env)
    markdown = run("plans", "show", plan_id, env=env)
    model.queue(status(401, refusal(REFUSALS["masked-dots"], LONG)))
    refused = run("generate", EXAMPLE["tool"], "--args-file", args_file(tmp_path), env=env)
    assert refused.returncode != 0 and "HTTP 401" in refused.stderr
    for ran in (made, listed, shown, markdown, refused):
        assert leaks(LONG, ran.stdout + ran.stderr) == [], (form, ran.stdout[:1500], ran.stderr[:1500])
    assert leaks(LONG, stored_rows(store)) == []


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("code", [401, 500])
async def test_short_key_broken_over_lines_in_an_error_body_is_scrubbed(registry, model, tmp_path, provider, code):
    """The error text is put on one line for the message: the key is found before its line breaks become spaces."""
    model.queue(status(code, f"rejected credential {SHORT[:2]}\n{SHORT[2:]} / bad {SHORT[:1]}\r\n{SHORT[1:]}"))
    server = build_server(registry, "all", model=settings(model, provider, SHORT), plan_store=tmp_path / "p.sqlite3")
    async with Client(server) as client:
        result = await client.call_tool("generate_plan", {"name": EXAMPLE["tool"], "arguments": EXAMPLE["arguments"]})
    text = tool_text(result)
    assert result.is_error and "rejected credential ***" in text, text[:600]
    assert leaks(SHORT, text) == [], text[:1500]


@pytest.mark.parametrize("form", ["plain", "hex", "split-line", "masked-dots"])
async def test_the_client_models_name_and_answer_are_scrubbed_too(registry, tmp_path, form):
    """Plan mode through the client's own model (sampling): its model name and plan are untrusted as well."""
    from mcp_types import CreateMessageResult, TextContent

    from retention_mcp.settings import Settings

    Settings(tokens=[LONG])  # a team token is a secret like the API key
    shown = disguises(LONG)[form]

    async def sampling(context, params):
        text = TextContent(type="text", text=json.dumps(hostile_plan(shown), ensure_ascii=False))
        return CreateMessageResult(role="assistant", content=text, model=shown)

    store = tmp_path / "plans.sqlite3"
    async with Client(build_server(registry, plan_store=store), mode="legacy", sampling_callback=sampling) as client:
        result = await client.call_tool(EXAMPLE["tool"], {**EXAMPLE["arguments"], "mode": "plan"})
        listing = await client.call_tool("list_plans", {})
    assert not result.is_error and result.structured_content["model"].startswith("sampling:")
    for where, text in {
        "result": tool_text(result),
        "list_plans": tool_text(listing),
        "row": stored_rows(store),
    }.items():
        assert leaks(LONG, text) == [], (where, form, text[:1500])
