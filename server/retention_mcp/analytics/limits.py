"""Bounds on one analysis, and the handle that stops it.

Every limit is a setting with a default that fits an ordinary laptop and a 1M-customer file:

| env var                               | default | what it bounds                                               |
| ------------------------------------- | ------- | ------------------------------------------------------------ |
| RETENTION_MCP_ANALYSIS_TIMEOUT        | 300     | seconds of wall time per analysis, then DuckDB is interrupted |
| RETENTION_MCP_DUCKDB_MEMORY           | 2GB     | DuckDB memory_limit, spilling beyond it (80% of a small RAM)  |
| RETENTION_MCP_DUCKDB_THREADS          | 4       | DuckDB threads (never more than the machine's cores)          |
| RETENTION_MCP_MAX_FILE_MB             | 2048    | size of the file as stored                                    |
| RETENTION_MCP_MAX_DECOMPRESSED_MB     | 2048    | size of a .gz file once decompressed, and of Parquet data     |
| RETENTION_MCP_MAX_COMPRESSION_RATIO   | 200     | decompressed / compressed size (a compression bomb)           |
| RETENTION_MCP_MAX_LINE_KB             | 1024    | one CSV line or JSON Lines record                             |
| RETENTION_MCP_MAX_COLUMNS             | 1000    | columns of a workbook's sheet (Excel itself allows 16,384)    |

`Cancellation` is what a caller holds to stop an analysis from another thread: `cancel()` interrupts the DuckDB
connections the analysis has open (`con.interrupt()`), and the analysis raises `AnalysisStopped` at its next step.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from retention_mcp.errors import UserError

ENV_PREFIX = "RETENTION_MCP_"
MB = 1024 * 1024


ENV = {  # field -> environment variable (after RETENTION_MCP_)
    "timeout": "ANALYSIS_TIMEOUT",
    "memory": "DUCKDB_MEMORY",
    "threads": "DUCKDB_THREADS",
    "max_file_mb": "MAX_FILE_MB",
    "max_decompressed_mb": "MAX_DECOMPRESSED_MB",
    "max_compression_ratio": "MAX_COMPRESSION_RATIO",
    "max_line_kb": "MAX_LINE_KB",
    "max_columns": "MAX_COLUMNS",
}


class DataError(UserError):
    """A data file or column mapping that cannot be analysed; the message says what and how to fix it."""


class LimitError(UserError):
    """A file or an analysis over one of the limits; the message names the limit and its setting."""


class AnalysisStopped(UserError):
    """The analysis was stopped: its time ran out or the caller cancelled it."""


@dataclass(frozen=True)
class Limits:
    timeout: float = 300.0  # seconds
    memory: str = "2GB"
    threads: int = 4
    max_file_mb: int = 2048
    max_decompressed_mb: int = 2048
    max_compression_ratio: int = 200
    max_line_kb: int = 1024
    max_columns: int = 1000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Limits:
        """The limits from RETENTION_MCP_* variables, then `overrides` (CLI flags; None means not given)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            name = ENV_PREFIX + ENV[item.name]
            raw = environ.get(name, "").strip()
            if raw:
                values[item.name] = _parse(item.name, name, raw)
        given = {k: v for k, v in overrides.items() if v is not None}
        if "memory" in given:
            given["memory"] = _parse("memory", f"{ENV_PREFIX}{ENV['memory']} (--memory)", str(given["memory"]))
        limits = cls(**(values | given))
        for item in fields(cls):
            value = getattr(limits, item.name)
            if item.name != "memory" and not value > 0:
                raise LimitError(f"{ENV_PREFIX}{ENV[item.name]}: must be above 0 / 必须大于 0")
        return limits

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    @property
    def max_decompressed_bytes(self) -> int:
        return int(self.max_decompressed_mb * MB)

    @property
    def max_line_bytes(self) -> int:
        return int(self.max_line_kb * 1024)

    def duckdb_config(self) -> dict[str, Any]:
        memory = self.memory
        if memory == Limits.memory and _physical_memory() < 2.5 * 1024 * MB:  # a small machine: DuckDB's own 80%
            memory = "80%"
        return {"memory_limit": memory, "threads": max(1, min(self.threads, os.cpu_count() or 1))}


