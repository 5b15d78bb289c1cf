"""The plan and analysis views in a real browser: Debian's Chromium driven by Playwright, a test host on the official
AppBridge talking to the server over HTTP on 127.0.0.1. For each view, in English and in Chinese (one in the light
theme, one in the dark): it draws, every number it shows is the structured result's, Chinese text is drawn with a
CJK font, nothing is logged as an error, no Content-Security-Policy rule is broken, and hovering shows values.
Screenshots are kept in build/screenshots/."""

from __future__ import annotations

import copy
import json
import re
import statistics
from pathlib import Path

import pytest

from retention_mcp.server import build_server
from tests.browser.host_server import CHROMIUM, SCREENSHOTS, HostServer, build_host, require_browser
from tests.conftest import SCENARIOS, fixture_plan

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
CJK = re.compile("[\u4e00-\u9fff]")
DARK = {"--color-background-primary": "#16181d", "--color-text-primary": "#e8eaee"}


def checked_plan(scenario_id: str, over_the_cap: bool = False) -> dict:
    scenario = next(s for s in SCENARIOS if s["id"] == scenario_id)
    plan = fixture_plan(scenario_id)
    if over_the_cap:  # the brief caps discounts at 15%: this plan fails a check
        plan = copy.deepcopy(plan)
        plan["offers"][0]["discount_pct"] = 25
    return {
        "template": scenario["tool"],
        "plan": json.dumps(plan, ensure_ascii=False),
        "arguments": json.dumps(scenario["arguments"], ensure_ascii=False),
    }


SCENARIOS_SHOWN = {
    "plan-en": ("check_plan", lambda: checked_plan("saas-collaboration-en"), "light", "en-US"),
    "plan-zh": ("check_plan", lambda: checked_plan("saas-collaboration-zh", over_the_cap=True), "dark", "zh-CN"),
    "analysis-en": ("analyze_churn", lambda: {"path": "subscriptions.csv", "language": "en"}, "light", "en-US"),
    "analysis-zh": ("analyze_churn", lambda: {"path": "subscriptions.csv", "language": "zh"}, "dark", "zh-CN"),
    # a template tool in prompt mode links the plan view too: it shows the effective constraints, and says no plan yet
    "prompt-en": (
        "retention_strategy",
        lambda: next(s for s in SCENARIOS if s["id"] == "saas-collaboration-en")["arguments"],
        "light",
        "en-US",
    ),
}


@pytest.fixture(scope="module")
def host(registry, tmp_path_factory):
    require_browser()
    data = tmp_path_factory.mktemp("views")
    server = build_server(registry, plan_store=data / "plans.sqlite3", data_dirs=[data])
    with HostServer(server, build_host()) as running:
        yield running


@pytest.fixture(scope="module")
def browser(host):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


class Shown:
    """One tool call rendered in the test host: the page, the view's frame, what was logged."""

    def __init__(self, browser, host, tool: str, arguments: dict, theme: str, locale: str):
        self.page = browser.new_page(viewport={"width": 800, "height": 3200})
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"{m.text} {m.location}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(host.url)
        self.page.wait_for_function("typeof window.showTool === 'function'")
        context = {"theme": theme, "locale": locale, "styles": {"variables": DARK if theme == "dark" else {}}}
        self.outcome = self.page.evaluate("([t, a, c]) => window.showTool(t, a, c)", [tool, arguments, context])
        self.structured = self.outcome["structured"]
        sandbox = next(f for f in self.page.frames if f.url.startswith("http://localhost:"))
        self.sandbox = sandbox
        self.view = sandbox.child_frames[0]

    def violations(self) -> list[str]:
        return self.sandbox.evaluate("window.violations")

    def numbers(self) -> list[tuple[str, str, float]]:
        return self.view.evaluate(
            "[...document.querySelectorAll('[data-path]')].map(e => [e.dataset.path, e.textContent, +(e.dataset.scale || 1)])"
        )

    def fonts_of_chinese_text(self) -> list[dict]:
        """The platform fonts Chromium used for the first element whose own text is Chinese (CDP)."""
        cdp = self.page.context.new_cdp_session(self.sandbox)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]

        def walk(node):
            for child in node.get("children", []) + ([node["contentDocument"]] if "contentDocument" in node else []):
                if child.get("nodeType") == 3 and CJK.search(child.get("nodeValue", "")):
                    return node
                found = walk(child)
                if found is not None:
                    return found
            return None

        element = walk(root)
        assert element is not None, "no Chinese text in the view"
        return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": element["nodeId"]})["fonts"]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.locator("#view-frame").screenshot(path=str(path))
        return path


def value_at(structured: dict, path: str):
    value = structured
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def assert_numbers_are_the_results(shown: Shown) -> int:
    """Every number shown, read back from its text, is the structured result's value at its path (to the digits shown)."""
    numbers = shown.numbers()
    for path, text, scale in numbers:
        expected = value_at(shown.structured, path)
        match = re.search(r"−?-?[\d,]*\.?\d+(e[-+]?\d+)?", text)
        assert match, f"{path}: no number in {text!r}"
        digits = match.group(0).replace(",", "").replace("−", "-")
        shown_value = float(digits)
        decimals = len(digits.split(".")[1].split("e")[0]) if "." in digits else 0
        if "e" in digits:  # a p-value in exponent form: compare the mantissa's digits
            assert shown_value == pytest.approx(expected, rel=0.051), (path, text, expected)
        else:
            assert abs(abs(shown_value) - abs(expected) * scale) <= 0.5 * 10**-decimals + 1e-9, (path, text, expected)
    return len(numbers)


