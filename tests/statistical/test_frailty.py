"""Statistical tests of the gamma frailty (``kernel/frailty.py``) against closed forms.

With a frailty z ~ Gamma(mean 1, variance θ) multiplying a hazard whose cumulative value over
the follow-up is Λ, a patient's count is negative binomial (mean Λ, variance Λ + θΛ²) and the
first-event time t has P(no event by t) = (1 + θΛ(t))^(−1/θ) (Lomax for a constant hazard).
Seeds are fixed, so each test is deterministic; the false-failure rate stated in each docstring
is the probability that a *correct* sampler fails at a random seed: |z| < 4 ⇒ 6.3e-5 per
two-sided z-test, p > 1e-4 ⇒ 1e-4 per KS / chi-square test, Bonferroni over the assertions.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from test_statistics import ALPHA, Z, infection, scenario

from factories import model_of, simulate
from jaksim.library import load_library
from jaksim.model.calibration import first_event_probability_and_time


def negative_binomial(mean: float, variance: float):
    """scipy's negative binomial with this mean and frailty variance θ (var = mean + θ mean²)."""
    r = 1.0 / variance
    return stats.nbinom(r, r / (r + mean))


def chi_square_counts(counts: np.ndarray, law) -> float:
    """p-value of a chi-square test of per-patient counts against ``law`` (tail pooled where the
    expected number falls below 20)."""
    n = counts.size
    top = 0
    while n * law.sf(top) >= 20:
        top += 1
    observed = np.bincount(np.minimum(counts, top), minlength=top + 1)
    expected = n * np.append(law.pmf(np.arange(top)), law.sf(top - 1))
    return stats.chisquare(observed, expected).pvalue


def test_counts_are_negative_binomial_and_first_events_lomax():
    """No death, every hazard ratio 1, follow-up T = 3 years: per-patient counts of each type are
    NegBin(mean Λ, variance Λ + θΛ²) and the first-event time given an event has the Lomax law
    truncated at T. Types: a (2/100 PY, θ 0.8), b (60/100 PY, θ 2.0), c (40/100 PY, θ 0.5, hazard
    ×3 in the first year: Λ(t) piecewise linear, so clocks are re-based with frailty), d (40/100
    PY, no frailty: Poisson). Assertions: 4 chi-square + 3 KS tests (1e-4 each) + 3 z-tests of
    the mean (6.3e-5 each) ⇒ 8.9e-4."""
    T, n = 3.0, 200_000
    infs = {"a": infection(2.0), "b": infection(60.0), "c": infection(40.0, time_on_treatment=[
        {"until_years": 1.0, "hazard_ratio": 3.0}]), "d": infection(40.0)}
    theta = {"a": 0.8, "b": 2.0, "c": 0.5, "d": 0.0}
    sc = scenario(infs, T, seed=2026)
    sc["frailty"] = {k: {"variance": v} for k, v in theta.items() if v > 0}
    _, _, r = simulate(sc, n)

    def cumulative(k: str, t):
        lam = infs[k]["rate_per_100py"] / 100.0
        if k == "c":
            return lam * (3.0 * np.minimum(t, 1.0) + np.maximum(np.asarray(t) - 1.0, 0.0))
        return lam * np.asarray(t)

    for j, k in enumerate(infs):
        big_lambda = float(cumulative(k, T))
        counts = r.counts[:, j]
        law = negative_binomial(big_lambda, theta[k]) if theta[k] > 0 else stats.poisson(big_lambda)
        assert chi_square_counts(counts, law) > ALPHA, k
        if k in ("a", "b", "c"):
            z = (counts.sum() - n * big_lambda) / math.sqrt(n * law.var())
            assert abs(z) < Z, (k, z)
            th = theta[k]

            def first_cdf(t, k=k, th=th):
                return -np.expm1(-np.log1p(th * cumulative(k, t)) / th)

            first = r.first_time[:, j][counts > 0]
            assert stats.kstest(first, lambda t, f=first_cdf: f(t) / f(T)).pvalue > ALPHA, k


def test_recurrence_of_zoster_matches_the_library_source():
    """The library's herpes zoster frailty variance was fitted to the tofacitinib RA programme
    (Winthrop 2022): 783 of 7061 patients with >= 1 zoster, 63 of them with >= 2, over 22874.5 PY.
    Simulating 7061-patient-like patients followed 22874.5/7061 years at the constant hazard that
    the fit gives (mean count 0.1205) with the library variance reproduces both published shares
    within their exact 95% CIs (first events and recurrences: the all-event count). The MC
    standard errors at n = 400 000 (0.0005 and 0.0016) are small next to the CI half-widths
    (0.007 and 0.02): a correct sampler fails with probability below 1e-6."""
    theta = load_library().frailty_variance("herpes_zoster").value
    T = 22874.5 / 7061
    sc = scenario({"herpes_zoster": infection(100.0 * 0.12048 / T)}, T, seed=7061)
    sc["frailty"] = {"herpes_zoster": {"variance": theta}}
    _, _, r = simulate(sc, 400_000)
    c = r.counts[:, 0]
    any_event, recurrent = np.mean(c >= 1), np.sum(c >= 2) / np.sum(c >= 1)
    for share, (x, m) in ((any_event, (783, 7061)), (recurrent, (63, 783))):
        lo, hi = stats.beta.ppf(0.025, x, m - x + 1), stats.beta.ppf(0.975, x + 1, m - x)
        assert lo < share < hi, (share, lo, hi)
    assert np.sum(c >= 2) / np.sum(c >= 1) > 0.0576 * 1.2     # clearly above Poisson's 0.058


