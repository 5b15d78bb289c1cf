"""Limits on heavy inputs, each a RETENTION_MCP_* setting: file size, decompressed size and ratio, line length,
DuckDB memory and threads, wall time; and an analysis stops when its time runs out or the client cancels."""

from __future__ import annotations

import gzip
import json
import threading

import anyio
import pytest
from mcp import Client

from retention_mcp.analytics import engine, service
from retention_mcp.analytics.limits import ENV, AnalysisStopped, Cancellation, Limits
from retention_mcp.server import build_server
from tests.mcp.test_sandbox import detail, subscriptions, text_of

pytestmark = pytest.mark.anyio


@pytest.fixture
def data(tmp_path, monkeypatch):
    for name in ENV.values():
        monkeypatch.delenv(f"RETENTION_MCP_{name}", raising=False)
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


async def call(server, **arguments):
    async with Client(server) as client:
        result = await client.call_tool("analyze_churn", {"charts": False, **arguments})
        after = await client.call_tool("list_templates", {})
    assert not after.is_error
    return result


async def test_file_size_limit(registry, data, monkeypatch):
    subscriptions(data / "big.csv", 60_000)  # about 1.6 MB
    monkeypatch.setenv("RETENTION_MCP_MAX_FILE_MB", "1")
    result = await call(build_server(registry, "all", data_dirs=[data]), path="big.csv")
    assert result.is_error and "the limit is 1 MB (RETENTION_MCP_MAX_FILE_MB)" in text_of(result)
    monkeypatch.setenv("RETENTION_MCP_MAX_FILE_MB", "2")
    result = await call(build_server(registry, "all", data_dirs=[data]), path="big.csv")
    assert not result.is_error and result.structured_content["customers"] == 60_000


async def test_gzip_is_read_and_a_bomb_is_stopped(registry, data, monkeypatch):
    plain = subscriptions(data / "plain.csv", 300).read_bytes()
    (data / "small.csv.gz").write_bytes(gzip.compress(plain))
    bomb = plain.split(b"\n", 1)[0] + b"\n" + b"c1,2025-01-01,,a\n" * 1_000_000  # 17 MB of rows
    (data / "bomb.csv.gz").write_bytes(gzip.compress(bomb, compresslevel=1))
    server = build_server(registry, "all", data_dirs=[data])
    small = await call(server, path="small.csv.gz")
    assert not small.is_error and small.structured_content["customers"] == 300
    monkeypatch.setenv("RETENTION_MCP_MAX_DECOMPRESSED_MB", "4")
    stopped = await call(server, path="bomb.csv.gz")
    assert stopped.is_error and "decompresses to more than 4 MB (RETENTION_MCP_MAX_DECOMPRESSED_MB)" in text_of(stopped)
    assert not list(data.parent.glob("**/*.tmp"))


async def test_compression_ratio(registry, data, monkeypatch):
    (data / "zeros.csv.gz").write_bytes(gzip.compress(b"a,b\n" + b"0" * (70 * 1024 * 1024), compresslevel=1))
    monkeypatch.setenv("RETENTION_MCP_MAX_COMPRESSION_RATIO", "50")
    result = await call(build_server(registry, "all", data_dirs=[data]), path="zeros.csv.gz")
    assert result.is_error and "50 times its size (RETENTION_MCP_MAX_COMPRESSION_RATIO)" in text_of(result)


async def test_line_length_limit(registry, data, monkeypatch):
    rows = subscriptions(data / "rows.csv", 30).read_text()
    (data / "long.csv").write_text(rows + "c99,2025-01-01,,a" + "x" * 300_000 + "\n")
    (data / "long.jsonl").write_text('{"customer_id": "' + "x" * 300_000 + '"}\n')
    monkeypatch.setenv("RETENTION_MCP_MAX_LINE_KB", "64")
    server = build_server(registry, "all", data_dirs=[data])
    for name in ("long.csv", "long.jsonl"):
        result = await call(server, path=name)
        message = text_of(result)
        assert result.is_error and "is longer than 64 KB (RETENTION_MCP_MAX_LINE_KB)" in message, message
        assert "the line starting at byte" in message and "xxx" not in message
    fine = await call(server, path="rows.csv")
    assert not fine.is_error


async def test_wall_time_limit(registry, data, monkeypatch):
    subscriptions(data / "rows.csv", 30)
    monkeypatch.setenv("RETENTION_MCP_ANALYSIS_TIMEOUT", "0.000001")
    result = await call(build_server(registry, "all", data_dirs=[data]), path="rows.csv")
    message = detail(text_of(result))
    assert result.is_error and message.startswith("The analysis took longer than 1e-06 s and was stopped"), message
    assert "RETENTION_MCP_ANALYSIS_TIMEOUT" in message


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("RETENTION_MCP_DUCKDB_MEMORY", "lots", "is not a size like 2GB"),
        ("RETENTION_MCP_DUCKDB_THREADS", "many", "is not a whole number"),
        ("RETENTION_MCP_MAX_LINE_KB", "0", "must be above 0"),
        ("RETENTION_MCP_ANALYSIS_TIMEOUT", "soon", "is not a number of seconds"),
    ],
)
async def test_bad_limit_settings_are_named(registry, data, monkeypatch, variable, value, rule):
    monkeypatch.setenv(variable, value)
    result = await call(build_server(registry, "all", data_dirs=[data]), path="subscriptions.csv")
    assert result.is_error and detail(text_of(result)).startswith(f"{variable}: ") and rule in text_of(result)


