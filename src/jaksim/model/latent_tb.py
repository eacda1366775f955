"""Latent tuberculosis at treatment start, screening and prophylaxis: each patient's TB hazard ratio.

Active TB on treatment is modelled as reactivation of latent infection present at the start
(share ρ of the type's rate, ``reactivation_share``) plus a part that reaches everyone (1 − ρ,
e.g. new infection, which screening does not prevent). A patient has latent infection with
probability p (the setting's prevalence); the reactivation part is concentrated on them, so
the TB hazard of patient i is the arm's TB hazard times

    HR_i = (1 − ρ) + ρ · L_i · (1 − C_i) / p

(L_i: latent infection, C_i: cured by prophylaxis), whose mean is 1 without screening: the
library's TB rate stays the population's. A screening strategy tests every patient before the
planned start; a positive test (sensitivity s among the latently infected, 1 − specificity
among the others) leads to prophylaxis, completed with probability c, curing a completer with
latent infection with probability e (all or nothing), so the expected reactivation cases fall
by the share s·c·e. A screen-positive patient starts treatment ``start_after_years`` after
the planned start (prophylaxis first).

Every draw is keyed by patient (streams ``screening/*``), so each patient has the same latent
status in every arm and test results are comonotone across strategies: a patient found by a
less sensitive strategy is found by a more sensitive one (common random numbers). IGRA then
TST (TST after a negative IGRA, positive when either is) has sensitivity 1 − (1 − s_I)(1 − s_T)
and specificity sp_I·sp_T (conditional independence of the two tests: an assumption).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from jaksim.codes import TUBERCULOSIS
from jaksim.errors import ScenarioError
from jaksim.kernel.keys import stream_key
from jaksim.library.entries import Sourced, sourced
from jaksim.library.resolve import resolve as resolve_value
from jaksim.model.vaccination import WEEKS_PER_YEAR, Schedule
from jaksim.scenario.screening import TbScreening

#: what each strategy tests with: (IGRA, TST) done first; "igra_then_tst" adds TST after a negative IGRA
TESTS = {"none": (), "igra": ("igra",), "tst": ("tst",), "igra_then_tst": ("igra", "tst")}


@dataclass(frozen=True)
class TbScreeningSpec:
    """One arm's screening strategy with every number resolved (probabilities; years)."""

    test: str
    regimen: str
    prevalence: float            # share with latent infection at the start
    reactivation_share: float    # ρ: share of the TB rate that is reactivation of latent infection
    sensitivity: float           # of the strategy (0 for "none")
    specificity: float           # of the strategy (1 for "none")
    igra_sensitivity: float      # of the IGRA alone (who needs the TST after it: cost)
    igra_specificity: float
    completion: float
    efficacy: float
    hepatotoxicity: float
    start_after_years: float
    result_years: float          # test to result (with a screening clinic)
    provenance: dict = field(default_factory=dict)
    clinic: Any = None           # ``scenario.clinic.Clinic`` of limited testing capacity, or None
    referral_weeks_before_start: float = 4.0


@dataclass(frozen=True)
class TbScreeningOutcome:
    """Per patient of a chunk under one arm's strategy."""

    latent: np.ndarray          # bool: latent infection at the start
    tested_igra: np.ndarray     # bool
    tested_tst: np.ndarray      # bool
    positive: np.ndarray        # bool: the strategy's result (prophylaxis offered and started)
    completed: np.ndarray       # bool: prophylaxis completed
    cured: np.ndarray           # bool: latent infection cleared
    hepatotoxicity: np.ndarray  # bool: grade 3-4 hepatotoxicity on prophylaxis
    hazard_ratio: np.ndarray    # (n,) float64: HR_i of the TB hazard
    start_delay_years: np.ndarray  # (n,) float64: 0, or start_after_years for a positive test



def _pair(first: float, second: float, sensitivity: bool) -> float:
    """Sensitivity (either positive) or specificity (both negative) of two conditionally independent tests."""
    return 1.0 - (1.0 - first) * (1.0 - second) if sensitivity else first * second


