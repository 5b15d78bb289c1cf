"""The server the browser tests talk to: the real streamable-HTTP app of `retention-mcp serve` on 127.0.0.1, in a
thread, with the test host's pages beside it. The host page is served from http://127.0.0.1:PORT (the same origin
as /mcp, so no CORS is involved) and the sandbox proxy from http://localhost:PORT, a second origin, with the
Content-Security-Policy header a host sends for a view that declares no domains."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from tests.conftest import ROOT, free_port
from tests.packaging_deps import unavailable

HOST_DIR = Path(__file__).parent / "host"
NODE_MODULES = ROOT / ".tools" / "ext-apps" / "node_modules"
ESBUILD = NODE_MODULES / ".bin" / "esbuild"
CHROMIUM = Path(os.environ.get("RETENTION_MCP_CHROMIUM", "/usr/bin/chromium"))
BUILD = ROOT / "build" / "browser-host"
SCREENSHOTS = ROOT / "build" / "screenshots"
# inline script and style only, images and fonts only from data: URLs, no network, no frames, no eval
VIEW_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; media-src 'self' data:; connect-src 'none'; "
    "frame-src 'none'; object-src 'none'; base-uri 'none'"
)


def require_browser() -> None:
    """Chromium (Debian's), a CJK font, Playwright and the npm packages of the test host; else fail in CI, skip here."""
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk")
    fonts = (
        subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
        if shutil.which("fc-list")
        else ""
    )
    if not fonts.strip():
        unavailable("no CJK font is installed: apt-get install -y fonts-noto-cjk")
    try:
        import playwright  # noqa: F401
    except ImportError:
        unavailable("Playwright is not installed: pip install -e '.[test]'")
    if not (NODE_MODULES / "@modelcontextprotocol" / "ext-apps" / "package.json").exists() or not ESBUILD.exists():
        unavailable("the MCP Apps host packages are not installed; run 'make packaging-deps' (it needs npm)")


def build_host() -> Path:
    """The test host's pages, its script bundled with the official AppBridge and MCP client."""
    BUILD.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(ESBUILD), str(HOST_DIR / "host.js"), "--bundle", "--format=esm", "--log-level=warning",
         f"--outfile={BUILD / 'host.js'}"],
        check=True, env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )  # fmt: skip
    for page in ("index.html", "sandbox.html"):
        shutil.copyfile(HOST_DIR / page, BUILD / page)
    return BUILD


class HostServer:
    """uvicorn in a thread over the server's HTTP app, with /host/* files added through the SDK's custom routes."""

    def __init__(self, server, pages: Path):
        import uvicorn
        from starlette.responses import FileResponse, Response

        from retention_mcp.http_host import http_app

        @server.custom_route("/host/{name}", methods=["GET"])
        async def page(request):
            name = request.path_params["name"]
            if name not in ("index.html", "sandbox.html", "host.js"):
                return Response(status_code=404)
            headers = {"Content-Security-Policy": VIEW_CSP} if name == "sandbox.html" else {}
            return FileResponse(pages / name, headers=headers)

        self.port = free_port()
        app = http_app(server, "127.0.0.1", "/mcp", False, [], [])
        self._uvicorn = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._uvicorn.run, daemon=True)

    @property
    def url(self) -> str:
        sandbox = f"http://localhost:{self.port}/host/sandbox.html"
        return f"http://127.0.0.1:{self.port}/host/index.html?sandbox={sandbox}"

    def __enter__(self) -> HostServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test host's server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._uvicorn.should_exit = True
        self._thread.join(timeout=10)
