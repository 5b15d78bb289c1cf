"""What the charts show, checked on the PNG the analyze_churn tool returns and on the matplotlib figures behind it:
a colour of its own for each of up to 20 groups, the legend beside the plot, long names shortened, more groups
pooled as "other", every cohort in the heatmap with its size and each cell's share, and a note when there is
nothing to draw."""

from __future__ import annotations

import base64
import contextlib
import io
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from mcp import Client

from retention_mcp import cli
from retention_mcp.server import build_server
from tests.unit.test_analytics_reference import write_rows

pytestmark = pytest.mark.anyio


def twenty_groups(folder: Path) -> Path:
    """20 plans whose churn grows with the plan's number, so the plan is the strongest driver; long plan names."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(4000):
        group = i % 20
        churned = rng.random() < 0.1 + 0.04 * group
        rows.append([f"c{i}", int(rng.integers(1, 41)), "yes" if churned else "no", f"enterprise plan tier {group:02d} (annual, invoiced)"])  # fmt: skip
    return write_rows(folder / "plans.csv", ["customer_id", "tenure", "churned", "plan"], rows)


def png_colours(png: bytes) -> set[tuple[int, int, int]]:
    from matplotlib import image

    pixels = (image.imread(io.BytesIO(png), format="png")[:, :, :3] * 255).round().astype(int)
    return {tuple(int(v) for v in p) for p in np.unique(pixels.reshape(-1, 3), axis=0)}


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


async def test_twenty_groups_get_twenty_colours_and_the_same_bytes_every_run(registry, tmp_path):
    import matplotlib

    twenty_groups(tmp_path)
    async with Client(build_server(registry, data_dirs=[tmp_path])) as client:
        runs = [await client.call_tool("analyze_churn", {"path": "plans.csv"}) for _ in range(2)]
    for result in runs:
        assert not result.is_error, result.content
    assert runs[0].structured_content["drivers"][0]["column"] == "plan"
    survival = [base64.b64decode(result.content[1].data) for result in runs]
    assert survival[0] == survival[1]  # byte-identical run to run
    tab20 = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab20"].colors]
    present = png_colours(survival[0])
    assert [c for c in tab20 if hex_rgb(c) not in present] == []  # each of the 20 groups has its own colour


def curves_of(groups: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    from retention_mcp.analytics.survival import kaplan_meier

    return {label: kaplan_meier(durations, observed) for label, (durations, observed) in groups.items()}


def some_groups(count: int, seed: int = 3) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    groups = {}
    for g in range(count):
        size = 40 + 10 * g
        durations = rng.integers(1, 30, size).astype(float)
        groups[f"region = a rather long region name number {g:02d}"] = (durations, rng.random(size) < 0.5)
    return groups


def test_the_legend_is_outside_the_plot_and_names_are_short_and_distinct():
    from retention_mcp.analytics import charts

    fig, plt, _ = charts.survival_figure(curves_of(some_groups(12)), "Survival by region")
    try:
        plot, _table = fig.axes
        legend = plot.get_legend()
        renderer = fig.canvas.get_renderer()
        assert not legend.get_window_extent(renderer).overlaps(plot.get_window_extent(renderer))
        assert legend.get_window_extent(renderer).x0 >= plot.get_window_extent(renderer).x1
        assert fig.get_window_extent(renderer).contains(*legend.get_window_extent(renderer).p1)  # not cut off
        names = [text.get_text() for text in legend.get_texts()]
        assert len(set(names)) == 12 and all(len(n) <= charts.LABEL_CHARACTERS and "…" in n for n in names)
        assert names[0] == "region = a rather …number 00"  # both ends kept: the end tells groups apart
        colours = {line.get_color() for line in plot.get_lines()}
        assert len(colours) == 12
    finally:
        plt.close(fig)


def test_more_than_twenty_groups_name_the_largest_and_pool_the_rest():
    lifelines = pytest.importorskip("lifelines")
    from retention_mcp.analytics import charts

    groups = some_groups(25)
    fig, plt, labels = charts.survival_figure(curves_of(groups), "Survival by region")
    try:
        plot = fig.axes[0]
        names = [text.get_text() for text in plot.get_legend().get_texts()]
        assert len(names) == 20 and names[-1] == "other (6)" and labels[-1] == "other (6)"
        assert len({line.get_color() for line in plot.get_lines()}) == 20
        # the six smallest groups (the first six: sizes grow with the number) are pooled, the rest named in order
        assert [n[-2:] for n in names[:-1]] == [f"{g:02d}" for g in range(6, 25)]
        pooled = [groups[label] for label in list(groups)[:6]]
        durations = np.concatenate([d for d, _ in pooled])
        observed = np.concatenate([o for _, o in pooled])
        reference = lifelines.KaplanMeierFitter().fit(durations, observed)
        line = plot.get_lines()[-1]
        x, y = line.get_xdata(), line.get_ydata()
        for t, s in zip(x[1:-1], y[1:-1], strict=True):
            assert s == pytest.approx(float(reference.survival_function_at_times(t).iloc[0]))
    finally:
        plt.close(fig)
    zh = charts.pool(curves_of(groups), zh=True)
    assert list(zh)[-1] == "其他 (6)"


def cohort_file(folder: Path) -> Path:
    """36 monthly cohorts, 2022 to 2024, a third of each leaving some months later."""
    rng = np.random.default_rng(4)
    rows = []
    for i in range(1800):
        start = date(2022, 1, 1) + timedelta(days=int(rng.integers(0, 1096)))
        end = start + timedelta(days=int(rng.integers(30, 700))) if i % 3 == 0 else None
        ended = end is not None and end <= date(2024, 12, 31)
        rows.append([f"c{i}", start.isoformat(), end.isoformat() if ended else "", ["a", "b"][i % 2]])
    return write_rows(folder / "cohorts.csv", ["customer_id", "start_date", "end_date", "plan"], rows)


async def test_the_heatmap_shows_every_cohort_with_its_size_and_each_cells_share(registry, tmp_path):
    from retention_mcp.analytics import charts
    from retention_mcp.analytics.report import ChurnReport

    cohort_file(tmp_path)
    async with Client(build_server(registry, data_dirs=[tmp_path])) as client:
        result = await client.call_tool("analyze_churn", {"path": "cohorts.csv", "as_of": "2024-12-31"})
    assert not result.is_error, result.content
    report = ChurnReport.model_validate(result.structured_content)
    cohorts = report.cohorts
    assert cohorts is not None and len(cohorts.months) == 36
    fig, plt, _ = charts.heatmap_figure(report)
    try:
        ax = fig.axes[0]
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        assert ticks == [f"{m}  n={n:,}" for m, n in zip(cohorts.months, cohorts.sizes, strict=True)]
        shown = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
        expected = {
            (row, age): f"{value * 100:.0f}"
            for row, values in enumerate(cohorts.retention)
            for age, value in enumerate(values[:24])
            if value is not None
        }
        assert shown == expected and len(expected) > 300
    finally:
        plt.close(fig)
    heatmap = base64.b64decode(result.content[2].data)
    assert heatmap.startswith(b"\x89PNG") and b"Cohort retention (cells: % still active)" in heatmap


def test_charts_asked_for_with_nothing_to_chart_say_so(tmp_path):
    rows = [
        [f"c{i % 50}", (date(2024, 1, 1) + timedelta(days=7 * i % 300)).isoformat(), 10 + i % 7] for i in range(400)
    ]
    write_rows(tmp_path / "orders.csv", ["customer_id", "order_date", "amount"], rows)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(
            ["analyze", "orders.csv", "--json", "--data-dir", str(tmp_path), "--charts", str(tmp_path / "c")]
        )
    assert code == 0
    report = json.loads(out.getvalue())
    assert report["mode"] == "transactions" and report["charts"] == []
    assert any(n.startswith("No chart was drawn: the survival and cohort charts need subscription data") and " / " in n for n in report["notes"])  # fmt: skip


def test_past_the_heatmaps_window_the_title_states_it():
    from retention_mcp.analytics import charts
    from retention_mcp.analytics.report import ChurnReport, Cohorts

    months = [f"{2000 + i // 12}-{1 + i % 12:02d}" for i in range(130)]
    cohorts = Cohorts(months=months, sizes=[5] * 130, retention=[[1.0, 0.8]] * 130)
    report = ChurnReport.model_construct(cohorts=cohorts, columns={}, period="month")
    fig, plt, title = charts.heatmap_figure(report)
    try:
        assert title.endswith(", the latest 120 of 130 cohorts")
        assert fig.axes[0].get_yticklabels()[0].get_text() == f"{months[10]}  n=5"
    finally:
        plt.close(fig)
