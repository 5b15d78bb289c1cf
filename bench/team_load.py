"""Figures for a server shared by a team, on loopback, each against a baseline measured in the same run.

  load      N concurrent clients POSTing raw JSON-RPC tools/call (a template render) to
            `retention-mcp serve --transport http --stateless` with a token (audit log in a temp SQLite store;
            and once more with the plan store off, so no audit log), versus a bare MCPServer with one echo tool
            served the same way (stateless streamable HTTP with JSON responses, uvicorn, its own process):
            calls/s, p50 and p99 latency, ratios. Alternating rounds.
  plans     plan generation (mode "plan") with the stand-in model (tests/standin_model.py, its own process,
            answering at once) through two stateless replicas sharing one throwaway PostgreSQL
            (tests/pg_cluster.py), the clients split across both, versus one replica on the same PostgreSQL with the
            same clients; then every plan id answered is checked to be saved exactly once (`plans list`).
  sessions  K stateful sessions opened (initialize only) against a stateful server, the growth of the server
            process's resident memory (VmRSS) per session, versus a bare MCPServer served statefully; then one more
            session for the same token must get 429 (RETENTION_MCP_SESSIONS_PER_TOKEN=K); after --idle-seconds
            without a request (RETENTION_MCP_SESSION_IDLE_TIMEOUT) the first session must be gone (404) and the
            token able to open a session again.

Everything listens on 127.0.0.1; every phase stops at --max-seconds. The client runs in this process and shares the
machine's cores with the servers, as the baseline's client does.

    python bench/team_load.py [--calls 2000] [--clients 20] [--rounds 4] [--plans 40] [--plan-clients 8]
                              [--sessions 200] [--idle-seconds 15] [--max-seconds 120] [--only load,plans,sessions]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the stand-in model and the throwaway PostgreSQL live with the tests

import anyio  # noqa: E402
import httpx2  # noqa: E402
from tests.conftest import free_port, wait_until_serving  # noqa: E402

from retention_mcp.paths import EXAMPLES_FILE  # noqa: E402
from retention_mcp.team import new_token  # noqa: E402

ENV = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}
JSONRPC = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
SCENARIO_ID = "saas-collaboration-zh"
PLAN_FILE = ROOT / "tests" / "fixtures" / "plans" / f"{SCENARIO_ID}.json"
PROBLEMS: list[str] = []  # checks that failed: reported at the end, and the exit status is 1
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}


# -- the processes: baselines and the stand-in model run from this file -------------------------------------------------
def serve_baseline(port: int, stateless: bool) -> None:
    import uvicorn
    from mcp.server import MCPServer

    server = MCPServer("minimal", log_level="WARNING")

    @server.tool()
    def echo(text: str) -> str:
        """Return the text."""
        return text

    app = server.streamable_http_app(stateless_http=stateless, json_response=stateless)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def serve_standin(port: int) -> None:
    from tests.standin_model import StandInModel, plan

    answer = json.loads(PLAN_FILE.read_text("utf-8"))
    standin = StandInModel()
    standin.port = port
    standin._server.config.port = port
    standin.default = lambda received: plan(answer)
    standin._server.run()


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen]:
    """A server process on 127.0.0.1:port, once it answers HTTP; stopped at exit."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        try:
            wait_until_serving(f"http://127.0.0.1:{port}", proc, any_answer=True)  # 404 included: it listens
        except RuntimeError as exc:
            raise SystemExit(f"{' '.join(args)}: {exc}") from None
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def baseline(port: int, stateless: bool) -> contextlib.AbstractContextManager[subprocess.Popen]:
    role = ["--serve-baseline", str(port)] + (["--stateless"] if stateless else [])
    return process([sys.executable, str(Path(__file__).resolve()), *role], ENV, port)


def ours(port: int, env: dict[str, str], stateless: bool) -> contextlib.AbstractContextManager[subprocess.Popen]:
    args = [sys.executable, "-m", "retention_mcp", "serve", "--transport", "http", "--port", str(port)]
    return process(args + (["--stateless"] if stateless else []), ENV | env, port)


# -- load ---------------------------------------------------------------------------------------------------------------
@dataclass
class Run:
    calls: int
    errors: int
    seconds: float
    latencies: list[float]
    answers: list[dict]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def tools_call(request_id: int, name: str, arguments: dict) -> bytes:
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    return json.dumps(body, ensure_ascii=False).encode()


