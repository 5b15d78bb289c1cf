"""Hosting the MCP server over streamable HTTP: the Starlette app with /healthz and a cached /readyz, the team guard
in front of it (always, with or without tokens), uvicorn with the connection limits and deadlines of http_guard.py,
descriptors raised to what the process may hold, and the loggers a flood writes to throttled.

`serve_http` is what `retention-mcp serve --transport http` runs once the app and its settings are ready. It binds the
listening sockets itself before saying anything: a busy port or an address that is not this machine's is one line
and an exit code, never a banner followed by a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import math
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from retention_mcp.errors import UserError
from retention_mcp.settings import ENV_MAX_CONNECTIONS, ENV_TOKENS, ENV_TOKENS_FILE

LOOPBACK = ("127.0.0.1", "localhost", "::1")
BACKLOG = 2048  # uvicorn's default
log = logging.getLogger("retention_mcp.http")


def serve_http(
    args: argparse.Namespace,
    app: Any,
    tokens: list[str],
    run: Callable[[Any, Any], None],
    notes: list[str] | None = None,
) -> int:
    """Serve `app` over HTTP as `args` say; `run(serve, server)` drives the server (cli._run). Exit status.

    Every check that can fail runs before anything is printed; `notes` (lines for stderr) follow once the port is
    ours, just before the banner."""
    from retention_mcp import __version__
    from retention_mcp.http_guard import connection_limits
    from retention_mcp.server import build_server
    from retention_mcp.settings import http_timeouts
    from retention_mcp.team import TokenTable, team_limits
    from retention_mcp.team_guard import TeamGuard

    if not 0 <= args.port <= 65535:
        raise UserError(
            f"--port must be a number from 0 to 65535, not {args.port} / --port 必须是 0 到 65535 之间的数字"
        )
    table = TokenTable.load(plain=tokens, file=app.settings.tokens_file)
    if args.host not in LOOPBACK and not table and not args.allow_no_auth:
        print(
            f"retention-mcp: refusing to serve on {args.host} without authentication: set {ENV_TOKENS_FILE} or "
            f"{ENV_TOKENS} (or --token), or pass --allow-no-auth / 拒绝在 {args.host} 上无认证地提供服务:请设置令牌,"
            "或加 --allow-no-auth",
            file=sys.stderr,
        )
        return 2
    limits = team_limits()
    _, body_timeout = http_timeouts()
    connections = within_descriptors(connection_limits())
    templates = len(app.registry)  # loaded now: a broken template stops the start here, before any output
    sockets = listening_sockets(args.host, args.port)
    port = sockets[0].getsockname()[1]  # the one the system chose for --port 0
    for note in notes or ():
        print(note, file=sys.stderr)
    display_host = f"[{args.host}]" if ":" in args.host else args.host
    base_url = f"http://{display_host}:{port}"
    server = build_server(app, tokens=table, issuer_url=base_url)
    migrate_at_start_up(app)
    http = http_app(server, args.host, args.path, args.stateless, args.allowed_host, args.allowed_origin, limits)
    audit = refusal_recorder(server) if table else None
    from retention_mcp.mcp.version_tools import PUBLISH_TOOLS

    publishers = set(app.settings.publishers)
    refuses = (lambda who, tool: tool in PUBLISH_TOOLS and who not in publishers) if table else None
    http = TeamGuard(http, table, limits, args.path, audit=audit, stateful=not args.stateless, refuses=refuses)
    if args.host not in LOOPBACK and not table:
        print(
            f"retention-mcp: warning: serving on {args.host} without authentication (--allow-no-auth)",
            file=sys.stderr,
        )
    print(
        f"retention-mcp {__version__}: {templates} templates at {base_url}{args.path}"
        f"{' (stateless)' if args.stateless else ''}"
        f"{f' ({len(table.entries)} token(s) required)' if table else ''}"
        f"{' (watching templates)' if args.watch else ''}; Ctrl+C stops",
        file=sys.stderr,
        flush=True,
    )
    import uvicorn

    from retention_mcp.http_guard import BodyDeadline, guarded_h11, throttle_flooding_loggers

    config = uvicorn.Config(
        BodyDeadline(http, body_timeout),
        host=args.host,
        port=port,
        log_level="warning",
        http=guarded_h11(connections),
    )
    throttle_flooding_loggers()  # after uvicorn configured its loggers
    served = uvicorn.Server(config)
    run(lambda: served.serve(sockets=sockets), server)
    return 0


def listening_sockets(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on every address `host` names, as uvicorn would open them (address reuse after a restart;
    IPv6 sockets IPv6 only). Anything that stops it is a UserError of one line naming the host and port."""
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise UserError(
            f"cannot serve on {where}: the host name does not resolve ({_reason(exc)}); give an address of this "
            f"machine with --host / 无法在 {where} 上提供服务:主机名无法解析,请用 --host 指定本机地址"
        ) from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys((f, k, p, "", a) for f, k, p, _, a in found):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            if hasattr(socket, "SO_REUSEADDR") and sys.platform != "win32":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPV6_V6ONLY"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)  # connections made once the banner is out wait for the server, none is refused
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise UserError(_bind_failure(exc, where, port)) from None
    return sockets


def _bind_failure(exc: OSError, where: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot serve on {where}: the port is in use by another program; stop it or choose another port "
            f"with --port / 无法在 {where} 上提供服务:端口 {port} 已被其他程序占用,请停止该程序或用 --port 换一个端口"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"cannot serve on {where}: this user may not use port {port}; choose one above 1023 with --port / "
            f"无法在 {where} 上提供服务:当前用户无权使用端口 {port},请用 --port 选择 1023 以上的端口"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot serve on {where}: the address is not one of this machine's; give another with --host / "
            f"无法在 {where} 上提供服务:该地址不属于本机,请用 --host 换一个地址"
        )
    return f"cannot serve on {where}: {_reason(exc)} / 无法在 {where} 上提供服务:{_reason(exc)}"


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc) or type(exc).__name__


