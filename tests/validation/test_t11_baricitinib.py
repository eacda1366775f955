"""T11 — baricitinib dose response and stability over time (Winthrop 2020, Ann Rheum Dis 79:1290).

Cohort: the all-bari-RA population (3492 patients, 7860 PY: mean exposure T = 2.25 y; its
baseline was not read, so ``jaksim.calibration`` fills in the pooled tofacitinib RA values,
assumptions listed in ``docs/parameters.md``), no death, no discontinuation, no case fatality,
library values otherwise. 2e5 simulated patients per test, one replicate, fixed seeds; every
z-test uses |z| ≤ 4 (two-sided false-failure rate 6.3e-5 each).

* HZ dose ordering placebo < 2 mg < 4 mg — **input reproduction**: the library's baricitinib
  HZ rates (3.1, 4.3) are this paper's placebo-controlled (week 0–24) rates; the placebo rate
  (1.1) is the filgotinib programme's (this paper's placebo: 1.0). One cohort, three arms
  (common random numbers); each step must exceed 4 SE of the paired difference. The expected
  steps (2.0 and 1.2 per 100 PY) are ≈ 80 and ≈ 35 SE, so a false failure is negligible.
* All-bari serious infection within ±15% of 3.0 — **input reproduction** (the library's SI
  rate for both doses is this all-bari-RA rate): simulated on 4 mg (all-bari exposure is mostly
  4 mg), patients at mid-exposure age as the calibration assumes; also within 4 SE of 3.0
  (false-failure rate 6.3e-5).
* All-bari HZ within ±15% of 3.3 — **out-of-sample** for the dose-specific rates: the
  library's 4 mg HZ rate (4.3) is the week-0–24 placebo-controlled rate, the target the
  long-term all-dose rate; replayed as the trial happened (baseline ages, ageing). It fails (4.33, +31%; see the xfail reason) and is kept as an honest
  strict xfail, nothing tuned. The principled fix (long-term dose-specific rates from the source's
  '2-4 mg extended set', replayed as a dose mix weighted by the published share of all-bari
  exposure on each dose) needs numbers that were not found in what was read: the extended-set HZ
  rates and the 2 mg / 4 mg exposure split are not in the abstracts of Winthrop 2020 or Taylor
  2022 (Ann Rheum Dis 81:335, all-bari HZ 3.0 over 14,744 PYE), and no full text was found.
* Constant hazard over time ("SI similar to placebo and stable over time", "HZ rates remained
  elevated and stable"): 6 years (the maximum exposure, 6.1 y) on 4 mg with constant covariates
  (``age_advances: false``); the all-events rate of year 1 must equal that of years 2–6 and the
  linear trend over years 1–6 must be 0, each within 4 SE (per-patient contrasts, so the SE
  allows for between-patient heterogeneity): 4 z-tests, false-failure rate 2.5e-4. With
  ``age_advances: true`` the model's own age effect (SI HR 1.64 per 10 y) raises the SI rate by
  5% a year, which the source's "stable over time" in a trial population with drop-out does not
  contradict but does not show either; that is not tested.

False-failure rate of the file: 6.3e-5 (SI) + 2.5e-4 (stability) ≈ 3.2e-4.
"""

from __future__ import annotations

import numpy as np
import pytest
from source_cohorts import TYPES, Z, from_chunk, library_population, paired_difference_se, simulate, source_scenario

from jaksim.library import load_library

N = 200_000
DRUG = "baricitinib"
PUBLISHED_ALL_BARI = {"serious_infection": 3.0, "herpes_zoster": 3.3}   # Winthrop 2020 abstract


def _all_bari():
    pop = library_population(DRUG, 4, "serious_infection")
    assert pop.id == "baricitinib_ra_all_bari_2020"
    assert pop.follow_up_years == pytest.approx(7860 / 3492)
    return pop


def test_t11_hz_dose_ordering_placebo_2mg_4mg():
    lib = load_library()
    published = [lib.rate(d, dose, "ra", "herpes_zoster").value for d, dose in
                 (("placebo", 0), (DRUG, 2), (DRUG, 4))]
    assert published[0] < published[1] < published[2]
    arms = {"placebo": {"treatment": {"drug": "placebo", "dose_mg": 0}},
            "bari_2mg": {"treatment": {"dose_mg": 2}}, "bari_4mg": {}}
    sc = source_scenario(DRUG, 4, _all_bari(), N, seed=11001, arms=arms)
    k = TYPES.index("herpes_zoster")
    est = [from_chunk(simulate(sc, arm=i)[1], k, "first_event") for i in range(3)]
    rows = [f"{name}: {e.rate:.3f} ± {e.se:.3f}" for name, e in zip(arms, est, strict=False)]
    print("\nT11 HZ first-event rate per 100 PY, all-bari-RA cohort:", *rows, sep="\n  ")
    for a, b in ((est[0], est[1]), (est[1], est[2])):
        assert b.rate - a.rate > Z * paired_difference_se(a, b), rows


