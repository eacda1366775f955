"""T8 — tofacitinib RA integrated programme up to 9.5 years (Cohen 2020, RMD Open, Table 3).

**Input reproduction.** The library's tofacitinib rates come from this very publication, so
these tests check calibration and kernel plumbing, not the model: the cohort is the source
population of each rate (``source_populations.yaml``: average-5-mg and average-10-mg groups;
age SD 12 y, steroid dose and prior zoster as assumed there), no death, no discontinuation,
no case fatality, horizon = the group's mean exposure (PY / patients: 2.67 y and 3.68 y),
every other value from the library. Published rates are first-event rates, compared with the
summary column ``first_event_rate_per_100py`` (an ``all_events`` measure would use
``incidence_rate_per_100py``). Calibration assumes every patient is followed for the mean
exposure T; the simulation uses T as horizon, which is the same here.

Two tests per dose, 4e5 simulated patients each (one replicate; seeds fixed):

* ``baseline``: the trial as it happened (baseline ages, ``age_advances: true``), which is the
  exposure the calibration integrates over (``exposure_age_factor``: the age factor averaged
  over [0, T] with completed age stepping at birthdays, as in the kernel). The expected
  simulated rate is then the published rate itself (exactly for all-event rates; for
  first-event rates up to the small non-linearity of averaging the age factor over time), so
  beyond lying in the published CI it must be within 4 Monte Carlo standard errors of it
  (false-failure rate 6.3e-5 per rate, 5e-4 over the 8 rates), and 4 SE must be below a
  quarter of the CI's width (the Monte Carlo error is small against the published one).
* ``mid_exposure``: a cohort that does not age, placed at baseline + T/2
  (``age_advances: false``): an approximation of the trial's exposure. It must lie in the
  published CI; the margin is many SE, so the false-failure rate is negligible.

CIs are compared after widening each bound by half a unit of its last reported digit (0.05 per
100 PY): the published 0.1 (0.1–0.2) for 5 mg tuberculosis is reproduced exactly, so without
it the check would fail half of the time.
"""

from __future__ import annotations

import pytest
from source_cohorts import (
    SUMMARY_COLUMN,
    TYPES,
    Z,
    from_patients,
    library_population,
    run,
    source_scenario,
    summary_value,
    widened_ci,
)

from jaksim.library import load_library

N = 400_000
DRUG = "tofacitinib"


def _check(dose: int, age_at: str, seed: int, tight: bool) -> None:
    lib = load_library()
    pop = library_population(DRUG, dose, "serious_infection")
    for t in TYPES:   # one population behind all four rates of a dose
        assert library_population(DRUG, dose, t) == pop
    result = run(source_scenario(DRUG, dose, pop, N, seed=seed, age_at=age_at))
    problems, rows = [], []
    for t in TYPES:
        entry = lib.rate(DRUG, dose, "ra", t)
        measure = dict(entry.extra)["measure"]
        ci = next(r["ci95_per_100py"] for r in lib.data["rates"]
                  if r["drug"] == DRUG and r["dose_mg"] == dose and r["type"] == t)
        lo, hi = widened_ci(ci)
        simulated = summary_value(result.summary, t, SUMMARY_COLUMN[measure])
        est = from_patients(result.patients, t, measure)
        assert est.rate == pytest.approx(simulated, rel=1e-12)   # the summary is the ratio estimator
        rows.append(f"{t}: simulated {simulated:.4f} ± {est.se:.4f} vs published {entry.value:g} ({ci[0]:g}–{ci[1]:g})")
        if not lo <= simulated <= hi:
            problems.append(f"{t} outside the published CI")
        if tight:
            if abs(est.z(entry.value)) > Z:
                problems.append(f"{t} z = {est.z(entry.value):.2f} against the published rate")
            if Z * est.se > (ci[1] - ci[0]) / 4:
                problems.append(f"{t} Monte Carlo error too large against the CI")
    print(f"\nT8 tofacitinib {dose} mg ({age_at}, n = {N}):", *rows, sep="\n  ")
    assert not problems, f"tofacitinib {dose} mg ({age_at}): {problems}\n" + "\n".join(rows)


@pytest.mark.parametrize("dose", [5, 10])
def test_t8_source_population_reproduces_published_rates(dose):
    _check(dose, "baseline", seed=8000 + dose, tight=True)


@pytest.mark.parametrize("dose", [5, 10])
def test_t8_non_ageing_cohort_at_mid_exposure_within_published_ci(dose):
    _check(dose, "mid_exposure", seed=8100 + dose, tight=False)
