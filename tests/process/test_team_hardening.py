"""Team limits that hold, through real HTTP servers on 127.0.0.1: sessions tied to the token that opened them, every
route that runs an analysis counted, renders rate-limited, 429s audited, bodies nested too deep or too large refused
without a traceback, floods of idle connections capped (per address and in all, under the process's descriptor
limit) with a short log, /readyz answered from a cached check while the store hangs, `anonymous` reserved and an
empty tokens file refused at start-up."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest

from retention_mcp.cli import main
from retention_mcp.team import new_token
from tests.conftest import SCENARIOS, free_port, wait_until_serving
from tests.process.test_transports import ENV

pytestmark = pytest.mark.anyio

JSONRPC = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank")
CHURN = next(s for s in SCENARIOS if s["tool"] == "churn_analysis" and s["id"].endswith("-en"))
GROUNDED = {**CHURN["arguments"], "dataset": "subscriptions.csv"}  # the server analyses the bundled example
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


# -- servers ----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hardening")


@pytest.fixture(scope="module")
def tokens(folder) -> dict[str, str]:
    """A tokens file with a token for each of NAMES (each test uses its own callers, so servers can be shared)."""
    made = {name: new_token(name) for name in NAMES}
    (folder / "tokens").write_text("".join(line + "\n" for _, line in made.values()), encoding="utf-8")
    return {name: token for name, (token, _) in made.items()}


@contextlib.contextmanager
def serve(folder: Path, name: str, *extra: str, nofile: int | None = None, **env: str) -> Iterator[dict]:
    """`retention-mcp serve --transport http` with its stderr in a file (so a flood of log lines cannot block it on a
    pipe); `nofile` sets the process's RLIMIT_NOFILE (soft and hard) before it starts."""
    port = free_port()
    log = folder / f"{name}.log"
    environment = ENV | {"RETENTION_MCP_TOKENS_FILE": str(folder / "tokens")} | env
    environment.setdefault("RETENTION_MCP_PLAN_STORE", str(folder / f"{name}.sqlite3"))

    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "retention_mcp", "serve", "--transport", "http", "--port", str(port), *extra],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=environment,
            preexec_fn=limit if nofile else None,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc, 60)
        yield {"base": base, "port": port, "log": log, "store": environment["RETENTION_MCP_PLAN_STORE"]}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def stateless(folder, tokens):
    """Small per-token budgets: 1 analysis and 3 renders a minute; bodies up to 2 MB."""
    env = {
        "RETENTION_MCP_ANALYSES_PER_MINUTE": "1",
        "RETENTION_MCP_RENDERS_PER_MINUTE": "3",
        "RETENTION_MCP_HTTP_MAX_BODY_MB": "2",
    }
    with serve(folder, "stateless", "--stateless", "--tools", "all", **env) as server:
        yield server


@pytest.fixture(scope="module")
def stateful(folder, tokens):
    with serve(folder, "stateful", RETENTION_MCP_SESSIONS_PER_TOKEN="2") as server:
        yield server


def rpc(base: str, token: str | None, method: str, params: dict | None = None, request_id: int = 1, **headers: str):
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx2.post(f"{base}/mcp", json=body, headers=JSONRPC | auth | headers, timeout=60)


def tool(base: str, token: str | None, name: str, arguments: dict, request_id: int = 1) -> httpx2.Response:
    return rpc(base, token, "tools/call", {"name": name, "arguments": arguments}, request_id)


def audit(store: str, who: str, count: int) -> list[dict]:
    """The audit entries of `who`, once at least `count` are written (the log is written in the background)."""
    deadline = time.monotonic() + 20
    while True:
        out = _cli("audit", "--json", "--who", who, "--plan-store", store)
        entries = json.loads(out)
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.2)


def _cli(*argv: str) -> str:
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