def test_t11_all_bari_serious_infection_within_15_percent():
    k = TYPES.index("serious_infection")
    _, r = simulate(source_scenario(DRUG, 4, _all_bari(), N, seed=11002))
    est = from_chunk(r, k, "first_event")
    target = PUBLISHED_ALL_BARI["serious_infection"]
    print(f"\nT11 all-bari SI: simulated {est.rate:.3f} ± {est.se:.3f} vs published {target}")
    assert abs(est.rate / target - 1.0) <= 0.15
    assert abs(est.z(target)) <= Z


def _all_bari_hz_4mg() -> tuple[float, float]:
    k = TYPES.index("herpes_zoster")
    _, r = simulate(source_scenario(DRUG, 4, _all_bari(), N, seed=11003, age_at="baseline"))
    est = from_chunk(r, k, "first_event")
    return est.rate, est.se


@pytest.mark.xfail(strict=True, reason=(
    "out-of-sample finding: the library's 4 mg HZ rate is the week-0-24 placebo-controlled rate "
    "(4.3 /100 PY); replayed over the all-bari-RA population for its mean 2.25 y it gives 4.33 "
    "+- 0.03 (+31%), against the published long-term all-bari rate 3.3 (+-15%: 2.81-3.80). 2 mg "
    "gives 3.15. A constant hazard reproduces both published numbers only if >= 45% of all-bari "
    "exposure were on 2 mg (share not read; assumed mostly 4 mg), so the early HZ rate on 4 mg exceeds the "
    "long-term rate, or the placebo-controlled population differs; not tuned. Long-term all-dose "
    "HZ stays low in later cuts (3.3 at 5141 PY, ACR abstract, 2016 cut-off; 3.0 at 14,744 PYE, "
    "Taylor 2022). Not fixable from what was read: the dose-specific rates of the source's 2-4 mg "
    "extended set (incl. LTE) and the 2/4 mg exposure split are not in the abstracts read and no "
    "full text was found; switch the 2 and 4 mg HZ entries to them once read"))
def test_t11_all_bari_herpes_zoster_within_15_percent():
    rate, se = _all_bari_hz_4mg()
    target = PUBLISHED_ALL_BARI["herpes_zoster"]
    print(f"\nT11 all-bari HZ on 4 mg: simulated {rate:.3f} ± {se:.3f} vs published {target}")
    assert abs(rate / target - 1.0) <= 0.15


def test_t11_constant_hazard_over_time():
    """Without ageing, yearly rates show no trend (T11: 'stable over time').

    The cohort does not age here (``mid_exposure``). With ``age_advances: true`` the model's
    own age effect makes serious-infection rates rise by HR_age,10y^(1/10) ≈ 5% a year (about
    +30% from year 1 to year 6), which the published 'stable over time' does not show: trial
    cohorts lose their frailest patients (depletion of susceptibles), which a model without
    frailty does not reproduce. A stated limitation, not tuned away.
    """
    years = 6
    sc = source_scenario(DRUG, 4, _all_bari(), N, seed=11004, horizon=float(years), age_at="mid_exposure")
    model, r = simulate(sc)
    assert np.all(r.follow_up == years)          # no death, no discontinuation: everyone in all years
    yr = np.minimum(np.floor(r.ev_time).astype(np.int64), years - 1)
    lines = []
    for name in ("serious_infection", "herpes_zoster"):
        k = model.types.index(name)
        sel = r.ev_type == k
        c = np.zeros((N, years))
        np.add.at(c, (r.ev_pid[sel], yr[sel]), 1.0)  # patient ids are 0..N-1
        rates = 100.0 * c.sum(axis=0) / N            # events per 100 PY in each year
        lines.append(f"{name}: yearly rates " + ", ".join(f"{x:.3f}" for x in rates))
        # year 1 vs years 2..6, and the linear trend, as sums of independent per-patient contrasts
        for label, w in (("year 1 vs later", np.r_[1.0, -np.ones(years - 1) / (years - 1)]),
                         ("linear trend", np.arange(years) - (years - 1) / 2.0)):
            d = c @ w
            z = d.sum() / np.sqrt(np.sum((d - d.mean()) ** 2) * N / (N - 1))
            lines.append(f"  {label}: z = {z:+.2f}")
            assert abs(z) <= Z, "\n".join(lines)
    print("\nT11 constant hazard (4 mg, 6 y):", *lines, sep="\n  ")
