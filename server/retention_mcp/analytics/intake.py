"""Bytes from a user's file, counted against the limits as they are read.

A file is checked (size, line lengths) on its open descriptor, but the file can still grow afterwards: another
process may append to it while DuckDB reads. So what is read is bounded by what was checked:

- a `.gz` file is decompressed into a private file, stopping at the decompressed-size and ratio limits;
- a copy (platforms with no /proc or /dev/fd) takes exactly the bytes that were checked;
- while DuckDB reads the file itself, `GrowthWatch` looks at its size; if it grows past what was checked, the read
  is interrupted and the analysis refused (`LimitError`), and the same is checked once more when the read is over.

Every private file lives in the folder of analytics/scratch.py.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from typing import Any

from retention_mcp.analytics import scratch
from retention_mcp.analytics.limits import MB, Cancellation, DataError, LimitError, Limits

WATCH_INTERVAL = 0.05  # seconds between two looks at the size of a file DuckDB reads


def grew_error(name: str, checked: int, now: int) -> LimitError:
    return LimitError(
        f"{name}: the file grew while it was being read (from {checked} to {now} bytes); only the bytes that were "
        f"checked are read: analyse a copy that is no longer being written / 文件在读取过程中变大"
        f"(从 {checked} 字节到 {now} 字节);请分析一份不再写入的副本"
    )


class GrowthWatch:
    """Interrupt DuckDB when the file it reads (`fd`) grows past the `size` that was checked."""

    def __init__(self, fd: int | None, size: int, name: str, con: Any):
        self.fd, self.size, self.name, self.con = fd, size, name, con
        self.grown: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if fd is not None:
            self._thread = threading.Thread(target=self._run, name="retention-mcp-growth-watch", daemon=True)
            self._thread.start()

    def _current(self) -> int:
        assert self.fd is not None
        try:
            return os.fstat(self.fd).st_size
        except OSError:
            return self.size

    def _run(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL):
            now = self._current()
            if now != self.size:
                self.grown = now
                with contextlib.suppress(Exception):  # a connection closed meanwhile
                    self.con.interrupt()
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def check(self) -> None:
        """Raise if the file changed size while it was read (seen by the thread, or now)."""
        if self.fd is None:
            return
        now = self.grown if self.grown is not None else self._current()
        if now != self.size:
            raise grew_error(self.name, self.size, now)


def copy_checked(fd: int, size: int, suffix: str) -> tuple[int, str]:
    """A private copy of exactly the `size` bytes that were checked (no /proc or /dev/fd to read `fd` by name)."""
    out_fd, out_path = scratch.private_file(suffix)
    try:
        with os.fdopen(os.dup(fd), "rb") as source, os.fdopen(os.dup(out_fd), "wb") as target:
            source.seek(0)
            remaining = size
            while remaining and (chunk := source.read(min(4 * MB, remaining))):
                target.write(chunk)
                remaining -= len(chunk)
    except BaseException:
        os.close(out_fd)
        scratch.remove_tree(out_path)
        raise
    return out_fd, out_path


def gunzip(fd: int, source: str, size: int, limits: Limits, cancel: Cancellation) -> tuple[int, str]:
    """Decompress a .gz file into a private file, stopping at the decompressed-size and ratio limits. Only the `size`
    compressed bytes that were checked are read."""
    import gzip
    import zlib

    cap = min(limits.max_decompressed_bytes, max(limits.max_compression_ratio * size, 64 * MB))
    out_fd, out_path = scratch.private_file(".csv")
    written = 0
    try:
        with os.fdopen(os.dup(fd), "rb") as raw:
            raw.seek(0)
            bounded = io.BufferedReader(_Bounded(raw, size), 1 << 16)
            with gzip.GzipFile(fileobj=bounded) as packed, os.fdopen(os.dup(out_fd), "wb") as out:
                while chunk := packed.read(4 * MB):
                    written += len(chunk)
                    if written > cap:
                        raise _bomb(source, cap, limits)
                    out.write(chunk)
                    cancel.check()
    except (OSError, EOFError, zlib.error):
        os.close(out_fd)
        scratch.remove_tree(out_path)
        raise DataError(f"{source}: not a valid gzip file / 不是有效的 gzip 文件") from None
    except BaseException:
        os.close(out_fd)
        scratch.remove_tree(out_path)
        raise
    return out_fd, out_path


class _Bounded(io.RawIOBase):
    """A raw reader that ends after `limit` bytes of `inner`."""

    def __init__(self, inner: Any, limit: int):
        self.inner, self.left = inner, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), self.left)]
        count = self.inner.readinto(view)
        self.left -= count or 0
        return count or 0


def _bomb(source: str, cap: int, limits: Limits) -> LimitError:
    if cap == limits.max_decompressed_bytes:
        en = f"{limits.max_decompressed_mb} MB (RETENTION_MCP_MAX_DECOMPRESSED_MB)"
        zh = f"{limits.max_decompressed_mb} MB(RETENTION_MCP_MAX_DECOMPRESSED_MB)"
    else:
        ratio = limits.max_compression_ratio
        en = f"{ratio} times its size (RETENTION_MCP_MAX_COMPRESSION_RATIO)"
        zh = f"压缩文件大小的 {ratio} 倍(RETENTION_MCP_MAX_COMPRESSION_RATIO)"
    return LimitError(
        f"{source}: decompresses to more than {en}; decompress it yourself if it is genuine / "
        f"解压后超过 {zh};如确为正常数据,请先自行解压"
    )


def line_over_limit(fd: int, size: int, limit: int) -> int | None:
    """The byte offset of a line longer than `limit` bytes, if any. Exact, at memchr speed over a memory map: the
    file is taken in windows of `limit` bytes; a line within one window is shorter than the limit, and a line that
    crosses a window's edge is measured from the last break before it to the first break after it. Only the `size`
    bytes that were checked are mapped."""
    import mmap

    if size <= limit:
        return None
    with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as view:
        newline = b"\n" if view.find(b"\n") >= 0 else b"\r"
        previous = -1  # the last line break seen
        for start in range(0, size, limit):
            end = min(start + limit, size)
            last = view.rfind(newline, start, end)
            if last < 0:
                if end - (previous + 1) > limit:
                    return previous + 1
                continue
            if view.find(newline, start, end) - (previous + 1) > limit:
                return previous + 1
            previous = last
        return previous + 1 if size - (previous + 1) > limit else None
