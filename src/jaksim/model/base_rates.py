"""The reference patient's rate of one infection type on an arm's treatment, by indication.

Three sources, in this order:

* a rate typed in the scenario: the reference patient's rate (``applies_to:
  reference_patient``, the default) or the rate in this scenario's own cohort
  (``applies_to: population``), calibrated to the cohort's make-up;
* ``evidence: relative_effects`` (default): the baseline rate on the reference treatment
  (csDMARD), calibrated from its source population to the reference patient, times the
  drug's relative effect from the network of comparisons (``evidence.py``);
* ``evidence: programme_rates``: the drug's own programme rate, calibrated from its source
  population (the behaviour before relative effects, kept to compare).

Rates are per patient-year in the arrays, per 100 patient-years in provenance records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from jaksim.codes import MAX_AGE, VARICELLA
from jaksim.library import Library
from jaksim.library.resolve import SCENARIO, library_record
from jaksim.model import evidence as ev
from jaksim.model.calibration import calibrate, exposure_age_factor, population_from_entry
from jaksim.scenario.schema import INDICATIONS, Arm, Scenario

#: patients of the cohort used to calibrate a population rate (the run's first ones)
POPULATION_SAMPLE = 20_000


@dataclass(frozen=True)
class RateContext:
    """What one arm's rates are resolved against."""

    scenario: Scenario
    arm: Arm
    at: tuple                 # key path of the arm in the scenario
    library: Library
    indications: list[str]    # indications the rates must cover
    strict: bool              # a missing indication is an error (else any one suffices)
    cohort: Any = None        # CohortSource: its first patients calibrate a population rate


def base_rates(ctx: RateContext, name: str) -> tuple[np.ndarray, dict]:
    """Uncalibrated rate per PY by indication (NaN: none) and its provenance."""
    inf = ctx.arm.infections[name]
    base = np.full(len(INDICATIONS), np.nan)
    typed = inf.typed_rate
    if typed is not None:
        base[:] = typed.value / 100.0
        return base, {"rate_per_100py": {"value": typed.value, "applies_to": typed.applies_to, "source": SCENARIO}}
    if name == VARICELLA:     # force of infection among the susceptible: the same on every drug (assumption)
        entry = (ctx.library.data.get("varicella_zoster_serostatus") or {}).get("force_of_infection_per_100py")
        if entry is None:
            raise _missing(ctx, name, "the library has no force of infection", ctx.indications)
        base[:] = float(entry["value"]) / 100.0
        return base, {"rate_per_100py": {"source": "library", "applies_to": "seronegative patients",
                                         **{k: entry.get(k) for k in ("value", "citation", "doi", "status", "note")}}}
    if ctx.scenario.evidence == "programme_rates":
        return _programme(ctx, name, base)
    return _evidence(ctx, name, base)


def _missing(ctx: RateContext, name: str, what: str, missing: list[str]):
    tr = ctx.arm.treatment
    types = ctx.library.infection_types
    known = "" if name in types else (f" ('{name}' is not an infection type of the library, which has: "
                                      f"{', '.join(types)})")
    return ctx.scenario.error(ctx.at + ("infections", name),
                              f"{what} for '{name}' on {tr.drug} {tr.dose_mg:g} mg in {', '.join(missing)}{known}; "
                              f"give infections.{name}.rate_per_100py (events per 100 patient-years), or add the "
                              "missing evidence in a user library (library: my_values.yaml), or set "
                              "evidence: programme_rates")


def _programme(ctx: RateContext, name: str, base: np.ndarray) -> tuple[np.ndarray, dict]:
    tr = ctx.arm.treatment
    found = {}
    for j, ind in enumerate(INDICATIONS):
        s = ctx.library.rate(tr.drug, tr.dose_mg, ind, name)
        if s is not None:
            base[j] = s.value / 100.0
            found[ind] = library_record(s, with_extra=True)
    missing = [i for i in ctx.indications if i not in found]
    if not any(t == name for (_, _, _, t) in ctx.library.programme_keys()):
        base, prov = _evidence(ctx, name, base)     # programmes do not report this type at all
        prov["evidence"] = "relative_effects (no programme reports this type)"
        return base, prov
    if (ctx.strict and missing) or not found:
        raise _missing(ctx, name, "the programme_rates evidence has no rate", missing or ctx.indications)
    return base, {"evidence": "programme_rates", "rate_per_100py": found}


