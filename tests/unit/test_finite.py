"""Every analyze_churn result fits the output schema the tool declares: a degenerate sBG fit is reported as
degenerate with no invented parameters, and numbers that are not finite or break a declared bound become null (or
leave their list) with the reason listed in `absent`."""

from __future__ import annotations

import json
import math
import random

import jsonschema
import pytest
from mcp import Client

from retention_mcp.analytics.report import SBG, ChurnReport, Segment, SegmentValue
from retention_mcp.server import build_server

pytestmark = pytest.mark.anyio


def sixty_rows(seed: int) -> str:
    """60 customers with one churn hazard for all: the sBG likelihood has no interior maximum (seed 23 gave
    projected_survival 2.28e+222 before)."""
    rng = random.Random(seed)
    rows = []
    for i in range(60):
        start = f"2025-0{1 + rng.randrange(3)}-1{rng.randrange(9)}"
        end = "" if rng.random() < 0.6 else f"2025-0{4 + rng.randrange(2)}-1{rng.randrange(9)}"
        rows.append(f"c{i},{start},{end}")
    return "customer_id,start_date,end_date\n" + "\n".join(rows)


@pytest.mark.parametrize("seed", [23, 14, 5])
async def test_a_degenerate_fit_is_reported_as_such(registry, seed):
    server = build_server(registry, "all", data_dirs=[])
    async with Client(server) as client:  # the SDK client checks structured content against the output schema
        tools = {t.name: t for t in (await client.list_tools()).tools}
        result = await client.call_tool("analyze_churn", {"csv": sixty_rows(seed), "charts": False})
    assert not result.is_error, result.content
    report = result.structured_content
    jsonschema.validate(report, tools["analyze_churn"].output_schema)
    sbg = report["sbg"]
    assert sbg["degenerate"] is True and sbg["alpha"] is None and sbg["beta"] is None
    assert sbg["log_likelihood"] is None and "constant churn rate" in sbg["note"]
    assert all(0 <= x <= 1 for x in sbg["projected_survival"] + sbg["retention_rate"])
    assert sbg["projected_survival"] == sorted(sbg["projected_survival"], reverse=True)
    # a constant rate: S(t) = r ** t
    rate = sbg["retention_rate"][0]
    assert sbg["projected_survival"][11] == pytest.approx(rate**12, abs=2e-3)
    assert "the fit is degenerate" in result.content[0].text and "e+" not in result.content[0].text


async def test_a_fit_with_spread_is_not_degenerate(registry):
    async with Client(build_server(registry, "all", data_dirs=[])) as client:
        report = await client.call_tool("analyze_churn", {"path": "subscriptions.csv", "charts": False})
    sbg = report.structured_content["sbg"]
    assert sbg["degenerate"] is False and sbg["alpha"] > 0 and sbg["beta"] > 0 and sbg["note"] == ""


def test_bad_numbers_are_blanked_with_a_reason():
    schema = ChurnReport.model_json_schema()
    good = SegmentValue(value="a", customers=5, churned=1, churn_rate=0.2, ci_low=0.1, ci_high=0.3, lift=1.0)
    bad = good.model_copy(update={"value": "b", "lift": math.inf})
    report = ChurnReport(
        source="x",
        rows=10,
        mode="subscriptions",
        columns={},
        observation_end=None,
        customers=10,
        churn_rate=math.nan,
        segments=[Segment(column="plan", kind="category", values=[good, bad], cramers_v=0.1, p_value=0.5)],
        sbg=SBG(
            alpha=math.nan,
            beta=1.0,
            log_likelihood=-3.0,
            retention_rate=[0.9, 2.28e222],
            projected_survival=[0.9],
            constant_rate_projection=[0.9],
            derl={"1": math.inf, "6": 3.0},
        ),
    )
    for data in (report.model_dump(mode="json"), json.loads(report.model_dump_json())):
        jsonschema.validate(data, schema)
        assert data["churn_rate"] is None
        assert [v["value"] for v in data["segments"][0]["values"]] == ["a"]
        assert data["sbg"]["alpha"] is None and data["sbg"]["retention_rate"] == [0.9, None]
        assert data["sbg"]["derl"] == {"6": 3.0}
        reasons = {a["name"]: a["reason"] for a in data["absent"]}
        assert set(reasons) == {
            "churn_rate",
            "segments[0].values[1].lift",
            "sbg.alpha",
            "sbg.retention_rate[1]",
            "sbg.derl.1",
        }
        assert "not a finite number" in reasons["churn_rate"] and "outside [0, 1]" in reasons["sbg.retention_rate[1]"]