def resolve_screening(s: TbScreening, setting: str | None, parameters: dict,
                      error: Callable[[str], ScenarioError]) -> TbScreeningSpec:
    """An arm's ``tb_screening`` against the library (``latent_tuberculosis`` of ``parameters``).

    ``setting`` is the background TB incidence of the arm's tuberculosis type (low / medium /
    high, or None), which chooses the prevalence and whether the BCG-vaccinated specificity
    applies; ``error`` makes the error pointing at the arm's ``tb_screening``.
    """
    lib = parameters.get("latent_tuberculosis")
    prov: dict[str, Any] = {"test": s.test, "prophylaxis": s.prophylaxis}
    if lib is None:
        raise error("the library has no latent_tuberculosis section (parameters.yaml); use a library that has one")
    if setting is None and s.latent_prevalence is None:
        raise error("needs the setting's latent TB prevalence: give "
                    "infections.tuberculosis.background_incidence (low, medium or high) or "
                    "tb_screening.latent_prevalence")
    values: dict[str, float] = {}

    def take(name: str, given, entry: dict | None) -> None:
        values[name], prov[name] = resolve_value(given, sourced(entry, "value") if entry is not None else None,
                                                 assumed=np.nan, why="")

    take("prevalence", s.latent_prevalence, lib["prevalence"][setting] if setting else None)
    take("reactivation_share", s.reactivation_share, lib["reactivation_share"])
    bcg = bool(lib["bcg_vaccinated"][setting]) if setting else False
    prov["bcg_vaccinated"] = {"value": bcg, "setting": setting,
                              "status": "assumption", "note": "BCG-vaccinated specificity in medium- and "
                              "high-burden settings (library bcg_vaccinated)"}
    spec_key = "specificity_bcg_vaccinated" if bcg else "specificity_bcg_unvaccinated"
    acc = {t: (sourced(lib["tests"][t]["sensitivity"], "value"), sourced(lib["tests"][t][spec_key], "value"))
           for t in ("igra", "tst")}
    tests = TESTS[s.test]
    if tests:
        sens = [a[0] for t, a in acc.items() if t in tests]
        spec = [a[1] for t, a in acc.items() if t in tests]
        lib_sens = float(sens[0].value) if len(sens) == 1 else _pair(sens[0].value, sens[1].value, True)
        lib_spec = float(spec[0].value) if len(spec) == 1 else _pair(spec[0].value, spec[1].value, False)
        values["sensitivity"], prov["sensitivity"] = resolve_value(s.sensitivity, Sourced(
            lib_sens, sens[0].citation, sens[0].doi, sens[0].status if len(sens) == 1 else "computed",
            sens[0].note if len(sens) == 1 else "either test positive, tests assumed conditionally independent: "
            f"1 - (1 - {sens[0].value:g})(1 - {sens[1].value:g})"), assumed=np.nan, why="")
        values["specificity"], prov["specificity"] = resolve_value(s.specificity, Sourced(
            lib_spec, spec[0].citation, spec[0].doi, spec[0].status if len(spec) == 1 else "computed",
            spec[0].note if len(spec) == 1 else f"both tests negative: {spec[0].value:g} x {spec[1].value:g}"),
            assumed=np.nan, why="")
    else:
        values["sensitivity"], values["specificity"] = 0.0, 1.0
    regimen = lib["prophylaxis"][s.prophylaxis]
    prov["prophylaxis_weeks"] = regimen["weeks"]
    for name in ("completion", "efficacy", "hepatotoxicity"):
        take(name, getattr(s, name), regimen[name])
    take("start_after_prophylaxis_weeks", s.start_after_prophylaxis_weeks, lib["start_after_prophylaxis_weeks"])
    take("result_weeks", s.result_weeks, lib["result_weeks"])
    igra_sens = values["sensitivity"] if s.test == "igra" else float(acc["igra"][0].value)
    igra_spec = values["specificity"] if s.test == "igra" else float(acc["igra"][1].value)
    return TbScreeningSpec(s.test, s.prophylaxis, values["prevalence"], values["reactivation_share"],
                           values["sensitivity"], values["specificity"], igra_sens, igra_spec,
                           values["completion"], values["efficacy"], values["hepatotoxicity"],
                           values["start_after_prophylaxis_weeks"] / WEEKS_PER_YEAR,
                           values["result_weeks"] / WEEKS_PER_YEAR, prov, s.clinic, s.referral_weeks_before_start)


