"""Zoster vaccination: efficacy curves from the library and each patient's vaccination schedule.

Vaccine efficacy acts on the herpes zoster hazard as (1 − VE(t)), a step function of the
time since the last dose (steps of ``step_years``, each valued at its midpoint), with the
number of doses received, age at first dose and immune status at first dose:

    VE_i(t) = scale_i × table[group_i, d, step(t − t_last dose)]       d = doses received by t

``group_i`` is the patient's age group at the first dose. Recombinant vaccine: the pooled
ZOE-50/70 waning curve rescaled per age group on the residual-risk scale,
1 − g·(1 − curve(t)), with g anchored to the trial VE of that age group, times the one-dose
factor before dose 2. Live vaccine: the age group's initial VE times the waning curve.
``scale_i`` = the immunosuppression factor at the first dose (× the strategy's
``efficacy_multiplier``). A strategy's schedule is direct
(dose 1 at ``first_dose_weeks`` for every eligible patient who accepts) or, with a
capacity-limited clinic, comes from the SimPy care pathway (``pathway.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from jaksim.kernel.keys import stream_key
from jaksim.library.loader import load_vaccines
from jaksim.library.resolve import resolve
from jaksim.scenario.schema import BINARY_COVARIATES, Vaccination

WEEKS_PER_YEAR = 365.25 / 7.0


def vaccine_library() -> dict:
    """The vaccine part of the parameter library (``vaccines.yaml``, validated; read-only)."""
    return load_vaccines()


@dataclass(frozen=True)
class VaccineArrays:
    """What the kernel needs of one arm's vaccine: VE steps by doses received."""

    ve_table: np.ndarray   # (G, 3, S): VE before scaling by age group, doses received 0/1/2, step
    step_years: float
    provenance: dict


@dataclass(frozen=True)
class Schedule:
    """Per-patient vaccination and treatment-start times (years from planned start)."""

    dose1: np.ndarray        # +inf when not vaccinated
    dose2: np.ndarray        # +inf when no second dose
    scale: np.ndarray        # VE multiplier of the patient (0 when not vaccinated)
    treatment_start: np.ndarray
    group: np.ndarray | None = None   # int8 age group at first dose (row of the VE table)
    hazard_ratio: np.ndarray | None = None   # (n, K) per patient and type from screening (None: all 1)
    screening: Any = None                 # the arm's latent TB screening outcome (``latent_tb``), or None
    vzv: Any = None                       # the arm's VZV serostatus outcome (``vzv_serostatus``), or None
    #: disease activity (``model.disease_activity``): controlled over [from, until) per patient
    #: (+inf: never), and the arm's (2, K) hazard multipliers uncontrolled / controlled; None: not modelled
    controlled_from: np.ndarray | None = None
    controlled_until: np.ndarray | None = None
    activity_hazard_ratio: np.ndarray | None = None

    def groups(self) -> np.ndarray:
        return self.group if self.group is not None else np.zeros(self.dose1.shape[0], np.int8)


def _curve(spec: dict, t: np.ndarray) -> np.ndarray:
    return np.interp(t, spec["knots_years"], spec["efficacy"])


def residual_risk_ratio(curve: dict, efficacy: float, follow_up_years: float) -> float:
    """g such that the mean of g·(1 − curve(t)) over [0, T] equals 1 − efficacy."""
    t = (np.arange(4000) + 0.5) * follow_up_years / 4000
    return (1.0 - efficacy) / float(np.mean(1.0 - _curve(curve, t)))


def vaccine_arrays(v: Vaccination | None, horizon_years: float, vaccines: dict | None = None) -> VaccineArrays:
    """VE table of an arm's vaccine by age group over every step it can reach in the horizon.

    ``vaccines``: the vaccine library's data (a PSA draw's values); default the package's.
    """
    if v is None:
        return VaccineArrays(np.zeros((1, 3, 1)), 1.0, {})
    lib = (vaccines or vaccine_library())["vaccines"][v.vaccine]
    step = float(lib["step_years"])
    span = horizon_years + max(0.0, -v.first_dose_weeks / WEEKS_PER_YEAR) + 2.0
    n = int(np.ceil(span / step)) + 1
    mid = (np.arange(n) + 0.5) * step
    groups = _groups(v.vaccine, vaccines)
    table = np.zeros((len(groups), 3, n))
    prov: dict[str, Any] = {"vaccine": v.vaccine, "step_years": step, "age_groups": groups}
    if v.vaccine == "recombinant":
        curve = lib["two_dose_curve"]
        one = float(lib["one_dose_factor"]["value"])
        for gi, grp in enumerate(groups):
            g = residual_risk_ratio(curve, float(grp["anchor_efficacy"]), float(grp["anchor_follow_up_years"]))
            ve = np.clip(1.0 - g * (1.0 - _curve(curve, mid)), 0.0, 1.0)
            table[gi, 1], table[gi, 2] = one * ve, ve
            prov["age_groups"][gi] = dict(grp, residual_risk_ratio=g)
        prov["two_dose_curve"] = {k: curve[k] for k in ("citation", "doi", "status", "note")}
        prov["one_dose_factor"] = lib["one_dose_factor"]
    else:
        curve = lib["one_dose_curve"]
        for gi, grp in enumerate(groups):
            table[gi, 1] = table[gi, 2] = float(grp["initial_efficacy"]) * _curve(curve, mid)
        prov["waning"] = {k: curve[k] for k in ("citation", "doi", "status", "note")}
    if "immunosuppression_factor" in lib:
        prov["immunosuppression_factor"] = lib["immunosuppression_factor"]
    return VaccineArrays(table, step, prov)


