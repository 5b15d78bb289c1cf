"""Start retention-mcp from an unpacked MCP bundle: install its locked environment with uv, then run the server.

The host runs this file with any Python uv finds (the manifest's `uv run --no-project`); it needs the standard
library only. It installs the bundle's environment (`.venv` beside pyproject.toml and uv.lock):

  no mirror set   `uv sync --frozen --no-dev`: the locked wheels from the addresses uv.lock records (PyPI)
  a mirror set    the locked versions exported from uv.lock with their hashes, installed with `uv pip sync` from
                  the mirror (RETENTION_MCP_INDEX_URL, the bundle's "Package index" setting): uv.lock's own
                  addresses would bypass any index

with the system's certificates (uv's system TLS: a TLS-inspecting proxy's root is trusted as the browser trusts it)
and a Python already installed preferred to a download. Then it hands over to the server (`uv run --no-sync`).

When the install fails, the client would see only "Connection closed". Instead this process writes one line on
stderr (the host's log) and stays to answer the client: every request, `initialize` first, gets a JSON-RPC error
whose message says what failed and what to set, in English and Chinese.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import deque
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLE = HERE.parent
MAIN = HERE / "main.py"
INDEX_VARIABLE = "RETENTION_MCP_INDEX_URL"
SYSTEM_CERTS_SINCE = (0, 11)  # uv 0.11 renamed --native-tls to --system-certs
INSTALL_FAILED = -32000  # JSON-RPC: a server error of the implementation's own
CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def find_uv() -> str | None:
    """The uv that started this file (uv run sets UV), else the one on the PATH."""
    return os.environ.get("UV") or shutil.which("uv")


def uv_version(uv: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    return tuple(int(part) for part in found.groups() if part is not None) if found else ()


def uv_environment(uv: str, index: str) -> dict[str, str]:
    """This process's environment for uv: the mirror as the default index, the system's certificates, installed
    Pythons first. Settings the user made in the environment stand; empty ones (an unset option) are dropped."""
    drop = (INDEX_VARIABLE, "VIRTUAL_ENV")  # the server runs in the bundle's own environment
    env = {k: v for k, v in os.environ.items() if not (k.startswith("UV_") and not v.strip()) and k not in drop}
    if index:
        env["UV_DEFAULT_INDEX"] = env["UV_INDEX_URL"] = index  # UV_INDEX_URL: uv before 0.4.23
    if "UV_SYSTEM_CERTS" not in env and "UV_NATIVE_TLS" not in env:
        env["UV_SYSTEM_CERTS" if uv_version(uv) >= SYSTEM_CERTS_SINCE else "UV_NATIVE_TLS"] = "1"
    env.setdefault("UV_PYTHON_PREFERENCE", "system")
    return env


def run_uv(args: list[str], env: dict[str, str], tail: deque[str], cwd: Path | None = None, echo: bool = True) -> bool:
    """Run uv with its output passed on to stderr (never stdout, the client's channel) unless `echo` is off; the
    last lines kept in `tail`."""
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except OSError as exc:
        tail.append(f"error: cannot run uv: {exc.strerror or exc}")
        return False
    assert proc.stdout is not None
    for line in proc.stdout:
        if echo:
            sys.stderr.write(line)
        tail.append(line.rstrip())
    sys.stderr.flush()
    return proc.wait() == 0


def install(uv: str, env: dict[str, str], index: str, tail: deque[str]) -> bool:
    """The bundle's environment, as locked: synced from uv.lock, or through the mirror when one is set."""
    sync = [uv, "sync", "--project", str(BUNDLE), "--frozen", "--no-dev"]
    if not index:
        return run_uv(sync, env, tail)
    if run_uv([*sync, "--offline"], env, deque(maxlen=1), echo=False):  # installed before: the mirror is not asked
        return True
    with tempfile.TemporaryDirectory(prefix="retention-mcp-") as scratch:
        requirements = Path(scratch) / "requirements.txt"
        export_to = ["--format", "requirements-txt", "--output-file", str(requirements)]
        exported = run_uv(
            [uv, "export", "--project", str(BUNDLE), "--frozen", "--no-dev", "--no-header", "--quiet", *export_to],
            env,
            tail,
        )
        if not exported:
            return False
        venv = BUNDLE / ".venv"
        if not venv.is_dir() and not run_uv([uv, "venv", "--quiet", str(venv)], env, tail, cwd=BUNDLE):
            return False
        return run_uv([uv, "pip", "sync", "--python", str(venv), str(requirements)], env, tail, cwd=BUNDLE)


def redacted(text: str) -> str:
    return CREDENTIALS.sub("***@", text)


def reason(tail: deque[str]) -> str:
    """uv's word on the failure, on one line: its error, and its hint or else its innermost cause."""
    lines = [line.strip() for line in tail if line.strip()]
    starts = [i for i, line in enumerate(lines) if line.startswith("error:")]
    block = lines[starts[-1] :] if starts else lines[-1:] or ["uv gave no reason"]
    hints = [line for line in block if line.startswith("hint:")]
    causes = [line for line in block[1:] if line.startswith(("Caused by:", "cause:"))]
    parts = [block[0], *(hints[-1:] or causes[-1:])]
    text = ": ".join(re.sub(r"^(error|hint|cause|Caused by):\s*", "", part).rstrip(".") for part in parts)
    return redacted(" ".join(text.split()))[:400]


def failure_message(index: str, tail: deque[str]) -> str:
    where = f"the mirror {redacted(index)}" if index else "PyPI"
    where_zh = f"镜像 {redacted(index)}" if index else "PyPI"
    return (
        f"retention-mcp could not install its Python packages from {where} on first start ({reason(tail)}). Set "
        "'Package index (mirror)' in the extension's settings to an index you can reach, then restart the "
        "extension; the host's log for this server has uv's full output. / retention-mcp 首次启动时无法从"
        f"{where_zh}安装所需的 Python 软件包。请在扩展设置中把“软件包索引(镜像)”设为可以访问的地址,然后重启扩展;"
        "该服务器的宿主日志里有 uv 的完整输出。"
    )


def answer_with(message: str) -> int:
    """Say `message` on stderr, then answer each request of the client with it until the client closes stdin."""
    print(f"retention-mcp: {message}", file=sys.stderr, flush=True)
    for raw in sys.stdin.buffer:
        try:
            request = json.loads(raw)
        except ValueError:
            continue
        if isinstance(request, dict) and "method" in request and request.get("id") is not None:
            error = {"code": INSTALL_FAILED, "message": message}
            reply = json.dumps({"jsonrpc": "2.0", "id": request["id"], "error": error}, ensure_ascii=False)
            sys.stdout.buffer.write(reply.encode("utf-8") + b"\n")
            sys.stdout.buffer.flush()
    return 1


def main(argv: list[str]) -> int:
    index = os.environ.get(INDEX_VARIABLE, "").strip()
    if index and not re.match(r"(?i)^(https?|file)://", index):
        return answer_with(
            f"'Package index (mirror)' must be an http:// or https:// address, like https://mirror.example/simple "
            f"(got {redacted(index)!r}) / “软件包索引(镜像)”必须是 http:// 或 https:// 开头的地址"
        )
    uv = find_uv()
    tail: deque[str] = deque(maxlen=40)
    if uv is None:
        tail.append("uv is not on the PATH")
        return answer_with(failure_message(index, tail))
    env = uv_environment(uv, index)
    if not install(uv, env, index, tail):
        return answer_with(failure_message(index, tail))
    server = [uv, "run", "--project", str(BUNDLE), "--frozen", "--no-dev", "--no-sync", str(MAIN), *argv]
    if sys.platform == "win32":  # no exec that keeps the client's pipes: wait for the server instead
        return subprocess.call(server, env=env)
    os.execve(uv, server, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