def screen(spec: TbScreeningSpec, seed: int, patient_id: np.ndarray,
           visit_years: np.ndarray | None = None) -> TbScreeningOutcome:
    """Latent status, test result, prophylaxis and TB hazard ratio of each patient (see the module).

    ``visit_years``: the test dates from a screening clinic (years from the planned start; +inf:
    not seen, so untested); None: tested in time, results before the planned start."""
    from jaksim.kernel.rng import uniforms  # numba: imported when patients are drawn
    u_latent = uniforms(stream_key(seed, "screening/latent_tb"), patient_id, 0)
    u_test = uniforms(stream_key(seed, "screening/test"), patient_id, 0)
    key = stream_key(seed, "screening/prophylaxis")
    u_complete, u_cure, u_liver = (uniforms(key, patient_id, c) for c in (0, 1, 2))
    latent = u_latent < spec.prevalence
    seen = np.ones(latent.shape, bool) if visit_years is None else np.isfinite(visit_years)
    p_positive = np.where(latent, spec.sensitivity, 1.0 - spec.specificity)
    positive = (u_test < p_positive) & seen if spec.test != "none" else np.zeros(latent.shape, bool)
    tests = TESTS[spec.test]
    tested_igra = np.full(latent.shape, "igra" in tests) & seen
    igra_positive = u_test < np.where(latent, spec.igra_sensitivity, 1.0 - spec.igra_specificity)
    tested_tst = (np.full(latent.shape, spec.test == "tst") | (spec.test == "igra_then_tst") & ~igra_positive) & seen
    completed = positive & (u_complete < spec.completion)
    cured = latent & completed & (u_cure < spec.efficacy)
    liver = positive & (u_liver < spec.hepatotoxicity)
    rho, p = spec.reactivation_share, spec.prevalence
    reactivation = np.where(latent & ~cured, rho / p, 0.0) if p > 0 else np.zeros(latent.shape)
    hr = (1.0 - rho) + reactivation
    if visit_years is None:
        delay = np.where(positive, spec.start_after_years, 0.0)
    else:     # treatment waits for a result after the planned start; prophylaxis starts at the result
        result = np.where(seen & (spec.test != "none"), np.maximum(visit_years + spec.result_years, 0.0), 0.0)
        delay = result + np.where(positive, spec.start_after_years, 0.0)
    return TbScreeningOutcome(latent, tested_igra, tested_tst, positive, completed, cured, liver, hr, delay)


def with_screening(schedule: Schedule, spec: TbScreeningSpec, types: tuple[str, ...], seed: int,
                   patient_id: np.ndarray, visit_years: np.ndarray | None = None) -> Schedule:
    """``schedule`` with the strategy applied: a screen-positive patient's treatment starts after
    the prophylaxis delay (and after a late result, with a clinic; later still if vaccination
    already delays it) and every patient's TB hazard ratio set (the tuberculosis column of
    ``hazard_ratio``)."""
    out = screen(spec, seed, patient_id, visit_years)
    hr = np.ones((patient_id.shape[0], len(types))) if schedule.hazard_ratio is None else schedule.hazard_ratio.copy()
    hr[:, types.index(TUBERCULOSIS)] *= out.hazard_ratio
    start = np.maximum(schedule.treatment_start, out.start_delay_years)
    return replace(schedule, treatment_start=start, hazard_ratio=hr, screening=out)


def screening_record(spec: TbScreeningSpec) -> dict:
    """The strategy's values with their sources, for the outputs' provenance."""
    return {"values": {k: getattr(spec, k) for k in ("prevalence", "reactivation_share", "sensitivity",
                                                      "specificity", "completion", "efficacy", "hepatotoxicity",
                                                      "start_after_years", "result_years")}, **spec.provenance}
