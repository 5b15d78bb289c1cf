"""The data sandbox against hostile files and names, made here in a temp folder: glob characters are ordinary
characters, links and FIFOs swapped in are refused, charts never write through a planted symlink, over-long or NUL
names get a clear error naming the field, and errors never quote a file's content."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path

import pytest
from mcp import Client

from retention_mcp import cli
from retention_mcp.analytics import engine
from retention_mcp.analytics.loading import DataError
from retention_mcp.server import build_server
from tests.unit.test_analytics_reference import write_rows

pytestmark = pytest.mark.anyio
HEADER = ["customer_id", "start_date", "end_date", "plan"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def subscriptions(path: Path, customers: int, prefix: str = "c", churn_every: int = 3) -> Path:
    """`customers` rows; every `churn_every`-th customer has left. Where only the path is the point, a test passes
    `churn_every=FEW` so that fewer than five leave and the analysis skips the retention-model fits."""
    rows = [
        [
            f"{prefix}{i}",
            f"2025-0{1 + i % 6}-0{1 + i % 9}",
            "2025-09-15" if i % churn_every == 0 else "",
            ("a", "b")[i % 2],
        ]
        for i in range(customers)
    ]
    return write_rows(path, HEADER, rows)


FEW = 7  # with fewer than 28 customers, at most four leave: too few to fit a model, so none is fitted


@pytest.fixture
def folders(tmp_path):
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    subscriptions(outside / "secret.csv", 50, prefix="SECRET")
    return data, outside


async def call(server, **arguments):
    async with Client(server) as client:
        result = await client.call_tool("analyze_churn", {"charts": False, **arguments})
        after = await client.call_tool("list_templates", {})
    assert not after.is_error  # the server keeps serving
    return result


def detail(message: str) -> str:
    """The tool's own message after the SDK's prefix; empty for the SDK's bare, generic error."""
    return re.sub(r"^Error executing tool \S+(: |$)", "", message)


