"""Team-server pieces on their own: the tokens file, constant-time lookup, rate limits, session caps."""

from __future__ import annotations

import json

import pytest

from retention_mcp.call_costs import request_costs
from retention_mcp.settings import SettingsError
from retention_mcp.team import ANONYMOUS, RateLimiter, TeamLimits, TokenTable, new_token, parse_tokens_file, token_hash
from retention_mcp.team_guard import SessionBook


def test_new_token_gives_a_line_holding_only_the_hash(tmp_path):
    token, line = new_token("alice")
    name, digest = line.split(":")
    assert name == "alice" and digest == token_hash(token) and token not in line
    assert token.startswith("rmcp_") and len(token) > 40
    other, _ = new_token("alice")
    assert other != token
    with pytest.raises(SettingsError):
        new_token("bad name")


def test_tokens_file_names_each_token(tmp_path):
    alice, alice_line = new_token("alice")
    bob, bob_line = new_token("bob")
    path = tmp_path / "tokens"
    path.write_text(f"# team tokens\n{alice_line}\n\n{bob_line}\n", encoding="utf-8")
    table = TokenTable.load(plain=["one-person-token-xyz"], file=path)
    assert table.names == ["token-1", "alice", "bob"]
    assert table.lookup(alice) == "alice" and table.lookup(bob) == "bob"
    assert table.lookup("one-person-token-xyz") == "token-1"
    assert table.lookup(alice + "x") is None and table.lookup("") is None


def test_a_bad_tokens_file_line_is_named_without_echoing_it(tmp_path):
    path = tmp_path / "tokens"
    path.write_text("alice:" + "0" * 64 + "\nrmcp_pasted-a-real-token-by-mistake\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        parse_tokens_file(path)
    assert f"{path}:2:" in str(caught.value) and "pasted" not in str(caught.value)
    path.write_text("alice:" + "0" * 64 + "\nalice:" + "1" * 64 + "\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="twice"):
        TokenTable.load(file=path)
    with pytest.raises(SettingsError, match="cannot be read"):
        parse_tokens_file(tmp_path / "missing")


def test_rate_limiter_counts_a_sliding_minute_per_key():
    now = [1000.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.acquire("alice") for _ in range(3)] == [None, None, None]
    wait = limiter.acquire("alice")
    assert wait == pytest.approx(60.0)
    assert limiter.acquire("bob") is None  # each token has its own budget
    now[0] += 30
    assert limiter.acquire("alice") == pytest.approx(30.0)
    now[0] += 30.5
    assert limiter.acquire("alice") is None
    assert RateLimiter(0).acquire("x") is None  # 0: no limit


def test_session_book_caps_each_token_and_forgets_idle_sessions():
    now = [0.0]
    book = SessionBook(TeamLimits(sessions_per_token=2, session_idle_seconds=100), clock=lambda: now[0])
    book.opened("s1", "alice")
    book.opened("s2", "alice")
    assert not book.can_open("alice") and book.can_open("bob")
    now[0] = 60
    book.seen("s2")
    now[0] = 120  # s1 idle for 120 s: gone; s2 seen 60 s ago: kept
    assert book.can_open("alice") and set(book.sessions) == {"s2"}
    book.closed("s2")
    assert book.sessions == {}


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ({"method": "tools/call", "id": 1, "params": {"name": "retention_strategy", "arguments": {"mode": "plan"}}},
         "plan"),
        ({"method": "tools/call", "id": 2, "params": {"name": "generate_plan", "arguments": {}}}, "plan"),
        ({"method": "tools/call", "id": 3, "params": {"name": "analyze_churn", "arguments": {"path": "x.csv"}}},
         "analysis"),
        ({"method": "tools/call", "id": 4, "params": {"name": "churn_analysis", "arguments": {"dataset": "x.csv"}}},
         "analysis render"),
        ({"method": "tools/call", "id": 5, "params": {"name": "retention_strategy", "arguments": {}}}, "render"),
        ({"method": "tools/list", "id": 6}, None),
        ({"method": "tools/call", "id": 7, "params": "junk"}, None),
        (["not", "an", "object"], None),
    ],
)  # fmt: skip
def test_call_costs_read_only_the_envelope(message, kind):
    assert " ".join(sorted(request_costs(json.loads(json.dumps(message))))) == (kind or "")


def test_limits_refuse_nonsense():
    with pytest.raises(SettingsError):
        TeamLimits(plans_per_minute=-1)
    with pytest.raises(SettingsError):
        TeamLimits(session_idle_seconds=0)
    assert ANONYMOUS == "anonymous"
