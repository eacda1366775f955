"""Statistical tests of the sampler against closed-form expectations.

Every expectation is computed analytically (or by quadrature of a closed-form integrand);
every tolerance comes from the Monte Carlo standard error of the statistic. Seeds are fixed,
so each test is deterministic; the false-failure rate stated in each docstring is the
probability that a *correct* sampler fails the test at a random seed: |z| < 4 ⇒ 6.3e-5 per
two-sided z-test, p > 1e-4 ⇒ 1e-4 per KS / chi-square test, Bonferroni over the assertions.
Counts of independent Poisson (or Poisson-binomial) variables are exact in distribution;
ratio, martingale and mixed-Poisson z-scores rely on the CLT (n ≥ 50 000).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from scipy import integrate, stats

import jaksim
from factories import simulate
from jaksim.codes import FATAL, HOSPITALISED, ON_TREATMENT, SERIOUS, STOPS_TREATMENT
from jaksim.scenario import load as config

Z = 4.0            # P(|N(0,1)| >= 4) = 6.3e-5
ALPHA = 1e-4       # p-value bound of KS / chi-square tests
WEEK = 7.0 / 365.25


# ----------------------------------------------------------------------------- helpers
def infection(rate: float, **extra) -> dict:
    """An infection type with every hazard ratio 1 and no consequences (nothing from the library)."""
    inf = {"rate_per_100py": rate,
           "hazard_ratios": {"age_per_10_years": 1, "reference_age_years": 50,
                             "glucocorticoid_below_7_5mg": 1, "glucocorticoid_7_5mg_or_more": 1,
                             "female": 1, "asia": 1, "prior_zoster": 1, "diabetes": 1, "zoster_vaccinated": 1},
           "off_treatment_hazard_ratio": 1, "hospitalisation_probability": 0,
           "serious_probability": 0, "discontinuation_probability": 0}
    hr = extra.pop("hazard_ratios", {})
    inf["hazard_ratios"].update(hr)
    inf.update(extra)
    return inf


def scenario(infections: dict, horizon: float, *, seed: int = 1, cohort: dict | None = None,
             mortality: dict | None = None, treatment: dict | None = None, arms: dict | None = None) -> dict:
    """A scenario with a covariate-free cohort aged 50 to 51, no death, no discontinuation."""
    sc = {"name": "stat", "seed": seed, "n_patients": 1000, "horizon_years": horizon,
          "cohort": {"age": {"distribution": "bands", "bands": [{"min_years": 50, "max_years": 51, "share": 1}]},
                     "age_advances": False, "female": 0},
          "treatment": {"drug": "tofacitinib", "dose_mg": 5, "discontinuation_rate_per_100py": 0},
          "infections": infections,
          "mortality": {"rate_per_100py": 0, "case_fatality": {k: 0 for k in infections}}}
    sc["cohort"].update(cohort or {})
    sc["treatment"].update(treatment or {})
    sc["mortality"].update(mortality or {})
    if arms:
        sc["arms"] = arms
    return sc


def z_poisson(observed: float, mean: float) -> float:
    return (observed - mean) / math.sqrt(mean)


def z_binomial(x: float, n: float, p: float) -> float:
    return (x - n * p) / math.sqrt(n * p * (1.0 - p))


def window_counts(r, k: int, edges) -> np.ndarray:
    """Number of type-k events with time in each [edges[j], edges[j+1])."""
    t = r.ev_time[r.ev_type == k]
    return np.histogram(t, bins=np.asarray(edges, dtype=np.float64))[0]


def overlap(a0, a1, b0, b1):
    """Length of [a0, a1) ∩ [b0, b1) (broadcasting)."""
    return np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0.0, None)


def attained_age_lambda(age0: np.ndarray, lam0: float, hr10: float, ref: float, w0: float, w1: float) -> np.ndarray:
    """Per patient ∫_{w0}^{w1} λ0 hr10^((completed age at t − ref)/10) dt (birthdays are steps)."""
    a_int = np.floor(age0)
    out = np.zeros_like(age0)
    for m in range(0, int(math.ceil(w1)) + 2):
        start = np.maximum(a_int + m - age0, 0.0)     # this completed age starts (birthday m)
        end = a_int + m + 1 - age0                     # next birthday
        out += hr10 ** ((a_int + m - ref) / 10.0) * overlap(start, end, w0, w1)
    return lam0 * out


# ----------------------------------------------------------- 1. constant hazards
def test_constant_hazards_are_poisson():
    """No death, all hazard ratios 1: the events of type k are Poisson(λ_k·n·T) exactly, each
    patient's count is Poisson(λ_k T), event times are uniform on [0, T), and the first event
    time given one happened is Exp(λ_k) truncated at T.
    Assertions: 4 z-tests (6.3e-5 each) + 3 goodness-of-fit tests (1e-4 each) ⇒ 5.5e-4."""
    rates = {"a": 0.5, "b": 5.0, "c": 30.0, "d": 200.0}
    T, n = 3.0, 200_000
    _, _, r = simulate(scenario({k: infection(v) for k, v in rates.items()}, T, seed=11), n)
    assert np.all(r.follow_up == T) and np.all(r.exit_reason == 0)
    assert math.fsum(r.follow_up) == n * T
    for k, rate in enumerate(rates.values()):
        z = z_poisson(r.counts[:, k].sum(), rate / 100 * n * T)
        assert abs(z) < Z, (k, z)
    # per-patient counts of type d: Poisson(6) (chi-square over 0..15, 16+)
    mean = rates["d"] / 100 * T
    observed = np.bincount(np.minimum(r.counts[:, 3], 16), minlength=17)
    expected = n * np.append(stats.poisson.pmf(np.arange(16), mean), stats.poisson.sf(15, mean))
    assert stats.chisquare(observed, expected).pvalue > ALPHA
    # event times of type c uniform on [0, T)
    assert stats.kstest(r.ev_time[r.ev_type == 2], stats.uniform(0, T).cdf).pvalue > ALPHA
    # first event time of type b, given one, is Exp(0.05) truncated to [0, T)
    lam = rates["b"] / 100
    first = r.first_time[:, 1][r.counts[:, 1] > 0]
    assert stats.kstest(first, lambda t: -np.expm1(-lam * t) / -math.expm1(-lam * T)).pvalue > ALPHA


def test_competing_risks_cumulative_incidence():
    """Case fatality 1 for every type and background death: each patient has at most one
    event, and cause k (types and death) ends follow-up by time t with probability
    CIF_k(t) = λ_k/Σλ · (1 − e^{−Σλ t}), Σλ including death; mean follow-up is (1 − e^{−ΣλT})/Σλ.
    Assertions: 4 causes × 2 times binomial z-tests + 1 follow-up z-test ⇒ 9 × 6.3e-5 = 5.7e-4."""
    rates = {"a": 3.0, "b": 8.0, "c": 20.0}
    mu, T, n = 5.0, 4.0, 200_000
    sc = scenario({k: infection(v) for k, v in rates.items()}, T, seed=12,
                  mortality={"rate_per_100py": mu, "case_fatality": {k: 1 for k in rates}})
    _, _, r = simulate(sc, n)
    lam = np.array(list(rates.values()) + [mu]) / 100
    total = lam.sum()
    assert r.counts.max() <= 1
    assert np.array_equal(r.exit_reason == 2, r.counts.sum(axis=1) == 1)
    assert np.all((r.ev_flags & FATAL) != 0)
    exit_time = [r.first_time[:, k] for k in range(3)] + [np.where(r.exit_reason == 1, r.follow_up, np.nan)]
    for t in (T / 2, T):
        for k in range(4):
            p = lam[k] / total * -math.expm1(-total * t)
            x = np.count_nonzero(exit_time[k] <= t)
            z = z_binomial(x, n, p)
            assert abs(z) < Z, (t, k, z)
    mean_y = -math.expm1(-total * T) / total
    e_y2 = 2 / total**2 * (1 - math.exp(-total * T) * (1 + total * T))
    z = (r.follow_up.mean() - mean_y) / math.sqrt((e_y2 - mean_y**2) / n)
    assert abs(z) < Z, z


# --------------------------------------------------------------------------- 2. M0
M0_YAML = """\
name: m0
seed: 1
n_patients: 100000
horizon_years: 5
cohort:
  age: {distribution: truncated_normal, mean_years: 55, sd_years: 13, min_years: 18, max_years: 90}
  age_advances: false
  female: 0.8
  glucocorticoid:
    below_7_5mg: 0.4
    by_age: [{from_age_years: 65, below_7_5mg: 0.5}]
  zoster_vaccinated: 0.3
