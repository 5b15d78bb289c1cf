"""Over stdio, a line that is not a JSON-RPC message gets a JSON-RPC error reply instead of silence.

The SDK's stdio transport drops such a line (it hands the server an exception that is only logged at debug level),
and it has no public hook for it. So the server's stdin and stdout pass through a line filter in this process,
in front of the SDK's own transport, which runs unchanged:

- stdin: each line the client writes is checked the way the SDK reads it (`mcp_types.jsonrpc_message_adapter`).
  A message goes on to the SDK as it is; a line that is not JSON is answered `-32700 Parse error` with `id: null`;
  JSON that is not a JSON-RPC message (an array, a number, an object without `jsonrpc: "2.0"`...) is answered
  `-32600 Invalid Request`, with the request's id when it has a usable one, else `null`. Blank lines are skipped.
  The line itself is never echoed back.
- stdout: what the SDK writes is passed on a whole line at a time, so a reply from the filter never lands inside
  one of the SDK's messages.

At the end of the input the SDK sees the end of its input and stops; everything it wrote is passed on before the
real stdout is given back. POSIX only: on Windows the SDK's transport runs without the filter.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import sys
import threading
from collections.abc import Iterator
from typing import Any

from mcp_types import INVALID_REQUEST, PARSE_ERROR, jsonrpc_message_adapter
from pydantic import ValidationError

DRAIN_SECONDS = 10.0  # at exit, how long the server's last output may take to pass on
READ_SIZE = 1 << 16

PARSE_MESSAGE = "Parse error: the line is not valid JSON / 解析错误:该行不是有效的 JSON"
INVALID_MESSAGE = (
    "Invalid Request: the JSON is not a JSON-RPC 2.0 message (a request, notification or response object) "
    "/ 无效请求:该 JSON 不是 JSON-RPC 2.0 消息(请求、通知或响应对象)"
)


def reply_to(line: bytes) -> bytes | None:
    """None for a line to pass on to the server as it is (a message, or a blank line the SDK skips); otherwise the
    JSON-RPC error reply, as one line."""
    text = line.decode("utf-8", errors="replace")  # as the SDK decodes stdin
    if not text.strip():
        return None
    try:
        jsonrpc_message_adapter.validate_json(text, by_name=False)
        return None
    except ValidationError as exc:
        not_json = any(error["type"] == "json_invalid" for error in exc.errors())
    request_id: Any = None
    if not not_json:
        with contextlib.suppress(ValueError, RecursionError):
            value = json.loads(text)
            candidate = value.get("id") if isinstance(value, dict) else None
            if isinstance(candidate, str) or (isinstance(candidate, int) and not isinstance(candidate, bool)):
                request_id = candidate
    code, message = (PARSE_ERROR, PARSE_MESSAGE) if not_json else (INVALID_REQUEST, INVALID_MESSAGE)
    error = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return (json.dumps(error, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class _Wire:
    """The real stdout, written a whole line (or several) at a time under one lock."""

    def __init__(self, fd: int):
        self.fd = fd
        self.lock = threading.Lock()
        self.broken = False

    def send(self, data: bytes) -> None:
        with self.lock:
            view = memoryview(data)
            while view and not self.broken:
                try:
                    view = view[os.write(self.fd, view) :]
                except BrokenPipeError:  # the client went away: keep draining the server, write nothing more
                    self.broken = True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _pump_in(source_fd: int, server_in: int, wire: _Wire) -> None:
    """Client lines to the server; an unparseable one answered on the wire. Closing `server_in` ends the server."""
    try:
        with os.fdopen(source_fd, "rb", closefd=True) as source:
            for line in source:
                reply = reply_to(line)
                if reply is None:
                    _write_all(server_in, line)
                else:
                    wire.send(reply)
    except OSError:  # the server stopped reading: nothing more to pass on
        pass
    finally:
        with contextlib.suppress(OSError):
            os.close(server_in)


def _pump_out(server_out: int, stop: int, wire: _Wire) -> None:
    """Server output to the wire, complete lines only, until told to stop and nothing is left to read."""
    pending: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([server_out, stop], [], [])
            if server_out not in ready:  # stop, and nothing left to read
                break
            chunk = os.read(server_out, READ_SIZE)
            if not chunk:
                break
            end = chunk.rfind(b"\n")
            if end < 0:
                pending.append(chunk)
                continue
            wire.send(b"".join([*pending, chunk[: end + 1]]))
            pending = [chunk[end + 1 :]] if end + 1 < len(chunk) else []
    finally:
        if pending:
            wire.send(b"".join(pending))
        os.close(server_out)


@contextlib.contextmanager
def answering_unparseable_lines() -> Iterator[None]:
    """While open, fd 0 and fd 1 are pipes through the line filter; the real ones are given back at exit."""
    if sys.platform == "win32":  # pragma: no cover - select() does not take pipes there
        yield
        return
    sys.stdout.flush()
    real_in, real_out = os.dup(0), os.dup(1)
    server_in_r, server_in = os.pipe()
    server_out, server_out_w = os.pipe()
    stop_r, stop_w = os.pipe()
    os.dup2(server_in_r, 0)
    os.dup2(server_out_w, 1)
    os.close(server_in_r)
    os.close(server_out_w)
    wire = _Wire(real_out)
    reader = threading.Thread(target=_pump_in, args=(os.dup(real_in), server_in, wire), daemon=True)
    writer = threading.Thread(target=_pump_out, args=(server_out, stop_r, wire), daemon=True)
    reader.start()
    writer.start()
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(real_out, 1)  # fd 1 back on the wire: the server's own pipe end is no longer fd 1
        os.dup2(real_in, 0)
        os.close(real_in)
        os.write(stop_w, b"x")
        writer.join(DRAIN_SECONDS)  # what the server wrote last reaches the client before the process ends
        # real_out stays open: the reader may still answer a last line on it while the process ends
        os.close(stop_w)
        if not writer.is_alive():
            os.close(stop_r)
