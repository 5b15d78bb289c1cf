"""The data-directory sandbox: which file a user's path names, checked and then opened.

A path is accepted only if, with every symlink resolved, it names one regular file inside a configured data
directory; the name is never a pattern (`*`, `?`, `[1]` and `{a,b}` are ordinary characters). The file is then
opened here (O_NOFOLLOW, O_NONBLOCK) and checked again on the open descriptor, and readers are given that descriptor
by a name with nothing to expand (/proc/self/fd/N). Messages show the path as the user wrote it, made printable.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from retention_mcp.analytics.limits import DataError

MAX_NAME_BYTES = 255  # one file or folder name (NAME_MAX on Linux and macOS)
MAX_PATH_BYTES = 4096  # the whole path (PATH_MAX)
HARD_LINK_SEARCH = 20_000  # entries of a data directory walked to prove a hard link's other names are inside


def shown(path: object, limit: int = 120) -> str:
    """A user's path fit for a message: printable characters only, long ones cut in the middle."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(path))
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-(limit // 3) :]}"


def check_path_text(path: str, field_name: str = "path") -> None:
    """Refuse, naming the field, a path no file system can hold: NUL bytes, over-long names or paths."""
    if "\x00" in path:
        raise DataError(f"{field_name}: must not contain NUL characters / {field_name} 不能包含空字符(NUL)")
    try:
        encoded = os.fsencode(path)
    except UnicodeError:
        raise DataError(
            f"{field_name}: holds characters that are not valid text (lone surrogates) / {field_name} 含有无效字符"
        ) from None
    if len(encoded) > MAX_PATH_BYTES:
        raise DataError(
            f"{field_name}: is {len(encoded)} bytes long; the limit is {MAX_PATH_BYTES} bytes / "
            f"{field_name} 长度为 {len(encoded)} 字节,超过 {MAX_PATH_BYTES} 字节上限"
        )
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > MAX_NAME_BYTES:
        raise DataError(
            f"{field_name}: a file or folder name in it is {longest} bytes long; the limit is {MAX_NAME_BYTES} bytes "
            f"per name / {field_name} 中有一个文件或目录名长 {longest} 字节,超过每个名称 {MAX_NAME_BYTES} 字节的上限"
        )


@dataclass(frozen=True)
class DataPath:
    """A file checked inside the sandbox: its real path and the identity (device, inode, links) it had then.

    `open_data_file` opens it and checks the opened file is still that one; DuckDB then reads the open descriptor
    through /proc/self/fd (or /dev/fd), a name with nothing it could expand as a glob."""

    real: Path
    shown: str
    device: int
    inode: int
    links: int
    roots: tuple[Path, ...]


def _inside(real: Path, roots: list[Path] | tuple[Path, ...]) -> bool:
    return any(real == root or root in real.parents for root in roots)


def _trusted_roots() -> list[Path]:
    """The bundled examples' folder; none when this process's user cannot look it up."""
    from retention_mcp.paths import shipped_dir

    try:
        return [shipped_dir("examples").resolve()]
    except OSError:
        return []


def check_data_path(path: str | os.PathLike[str], data_dirs: list[Path]) -> DataPath:
    """Check that `path` names one regular file inside one of `data_dirs` (every symlink resolved), or raise a
    DataError that says why not. Nothing is expanded: `*`, `?`, `[1]` and `{a,b}` are ordinary characters."""
    text = os.fspath(path)
    check_path_text(text)
    roots = [Path(d).expanduser().resolve() for d in data_dirs]
    listed = ", ".join(str(r) for r in roots) or "(none)"
    name = shown(text)
    try:
        raw = Path(text).expanduser()
    except RuntimeError:  # ~user of an unknown user
        raw = Path(text)
    candidates = [raw] if raw.is_absolute() else [root / raw for root in roots]
    for candidate in candidates:
        try:
            if not (candidate.exists() or candidate.is_symlink()):
                continue
        except OSError as exc:
            raise DataError(f"{name}: cannot be looked up ({_errno_text(exc)}) / 无法访问该路径") from None
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            raise DataError(f"{name}: a broken or looping link / 链接无效") from None
        if not _inside(real, roots):
            raise DataError(
                f"{name}: outside the data directories ({listed}); set RETENTION_MCP_DATA_DIRS or --data-dir to "
                f"allow its folder / 文件不在允许的数据目录内"
            )
        try:
            info = os.stat(real)
        except OSError as exc:
            raise DataError(f"{name}: cannot be looked up ({_errno_text(exc)}) / 无法访问该路径") from None
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{name}: not a file / 不是文件")
        if not os.access(real, os.R_OK):
            raise DataError(f"{name}: not readable (permission denied) / 无读取权限")
        checked = DataPath(real, name, info.st_dev, info.st_ino, info.st_nlink, tuple(roots))
        _check_hard_links(checked)
        return checked
    raise DataError(f"{name}: no such file in the data directories ({listed}) / 在数据目录中找不到该文件")


def resolve_data_path(path: str | os.PathLike[str], data_dirs: list[Path]) -> Path:
    """The real path of a file inside one of `data_dirs`, or a DataError that says why not."""
    return check_data_path(path, data_dirs).real


def _check_hard_links(checked: DataPath) -> None:
    """A file with several names (hard links) is read only if every other name is inside the same data directory:
    a walk of that directory (at most HARD_LINK_SEARCH entries) must find them all. The bundled examples are
    trusted. Otherwise it could be a second name of a file from anywhere on the disk."""
    if checked.links <= 1:
        return
    trusted = _trusted_roots()
    if _inside(checked.real, trusted):
        return
    root = next(r for r in checked.roots if _inside(checked.real, [r]))
    found = seen = 0
    for folder, dirs, files in os.walk(root):
        for entry in (*files, *dirs):
            seen += 1
            try:
                info = os.lstat(os.path.join(folder, entry))
            except OSError:
                continue
            found += (info.st_dev, info.st_ino) == (checked.device, checked.inode)
        if found >= checked.links or seen > HARD_LINK_SEARCH:
            break
    if found < checked.links:
        raise DataError(
            f"{checked.shown}: has {checked.links} hard links and not all of them are in the data directory, so it "
            f"may be a file from elsewhere; copy it instead of linking / 该文件有 {checked.links} 个硬链接,"
            f"且并非都在数据目录内,可能指向目录外的文件;请复制而不是链接"
        )


def _errno_text(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, "error") if exc.errno else type(exc).__name__


def open_data_file(checked: DataPath) -> int:
    """Open a checked file without following a link or blocking on a FIFO, and make sure the opened file is the one
    that was checked: same device and inode, a regular file, no new hard link, and (Linux) still inside the
    sandbox. Returns the descriptor; the caller closes it."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    name = checked.shown
    try:
        fd = os.open(checked.real, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(f"{name}: was replaced by a link while being opened / 文件在打开时被替换为链接") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise DataError(f"{name}: not readable (permission denied) / 无读取权限") from None
        raise DataError(f"{name}: cannot be opened ({_errno_text(exc)}) / 无法打开文件") from None
    try:
        info = os.fstat(fd)
        problem = None
        if not stat.S_ISREG(info.st_mode):
            problem = "is no longer a regular file (a FIFO, device or socket was put in its place) / 已不是普通文件"
        elif (info.st_dev, info.st_ino) != (checked.device, checked.inode):
            problem = "was replaced by another file while being opened / 文件在打开时被替换"
        elif info.st_nlink > max(checked.links, 1):
            problem = "gained a hard link while being opened / 文件在打开时新增了硬链接"
        else:
            kernel = Path(f"/proc/self/fd/{fd}")
            if kernel.is_symlink():
                where = Path(os.readlink(kernel))
                if not _inside(where, checked.roots):
                    problem = "was moved out of the data directories while being opened / 文件在打开时被移出数据目录"
        if problem:
            raise DataError(f"{name}: {problem}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def descriptor_path(fd: int) -> str | None:
    """A name DuckDB opens as the file behind `fd`, with no glob characters in it; None where the platform has no
    such name (Windows): the caller then copies the open file to a private temp file."""
    if os.path.isdir("/proc/self/fd"):
        return f"/proc/self/fd/{fd}"
    if sys.platform != "win32" and os.path.isdir("/dev/fd"):
        return f"/dev/fd/{fd}"
    return None


def is_bundled(checked: DataPath, data_dirs: list[Path]) -> bool:
    """Whether a checked file is the bundled example data rather than a file in one of the user's data directories
    (the examples are always readable: a name not found in the user's folders may be found there)."""
    bundled = _trusted_roots()
    theirs = [Path(d).expanduser().resolve() for d in data_dirs if Path(d).expanduser().resolve() not in bundled]
    return _inside(checked.real, bundled) and not _inside(checked.real, theirs)
