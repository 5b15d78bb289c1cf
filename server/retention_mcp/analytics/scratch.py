"""The one place an analysis writes to disk: a private folder the process creates for itself.

Decompressed `.gz` data, transcoded text, converted workbooks, inline CSV and DuckDB's own spill files all go here.
On a shared host the system temp folder is writable by everyone, so the folder is:

- created by this process with a random name (`retention-mcp-<uid>-<pid>-<random>`, `mkdtemp`: mode 0700, never an
  existing path), then checked as opened: a directory, not a link, owned by this user, with no access for others;
- the parent of every file (`O_EXCL` random names, mode 0600) and of one sub-folder per DuckDB connection, so no
  other user can read a customer id from a spill file or plant a link under a name DuckDB will open;
- removed when the process exits, and folders of this same user left by a process that no longer runs (killed, or
  out of power) are removed the first time the folder is needed.

`RETENTION_MCP_SCRATCH_DIR` picks the parent folder (default: the system temp folder); the parent must not be
writable by others unless it has the sticky bit, as /tmp has.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

from retention_mcp.errors import UserError

PREFIX = "retention-mcp-"
ENV = "RETENTION_MCP_SCRATCH_DIR"

_lock = threading.Lock()
_folder: Path | None = None
_owner_pid: int | None = None


class ScratchError(UserError):
    """The private scratch folder cannot be made safe; the message names the folder and the setting."""


def _uid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def _stem() -> str:
    uid = _uid()
    return f"{PREFIX}{'' if uid is None else uid}-"


def parent() -> Path:
    return Path(os.environ.get(ENV, "").strip() or tempfile.gettempdir())


def folder() -> Path:
    """This process's private folder, created (and stale ones of this user swept) on first use."""
    global _folder, _owner_pid
    with _lock:
        base = parent()
        if _folder is not None and _owner_pid == os.getpid() and _folder.parent == base and _folder.is_dir():
            return _folder
        _check_parent(base)
        sweep(base)
        made = Path(tempfile.mkdtemp(prefix=f"{_stem()}{os.getpid()}-", dir=base))
        _check_private(made)
        if _folder is None:
            atexit.register(remove)
        elif _owner_pid == os.getpid():
            remove_tree(_folder)  # the parent setting changed: the old folder is no longer used
        _folder, _owner_pid = made, os.getpid()
        return made


def private_file(suffix: str = "") -> tuple[int, str]:
    """A new file in the private folder: an open descriptor (read-write, mode 0600) and its path."""
    return tempfile.mkstemp(suffix=suffix, dir=folder())


def private_dir(prefix: str = "duckdb-") -> str:
    """A new sub-folder of the private folder (for one DuckDB connection's spill files)."""
    return tempfile.mkdtemp(prefix=prefix, dir=folder())


def remove_tree(path: str | Path | None) -> None:
    """Remove a file or folder made here; links are removed, never followed."""
    if not path:
        return
    with contextlib.suppress(FileNotFoundError):
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def remove() -> None:
    """Remove this process's folder (at exit)."""
    global _folder
    with _lock:
        if _folder is not None and _owner_pid == os.getpid():
            remove_tree(_folder)
        _folder = None


def sweep(base: Path) -> list[str]:
    """Remove folders of this user that a process which no longer runs left in `base`. Returns their names."""
    removed: list[str] = []
    stem = _stem()
    try:
        names = os.listdir(base)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(stem):
            continue
        pid_text = name[len(stem) :].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        path = base / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or (_uid() is not None and info.st_uid != _uid()):
            continue  # a link, a file, or another user's: not ours to remove
        remove_tree(path)
        removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def _check_parent(base: Path) -> None:
    try:
        info = os.stat(base)
    except OSError:
        raise ScratchError(
            f"{ENV}: the folder {str(base)[:200]!r} does not exist or cannot be read / 临时文件目录不存在或无法访问"
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise ScratchError(f"{ENV}: {str(base)[:200]!r} is not a folder / 不是目录")
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        raise ScratchError(
            f"{ENV}: {str(base)[:200]!r} is writable by every user and has no sticky bit, so another user could "
            f"replace the server's files there; choose another folder / 该目录对所有用户可写且无粘滞位,请改用其他目录"
        )


def _check_private(made: Path) -> None:
    """What mkdtemp made is what we use: a real folder, ours, closed to others."""
    info = os.lstat(made)
    uid = _uid()
    if (
        not stat.S_ISDIR(info.st_mode)
        or (uid is not None and info.st_uid != uid)
        or (os.name == "posix" and info.st_mode & 0o077)
    ):
        if stat.S_ISDIR(info.st_mode):
            remove_tree(made)
        raise ScratchError(
            f"{ENV}: the private folder made in {str(made.parent)[:200]!r} is not private (owner or mode); "
            f"choose another folder / 私有临时目录的属主或权限不正确,请改用其他目录"
        )