# -- sessions ---------------------------------------------------------------------------------------------------------
def test_a_session_is_used_and_closed_only_by_the_token_that_opened_it(stateful, tokens):
    base, alice, bob = stateful["base"], tokens["alice"], tokens["bob"]

    def open_session(token: str) -> httpx2.Response:
        return httpx2.post(f"{base}/mcp", json=INITIALIZE, headers=JSONRPC | {"Authorization": f"Bearer {token}"})

    opened = [open_session(alice) for _ in range(2)]
    assert [r.status_code for r in opened] == [200, 200]
    sids = [r.headers["mcp-session-id"] for r in opened]
    refusals = []
    for sid in sids:  # closing attempts by nobody and by bob: refused, and alice's sessions still count
        anonymous = httpx2.delete(f"{base}/mcp", headers={"mcp-session-id": sid})
        foreign = httpx2.delete(f"{base}/mcp", headers={"Authorization": f"Bearer {bob}", "mcp-session-id": sid})
        refusals.append((anonymous.status_code, foreign.status_code, foreign.json()["error"]["message"]))
    third = open_session(alice)
    assert third.status_code == 429 and "retry-after" in third.headers
    assert "RETENTION_MCP_SESSIONS_PER_TOKEN" in third.json()["error"]["message"]
    for anonymous_status, foreign_status, message in refusals:
        assert anonymous_status == 401 and foreign_status == 404
        assert "Session not found" in message and "会话" in message
    used = rpc(base, bob, "tools/list", **{"mcp-session-id": sids[0], "mcp-protocol-version": "2025-06-18"})
    assert used.status_code == 404  # bob cannot use alice's session either
    listed = rpc(base, alice, "tools/list", **{"mcp-session-id": sids[0], "mcp-protocol-version": "2025-06-18"})
    assert listed.status_code == 200
    closed = httpx2.delete(f"{base}/mcp", headers={"Authorization": f"Bearer {alice}", "mcp-session-id": sids[0]})
    assert closed.status_code < 300
    assert open_session(alice).status_code == 200  # the owner's close frees the slot
    entries = audit(stateful["store"], "alice", 1)
    assert [(e["tool"], e["outcome"]) for e in entries] == [("initialize", "rate_limited")]


# -- analyses and renders ---------------------------------------------------------------------------------------------
def test_every_route_that_runs_an_analysis_counts_against_the_analysis_limit(stateless, tokens):
    base, carol = stateless["base"], tokens["carol"]
    first = tool(base, carol, "analyze_churn", {"path": "subscriptions.csv", "charts": False})
    assert first.status_code == 200 and '"isError":true' not in first.text.replace(" ", "")
    routes = {
        "render_template": ("tools/call", {"name": "render_template", "arguments": {"name": "churn_analysis",
                                                                                    "arguments": GROUNDED}}),
        "generate_plan": ("tools/call", {"name": "generate_plan", "arguments": {"name": "churn_analysis",
                                                                                "arguments": GROUNDED}}),
        "churn_analysis": ("tools/call", {"name": "churn_analysis", "arguments": GROUNDED}),
        "prompts/get": ("prompts/get", {"name": "churn_analysis", "arguments": GROUNDED}),
    }  # fmt: skip
    for i, (method, params) in enumerate(routes.values(), 2):
        refused = rpc(base, carol, method, params, i)
        assert refused.status_code == 429, (method, params["name"], refused.text[:300])
        assert "1 analyses per minute" in refused.json()["error"]["message"]
        assert refused.json()["id"] == i and 1 <= int(refused.headers["retry-after"]) <= 60
    batch = [{"jsonrpc": "2.0", "id": 9, "method": "prompts/get", "params": routes["prompts/get"][1]}]
    answer = httpx2.post(f"{base}/mcp", json=batch, headers=JSONRPC | {"Authorization": f"Bearer {carol}"})
    assert answer.status_code == 429  # a batch costs what its requests cost (the SDK would refuse it anyway)
    for _ in range(3):  # callers without a token use nobody's budget: they get 401, not 429
        assert tool(base, None, "analyze_churn", {"path": "subscriptions.csv", "charts": False}).status_code == 401
    index = rpc(base, carol, "resources/read", {"uri": "template://index"}, 10)
    assert index.status_code == 200  # reading a resource runs no analysis
    entries = audit(stateless["store"], "carol", len(routes) + 2)
    refusals = sorted(e["tool"] for e in entries if e["outcome"] == "rate_limited")
    assert refusals == sorted([*routes, "prompts/get"])  # the four routes and the batch
    assert {e["template"] for e in entries if e["outcome"] == "rate_limited"} == {"churn_analysis"}
    logged = json.dumps(entries, ensure_ascii=False)
    assert "subscriptions.csv" not in logged and CHURN["arguments"]["business_context"][:20] not in logged


def test_renders_have_their_own_per_token_limit(stateless, tokens):
    base, dave, erin = stateless["base"], tokens["dave"], tokens["erin"]
    arguments = CHURN["arguments"]
    renders = [
        tool(base, dave, "churn_analysis", arguments, 1),
        tool(base, dave, "render_template", {"name": "churn_analysis", "arguments": arguments}, 2),
        rpc(base, dave, "prompts/get", {"name": "churn_analysis", "arguments": arguments}, 3),
    ]
    assert [r.status_code for r in renders] == [200, 200, 200]
    assert all('"isError":true' not in r.text.replace(" ", "") for r in renders)
    limited = tool(base, dave, "churn_analysis", arguments, 4)
    assert limited.status_code == 429
    message = limited.json()["error"]["message"]
    assert "3 renders per minute" in message and "渲染" in message
    assert tool(base, erin, "churn_analysis", arguments, 5).status_code == 200  # erin has her own budget
    listing = tool(base, dave, "list_templates", {}, 6)
    assert listing.status_code == 200  # listings cost nothing