treatment: {drug: tofacitinib, dose_mg: 5, discontinuation_rate_per_100py: 0}
infections:
  serious_infection:
    rate_per_100py: 2.5
    hazard_ratios: {age_per_10_years: 1.4, reference_age_years: 50, glucocorticoid_below_7_5mg: 1.8, glucocorticoid_7_5mg_or_more: 1.8, female: 1, asia: 1, prior_zoster: 1, diabetes: 1, zoster_vaccinated: 1}
    hospitalisation_probability: 0
    serious_probability: 0
    discontinuation_probability: 0
  herpes_zoster:
    rate_per_100py: 3.5
    hazard_ratios: {age_per_10_years: 1.4, reference_age_years: 50, glucocorticoid_below_7_5mg: 1.5, glucocorticoid_7_5mg_or_more: 1.5, female: 1, asia: 1, prior_zoster: 1, diabetes: 1, zoster_vaccinated: 0.15}
    hospitalisation_probability: 0
    serious_probability: 0
    discontinuation_probability: 0
  tuberculosis:
    rate_per_100py: 0.2
    hazard_ratios: {age_per_10_years: 1.4, reference_age_years: 50, glucocorticoid_below_7_5mg: 1, glucocorticoid_7_5mg_or_more: 1, female: 1, asia: 1, prior_zoster: 1, diabetes: 1, zoster_vaccinated: 1}
    hospitalisation_probability: 0
    serious_probability: 0
    discontinuation_probability: 0