def text_of(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def test_glob_characters_name_one_file(registry, folders):
    data, outside = folders
    names = {"*.csv": 21, "report[1].csv": 22, "report1.csv": 23, "a?.csv": 24, "{a,b}.csv": 25, "[ab].csv": 26}
    for name, customers in names.items():
        subscriptions(data / name, customers, churn_every=FEW)
    (data / "z.csv").symlink_to(outside / "secret.csv")  # refused by name, and must not come in through a glob
    (data / "sub").mkdir()
    subscriptions(data / "sub" / "deep.csv", 27)
    server = build_server(registry, "all", data_dirs=[data])
    for name, customers in names.items():
        result = await call(server, path=name)
        assert not result.is_error, (name, text_of(result))
        report = result.structured_content
        assert report["customers"] == customers and report["source"] == name, name
        assert "SECRET" not in json.dumps(report) + text_of(result)
    for pattern in ("*", "**/*.csv", "sub/*.csv", "report?.csv", "z*.csv"):
        result = await call(server, path=pattern)
        assert result.is_error and "no such file in the data directories" in text_of(result), pattern
    refused = await call(server, path="z.csv")
    assert refused.is_error and "outside the data directories" in text_of(refused)


def test_glob_characters_through_the_cli(folders, capsys, monkeypatch):
    data, _ = folders
    subscriptions(data / "report[1].csv", 22, churn_every=FEW)
    subscriptions(data / "report1.csv", 23, churn_every=FEW)
    monkeypatch.delenv("RETENTION_MCP_DATA_DIRS", raising=False)
    assert cli.main(["analyze", "report[1].csv", "--json", "--data-dir", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)["customers"] == 22


@pytest.mark.parametrize("extension", ["parquet", "jsonl"])
async def test_parquet_and_json_lines_are_read_through_the_descriptor(registry, folders, extension):
    import duckdb

    data, _ = folders
    subscriptions(data / "plain.csv", 30)
    target = data / f"odd [1] * ?.{extension}"
    fmt = "(FORMAT parquet)" if extension == "parquet" else "(FORMAT json)"
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{data / 'plain.csv'}')) TO '{target}' {fmt}")
    result = await call(build_server(registry, "all", data_dirs=[data]), path=target.name)
    assert not result.is_error, text_of(result)
    assert result.structured_content["customers"] == 30


async def test_hard_links_out_of_the_folder_are_refused(registry, folders):
    data, outside = folders
    os.link(outside / "secret.csv", data / "hard.csv")
    subscriptions(data / "mine.csv", 20)
    os.link(data / "mine.csv", data / "also-mine.csv")  # both names inside: fine
    server = build_server(registry, "all", data_dirs=[data])
    refused = await call(server, path="hard.csv")
    assert refused.is_error and "hard links" in text_of(refused) and "SECRET" not in text_of(refused)
    accepted = await call(server, path="also-mine.csv")
    assert not accepted.is_error and accepted.structured_content["customers"] == 20


async def test_fifos_are_refused_without_blocking(registry, folders):
    data, _ = folders
    os.mkfifo(data / "pipe.csv")
    (data / "to-pipe.csv").symlink_to(data / "pipe.csv")
    server = build_server(registry, "all", data_dirs=[data])
    for name in ("pipe.csv", "to-pipe.csv"):
        result = await call(server, path=name)
        assert result.is_error and "not a file" in text_of(result), name


SWAPS = {
    # what is put in place of the checked file between the check and the open -> the error
    "fifo": (lambda path, outside: os.mkfifo(path), "no longer a regular file"),
    "link out": (lambda path, outside: path.symlink_to(outside / "secret.csv"), "replaced by a link"),
    "other file": (lambda path, outside: subscriptions(path, 5), "replaced by another file"),
}


@pytest.mark.parametrize("swap", SWAPS, ids=str)
def test_a_file_swapped_after_the_check_is_refused(folders, swap):
    """The engine checks the path, reports progress, then opens: the progress callback swaps the file in that
    window, deterministically."""
    data, outside = folders
    target = subscriptions(data / "swap.csv", 20)
    make, message = SWAPS[swap]

    def progress(step: str) -> None:
        if step == "Reading the data":
            target.rename(data / "old.csv")  # kept, so its inode number is not handed to the new file
            make(target, outside)

    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(engine.analyze(engine.AnalysisRequest(path="swap.csv"), [data], progress))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)  # a guard against a hang, not a timing assertion
    assert not worker.is_alive(), "the worker blocked"
    assert isinstance(outcome[0], DataError) and message in str(outcome[0]), outcome
    assert "SECRET" not in str(outcome[0])


NAMES = {
    "long name": ("a" * 300 + ".csv", "255 bytes"),
    "NUL": ("sub\x00scriptions.csv", "NUL"),
    "long path": ("a/" * 2100 + "x.csv", "4096 bytes"),
}


@pytest.mark.parametrize("case", NAMES, ids=str)
async def test_impossible_names_get_a_clear_error(registry, folders, caplog, case):
    data, _ = folders
    name, rule = NAMES[case]
    server = build_server(registry, "all", data_dirs=[data])
    with caplog.at_level(logging.DEBUG):
        for field in ("path", "charts_dir"):
            arguments = {"path": name} if field == "path" else {"path": "subscriptions.csv", "charts_dir": name}
            result = await call(server, **arguments)
            message = text_of(result)
            assert result.is_error and detail(message).startswith(f"{field}: ") and rule in message, message
            assert (
                detail(message)
                and "Internal server error" not in message
                and "\x00" not in message
                and CJK.search(message)
            )
            assert len(message) < 600
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_impossible_names_through_the_cli(folders, capsys):
    data, _ = folders
    assert cli.main(["analyze", "a" * 300 + ".csv", "--data-dir", str(data)]) != 0
    error = capsys.readouterr().err
    assert "path: a file or folder name in it is 304 bytes long" in error and "Traceback" not in error


async def test_charts_never_write_through_a_planted_symlink(registry, folders):
    data, outside = folders
    victim = outside / "victim.png"
    victim.write_bytes(b"KEEP")
    (data / "out").mkdir()
    (data / "out" / "survival.png").symlink_to(victim)
    (data / "escape").symlink_to(outside, target_is_directory=True)
    server = build_server(registry, "all", data_dirs=[data])
    result = await call(server, path="subscriptions.csv", charts_dir="out")
    assert not result.is_error, text_of(result)
    assert victim.read_bytes() == b"KEEP"
    written = data / "out" / "survival.png"
    assert not written.is_symlink() and written.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in (data / "out").iterdir()) == ["cohorts.png", "survival.png"]  # no temp left
    escaped = await call(server, path="subscriptions.csv", charts_dir="escape")
    assert escaped.is_error and "inside the data directories" in text_of(escaped)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv", "victim.png"]


