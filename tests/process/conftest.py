"""Fixtures the process tier's team-server tests share."""

from __future__ import annotations

import pytest

from retention_mcp.team import new_token


@pytest.fixture
def team(tmp_path):
    """A tokens file with alice and bob (a test gives one of them a role, such as publishing), and their tokens."""
    alice, alice_line = new_token("alice")
    bob, bob_line = new_token("bob")
    path = tmp_path / "tokens"
    path.write_text(f"{alice_line}\n{bob_line}\n", encoding="utf-8")
    return {"file": path, "alice": alice, "bob": bob}