# -- bodies -----------------------------------------------------------------------------------------------------------
def test_a_body_nested_too_deep_or_too_large_is_refused_without_a_traceback(stateless, tokens):
    base, frank = stateless["base"], tokens["frank"]
    headers = JSONRPC | {"Authorization": f"Bearer {frank}"}
    deep = b"[" * 3_000_000 + b"]" * 3_000_000  # 6 MB: past the 2 MB limit, so build the depth within it too
    for body in (b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": ' + b"[" * 900_000 + b"]" * 900_000
                 + b"}}", b"[" * 70 + b"]" * 70):  # fmt: skip
        answer = httpx2.post(f"{base}/mcp", content=body, headers=headers, timeout=60)
        assert answer.status_code == 400, answer.text[:200]
        message = answer.json()["error"]["message"]
        assert "nested more than 64 levels" in message and "嵌套" in message
    too_large = httpx2.post(f"{base}/mcp", content=deep, headers=headers, timeout=60)
    assert too_large.status_code == 413 and "RETENTION_MCP_HTTP_MAX_BODY_MB" in too_large.text
    assert tool(base, frank, "list_templates", {}).status_code == 200  # still serving
    log = stateless["log"].read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log and "RecursionError" not in log


# -- start-up ---------------------------------------------------------------------------------------------------------
def test_anonymous_is_a_reserved_token_name(tmp_path, capsys):
    assert main(["token", "new", "anonymous", "--file", str(tmp_path / "tokens")]) == 2
    err = capsys.readouterr().err
    assert "'anonymous'" in err and "reserved" in err and "保留" in err
    assert not (tmp_path / "tokens").exists()
    _, line = new_token("alice")
    (tmp_path / "tokens").write_text(line.replace("alice:", "Anonymous:") + "\n", encoding="utf-8")
    code, err = start_up_error(tmp_path)
    assert code == 2 and f"{tmp_path / 'tokens'}:1" in err and "reserved" in err


def test_an_empty_tokens_file_is_a_start_up_error(tmp_path):
    (tmp_path / "tokens").write_text("# team tokens\n\n# alice left\n", encoding="utf-8")
    code, err = start_up_error(tmp_path)
    assert code == 2
    assert f"{tmp_path / 'tokens'}" in err and "holds no tokens" in err and "token new" in err and "令牌" in err