async def test_charts_dir_without_a_data_directory(registry):
    result = await call(build_server(registry, "all", data_dirs=[]), path="subscriptions.csv", charts_dir="out")
    message = text_of(result)
    assert result.is_error and detail(message).startswith("charts_dir: no data directory is configured"), message
    assert "RETENTION_MCP_DATA_DIRS" in message and "未配置数据目录" in message


SECRET = "-----BEGIN OPENSSH PRIVATE KEY-----"


def secret_files(data: Path) -> dict[str, str]:
    (data / "id_rsa").write_text(f"{SECRET}\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END-----\n")
    (data / "quote.csv").write_text(f'customer_id,start_date,end_date\na,2025-01-01,"{SECRET}\nb,2025-01-02,\n')
    (data / "cells.csv").write_text(f"customer_id,start_date,end_date,churned\na,2025-01-01,,no\nb,{SECRET},,yes\n")
    (data / "flags.csv").write_text(f"customer_id,tenure,churned\na,3,no\nb,4,{SECRET}\n")
    (data / "dup.csv").write_text(f"customer_id,start_date,end_date\n{SECRET},2025-01-01,\n{SECRET},2025-01-02,\n")
    (data / "keys.jsonl").write_text(f'{{"customer_id": "a", "start_date": "2025-01-01"}}\n{{"{SECRET}\n')
    (data / "broken.parquet").write_text(f"PAR1{SECRET}")
    return {
        "id_rsa": "only one column was found (a first line of 35 characters)",
        "quote.csv": "end_date: not a date column (first value on data row 1)",
        "cells.csv": "start_date: 1 value(s) are not dates in YYYY-MM-DD (first on data row 2)",
        "flags.csv": "1 customer(s) have an unknown churn flag",  # not an error: counted, the word never shown
        "dup.csv": "1 customer id(s) appear on more than one row (first repeat on data row 2)",
        "keys.jsonl": "cannot be read as JSON",
        "broken.parquet": "cannot be read as PARQUET",
    }


async def test_errors_never_quote_the_file(registry, folders):
    data, _ = folders
    server = build_server(registry, "all", data_dirs=[data])
    for name, message in secret_files(data).items():
        result = await call(server, path=name)
        text = text_of(result)
        assert result.is_error == (name != "flags.csv") and message in text, (name, text)
        assert "BEGIN" not in text and "OPENSSH" not in text and "b3Bl" not in text, (name, text)


DELIMITED = {",": "plain.csv", ";": "semi.csv", "\t": "tab.tsv", "|": "pipe.txt", "，": "wide.csv"}


async def test_delimiter_is_one_of_a_small_set(registry, folders):
    data, _ = folders
    rows = subscriptions(data / "rows.csv", 20, churn_every=FEW).read_text().splitlines()
    for delimiter, name in DELIMITED.items():
        (data / name).write_text("\n".join(line.replace(",", delimiter) for line in rows) + "\n")
    server = build_server(registry, "all", data_dirs=[data])
    for delimiter, name in DELIMITED.items():
        result = await call(server, path=name, delimiter=delimiter)
        assert not result.is_error and result.structured_content["customers"] == 20, (delimiter, text_of(result))
    for hostile in ("'", "x", "', header=false) --", ";;", "\x00"):
        result = await call(server, path="rows.csv", delimiter=hostile)
        message = detail(text_of(result))
        assert result.is_error and message.startswith("Invalid arguments for 'analyze_churn'"), message
        assert "- delimiter: must be one of" in message, message
    with pytest.raises(DataError, match="delimiter: must be one of"):
        engine.analyze(engine.AnalysisRequest(path="rows.csv", delimiter="');--"), [data])


def test_a_tab_delimiter_from_the_command_line(folders, capsys):
    data, _ = folders
    rows = subscriptions(data / "rows.csv", 20, churn_every=FEW).read_text().splitlines()
    (data / "tab.txt").write_text("\n".join(line.replace(",", "\t") for line in rows) + "\n")
    for typed in ("\\t", "tab"):
        assert cli.main(["analyze", "tab.txt", "--delimiter", typed, "--json", "--data-dir", str(data)]) == 0
        assert json.loads(capsys.readouterr().out)["customers"] == 20
    assert cli.main(["analyze", "tab.txt", "--delimiter", "x", "--data-dir", str(data)]) == 2
    assert "delimiter: must be one of" in capsys.readouterr().err