def _groups(vaccine: str, vaccines: dict | None = None) -> list[dict]:
    """Age groups of a vaccine, youngest first (from ``vaccines`` or the package's library)."""
    return sorted((vaccines or vaccine_library())["vaccines"][vaccine]["age_groups"],
                  key=lambda r: r["from_age_years"])


def age_group(vaccine: str, age: np.ndarray) -> np.ndarray:
    """Row of the VE table for each age at first dose."""
    starts = np.array([g["from_age_years"] for g in _groups(vaccine)], dtype=np.float64)
    return (np.searchsorted(starts, age, side="right") - 1).clip(0).astype(np.int8)


def eligible(v: Vaccination, age: np.ndarray, gc_band: np.ndarray, covariates: np.ndarray) -> np.ndarray:
    """Boolean mask of patients the strategy offers vaccination to."""
    ok = np.ones(age.shape, dtype=bool)
    if v.eligible.min_age_years is not None:
        ok &= age >= v.eligible.min_age_years
    if v.eligible.glucocorticoid_users:
        ok &= gc_band > 0
    if v.eligible.prior_zoster:
        ok &= covariates[:, BINARY_COVARIATES.index("prior_zoster")] != 0
    return ok


def accepts(v: Vaccination, seed: int, ids: np.ndarray) -> np.ndarray:
    """Uptake draw per patient (keyed by patient: the same patients accept in every arm)."""
    from jaksim.kernel.rng import uniforms  # numba: imported when patients are drawn
    return uniforms(stream_key(seed, "vaccination/uptake"), ids, 0) < v.uptake


def completes(v: Vaccination, seed: int, ids: np.ndarray) -> np.ndarray:
    """Second-dose completion draw per patient."""
    from jaksim.kernel.rng import uniforms  # numba: imported when patients are drawn
    return uniforms(stream_key(seed, "vaccination/second_dose"), ids, 0) < v.second_dose_completion


def second_dose_interval_years(v: Vaccination) -> float:
    """Years from dose 1 to dose 2: the strategy's interval, else the vaccine's default (inf: one dose)."""
    lib = vaccine_library()["vaccines"][v.vaccine]
    if lib["doses"] < 2:
        return np.inf
    weeks, _ = resolve(v.second_dose_interval_weeks, None, assumed=lib["second_dose_interval_weeks"]["default"],
                       why="the vaccine's default interval (vaccines.yaml)")
    return weeks / WEEKS_PER_YEAR


def scale(v: Vaccination, dose1: np.ndarray, start: np.ndarray, gc_band: np.ndarray,
          on_jak_inhibitor: bool) -> np.ndarray:
    """VE multiplier of each patient: immunosuppression at the first dose (on a JAK inhibitor
    when dose 1 is given at or after its start; on a steroid band above 5 mg/day, which holds the
    library's >= 7.5 mg/day factor by the two-band mapping) × efficacy_multiplier."""
    lib = vaccine_library()["vaccines"][v.vaccine]
    out = np.ones(dose1.shape[0])
    imm = lib.get("immunosuppression_factor")
    if imm:
        on_drug = np.isfinite(dose1) & (dose1 >= start) & on_jak_inhibitor
        out = np.where(on_drug, out * float(imm["on_jak_inhibitor"]["value"]), out)
        out = np.where(gc_band >= 2, out * float(imm["glucocorticoid_7_5mg_or_more"]["value"]), out)
    return np.where(np.isfinite(dose1), out * v.efficacy_multiplier, 0.0)


def direct_schedule(v: Vaccination | None, seed: int, ids: np.ndarray, age: np.ndarray,
                    gc_band: np.ndarray, covariates: np.ndarray, on_jak_inhibitor: bool) -> Schedule:
    """Schedule without capacity limits: every accepting eligible patient at first_dose_weeks."""
    n = ids.shape[0]
    inf = np.full(n, np.inf)
    if v is None:
        return Schedule(inf, inf.copy(), np.zeros(n), np.zeros(n))
    take = eligible(v, age, gc_band, covariates) & accepts(v, seed, ids)
    d1 = np.where(take, v.first_dose_weeks / WEEKS_PER_YEAR, np.inf)
    return finish_schedule(v, seed, ids, age, gc_band, on_jak_inhibitor, d1)


def finish_schedule(v: Vaccination, seed: int, ids: np.ndarray, age: np.ndarray, gc_band: np.ndarray,
                    on_jak_inhibitor: bool, d1: np.ndarray, d2: np.ndarray | None = None) -> Schedule:
    """Second doses, treatment start and VE scale from first-dose times."""
    if d2 is None:
        gap = second_dose_interval_years(v)
        d2 = np.where(np.isfinite(d1) & completes(v, seed, ids), d1 + gap, np.inf)
    start = np.zeros(ids.shape[0])
    if v.treatment_waits_for_first_dose:
        start = np.where(np.isfinite(d1), np.maximum(0.0, d1 + v.wait_weeks_after_first_dose / WEEKS_PER_YEAR), 0.0)
    at_dose = age + np.where(np.isfinite(d1), np.maximum(d1, 0.0), 0.0)
    return Schedule(d1, d2, scale(v, d1, start, gc_band, on_jak_inhibitor), start, age_group(v.vaccine, at_dose))