def test_calibrated_source_population_reproduces_first_event_and_all_event_rates():
    """Tofacitinib 5 mg, RA, herpes zoster (library: 3.5 (3.1-3.9) patients with a first event per
    100 PY, in the 3066-patient 'average 5 mg' population of Cohen 2020, 2.67 years per patient),
    with the library frailty: the kernel, on a cohort made like that population and followed
    for that time, gives a first-event rate equal to the published one (z-test, and inside its
    CI) and an all-event rate equal to the calibrated reference rate × the population's mean
    hazard ratio (z-test with the counts' own variance: CLT, n = 200 000), which is also what the
    closed form gives; without frailty the same first-event rate calibrates to a lower reference rate.
    Assertions: 3 z-tests (6.3e-5 each) ⇒ 1.9e-4 (the CI and closed-form checks are exact)."""
    lib = load_library()
    pop = lib.source_population("tofacitinib", 5, "herpes_zoster")
    published = lib.rate("tofacitinib", 5, "ra", "herpes_zoster")
    T = pop.follow_up_years
    sc = {"name": "source", "seed": 3066, "n_patients": 1000, "horizon_years": T, "evidence": "programme_rates",
          "frailty": "library", "time_on_treatment_profile": "none",   # everyone followed T years: no profile

          "cohort": {"age": {"distribution": "truncated_normal", "mean_years": pop.age_mean_years,
                             "sd_years": pop.age_sd_years, "min_years": 18, "max_years": 100},
                     "age_advances": True, "female": pop.shares["female"], "asia": pop.shares["asia"],
                     "diabetes": pop.shares["diabetes"], "prior_zoster": pop.shares["prior_zoster"],
                     "chronic_lung_disease": pop.shares["chronic_lung_disease"],
                     "glucocorticoid": dict(zip(("up_to_5mg", "over_5_to_10mg", "over_10mg"),
                                                pop.glucocorticoid_shares, strict=True))},
          "treatment": {"drug": "tofacitinib", "dose_mg": 5, "discontinuation_rate_per_100py": 0},
          "infections": {"herpes_zoster": {"recurrent": True}},
          "mortality": {"rate_per_100py": 0, "case_fatality": {"herpes_zoster": 0}}}
    n = 200_000
    model, _, r = simulate(sc, n)
    cal = model.arms[0].provenance["infections"]["herpes_zoster"]["rate_per_100py"]["ra"]["calibration"]
    assert cal["frailty_variance"] == lib.frailty_variance("herpes_zoster").value > 0
    counts = r.counts[:, 0]
    had = counts > 0
    at_risk = np.where(had, r.first_time[:, 0], T)
    first_rate = had.sum() / at_risk.sum()
    # ratio estimator: delta-method standard error
    t_bar = at_risk.mean()
    resid = had - first_rate * at_risk
    z_first = (first_rate - published.value / 100) / (resid.std() / math.sqrt(n) / t_bar)
    assert abs(z_first) < Z, z_first
    lo, hi = next(e["ci95_per_100py"] for e in lib.data["rates"] if (e["drug"], e["dose_mg"], e["type"],
                                                                       e.get("indication")) ==
                  ("tofacitinib", 5, "herpes_zoster", "ra"))
    assert lo < 100 * first_rate < hi
    expected_all = cal["reference_rate_per_100py"] / 100 * cal["population_mean_hazard_ratio"]
    z_all = (counts.sum() - n * T * expected_all) / math.sqrt(n * counts.var())
    assert abs(z_all) < Z, z_all
    # frailty depletes the susceptible: the same first-event rate needs a higher reference rate
    sc["frailty"] = "none"
    cal0 = model_of(sc).arms[0].provenance["infections"]["herpes_zoster"]["rate_per_100py"]["ra"]["calibration"]
    assert cal["reference_rate_per_100py"] > cal0["reference_rate_per_100py"] * 1.01


def test_first_event_closed_form_matches_quadrature():
    """``first_event_probability_and_time`` against numerical integration of the survival
    (1 + θλu)^(−1/θ), at θ = 0, 0.3, 1 (the log case) and 2.5 (deterministic: no false failures)."""
    from scipy import integrate
    lam, T = np.array([0.05, 0.8]), 4.0
    for theta in (0.0, 0.3, 1.0, 2.5):
        p, at_risk = first_event_probability_and_time(lam, T, theta)
        for i, la in enumerate(lam):
            surv = ((lambda u, la=la: math.exp(-la * u)) if theta == 0 else
                    (lambda u, la=la, th=theta: (1 + th * la * u) ** (-1 / th)))
            assert math.isclose(at_risk[i], integrate.quad(surv, 0, T)[0], rel_tol=1e-10)
            assert math.isclose(p[i], 1 - surv(T), rel_tol=1e-12)