def _evidence(ctx: RateContext, name: str, base: np.ndarray) -> tuple[np.ndarray, dict]:
    tr = ctx.arm.treatment
    found, missing = {}, []
    for j, ind in enumerate(INDICATIONS):
        b = ev.baseline(ctx.library.evidence, ind, name)
        re = ev.relative_effect(ctx.library.evidence, ctx.library.drugs, tr.drug, tr.dose_mg, name, ind)
        if b is None or re is None:
            s = ctx.library.rate(tr.drug, tr.dose_mg, ind, name)
            if s is not None:         # no randomised path: the programme rate, labelled (non-randomised)
                base[j] = s.value / 100.0
                found[ind] = {**library_record(s, with_extra=True), "fallback": (
                    f"no {'baseline' if b is None else 'relative effect'} for this type in the evidence network: "
                    "the drug's own programme rate is used (non-randomised; the contrast with another arm is "
                    "a ratio of absolute rates from different sources)")}
                continue
            if ind in ctx.indications:
                missing.append(f"{ind} (no {'baseline' if b is None else 'relative effect'})")
            continue
        base[j] = float(b["rate_per_100py"]) / 100.0 * re.ratio
        found[ind] = {"baseline_rate_per_100py": {"source": "library", **_baseline_record(b)},
                      "relative_effect": re.provenance()}
    if (ctx.strict and missing) or not found:
        raise _missing(ctx, name, "the relative_effects evidence has no path", missing or ctx.indications)
    return base, {"evidence": "relative_effects", "rate_per_100py": found}


def _baseline_record(b: dict) -> dict:
    keep = ("id", "rate_per_100py", "ci95_per_100py", "measure", "citation", "doi", "status", "note", "library")
    return {"value": b["rate_per_100py"], **{k: b[k] for k in keep if b.get(k) is not None},
            "population": b["population"].get("description")}


def calibrate_rates(ctx: RateContext, name: str, prov: dict, base: np.ndarray, log_hr: np.ndarray,
                    hr_gc: np.ndarray, age_log_hr: float, ref_age: float, region_hr: np.ndarray | None = None,
                    baseline_hrs: tuple | None = None, frailty_variance: float = 0.0) -> None:
    """Replace published rates in ``base`` by the reference patient's (in place), recording how
    (source populations: region not given, hazard ratio 1; a population-typed rate: the cohort's
    regions; a first-event rate accounting for the type's gamma frailty variance). A baseline of
    the reference treatment is calibrated with ``baseline_hrs`` (log HR, GC HRs, age log HR,
    reference age: the hazard ratios without the arm's treatment interactions; default the
    arm's); a drug's own programme rate with the arm's."""
    hrs = (log_hr, hr_gc, age_log_hr, ref_age)
    typed = ctx.arm.infections[name].typed_rate
    if typed is not None:
        if typed.applies_to == "population":
            mean_hr, n = _cohort_mean_hazard_ratio(ctx, *hrs, region_hr)
            base[:] = typed.value / 100.0 / mean_hr
            prov["rate_per_100py"]["calibration"] = {
                "method": "all events per 100 PY on treatment in this scenario's cohort: reference rate = "
                          "typed rate / mean hazard ratio over the cohort's person-time to the horizon",
                "cohort_patients_used": n, "cohort_mean_hazard_ratio": mean_hr,
                "reference_rate_per_100py": 100.0 * float(base[0]),
                "assumptions": ["person-time to the horizon (deaths, stops and loss to follow-up not weighted)",
                                "glucocorticoid band at baseline (tapers not included)",
                                "time-on-treatment multipliers and vaccination not included"]}
        return
    for j, ind in enumerate(INDICATIONS):
        entry = prov["rate_per_100py"].get(ind)
        if entry is None:
            continue
        if "relative_effect" in entry:
            b = ev.baseline(ctx.library.evidence, ind, name)
            assert b is not None
            pop = population_from_entry(b["id"], b["population"])
            b_log_hr, b_hr_gc, b_age_log_hr, b_ref_age = baseline_hrs or hrs
            cal = calibrate(float(b["rate_per_100py"]), b["measure"], pop, b_log_hr, b_hr_gc, b_age_log_hr, b_ref_age,
                            frailty_variance)
            base[j] = cal.reference_rate_per_100py / 100.0 * entry["relative_effect"]["value"]
            entry["baseline_rate_per_100py"]["calibration"] = cal.provenance()
            continue
        tr = ctx.arm.treatment
        pop = ctx.library.source_population(tr.drug, tr.dose_mg, name, ind)
        if pop is None:
            entry["calibration"] = (f"none: no described source population for this {ind} rate; the published "
                                    "rate is used as the reference patient's rate")
            continue
        cal = calibrate(entry["value"], entry.get("measure") or "first_event", pop, *hrs, frailty_variance)
        base[j] = cal.reference_rate_per_100py / 100.0
        entry["calibration"] = cal.provenance()


def _cohort_mean_hazard_ratio(ctx: RateContext, log_hr, hr_gc, age_log_hr, ref_age,
                              region_hr=None) -> tuple[float, int]:
    """Mean hazard ratio (vs the reference patient) over the cohort's first patients' person-time."""
    src = ctx.cohort
    n = min(ctx.scenario.n_patients, POPULATION_SAMPLE)
    c = src.block(0, n)
    T = ctx.scenario.horizon_years
    ages = np.minimum(c.age, MAX_AGE)
    if src.age_advances:
        age_hr = exposure_age_factor(ages, T, age_log_hr, ref_age)
    else:
        age_hr = np.exp(age_log_hr * (np.floor(ages) - ref_age))
    hr = age_hr * np.exp(c.covariates.astype(np.float64) @ log_hr) * hr_gc[c.gc_band.astype(np.int64)]
    if region_hr is not None:
        hr = hr * region_hr[c.region.astype(np.int64)]
    return float(hr.mean()), n