def within_descriptors(limits: Any) -> Any:
    """`limits` (http_guard.ConnectionLimits) with the total kept well under the descriptors this process may open,
    after raising its soft RLIMIT_NOFILE to the hard limit. The rest is left for files, the plan store and logs."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to mind
        return limits
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return limits
    budget = soft - max(64, soft // 8)
    if limits.total <= budget:
        return limits
    total = max(1, budget)
    print(
        f"retention-mcp: warning: {ENV_MAX_CONNECTIONS}={limits.total} is more than this process can hold open "
        f"(RLIMIT_NOFILE {soft}); serving at most {total} connections / 警告:连接上限超过进程可用的文件描述符,"
        f"改为最多 {total} 个连接",
        file=sys.stderr,
    )
    return replace(limits, total=total, per_address=min(limits.per_address, total))


def refusal_recorder(server: Any) -> Callable[[str, str, str | None], None]:
    """Record a call the guard refused in the audit log: who, when, the tool, the template if there is one by that
    name, and the outcome (`rate_limited` for a 429, `forbidden` for a 403); never argument values."""

    def record(who: str, tool: str, template: str | None, outcome: str = "rate_limited") -> None:
        from retention_mcp.mcp.audit import write_entry

        shown = tool if TOOL_NAME.match(tool) else "(unreadable tool name)"
        write_entry(server.app, who, shown, template, outcome, logger=log)  # the refusal stands, recorded or not

    return record


TOOL_NAME = re.compile(r"^[A-Za-z0-9_./-]{1,64}$")  # a tool or method name fit for the log, not text to forge lines


def migrate_at_start_up(app: Any) -> None:
    """Apply the plan store's migrations before serving; a store that cannot be reached yet is reported, and
    /readyz says so until it can (saving retries it then). A store the served templates could not be read from a
    moment ago is reported at once, without waiting out its timeout a second time."""
    if not app.keeps_plans:
        return
    if app.unreachable is not None:  # reading the served templates has just waited out the store's timeout
        print(f"retention-mcp: warning: the plan store is not ready: {app.unreachable}", file=sys.stderr)
        return
    try:
        applied = app.migrate()
    except UserError as exc:
        print(f"retention-mcp: warning: the plan store is not ready: {exc}", file=sys.stderr)
        return
    if applied:
        print(f"retention-mcp: plan store migrated to version {applied[-1]}", file=sys.stderr)


class Readiness:
    """Whether the plan store answers, from a cached result: refreshed at most once per `max_age` seconds by one
    check at a time, in a daemon thread of its own, so a flood of /readyz never holds the worker threads analyses
    use. A request waits at most `timeout` seconds for a check in flight, then answers with what is known."""

    def __init__(self, check: Callable[[], bool], max_age: float = 1.0, timeout: float = 2.0):
        self.check = check
        self.max_age = max_age
        self.timeout = timeout
        self.checks = 0  # store checks run so far
        self._result: bool | None = None
        self._checked_at = -math.inf
        self._done: asyncio.Event | None = None  # set when the check in flight ends
        self._lock = threading.Lock()

    async def ready(self) -> bool | None:
        """True or False; None when no check has finished yet (the first is still running)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            done = self._done
            if done is None and time.monotonic() - self._checked_at >= self.max_age:
                done = self._done = asyncio.Event()
                # a daemon thread: a check hanging on the store never delays the server's exit
                threading.Thread(target=self._run, args=(loop, done), name="readyz", daemon=True).start()
        if done is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.timeout)
        return self._result

    def _run(self, loop: asyncio.AbstractEventLoop, done: asyncio.Event) -> None:
        try:
            result = bool(self.check())
        except Exception:
            result = False
        with self._lock:
            self.checks += 1
            self._result = result
            self._checked_at = time.monotonic()
            self._done = None
        loop.call_soon_threadsafe(done.set)


def http_app(
    server: Any,
    host: str,
    path: str,
    stateless: bool,
    hosts: list[str],
    origins: list[str],
    limits: Any = None,
):
    """The streamable-HTTP app with DNS-rebinding protection always on, and /healthz (liveness) and /readyz (the
    plan store answers) without auth. `limits` (team.TeamLimits) bounds the open stateful sessions."""
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.responses import JSONResponse

    allowed_hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    if host not in LOOPBACK and host not in ("0.0.0.0", "::"):
        allowed_hosts.append(f"{host}:*")
    allowed_hosts += hosts
    allowed_origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *origins]
    readiness = Readiness(server.app.store_ready)

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request):  # liveness, outside auth: says nothing about the server beyond "ok"
        return JSONResponse({"status": "ok"})

    @server.custom_route("/readyz", methods=["GET"])
    async def readyz(request):  # readiness, outside auth: can this replica save plans?
        ready = await readiness.ready()
        if ready:
            return JSONResponse({"status": "ready"})
        reason = "plan store unreachable" if ready is False else "plan store check still running"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)

    sessions: dict[str, Any] = {}
    if limits is not None and not stateless:
        sessions = {"session_idle_timeout": limits.session_idle_seconds, "max_sessions": limits.max_sessions}
    return server.streamable_http_app(
        streamable_http_path=path,
        stateless_http=stateless,
        json_response=stateless,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins
        ),
        host=host,
        **sessions,
    )