mortality:
  rate_per_100py: 1.0
  case_fatality: {serious_infection: 0, herpes_zoster: 0, tuberculosis: 0}
"""


def m0_moments() -> dict[str, tuple[float, float]]:
    """E[λ_k(x)] and E[λ_k(x)²] per year over M0's cohort, by quadrature over age."""
    lo, hi = (18 - 55) / 13, (90 - 55) / 13
    age = stats.truncnorm(lo, hi, loc=55, scale=13)

    def moment(power: int, gc_hr: float) -> float:
        def f(a):
            g = 0.5 if a >= 65 else 0.4
            return age.pdf(a) * 1.4 ** (power * (a - 50) / 10) * (1 - g + g * gc_hr**power)
        return integrate.quad(f, 18, 65, epsabs=0, epsrel=1e-12)[0] + \
            integrate.quad(f, 65, 90, epsabs=0, epsrel=1e-12)[0]

    out = {}
    for name, base, gc_hr, vacc in (("serious_infection", 0.025, 1.8, 1.0),
                                     ("herpes_zoster", 0.035, 1.5, 0.15),
                                     ("tuberculosis", 0.002, 1.0, 1.0)):
        m1 = base * (0.7 + 0.3 * vacc) * moment(1, gc_hr)
        m2 = base**2 * (0.7 + 0.3 * vacc**2) * moment(2, gc_hr)
        out[name] = (m1, m2)
    return out


def test_m0_benchmark_reproduces_analytic_rates():
    """M0 (BENCHMARK.md) through ``jaksim.run``: incidence per 100 PY of each type and of death,
    and mean follow-up, against the analytic values. The ratio estimator's SE is analytic:
    Var(ΣN/ΣY) ≈ E[(N − R·Y)²]/(n E[Y]²) with E[(N − R·Y)²] = R·E[Y] + Var(λ)·E[Y²] (follow-up Y
    independent of covariates); for death E[(D − μY)²] = μE[Y].
    Assertions: 5 z-tests ⇒ 3.2e-4 false-failure rate (the check of the analytic values
    against BENCHMARK.md's printed ones is deterministic)."""
    n = 400_000
    mom = m0_moments()
    expected = {"serious_infection": 4.3609, "herpes_zoster": 4.1071, "tuberculosis": 0.2586}
    for name, value in expected.items():
        assert round(100 * mom[name][0], 4) == value
    mu, T = 0.01, 5.0
    ey = -math.expm1(-mu * T) / mu
    ey2 = 2 / mu**2 * (1 - math.exp(-mu * T) * (1 + mu * T))
    assert round(ey, 4) == 4.8771

    res = jaksim.run(config.scenario_from_text(M0_YAML), n_patients=n, seed=2024)
    summary = {row["type"]: row for row in res.summary.to_pylist()}
    for name, (m1, m2) in mom.items():
        se = math.sqrt((m1 * ey + (m2 - m1**2) * ey2) / n) / ey
        z = (summary[name]["incidence_rate_per_100py"] / 100 - m1) / se
        assert abs(z) < Z, (name, z)
    z = (summary["death"]["incidence_rate_per_100py"] / 100 - mu) / (math.sqrt(mu * ey / n) / ey)
    assert abs(z) < Z, ("death", z)
    fu = res.patients.column("follow_up_years").to_numpy()
    z = (fu.mean() - ey) / math.sqrt((ey2 - ey**2) / n)
    assert abs(z) < Z, ("follow-up", z)


