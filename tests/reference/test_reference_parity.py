"""jaksim against the plain-NumPy reference twin (tests/reference/reference_model.py), statistically.

The twin draws its own cohort and events with ``numpy.random.default_rng`` and a different
algorithm (one total-hazard clock per patient), so the two samples are independent and
two-sample tests apply: Welch z-tests of means and two-proportion z-tests (|z| < 4 ⇒ 6.3e-5
each), chi-square tests of homogeneity and two-sample KS tests (p > 1e-4 ⇒ 1e-4 each).
Seeds are fixed; each docstring states the test's false-failure rate (Bonferroni).
Follow-up has an atom at the horizon: its KS test is run on the exits before the horizon
(the share at the horizon is covered by the exit-reason test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import reference_model as ref
from scipy import stats

from jaksim.model import spec
from jaksim.run import chunks as chunk_loop
from jaksim.scenario import load as config

Z = 4.0
ALPHA = 1e-4

# A: M0-like cohort with covariates, every consequence, discontinuation, death.
PARAMS_A = ref.Params(
    rates={"serious_infection": 8.0, "herpes_zoster": 12.0, "tuberculosis": 3.0},
    horizon=5.0, mortality=3.0, discontinuation=20.0,
    case_fatality={"serious_infection": 0.05, "tuberculosis": 0.1},
    hosp={"serious_infection": 0.9, "herpes_zoster": 0.05, "tuberculosis": 0.6},
    serious={"serious_infection": 0.95, "herpes_zoster": 0.1, "tuberculosis": 0.5},
    stop={"serious_infection": 0.3, "herpes_zoster": 0.1},
    off_hr={"serious_infection": 0.6, "herpes_zoster": 0.8},
    recurrent={"tuberculosis": False},
    age_hr={"serious_infection": 1.4, "herpes_zoster": 1.4, "tuberculosis": 1.4},
    gc_hr={"serious_infection": 1.8, "herpes_zoster": 1.5},
    vacc_hr={"herpes_zoster": 0.15},
    cohort=ref.CohortSpec(age_mean=55, age_sd=13, age_min=18, age_max=90, female=0.8, gc=0.4,
                          gc_from_age=65, gc_old=0.5, vaccinated=0.3),
)
# B: high rates, strong event-triggered discontinuation with a low off-treatment HR.
PARAMS_B = ref.Params(
    rates={"a": 60.0, "b": 40.0}, horizon=3.0, mortality=2.0,
    case_fatality={"a": 0.02}, stop={"b": 0.5}, off_hr={"a": 0.3, "b": 0.3},
    cohort=ref.CohortSpec(age_mean=50, age_sd=10),
)
N = {"A": 100_000, "B": 50_000}


def simulate_jaksim(p: ref.Params, n: int, seed: int) -> chunk_loop.ChunkResult:
    sc = config.scenario_from_text(ref.scenario_text(p, seed=seed, n=n))
    model = spec.build_model(sc)
    assert model.types == p.types
    return chunk_loop.simulate_chunk(model, model.arms[0], model.cohort.block(0, n), cap=64)[0]


@pytest.fixture(scope="module")
def pair():
    out = {}
    for name, p, seed in (("A", PARAMS_A, 31), ("B", PARAMS_B, 32)):
        out[name] = (p, simulate_jaksim(p, N[name], seed), ref.run(p, N[name], seed + 1000)[1])
    return out


def welch_z(x: np.ndarray, y: np.ndarray) -> float:
    return float((x.mean() - y.mean()) / math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size))


def two_prop_z(x1: int, n1: int, x2: int, n2: int) -> float:
    p = (x1 + x2) / (n1 + n2)
    if p in (0.0, 1.0):
        return 0.0 if x1 / n1 == x2 / n2 else math.inf
    return (x1 / n1 - x2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def homogeneity_p(a: np.ndarray, b: np.ndarray, categories: int) -> float:
    """Chi-square test that two samples of categories 0..categories-1 share one distribution."""
    table = np.vstack([np.bincount(a, minlength=categories), np.bincount(b, minlength=categories)])
    table = table[:, table.sum(axis=0) > 0]
    return float(stats.chi2_contingency(table).pvalue)


@pytest.mark.parametrize("name", ["A", "B"])
def test_event_counts_per_type(pair, name):
    """Mean events per patient of each type (Welch z) and the distribution of per-patient
    counts (0, 1, 2, 3+; chi-square). A: 3 types, B: 2 types, each 1 z + 1 chi-square:
    false-failure rate 3 × (6.3e-5 + 1e-4) = 4.9e-4 (A), 3.3e-4 (B)."""
    p, r, t = pair[name]
    for k in range(len(p.types)):
        a, b = r.counts[:, k].astype(np.int64), t.counts[:, k]
        assert a.sum() > 1000
        z = welch_z(a, b)
        assert abs(z) < Z, (p.types[k], z)
        pv = homogeneity_p(np.minimum(a, 3), np.minimum(b, 3), 4)
        assert pv > ALPHA, (p.types[k], pv)


@pytest.mark.parametrize("name", ["A", "B"])
def test_follow_up_and_exit(pair, name):
    """Exit reasons (horizon / background death / infection death; chi-square), follow-up
    among exits before the horizon (two-sample KS), share of patients who stop treatment
    (two-proportion z) and their stop times (KS). 4 assertions: 3 × 1e-4 + 6.3e-5 = 3.6e-4."""
    p, r, t = pair[name]
    assert homogeneity_p(r.exit_reason.astype(np.int64), t.exit_reason.astype(np.int64), 3) > ALPHA
    early_r, early_t = r.follow_up[r.follow_up < p.horizon], t.follow_up[t.follow_up < p.horizon]
    assert early_r.size > 1000
    assert stats.ks_2samp(early_r, early_t).pvalue > ALPHA
    stop_r, stop_t = r.stop_time[~np.isnan(r.stop_time)], t.stop_time[~np.isnan(t.stop_time)]
    z = two_prop_z(stop_r.size, r.stop_time.size, stop_t.size, t.stop_time.size)
    assert abs(z) < Z, z
    assert stats.ks_2samp(stop_r, stop_t).pvalue > ALPHA


@pytest.mark.parametrize("name", ["A", "B"])
def test_first_event_times(pair, name):
    """Time of each type's first event among patients who have one (two-sample KS).
    A: 3, B: 2 assertions ⇒ 3e-4 (A), 2e-4 (B)."""
    p, r, t = pair[name]
    for k in range(len(p.types)):
        a = r.first_time[:, k][~np.isnan(r.first_time[:, k])]
        b = t.first_time[:, k][~np.isnan(t.first_time[:, k])]
        assert stats.ks_2samp(a, b).pvalue > ALPHA, p.types[k]


@pytest.mark.parametrize("name", ["A", "B"])
def test_event_marks(pair, name):
    """Share of events of each type that are on treatment, hospitalised, serious, fatal and
    treatment-stopping (two-proportion z; a mark whose probability is 0 or 1 must agree
    exactly). A: 3 × 5 = 15, B: 2 × 5 = 10 assertions ⇒ 9.5e-4 (A), 6.3e-4 (B)."""
    p, r, t = pair[name]
    for k in range(len(p.types)):
        fr, ft = r.ev_flags[r.ev_type == k], t.ev_flags[t.ev_type == k]
        for bit in (ref.ON_TREATMENT, ref.HOSPITALISED, ref.SERIOUS, ref.FATAL, ref.STOPS_TREATMENT):
            z = two_prop_z(int(np.count_nonzero(fr & bit)), fr.size, int(np.count_nonzero(ft & bit)), ft.size)
            assert abs(z) < Z, (p.types[k], bit, z)


def test_twin_matches_closed_form():
    """The twin itself, on the constant-hazard competing-risk case with case fatality 1:
    cumulative incidence of each cause at the horizon is λ_k/Σλ (1 − e^{−ΣλT}) (binomial
    z-tests, 3 causes + death ⇒ 4 × 6.3e-5 = 2.5e-4)."""
    p = ref.Params(rates={"a": 4.0, "b": 10.0, "c": 25.0}, horizon=3.0, mortality=6.0,
                   case_fatality={"a": 1.0, "b": 1.0, "c": 1.0})
    n = 100_000
    _, t = ref.run(p, n, 7)
    lam = np.array([4.0, 10.0, 25.0, 6.0]) / 100
    total = lam.sum()
    observed = list((t.counts > 0).sum(axis=0)) + [np.count_nonzero(t.exit_reason == ref.EXIT_BACKGROUND_DEATH)]
    for k in range(4):
        q = lam[k] / total * -math.expm1(-total * p.horizon)
        z = (observed[k] - n * q) / math.sqrt(n * q * (1 - q))
        assert abs(z) < Z, (k, z)