async def drive(url: str, token: str | None, bodies: list[bytes], clients: int, deadline: float) -> Run:
    """`clients` concurrent clients sending `bodies` in turn (stopping at `deadline`); each answer checked."""
    headers = JSONRPC | ({"Authorization": f"Bearer {token}"} if token else {})
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    answers: list[dict] = []
    errors = 0
    queue = iter(bodies)
    async with httpx2.AsyncClient(headers=headers, timeout=120, limits=limits) as http:

        async def client() -> None:
            nonlocal errors
            for body in queue:  # one shared iterator: each body is sent once
                if time.monotonic() > deadline:
                    return
                started = time.perf_counter()
                response = await http.post(url, content=body)
                latencies.append(time.perf_counter() - started)
                try:
                    answer = response.json()
                except ValueError:
                    answer = {}
                if response.status_code != 200 or "error" in answer or answer.get("result", {}).get("isError"):
                    errors += 1
                else:
                    answers.append(answer["result"])

        started = time.perf_counter()
        async with anyio.create_task_group() as tasks:
            for _ in range(clients):
                tasks.start_soon(client)
        seconds = time.perf_counter() - started
    return Run(len(latencies), errors, seconds, latencies, answers)


def merge(runs: list[Run]) -> Run:
    return Run(
        sum(r.calls for r in runs),
        sum(r.errors for r in runs),
        sum(r.seconds for r in runs),
        [x for r in runs for x in r.latencies],
        [a for r in runs for a in r.answers],
    )


def scenario() -> dict:
    return next(s for s in json.loads(EXAMPLES_FILE.read_text("utf-8"))["scenarios"] if s["id"] == SCENARIO_ID)


def report(label: str, run: Run, unit: str = "calls") -> None:
    print(
        f"  {label:<50} {run.rate:8.1f} {unit}/s  p50 {run.percentile(50) * 1000:7.1f} ms  "
        f"p99 {run.percentile(99) * 1000:7.1f} ms  ({run.calls} {unit}, {run.errors} errors)"
    )


def ratios(ours_run: Run, base_run: Run, what: str) -> None:
    print(
        f"  ratio to {what}: calls/s {ours_run.rate / base_run.rate:.2f}x, "
        f"p50 {ours_run.percentile(50) / base_run.percentile(50):.2f}x, "
        f"p99 {ours_run.percentile(99) / base_run.percentile(99):.2f}x"
    )


