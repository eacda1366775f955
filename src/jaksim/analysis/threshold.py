"""Threshold analysis: the value of one input at which an arm's net benefit equals the reference's.

Net monetary benefit per patient NMB = λ·QALYs − costs. For an input at key path ``key`` (as
``--set`` takes it) the function Δ(x) = NMB_arm(x) − NMB_reference(x) is evaluated by complete runs
with ``key = x`` under common random numbers (same seed: the same patients and event clocks for
every x), and its root in [low, high] is found by Brent's method (``scipy.optimize.brentq``). At
that value the arm's ICER against the reference equals λ. One-way and two-way grids of the same
runs come from ``jaksim sweep``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from jaksim.errors import JaksimError


@dataclass
class Threshold:
    """The threshold value and the evaluations that found it."""

    key: str
    arm: str
    reference: str
    willingness_to_pay: float
    value: float | None
    evaluations: list[tuple[float, float]] = field(default_factory=list)   # (x, Δ NMB per patient)


def incremental_nmb(scenario_file: Path, key: str, x: float, arm: str, wtp: float, *,
                    n_patients: int | None = None, seed: int | None = None) -> tuple[float, str]:
    """Δ NMB per patient (arm minus the scenario's first arm) with ``key = x``; and the reference's name."""
    import tempfile

    from jaksim.model.spec import build_model
    from jaksim.run.engine import run_to_folder
    from jaksim.scenario.load import load_scenario
    sc = load_scenario(scenario_file, [f"{key}={json.dumps(x)}"]).with_overrides(n_patients=n_patients, seed=seed)
    names = [a.name for a in sc.arms]
    if arm not in names[1:]:
        raise JaksimError(f"--arm '{arm}' is not a compared arm of the scenario; allowed: {', '.join(names[1:])}")
    if sc.arms[0].economics is None:
        raise JaksimError("threshold analysis needs an economics section in the scenario")
    with tempfile.TemporaryDirectory(prefix="jaksim-threshold-") as tmp:
        res = run_to_folder(build_model(sc), Path(tmp) / "run")
    econ = {a: t.to_pylist()[0] for a, t in (res.economics or {}).items()}
    ref = names[0]
    nmb = {a: wtp * e["mean_qalys"] - e["mean_costs"] for a, e in econ.items()}
    return nmb[arm] - nmb[ref], ref


def threshold(scenario_file: Path, key: str, arm: str, wtp: float, low: float, high: float, *,
              n_patients: int | None = None, seed: int | None = None, xtol: float = 1e-6) -> Threshold:
    """The value of ``key`` in [low, high] at which ``arm``'s ICER against the reference equals ``wtp``."""
    from scipy import optimize
    evals: list[tuple[float, float]] = []
    ref = ""

    def f(x: float) -> float:
        nonlocal ref
        d, ref = incremental_nmb(scenario_file, key, x, arm, wtp, n_patients=n_patients, seed=seed)
        evals.append((x, d))
        return d

    f_low, f_high = f(low), f(high)
    if f_low == 0.0 or f_high == 0.0:
        return Threshold(key, arm, ref, wtp, low if f_low == 0.0 else high, evals)
    if (f_low > 0) == (f_high > 0):
        return Threshold(key, arm, ref, wtp, None, evals)
    x = optimize.brentq(f, low, high, xtol=xtol * max(1.0, abs(high - low)), rtol=1e-10)
    return Threshold(key, arm, ref, wtp, float(x), evals)
