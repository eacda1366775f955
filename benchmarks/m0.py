"""The reference model M0: its scenario file, variants of it, and its analytic expectation.

M0 is the project's reference benchmark model; its definition is written out at the top of
``m0.yaml`` (the jaksim scenario of it).
Its parameters are repeated here as plain numbers (``PARAMS``) for the peers, which do not
read jaksim scenarios; ``check_peers.py`` checks that both agree with ``m0_expected.json``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import yaml
from scipy import integrate, special

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "m0.yaml"
EXPECTED = HERE / "m0_expected.json"
TYPES = ("serious_infection", "herpes_zoster", "tuberculosis")

#: M0 as plain numbers: rates per patient-year and hazard ratios.
PARAMS = {
    "horizon": 5.0,
    "age": {"mean": 55.0, "sd": 13.0, "min": 18.0, "max": 90.0},
    "p_female": 0.8,
    "p_steroid": 0.4, "p_steroid_from_65": 0.5,
    "p_vaccinated": 0.3,
    "hr_age_per_10": 1.4, "ref_age": 50.0,
    "rate": {"serious_infection": 0.025, "herpes_zoster": 0.035, "tuberculosis": 0.002},
    "hr_steroid": {"serious_infection": 1.8, "herpes_zoster": 1.5, "tuberculosis": 1.0},
    "hr_vaccinated": {"serious_infection": 1.0, "herpes_zoster": 0.15, "tuberculosis": 1.0},
    "death_rate": 0.01,
}


def expected() -> dict:
    """The stored analytic expectation (``m0_expected.json``)."""
    return json.loads(EXPECTED.read_text())


def _age_moments(p: dict) -> tuple[float, float]:
    """E[HRage] and E[HRage * P(steroid | age)] over the truncated normal age, by quadrature."""
    a = p["age"]
    z = special.ndtr((a["max"] - a["mean"]) / a["sd"]) - special.ndtr((a["min"] - a["mean"]) / a["sd"])

    def pdf(x):
        return np.exp(-0.5 * ((x - a["mean"]) / a["sd"]) ** 2) / (a["sd"] * np.sqrt(2 * np.pi) * z)

    def hr(x):
        return p["hr_age_per_10"] ** ((x - p["ref_age"]) / 10.0)

    cut = 65.0  # P(steroid) jumps here; integrate each side separately
    e_hr = (integrate.quad(lambda x: hr(x) * pdf(x), a["min"], cut, epsabs=1e-13)[0]
            + integrate.quad(lambda x: hr(x) * pdf(x), cut, a["max"], epsabs=1e-13)[0])
    e_hr_s = (integrate.quad(lambda x: hr(x) * p["p_steroid"] * pdf(x), a["min"], cut, epsabs=1e-13)[0]
              + integrate.quad(lambda x: hr(x) * p["p_steroid_from_65"] * pdf(x), cut, a["max"], epsabs=1e-13)[0])
    return e_hr, e_hr_s


def compute_expectation(p: dict = PARAMS) -> dict:
    """IR per 100 PY by type (and death) and mean follow-up, computed numerically.

    IR_k = 100 * E[lambda_k(x)] because follow-up (death only) is independent of covariates;
    E[lambda_k] = rate_k * (E[HR] + (HRs_k - 1) E[HR * P(s|age)]) * (1 - pv + pv * HRv_k).
    """
    e_hr, e_hr_s = _age_moments(p)
    pv = p["p_vaccinated"]
    ir = {}
    for k in TYPES:
        steroid = e_hr + (p["hr_steroid"][k] - 1.0) * e_hr_s
        vacc = 1.0 - pv + pv * p["hr_vaccinated"][k]
        ir[k] = 100.0 * p["rate"][k] * steroid * vacc
    ir["death"] = 100.0 * p["death_rate"]
    mu, h = p["death_rate"], p["horizon"]
    return {"ir_per_100py": ir, "mean_follow_up_years": (1.0 - np.exp(-mu * h)) / mu,
            "e_hr_age": e_hr, "e_hr_age_times_p_steroid": e_hr_s}


# ---------------------------------------------------------------------- scenario variants
def scenario_data() -> dict:
    return yaml.safe_load(SCENARIO.read_text())


def variant(n: int, seed: int, *, horizon: float | None = None, n_types: int | None = None,
            age_advances: bool | None = None, frailty: float | None = None) -> str:
    """YAML text of M0 with n, seed and optionally horizon, age advancing, K infection types, or a
    gamma frailty of variance ``frailty`` on every type (issue 13; 0 or None: none, as M0).

    K types are made by copying M0's three types in turn under new names
    (``serious_infection_1`` …), the c-th copy with its rate multiplied by 1 + 0.1 c; each name
    has its own random stream. K < 3 keeps the first K types.
    """
    d = scenario_data()
    d["n_patients"], d["seed"] = int(n), int(seed)
    if horizon is not None:
        d["horizon_years"] = float(horizon)
    if age_advances is not None:
        d["cohort"]["age_advances"] = bool(age_advances)
    if n_types is not None:
        base = [(k, d["infections"][k]) for k in TYPES]
        infections = {}
        for j in range(n_types):
            name, inf = base[j % 3]
            c = j // 3
            inf = copy.deepcopy(inf)
            if c:
                name = f"{name}_{c}"
                inf["rate_per_100py"] = round(inf["rate_per_100py"] * (1 + 0.1 * c), 6)
            infections[name] = inf
        d["infections"] = infections
        d["mortality"]["case_fatality"] = {k: 0 for k in infections}
    if frailty:
        d["frailty"] = {k: {"variance": float(frailty)} for k in d["infections"]}
    return yaml.safe_dump(d, sort_keys=False)


if __name__ == "__main__":
    print(json.dumps(compute_expectation(), indent=2))