@pytest.mark.parametrize("name", list(SCENARIOS_SHOWN))
def test_the_view_draws_the_structured_result(browser, host, name):
    tool, arguments, theme, locale = SCENARIOS_SHOWN[name]
    shown = Shown(browser, host, tool, arguments(), theme, locale)
    view = shown.view
    view.wait_for_selector("h1")
    background = view.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert background == ("rgb(22, 24, 29)" if theme == "dark" else "rgb(255, 255, 255)")  # the host's theme
    assert assert_numbers_are_the_results(shown) >= (4 if name == "prompt-en" else 8)
    if name == "prompt-en":
        assert "plan" not in shown.structured and "prompt" in shown.structured
        assert view.locator("#status").inner_text() == "Prompt only: no plan was written"
        assert view.locator("#constraints tr").count() >= 4 and view.locator("#recheck").count() == 0
    elif tool == "check_plan":
        status = shown.structured["validation"]["status"]
        assert status == ("passed" if name == "plan-en" else "failed")
        assert view.locator("#banner").get_attribute("class") == f"banner {status}"
        assert view.locator("#checks tr").count() == len(shown.structured["validation"]["checks"])
        view.locator(".phase").first.hover()
        phase = shown.structured["plan"]["timeline"]["phases"][0]
        assert phase["name"] in view.locator(".tip").inner_text()
    else:
        assert [c["type"] for c in shown.outcome["content"]] == ["text"]  # a host that draws the view gets no PNG
        assert view.locator("#cohort-heatmap .cell").count() > 100
        view.locator("#km-hover").hover(position={"x": 200, "y": 60})
        tip = view.locator(".tip")
        assert tip.is_visible()
        at_risk = re.search(r"(\d[\d,]*)$", tip.inner_text().strip()).group(1).replace(",", "")
        assert int(at_risk) in {p["at_risk"] for p in shown.structured["survival"]["points"]}
        # a group of the strongest driver: its own curve, at-risk numbers and hover values
        column, groups = next((c, g) for c, g in shown.structured["survival"]["by_segment"].items() if g[0]["points"])
        assert view.locator("#km-toggle button").count() == 1 + len(groups)
        view.locator("#km-toggle button").nth(1).click()
        assert view.locator("#km-toggle button").nth(1).inner_text() == f"{column} = {groups[0]['value']}"
        view.locator("#km-hover").hover(position={"x": 200, "y": 60})
        at_risk = re.search(r"(\d[\d,]*)$", view.locator(".tip").inner_text().strip()).group(1).replace(",", "")
        assert int(at_risk) in {p["at_risk"] for p in groups[0]["points"]}
        paths = [path for path, _, _ in shown.numbers()]
        assert any(path.startswith(f"survival.by_segment.{column}.0.points.") for path in paths), paths
        view.locator("#segment-toggle button").nth(1).click()
        second = shown.structured["segments"][1]
        assert view.locator("#segment-table tr").count() == len(second["values"]) + 1
        assert assert_numbers_are_the_results(shown) >= 8  # the toggled segment's numbers too
    if name.endswith("-zh"):
        fonts = shown.fonts_of_chinese_text()
        assert any("CJK" in f["familyName"] and f["glyphCount"] > 0 for f in fonts), fonts
    shown.screenshot(name)
    assert shown.violations() == []
    assert shown.errors == []
    shown.page.close()


def test_recheck_and_export_go_through_the_bridge(browser, host):
    shown = Shown(
        browser, host, "check_plan", checked_plan("saas-collaboration-zh", over_the_cap=True), "light", "zh-CN"
    )
    view = shown.view
    first = shown.structured
    assert first["revision"] == 1 and first["validation"]["status"] == "failed"
    view.locator("#recheck").click()  # a tools/call from the view, forwarded by the host to the server
    view.wait_for_selector("#note:has-text('已请求重新检查')")
    assert "修订 2" in view.locator("#banner").inner_text()  # the view drew the revision the server saved
    view.locator("#export").click()
    shown.page.wait_for_function("window.hostLog.downloads.length === 1")
    contents = shown.page.evaluate("window.hostLog.downloads[0].contents")
    assert [c["resource"]["mimeType"] for c in contents] == ["text/markdown", "application/json"]
    assert json.loads(contents[1]["resource"]["text"]) == first["plan"]
    assert shown.violations() == [] and shown.errors == []
    shown.page.close()


def test_time_from_html_sent_to_drawn(browser, host):
    """Five loads of each view; the median is written to build/screenshots/timings.json (measured, not asserted)."""
    timings = {}
    for name in ("plan-en", "analysis-en"):
        tool, arguments, theme, locale = SCENARIOS_SHOWN[name]
        runs = []
        for _ in range(5):
            shown = Shown(browser, host, tool, arguments(), theme, locale)
            runs.append(shown.outcome["drawnMs"])
            size = shown.outcome["htmlBytes"]
            shown.page.close()
        timings[name.split("-")[0]] = {"html_bytes": size, "drawn_ms": runs, "median_ms": statistics.median(runs)}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "timings.json").write_text(json.dumps(timings, indent=2), encoding="utf-8")
    assert all(len(t["drawn_ms"]) == 5 and t["html_bytes"] <= 200_000 for t in timings.values())
