"""PNG charts: survival curves by segment, and the cohort retention heatmap (matplotlib, Agg, imported here only)."""

from __future__ import annotations

import io

import numpy as np

from retention_mcp.analytics.report import ChurnReport, Survival


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def survival_chart(curves: dict, title: str, survival: Survival | None = None) -> bytes:
    """Kaplan-Meier step curves S(t), one per group (KaplanMeier objects), each with its 95% band, and the numbers
    still at risk under the chart; time in the survival's unit."""
    plt = _figure()
    unit = survival.unit if survival else "months"
    fig, (ax, table_ax) = plt.subplots(
        2,
        1,
        figsize=(7, 4.2 + 0.22 * len(curves)),
        dpi=110,
        gridspec_kw={"height_ratios": [5, 0.4 + 0.3 * len(curves)]},
    )
    horizon = max(float(km.times[-1]) for km in curves.values() if km.times.size)
    ticks = np.linspace(0, horizon, 6)
    rows = []
    for label, km in curves.items():
        x = np.concatenate(([0.0], km.times))
        (line,) = ax.step(x, np.concatenate(([1.0], km.survival)), where="post", label=label)
        ax.fill_between(
            x, np.concatenate(([1.0], km.lower)), np.concatenate(([1.0], km.upper)), step="post", alpha=0.15,
            color=line.get_color(), linewidth=0,
        )  # fmt: skip
        rows.append([str(_at_risk(km, t)) for t in ticks])
    ax.set_xlabel(f"{unit} since start")
    ax.set_ylabel("share still active")
    ax.set_xlim(0, horizon)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    table_ax.axis("off")
    table_ax.set_title("number at risk", fontsize=8, loc="left")
    table = table_ax.table(
        cellText=rows, rowLabels=[label[:28] for label in curves], colLabels=[f"{t:g}" for t in np.round(ticks, 1)],
        loc="center", cellLoc="center", edges="open",
    )  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    return _png(fig, plt)


def _at_risk(km, t: float) -> int:
    """Customers still at risk just before time t."""
    later = np.nonzero(km.times >= t)[0]
    if later.size:
        return int(km.at_risk[later[0]])
    return 0 if km.times.size and t > km.times[-1] else km.n


def cohort_heatmap(report: ChurnReport, max_cohorts: int = 24, max_age: int = 24) -> bytes | None:
    if report.cohorts is None:
        return None
    cohorts = report.cohorts
    rows = list(range(len(cohorts.months)))[-max_cohorts:]
    grid = np.full((len(rows), max_age), np.nan)
    for r, index in enumerate(rows):
        values = cohorts.retention[index][:max_age]
        grid[r, : len(values)] = [np.nan if v is None else v for v in values]
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 0.25 * len(rows) + 1.6), dpi=110)
    image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_yticks(range(len(rows)), [cohorts.months[i] for i in rows], fontsize=7)
    ax.set_xlabel("months since signup")
    ax.set_title("Cohort retention")
    fig.colorbar(image, ax=ax, label="share still active")
    return _png(fig, plt)


def _png(fig, plt) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
