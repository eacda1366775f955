"""Decision figures (matplotlib, Agg backend): CE plane, CEAC with frontier, EVPI, tornado.

Each function takes plain arrays, writes one PNG and returns its path; nothing here reads
files or runs the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _money(currency: str) -> str:
    return {"GBP": "£", "USD": "$"}.get(currency, currency + " ")


def ce_plane(path: Path, arms: list[str], d_qalys: np.ndarray, d_costs: np.ndarray, wtp: tuple[float, ...],
             currency: str, reference: str) -> Path:
    """Incremental QALYs and costs of each arm versus the reference, one point per PSA draw.

    ``d_qalys``/``d_costs``: (draws, arms) increments (the reference arm's column is skipped).
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 6), dpi=110)
    colours = plt.get_cmap("tab10")
    for a, name in enumerate(arms):
        if name == reference:
            continue
        ax.scatter(d_qalys[:, a], d_costs[:, a], s=6, alpha=0.35, color=colours(a % 10), label=name)
        ax.scatter(d_qalys[:, a].mean(), d_costs[:, a].mean(), s=80, marker="X", color=colours(a % 10),
                   edgecolor="black", linewidth=0.8)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    x_hi = max(float(np.nanmax(np.abs(d_qalys))) if d_qalys.size else 1.0, 1e-9) * 1.1
    xs = np.array([-x_hi, x_hi])
    for w, style in zip(wtp, ("--", ":", "-."), strict=False):
        ax.plot(xs, w * xs, style, color="black", lw=0.9, label=f"{_money(currency)}{w:,.0f} per QALY")
    ax.set_xlim(-x_hi if np.nanmin(d_qalys) < 0 else -0.05 * x_hi, x_hi)
    c = d_costs[np.isfinite(d_costs)]
    if c.size:
        pad = 0.1 * (c.max() - c.min() + 1e-9)
        ax.set_ylim(min(c.min(), 0) - pad, max(c.max(), 0) + pad)
    ax.set_xlabel(f"Incremental QALYs per patient versus {reference}")
    ax.set_ylabel(f"Incremental costs per patient ({currency})")
    ax.set_title("Cost-effectiveness plane (PSA draws; X = mean)")
    ax.legend(fontsize=8, loc="best", markerscale=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def ceac(path: Path, arms: list[str], wtp_grid: np.ndarray, probability: np.ndarray, frontier: np.ndarray,
         currency: str) -> Path:
    """Probability each arm is optimal (highest NMB) by willingness to pay; the frontier (CEAF)
    marks the arm with the highest expected NMB."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    colours = plt.get_cmap("tab10")
    for a, name in enumerate(arms):
        ax.plot(wtp_grid, probability[:, a], color=colours(a % 10), lw=1.5, label=name)
    front = probability[np.arange(len(wtp_grid)), frontier]
    ax.plot(wtp_grid, front, "o", color="black", ms=3, label="frontier (highest expected NMB)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"Willingness to pay per QALY ({currency})")
    ax.set_ylabel("Probability cost-effective")
    ax.set_title("Cost-effectiveness acceptability curves and frontier")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def evpi(path: Path, wtp_grid: np.ndarray, values: np.ndarray, currency: str) -> Path:
    """Expected value of perfect information per patient by willingness to pay."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    ax.plot(wtp_grid, values, color="tab:purple", lw=1.8)
    ax.set_xlabel(f"Willingness to pay per QALY ({currency})")
    ax.set_ylabel(f"EVPI per patient ({currency})")
    ax.set_title("Expected value of perfect information")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def tornado(path: Path, names: list[str], low: np.ndarray, high: np.ndarray, base: float, title: str,
            xlabel: str, top: int = 15) -> Path:
    """One-way sensitivity: the outcome at each parameter's low and high value around the base case."""
    plt = _plt()
    span = np.abs(high - low)
    order = np.argsort(span)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(order) + 1.8), dpi=110)
    y = np.arange(len(order))
    ax.barh(y, low[order] - base, left=base, color="tab:blue", label="parameter at 2.5% quantile")
    ax.barh(y, high[order] - base, left=base, color="tab:orange", alpha=0.8, label="parameter at 97.5% quantile")
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(y)
    ax.set_yticklabels([names[i] for i in order], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
