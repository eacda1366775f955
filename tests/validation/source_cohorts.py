"""Shared helpers of the validation tests: replaying a library rate's source population.

These tests check the ``programme_rates`` evidence set (each drug's own programme rate,
calibrated to its source population), so every scenario they build says ``evidence:
programme_rates``: replaying a programme's population is *input reproduction* of that set.
The default evidence set (baseline × relative effects) is validated in ``test_evidence.py``
(trial-by-trial input reproduction and leave-one-trial-out, out of sample).

A library rate is the average over the population it was measured in (``SourcePopulation``,
``jaksim.calibration``). These helpers build a jaksim scenario whose cohort is that population
(truncated-normal age with its mean and SD, binary-covariate and glucocorticoid shares),
with no background death, no treatment discontinuation (neither all-cause nor after an event),
no case fatality, the population's mean follow-up as horizon, constant hazards on treatment
(``time_on_treatment_profile: none``: these replays follow every patient for the mean follow-up,
as calibration assumes, while a library profile is normalised over an exponential exposure; the
profiles are validated in ``test_t13_time_on_treatment.py``), and every other value from the
library for the drug and dose. They also compute simulated rates with their Monte Carlo
standard errors from the per-patient table.

Two age conventions (``age_at``):

* ``"baseline"`` (default, with ``age_advances: true``): the trial as it happened, patients
  ageing during follow-up (completed age) — exactly the exposure the calibration integrates
  over (``exposure_age_factor``), so the expected simulated rate *is* the published rate: a
  check of calibration and kernel plumbing.
* ``"mid_exposure"`` (with ``age_advances: false``): every patient's age is the source
  population's baseline age + T/2, T the mean follow-up: a non-ageing approximation.

Rates and standard errors: the simulated rate is a ratio estimator R = Σy_i / Σt_i over
independent patients (y_i = 1 if patient i had a first event and t_i its time at risk, for
first-event rates; y_i = the number of events and t_i the follow-up, for all-events rates).
Its standard error is the linearisation (delta-method / sandwich) estimate
SE = √Σ(y_i − R·t_i)² / Σt_i, valid for any between-patient heterogeneity (CLT, n ≥ 1e5).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

import factories
import jaksim
from jaksim.library import load_library
from jaksim.model.calibration import SourcePopulation
from jaksim.run import engine
from jaksim.scenario import load as config

TYPES = ("serious_infection", "herpes_zoster", "opportunistic_infection", "tuberculosis")
Z = 4.0  # two-sided P(|N(0,1)| >= 4) = 6.3e-5 per z-test
P_Z = 6.3e-5
#: the summary column that estimates each rate measure
SUMMARY_COLUMN = {"first_event": "first_event_rate_per_100py", "all_events": "incidence_rate_per_100py"}


def library_population(drug: str, dose_mg: float, infection_type: str) -> SourcePopulation:
    pop = load_library().source_population(drug, dose_mg, infection_type)
    assert pop is not None, f"no source population for {drug} {dose_mg:g} mg {infection_type}"
    return pop


def cohort_of(pop: SourcePopulation, *, age_at: str, **share_overrides) -> dict:
    """The scenario ``cohort`` section that draws patients from ``pop``."""
    if age_at == "mid_exposure":
        shift, advances = pop.follow_up_years / 2.0, False
    elif age_at == "baseline":
        shift, advances = 0.0, True
    else:
        raise ValueError(age_at)
    shares = {**pop.shares, **share_overrides}
    return {"age": {"distribution": "truncated_normal", "mean_years": pop.age_mean_years + shift,
                    "sd_years": pop.age_sd_years, "min_years": 18.0 + shift, "max_years": 100.0 + shift},
            "age_advances": advances, **shares,
            "glucocorticoid": dict(zip(("up_to_5mg", "over_5_to_10mg", "over_10mg"), pop.glucocorticoid_shares,
                                       strict=True))}


def source_scenario(drug: str, dose_mg: float, pop: SourcePopulation, n: int, *, seed: int,
                    age_at: str = "baseline", horizon: float | None = None,
                    arms: dict | None = None, types=TYPES, **share_overrides) -> dict:
    """A scenario replaying ``pop`` on ``drug`` ``dose_mg`` (library rates and hazard ratios)."""
    sc = {"name": "validation", "seed": seed, "n_patients": n, "evidence": "programme_rates",
          "time_on_treatment_profile": "none",
          "horizon_years": pop.follow_up_years if horizon is None else horizon,
          "cohort": cohort_of(pop, age_at=age_at, **share_overrides),
          "treatment": {"drug": drug, "dose_mg": dose_mg, "discontinuation_rate_per_100py": 0},
          "infections": {t: {"discontinuation_probability": 0} for t in types},
          "mortality": {"rate_per_100py": 0, "case_fatality": {t: 0 for t in types}}}
    if arms:
        sc["arms"] = arms
    return sc


def run(sc: dict) -> engine.RunResult:
    """``jaksim.run`` of a scenario given as a dict (the public code path, in memory)."""
    return jaksim.run(config.scenario_from_text(json.dumps(sc)))


def simulate(sc: dict, arm: int = 0):
    """Kernel output for every patient of one arm, without files: (model, ChunkResult)."""
    model, _, r = factories.simulate(sc, sc["n_patients"], arm, cap=256)
    return model, r


@dataclass(frozen=True)
class Estimate:
    """A simulated rate per 100 PY and its Monte Carlo standard error (and per-patient parts)."""

    rate: float
    se: float
    y: np.ndarray
    t: np.ndarray

    def z(self, expected: float) -> float:
        return (self.rate - expected) / self.se


def per_patient(counts: np.ndarray, first: np.ndarray, follow_up: np.ndarray, measure: str):
    """(y_i, t_i) of the ratio estimator of ``measure`` for one infection type."""
    if measure == "first_event":
        had = counts > 0
        return had.astype(np.float64), np.where(had, first, follow_up)
    if measure == "all_events":
        return counts.astype(np.float64), follow_up.astype(np.float64)
    raise ValueError(measure)


def estimate(y: np.ndarray, t: np.ndarray) -> Estimate:
    total = t.sum()
    rate = y.sum() / total
    se = math.sqrt(float(np.sum((y - rate * t) ** 2))) / total
    return Estimate(100.0 * rate, 100.0 * se, y, t)


def from_patients(patients, infection_type: str, measure: str, arm: str | None = None) -> Estimate:
    """Estimate from a run's ``patients`` Arrow table (optionally one arm)."""
    if arm is not None:
        import pyarrow.compute as pc
        patients = patients.filter(pc.equal(patients["arm"], arm))
    counts = patients[f"{infection_type}_events"].to_numpy()
    first = patients[f"{infection_type}_first_years"].to_numpy(zero_copy_only=False)
    follow = patients["follow_up_years"].to_numpy()
    return estimate(*per_patient(counts, first, follow, measure))


