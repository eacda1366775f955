"""Recovery of known hazard ratios by Poisson regression of simulated event counts.

**Internal validation** (neither input reproduction of a publication nor out-of-sample): a
cohort with known age, four-band glucocorticoid, Asia, region, sex and concomitant csDMARD
effects is simulated with constant hazards (baseline age, ``age_advances: false``), no death,
no discontinuation and recurrent events, so each patient's event count is Poisson with mean
λ0 · HR_age^((a − 50)/10) · HR_GC(band) · HR_Asia^asia · HR_region(region) · HR_female^female
· HR_csDMARD^csdmard · T.
A Poisson GLM of the per-patient counts with offset log(follow-up), fitted by Newton–Raphson
(= IRLS for the canonical log link) with numpy, must recover every log hazard ratio (and
log λ0) within 4 standard errors from the inverse Fisher information at the estimate.

Regions: North America (non-Asian reference, HR 1), Eastern Europe; Japan (the Asian
reference: its region HR is 1, so the Asia flag that region sets carries the pooled Asian
effect), Korea/Taiwan and China. The Asia flag is the sum of the Asian regions' indicators,
so the GLM has one column for Asia and one per region other than the two references.

One replicate of 1e5 patients over 3 years (≈ 40,000 events), fixed seed. The model is the
true data-generating model, so each z is asymptotically N(0, 1): false-failure rate
6.3e-5 per coefficient, 6.9e-4 for the 11 coefficients (Bonferroni).
"""

from __future__ import annotations

import math

import numpy as np
from source_cohorts import Z, simulate

from jaksim.scenario.schema import REGIONS

TRUE = {"log_rate": math.log(0.05), "age_per_10_years": math.log(1.5),
        "glucocorticoid_up_to_5mg": math.log(1.3), "glucocorticoid_over_5_to_10mg": math.log(1.8),
        "glucocorticoid_over_10mg": math.log(2.8), "asia": math.log(2.0), "female": math.log(0.8),
        "concomitant_csdmard": math.log(1.2)}
TRUE_REGION = {"eastern_europe": math.log(0.7), "korea_taiwan": math.log(1.3), "china": math.log(0.8)}
REGION_SHARES = {"north_america": 0.35, "eastern_europe": 0.2, "japan": 0.2, "korea_taiwan": 0.15, "china": 0.1}
N, HORIZON = 100_000, 3.0


def poisson_glm(X: np.ndarray, y: np.ndarray, offset: np.ndarray, tol: float = 1e-10, max_iter: int = 50):
    """Maximum-likelihood Poisson regression with log link: (beta, covariance = I(beta)^-1)."""
    beta = np.zeros(X.shape[1])
    beta[0] = math.log(y.sum() / np.exp(offset).sum())
    for _ in range(max_iter):
        mu = np.exp(X @ beta + offset)
        info = X.T @ (X * mu[:, None])               # Fisher information = observed for the canonical link
        step = np.linalg.solve(info, X.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    else:
        raise AssertionError("Poisson regression did not converge")
    mu = np.exp(X @ beta + offset)
    return beta, np.linalg.inv(X.T @ (X * mu[:, None]))


def test_poisson_regression_recovers_hazard_ratios():
    hr = {k: math.exp(v) for k, v in TRUE.items() if k != "log_rate"}
    infection = {"rate_per_100py": 100.0 * math.exp(TRUE["log_rate"]),
                 "hazard_ratios": {**hr, "reference_age_years": 50, "prior_zoster": 1, "diabetes": 1,
                                   "zoster_vaccinated": 1,
                                   "region": {k: math.exp(v) for k, v in TRUE_REGION.items()}},
                 "off_treatment_hazard_ratio": 1, "discontinuation_probability": 0}
    sc = {"name": "recovery", "seed": 424242, "n_patients": N, "horizon_years": HORIZON,
          "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 55, "sd_years": 12,
                             "min_years": 18, "max_years": 90},
                     "age_advances": False, "female": 0.5, "region": REGION_SHARES, "concomitant_csdmard": 0.6,
                     "glucocorticoid": {"up_to_5mg": 0.3, "over_5_to_10mg": 0.15, "over_10mg": 0.08}},
          "treatment": {"drug": "tofacitinib", "dose_mg": 5, "discontinuation_rate_per_100py": 0},
          "infections": {"infection_x": infection},
          "mortality": {"rate_per_100py": 0, "case_fatality": {"infection_x": 0}}}
    model, r = simulate(sc)
    cohort = model.cohort.block(0, N)
    assert np.all(r.follow_up == HORIZON)
    region = np.asarray(REGIONS)[cohort.region]
    assert set(region) == set(REGION_SHARES)
    assert np.array_equal(cohort.column("asia") == 1, np.isin(region, ["japan", "korea_taiwan", "china"]))
    X = np.column_stack([np.ones(N), (cohort.age - 50.0) / 10.0, cohort.gc_band == 1, cohort.gc_band == 2,
                         cohort.gc_band == 3, cohort.column("asia"), cohort.column("female"),
                         cohort.column("concomitant_csdmard"),
                         *(region == name for name in TRUE_REGION)]).astype(np.float64)
    y = r.counts[:, 0].astype(np.float64)
    beta, cov = poisson_glm(X, y, np.log(r.follow_up))
    se = np.sqrt(np.diag(cov))
    truth = {**TRUE, **{f"region_{k}": v for k, v in TRUE_REGION.items()}}
    rows, bad = [], []
    for j, (name, value) in enumerate(truth.items()):
        z = (beta[j] - value) / se[j]
        rows.append(f"{name}: estimate {beta[j]:+.4f} ± {se[j]:.4f}, truth {value:+.4f}, z = {z:+.2f}")
        if abs(z) > Z:
            bad.append(name)
    print(f"\nRecovery ({int(y.sum())} events):", *rows, sep="\n  ")
    assert not bad, "\n".join(rows)