# ------------------------------------------------------------- 3. time-varying parts
def test_attained_age_single_age_cohort():
    """Single-age cohort (60 to 60 + 1e-7 years), age advancing, age HR 1.6 per 10 years
    (reference 50), 20 per 100 PY, no death: events in year j of follow-up are Poisson with
    mean n·λ0·1.6^((60 + j − 50)/10) (to within the 1e-7-year birthday offset, which the
    expectation includes exactly per patient). The closed-form total
    λ0 Σ_j 1.6^((60 + j − 50)/10) is checked against the per-patient sum (deterministic).
    Assertions: 10 yearly z-tests ⇒ 6.3e-4 false-failure rate."""
    T, n, lam0, hr = 10.0, 50_000, 0.2, 1.6
    sc = scenario({"x": infection(20.0, hazard_ratios={"age_per_10_years": hr, "reference_age_years": 50})},
                  T, seed=13, cohort={"age": {"distribution": "bands",
                                              "bands": [{"min_years": 60, "max_years": 60.0000001, "share": 1}]},
                                      "age_advances": True})
    _, cohort, r = simulate(sc, n)
    closed = lam0 * sum(hr ** ((60 + j - 50) / 10) for j in range(10))
    per_patient = attained_age_lambda(cohort.age, lam0, hr, 50.0, 0.0, T)
    assert abs(per_patient.mean() / closed - 1) < 1e-6
    observed = window_counts(r, 0, np.arange(11.0))
    for j in range(10):
        mean = attained_age_lambda(cohort.age, lam0, hr, 50.0, float(j), float(j + 1)).sum()
        z = z_poisson(observed[j], mean)
        assert abs(z) < Z, (j, z)


def test_attained_age_birthdays_at_fractional_times():
    """Ages uniform on [40, 80), age advancing, age HR 1.5 per 10 years: events per year of
    follow-up against Σ_i ∫ λ0·1.5^((completed age − 50)/10) dt, with each patient's birthdays
    at fractional times; with ``age_advances: false`` the total is Σ_i λ0·1.5^((a_i − 50)/10)·T
    (continuous baseline age). Assertions: 5 + 1 z-tests ⇒ 3.8e-4 false-failure rate."""
    T, n, lam0, hr = 5.0, 50_000, 0.25, 1.5
    inf = {"x": infection(25.0, hazard_ratios={"age_per_10_years": hr, "reference_age_years": 50})}
    bands = {"distribution": "bands", "bands": [{"min_years": 40, "max_years": 80, "share": 1}]}
    _, cohort, r = simulate(scenario(inf, T, seed=14, cohort={"age": bands, "age_advances": True}), n)
    observed = window_counts(r, 0, np.arange(6.0))
    for j in range(5):
        mean = attained_age_lambda(cohort.age, lam0, hr, 50.0, float(j), float(j + 1)).sum()
        z = z_poisson(observed[j], mean)
        assert abs(z) < Z, (j, z)
    _, cohort, r = simulate(scenario(inf, T, seed=15, cohort={"age": bands, "age_advances": False}), n)
    mean = (lam0 * hr ** ((cohort.age - 50) / 10) * T).sum()
    z = z_poisson(r.counts.sum(), mean)
    assert abs(z) < Z, z


