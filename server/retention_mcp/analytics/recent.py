"""The reports of files grounded recently, so that rendering, writing and checking plans from one brief analyse its
dataset once.

An entry is keyed by what identifies the file's content without reading it: its real path inside the sandbox (the
same check the analysis makes, run again on every lookup), device, inode, size, modification and change times, the
data directories and the limits. A file modified less than SETTLED seconds before it was looked up is not kept: a
rewrite within one tick of the file system's clock would keep all of these the same, so only a file that has been
still for longer than any clock tick is trusted to be the file that was analysed. Only successful analyses are kept;
an error is found again on the next call.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retention_mcp.analytics.report import ChurnReport

SETTLED = 2.0  # seconds; coarser than any file system's timestamps (FAT's 2 s are the coarsest)
KEPT = 16  # reports kept, the least recently used dropped first

_lock = threading.Lock()
_reports: OrderedDict[tuple[object, ...], ChurnReport] = OrderedDict()


def file_key(path: str, data_dirs: list[Path]) -> tuple[object, ...] | None:
    """What identifies the file `path` names now, or None when it cannot be kept (not found, not allowed, or modified
    just now): the analysis then runs and says what is wrong."""
    from retention_mcp.analytics.limits import DataError, Limits
    from retention_mcp.analytics.sandbox import check_data_path
    from retention_mcp.paths import readable_dirs

    try:
        checked = check_data_path(path, readable_dirs(data_dirs))
        info = os.stat(checked.real)
    except (DataError, OSError):
        return None
    if time.time() - max(info.st_mtime, info.st_ctime) < SETTLED:
        return None
    identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    return (str(checked.real), identity, checked.roots, repr(Limits.from_env()))


def recall(key: tuple[object, ...] | None) -> ChurnReport | None:
    if key is None:
        return None
    with _lock:
        report = _reports.get(key)
        if report is not None:
            _reports.move_to_end(key)
        return report


def keep(key: tuple[object, ...] | None, report: ChurnReport) -> None:
    if key is None:
        return
    with _lock:
        _reports[key] = report
        _reports.move_to_end(key)
        while len(_reports) > KEPT:
            _reports.popitem(last=False)


def forget() -> None:
    with _lock:
        _reports.clear()
