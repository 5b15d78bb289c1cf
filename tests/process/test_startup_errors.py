"""A server that cannot start says why in one line, in English and Chinese, and exits non-zero: before any banner,
without a traceback. Each case runs `python -m retention_mcp serve --transport http` as a real process."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from tests.conftest import free_port

ENV = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
BROKEN_TEMPLATE = (
    "---\nname: bad\ndescription: x\nmetadata:\n  version: 1.0.0\n  locale: en\n  colour: red\n---\nuser:\nhi\n"
)


def serve(*extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "retention_mcp", "serve", "--transport", "http", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env={**ENV, **(env or {})})


Setup = tuple[list[str], dict[str, str]]  # the flags and environment of one case


def busy_port(tmp_path: Path, held: list[socket.socket]) -> Setup:
    holder = socket.socket()
    held.append(holder)  # listening until the case has run
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return ["--port", str(holder.getsockname()[1])], {}


def malformed_token_file(tmp_path: Path, held: list[socket.socket]) -> Setup:
    (tmp_path / "tokens.txt").write_text("not a token line\n", encoding="utf-8")
    return ["--port", str(free_port())], {"RETENTION_MCP_TOKENS_FILE": str(tmp_path / "tokens.txt")}


def broken_template(tmp_path: Path, held: list[socket.socket]) -> Setup:
    (tmp_path / "bad.prompty").write_text(BROKEN_TEMPLATE, encoding="utf-8")
    return ["--port", str(free_port()), "--templates", str(tmp_path)], {}


# (case, how to set it up, words the English half names)
CASES = [
    ("port in use", busy_port, ["in use", "--port"]),
    ("port out of range", lambda tmp, held: (["--port", "70000"], {}), ["--port", "65535"]),
    # an address from the documentation range (RFC 5737): no interface has it, and binding sends nothing
    ("address not of this machine", lambda tmp, held: (["--host", "192.0.2.1", "--token", "t0ken"], {}), ["--host"]),
    (
        "token file missing",
        lambda tmp, held: (["--port", str(free_port())], {"RETENTION_MCP_TOKENS_FILE": str(tmp / "none.txt")}),
        ["RETENTION_MCP_TOKENS_FILE", "cannot be read"],
    ),
    ("token file malformed", malformed_token_file, ["tokens.txt:1"]),
    (
        "template folder missing",
        lambda tmp, held: (["--port", str(free_port())], {"RETENTION_MCP_TEMPLATES": str(tmp / "nowhere")}),
        ["not a directory"],
    ),
    ("template broken", broken_template, ["bad.prompty:7", "colour"]),
    (
        "setting not a number",
        lambda tmp, held: (["--port", str(free_port())], {"RETENTION_MCP_MAX_SESSIONS": "many"}),
        ["RETENTION_MCP_MAX_SESSIONS"],
    ),
    (
        "HTTP timeout not a number",
        lambda tmp, held: (["--port", str(free_port())], {"RETENTION_MCP_HTTP_BODY_TIMEOUT": "soon"}),
        ["RETENTION_MCP_HTTP_BODY_TIMEOUT"],
    ),
]


@pytest.mark.parametrize(("case", "setup", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_failed_start_is_one_bilingual_line_and_an_exit_code(case, setup, words, tmp_path):
    held: list[socket.socket] = []
    try:
        extra, env = setup(tmp_path, held)
        proc = serve(*extra, env=env)
    finally:
        for sock in held:
            sock.close()
    lines = proc.stderr.splitlines()
    assert proc.returncode != 0, proc.stderr
    assert len(lines) == 1, f"{case}: {proc.stderr}"
    (line,) = lines
    assert "Traceback" not in line and "Ctrl+C" not in line and "templates at" not in line
    english, _, chinese = line.partition(" / ")
    assert chinese and CHINESE.search(chinese) and not CHINESE.search(english), line
    assert all(word in english for word in words), line
    assert proc.stdout == ""


def test_port_zero_serves_on_the_port_the_system_chose_and_says_which():
    proc = subprocess.Popen(
        [sys.executable, "-m", "retention_mcp", "serve", "--transport", "http", "--port", "0", "--data-dir", "."],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        url = re.search(r"templates at (http://127\.0\.0\.1:(\d+))/mcp", banner)
        assert url and url.group(2) != "0", banner
        assert httpx2.get(f"{url.group(1)}/healthz", timeout=10).json() == {"status": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
