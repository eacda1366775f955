"""Latent TB screening (issue 14, item 2): closed forms of screening and prophylaxis.

Every arm simulates the same patients with the same latent status and the same clocks (common
random numbers), so a patient not cured has the same TB events in every arm and a cured one
has none: the TB cases a strategy averts are exactly those of the patients it cures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from factories import model_of
from jaksim.errors import JaksimError
from jaksim.model.latent_tb import screen
from jaksim.run.chunks import simulate_chunk
from jaksim.run.schedules import Schedules

N = 40_000


def _scenario(**strategy) -> dict:
    """Tofacitinib with one high TB rate (recurrent), a no-screening arm and one strategy arm."""
    screening = {"test": "igra", "start_after_prophylaxis_weeks": 0, "latent_prevalence": 0.3,
                 "reactivation_share": 1.0, **strategy}
    return {
        "name": "tb", "seed": 77, "n_patients": N, "horizon_years": 4, "time_on_treatment_profile": "none",
        "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 50, "sd_years": 5,
                           "min_years": 40, "max_years": 60}, "female": 0.7},
        "treatment": {"drug": "tofacitinib", "dose_mg": 5},
        "infections": {"tuberculosis": {"rate_per_100py": 5.0}},
        "mortality": {"life_table": "us_2019"},
        "arms": {"none": {"tb_screening": {**screening, "test": "none"}},
                 "screened": {"tb_screening": screening}},
    }


def _tb_counts(sc: dict) -> tuple[np.ndarray, np.ndarray, object]:
    """Per-patient TB events in the two arms, and the screened arm's screening outcome."""
    model = model_of(sc)
    schedules = Schedules(model, N)
    cohort = model.cohort.block(0, N)
    counts, outcome = [], None
    for arm in model.arms:
        sched = schedules.chunk(arm, cohort)
        counts.append(simulate_chunk(model, arm, cohort, 256, sched)[0].counts[:, 0].astype(np.int64))
        outcome = sched.screening
    return counts[0], counts[1], outcome


def test_perfect_test_and_prophylaxis_prevent_every_reactivation():
    ref, arm, out = _tb_counts(_scenario(sensitivity=1.0, specificity=1.0, completion=1.0, efficacy=1.0))
    assert ref.sum() > 500                      # the reference arm has plenty of TB
    assert arm.sum() == 0                       # nobody with latent infection reactivates
    assert np.array_equal(out.positive, out.latent) and out.cured.sum() == out.latent.sum()
    assert ref[~out.latent].sum() == 0          # reactivation share 1: TB only in the latently infected


@pytest.mark.parametrize("s, c, e", [(0.6, 1.0, 0.5), (0.52, 0.78, 0.6)])
def test_reactivation_cases_fall_by_sensitivity_times_efficacy(s, c, e):
    """Averted cases A = Σ n_i C_i with C_i ~ Bernoulli(q), q = s·c·e, independent of the
    reference counts n_i, so given n: E[A] = q Σ n_i, Var[A] = q(1 − q) Σ n_i². |z| < 3.29
    fails falsely with probability 0.001 per case."""
    ref, arm, out = _tb_counts(_scenario(sensitivity=s, specificity=0.9, completion=c, efficacy=e))
    assert np.all(arm <= ref)                   # more protection never gives more events (CRN)
    assert np.array_equal(arm[~out.cured], ref[~out.cured]) and arm[out.cured].sum() == 0
    q = s * c * e
    averted = int(ref.sum() - arm.sum())
    z = (averted - q * ref.sum()) / math.sqrt(q * (1 - q) * float((ref ** 2).sum()))
    assert abs(z) < 3.29, (averted, q * ref.sum(), z)


def test_test_positivity_follows_sensitivity_and_specificity():
    """Latent share p, positives among latent s, among others 1 − sp: binomial, |z| < 3.29 each."""
    from jaksim.model.latent_tb import TbScreeningSpec
    p, s, sp = 0.25, 0.7, 0.9
    spec = TbScreeningSpec("igra", "4R", p, 1.0, s, sp, s, sp, 0.8, 0.6, 0.01, 0.0, 0.0)
    n = 200_000
    out = screen(spec, 5, np.arange(n, dtype=np.int64))
    for got, want, m in ((out.latent.mean(), p, n), (out.positive[out.latent].mean(), s, out.latent.sum()),
                         (out.positive[~out.latent].mean(), 1 - sp, (~out.latent).sum()),
                         (out.completed[out.positive].mean(), 0.8, out.positive.sum())):
        assert abs(got - want) / math.sqrt(want * (1 - want) / m) < 3.29
    # mean TB hazard ratio: 1 − s·c·e (1 without screening: the library rate stays the population's);
    # HR_i ∈ {0, 1/p}, so its mean has SE (1/p)·sqrt(P(1−P)/n), P = p(1 − s·c·e)
    P = p * (1 - s * 0.8 * 0.6)
    assert abs(out.hazard_ratio.mean() - (1 - s * 0.8 * 0.6)) < 3.29 * math.sqrt(P * (1 - P) / n) / p


def test_igra_then_tst_finds_everyone_igra_finds():
    """Comonotone results: a more sensitive strategy finds a superset (same patients, same draws)."""
    model = model_of({**_scenario(), "arms": {"igra": {"tb_screening": {"test": "igra", "latent_prevalence": 0.3}},
                                               "both": {"tb_screening": {"test": "igra_then_tst", "latent_prevalence": 0.3}}}})
    cohort = model.cohort.block(0, 5000)
    igra, both = (Schedules(model, 5000).chunk(arm, cohort).screening for arm in model.arms)
    assert np.all(both.positive[igra.positive])
    assert not both.tested_tst[igra.positive].any() and both.tested_tst[~igra.positive].all()


def test_screening_needs_a_tuberculosis_type_and_a_setting():
    sc = _scenario()
    sc["infections"] = {"serious_infection": {}}
    with pytest.raises(JaksimError, match="tb_screening needs the infection type 'tuberculosis'"):
        model_of(sc)
    sc = _scenario()
    for arm in sc["arms"].values():
        del arm["tb_screening"]["latent_prevalence"]
    with pytest.raises(JaksimError, match="needs the setting.s latent TB prevalence: give infections.tuberculosis.background_incidence \\(low, medium or high\\) or tb_screening"):
        model_of(sc)