def test_duckdb_gets_the_memory_and_thread_limits(data, monkeypatch):
    from retention_mcp.analytics.loading import open_table
    from retention_mcp.analytics.sandbox import check_data_path

    subscriptions(data / "rows.csv", 30)
    monkeypatch.setenv("RETENTION_MCP_DUCKDB_MEMORY", "300MB")
    monkeypatch.setenv("RETENTION_MCP_DUCKDB_THREADS", "1")
    table = open_table(check_data_path("rows.csv", [data]), limits=Limits.from_env())
    try:
        memory, threads = table.con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads')"
        ).fetchone()
    finally:
        table.close()
    assert memory == "286.1 MiB" and threads == 1


def test_cancel_interrupts_a_running_query():
    import duckdb

    cancel = Cancellation()
    con = duckdb.connect()
    cancel.attach(con)
    outcome = []

    def run():
        try:
            con.execute("SELECT count(*) FROM range(1000000000000) a")
            outcome.append("finished")
        except duckdb.InterruptException:
            outcome.append("interrupted")

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    while not outcome and worker.is_alive():
        cancel.cancel()  # until the query is running and takes it
        worker.join(0.05)
    worker.join(60)
    assert outcome == ["interrupted"]
    with pytest.raises(AnalysisStopped, match="cancelled"):
        cancel.check()


async def test_a_client_cancel_stops_the_worker(registry, data, monkeypatch):
    """The client cancels its call at the first progress report; the worker is held there until the server has
    cancelled its handle, then its next step raises AnalysisStopped."""
    real = service.analyze
    outcome: list[BaseException | object] = []
    done = threading.Event()

    def held(request, dirs, progress, cancel, limits):
        def say(message):
            progress(message)
            for _ in range(600):  # wait (at most a minute) for the cancel to arrive
                if cancel.reason is not None:
                    break
                threading.Event().wait(0.1)

        try:
            outcome.append(real(request, dirs, say, cancel, limits))
        except BaseException as exc:
            outcome.append(exc)
            raise
        finally:
            done.set()

    monkeypatch.setattr(service, "analyze", held)
    server = build_server(registry, "all", data_dirs=[data])
    async with Client(server) as client:
        async with anyio.create_task_group() as tasks:

            async def on_progress(progress, total, message):
                tasks.cancel_scope.cancel()

            tasks.start_soon(
                lambda: client.call_tool("analyze_churn", {"path": "subscriptions.csv"}, progress_callback=on_progress)
            )
        assert await anyio.to_thread.run_sync(done.wait, 60)
        after = await client.call_tool("list_templates", {})
    assert not after.is_error
    assert isinstance(outcome[0], AnalysisStopped) and "cancelled" in str(outcome[0])


def test_engine_default_limits_come_from_the_environment(data, monkeypatch):
    subscriptions(data / "rows.csv", 30)
    monkeypatch.setenv("RETENTION_MCP_MAX_FILE_MB", "0")
    with pytest.raises(Exception, match="RETENTION_MCP_MAX_FILE_MB: must be above 0"):
        engine.analyze(engine.AnalysisRequest(path="rows.csv"), [data])


def test_limits_as_cli_flags(data, capsys):
    from retention_mcp import cli

    rows = subscriptions(data / "rows.csv", 30).read_text()
    (data / "long.csv").write_text(rows + "c99,2025-01-01,,a" + "x" * 100_000 + "\n")
    assert cli.main(["analyze", "long.csv", "--data-dir", str(data), "--max-line-kb", "64"]) == 2
    assert "is longer than 64 KB (RETENTION_MCP_MAX_LINE_KB)" in capsys.readouterr().err
    assert cli.main(["analyze", "long.csv", "--data-dir", str(data), "--json"]) == 0  # under the default 1024 KB
    assert json.loads(capsys.readouterr().out)["customers"] == 31
    assert cli.main(["analyze", "rows.csv", "--data-dir", str(data), "--memory", "plenty"]) == 2
    assert "RETENTION_MCP_DUCKDB_MEMORY (--memory): 'plenty' is not a size" in capsys.readouterr().err
    assert cli.main(["analyze", "rows.csv", "--data-dir", str(data), "--timeout", "0.000001"]) == 2
    assert "The analysis took longer than 1e-06 s and was stopped" in capsys.readouterr().err


async def test_memory_limit_is_named_when_hit(registry, data, monkeypatch):
    monkeypatch.setenv("RETENTION_MCP_DUCKDB_MEMORY", "1MB")
    result = await call(build_server(registry, "all", data_dirs=[data]), path="subscriptions.csv")
    message = text_of(result)
    assert result.is_error and "more memory is needed than RETENTION_MCP_DUCKDB_MEMORY allows" in message, message