def test_glucocorticoid_taper_steps():
    """Bands at start: 30 % below 7.5 mg (HR 2), 50 % at least 7.5 mg (HR 3.5), 20 % none.
    Arm 'taper': nobody above below_7_5mg from week 12, nobody on steroids from week 26;
    arm 'at_start': capped at below_7_5mg from week 0, none from week 52. Events per window
    between taper steps are Poisson with mean Σ_i λ0·HR(band_i in window)·length.
    Assertions: 3 + 2 z-tests ⇒ 3.2e-4 false-failure rate."""
    T, n, lam0 = 1.5, 100_000, 0.3
    arms = {"taper": {"treatment": {"glucocorticoid_taper": [{"at_weeks": 12, "max_band": "below_7_5mg"},
                                                             {"at_weeks": 26, "max_band": "none"}]}},
            "at_start": {"treatment": {"glucocorticoid_taper": [{"at_weeks": 52, "max_band": "none"},
                                                                {"at_weeks": 0, "max_band": "below_7_5mg"}]}}}
    sc = scenario({"x": infection(30.0, hazard_ratios={"glucocorticoid_below_7_5mg": 2.0,
                                                       "glucocorticoid_7_5mg_or_more": 3.5})},
                  T, seed=16, cohort={"glucocorticoid": {"below_7_5mg": 0.3, "at_least_7_5mg": 0.5}}, arms=arms)
    hr = np.array([1.0, 2.0, 3.5])
    for arm, steps in ((0, [(0.0, 3), (12 * WEEK, 1), (26 * WEEK, 0)]), (1, [(0.0, 1), (52 * WEEK, 0)])):
        _, cohort, r = simulate(sc, n, arm)
        band0 = cohort.gc_band.astype(np.int64)
        assert 0.25 < np.mean(band0 == 1) < 0.35 and 0.45 < np.mean(band0 == 2) < 0.55
        edges = [s[0] for s in steps] + [T]
        observed = window_counts(r, 0, edges)
        for w, (start, cap) in enumerate(steps):
            band = np.minimum(band0, cap)
            mean = lam0 * (edges[w + 1] - start) * hr[band].sum()
            z = z_poisson(observed[w], mean)
            assert abs(z) < Z, (arm, w, z)


def test_four_band_glucocorticoid_taper_between_any_bands():
    """Four bands at start: none 20 %, <= 5 mg 20 % (HR 1.5), > 5-10 mg 30 % (HR 2.2), > 10 mg
    30 % (HR 3.5); taper from > 10 to at most > 5-10 mg at week 4, to <= 5 mg at week 12, to none
    at week 26. Band shares: 4 binomial z-tests; events per window between taper steps are
    Poisson with mean Σ_i λ0·HR(min(band_i, cap))·length: 4 z-tests. 8 × 6.3e-5 = 5.1e-4."""
    T, n, lam0 = 1.0, 100_000, 0.3
    taper = [{"at_weeks": 12, "max_band": "up_to_5mg"}, {"at_weeks": 4, "max_band": "over_5_to_10mg"},
             {"at_weeks": 26, "max_band": "none"}]
    x = infection(30.0)
    for legacy in ("glucocorticoid_below_7_5mg", "glucocorticoid_7_5mg_or_more"):    # the four-band keys instead
        del x["hazard_ratios"][legacy]
    x["hazard_ratios"].update(glucocorticoid_up_to_5mg=1.5, glucocorticoid_over_5_to_10mg=2.2,
                              glucocorticoid_over_10mg=3.5)
    sc = scenario({"x": x}, T, seed=18, cohort={"glucocorticoid": {"up_to_5mg": 0.2, "over_5_to_10mg": 0.3, "over_10mg": 0.3}},
                  arms={"taper": {"treatment": {"glucocorticoid_taper": taper}}})
    _, cohort, r = simulate(sc, n, 0)
    band0 = cohort.gc_band.astype(np.int64)
    for b, share in enumerate((0.2, 0.2, 0.3, 0.3)):
        z = (np.sum(band0 == b) - n * share) / np.sqrt(n * share * (1 - share))
        assert abs(z) < Z, (b, z)
    hr = np.array([1.0, 1.5, 2.2, 3.5])
    steps = [(0.0, 3), (4 * WEEK, 2), (12 * WEEK, 1), (26 * WEEK, 0)]
    edges = [s[0] for s in steps] + [T]
    observed = window_counts(r, 0, edges)
    for w, (start, cap) in enumerate(steps):
        mean = lam0 * (edges[w + 1] - start) * hr[np.minimum(band0, cap)].sum()
        z = z_poisson(observed[w], mean)
        assert abs(z) < Z, (w, z)