def from_chunk(r, k: int, measure: str) -> Estimate:
    """Estimate from ``chunk_loop.simulate_chunk`` output for type index ``k``."""
    return estimate(*per_patient(r.counts[:, k], r.first_time[:, k], r.follow_up, measure))


def summary_value(summary, infection_type: str, column: str, arm: str | None = None) -> float:
    rows = summary.to_pylist()
    hits = [row[column] for row in rows if row["type"] == infection_type and (arm is None or row["arm"] == arm)]
    assert len(hits) == 1, (infection_type, arm, len(hits))
    return hits[0]


def paired_difference_se(a: Estimate, b: Estimate) -> float:
    """SE (per 100 PY) of b.rate − a.rate for two rates on the same patients (common random numbers)."""
    ua = (a.y - a.rate / 100.0 * a.t) / a.t.sum()
    ub = (b.y - b.rate / 100.0 * b.t) / b.t.sum()
    return 100.0 * math.sqrt(float(np.sum((ub - ua) ** 2)))


def paired_ratio_se(a: Estimate, b: Estimate) -> float:
    """SE of b.rate / a.rate for two rates on the same patients (delta method on the log ratio)."""
    ua = (a.y - a.rate / 100.0 * a.t) / (a.rate / 100.0 * a.t.sum())
    ub = (b.y - b.rate / 100.0 * b.t) / (b.rate / 100.0 * b.t.sum())
    return (b.rate / a.rate) * math.sqrt(float(np.sum((ub - ua) ** 2)))


def half_unit(x: float) -> float:
    """Half a unit in the last reported digit of a published number (0.1 → 0.05, 2.07 → 0.005)."""
    text = repr(float(x))
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return 0.5 * 10.0 ** (-decimals)


def widened_ci(ci) -> tuple[float, float]:
    """The published 95% CI widened by the rounding of its reported bounds."""
    lo, hi = float(ci[0]), float(ci[1])
    return lo - half_unit(lo), hi + half_unit(hi)
