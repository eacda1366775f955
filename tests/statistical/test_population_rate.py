"""A rate typed for the population (``applies_to: population``) is reproduced in the scenario's
own cohort; the same number read as the reference patient's rate is not.

Cohort: older (mean 62 y), 40% on glucocorticoids, 20% diabetic, so the mean hazard ratio over
the cohort is far from 1. Simulated: all serious infections per 100 patient-years on
treatment, 20,000 patients (the calibration sample itself), 3 years, no discontinuation,
background death 0.5/100 PY. Events ≈ 2,500, Poisson SE ≈ 2.0% of the rate; tolerance
4 SE (two-sided false-failure rate 6e-5) plus 1% for the person-time weighting that the
calibration leaves out (deaths; stated in its provenance).
"""

from __future__ import annotations

import copy

import numpy as np

from factories import simulate

TYPED = 4.3
SCENARIO = {
    "name": "population_rate", "seed": 20261202, "n_patients": 20000, "horizon_years": 3,
    "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 62, "sd_years": 11},
               "female": 0.75, "diabetes": 0.2,
               "glucocorticoid": {"below_7_5mg": 0.3, "at_least_7_5mg": 0.1}},
    "treatment": {"drug": "tofacitinib", "dose_mg": 5, "discontinuation_rate_per_100py": 0},
    "mortality": {"rate_per_100py": 0.5},
    "infections": {"serious_infection": {"rate_per_100py": {"value": TYPED, "applies_to": "population"}}},
    "arms": {"a": {}},
}


def _rate(sc: dict) -> tuple[float, int, dict]:
    model, cohort, r = simulate(sc, sc["n_patients"])
    events = int(r.counts[:, 0].sum())
    py = float(r.follow_up.sum())
    return 100.0 * events / py, events, model.arms[0].provenance


def test_population_rate_is_reproduced_in_the_cohort():
    rate, events, prov = _rate(SCENARIO)
    se = rate / np.sqrt(events)
    assert abs(rate - TYPED) < 4 * se + 0.01 * TYPED, (rate, se)
    cal = prov["infections"]["serious_infection"]["rate_per_100py"]["calibration"]
    assert cal["cohort_mean_hazard_ratio"] > 1.3          # the cohort is far from the reference patient


def test_same_number_as_reference_patient_rate_is_not_the_cohort_rate():
    sc = copy.deepcopy(SCENARIO)
    sc["infections"]["serious_infection"]["rate_per_100py"] = TYPED      # plain number: reference patient
    rate, events, _ = _rate(sc)
    assert rate > 1.3 * TYPED, rate