def _physical_memory() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform
        return float("inf")


def _parse(field: str, name: str, raw: str) -> Any:
    if field == "memory":
        if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)", raw, re.IGNORECASE):
            raise LimitError(f"{name}: '{raw[:40]}' is not a size like 2GB or 512MB / 不是有效的大小(如 2GB、512MB)")
        return raw.replace(" ", "")
    try:
        return float(raw) if field == "timeout" else int(raw)
    except ValueError:
        kind = "a number of seconds" if field == "timeout" else "a whole number"
        raise LimitError(f"{name}: '{raw[:40]}' is not {kind} / 不是有效的数字") from None


class Cancellation:
    """Stop an analysis from another thread: on `cancel()` (the client went away) or when `timeout` has passed."""

    def __init__(self, timeout: float | None = None):
        self._lock = threading.Lock()
        self._connections: set[Any] = set()
        self._reason: str | None = None
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._timer: threading.Timer | None = None
        if timeout is not None:
            self._timer = threading.Timer(max(timeout, 0.0), self.cancel, args=("timeout",))
            self._timer.daemon = True
            self._timer.start()

    @property
    def reason(self) -> str | None:
        if self._reason is None and self._deadline is not None and time.monotonic() >= self._deadline:
            self.cancel("timeout")
        return self._reason

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            if self._reason is None:
                self._reason = reason
            connections = list(self._connections)
        for con in connections:
            with contextlib.suppress(Exception):  # a connection closed meanwhile
                con.interrupt()

    def attach(self, con: Any) -> None:
        with self._lock:
            self._connections.add(con)
            stopped = self._reason is not None
        if stopped:
            con.interrupt()

    def detach(self, con: Any) -> None:
        with self._lock:
            self._connections.discard(con)

    def check(self) -> None:
        """Raise AnalysisStopped once cancelled or past the deadline."""
        if self.reason is not None:
            raise self.error()

    def error(self) -> AnalysisStopped:
        if self._reason == "timeout":
            return AnalysisStopped(
                f"The analysis took longer than {self._timeout:g} s and was stopped; raise "
                f"{ENV_PREFIX}ANALYSIS_TIMEOUT or pass a smaller file / 分析超过 {self._timeout:g} 秒,已停止;"
                f"可调高 {ENV_PREFIX}ANALYSIS_TIMEOUT 或使用更小的文件"
            )
        return AnalysisStopped("The analysis was cancelled / 分析已取消")

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


FLAGS = {  # field -> (flag, metavar, type, help)
    "timeout": ("--timeout", "SECONDS", float, "wall time of the analysis"),
    "memory": ("--memory", "SIZE", str, "DuckDB memory limit, e.g. 2GB"),
    "threads": ("--threads", "N", int, "DuckDB threads"),
    "max_file_mb": ("--max-file-mb", "MB", int, "largest file read"),
    "max_decompressed_mb": ("--max-decompressed-mb", "MB", int, "largest .gz content or Parquet data"),
    "max_compression_ratio": ("--max-compression-ratio", "N", int, "largest decompressed / compressed size"),
    "max_line_kb": ("--max-line-kb", "KB", int, "longest CSV line or JSON Lines record"),
    "max_columns": ("--max-columns", "N", int, "most columns in a workbook's sheet"),
}


def add_flags(parser: Any) -> None:
    """The limits as command-line flags (an argparse parser); each overrides its RETENTION_MCP_* variable."""
    group = parser.add_argument_group("limits (each overrides its RETENTION_MCP_* variable)")
    for name, (flag, metavar, kind, text) in FLAGS.items():
        default = getattr(Limits, name)
        group.add_argument(
            flag,
            dest=f"limit_{name}",
            type=kind,
            metavar=metavar,
            help=f"{text} (default {default}; {ENV_PREFIX}{ENV[name]})",
        )


def from_flags(args: Any, environ: Mapping[str, str] | None = None) -> Limits:
    return Limits.from_env(environ, **{name: getattr(args, f"limit_{name}", None) for name in FLAGS})
