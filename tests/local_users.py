"""A second local user for tests of what one user can do to another on a shared host.

Run as root, `other_user()` creates (once) an unprivileged user with no home and no login shell; `as_user(uid, fn)`
runs `fn` in a forked child that has dropped to that user, and returns what it returned (or the name of the
exception it raised). The child runs code already loaded in this process: the interpreter of a virtual environment
under root's home may not be readable by another user, so nothing is executed from disk as that user.
Run as anyone else, the tests that need a second user are skipped with that reason.
"""

from __future__ import annotations

import os
import pickle
import pwd
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

NAME = "rmcp-probe"


def other_user() -> tuple[int, int]:
    """(uid, gid) of an unprivileged local user; skips the test when it cannot be had."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root to create a second, unprivileged local user")
    try:
        entry = pwd.getpwnam(NAME)
    except KeyError:
        tool = shutil.which("useradd")
        if tool is None:
            pytest.skip("useradd is not installed: no second local user can be created")
        done = subprocess.run(
            [tool, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", NAME],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode not in (0, 9):  # 9: the user exists (made by a parallel run)
            pytest.skip(f"useradd failed ({done.returncode}): {done.stderr.strip()[:200]}")
        entry = pwd.getpwnam(NAME)
    user = entry.pw_uid, entry.pw_gid
    if not _can_become(user):  # e.g. root only inside a user namespace, where other ids are not mapped
        pytest.skip("this process cannot switch to a second local user here")
    return user


def _can_become(user: tuple[int, int]) -> bool:
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
        except BaseException:  # reported by the exit code
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def as_user(user: tuple[int, int], fn: Callable[[], Any]) -> Any:
    """Run `fn` as `user` in a forked child; its result, or 'Error: <ExceptionName>' if it raised."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to the user, run, report, and leave without running the parent's cleanups
        code = 0
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
            try:
                result: Any = fn()
            except BaseException as exc:  # reported to the parent
                result = f"Error: {type(exc).__name__}"
            with os.fdopen(write, "wb") as out:
                pickle.dump(result, out)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and data, "the child running as the other user failed"
    return pickle.loads(data)
