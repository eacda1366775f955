"""Report figures (matplotlib, Agg backend): cumulative incidence and Kaplan–Meier curves by
arm, CE plane, CEAC with frontier, EVPI and tornado.

Each function takes plain arrays and returns a matplotlib figure; :func:`save` writes it as a
300-dpi PNG and an SVG and returns a :class:`Figure` (file names, caption, the SVG for the HTML
page). Nothing here reads results or runs the model.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jaksim.report.survival import Curve


@dataclass(frozen=True)
class Figure:
    """A saved figure: its stem under the figures folder, caption and embeddable SVG data URI."""
    stem: str
    title: str
    caption: str
    png: Path
    svg: Path
    data_uri: str


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"svg.hashsalt": "jaksim", "font.size": 10, "axes.titlesize": 11,
                         "axes.labelsize": 10, "legend.fontsize": 8})
    return plt


def save(fig, folder: Path, stem: str, title: str, caption: str) -> Figure:
    """Write ``fig`` as ``folder/stem.png`` (300 dpi) and ``.svg``; close it."""
    plt = _plt()
    folder.mkdir(parents=True, exist_ok=True)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    fig.savefig(png, dpi=300, metadata={"Software": None})
    fig.savefig(svg, metadata={"Date": None, "Creator": None})
    plt.close(fig)
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.read_bytes()).decode("ascii")
    return Figure(stem, title, caption, png, svg, uri)


def money(currency: str) -> str:
    return {"GBP": "£", "USD": "$", "EUR": "€"}.get(currency, currency + " ")


def _grid(n: int):
    cols = 1 if n == 1 else 2
    return cols, (n + cols - 1) // cols


def curves(per_type: dict[str, dict[str, Curve]], horizon: float, ylabel: str, percent: bool = True):
    """One panel per infection type, one line per arm with its shaded pointwise 95% CI."""
    plt = _plt()
    cols, rows = _grid(len(per_type))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    colours = plt.get_cmap("tab10")
    grid = np.linspace(0.0, horizon, 241)
    scale = 100.0 if percent else 1.0
    for k, (name, by_arm) in enumerate(per_type.items()):
        ax = axes[k // cols][k % cols]
        for a, (arm, c) in enumerate(by_arm.items()):
            est, lo, hi = c.at(grid)
            ax.step(grid, scale * est, where="post", color=colours(a % 10), lw=1.3, label=arm)
            ax.fill_between(grid, scale * lo, scale * hi, step="post", color=colours(a % 10), alpha=0.18, lw=0)
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("Years since treatment start")
        ax.set_ylabel(ylabel)
        ax.set_xlim(0, horizon)
        ax.grid(alpha=0.3)
    for k in range(len(per_type), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), frameon=False)
    fig.tight_layout(rect=(0, 0.04 + 0.025 * ((len(labels) - 1) // 3), 1, 1))
    return fig


def ce_plane(arms: list[str], d_qalys: np.ndarray, d_costs: np.ndarray, wtp, currency: str, reference: str,
             psa: bool, ci_q: np.ndarray | None = None, ci_c: np.ndarray | None = None):
    """Incremental QALYs and costs of each arm versus the reference.

    PSA: one point per draw (parameter uncertainty), X = mean over draws. Deterministic run: one
    point per arm with paired 95% CIs (Monte Carlo uncertainty) as error bars (``ci_q``/``ci_c``:
    (2, arms) lower and upper).
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 6))
    colours = plt.get_cmap("tab10")
    for a, name in enumerate(arms):
        if name == reference:
            continue
        col = colours(a % 10)
        if psa:
            ax.scatter(d_qalys[:, a], d_costs[:, a], s=7, alpha=0.35, color=col, label=name)
            ax.scatter(d_qalys[:, a].mean(), d_costs[:, a].mean(), s=90, marker="X", color=col,
                       edgecolor="black", linewidth=0.8)
        else:
            x, y = d_qalys[0, a], d_costs[0, a]
            xerr = None if ci_q is None else np.abs(np.array([[ci_q[0, a]], [ci_q[1, a]]]) - x)
            yerr = None if ci_c is None else np.abs(np.array([[ci_c[0, a]], [ci_c[1, a]]]) - y)
            ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", ms=7, color=col, capsize=3, label=name)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    finite = d_qalys[np.isfinite(d_qalys)]
    x_hi = max(float(np.abs(finite).max()) if finite.size else 1.0, 1e-9) * 1.15
    if ci_q is not None and np.isfinite(ci_q).any():
        x_hi = max(x_hi, float(np.nanmax(np.abs(ci_q))) * 1.05)
    xs = np.array([-x_hi, x_hi])
    for w, style in zip(wtp, ("--", ":", "-."), strict=False):
        ax.plot(xs, w * xs, style, color="black", lw=0.9, label=f"{money(currency)}{w:,.0f} per QALY")
    ax.set_xlim(-x_hi, x_hi)
    ax.set_xlabel(f"Incremental QALYs per patient versus {reference} (discounted)")
    ax.set_ylabel(f"Incremental costs per patient ({currency}, discounted)")
    ax.set_title("Cost-effectiveness plane: " + ("PSA draws (parameter uncertainty), X = mean" if psa else
                                                  "deterministic run (point estimates, paired 95% Monte Carlo CI)"))
    ax.legend(loc="best", markerscale=1.5)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def ceac(arms: list[str], wtp_grid: np.ndarray, probability: np.ndarray, frontier: np.ndarray, currency: str):
    """Probability each arm is optimal (highest NMB) by willingness to pay; the frontier (CEAF)
    marks the arm with the highest expected NMB."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    colours = plt.get_cmap("tab10")
    for a, name in enumerate(arms):
        ax.plot(wtp_grid, probability[:, a], color=colours(a % 10), lw=1.5, label=name)
    front = probability[np.arange(len(wtp_grid)), frontier]
    ax.plot(wtp_grid, front, "o", color="black", ms=3, label="CEAF: arm with the highest expected NMB")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"Willingness to pay per QALY ({currency})")
    ax.set_ylabel("Probability cost-effective")
    ax.set_title("Cost-effectiveness acceptability curves (CEAC) and frontier (CEAF)")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def evpi(wtp_grid: np.ndarray, values: np.ndarray, currency: str):
    """Expected value of perfect information per patient by willingness to pay."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(wtp_grid, values, color="tab:purple", lw=1.8)
    ax.set_xlabel(f"Willingness to pay per QALY ({currency})")
    ax.set_ylabel(f"EVPI per patient ({currency})")
    ax.set_title("Expected value of perfect information (per patient)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def tornado(names: list[str], low: np.ndarray, high: np.ndarray, base: float, title: str, xlabel: str,
            top: int = 15):
    """One-way sensitivity: the outcome at each parameter's low and high value around the base case."""
    plt = _plt()
    span = np.abs(high - low)
    order = np.argsort(span)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(9.5, 0.42 * len(order) + 1.9))
    y = np.arange(len(order))
    ax.barh(y, low[order] - base, left=base, color="tab:blue", label="parameter at its 2.5% quantile")
    ax.barh(y, high[order] - base, left=base, color="tab:orange", alpha=0.8, label="parameter at its 97.5% quantile")
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(y)
    ax.set_yticklabels([names[i] for i in order], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def tornado_diagram(t, label, currency: str, title: str, top: int = 15):
    """A ``analysis.tornado.Tornado`` drawn: its defined bars (``label``: readable parameter name)."""
    from jaksim.analysis.tornado import axis_label
    shown = t.defined_bars
    return tornado([label(b.parameter) for b in shown], np.array([b.outcome_low for b in shown]),
                   np.array([b.outcome_high for b in shown]), t.base, title, axis_label(t, currency), top)
