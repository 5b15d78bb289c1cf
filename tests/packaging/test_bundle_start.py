"""The bundle's first start where PyPI is slow or filtered: the packages come from the mirror set in the bundle's
settings, uv trusts the system's certificates and prefers a Python installed here, and when the install fails the
client is told why (a JSON-RPC error answering `initialize`, in English and Chinese) instead of "Connection closed".

The bundle is built, unpacked and started as tests/packaging/test_bundle.py does; a failing mirror is a server on loopback
answering 403, or a closed loopback port. uv's cache is empty and nothing but loopback is reachable.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.packaging import test_bundle
from tests.packaging.test_bundle import substitute
from tests.packaging_deps import OFFLINE, TARGET, WHEELHOUSE, require_prepared, unavailable

built = test_bundle.built  # the module fixtures of the bundle tests: the bundle built, then unpacked by mcpb
unpacked = test_bundle.unpacked

pytestmark = pytest.mark.packaging

CHINESE = re.compile(r"[\u4e00-\u9fff]")
SECRET = "s3cret-pass"


class Refusing(BaseHTTPRequestHandler):
    """A package index that refuses everything, as a filtering proxy does: 403."""

    seen: list[tuple[str, str]]

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        body = b"Forbidden by policy"
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_index():
    seen: list[tuple[str, str]] = []
    handler = type("Handler", (Refusing,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


class Mirror(BaseHTTPRequestHandler):
    """A PyPI mirror (the simple repository API, PEP 503) holding the bundle's locked wheels for this platform."""

    files: dict[str, dict[str, Path]]  # normalized project name -> file name -> path
    seen: list[str]

    def do_GET(self):
        self.seen.append(self.path)
        parts = [part for part in self.path.split("/") if part]
        if len(parts) == 2 and parts[0] == "simple" and parts[1] in self.files:
            links = "".join(
                f'<a href="/files/{name}#sha256={hashlib.sha256(path.read_bytes()).hexdigest()}">{name}</a>\n'
                for name, path in self.files[parts[1]].items()
            )
            self.reply(200, f"<!DOCTYPE html><html><body>{links}</body></html>".encode(), "text/html")
        elif len(parts) == 2 and parts[0] == "files":
            found = [files[parts[1]] for files in self.files.values() if parts[1] in files]
            self.reply(200, found[0].read_bytes(), "application/octet-stream") if found else self.reply(404, b"", "")
        else:
            self.reply(404, b"not here", "text/plain")

    def reply(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror():
    """A mirror on loopback serving the wheels `make packaging-deps` put in build/wheelhouse."""
    require_prepared()
    wheels = sorted(WHEELHOUSE.glob("*.whl"))
    if not wheels:
        unavailable(f"{WHEELHOUSE} holds no wheels; run '{TARGET}'")
    files: dict[str, dict[str, Path]] = {}
    for wheel in wheels:
        project = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
        files.setdefault(project, {})[wheel.name] = wheel
    seen: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (Mirror,), {"files": files, "seen": seen}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple", seen
    finally:
        server.shutdown()
        server.server_close()


def first_start(unpacked: Path, tmp_path: Path, index_url: str):
    """The stdio parameters of the manifest's command with every setting at its default but the package index, on a
    machine whose uv cache is empty (a first start) and that reaches nothing but loopback."""
    from mcp import StdioServerParameters

    uv = require_prepared()
    installed = tmp_path / "Claude Extensions" / "retention-mcp"  # this test's own copy, never installed before
    if not installed.exists():
        shutil.copytree(unpacked, installed, ignore=shutil.ignore_patterns(".venv"))
    unpacked = installed
    manifest = json.loads((unpacked / "manifest.json").read_text("utf-8"))
    variables = {"__dirname": str(unpacked), "HOME": str(Path.home()), "/": os.sep, "pathSeparator": os.sep}
    variables |= {f"user_config.{k}": str(o.get("default", "")) for k, o in manifest["user_config"].items()}
    variables["user_config.index_url"] = index_url
    config = manifest["server"]["mcp_config"]
    network = {k: v for k, v in OFFLINE.items() if k != "UV_OFFLINE"}  # uv may go out, but only loopback answers
    host_env = {
        "PATH": str(Path(uv).parent) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(Path.home()),
        "XDG_DATA_HOME": str(tmp_path / "user-data"),
        "UV_PYTHON": sys.executable,  # a Python installed here: nothing to download
        "UV_CACHE_DIR": str(tmp_path / "empty-uv-cache"),
        **network,
    }
    env = host_env | {name: substitute(value, variables) for name, value in config["env"].items()}
    command = shutil.which(substitute(config["command"], variables), path=host_env["PATH"])
    assert command
    args = [substitute(a, variables) for a in config["args"]]
    return StdioServerParameters(command=command, args=args, env=env, cwd=str(tmp_path))


async def start_failure(params, errlog: Path) -> str:
    """The message of the error the client gets for `initialize` (the SDK's client may first probe
    `server/discover`, and give up on it while the install is still running)."""
    from mcp import Client
    from mcp.client.stdio import stdio_client
    from mcp.shared.exceptions import MCPError

    with errlog.open("w", encoding="utf-8") as err, pytest.raises(BaseException) as raised:
        async with Client(stdio_client(params, errlog=err)):
            pass

    def errors(exc: BaseException) -> list[MCPError]:
        if isinstance(exc, BaseExceptionGroup):
            return [found for inner in exc.exceptions for found in errors(inner)]
        return [exc] if isinstance(exc, MCPError) else []

    answers = [str(e) for e in errors(raised.value) if "timed out" not in str(e)]
    assert len(answers) == 1, f"expected the server's answer, got {raised.value!r}"
    return answers[0]


@pytest.mark.anyio
async def test_first_start_installs_the_locked_packages_from_the_mirror_and_serves(unpacked, mirror, tmp_path):
    from mcp import Client

    index, seen = mirror
    async with Client(first_start(unpacked, tmp_path, index)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        analysis = await client.call_tool("analyze_churn", {"path": "subscriptions.csv", "charts": False})
    assert {"analyze_churn", "retention_strategy"} <= names
    assert not analysis.is_error, analysis.content[0].text
    # every locked package came from the mirror (uv's cache was empty and nothing else answers)
    assert {"/simple/mcp/", "/simple/numpy/", "/simple/duckdb/"} <= set(seen)
    assert any(path.startswith("/files/numpy-") for path in seen)
    # a later start needs no mirror: the environment is there
    async with Client(first_start(unpacked, tmp_path, f"http://127.0.0.1:{free_port()}/simple")) as client:
        assert names == {tool.name for tool in (await client.list_tools()).tools}


@pytest.mark.anyio
async def test_a_refusing_mirror_is_used_and_named_to_the_client(unpacked, refusing_index, tmp_path):
    base, seen = refusing_index
    index = base.replace("http://", f"http://mirror-user:{SECRET}@") + "/simple"
    message = await start_failure(first_start(unpacked, tmp_path, index), tmp_path / "stderr.txt")
    # the mirror was asked for the locked packages, with its credentials
    assert seen and all(path.startswith("/simple/") for path, _ in seen), seen
    assert all(auth.startswith("Basic ") for _, auth in seen)
    # the client is told where from, why, and what to set, in both languages; the password never shows
    english, _, chinese = message.partition(" / ")
    assert base.removeprefix("http://") in english and "403" in english, message
    assert "Package index (mirror)" in english and "软件包索引(镜像)" in chinese and CHINESE.search(chinese)
    assert SECRET not in message
    log = (tmp_path / "stderr.txt").read_text("utf-8")
    assert f"retention-mcp: {message}" in log.splitlines() and SECRET not in log


@pytest.mark.anyio
async def test_an_unreachable_mirror_is_named_to_the_client(unpacked, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}/simple"
    message = await start_failure(first_start(unpacked, tmp_path, closed), tmp_path / "stderr.txt")
    assert closed.removeprefix("http://").removesuffix("/simple") in message and CHINESE.search(message), message


@pytest.mark.anyio
async def test_a_setting_that_is_not_an_address_is_named_to_the_client(unpacked, tmp_path):
    message = await start_failure(first_start(unpacked, tmp_path, "mirror.example"), tmp_path / "stderr.txt")
    assert "http://" in message and "软件包索引(镜像)" in message, message


def stub_uv(tmp_path: Path, version: str, error: str) -> Path:
    """A stand-in for uv that records how it was called and fails to install with `error`."""
    record = tmp_path / "uv-calls.jsonl"
    stub = tmp_path / "uv"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(record)!r}, 'a') as out:\n"
        "    out.write(json.dumps({'argv': sys.argv[1:], 'env': dict(os.environ)}) + '\\n')\n"
        f"if sys.argv[1:] == ['--version']:\n    print('uv {version} (stub)')\n    sys.exit(0)\n"
        f"print({error!r})\n"
        "sys.exit(2)\n",
        encoding="utf-8",
    )
    stub.chmod(0o755)
    return stub


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in uv is a script with a #! line")
@pytest.mark.parametrize(("version", "tls"), [("0.13.10", "UV_SYSTEM_CERTS"), ("0.9.2", "UV_NATIVE_TLS")])
def test_uv_gets_the_system_certificates_and_installed_pythons_first(unpacked, tmp_path, version, tls):
    import subprocess

    error = "error: Request failed\n  Caused by: invalid peer certificate: UnknownIssuer"
    stub = stub_uv(tmp_path, version, error)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "RETENTION_MCP_"))}
    env |= {"UV": str(stub), "RETENTION_MCP_INDEX_URL": "", "UV_PYTHON_PREFERENCE": ""}  # as the host fills them
    proc = subprocess.run(
        [sys.executable, str(unpacked / "server" / "launch.py")],
        input=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    calls = [json.loads(line) for line in (tmp_path / "uv-calls.jsonl").read_text("utf-8").splitlines()]
    (install,) = [c for c in calls if c["argv"] != ["--version"]]
    assert install["argv"][:2] == ["sync", "--project"] and "--frozen" in install["argv"]
    assert install["env"][tls] == "1"
    assert install["env"]["UV_PYTHON_PREFERENCE"] == "system"
    assert "UV_DEFAULT_INDEX" not in install["env"] and "RETENTION_MCP_INDEX_URL" not in install["env"]
    # the client's initialize is answered with the reason, and the process ends with the client
    (reply,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert reply["id"] == 1 and "invalid peer certificate" in reply["error"]["message"]
    assert "PyPI" in reply["error"]["message"] and proc.returncode == 1
    manifest = json.loads((unpacked / "manifest.json").read_text("utf-8"))
    args = manifest["server"]["mcp_config"]["args"]
    assert args[:4] == ["run", "--no-project", "--python-preference", "system"]  # the launcher's own Python too
