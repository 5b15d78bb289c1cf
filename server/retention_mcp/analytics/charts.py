"""PNG charts: survival curves by segment, and the cohort retention heatmap (matplotlib, Agg, imported here only)."""

from __future__ import annotations

import io

import numpy as np

from retention_mcp.analytics.report import ChurnReport


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def survival_chart(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str) -> bytes:
    """Step curves S(t), one per group, with months on the x axis."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for label, (times, survival) in curves.items():
        ax.step(np.concatenate(([0.0], times)), np.concatenate(([1.0], survival)), where="post", label=label)
    ax.set_xlabel("months since start")
    ax.set_ylabel("share still active")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig, plt)


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
