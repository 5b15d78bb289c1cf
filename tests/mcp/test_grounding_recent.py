"""A brief's dataset is analysed once while the file stays the same: rendering it again, writing or checking a plan
from it reuses the report; a file that changed, moved out of the data directories or was written just now is
analysed again."""

from __future__ import annotations

import os
import shutil

import pytest
from mcp import Client

from retention_mcp.analytics import recent, service
from retention_mcp.paths import shipped_dir
from retention_mcp.server import build_server
from tests.mcp.test_sandbox import subscriptions

pytestmark = pytest.mark.anyio
ARGUMENTS = {"business_context": "B2B SaaS", "data_summary": "see the file"}


@pytest.fixture
def analyses(monkeypatch):
    """The file analyses the service runs, counted; no report is remembered from before the test."""
    recent.forget()
    calls: list[str] = []
    real = service.analyze

    def counted(request, *args, **kwargs):
        calls.append(str(request.path))
        return real(request, *args, **kwargs)

    monkeypatch.setattr(service, "analyze", counted)
    yield calls
    recent.forget()


def facts(result) -> str:
    assert not result.is_error, result.content
    prompt = result.structured_content["prompt"]
    return prompt[prompt.index("<computed_facts>") : prompt.index("</computed_facts>")]


async def test_the_same_file_is_analysed_once_for_every_call_that_grounds_on_it(registry, tmp_path, analyses):
    async with Client(build_server(registry, data_dirs=[tmp_path])) as client:
        first = await client.call_tool("churn_analysis", {**ARGUMENTS, "dataset": "subscriptions.csv"})
        again = await client.call_tool("churn_analysis", {**ARGUMENTS, "dataset": "subscriptions.csv"})
        prompt = await client.get_prompt("churn_analysis", {**ARGUMENTS, "dataset": "subscriptions.csv"})
    assert facts(first) == facts(again) and "D1: Customers: 5,000" in facts(first)
    assert "D1: Customers: 5,000" in prompt.messages[-1].content.text
    assert analyses == ["subscriptions.csv"]


async def test_a_file_written_just_now_is_analysed_on_every_call(registry, tmp_path, analyses):
    subscriptions(tmp_path / "fresh.csv", 60)
    async with Client(build_server(registry, data_dirs=[tmp_path])) as client:
        for _ in range(2):
            facts(await client.call_tool("churn_analysis", {**ARGUMENTS, "dataset": "fresh.csv"}))
    assert analyses == ["fresh.csv", "fresh.csv"]


async def test_a_changed_file_is_analysed_again_even_at_the_same_size_and_time(
    registry, tmp_path, analyses, monkeypatch
):
    """A file rewritten to the same size with its modification time put back: its change time still moves."""
    path = tmp_path / "export.csv"
    shutil.copyfile(shipped_dir("examples") / "subscriptions.csv", path)
    monkeypatch.setattr(recent.time, "time", lambda: os.stat(path).st_ctime + 60)  # as if written a minute ago
    async with Client(build_server(registry, data_dirs=[tmp_path])) as client:
        before = facts(await client.call_tool("churn_analysis", {**ARGUMENTS, "dataset": "export.csv"}))
        assert facts(await client.call_tool("churn_analysis", {**ARGUMENTS, "dataset": "export.csv"})) == before
        assert analyses == ["export.csv"]
        stamp = os.stat(path)
        path.write_bytes(path.read_bytes().replace(b"2025-12-31", b"2025-12-30"))  # same size, other content
        os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        assert os.stat(path).st_size == stamp.st_size and os.stat(path).st_mtime_ns == stamp.st_mtime_ns
        after = facts(await client.call_tool("churn_analysis", {**ARGUMENTS, "dataset": "export.csv"}))
    assert analyses == ["export.csv", "export.csv"]
    assert "data to 2025-12-31" in before and "data to 2025-12-31" not in after


async def test_a_remembered_file_that_leaves_the_data_directories_is_refused(registry, tmp_path, analyses, monkeypatch):
    """The sandbox check runs on every call: a file replaced by a link to a file outside is refused, not recalled."""
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    shutil.copyfile(shipped_dir("examples") / "subscriptions.csv", data / "export.csv")
    shutil.copyfile(shipped_dir("examples") / "subscriptions.csv", outside / "export.csv")
    monkeypatch.setattr(recent.time, "time", lambda: os.stat(data / "export.csv").st_ctime + 60)
    async with Client(build_server(registry, data_dirs=[data])) as client:
        facts(await client.call_tool("churn_analysis", {**ARGUMENTS, "dataset": "export.csv"}))
        (data / "export.csv").unlink()
        (data / "export.csv").symlink_to(outside / "export.csv")
        refused = await client.call_tool("churn_analysis", {**ARGUMENTS, "dataset": "export.csv"})
        served = await client.call_tool("churn_analysis", ARGUMENTS)
    assert refused.is_error and "outside the data directories" in refused.content[0].text
    assert not served.is_error and analyses == ["export.csv", "export.csv"]  # the second one refuses the file