def test_time_on_treatment_grid():
    """Two types with different time-on-treatment steps (union of edges 0.25, 0.5, 1):
    A ×3 until 0.25 y, ×1.5 until 1 y; B ×0.5 until 0.5 y. Events per grid window are Poisson
    with mean n·λ·multiplier·length. Assertions: 2 types × 4 windows ⇒ 8 × 6.3e-5 = 5.1e-4."""
    T, n = 3.0, 50_000
    sc = scenario({"A": infection(40.0, time_on_treatment=[{"until_years": 0.25, "hazard_ratio": 3.0},
                                                          {"until_years": 1.0, "hazard_ratio": 1.5}]),
                   "B": infection(60.0, time_on_treatment=[{"until_years": 0.5, "hazard_ratio": 0.5}])},
                  T, seed=17)
    _, _, r = simulate(sc, n)
    edges = np.array([0.0, 0.25, 0.5, 1.0, T])
    for k, (lam, mult) in enumerate(((0.4, [3.0, 1.5, 1.5, 1.0]), (0.6, [0.5, 0.5, 1.0, 1.0]))):
        observed = window_counts(r, k, edges)
        for w in range(4):
            z = z_poisson(observed[w], n * lam * mult[w] * (edges[w + 1] - edges[w]))
            assert abs(z) < Z, (k, w, z)


def _stop_moments(d: float, T: float) -> tuple[float, float]:
    """E[S], Var(S) of S = min(Exp(d), T)."""
    es = -math.expm1(-d * T) / d
    es2 = 2 / d**2 * (1 - math.exp(-d * T) * (1 + d * T))
    return es, es2 - es**2


def test_discontinuation_with_off_treatment_hazard():
    """Discontinuation at d = 0.3/y, infection 0.4/y on and 0.4 × 0.4/y off treatment, no death.
    With S = min(Exp(d), T): E[N] = λ_on(1 − e^{−dT})/d + λ_off(T − (1 − e^{−dT})/d); N is mixed
    Poisson, Var(N) = E[Λ] + (λ_on − λ_off)²Var(S). On-treatment events: mean λ_on E[S],
    variance λ_on E[S] + λ_on² Var(S). Stopped patients: Binomial(n, 1 − e^{−dT}); stop times
    given stopped: Exp(d) truncated at T (KS).
    Assertions: 3 z-tests + 1 KS ⇒ 2.9e-4 false-failure rate."""
    T, n, d, lam_on, off = 4.0, 100_000, 0.3, 0.4, 0.4
    lam_off = lam_on * off
    sc = scenario({"x": infection(40.0, off_treatment_hazard_ratio=off)}, T, seed=18,
                  treatment={"discontinuation_rate_per_100py": 30.0})
    _, _, r = simulate(sc, n)
    es, vs = _stop_moments(d, T)
    mean = lam_on * es + lam_off * (T - es)
    assert abs(mean - (lam_on * -math.expm1(-d * T) / d + lam_off * (T + math.expm1(-d * T) / d))) < 1e-15
    z = (r.counts.sum() - n * mean) / math.sqrt(n * (mean + (lam_on - lam_off) ** 2 * vs))
    assert abs(z) < Z, z
    on_events = np.count_nonzero(r.ev_flags & ON_TREATMENT)
    z = (on_events - n * lam_on * es) / math.sqrt(n * (lam_on * es + lam_on**2 * vs))
    assert abs(z) < Z, z
    stopped = ~np.isnan(r.stop_time)
    z = z_binomial(np.count_nonzero(stopped), n, -math.expm1(-d * T))
    assert abs(z) < Z, z
    p = stats.kstest(r.stop_time[stopped], lambda t: -np.expm1(-d * t) / -math.expm1(-d * T)).pvalue
    assert p > ALPHA, p