def start_up_error(folder: Path) -> tuple[int, str]:
    """Start an HTTP server on loopback with folder/tokens; it must stop at once (within 30 s instead of serving)."""
    env = ENV | {"RETENTION_MCP_TOKENS_FILE": str(folder / "tokens"), "RETENTION_MCP_PLAN_STORE": "off"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "retention_mcp", "serve", "--transport", "http", "--port", str(free_port())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the server started instead of refusing its tokens file")
    return proc.returncode, err


# -- connections ------------------------------------------------------------------------------------------------------
def flood(port: int, source: str, count: int) -> list[socket.socket]:
    """`count` connections to the server from `source` (another loopback address) that send nothing."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sockets.append(sock)
    return sockets


def outcomes(sockets: list[socket.socket], seconds: float) -> dict[str, int]:
    """How each connection ended within `seconds`: refused (a 503 written), closed (by the server, with nothing
    written: the first-byte deadline) or open."""
    result = {"refused": 0, "closed": 0, "open": 0}
    deadline = time.monotonic() + seconds
    pending = list(sockets)
    while pending and time.monotonic() < deadline:
        readable, _, _ = select.select(pending, [], [], max(0.0, min(0.5, deadline - time.monotonic())))
        for sock in readable:
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            result["refused" if data.startswith(b"HTTP/1.1 503") else "closed"] += 1
            pending.remove(sock)
    result["open"] = len(pending)
    return result


def test_a_flood_of_idle_connections_is_capped_and_the_server_keeps_answering(folder, tokens):
    env = {"RETENTION_MCP_HTTP_FIRST_BYTE_TIMEOUT": "3", "RETENTION_MCP_MAX_CONNECTIONS_PER_ADDRESS": "64"}
    # 256 descriptors: the total cap (512 by default) is brought down to fit, as on a host with a low limit
    with serve(folder, "flood", "--stateless", nofile=256, **env) as server:
        base, port = server["base"], server["port"]
        one = flood(port, "127.0.0.2", 96)  # 1.5x the per-address cap, from one address
        try:
            assert httpx2.get(f"{base}/healthz", timeout=5).status_code == 200
            listed = rpc(base, tokens["alice"], "tools/list")
            assert listed.status_code == 200 and "analyze_churn" in listed.text
            ended = outcomes(one, 10)
        finally:
            for sock in one:
                sock.close()
        assert ended["refused"] >= 96 - 64 and ended["refused"] + ended["closed"] == 96, ended
        many = [sock for i in range(3, 7) for sock in flood(port, f"127.0.0.{i}", 60)]  # 240, past the total cap
        try:
            ended = outcomes(many, 10)
        finally:
            for sock in many:
                sock.close()
        assert ended["refused"] >= 240 - 192 and ended["open"] == 0, ended  # the others closed by the deadline
        assert httpx2.get(f"{base}/healthz", timeout=5).status_code == 200
    log = server["log"].read_text(encoding="utf-8", errors="replace")
    assert "RETENTION_MCP_MAX_CONNECTIONS=512 is more than this process can hold open" in log
    assert "Traceback" not in log and "Too many open files" not in log
    assert len(log.splitlines()) < 40, log[-3000:]  # throttled: at most a line a second per logger
    assert "suppressed" in log


# -- readiness --------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    """A TCP port on loopback that takes connections and never answers: a plan store that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for sock in [*held, listener]:
            sock.close()


async def test_readyz_flood_while_the_store_hangs_does_not_hold_analyses(folder, tokens):
    alice = tokens["alice"]
    with black_hole() as port:
        store = f"postgresql://nobody:secret@127.0.0.1:{port}/none"
        env = {"RETENTION_MCP_PLAN_STORE": store, "RETENTION_MCP_STORE_TIMEOUT": "12"}
        with serve(folder, "readyz", "--stateless", **env) as server:
            base = server["base"]
            analysis = {"path": "subscriptions.csv", "charts": False}
            async with httpx2.AsyncClient(timeout=120) as http:

                async def analyse() -> float:
                    started = time.monotonic()
                    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                            "params": {"name": "analyze_churn", "arguments": analysis}}  # fmt: skip
                    answer = await http.post(
                        f"{base}/mcp", json=body, headers=JSONRPC | {"Authorization": f"Bearer {alice}"}
                    )
                    assert answer.status_code == 200 and '"isError":true' not in answer.text.replace(" ", "")
                    return time.monotonic() - started

                alone = await analyse()
                statuses: list[int] = []
                timing: dict[str, float] = {}

                async def ready() -> None:
                    statuses.append((await http.get(f"{base}/readyz")).status_code)

                async def alongside() -> None:
                    await anyio.sleep(0.3)  # once the /readyz requests are in
                    timing["analysis"] = await analyse()

                started = time.monotonic()
                async with anyio.create_task_group() as tasks:
                    for _ in range(60):
                        tasks.start_soon(ready)
                    tasks.start_soon(alongside)
                timing["all"] = time.monotonic() - started
        print(f"analysis alone {alone:.2f} s, beside 60 /readyz {timing['analysis']:.2f} s "
              f"(x{timing['analysis'] / alone:.1f}); all done in {timing['all']:.2f} s")  # fmt: skip
    assert statuses == [503] * 60
    # the store check waits up to RETENTION_MCP_STORE_TIMEOUT (12 s): an analysis that waited behind /readyz
    # requests holding worker threads would take at least that long
    assert timing["analysis"] < 10 and timing["all"] < 10


def test_a_store_that_hangs_at_start_up_is_waited_for_once(folder, tokens):
    """Reading the served templates waits out the store's timeout; the migration that follows reports the same store
    as not ready at once, where it waited out the timeout a second time before the server came up."""
    with black_hole() as port:
        store = f"postgresql://nobody:secret@127.0.0.1:{port}/none"
        env = {"RETENTION_MCP_PLAN_STORE": store, "RETENTION_MCP_STORE_TIMEOUT": "1"}
        with serve(folder, "hangs-at-start", "--stateless", **env) as server:
            log = server["log"].read_text(encoding="utf-8")
    unavailable = log.index("template store unavailable")
    not_ready = log.index("the plan store is not ready")
    assert unavailable < not_ready and "error connecting" not in log[unavailable:not_ready], log[-3000:]
    assert "secret" not in log