def bench_load(args: argparse.Namespace, tmp: Path) -> None:
    example = scenario()
    token, line = new_token("bench")
    (tmp / "tokens").write_text(line + "\n", encoding="utf-8")
    env = {
        "RETENTION_MCP_TOKENS_FILE": str(tmp / "tokens"),
        "RETENTION_MCP_PLAN_STORE": str(tmp / "load.sqlite3"),
        "RETENTION_MCP_RENDERS_PER_MINUTE": "0",  # the bench measures throughput, not the limit
    }
    render = [tools_call(i, example["tool"], example["arguments"]) for i in range(args.calls)]
    echo = [tools_call(i, "echo", {"text": "retention"}) for i in range(args.calls)]
    per_round = max(1, args.calls // args.rounds)
    deadline = time.monotonic() + args.max_seconds
    base_port, our_port, bare_port = free_port(), free_port(), free_port()
    results: dict[str, list[Run]] = {"base": [], "ours": [], "no store": []}
    no_store = env | {"RETENTION_MCP_PLAN_STORE": "off"}
    with (
        baseline(base_port, stateless=True),
        ours(our_port, env, stateless=True),
        ours(bare_port, no_store, stateless=True),
    ):
        targets = {
            "base": (f"http://127.0.0.1:{base_port}/mcp", None, echo),
            "ours": (f"http://127.0.0.1:{our_port}/mcp", token, render),
            "no store": (f"http://127.0.0.1:{bare_port}/mcp", token, render),
        }

        async def rounds() -> None:
            for url, key, bodies in targets.values():  # warm-up, not counted
                await drive(url, key, bodies[: args.clients * 5], args.clients, deadline)
            for index in range(args.rounds):
                order = list(targets) if index % 2 == 0 else list(reversed(targets))
                for name in order:
                    url, key, bodies = targets[name]
                    chunk = bodies[index * per_round : (index + 1) * per_round]
                    results[name].append(await drive(url, key, chunk, args.clients, deadline))

        anyio.run(rounds)
    base_run, our_run, bare_run = (merge(results[name]) for name in ("base", "ours", "no store"))
    print(f"load: {args.clients} concurrent clients, stateless streamable HTTP on 127.0.0.1, {args.rounds} rounds")
    report("bare MCPServer, one echo tool", base_run)
    report(f"retention-mcp {example['tool']}, token, audit", our_run)
    report("the same, plan store off (no audit)", bare_run)
    ratios(our_run, base_run, "the bare MCPServer (token + audit)")
    ratios(bare_run, base_run, "the bare MCPServer (store off)")
    if base_run.errors or our_run.errors or bare_run.errors:
        PROBLEMS.append("load: some calls failed")


# -- plans --------------------------------------------------------------------------------------------------------------
def bench_plans(args: argparse.Namespace, tmp: Path) -> None:
    from tests.pg_cluster import Cluster, binaries

    if binaries() is None:
        print("plans: skipped, PostgreSQL is not installed (apt-get install postgresql)")
        return
    example = scenario()
    names = ("alice", "bob")
    tokens = {name: new_token(name) for name in names}
    (tmp / "team-tokens").write_text("".join(line + "\n" for _, line in tokens.values()), encoding="utf-8")
    standin_port = free_port()
    cluster = Cluster().start()
    try:
        with process([sys.executable, str(Path(__file__).resolve()), "--serve-standin", str(standin_port)], ENV,
                     standin_port) as standin:  # fmt: skip

            def measure(replicas: int) -> tuple[Run, Run, str, dict[str, float]]:
                url = cluster.fresh_database(f"bench_plans_{replicas}")
                env = {
                    "RETENTION_MCP_TOKENS_FILE": str(tmp / "team-tokens"),
                    "RETENTION_MCP_PLAN_STORE": url,
                    "RETENTION_MCP_PLANS_PER_MINUTE": "0",  # the bench measures throughput, not the limit
                    "RETENTION_MCP_LLM_PROVIDER": "openai",
                    "RETENTION_MCP_LLM_BASE_URL": f"http://127.0.0.1:{standin_port}/v1",
                    "RETENTION_MCP_LLM_MODEL": "stand-in-1",
                    "RETENTION_MCP_LLM_API_KEY": "sk-bench",
                    "RETENTION_MCP_LLM_MAX_RETRIES": "0",
                }
                ports = [free_port() for _ in range(replicas)]
                arguments = {**example["arguments"], "mode": "plan"}
                with contextlib.ExitStack() as stack:
                    pids = [stack.enter_context(ours(port, env, stateless=True)).pid for port in ports]
                    deadline = time.monotonic() + args.max_seconds

                    share = max(1, args.plan_clients // len(ports) // len(names))  # clients per replica and token

                    async def warm_up() -> list[Run]:  # as many plans per replica and token as clients: not timed
                        runs: list[Run] = []
                        body = [tools_call(0, example["tool"], arguments)] * share

                        async def group(port: int, name: str) -> None:
                            runs.append(await drive(f"http://127.0.0.1:{port}/mcp", tokens[name][0], body, share,
                                                    deadline))  # fmt: skip

                        async with anyio.create_task_group() as tg:
                            for port in ports:
                                for name in names:
                                    tg.start_soon(group, port, name)
                        return runs

                    warm = anyio.run(warm_up)

                    async def clients() -> list[Run]:
                        runs: list[Run] = []
                        per_group = max(1, args.plans // (len(ports) * len(names)))

                        async def group(port: int, name: str, offset: int) -> None:
                            bodies = [tools_call(offset + i, example["tool"], arguments) for i in range(per_group)]
                            url = f"http://127.0.0.1:{port}/mcp"
                            runs.append(await drive(url, tokens[name][0], bodies, share, deadline))

                        async with anyio.create_task_group() as tg:  # every replica, every token, at once
                            for i, port in enumerate(ports):
                                for j, name in enumerate(names):
                                    tg.start_soon(group, port, name, (i * len(names) + j) * per_group)
                        return runs

                    def cpu() -> dict[str, float]:
                        times = os.times()
                        return {
                            "replicas": sum(cpu_seconds(pid) for pid in pids),
                            "stand-in": cpu_seconds(standin.pid),
                            "client": times.user + times.system,
                        }

                    before = cpu()
                    started = time.perf_counter()
                    runs = anyio.run(clients)
                    wall = time.perf_counter() - started
                    after = cpu()
                run = merge(runs)
                run.seconds = wall  # the groups ran side by side: the wall time is the measure
                return run, merge(warm), url, {k: (after[k] - before[k]) / max(1, run.calls) for k in after}

            one, _, _, one_cpu = measure(1)
            two, warm, url, two_cpu = measure(2)
            listed = subprocess.run(
                [sys.executable, "-m", "retention_mcp", "plans", "list", "--json", "--limit", str(two.calls + warm.calls + 100),
                 "--plan-store", url],
                env=ENV, capture_output=True, text=True, check=True,
            )  # fmt: skip
    finally:
        cluster.stop()
    answered = [a["structuredContent"]["plan_id"] for a in warm.answers + two.answers]
    saved = [p["id"] for p in json.loads(listed.stdout)]
    once = len(saved) == len(set(saved)) == len(answered) and set(saved) == set(answered)
    print(
        f"plans: stand-in model (answers at once), one PostgreSQL, {args.plan_clients} concurrent clients "
        "(alice and bob, split across the replicas)"
    )
    report("one replica", one, "plans")
    report("two replicas", two, "plans")
    print(f"  ratio of two replicas to one: plans/s {two.rate / one.rate:.2f}x")
    for label, cpu in (("one replica", one_cpu), ("two replicas", two_cpu)):
        parts = ", ".join(f"{name} {seconds * 1000:.1f} ms" for name, seconds in cpu.items())
        print(f"  CPU per plan (user + system), {label}: {parts}")
    print(f"  ({os.cpu_count()} cores here for all of them and PostgreSQL)")
    print(
        f"  saved once (two replicas): {'yes' if once else 'NO'} ({len(answered)} plans answered, warm-up "
        f"included, {len(saved)} saved, {len(set(saved))} distinct)"
    )
    if not once or one.errors or two.errors:
        PROBLEMS.append("plans: a call failed, or a plan was lost or saved twice")


# -- sessions -----------------------------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit("no VmRSS in /proc: the sessions figure needs Linux")


def open_sessions(base: str, token: str | None, count: int) -> list[httpx2.Response]:
    headers = JSONRPC | ({"Authorization": f"Bearer {token}"} if token else {})
    with httpx2.Client(headers=headers, timeout=60) as http:
        return [http.post(f"{base}/mcp", json=INITIALIZE) for _ in range(count)]


def session_growth(proc: subprocess.Popen, base: str, token: str | None, count: int) -> tuple[float, int, int, str]:
    """KB of resident memory per idle session after `count` initializations; before and after, in KB; the first
    session's id."""
    warm = open_sessions(base, token, 3)  # the first sessions load code: not counted
    with httpx2.Client(headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=30) as http:
        for response in warm:
            http.delete(f"{base}/mcp", headers={"mcp-session-id": response.headers["mcp-session-id"]})
    time.sleep(0.5)
    before = rss_kb(proc.pid)
    opened = open_sessions(base, token, count)
    if any(r.status_code != 200 or "mcp-session-id" not in r.headers for r in opened):
        codes = sorted({r.status_code for r in opened})
        raise SystemExit(f"sessions: not every session opened (statuses {codes})")
    time.sleep(0.5)
    after = rss_kb(proc.pid)
    return (after - before) / count, before, after, opened[0].headers["mcp-session-id"]


def bench_sessions(args: argparse.Namespace, tmp: Path) -> None:
    if not Path("/proc/self/status").exists():
        print("sessions: skipped, /proc is not available (Linux only)")
        return
    token, line = new_token("bench")
    (tmp / "session-tokens").write_text(line + "\n", encoding="utf-8")
    env = {
        "RETENTION_MCP_TOKENS_FILE": str(tmp / "session-tokens"),
        "RETENTION_MCP_PLAN_STORE": str(tmp / "sessions.sqlite3"),
        "RETENTION_MCP_SESSIONS_PER_TOKEN": str(args.sessions),
        "RETENTION_MCP_MAX_SESSIONS": str(max(1000, args.sessions + 10)),
        "RETENTION_MCP_SESSION_IDLE_TIMEOUT": str(args.idle_seconds),
    }
    port = free_port()
    with ours(port, env, stateless=False) as proc:
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        ours_kb, ours_before, ours_after, first = session_growth(proc, base, token, args.sessions)
        extra = open_sessions(base, token, 1)[0]
        opening = time.monotonic() - started
        expiry = None
        if opening < args.idle_seconds:  # else sessions expired while others were still opening
            time.sleep(args.idle_seconds + 2)
            auth = {"Authorization": f"Bearer {token}", "mcp-session-id": first}
            ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
            old = httpx2.post(f"{base}/mcp", json=ping, headers=JSONRPC | auth, timeout=30)
            expiry = (old.status_code, open_sessions(base, token, 1)[0].status_code)
    port = free_port()
    with baseline(port, stateless=False) as proc:
        base_kb, base_before, base_after, _ = session_growth(proc, f"http://127.0.0.1:{port}", None, args.sessions)
    print(f"sessions: {args.sessions} idle stateful sessions (initialize only), server resident memory (VmRSS)")
    print(
        f"  {'bare MCPServer':<50} {base_kb:6.1f} KB per session ({base_before / 1024:.1f} -> "
        f"{base_after / 1024:.1f} MB)"
    )
    print(
        f"  {'retention-mcp (token, per-token cap = ' + str(args.sessions) + ')':<50} {ours_kb:6.1f} KB per session "
        f"({ours_before / 1024:.1f} -> {ours_after / 1024:.1f} MB)"
    )
    ratio = f"{ours_kb / base_kb:.2f}x" if base_kb > 0 else "n/a (the baseline did not grow)"
    print(f"  ratio to the bare MCPServer: {ratio}")
    retry = extra.headers.get("retry-after", "none")
    print(f"  session {args.sessions + 1} for the same token: HTTP {extra.status_code} (Retry-After {retry})")
    if extra.status_code != 429:
        PROBLEMS.append("sessions: the session beyond the per-token cap was not refused with 429")
    if expiry is None:
        print(f"  idle expiry: not checked (opening took {opening:.1f} s, over --idle-seconds {args.idle_seconds:g})")
    else:
        print(
            f"  after {args.idle_seconds:g} s idle: a request on the first session HTTP {expiry[0]}, "
            f"a new session for the token HTTP {expiry[1]}"
        )
        if expiry != (404, 200):
            PROBLEMS.append("sessions: an idle session was not closed, or the token could not open a new one")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="template calls (and echo calls) in the load figure")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients in the load figure")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds in the load figure")
    parser.add_argument("--plans", type=int, default=40, help="plans per configuration in the plans figure")
    parser.add_argument("--plan-clients", type=int, default=8, help="concurrent clients in the plans figure")
    parser.add_argument("--sessions", type=int, default=200, help="idle sessions in the sessions figure")
    parser.add_argument(
        "--idle-seconds", type=float, default=15, help="the sessions figure's idle timeout (longer than opening them)"
    )
    parser.add_argument("--max-seconds", type=float, default=120, help="time bound of each phase")
    parser.add_argument("--only", default="load,plans,sessions", help="comma-separated phases to run")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--stateless", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-standin", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        return serve_baseline(args.serve_baseline, args.stateless)
    if args.serve_standin:
        return serve_standin(args.serve_standin)
    for name in ("calls", "clients", "rounds", "plans", "plan_clients", "sessions", "idle_seconds", "max_seconds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    phases = {"load": bench_load, "plans": bench_plans, "sessions": bench_sessions}
    chosen = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(phases))
    if unknown:
        parser.error(f"--only: unknown phase(s) {', '.join(unknown)}; choose from {', '.join(phases)}")
    with tempfile.TemporaryDirectory(prefix="team-load-") as scratch:
        for name in chosen:
            phases[name](args, Path(scratch))
    if PROBLEMS:
        raise SystemExit("\n".join(PROBLEMS))


if __name__ == "__main__":
    main()