def test_discontinuation_with_time_on_treatment_grid():
    """Time-on-treatment multiplier m(t) = 2.5 until 0.5 y, 1.5 until 2 y, then 1, and
    discontinuation d = 0.5/y with off-treatment HR 0.3 (the grid applies on treatment only).
    On-treatment events: mean λ0 E[M(S)], M(s) = ∫0^s m = closed form λ0 Σ_w m_w ∫_w e^{−dt} dt;
    variance E[λ0 M(S)] + Var(λ0 M(S)) (by quadrature of the closed-form M). Off-treatment:
    mean λ_off E[T − S], variance λ_off E[T − S] + λ_off² Var(S).
    Assertions: 2 z-tests ⇒ 1.3e-4 false-failure rate."""
    T, n, d, lam0, off = 3.0, 100_000, 0.5, 0.35, 0.3
    edges, mult = [0.0, 0.5, 2.0, T], [2.5, 1.5, 1.0]
    sc = scenario({"x": infection(35.0, off_treatment_hazard_ratio=off,
                                  time_on_treatment=[{"until_years": 0.5, "hazard_ratio": 2.5},
                                                     {"until_years": 2.0, "hazard_ratio": 1.5}])},
                  T, seed=19, treatment={"discontinuation_rate_per_100py": 50.0})
    _, _, r = simulate(sc, n)

    def big_m(s):
        return sum(m * overlap(a, b, 0.0, s) for a, b, m in zip(edges[:-1], edges[1:], mult, strict=False))

    e_m = lam0 * sum(m * (math.exp(-d * a) - math.exp(-d * b)) / d for a, b, m in zip(edges[:-1], edges[1:], mult, strict=False))
    dens = lambda s, p: (lam0 * big_m(s)) ** p * d * math.exp(-d * s)  # noqa: E731
    m1 = sum(integrate.quad(dens, a, b, args=(1,), epsrel=1e-12)[0] for a, b in zip(edges[:-1], edges[1:], strict=False))
    m2 = sum(integrate.quad(dens, a, b, args=(2,), epsrel=1e-12)[0] for a, b in zip(edges[:-1], edges[1:], strict=False))
    tail = math.exp(-d * T)
    m1 += lam0 * big_m(T) * tail
    m2 += (lam0 * big_m(T)) ** 2 * tail
    assert abs(m1 / e_m - 1) < 1e-9
    on_events = np.count_nonzero(r.ev_flags & ON_TREATMENT)
    z = (on_events - n * m1) / math.sqrt(n * (m1 + m2 - m1**2))
    assert abs(z) < Z, z
    es, vs = _stop_moments(d, T)
    lam_off = lam0 * off
    off_events = np.count_nonzero((r.ev_flags & ON_TREATMENT) == 0)
    z = (off_events - n * lam_off * (T - es)) / math.sqrt(n * (lam_off * (T - es) + lam_off**2 * vs))
    assert abs(z) < Z, z


