"""Time-on-treatment profile — tofacitinib RA, rates by period on treatment (out of sample by dose).

**What is checked.** The library's tofacitinib profiles (serious infection, herpes zoster:
multiplier 1 for years [0, 2) and 0.626 / 0.735 after) were derived from the **5 mg** groups
only: the P3 cohort's 5 mg rate over months 0–24 and the programme's average-5-mg rate up to
9.5 years (``parameters.yaml``, ``time_on_treatment_profiles``). Here the **10 mg** population
is simulated, whose period rates were not used as input:

* period [0, 2) years: the P3 cohort's tofacitinib 10 mg BID, bDMARD-naive, months 0–24 (Table 4
  of the P3-cohort article, read into ``evidence.yaml`` as the treatment arm of
  ``tofa_p3_bdmard_naive_*_tofa10_vs_pbo``): **out of sample** — the model's 10 mg rate comes
  from the programme's long-term rate (Cohen 2020) and the profile spreads it over time;
* the whole programme (0 to 9.5 years): Cohen 2020's average-10-mg rate. This is **fitted**: the
  programme rate is the model's input and the profile is normalised over its exposure, so only
  the exposure assumption (exponential with the population's mean follow-up) is tested there.

**The population.** The 10 mg source population (``source_populations.yaml``), ages at baseline
+ half the mean follow-up F = 3.68 y (non-ageing, as T8's ``mid_exposure``), ``evidence:
programme_rates``. Patients leave the programme at the constant rate 1/F (a background death
rate of 100/F per 100 PY, no case fatality, stands for leaving: only follow-up ends), up to 9.5
years (the programme's maximum), no discontinuation: all follow-up is on treatment. Rates are
first-event rates (patients with a first event per 100 PY at risk until it), as published.

**Statistics.** 200,000 patients (≈ 680,000 PY; seed fixed). Each simulated rate must lie in the
published 95% CI (bounds widened by half a unit of their last digit, as in T8), at least 4 Monte
Carlo standard errors (ratio estimator, sandwich SE) inside it: a re-seeded run then falls outside
with probability below 6.3e-5 per rate, 2.5e-4 over the four rates. The test can fail: with
``time_on_treatment_profile: none`` (constant hazard) the 10 mg serious infection rate over
months 0–24 falls below the published CI (the second test, 800,000 patients: expected ≈ 2.35 against
the widened lower bound 2.45, ≈ 7 SE; it must be ≥ 4 SE below it, same false-failure rate).
"""

from __future__ import annotations

import numpy as np
import pytest
from source_cohorts import estimate, library_population, run, source_scenario, widened_ci

from jaksim.library import load_library

N = 200_000
DRUG, DOSE = "tofacitinib", 10
TYPES = ("serious_infection", "herpes_zoster")
EDGE_YEARS = 2.0
PROGRAMME_MAX_YEARS = 9.5        # Cohen 2020: exposure up to 9.5 years
Z = 4.0
P3_ARM = {"serious_infection": "tofa_p3_bdmard_naive_sie_tofa10_vs_pbo",
          "herpes_zoster": "tofa_p3_bdmard_naive_hz_tofa10_vs_pbo"}

pytestmark = pytest.mark.slow


def _scenario(profile: str, seed: int, n: int = N) -> dict:
    pop = library_population(DRUG, DOSE, "serious_infection")
    sc = source_scenario(DRUG, DOSE, pop, n, seed=seed, age_at="mid_exposure", horizon=PROGRAMME_MAX_YEARS,
                         types=TYPES)
    sc["mortality"]["rate_per_100py"] = 100.0 / pop.follow_up_years      # leaving the programme
    sc["time_on_treatment_profile"] = profile
    return sc


def _published(lib) -> dict:
    """(rate, CI) per type and period: the P3 10 mg arm (months 0-24) and the programme's 10 mg rate."""
    effects = {e["id"]: e for e in lib.evidence["relative_effects"]}
    out = {}
    for t in TYPES:
        arm = effects[P3_ARM[t]]["arm_data"]["treatment"]
        prog = next(r for r in lib.data["rates"] if r["drug"] == DRUG and r["dose_mg"] == DOSE and r["type"] == t)
        out[t] = {"0-2 y": (arm["rate_per_100py"], arm["ci95_per_100py"]),
                  "whole": (prog["rate_per_100py"], prog["ci95_per_100py"])}
    return out


def _period_rates(patients, t: str) -> dict:
    """First-event rate estimates over [0, 2) years and over the whole follow-up."""
    counts = patients[f"{t}_events"].to_numpy()
    first = patients[f"{t}_first_years"].to_numpy(zero_copy_only=False)
    follow = patients["follow_up_years"].to_numpy()
    had = counts > 0
    at_risk = np.where(had, first, follow)
    early = had & (first < EDGE_YEARS)
    return {"0-2 y": estimate(early.astype(np.float64), np.minimum(at_risk, EDGE_YEARS)),
            "whole": estimate(had.astype(np.float64), at_risk)}


def test_profile_reproduces_10mg_period_rates_out_of_sample():
    lib = load_library()
    assert lib.time_on_treatment_profile(DRUG, "serious_infection") is not None
    published = _published(lib)
    patients = run(_scenario("library", seed=13_210)).patients
    problems, rows = [], []
    for t in TYPES:
        est = _period_rates(patients, t)
        for period, (rate, ci) in published[t].items():
            lo, hi = widened_ci(ci)
            e = est[period]
            rows.append(f"{t} {period}: simulated {e.rate:.3f} ± {e.se:.3f} vs published {rate:g} ({ci[0]:g}–{ci[1]:g})")
            if not (lo + Z * e.se <= e.rate <= hi - Z * e.se):
                problems.append(f"{t} {period} not {Z:g} SE inside the published CI")
    print("\nTime on treatment, tofacitinib 10 mg:", *rows, sep="\n  ")
    assert not problems, "\n".join(problems + rows)


def test_constant_hazard_misses_the_early_serious_infection_rate():
    lib = load_library()
    rate, ci = _published(lib)["serious_infection"]["0-2 y"]
    lo, _ = widened_ci(ci)
    e = _period_rates(run(_scenario("none", seed=13_211, n=4 * N)).patients, "serious_infection")["0-2 y"]
    assert e.rate + Z * e.se < lo, (f"constant hazard: simulated {e.rate:.3f} ± {e.se:.3f} within the published "
                                   f"{rate:g} ({ci[0]:g}–{ci[1]:g}): the check would not discriminate")
