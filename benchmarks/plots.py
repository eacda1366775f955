"""PNG scaling curves from a suite result (``results/suite.json``).

    python benchmarks/plots.py [results/suite.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _plot(path: Path, xlabel: str, series: dict[str, tuple[list, list]], logx: bool, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, (x, y) in series.items():
        ax.plot(x, y, "o-", label=label)
    ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("patient-years per second")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_all(res: dict, out: Path) -> list[Path]:
    c = res["curves"]
    by_impl: dict[str, tuple[list, list]] = {}
    for r in c["n"]:
        x, y = by_impl.setdefault(r["impl"], ([], []))
        x.append(r["n"])
        y.append(r["patient_years_per_second"])
    n = c["horizon_years"][0]["n"]
    paths = [_plot(out / "scaling_n.png", "patients (N)", by_impl, True, "M0, 5 years; jaksim 2 threads")]
    for key, xlabel, name, logx in (("horizon_years", "horizon (years), age advancing", "horizon", False),
                                    ("n_types", "infection types", "types", True),
                                    ("threads", "numba threads", "threads", False)):
        rows = c[key]
        series = {"jaksim": ([r[key] for r in rows], [r["patient_years_per_second"] for r in rows])}
        paths.append(_plot(out / f"scaling_{name}.png", xlabel, series, logx, f"jaksim, M0 variant, N = {n:.0e}"))
    return paths


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results" / "suite.json"
    for p in write_all(json.loads(src.read_text()), src.parent):
        print("wrote", p)
