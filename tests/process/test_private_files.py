"""What an analysis writes to disk stays private to the server's user and goes away.

Every file an analysis writes (DuckDB's spill files, decompressed .gz data, transcoded text, inline CSV) lives in a
folder the process makes for itself: a random name, mode 0700, owned by the server's user; it is removed at exit, and
a folder left by a killed process of the same user is removed by the next one. Tests with a second local user run
when the suite runs as root (tests/local_users.py) and are skipped with that reason otherwise.

A file that grows while DuckDB reads it is refused: only the bytes that were checked against the limits are read.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from mcp import Client

from retention_mcp.server import build_server
from tests.local_users import as_user, other_user
from tests.mcp.test_sandbox import subscriptions, text_of

CLI = [sys.executable, "-m", "retention_mcp"]


@pytest.fixture
def shared(tmp_path):
    """A data folder and a shared temp folder (1777, like /tmp) that a second local user can also reach."""
    base = Path(tempfile.mkdtemp(prefix="rmcp-shared-test-"))
    os.chmod(base, 0o755)
    data, tmp = base / "data", base / "tmp"
    data.mkdir(mode=0o755)
    tmp.mkdir()
    os.chmod(tmp, 0o1777)
    yield data, tmp
    subprocess.run(["rm", "-rf", str(base)], check=False)


class Watcher:
    """Records every entry that appears under a folder, with its mode and owner, while a run goes on."""

    def __init__(self, root: Path):
        self.root, self.seen = root, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for folder, dirs, files in os.walk(self.root):
                for name in dirs + files:
                    path = Path(folder, name)
                    try:
                        info = os.lstat(path)
                    except OSError:
                        continue
                    self.seen.setdefault(path, (info.st_mode, info.st_uid))
            time.sleep(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def env_for(data: Path, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}
    env |= {"TMPDIR": str(tmp), "RETENTION_MCP_DATA_DIRS": str(data), **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2] / "server"), env.get("PYTHONPATH", "")])
    return env


def python_probes(watcher: Watcher, tmp: Path) -> set[str]:
    """The file Python's `tempfile.gettempdir()` makes once per process to test the folder: an empty 0600 file with a
    random 8-character name, created exclusively and removed at once (a fast watcher sometimes sees it). It holds no
    data; anything else at the top of the folder is still checked."""
    return {
        path.name
        for path, (mode, uid) in watcher.seen.items()
        if path.parent == tmp
        and stat.S_ISREG(mode)
        and stat.S_IMODE(mode) == 0o600
        and uid == os.geteuid()
        and re.fullmatch(r"[a-z0-9_]{8}", path.name)
        and not path.exists()
    }


def analyze(data: Path, tmp: Path, name: str, *flags: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "analyze", name, "--json", *flags],
        env=env_for(data, tmp, **extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_spill_files_stay_in_a_private_folder_that_is_removed_at_exit(shared):
    data, tmp = shared
    subscriptions(data / "big.csv", 1_000_000)  # about 27 MB: spills under a 48 MB DuckDB memory limit
    with Watcher(tmp) as watcher:
        run = analyze(data, tmp, "big.csv", "--memory", "48MB", "--threads", "1")
    assert run.returncode == 0, run.stderr
    spilled = [p for p in watcher.seen if p.name.startswith("duckdb_temp")]
    assert spilled, "DuckDB did not spill: the test proves nothing"
    tops = {p.relative_to(tmp).parts[0] for p in watcher.seen} - python_probes(watcher, tmp)
    for top in tops:
        mode, uid = watcher.seen[tmp / top]
        assert stat.S_ISDIR(mode) and stat.S_IMODE(mode) == 0o700 and uid == os.geteuid(), (top, oct(mode))
        assert top.startswith(f"retention-mcp-{os.geteuid()}-") and top != "retention-mcp-duckdb"
    for path in spilled:  # each spill file is under a private folder of its own connection
        assert path.parent.name.startswith("duckdb-") and stat.S_IMODE(watcher.seen[path.parent][0]) == 0o700
    assert os.listdir(tmp) == [], "the private folder was left behind"


def test_every_written_file_is_private_and_removed(shared, registry, monkeypatch):
    """Decompressed .gz data, transcoded GBK text and inline CSV: each in the private folder, gone afterwards."""
    data, tmp = shared
    plain = subscriptions(data / "plain.csv", 400).read_bytes()
    (data / "packed.csv.gz").write_bytes(gzip.compress(plain))
    (data / "gbk.csv").write_bytes(plain.decode().replace("a\n", "北京\n").encode("gb18030"))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    server = build_server(registry, "all", data_dirs=[data])

    async def run() -> None:
        async with Client(server) as client:
            for arguments in ({"path": "packed.csv.gz"}, {"path": "gbk.csv"}, {"csv": plain.decode()}):
                result = await client.call_tool("analyze_churn", {"charts": False, **arguments})
                assert not result.is_error, text_of(result)
                assert result.structured_content["customers"] == 400

    import anyio

    with Watcher(tmp) as watcher:
        anyio.run(run)
    probes = python_probes(watcher, tmp)
    files = [p for p, (mode, _) in watcher.seen.items() if stat.S_ISREG(mode) and p.name not in probes]
    assert files, "nothing was written: the test proves nothing"
    for path in files:
        folder = path.relative_to(tmp).parts[0]
        assert stat.S_IMODE(watcher.seen[tmp / folder][0]) == 0o700, path
    for entry in tmp.iterdir():  # the folder itself stays for the process's life; its files are gone
        assert entry.name.startswith(f"retention-mcp-{os.geteuid()}-{os.getpid()}-"), entry
        assert [p for p in entry.rglob("*") if p.is_file()] == []


def test_another_user_cannot_read_spill_files_nor_lend_a_folder(shared):
    """A folder another user made under the old shared name is never used, and what the server writes cannot be
    read by that user, even while the analysis runs."""
    data, tmp = shared
    probe = other_user()
    planted = tmp / "retention-mcp-duckdb"
    planted.mkdir()
    os.chown(planted, *probe)
    os.chmod(planted, 0o777)
    subscriptions(data / "big.csv", 1_000_000)
    readable: list[str] = []
    stop = threading.Event()

    def steal() -> None:  # as the other user, read whatever the server leaves reachable
        while not stop.is_set():
            for folder, _, files in os.walk(tmp):
                for name in files:
                    path = Path(folder, name)
                    got = as_user(probe, lambda p=path: len(p.read_bytes()))
                    if isinstance(got, int) and got > 0:
                        readable.append(str(path))
            time.sleep(0.01)

    thief = threading.Thread(target=steal, daemon=True)
    thief.start()
    try:
        run = analyze(data, tmp, "big.csv", "--memory", "48MB", "--threads", "1")
    finally:
        stop.set()
        thief.join()
    assert run.returncode == 0, run.stderr
    assert readable == [], f"another user read {len(readable)} of the server's files"
    assert list(planted.iterdir()) == [], "the server wrote into a folder another user made"


def test_an_unprivileged_server_works_beside_a_folder_left_by_another_user(shared, monkeypatch):
    """The old shared folder, left by root, made inline-CSV and .gz analyses of any other user fail."""
    data, tmp = shared
    probe = other_user()
    (tmp / "retention-mcp-duckdb").mkdir(mode=0o755)  # root's, not writable by the server's user
    plain = subscriptions(data / "plain.csv", 300)
    (data / "packed.csv.gz").write_bytes(gzip.compress(plain.read_bytes()))
    (data / "packed.csv.gz").chmod(0o644)
    for key in [k for k in os.environ if k.startswith("RETENTION_MCP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("RETENTION_MCP_DATA_DIRS", str(data))
    monkeypatch.setattr(tempfile, "tempdir", None)

    def run_cli() -> list[int]:
        """The command line, in this process: `analyze` of a .gz file and of CSV on stdin."""
        from retention_mcp import cli

        codes = []
        for argv in (["analyze", "packed.csv.gz", "--json"], ["analyze", "-", "--json"]):
            with open(plain) as source, open(os.devnull, "w") as sink:
                monkeypatch.setattr(sys, "stdin", source)
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    codes.append(cli.main(argv))
        return codes

    assert run_cli() == [0, 0]  # as root: also loads every module the run needs before dropping privileges
    for entry in tmp.iterdir():
        if entry.name != "retention-mcp-duckdb":
            subprocess.run(["rm", "-rf", str(entry)], check=True)
    assert as_user(probe, run_cli) == [0, 0]
    mine = [p for p in tmp.iterdir() if p.name != "retention-mcp-duckdb"]  # the child left without its exit steps
    assert [p.name.split("-")[2] for p in mine] == [str(probe[0])]
    info = os.lstat(mine[0])
    assert info.st_uid == probe[0] and stat.S_IMODE(info.st_mode) == 0o700
    assert [p for p in mine[0].rglob("*") if p.is_file()] == []


def test_a_killed_process_leaves_a_folder_the_next_run_removes(shared):
    data, tmp = shared
    subscriptions(data / "big.csv", 1_000_000)
    proc = subprocess.Popen(
        [*CLI, "analyze", "big.csv", "--memory", "48MB", "--threads", "1"],
        env=env_for(data, tmp),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(tmp.glob("retention-mcp-*/duckdb-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = [p.name for p in tmp.iterdir()]
    assert len(left) == 1 and left[0].startswith(f"retention-mcp-{os.geteuid()}-{proc.pid}-"), left
    foreign = tmp / f"retention-mcp-{os.geteuid()}-999999999-x"  # a link with a stale name: left alone, not followed
    target = tmp.parent / "keep"
    target.mkdir()
    (target / "file").write_text("kept")
    foreign.symlink_to(target)
    subscriptions(data / "small.csv", 50)
    assert analyze(data, tmp, "small.csv").returncode == 0
    assert list(tmp.iterdir()) == [foreign], "the killed process's folder was not removed"
    assert (target / "file").read_text() == "kept"


def test_a_scratch_folder_others_can_replace_files_in_is_refused(shared, registry, monkeypatch):
    data, tmp = shared
    open_folder = tmp / "open"
    open_folder.mkdir()
    os.chmod(open_folder, 0o777)  # writable by all, no sticky bit
    subscriptions(data / "plain.csv", 50)
    run = analyze(data, tmp, "plain.csv", RETENTION_MCP_SCRATCH_DIR=str(open_folder))
    assert run.returncode != 0
    assert "RETENTION_MCP_SCRATCH_DIR" in run.stderr and "sticky" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_a_file_that_grows_while_it_is_read_is_refused(registry, tmp_path):
    """Only the bytes checked against the limits are read: a file appended to during the read is refused."""
    data = tmp_path / "data"
    data.mkdir()
    subscriptions(data / "growing.csv", 400_000)
    server = build_server(registry, "all", data_dirs=[data])
    stop = threading.Event()

    def append() -> None:
        with open(data / "growing.csv", "a", newline="") as handle:
            batch = 0
            while not stop.is_set():
                batch += 1  # one row per customer; the line ending the file has
                handle.write("".join(f"late{batch}x{i},2025-01-01,,a\r\n" for i in range(2000)))
                handle.flush()
                time.sleep(0.001)

    async def run():
        async with Client(server) as client:
            grower = threading.Thread(target=append, daemon=True)
            grower.start()
            try:
                result = await client.call_tool("analyze_churn", {"charts": False, "path": "growing.csv"})
            finally:
                stop.set()
                grower.join()
            after = await client.call_tool("analyze_churn", {"charts": False, "path": "growing.csv"})
        return result, after

    import anyio

    result, after = anyio.run(run)
    message = text_of(result)
    assert result.is_error and "grew while it was being read" in message, message
    assert "late" not in message
    assert not after.is_error, text_of(after)  # once it stops growing, the file is read
