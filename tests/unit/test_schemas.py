"""schemas/ is generated from the models; a test fails as soon as it drifts."""

from __future__ import annotations

import shutil

from retention_mcp import schema_export as schemas
from tests.conftest import ROOT, TEMPLATE_NAMES


def test_shipped_schemas_match_the_models():
    assert schemas.drift(ROOT / "schemas") == [], "schemas/ is out of date: run 'make schemas'"
    names = {p.name for p in (ROOT / "schemas").glob("*.json")}
    assert names == (
        {f"{n}.input.json" for n in TEMPLATE_NAMES}
        | {f"{n}.plan.json" for n in TEMPLATE_NAMES}
        | {"render_result.json", "template_list.json", "plan_result.json", "plan_list.json", "churn_report.json"}
        | {"typed_constraints.json"}
    )


def test_drift_is_detected(tmp_path):
    copy = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", copy)
    path = copy / "churn_analysis.input.json"
    path.write_text(path.read_text().replace('"maxLength": 8000', '"maxLength": 9000', 1))
    (copy / "render_result.json").unlink()
    (copy / "stale.json").write_text("{}")
    assert schemas.drift(copy) == ["churn_analysis.input.json", "render_result.json", "stale.json"]


def test_export_writes_what_drift_expects(tmp_path):
    schemas.export(tmp_path)
    assert schemas.drift(tmp_path) == []