def _life_table() -> dict[int, tuple[float, float]]:
    """q_x (male, female) read straight from the packaged CSV (not through jaksim's loader)."""
    path = Path(jaksim.__file__).parent / "library" / "life_tables" / "us_2019.csv"
    with open(path, newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {int(r["age"]): (float(r["male_qx"]), float(r["female_qx"])) for r in rows}


def _aged_80_on_life_table(T: float, n: int, smr: float, seed: int, age_advances: bool):
    """A cohort aged exactly 80 (half women) on the US 2019 life table × smr, one infection type."""
    sc = scenario({"x": infection(10.0)}, T, seed=seed,
                  cohort={"age": {"distribution": "bands", "bands": [{"min_years": 80, "max_years": 80.0000001,
                                                                     "share": 1}]},
                          "age_advances": age_advances, "female": 0.5},
                  mortality={"life_table": "us_2019", "excess_mortality_ratio": smr})
    del sc["mortality"]["rate_per_100py"]
    _, cohort, r = simulate(sc, n)
    return cohort, r


def test_life_table_survival_single_age_cohort():
    """Cohort aged 80 (to 80 + 1e-7), half female, US 2019 life table × excess mortality 1.3,
    age advancing: the hazard in completed year x is −1.3·ln(1 − q_x), so survival to year y is
    Π_{x=80}^{80+y−1} (1 − q_x)^1.3 (checked against the exact per-patient value, which includes
    the 1e-7-year birthday offset, deterministically). Survivors at y = 1..10 are
    Poisson-binomial: mean Σ S_i(y), variance Σ S_i(1 − S_i).
    Assertions: 10 z-tests ⇒ 6.3e-4 false-failure rate."""
    T, n, smr = 10.0, 100_000, 1.3
    q = _life_table()
    cohort, r = _aged_80_on_life_table(T, n, smr, seed=20, age_advances=True)
    female = cohort.covariates[:, 0].astype(bool)
    a0 = cohort.age
    for y in range(1, 11):
        cum = np.zeros(n)
        for m in range(0, y + 1):
            x = 80 + m
            h = -smr * np.log1p(-np.where(female, q[x][1], q[x][0]))
            cum += h * overlap(np.maximum(x - a0, 0.0), x + 1 - a0, 0.0, float(y))
        s = np.exp(-cum)
        prod = np.where(female, np.prod([(1 - q[80 + j][1]) ** smr for j in range(y)]),
                        np.prod([(1 - q[80 + j][0]) ** smr for j in range(y)]))
        assert np.max(np.abs(s / prod - 1)) < 1e-6
        alive = np.count_nonzero(r.exit_reason == 0) if y == T else np.count_nonzero(r.follow_up > y)
        z = (alive - s.sum()) / math.sqrt(np.sum(s * (1 - s)))
        assert abs(z) < Z, (y, z)
    assert np.all(r.exit_reason[r.follow_up < T] == 1)


def test_life_table_survival_without_ageing():
    """Same cohort with ``age_advances: false``: the hazard stays −1.3·ln(1 − q_80) by sex, so
    survival is (1 − q_80)^(1.3·t). Survivors at t = 2, 4, 6, 8, 10: Poisson-binomial z-tests.
    Assertions: 5 ⇒ 3.2e-4 false-failure rate."""
    T, n, smr = 10.0, 100_000, 1.3
    q = _life_table()
    cohort, r = _aged_80_on_life_table(T, n, smr, seed=21, age_advances=False)
    female = cohort.covariates[:, 0].astype(bool)
    qx = np.where(female, q[80][1], q[80][0])
    for t in (2.0, 4.0, 6.0, 8.0, 10.0):
        s = (1 - qx) ** (smr * t)
        alive = np.count_nonzero(r.exit_reason == 0) if t == T else np.count_nonzero(r.follow_up > t)
        z = (alive - s.sum()) / math.sqrt(np.sum(s * (1 - s)))
        assert abs(z) < Z, (t, z)


def test_consequence_probabilities():
    """One type at 0.5/y for 5 years with hospitalisation 0.3, serious 0.12, case fatality 0.05
    and treatment stop 0.2 (off-treatment HR 1, so stopping leaves the hazard unchanged).
    Hospitalised and serious marks are Binomial(M, p) given the M events (their draws affect
    nothing); fatal marks among all events and stop marks among non-fatal on-treatment events
    are Bernoulli(p) at predictable times, so X − pM is a martingale with variance p(1 − p)E[M].
    Assertions: 4 z-tests ⇒ 2.5e-4 false-failure rate."""
    T, n = 5.0, 50_000
    p_h, p_s, p_f, p_stop = 0.3, 0.12, 0.05, 0.2
    sc = scenario({"x": infection(50.0, hospitalisation_probability=p_h, serious_probability=p_s,
                                  discontinuation_probability=p_stop)},
                  T, seed=22, mortality={"case_fatality": {"x": p_f}})
    _, _, r = simulate(sc, n)
    f = r.ev_flags
    m = f.size
    fatal = (f & FATAL) != 0
    eligible = ~fatal & ((f & ON_TREATMENT) != 0)
    for x, trials, p in (((f & HOSPITALISED) != 0, m, p_h), ((f & SERIOUS) != 0, m, p_s),
                         (fatal, m, p_f), ((f & STOPS_TREATMENT) != 0, np.count_nonzero(eligible), p_stop)):
        z = z_binomial(np.count_nonzero(x), trials, p)
        assert abs(z) < Z, (p, z)
    # bookkeeping that the shares rely on (deterministic)
    assert np.count_nonzero(fatal) == np.count_nonzero(r.exit_reason == 2)
    assert not np.any(fatal & ((f & STOPS_TREATMENT) != 0))
    stops = (f & STOPS_TREATMENT) != 0
    np.testing.assert_array_equal(r.ev_time[stops], r.stop_time[r.ev_pid[stops]])
